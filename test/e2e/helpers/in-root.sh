#!/bin/sh
# Runs a command in a throwaway, writable view of the cached sysupdate root,
# as if on a machine of its own:
#
#   in-root.sh ROOT STATE COMMAND [ARG...]
#
# ROOT is a cached Debian root (scripts/sysupdate-root.sh); it is only
# ever the read-only lower layer of an overlay, so it stays clean. STATE is the
# machine's folder on the host: STATE/upper keeps what the machine wrote (its
# /etc, /opt) from one run to the next. /tmp and /run are fresh tmpfs each run.
# Everything runs in a private mount namespace, so every mount vanishes with
# the command, however it ends. Needs root.
set -eu

if [ "${IN_ROOT_NAMESPACE:-}" != 1 ]; then
  export IN_ROOT_NAMESPACE=1
  exec unshare --mount --propagation private "$0" "$@"
fi

root=$1
state=$2
shift 2
merged=$state/merged
mkdir -p "$state/upper" "$state/work" "$merged"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$state/upper,workdir=$state/work" "$merged"
mount -t proc proc "$merged/proc"
mount --bind /dev "$merged/dev"
mount -t tmpfs -o mode=1777 tmpfs "$merged/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$merged/run"
unset IN_ROOT_NAMESPACE
exec chroot "$merged" "$@"
