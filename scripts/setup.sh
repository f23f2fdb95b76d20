#!/usr/bin/env bash
# One idempotent set-up for a fresh machine (Debian 12, root): system packages, the container engine,
# locally built images, npm dependencies, native add-ons. Each step caches its work and says so.
# Re-running with nothing changed takes seconds. Steps live in scripts/setup/, run in name order.
set -euo pipefail
cd "$(dirname "$0")/.."
export RECLAB_ROOT="$PWD"
mkdir -p .reclab/setup
start=$(date +%s)
for step in scripts/setup/[0-9]*.sh; do
  t0=$(date +%s)
  echo "setup: ${step##*/}"
  bash "$step"
  echo "setup: ${step##*/} done in $(( $(date +%s) - t0 )) s"
done
echo "setup: all done in $(( $(date +%s) - start )) s"
