#!/bin/sh
# npm's script shell for this project (.npmrc: script-shell=scripts/npm-script-shell.sh): every
# `npm run`/`npm test` script and `npm exec` command runs on the project's Node 24
# (scripts/lib/node-env.sh puts .reclab/node/bin first on PATH), even when npm itself is the
# system's npm on an older Node. Without .reclab/node it stops with "run scripts/setup.sh first".
# npm calls it as `<shell> -c <command>`; the command then runs in /bin/sh, as npm's default does.
# The path in .npmrc is relative to npm's working directory: npm runs scripts at the package root
# from any folder, but `npm exec`/`npx` must be started at the root.
reclab_root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd) || exit 1
. "$reclab_root/scripts/lib/node-env.sh" || exit 1
exec /bin/sh "$@"
