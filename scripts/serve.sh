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

# Files the settings name are the caller's: resolved where serve.sh was run
# from, before it moves to the repository.
for variable in PATTERN_TABLE SIGNING_KEYS; do
  value=${!variable:-}
  if [ -n "$value" ] && [[ $value != /* ]]; then export "$variable=$PWD/$value"; fi
done
cd "$(dirname "$0")/.."

node_bin=$(bash scripts/node-release.sh 24 | tail -n 1)
export PATH="$(dirname "$node_bin"):$PATH"

# What a set of files holds: one hash of their names and contents.
fingerprint() {
  find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d ' ' -f 1
}

# The mark is kept beside node_modules, not in it: another `npm ci` of the same
# lock file (the test command's) replaces node_modules with the same packages,
# and npm leaves its own mark (.package-lock.json) in every install.
installed="$(node --version) $(fingerprint package-lock.json)"
if [ "$(cat .serve-installed 2>/dev/null)" != "$installed" ] || [ ! -f node_modules/.package-lock.json ]; then
  # What building and running need (88 packages), not the test and lint tools.
  npm ci --omit=dev --no-audit --no-fund
  echo "$installed" >.serve-installed
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
