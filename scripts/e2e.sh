#!/usr/bin/env bash
# The real-client tier (docs/design.md: "The real-client tier"): systemd-sysupdate 254,
# 257 and the newest Debian has, Ignition 2.14, curl and wget, each against the
# service in front of a fake GitHub on 127.0.0.1. Prints the matrix (client ×
# version × scenario) and the time taken, passed or not; exits as the tests do.
# Needs root; builds the sysupdate roots it lacks (scripts/sysupdate-root.sh).
set -uo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
mkdir -p test-artifacts
# The stream is kept (test-artifacts/e2e-tap.log) so that scripts/test.sh can
# repeat the failing assertions after the clients' logs.
npx tap --disable-coverage --timeout=900 'test/e2e/*.test.ts' 2>&1 | tee test-artifacts/e2e-tap.log
status=${PIPESTATUS[0]}
echo
node --import tsx test/e2e/print-matrix.ts
echo "real-client tier: $((SECONDS - start)) s"
exit "$status"
