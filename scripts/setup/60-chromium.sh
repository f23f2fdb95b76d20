#!/usr/bin/env bash
# Headless Chromium from Debian for the report's browser test (test/browser/report.test.ts drives it with
# playwright-core through its executablePath; no browser is downloaded from a CDN). --no-install-recommends
# leaves out chromium-sandbox (the setuid sandbox: the test runs as root with --no-sandbox) and any font:
# fonts-dejavu-core gives the page's text glyphs, so a screenshot shows words, not boxes.
# Post-condition: the browser renders a page headless (a real screenshot, not only --version).
set -euo pipefail
pkgs=(chromium fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "  installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || { echo "60-chromium: $p is not installed after apt-get" >&2; exit 1; }
done
# A real render: a page with a canvas, screenshotted headless; the PNG must exist and not be tiny.
# ~1 s; not cached (a broken library after an upgrade shows only here).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/check.html" <<'HTML'
<!doctype html><meta charset="utf-8"><body style="margin:0"><h1>reclab chromium check</h1>
<canvas id="c" width="200" height="100"></canvas>
<script>const g=document.getElementById('c').getContext('2d');g.fillStyle='#c33';g.fillRect(10,10,180,80);</script>
HTML
if ! timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
  --window-size=400,300 --screenshot="$tmp/check.png" "file://$tmp/check.html" >"$tmp/log" 2>&1; then
  echo "60-chromium: headless chromium could not render a page:" >&2
  cat "$tmp/log" >&2
  exit 1
fi
size=$(stat -c %s "$tmp/check.png" 2>/dev/null || echo 0)
if [ "$size" -lt 1000 ]; then
  echo "60-chromium: the headless screenshot is missing or empty ($size bytes)" >&2
  cat "$tmp/log" >&2
  exit 1
fi
echo "  $(chromium --version 2>/dev/null | head -n1) renders headless (screenshot $size bytes)"
