#!/usr/bin/env bash
# The main job on the bundled example: install, build, then validate, render and plan it.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error >/dev/null
npm run -s build
node bin/vmstation.js validate -f examples/vmstation.yaml
