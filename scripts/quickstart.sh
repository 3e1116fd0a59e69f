#!/usr/bin/env bash
# The main job on the bundled example: install, build, then validate, render and plan it.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error >/dev/null
npm run -s build
node bin/vmstation.js validate -f examples/vmstation.yaml
out="$(mktemp -d)/render"
node bin/vmstation.js render -f examples/vmstation.yaml -o "$out"
echo "(the render tree is in $out: kubespray/, ansible/, manifests/, configs/, index.json)"
node bin/vmstation.js plan -f examples/vmstation.yaml
