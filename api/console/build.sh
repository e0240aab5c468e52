#!/usr/bin/env bash
# api/console/build.sh OUTDIR: type-checks the console (tsc) and builds it (Vite) into
# OUTDIR. CMake runs it (api/console/CMakeLists.txt) when a source changed; its packages
# come from `npm ci` (ops/setup), never from a download here.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")"
out=${1:?usage: build.sh OUTDIR}
if [[ ! -x node_modules/.bin/vite || ! -x node_modules/.bin/tsc ]]; then
	echo "api/console: its npm packages are not installed (node_modules/); run ./ops/setup" >&2
	exit 1
fi
node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/vite build --outDir "$out" --emptyOutDir --logLevel warn
