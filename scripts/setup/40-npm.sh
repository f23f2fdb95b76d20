#!/usr/bin/env bash
# npm dependencies from the lockfile. Install scripts are skipped for all packages: onnxruntime-node's
# would fetch CUDA providers from nuget and faiss-node's would fetch a prebuild from GitHub, both
# unreachable (SETUP-NOTES). The CPU binaries of onnxruntime-node ship inside its npm package;
# faiss-node is built by 50-faiss-node.sh. Cached on the lockfile's hash.
set -euo pipefail
stamp=.reclab/setup/npm.sha
hash=$( (sha256sum package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
  echo "  node_modules matches package-lock.json (cached)"
  exit 0
fi
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "$hash" > "$stamp"
