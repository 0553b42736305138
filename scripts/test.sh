#!/usr/bin/env bash
# The one test command (npm test): build and type check, lint, every test, then a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-browser.sh || exit 1
bash scripts/ensure-tools.sh || exit 1
# Build first: tests that spawn the dingpush command run packages/*/dist, so it must be fresh. tsc -b builds the
# packages (tsconfig.build.json) and type checks tests and benchmarks against the sources (tsconfig.json, no emit).
echo "── build and type check" && npx tsc -b tsconfig.build.json tsconfig.json && node scripts/copy-assets.mjs || exit 1
echo "── lint" && npx biome check . || exit 1
mkdir -p .test-artifacts
echo "── tests"
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-artifacts/vitest.json "$@"
rc=$?
node scripts/test-summary.mjs .test-artifacts/vitest.json || rc=1
exit $rc
