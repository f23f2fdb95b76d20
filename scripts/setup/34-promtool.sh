#!/usr/bin/env bash
# promtool (Apache-2.0), Prometheus's own checker: `promtool check metrics` lints the core's /metrics
# page against the naming conventions, and `promtool test rules` runs the alert rules' unit tests
# (deploy/prometheus/alerts.yml, alerts.test.yml; test/integration/metrics-lint.test.ts and
# alert-rules.test.ts, docs/observability.md). Built with `go install` from the Go module proxy
# (SETUP-NOTES: github.com/prometheus/prometheus v0.316.0 is served there), statically (CGO off),
# into a cache directory; the tests run the binary on the host, no container.
#
# Where: $RECLAB_ROOT/.reclab/tools/promtool-<version>/promtool (test/helpers/promtool.ts looks
# there). Cached: a stamp file next to the binary holds the sha256 of this script and the version;
# a re-run with nothing changed only reads it (no Go needed). RECLAB_REBUILD=1 forces a rebuild.
# Needs Go >= 1.26.7 (the module's go.mod; GOTOOLCHAIN=local: no other toolchain is fetched).
# Post-condition (checked after each build; a failed check removes the binary so the stamp cannot
# mark it up to date): `promtool --version` names the pinned version, a well-named exposition
# passes `promtool check metrics`, and a counter without `_total` is reported by it.
set -euo pipefail
self=$(readlink -f "$0")
cd "${RECLAB_ROOT:-$(dirname "$self")/../..}"

version=v0.316.0
need_go=1.26.7
module=github.com/prometheus/prometheus/cmd/promtool
dir=.reclab/tools/promtool-$version
bin=$dir/promtool
stamp=$dir/inputs.sha256

inputs=$( (echo "version=$version"; sha256sum <"$self") | sha256sum | cut -d' ' -f1)
if [ -z "${RECLAB_REBUILD:-}" ] && [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
  echo "  $bin up to date (cached)"
  exit 0
fi

t0=$EPOCHREALTIME
command -v go >/dev/null || { echo "34-promtool: go missing; run scripts/setup/10-system-packages.sh" >&2; exit 1; }
have=$(go env GOVERSION) # e.g. go1.26.8
if [ "$(printf '%s\n%s\n' "$need_go" "${have#go}" | sort -V | head -1)" != "$need_go" ]; then
  echo "34-promtool: promtool $version needs Go >= $need_go (its go.mod), found $have;" \
    "put a newer Go first on PATH (e.g. /usr/local/go/bin) and run scripts/setup.sh again" >&2
  exit 1
fi
mkdir -p "$dir"
rm -f "$stamp"
work=$(mktemp -d "${TMPDIR:-/tmp}/reclab-promtool.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. Build from the Go module proxy ($GOPROXY; checksums from $GOSUMDB). The module cache keeps the
# sources, so only a cold machine downloads. -mod=mod: the command is built from the module's own
# go.mod without a vendor directory. Prometheus stamps its version with -X (its Makefile does too).
if ! CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod GOBIN="$work/bin" go install -trimpath \
  -ldflags "-s -w -X github.com/prometheus/common/version.Version=${version#v}" \
  "$module@$version" >"$work/go.log" 2>&1; then
  cat "$work/go.log" >&2
  echo "34-promtool: go install $module@$version failed ($(go version));" \
    "check that the Go module proxy (GOPROXY=$(go env GOPROXY)) is reachable" >&2
  exit 1
fi
install -m 0755 "$work/bin/promtool" "$bin"

# 2. Post-condition: the version, a clean exposition passes, a misnamed counter is caught.
fail() { echo "34-promtool: $*" >&2; rm -f "$bin"; exit 1; }
"$bin" --version 2>&1 | grep -q "version ${version#v}" || fail "promtool --version does not say ${version#v}: $("$bin" --version 2>&1 | head -1)"
good=$'# HELP reclab_smoke_requests_total Requests.\n# TYPE reclab_smoke_requests_total counter\nreclab_smoke_requests_total 1\n'
printf '%s' "$good" | "$bin" check metrics >"$work/good.txt" 2>&1 \
  || fail "check metrics rejected a well-named counter: $(cat "$work/good.txt")"
bad=$'# HELP reclab_smoke_requests Requests.\n# TYPE reclab_smoke_requests counter\nreclab_smoke_requests 1\n'
if printf '%s' "$bad" | "$bin" check metrics >"$work/bad.txt" 2>&1; then
  fail "check metrics passed a counter without _total"
fi
grep -q '_total' "$work/bad.txt" || fail "check metrics did not name the _total problem: $(cat "$work/bad.txt")"

echo "$inputs" >"$stamp"
echo "  built $bin ($(go version | cut -d' ' -f3)): $("$bin" --version 2>&1 | head -1)," \
  "lint smoke test passed in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
