#!/usr/bin/env bash
# Installs, builds and runs the service with the Flatcar bakery's built-in
# table on PORT (default 8080). Every setting is read from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
npm run build
# The Dockerfile's ENTRYPOINT, flags and all (test/deploy/dockerfile.test.ts checks).
exec node --max-semi-space-size=4 --optimize-for-size dist/main.js
