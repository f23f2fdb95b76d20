#!/usr/bin/env bash
# System packages from Debian: the container engine (podman + runc, and podman's network stack netavark +
# aardvark-dns, which --no-install-recommends would leave out: SETUP-NOTES; and iptables, which netavark 1.4
# runs to publish a port but does not depend on: without it `podman run -p` fails with
# "netavark: No such file or directory", found on a machine image without iptables), Redis tools
# (redis-server's binary goes into the local Redis image; redis-benchmark for load baselines),
# FAISS for faiss-node (with OpenBLAS: the reference BLAS slows IVF/PQ training), cmake for native builds, Java/Maven for the Kafka image.
# Go builds the Toxiproxy server (32-image-toxiproxy.sh): Debian's golang-go (1.19) is installed only
# when no `go` is on PATH (a newer Go from go.dev in /usr/local/go serves as well).
set -euo pipefail
pkgs=(podman runc netavark aardvark-dns iptables busybox-static redis-server redis-tools libfaiss-dev libopenblas0-pthread cmake kcat maven openjdk-17-jre-headless)
command -v go >/dev/null 2>&1 || pkgs+=(golang-go)
# Go 1.19 is the oldest that builds the pinned Toxiproxy (its go.mod says go 1.19).
go_ok() {
  local v major minor
  v=$(go env GOVERSION 2>/dev/null) || return 1 # e.g. go1.19.8, go1.26.8
  v=${v#go} major=${v%%.*} minor=${v#*.} minor=${minor%%[!0-9]*}
  (( major > 1 || (major == 1 && ${minor:-0} >= 19) ))
}
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  go_ok || { echo "10-system-packages: $(go version) is older than Go 1.19 (needed for Toxiproxy)" >&2; exit 1; }
  echo "  system packages present (cached)"
  exit 0
fi
echo "  installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian redis-server package starts a system Redis on 6379; the lab provisions its own.
systemctl disable --now redis-server >/dev/null 2>&1 || service redis-server stop >/dev/null 2>&1 || true
# Post-condition: every package is installed now (apt can succeed while leaving one half-configured).
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || { echo "10-system-packages: $p is not installed after apt-get" >&2; exit 1; }
done
hash -r # a newly installed go must be found on PATH
go_ok || { echo "10-system-packages: no Go >= 1.19 on PATH after apt-get ($(go version 2>&1))" >&2; exit 1; }
