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
# Containers inherit the service's priority (service → conmon → Redis, Kafka). A service started
# from a niced shell (`nice -n 19 scripts/setup.sh`) ran Redis and Kafka at nice 19 beside a core at
# nice 0, which starves them under load and skews every latency the lab measures (seen 2026-12-07).
# As root the service is put back at 0, every thread (each thread has its own nice value).
service_nice() {
  local pid
  pid=$(pgrep -o -f "podman system service .*$sock" || true)
  [ -n "$pid" ] || return 0
  local ni
  ni=$(ps -o ni= -p "$pid" | tr -d ' ')
  if [ "${ni:-0}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      for t in /proc/"$pid"/task/*; do renice -n 0 -p "${t##*/}" >/dev/null 2>&1 || true; done
      echo "  podman service (pid $pid) ran at nice $ni: reset to 0 (containers inherit it)"
    else
      echo "  warning: podman service (pid $pid) runs at nice $ni; its containers inherit it" >&2
    fi
  fi
}
# A service whose working directory was deleted still answers the ping, but starts no container:
# conmon inherits that directory and fails ("write child: broken pipe", seen 2026-12-07 with a
# service started from a git worktree). Such a service is stopped here and started again below.
service_cwd_gone() {
  local pid
  pid=$(pgrep -o -f "podman system service .*$sock" || true)
  [ -n "$pid" ] || return 1
  case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in
    *" (deleted)")
      echo "  podman service (pid $pid) runs in a deleted directory: restarting it"
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
      echo "  podman service (pid $pid) did not stop" >&2
      exit 1
      ;;
  esac
  return 1
}
if ! service_cwd_gone && curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
  service_nice
  echo "  podman API socket answers at $sock (cached)"
  exit 0
fi
mkdir -p /run/podman
# setsid + nohup: the service must outlive this script and the shell that ran it. It must not keep
# the caller's open files either: under `flock /work/.load.lock scripts/setup.sh` the lock is fd 3,
# and a service inheriting it holds the machine's load lock for as long as podman runs (seen: every
# `flock` waited behind a podman service started that way). So every descriptor above 2 is closed.
(
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  if [ "$(id -u)" = 0 ]; then renice -n 0 -p "$BASHPID" >/dev/null 2>&1 || true; fi
  # Nor the caller's directory (a CI clone, a git worktree may be deleted later: service_cwd_gone).
  cd /
  exec setsid nohup podman system service --time=0 "unix://$sock" >/tmp/reclab-podman-service.log 2>&1 </dev/null
) &
for _ in $(seq 1 50); do
  curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && { echo "  podman API socket started at $sock"; exit 0; }
  sleep 0.2
done
echo "podman API socket did not answer at $sock; see /tmp/reclab-podman-service.log" >&2
exit 1
