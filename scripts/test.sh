#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests drive
# for real (Debian packages, Node.js 24, 22 and 26, npm packages), then lint, type
# check, the unit and integration tests (tap, 100% coverage, on Node.js 24;
# those that can differ between Node.js lines again on 22 and 26) and the real-client
# tier (three systemd-sysupdate versions, Ignition, curl, wget).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests start or drive: the clients, the servers compared
# against, HAProxy in front of a fleet of instances, nginx serving a mirrored
# tree, what builds the sysupdate chroot, and promtool (prometheus) for the alert rules. Installed only when
# missing.
DEBIAN_PACKAGES=(curl wget ca-certificates redis-server haproxy nginx debootstrap debian-archive-keyring gpg ignition policycoreutils caddy chromium prometheus)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Everything runs on the image's Node.js line (24, the Dockerfile's base),
# fetched once from the npm registry: npm, lint, the type check and every test
# with coverage. The machine's own Node.js is not used.
node24=$(bash scripts/node-release.sh 24 | tail -n 1)
export PATH="$(dirname "$node24"):$PATH"
echo "tests on Node.js $(node --version)"

npm ci --no-audit --no-fund
# The type check runs beside the lint (one core each); its output follows the lint's.
mkdir -p test-artifacts
npm run typecheck >test-artifacts/typecheck.log 2>&1 &
typecheck=$!
lint_status=0
npm run lint || lint_status=$?
typecheck_status=0
wait "$typecheck" || typecheck_status=$?
cat test-artifacts/typecheck.log
[ "$lint_status" -eq 0 ] && [ "$typecheck_status" -eq 0 ] || exit 1

# The TAP stream is long and CI shows its end: on failure, repeat each failing
# assertion with its diagnostics last, where they are seen.
tap_failures() {
  awk '/^ *not ok /{print; block=1; next} block && /^ *---$/{yaml=1} yaml{print} /^ *\.\.\.$/{yaml=0} {block=0}' "$1"
}
run_tap() {
  local log=$1
  shift
  mkdir -p test-artifacts
  if ! "$@" 2>&1 | tee "$log"; then
    echo "===== failing tests (whole stream: $log)"
    tap_failures "$log"
    exit 1
  fi
}
run_tap test-artifacts/tap.log npm test

# Node.js 22 and 26, the other supported lines: again the tests whose outcome
# rests on what differs between Node.js lines (docs/design.md, "Node.js lines"):
# Node's HTTP server and parser beside the lane, sockets, signals and draining,
# undici, timers, streams and TextDecoder, crypto, V8's code cache and the
# image replay (built and warmed by that Node.js), Node's own metrics. The
# rest (paths, the table, versions, the decision, pages, caches, the deploy
# files) is logic those lines run alike, and runs once, above.
NODE_LINE_TESTS=(
  test/main.test.ts test/server-curl.test.ts test/app.test.ts
  test/{lane,http,boot,webhooks}/*.test.ts
  test/deploy/{docker-start,dockerfile}.test.ts
  test/upstream/{head,register,github-limits}.test.ts
  test/protection/{server-limits,connection-cap,client-ip,rate-limit}.test.ts
  test/fleet/redis.test.ts test/response/*.test.ts
  test/metrics/server.test.ts test/fuzz/lane-vs-route.test.ts
  test/manifests/fetch.test.ts test/catalog/manifest.test.ts
)
for major in 22 26; do
  node_bin=$(bash scripts/node-release.sh "$major" | tail -n 1)
  echo "Node.js line tests on Node.js $("$node_bin" --version)"
  PATH="$(dirname "$node_bin"):$PATH" run_tap "test-artifacts/tap-node$major.log" \
    npx tap --disable-coverage "${NODE_LINE_TESTS[@]}"
done

# The real-client tier (docs/design.md: "The real-client tier"): build or reuse the cached
# roots for systemd-sysupdate 254 (bookworm-backports), 257 (trixie) and the
# newest (sid), then run the clients and print the matrix; on failure, show
# what each client and the service logged, then the failing assertions again,
# last, where CI's tail shows them.
bash scripts/sysupdate-root.sh >/dev/null
if ! npm run test:e2e; then
  for log in test-artifacts/e2e/*/*.log; do
    echo "===== $log"
    cat "$log"
  done
  echo "===== failing tests (whole stream: test-artifacts/e2e-tap.log)"
  tap_failures test-artifacts/e2e-tap.log
  exit 1
fi
