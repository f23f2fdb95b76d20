#!/usr/bin/env bash
# Builds the serving core's container image (images/core/Dockerfile; docs/deploy.md) with podman or
# Docker. Not part of scripts/setup.sh or CI (a cold build takes minutes): a tool for users and for
# checking the Dockerfile.
#
#   scripts/build-core-image.sh [--tag IMAGE] [--base IMAGE] [--rebuild]
#
#   --tag IMAGE   the image to build (default localhost/reclab-core:latest)
#   --base IMAGE  the Node 20 Debian bookworm base (the Dockerfile's BASE_IMAGE). Default: with a
#                 Docker engine, the official node:20-bookworm-slim (pulled); with podman, a local
#                 stand-in localhost/reclab-node-base:20-bookworm built here first, because no
#                 container registry is reachable on the lab's machines (SETUP-NOTES).
#   --rebuild     ignore the caches below
#
# The stand-in base: a Debian bookworm minbase rootfs from the Debian mirror (debootstrap), plus this
# host's Node 20 binary and npm laid out as the official image lays them out (/usr/local/bin/node,
# /usr/local/lib/node_modules/npm, user `node` uid 1000), imported with `podman import`.
#
# Cached like the other image scripts: each image carries a label with the sha256 of its inputs
# (base: its recipe below, the Node binary and npm; core: the Dockerfile, .dockerignore, the base image's
# id and every file the build copies). Re-running with nothing changed only recomputes the hashes;
# after a source change the engine's layer cache keeps the dependency layers.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."

image=localhost/reclab-core:latest
base=
rebuild=
while [ $# -gt 0 ]; do
  case "$1" in
  --tag) image=$2; shift 2 ;;
  --base) base=$2; shift 2 ;;
  --rebuild) rebuild=1; shift ;;
  -h | --help) sed -n '2,22p' "$self" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "build-core-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Engine: a Docker engine that is not podman wins (same rule as scripts/setup/30-image-redis.sh).
engine=podman
if command -v docker >/dev/null 2>&1 \
  && server=$(docker version --format '{{range .Server.Components}}{{.Name}} {{end}}' 2>/dev/null) \
  && [ -n "$server" ] && ! grep -qi podman <<<"$server"; then
  engine=docker
fi
command -v "$engine" >/dev/null || { echo "build-core-image: $engine not found" >&2; exit 1; }

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
label_of() { "$engine" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# --- the stand-in base image (podman only) -------------------------------------------------------
build_base() {
  local name=localhost/reclab-node-base:20-bookworm label=reclab.base.inputs
  local node_bin npm_dir hash have t0 work root
  node_bin=$(readlink -f "$(command -v node)")
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")") # …/node_modules/npm
  case "$("$node_bin" --version)" in v20.*) ;; *)
    echo "build-core-image: the host's node is $("$node_bin" --version), the image needs Node 20" >&2; exit 1 ;;
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
    || { tail -20 "$work/debootstrap.log" >&2; echo "build-core-image: debootstrap failed" >&2; exit 1; }
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
    || { echo "build-core-image: node does not run in the bookworm rootfs" >&2; exit 1; }
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

if [ -z "$base" ]; then
  if [ "$engine" = podman ]; then base=$(build_base); else base=node:20-bookworm-slim; fi
fi

# --- the core image ----------------------------------------------------------------------------
label=reclab.core.inputs
dockerfile=images/core/Dockerfile
base_id=$("$engine" image inspect --format '{{.Id}}' "$base" 2>/dev/null || echo "$base")
# Every file the Dockerfile copies (its COPY sources; .dockerignore applies to core/).
hash=$( {
  echo "base=$base_id"
  sha256sum "$dockerfile" .dockerignore images/core/* package.json package-lock.json tsconfig.json \
    scripts/setup/50-faiss-node.sh patches/faiss-node/*.patch
  find core -type f -name '*.ts' -print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -d' ' -f1)
have=$(label_of "$image" "$label")
if [ -z "$rebuild" ] && [ "$have" = "$hash" ]; then
  echo "  $image up to date (cached)"
  exit 0
fi

t0=$EPOCHREALTIME
old_id=$("$engine" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
args=(build -f "$dockerfile" -t "$image" --build-arg "BASE_IMAGE=$base" --label "$label=$hash")
# podman writes OCI images by default, which have no HEALTHCHECK: ask for the Docker format.
[ "$engine" = podman ] && args+=(--format docker)
[ -n "$rebuild" ] && args+=(--no-cache)
# A CA bundle the host's npm trusts (TLS-inspecting proxy): the build stage's npm gets it as a build
# secret, which no layer stores. Not part of the cache hash (it changes no output).
ca=${NODE_EXTRA_CA_CERTS:-}
[ -n "$ca" ] || ca=$(npm config get cafile 2>/dev/null || true)
if [ -n "$ca" ] && [ "$ca" != null ] && [ -s "$ca" ]; then
  args+=(--secret "id=npm_ca,src=$ca")
  echo "  passing $ca to npm in the build stage (build secret npm_ca)"
fi
"$engine" "${args[@]}" .
new_id=$("$engine" image inspect --format '{{.Id}}' "$image")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then "$engine" rmi "$old_id" >/dev/null 2>&1 || true; fi
# Drop the build stage's dangling intermediate images only if asked: they are the layer cache.
size=$("$engine" image inspect --format '{{.Size}}' "$image")
echo "  built $image ($(( size / 1000000 )) MB) in $(elapsed "$t0") s"
