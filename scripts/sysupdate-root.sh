#!/usr/bin/env bash
# Builds, once, the Debian roots in which the real-client tier runs
# systemd-sysupdate (chroot), one per systemd line Flatcar ships:
#
#   bookworm  systemd 254 from bookworm-backports (nearest to Flatcar LTS, 255)
#   trixie    systemd 257 (Flatcar stable)
#   sid       the newest systemd Debian has (262 in December 2026; Flatcar beta
#             and alpha run 260)
#
#   scripts/sysupdate-root.sh [RELEASE...]   (default: all three, side by side)
#
# Later runs reuse a root: a valid one is left alone; a missing or broken one
# is built in a temporary folder next to it and moved into place, so an
# interrupted build never leaves half a root behind. Prints each root's path
# on stdout, one line per release, in the order asked.
#
#   SYSUPDATE_ROOT_CACHE  cache folder, outside the repository
#                         (default /var/cache/sysext-redirector)
#   DEBIAN_MIRROR         mirror debootstrap downloads from
#                         (default http://deb.debian.org/debian)
#
# Needs root and debootstrap, and the mirror only when it builds.
set -euo pipefail

cache=${SYSUPDATE_ROOT_CACHE:-/var/cache/sysext-redirector}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=systemd-container,dbus,gpg,ca-certificates

die() {
  echo "sysupdate-root: $*" >&2
  exit 1
}

# What the tier runs inside a root, and proof that the binaries work there.
valid() {
  [ -x "$1/usr/lib/systemd/systemd-sysupdate" ] &&
    [ -x "$1/usr/lib/systemd/systemd-pull" ] &&
    [ -x "$1/usr/bin/gpg" ] &&
    chroot "$1" /usr/lib/systemd/systemd-sysupdate --version >/dev/null 2>&1
}

# Deleting a folder with something mounted below it would delete through the
# mount (a bound /dev, say); refuse instead.
remove_tree() {
  if awk -v dir="$1" 'index($2, dir "/") == 1 || $2 == dir { found = 1 } END { exit !found }' /proc/self/mounts; then
    die "refusing to delete $1: something is mounted below it (see /proc/self/mounts)"
  fi
  rm -rf --one-file-system "$1"
}

# debootstrap mounts /proc and /sys in the target while it works; in a private
# mount namespace those mounts vanish with it, even if it is killed.
bootstrap() { # SUITE TARGET EXTRA-PACKAGES
  unshare --mount --propagation private \
    debootstrap --variant=minbase --include="$packages$3" "$1" "$2" "$mirror" >&2 ||
    die "debootstrap $1 failed (is $mirror reachable?)"
}

# Stock bookworm has systemd 252, which has systemd-pull but no sysupdate:
# the 254 of bookworm-backports replaces it (apt in the new root, its /proc
# mounted in a namespace of its own).
backports() { # TARGET
  echo "deb $mirror bookworm-backports main" >"$1/etc/apt/sources.list.d/backports.list"
  unshare --mount --propagation private sh -ec '
    mount -t proc proc "$1/proc"
    chroot "$1" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get install -y -qq --no-install-recommends \
      -t bookworm-backports systemd systemd-container
    chroot "$1" apt-get clean
  ' sh "$1" >&2 || die "installing systemd from bookworm-backports failed"
}

build() { # RELEASE TARGET
  case $1 in
  bookworm)
    bootstrap bookworm "$2" ""
    backports "$2"
    ;;
  trixie) bootstrap trixie "$2" "" ;;
  # Since 262 systemd-pull loads libcurl at run time (dlopen): without it,
  # "Failed to allocate puller" before any request.
  sid) bootstrap sid "$2" ",libcurl4t64" ;;
  esac
}

root_for() { # RELEASE -> prints its path
  # tmp is global: the EXIT trap that removes a half-built root reads it.
  local release=$1 root=$cache/$1-root start
  # Two test files may ask at once on a cold cache: the second waits for the first.
  exec 9>"$cache/.$release-root.lock"
  flock 9
  if valid "$root"; then
    echo "sysupdate-root: reusing $root" >&2
    echo "$root"
    exec 9>&-
    return
  fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  [ -e "$root" ] && echo "sysupdate-root: $root is incomplete or broken; rebuilding it" >&2
  tmp=$(mktemp -d "$cache/.$release-root.XXXXXX")
  chmod 755 "$tmp" # mktemp makes it 0700; a root folder is 0755
  trap 'remove_tree "$tmp"' EXIT
  echo "sysupdate-root: building $release from $mirror in $tmp" >&2
  start=$SECONDS
  build "$release" "$tmp"
  valid "$tmp" || die "$release: the build finished but systemd-sysupdate does not run in it"
  echo "sysupdate-root: $release built in $((SECONDS - start)) s" >&2
  if [ -e "$root" ]; then
    remove_tree "$root"
  fi
  mv "$tmp" "$root"
  trap - EXIT
  exec 9>&-
  echo "$root"
}

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it)"
[ "$#" -gt 0 ] || set -- bookworm trixie sid
for release in "$@"; do
  case $release in
  bookworm | trixie | sid) ;;
  *) die "unknown release '$release' (accepted: bookworm, trixie, sid)" ;;
  esac
done
mkdir -p "$cache"
if [ "$#" -eq 1 ]; then
  root_for "$1"
  exit 0
fi
# Several: built side by side (their downloads overlap), printed in the order asked.
pids=()
outs=()
for release in "$@"; do
  outs+=("$(mktemp)")
  (root_for "$release" >"${outs[-1]}") &
  pids+=("$!")
done
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed=1
  cat "${outs[$i]}"
  rm -f "${outs[$i]}"
done
exit "$failed"
