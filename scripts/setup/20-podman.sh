#!/usr/bin/env bash
# Rootful podman as the Docker-compatible engine for Testcontainers (SETUP-NOTES): runc instead of
# crun (cgroup hybrid mode), default ulimits root may set, and the Docker API socket.
# Skipped when a Docker engine already answers (users' CI).
set -euo pipefail
if [ -z "${RECLAB_FORCE_PODMAN:-}" ] && docker info >/dev/null 2>&1; then
  echo "  a Docker engine answers: using it"
  exit 0
fi
conf=/etc/containers/containers.conf
want='# reclab: written by scripts/setup/20-podman.sh
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
[engine]
runtime = "runc"
exit_command_delay = 5
[network]
network_backend = "netavark"'
mkdir -p /etc/containers
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" > "$conf"
  echo "  wrote $conf"
fi
sock=/run/podman/podman.sock
if curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
  echo "  podman API socket answers at $sock (cached)"
  exit 0
fi
mkdir -p /run/podman
# setsid + nohup: the service must outlive this script and the shell that ran it. It must not
# inherit any descriptor beyond stdio: a caller's lock (`flock LOCK scripts/setup.sh`, a CI
# wrapper holding a lock file open) would otherwise stay held for as long as the service runs.
(
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
  done
  exec setsid nohup podman system service --time=0 "unix://$sock" >/tmp/reclab-podman-service.log 2>&1 < /dev/null
) &
for _ in $(seq 1 50); do
  curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && { echo "  podman API socket started at $sock"; exit 0; }
  sleep 0.2
done
echo "podman API socket did not answer at $sock; see /tmp/reclab-podman-service.log" >&2
exit 1
