#!/usr/bin/env bash
# npm dependencies from the lockfile. Install scripts are skipped for all packages: onnxruntime-node's
# would fetch CUDA providers from nuget and faiss-node's would fetch a prebuild from GitHub, both
# unreachable (SETUP-NOTES). The CPU binaries of onnxruntime-node ship inside its npm package;
# faiss-node is built by 50-faiss-node.sh. npm runs on the project's Node (05-node.sh,
# scripts/lib/node-env.sh), whatever Node the system's npm comes with, so the tree is installed for
# the Node that runs it. Cached on the lockfile's hash and that Node's version.
set -euo pipefail
reclab_root=$(cd "${RECLAB_ROOT:-$(dirname "$(readlink -f "$0")")/../..}" && pwd)
cd "$reclab_root"
. scripts/lib/node-env.sh || exit 1
command -v npm >/dev/null || { echo "40-npm: npm is not installed (the system's npm runs on the project's Node)" >&2; exit 1; }
stamp=.reclab/setup/npm.sha
hash=$( (sha256sum package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
  echo "  node_modules matches package-lock.json (cached)"
  exit 0
fi
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
# onnxruntime-node ships Node-API binaries (ABI-stable): check that they load on this Node.
node -e "require('onnxruntime-node')" \
  || { echo "40-npm: onnxruntime-node does not load on $(node --version)" >&2; exit 1; }
echo "$hash" > "$stamp"
