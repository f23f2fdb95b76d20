#!/usr/bin/env bash
# Local Redis image for the lab: no container registry is reachable here (SETUP-NOTES), so the image is
# Debian's redis-server binary + its ldd libraries + a small shell toolset (dash as /bin/sh, cat, awk,
# grep, sleep…: Testcontainers' exec and its default port-wait run `/bin/sh -c 'cat /proc/net/tcp* | awk
# … | grep …'` inside the container) in an otherwise empty rootfs, imported with `podman import`.
#
# Image name: $RECLAB_REDIS_IMAGE, default localhost/reclab-redis:7. Names under localhost/ are built
# here; any other name (e.g. redis:7) is treated as public: on a real Docker engine (users' CI) the
# build is skipped and Testcontainers pulls it. On podman every name is built (nothing can be pulled).
#
# Cached: the image carries a label `reclab.inputs` = sha256 of this script, the image name and every
# file copied into the rootfs; re-running with nothing changed only recomputes that hash (~0.35 s).
# RECLAB_KEEP_ROOTFS=1 keeps the rootfs under .reclab/setup/ for debugging.
# RECLAB_REBUILD=1 forces a rebuild.
set -euo pipefail
self=$(readlink -f "$0") # before cd: a relative $0 would no longer resolve
cd "$(dirname "$self")/../.."

image="${RECLAB_REDIS_IMAGE:-localhost/reclab-redis:7}"

# Which engine? A Docker engine answering whose server is not podman means users' CI; podman otherwise
# (also when the `docker` CLI talks to podman's socket through DOCKER_HOST).
engine=podman
if [ -z "${RECLAB_FORCE_PODMAN:-}" ] && command -v docker >/dev/null 2>&1 \
  && server=$(docker version --format '{{range .Server.Components}}{{.Name}} {{end}}' 2>/dev/null) \
  && [ -n "$server" ] && ! grep -qi podman <<<"$server"; then
  engine=docker
fi
if [ "$engine" = docker ] && [[ "$image" != localhost/* ]]; then
  echo "  Docker engine with public image name $image: not building (Testcontainers pulls it)"
  exit 0
fi
if ! command -v "$engine" >/dev/null 2>&1; then
  echo "30-image-redis: $engine not found; run scripts/setup.sh (10-system-packages, 20-podman)" >&2
  exit 1
fi

# Inputs of the rootfs. Binaries are resolved through symlinks (redis-server -> redis-check-rdb).
bins=(/usr/bin/redis-server /usr/bin/redis-cli /usr/bin/dash /usr/bin/cat /usr/bin/awk /usr/bin/grep
  /usr/bin/sleep /usr/bin/ls /usr/bin/echo /usr/bin/env /usr/bin/rm /usr/bin/mkdir /usr/bin/true
  /usr/bin/false /usr/bin/ps /usr/bin/kill)
for b in "${bins[@]}"; do
  [ -e "$b" ] || { echo "30-image-redis: $b missing; run scripts/setup/10-system-packages.sh" >&2; exit 1; }
done
# Every library each binary needs, as ldd resolves it on this host (absolute paths only: skips vdso).
mapfile -t libs < <(ldd "${bins[@]}" 2>/dev/null | awk '/=> \// {print $3} /^[ \t]*\/[^ ]+ \(0x/ {print $1}' | sort -u)

redis_conf='# reclab: throwaway cache for tests and load runs. Listen on every interface of the container (the
# published port reaches it through the container network), no auth, no persistence at all.
bind 0.0.0.0
port 6379
protected-mode no
daemonize no
supervised no
save ""
appendonly no
dir /data
logfile ""
loglevel notice'

inputs=$( {
  echo "image=$image"
  sha256sum <"$self" # contents only: the path differs between `bash scripts/setup/...` and setup.sh
  printf '%s\n' "$redis_conf"
  for f in "${bins[@]}" "${libs[@]}"; do echo "$f $(sha256sum <"$(readlink -f "$f")")"; done
} | sha256sum | cut -d' ' -f1)

have=$("$engine" image inspect --format '{{index .Config.Labels "reclab.inputs"}}' "$image" 2>/dev/null || true)
if [ -z "${RECLAB_REBUILD:-}" ] && [ "$have" = "$inputs" ]; then
  echo "  $image up to date (cached)"
  exit 0
fi
old_id=$("$engine" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)

mkdir -p .reclab/setup
rootfs=$(mktemp -d .reclab/setup/redis-rootfs.XXXXXX)
[ -n "${RECLAB_KEEP_ROOTFS:-}" ] || trap 'rm -rf "$rootfs"' EXIT

chmod 755 "$rootfs" # mktemp makes it 0700; it becomes the container's /
# Mirror the host's /usr merge (bin -> usr/bin …) so ldd's paths land where the loader looks for them.
mkdir -p "$rootfs/usr/bin" "$rootfs/usr/lib" "$rootfs/usr/lib64" "$rootfs/usr/sbin"
for d in bin lib lib64 sbin; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$rootfs/$d"; else mkdir -p "$rootfs/$d"; fi
done
for f in "${bins[@]}" "${libs[@]}"; do
  mkdir -p "$rootfs$(dirname "$f")"
  cp -L "$f" "$rootfs$f"
done
# Relative link: an absolute one would be resolved against the host by any test run out here.
ln -sfn dash "$rootfs/usr/bin/sh"
[ -e "$rootfs/bin/sh" ] || [ -L "$rootfs/bin/sh" ] || ln -s ../usr/bin/dash "$rootfs/bin/sh"
mkdir -p "$rootfs/etc/redis" "$rootfs/data" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/root"
chmod 1777 "$rootfs/tmp"
printf '%s\n' "$redis_conf" >"$rootfs/etc/redis/redis.conf"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

quiet=()
[ "$engine" = podman ] && quiet=(--quiet)
tar -C "$rootfs" -c . | "$engine" import "${quiet[@]}" \
  --change 'CMD ["/usr/bin/redis-server", "/etc/redis/redis.conf"]' \
  --change 'EXPOSE 6379' \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'WORKDIR /data' \
  --change 'STOPSIGNAL SIGTERM' \
  --change "LABEL reclab.inputs=$inputs" \
  - "$image" >/dev/null

# Smoke test: the loader finds every library, and the shell toolset Testcontainers' port-wait uses works.
if ! out=$("$engine" run --rm --network=none "$image" /bin/sh -c \
  'redis-server --version && echo 1F8B | awk "{print \$1}" | grep -qi 1f8b && cat /proc/net/tcp >/dev/null' 2>&1); then
  echo "30-image-redis: smoke test of $image failed:" >&2
  echo "$out" >&2
  # Remove it: its label would otherwise mark the broken image as up to date on the next run.
  "$engine" rmi -f "$image" >/dev/null 2>&1 || true
  exit 1
fi

# Drop the image this one replaced (now untagged) so repeated rebuilds do not pile up layers.
new_id=$("$engine" image inspect --format '{{.Id}}' "$image")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  "$engine" rmi "$old_id" >/dev/null 2>&1 || true
fi
size=$("$engine" image inspect --format '{{.Size}}' "$image")
echo "  built $image ($(( size / 1000000 )) MB): ${out%% sha=*}"
