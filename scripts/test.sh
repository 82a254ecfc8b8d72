#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests drive
# for real (Debian packages, npm packages), then lint, type check, the unit and
# integration tests (tap, 100% coverage; again on Node.js 24 and 22) and the
# real-client tier (three systemd-sysupdate versions, Ignition, curl, wget).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests start or drive: the clients, the servers compared
# against, and what builds the sysupdate chroot. Installed only when missing.
DEBIAN_PACKAGES=(curl wget ca-certificates redis-server debootstrap debian-archive-keyring gpg ignition policycoreutils caddy chromium)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run lint
npm run typecheck
npm test

# The same tests (without coverage, which the run above measured) under the
# other Node.js lines the service supports: 24, which the image runs, and 22.
# That includes the replayed image, built and warmed by that Node.js.
for major in 24 22; do
  node_bin=$(bash scripts/node-release.sh "$major" | tail -n 1)
  echo "unit and integration tests on Node.js $("$node_bin" --version)"
  PATH="$(dirname "$node_bin"):$PATH" npx tap --disable-coverage
done

# The real-client tier (README: "The real-client tier"): build or reuse the cached
# roots for systemd-sysupdate 254 (bookworm-backports), 257 (trixie) and the
# newest (sid), then run the clients and print the matrix; on failure, show
# what each client and the service logged.
bash scripts/sysupdate-root.sh >/dev/null
if ! npm run test:e2e; then
  for log in test-artifacts/e2e/*/*.log; do
    echo "===== $log"
    cat "$log"
  done
  exit 1
fi
