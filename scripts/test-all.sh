#!/usr/bin/env bash
# The whole suite: installs what the tests need, then type check, lint, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
echo "==> type check"
npm run -s typecheck
echo "==> lint"
npm run -s lint
echo "==> tests"
npx vitest run --project unit
echo "==> integration tests (the lab)"
npx vitest run --project integration
