# shellcheck shell=sh
# The project's Node first on PATH: Node 24 LTS, installed by scripts/setup/05-node.sh into
# <repository>/.reclab/node. Sourced (POSIX sh) by scripts/npm-script-shell.sh, the shell npm runs
# every script of package.json in (.npmrc `script-shell`), and by the set-up steps that run
# JavaScript or build native add-ons (40-npm.sh, 50-faiss-node.sh), so tests, the lab, the processes
# it spawns (process.execPath) and the add-ons' ABI are all the one Node, whichever npm started them.
#
# Set reclab_root to the repository root before sourcing. Fails (return/exit 1, with the fix in the
# message) when the project's Node is not installed.
reclab_node=$reclab_root/.reclab/node
if [ ! -x "$reclab_node/bin/node" ]; then
  echo "reclab: $reclab_node/bin/node is missing: run scripts/setup.sh first (its step 05-node.sh installs the project's Node 24)" >&2
  return 1 2>/dev/null || exit 1
fi
PATH=$reclab_node/bin:$PATH
# npm exports its own Node (the system's) in NODE and npm_node_execpath; point both at this one.
NODE=$reclab_node/bin/node
npm_node_execpath=$NODE
# node-gyp (and cmake-js outside Node-API) take the headers from here instead of downloading them.
npm_config_nodedir=$reclab_node
export PATH NODE npm_node_execpath npm_config_nodedir
