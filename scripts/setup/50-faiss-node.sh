#!/usr/bin/env bash
# faiss-node's native add-on, built offline against Debian's libfaiss-dev 1.7.3 (SETUP-NOTES
# "faiss-node"). Its own install script wants a prebuild or a git clone from GitHub, both unreachable,
# so 40-npm.sh installs it with scripts ignored and this step:
#   1. takes pristine sources from the npm tarball of the installed version (npm's cache, so it also
#      works when a previous run already patched node_modules/faiss-node in place),
#   2. applies patches/faiss-node/*.patch in name order (system FAISS in CMake, the 1.7.3 idx_t type,
#      setParam/setNumThreads, FaissException guards),
#   3. builds with cmake-js and loads the result once.
# Cached: skipped when the add-on exists and its stamp (patches, this script, faiss-node, Node and
# libfaiss-dev versions) matches. The stamp lives in the build folder, so `npm ci` wiping
# node_modules also invalidates it.
set -euo pipefail
self=$(realpath "$0")
cd "${RECLAB_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
root=$PWD
# The build, its stamp and the smoke test run on the project's Node (05-node.sh). The core image's
# build stage (images/core/Dockerfile) copies this script without scripts/lib/: there the base
# image's Node is the one.
if [ -f scripts/lib/node-env.sh ]; then
  reclab_root=$root
  . scripts/lib/node-env.sh || exit 1
fi
pkg=node_modules/faiss-node
addon=$pkg/build/Release/faiss-node.node
stamp=$pkg/build/reclab-patch.sha

if [ ! -f "$pkg/package.json" ]; then
  echo "  $pkg missing: run scripts/setup/40-npm.sh first" >&2
  exit 1
fi
version=$(node -p "require('./$pkg/package.json').version")
libfaiss=$(dpkg-query -W -f='${Version}' libfaiss-dev 2>/dev/null || echo none)
hash=$( (cat patches/faiss-node/*.patch "$self"; echo "faiss-node $version"; node --version; echo "libfaiss-dev $libfaiss") \
  | sha256sum | cut -d' ' -f1)

# Loads the add-on and exercises the patched entry points; exits non-zero on any failure.
smoke() {
  node -e "
    const f = require('./$pkg');
    f.setNumThreads(1);
    if (f.getNumThreads() !== 1) throw new Error('setNumThreads had no effect');
    const d = 8, n = 300, x = Array.from({ length: n * d }, (_, i) => Math.sin(i * 12.9898) % 1);
    const idx = f.Index.fromFactory(d, 'HNSW16', f.MetricType.METRIC_L2);
    idx.add(x);
    idx.setParam('efSearch', 64);
    const r = idx.search(x.slice(5 * d, 6 * d), 1);
    if (r.labels[0] !== 5) throw new Error('self-search returned ' + r.labels[0]);
    let threw = false;
    try { idx.setParam('nprobe', 4); } catch { threw = true; }
    if (!threw) throw new Error('setParam accepted a parameter HNSW does not have');
  "
}

if [ -f "$addon" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
  smoke
  echo "  faiss-node $version add-on matches the patches (cached)"
  exit 0
fi

if [ "$libfaiss" = none ]; then
  echo "  libfaiss-dev is not installed (scripts/setup/10-system-packages.sh)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Pristine sources: npm verifies the tarball against the registry's integrity; --prefer-offline
# serves it from the cache `npm ci` filled.
npm pack "faiss-node@$version" --pack-destination "$tmp" --prefer-offline --silent --loglevel=error >/dev/null
tar -xzf "$tmp/faiss-node-$version.tgz" -C "$tmp"
for p in patches/faiss-node/*.patch; do
  if command -v patch >/dev/null; then
    patch -d "$tmp/package" -p1 --batch --quiet < "$p"
  else
    # $tmp is outside any git repository, so git apply acts as a plain patch tool there.
    (cd "$tmp/package" && git apply "$root/$p")
  fi
done
# Only the sources the build reads and the typings change; the package's node_modules stays.
rm -rf "$pkg/build" "$pkg/src" "$pkg/lib"
cp -R "$tmp/package/src" "$tmp/package/lib" "$pkg/"
cp "$tmp/package/CMakeLists.txt" "$pkg/CMakeLists.txt"

# Node-API build (faiss-node's package.json lists binary.napi_versions): the headers come from
# node-api-headers and node-addon-api, not from nodedir, and the add-on is ABI-stable across Node
# versions; it is still rebuilt when Node changes (the stamp has `node --version`).
log=$tmp/build.log
t0=$(date +%s)
if ! node_modules/.bin/cmake-js compile -d "$pkg" -p "$(nproc)" >"$log" 2>&1; then
  # The upstream CMakeLists copies libopenblas.so.0 & co. after the link and fails on Debian; the
  # patch disables that, but should such a post-build copy still fail, the add-on itself is fine.
  if [ -f "$addon" ] && grep -q 'libopenblas' "$log"; then
    echo "  ignoring the post-build library copy error (the system libraries are used)"
  else
    tail -40 "$log" >&2
    echo "  faiss-node build failed (full log above, last 40 lines)" >&2
    exit 1
  fi
fi
smoke
echo "$hash" > "$stamp"
echo "  faiss-node $version built and patched in $(( $(date +%s) - t0 )) s"
