#!/usr/bin/env bash
# Builds the load generator's container image (images/loadgen/Dockerfile; docs/distributed-load.md):
# `reclab` on the PATH, able to run `reclab load --segment i/N` and `reclab merge`, what the pods of
# `reclab k8s job` run. With podman or Docker. Not part of scripts/setup.sh or CI (a cold build takes
# minutes): a tool for users and for checking the Dockerfile.
#
#   scripts/build-loadgen-image.sh [--tag IMAGE] [--base IMAGE] [--rebuild]
#
#   --tag IMAGE   the image to build (default localhost/reclab-load:latest; `reclab k8s job --image`
#                 takes what your cluster pulls, e.g. after `podman push`)
#   --base IMAGE  the Node 24 Debian bookworm base (the Dockerfile's BASE_IMAGE). Default: with a
#                 Docker engine, the official node:24-bookworm-slim (pulled); with podman, the local
#                 stand-in localhost/reclab-node-base:24-bookworm that scripts/build-core-image.sh
#                 also uses (scripts/lib/node-base.sh), built first if missing, because no container
#                 registry is reachable on the lab's machines (SETUP-NOTES).
#   --rebuild     ignore the caches below
#
# Cached like the core's image: the image carries the label reclab.loadgen.inputs, the sha256 of the
# Dockerfile, its ignore file, the base image's id, the package files and every file the build
# copies. Re-running with nothing changed only recomputes the hash; after a source change the
# engine's layer cache keeps the `npm ci` layer.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."

image=localhost/reclab-load:latest
base=
rebuild=
while [ $# -gt 0 ]; do
  case "$1" in
  --tag) image=$2; shift 2 ;;
  --base) base=$2; shift 2 ;;
  --rebuild) rebuild=1; shift ;;
  -h | --help) sed -n '2,21p' "$self" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "build-loadgen-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/node-base.sh
. scripts/lib/node-base.sh
engine=$(image_engine)

if [ -z "$base" ]; then
  if [ "$engine" = podman ]; then base=$(build_base); else base=node:24-bookworm-slim; fi
fi

label=reclab.loadgen.inputs
dockerfile=images/loadgen/Dockerfile
ignorefile=images/loadgen/Dockerfile.dockerignore
base_id=$("$engine" image inspect --format '{{.Id}}' "$base" 2>/dev/null || echo "$base")
# Every file the Dockerfile copies (its COPY sources, tracked by git or not; the ignore file applies).
hash=$( {
  echo "base=$base_id"
  sha256sum "$dockerfile" "$ignorefile" package.json package-lock.json tsconfig.json \
    images/core/runtime-deps.ts images/loadgen/loadgen-tree.ts
  find bin core sim loadtest scenarios reports -path reports/out -prune -o -type f -print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -d' ' -f1)
have=$(label_of "$image" "$label")
if [ -z "$rebuild" ] && [ "$have" = "$hash" ]; then
  echo "  $image up to date (cached)"
  exit 0
fi

t0=$EPOCHREALTIME
old_id=$("$engine" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
args=(build -f "$dockerfile" -t "$image" --build-arg "BASE_IMAGE=$base" --label "$label=$hash")
# Docker (BuildKit) finds <Dockerfile>.dockerignore by name; podman 4 is given it.
[ "$engine" = podman ] && args+=(--ignorefile "$ignorefile" --format docker)
[ -n "$rebuild" ] && args+=(--no-cache)
ca=$(npm_ca_bundle)
if [ -n "$ca" ]; then
  args+=(--secret "id=npm_ca,src=$ca")
  echo "  passing $ca to npm in the build stage (build secret npm_ca)"
fi
"$engine" "${args[@]}" .
new_id=$("$engine" image inspect --format '{{.Id}}' "$image")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then "$engine" rmi "$old_id" >/dev/null 2>&1 || true; fi
# The smoke test: the CLI and the load command's options, as the Job's container runs them.
"$engine" run --rm "$image" load --help >/dev/null \
  || { echo "build-loadgen-image: \`reclab load --help\` fails in $image" >&2; exit 1; }
size=$("$engine" image inspect --format '{{.Size}}' "$image")
echo "  built $image ($(( size / 1000000 )) MB) in $(elapsed "$t0") s"
