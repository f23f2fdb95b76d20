#!/usr/bin/env bash
# Local Toxiproxy image for the lab's network faults (loadtest/infra/toxiproxy.ts, docs/faults.md).
# No container registry is reachable here and there is no Toxiproxy in Debian (SETUP-NOTES), so the
# server is built from source with `go install` through the Go module proxy, statically (CGO off),
# and packed with busybox (a shell and wget, for debugging and the smoke test below) into an
# otherwise empty rootfs imported with `<engine> import`.
#
# Version: v2.8.0, the newest release whose go.mod (go 1.19) Debian 12's golang-go (1.19) builds;
# v2.9+ need Go >= 1.22. It has every toxic the lab uses (latency with jitter, timeout, reset_peer,
# bandwidth) and proxy enable/disable. The build stamps the version into the binary, so GET /version
# answers {"version": "v2.8.0"} (an unstamped build says "git").
#
# Image name: $RECLAB_TOXIPROXY_IMAGE, default localhost/reclab-toxiproxy:2.8.0. Names under
# localhost/ are built here; with a real Docker engine (users' CI) and a public name (e.g.
# ghcr.io/shopify/toxiproxy:2.8.0) nothing is built: Testcontainers pulls it. On podman every name is
# built (nothing can be pulled).
#
# Cached: the image carries a label `reclab.toxiproxy.inputs` = sha256 of this script, the version
# and the image name; a re-run with nothing changed only reads that label (no Go needed).
# RECLAB_REBUILD=1 forces a rebuild. Post-condition (checked after each build; a failed check
# removes the image so its label cannot mark it up to date): the image runs, its API answers
# GET /version with the pinned version.
set -euo pipefail
self=$(readlink -f "$0")
cd "${RECLAB_ROOT:-$(dirname "$self")/../..}"

version=v2.8.0
module=github.com/Shopify/toxiproxy/v2
image=${RECLAB_TOXIPROXY_IMAGE:-localhost/reclab-toxiproxy:${version#v}}
label=reclab.toxiproxy.inputs

# Engine: a Docker engine whose server is not podman means users' CI; podman otherwise.
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
command -v "$engine" >/dev/null || { echo "32-image-toxiproxy: $engine not found; run scripts/setup.sh" >&2; exit 1; }

inputs=$( (echo "image=$image version=$version"; sha256sum <"$self") | sha256sum | cut -d' ' -f1)
have=$("$engine" image inspect --format "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null || true)
if [ -z "${RECLAB_REBUILD:-}" ] && [ "$have" = "$inputs" ]; then
  echo "  $image up to date (cached)"
  exit 0
fi

t0=$EPOCHREALTIME
command -v go >/dev/null || { echo "32-image-toxiproxy: go missing; run scripts/setup/10-system-packages.sh" >&2; exit 1; }
command -v busybox >/dev/null || { echo "32-image-toxiproxy: busybox missing; run scripts/setup/10-system-packages.sh" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/reclab-toxiproxy-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,etc,tmp,usr/bin}
chmod 755 "$root"
chmod 1777 "$root/tmp"

# 1. The server, from the Go module proxy ($GOPROXY; checksums from $GOSUMDB). The module cache
# (~/go/pkg/mod) keeps the sources, so only a cold machine downloads (~10 MB). GOTOOLCHAIN=local:
# build with the Go that is installed, never fetch another toolchain.
if ! CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$work/bin" go install -trimpath \
  -ldflags "-s -w -X $module.Version=$version" "$module/cmd/server@$version" >"$work/go.log" 2>&1; then
  cat "$work/go.log" >&2
  echo "32-image-toxiproxy: go install $module/cmd/server@$version failed ($(go version));" \
    "check that the Go module proxy (GOPROXY=$(go env GOPROXY)) is reachable" >&2
  exit 1
fi
install -m 0755 "$work/bin/server" "$root/usr/bin/toxiproxy-server"
# Static, or the empty rootfs has no loader for it.
if ldd "$root/usr/bin/toxiproxy-server" >/dev/null 2>&1; then
  echo "32-image-toxiproxy: the server binary is dynamically linked (CGO_ENABLED=0 ignored?)" >&2
  exit 1
fi

# 2. busybox (static, Debian busybox-static) as /bin/sh and its applets.
busybox_bin=$(command -v busybox)
cp "$busybox_bin" "$root/bin/busybox"
if ldd "$root/bin/busybox" >/dev/null 2>&1; then
  echo "32-image-toxiproxy: $busybox_bin is not static; install busybox-static" >&2
  exit 1
fi
for applet in $("$busybox_bin" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"

# 3. Import. The lab runs it with host networking and passes its own flags
# (-host 127.0.0.1 -port <free port> -seed <run seed>); the default CMD suits a manual
# `podman run -p 8474:8474`.
old_id=$("$engine" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
tar -C "$root" -c . | "$engine" import \
  --change 'ENTRYPOINT ["/usr/bin/toxiproxy-server"]' \
  --change 'CMD ["-host", "0.0.0.0", "-port", "8474"]' \
  --change 'ENV PATH=/usr/bin:/bin' \
  --change 'EXPOSE 8474' \
  --change "LABEL $label=$inputs" \
  - "$image" >"$work/import.log" 2>&1 \
  || { cat "$work/import.log" >&2; echo "32-image-toxiproxy: $engine import failed" >&2; exit 1; }

# 4. Post-condition: the server starts in the image and its API answers /version with the pinned
# version. Checked inside the container (busybox wget, no network): no host port to race for.
check='toxiproxy-server -host 127.0.0.1 -port 8474 >/tmp/server.log 2>&1 &
for i in $(seq 1 50); do
  v=$(wget -qO- http://127.0.0.1:8474/version 2>/dev/null) && { echo "$v"; exit 0; }
  sleep 0.1
done
cat /tmp/server.log; exit 1'
if ! out=$("$engine" run --rm --network=none --entrypoint /bin/sh "$image" -c "$check" 2>&1) \
  || ! grep -q "\"$version\"" <<<"$out"; then
  echo "32-image-toxiproxy: smoke test of $image failed (expected /version to say $version):" >&2
  echo "$out" >&2
  "$engine" rmi -f "$image" >/dev/null 2>&1 || true
  exit 1
fi

new_id=$("$engine" image inspect --format '{{.Id}}' "$image")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  "$engine" rmi "$old_id" >/dev/null 2>&1 || true
fi
size=$("$engine" image inspect --format '{{.Size}}' "$image")
echo "  built $image ($(( size / 1000000 )) MB, $(go version | cut -d' ' -f3)): /version $out" \
  "in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
