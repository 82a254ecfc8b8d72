#!/usr/bin/env bash
# Runs the service with the Flatcar bakery's built-in table on PORT (default
# 8080), on Node.js 24, the image's line (fetched once from the npm registry by
# scripts/node-release.sh). Every setting is read from the environment.
#
# Installs and builds only when needed, so a restart is quick and needs no
# registry: `npm ci` when package-lock.json or the Node.js release changed
# since the last install, `npm run build` when anything the build reads
# changed since the last build. Then it execs node, so the SIGTERM of a
# supervisor (systemd, a container runtime) reaches the service, which drains.
set -euo pipefail
cd "$(dirname "$0")/.."

node_bin=$(bash scripts/node-release.sh 24 | tail -n 1)
export PATH="$(dirname "$node_bin"):$PATH"

# What a set of files holds: one hash of their names and contents.
fingerprint() {
  find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d ' ' -f 1
}

installed="$(node --version) $(fingerprint package-lock.json)"
if [ "$(cat node_modules/.serve-installed 2>/dev/null)" != "$installed" ]; then
  npm ci --no-audit --no-fund
  echo "$installed" >node_modules/.serve-installed
fi

# What scripts/build.ts reads (the Dockerfile's build stage copies the same).
built="$installed $(fingerprint package.json tsconfig.json tsconfig.build.json Dockerfile \
  scripts/build.ts deploy/tools/dockerfile.ts tables src)"
if [ ! -f dist/main.js ] || [ "$(cat dist/.serve-built 2>/dev/null)" != "$built" ]; then
  npm run build
  echo "$built" >dist/.serve-built
fi

# The Dockerfile's ENTRYPOINT, flags and all (test/deploy/dockerfile.test.ts checks).
exec node --max-semi-space-size=4 --optimize-for-size dist/main.js
