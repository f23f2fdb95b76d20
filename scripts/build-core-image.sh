#!/usr/bin/env bash
# Builds the serving core's container image (images/core/Dockerfile; docs/deploy.md) with podman or
# Docker. Not part of scripts/setup.sh or CI (a cold build takes minutes): a tool for users and for
# checking the Dockerfile.
#
#   scripts/build-core-image.sh [--tag IMAGE] [--base IMAGE] [--rebuild]
#
#   --tag IMAGE   the image to build (default localhost/reclab-core:latest)
#   --base IMAGE  the Node 24 Debian bookworm base (the Dockerfile's BASE_IMAGE). Default: with a
#                 Docker engine, the official node:24-bookworm-slim (pulled); with podman, a local
#                 stand-in localhost/reclab-node-base:24-bookworm built here first, because no
#                 container registry is reachable on the lab's machines (SETUP-NOTES).
#   --rebuild     ignore the caches below
#
# The stand-in base (scripts/lib/node-base.sh, shared with scripts/build-loadgen-image.sh): a Debian
# bookworm minbase rootfs from the Debian mirror (debootstrap), plus the project's Node 24
# (scripts/setup/05-node.sh: .reclab/node) and the host's npm laid out as the official image lays
# them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm, user `node` uid 1000), imported
# with `podman import`.
#
# Cached like the other image scripts: each image carries a label with the sha256 of its inputs
# (base: its recipe in scripts/lib/node-base.sh, the Node binary and npm; core: the Dockerfile,
# .dockerignore, the base image's id and every file the build copies). Re-running with nothing
# changed only recomputes the hashes; after a source change the engine's layer cache keeps the
# dependency layers.
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
  -h | --help) sed -n '2,25p' "$self" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "build-core-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# The engine, label_of, elapsed, npm_ca_bundle and the stand-in base: shared with
# scripts/build-loadgen-image.sh.
# shellcheck source=lib/node-base.sh
. scripts/lib/node-base.sh
engine=$(image_engine)

if [ -z "$base" ]; then
  if [ "$engine" = podman ]; then base=$(build_base); else base=node:24-bookworm-slim; fi
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
ca=$(npm_ca_bundle)
if [ -n "$ca" ]; then
  args+=(--secret "id=npm_ca,src=$ca")
  echo "  passing $ca to npm in the build stage (build secret npm_ca)"
fi
"$engine" "${args[@]}" .
new_id=$("$engine" image inspect --format '{{.Id}}' "$image")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then "$engine" rmi "$old_id" >/dev/null 2>&1 || true; fi
# Drop the build stage's dangling intermediate images only if asked: they are the layer cache.
size=$("$engine" image inspect --format '{{.Size}}' "$image")
echo "  built $image ($(( size / 1000000 )) MB) in $(elapsed "$t0") s"
