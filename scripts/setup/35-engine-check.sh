#!/usr/bin/env bash
# Post-condition of the container set-up (steps 10–31): a container with a published port, started
# through the engine's API socket (the way Testcontainers starts them), answers on loopback. This is
# the check that would have caught a podman without its network stack (netavark). ~1 s; not cached,
# because what it checks (a running API service) does not survive a reboot.
set -euo pipefail
image=${RECLAB_REDIS_IMAGE:-localhost/reclab-redis:7}
sock=/run/podman/podman.sock
if [ -z "${RECLAB_FORCE_PODMAN:-}" ] && docker info >/dev/null 2>&1 && ! docker version 2>/dev/null | grep -qi podman; then
  cli=(docker)
else
  cli=(podman --url "unix://$sock")
fi
name=reclab-engine-check-$$
cleanup() { "${cli[@]}" rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
if ! "${cli[@]}" run -d --name "$name" -p 127.0.0.1::6379 "$image" >/dev/null 2>/tmp/reclab-engine-check.log; then
  echo "35-engine-check: could not start $image with a published port through ${cli[*]}:" >&2
  cat /tmp/reclab-engine-check.log >&2
  exit 1
fi
port=$("${cli[@]}" port "$name" 6379/tcp | head -n1 | sed 's/.*://')
for _ in $(seq 1 50); do
  if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
    echo "  a container with a published port answers on 127.0.0.1:$port"
    exit 0
  fi
  sleep 0.1
done
echo "35-engine-check: $image started but 127.0.0.1:$port did not answer PING within 5 s" >&2
exit 1
