#!/usr/bin/env bash
# Builds, once, the Debian trixie root in which the real-client tier runs
# systemd-sysupdate v257 (chroot). Later runs reuse it: a valid root is left
# alone; a missing or broken one is built in a temporary folder next to it and
# moved into place, so an interrupted build never leaves half a root behind.
#
#   SYSUPDATE_ROOT_CACHE  cache folder, outside the repository
#                         (default /var/cache/sysext-redirector)
#   DEBIAN_MIRROR         mirror debootstrap downloads from
#                         (default http://deb.debian.org/debian)
#
# Needs root and debootstrap, and the mirror only when it builds.
# Prints the root's path as its last line on stdout.
set -euo pipefail

cache=${SYSUPDATE_ROOT_CACHE:-/var/cache/sysext-redirector}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$cache/trixie-root
packages=systemd-container,dbus,gpg,ca-certificates

die() {
  echo "sysupdate-root: $*" >&2
  exit 1
}

# What the tier runs inside the root, and proof that the binaries work there.
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

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it)"
mkdir -p "$cache"

# Two test files may ask at once on a cold cache: the second waits for the first.
exec 9>"$cache/.trixie-root.lock"
flock 9

if valid "$root"; then
  echo "sysupdate-root: reusing $root" >&2
  echo "$root"
  exit 0
fi

command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
[ -e "$root" ] && echo "sysupdate-root: $root is incomplete or broken; rebuilding it" >&2

tmp=$(mktemp -d "$cache/.trixie-root.XXXXXX")
chmod 755 "$tmp" # mktemp makes it 0700; a root folder is 0755
trap 'remove_tree "$tmp"' EXIT
echo "sysupdate-root: debootstrap trixie from $mirror into $tmp" >&2
start=$SECONDS
# debootstrap mounts /proc and /sys in the target while it works; in a private
# mount namespace those mounts vanish with it, even if it is killed.
unshare --mount --propagation private \
  debootstrap --variant=minbase --include="$packages" trixie "$tmp" "$mirror" >&2 ||
  die "debootstrap failed (is $mirror reachable?)"
valid "$tmp" || die "debootstrap finished but systemd-sysupdate does not run in the new root"
echo "sysupdate-root: built in $((SECONDS - start)) s" >&2

if [ -e "$root" ]; then
  remove_tree "$root"
fi
mv "$tmp" "$root"
trap - EXIT
echo "$root"
