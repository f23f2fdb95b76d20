#!/usr/bin/env bash
# Vegeta (MIT), the independent open-model load tool behind `reclab run --driver vegeta`
# (loadtest/drivers/vegeta/, docs/distributed-load.md): reclab's own driver measured against a tool
# nobody here wrote. Built with `go install` from the Go module proxy (SETUP-NOTES: v12.13.0 is
# served there), statically (CGO off), into a cache directory: no image, the lab runs the binary on
# the host against loopback only.
#
# Where: $RECLAB_ROOT/.reclab/tools/vegeta-<version>/vegeta (the lab looks there; see
# loadtest/drivers/vegeta/vegeta-binary.ts). Cached: a stamp file next to the binary holds the
# sha256 of this script and the version; a re-run with nothing changed only reads it (no Go
# needed). RECLAB_REBUILD=1 forces a rebuild. Post-condition (checked after each build; a failed
# check removes the binary so the stamp cannot mark it up to date): `vegeta -version` names the
# pinned version, and a 1 s attack at 20/s against a loopback listener started here gets 20
# answers, encoded as JSON by `vegeta encode`.
set -euo pipefail
self=$(readlink -f "$0")
cd "${RECLAB_ROOT:-$(dirname "$self")/../..}"

version=v12.13.0
module=github.com/tsenart/vegeta/v12
dir=.reclab/tools/vegeta-$version
bin=$dir/vegeta
stamp=$dir/inputs.sha256

inputs=$( (echo "version=$version"; sha256sum <"$self") | sha256sum | cut -d' ' -f1)
if [ -z "${RECLAB_REBUILD:-}" ] && [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
  echo "  $bin up to date (cached)"
  exit 0
fi

t0=$EPOCHREALTIME
command -v go >/dev/null || { echo "33-vegeta: go missing; run scripts/setup/10-system-packages.sh" >&2; exit 1; }
command -v python3 >/dev/null || { echo "33-vegeta: python3 missing (the smoke test's listener)" >&2; exit 1; }
mkdir -p "$dir"
rm -f "$stamp"
work=$(mktemp -d "${TMPDIR:-/tmp}/reclab-vegeta.XXXXXX")
listener=
cleanup() { [ -n "$listener" ] && kill "$listener" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# 1. Build from the Go module proxy ($GOPROXY; checksums from $GOSUMDB). The module cache keeps the
# sources, so only a cold machine downloads. GOTOOLCHAIN=local: never fetch another toolchain.
# Vegeta stamps its version with -X main.Version (its Makefile does the same).
if ! CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$work/bin" go install -trimpath \
  -ldflags "-s -w -X main.Version=$version" "$module@$version" >"$work/go.log" 2>&1; then
  cat "$work/go.log" >&2
  echo "33-vegeta: go install $module@$version failed ($(go version));" \
    "check that the Go module proxy (GOPROXY=$(go env GOPROXY)) is reachable" >&2
  exit 1
fi
install -m 0755 "$work/bin/vegeta" "$bin"

# 2. Post-condition: the version, and a real attack on loopback read back through `vegeta encode`.
fail() { echo "33-vegeta: $*" >&2; rm -f "$bin"; exit 1; }
"$bin" -version 2>&1 | grep -q "$version" || fail "vegeta -version does not say $version: $("$bin" -version 2>&1)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
listener=$!
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
echo "GET http://127.0.0.1:$port/" | "$bin" attack -rate 20/s -duration 1s >"$work/results.bin" \
  || fail "vegeta attack against 127.0.0.1:$port failed"
answers=$("$bin" encode --to json <"$work/results.bin" | grep -c '"code":200' || true)
[ "$answers" = 20 ] || fail "smoke attack: expected 20 answers with code 200, got $answers"

echo "$inputs" >"$stamp"
echo "  built $bin ($(go version | cut -d' ' -f3)): $("$bin" -version 2>&1 | head -1 | tr -s ' \n' ' ')" \
  "smoke attack 20/20 in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
