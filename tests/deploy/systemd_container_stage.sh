#!/usr/bin/env bash
# systemd_container_stage.sh: the inside half of tests/deploy/systemd_container.py. Not run by hand.
#
# Started by the harness as
#   unshare --pid --fork --mount --mount-proc --net --uts --ipc --propagation private \
#     bash systemd_container_stage.sh enter CGROUP WORK UNITS TARGET
# so this process is PID 1 of a new PID namespace, in new mount, network, UTS and IPC namespaces.
# `enter` moves itself into the cgroup2 directory CGROUP (made by the harness) and re-executes
# itself in a new cgroup namespace rooted there (`unshare --cgroup`, same PID), as `root`.
# `root` builds the container's file system under WORK (see REFERENCE.md §8):
#   - an overlay of the host's / (read-only lower) with its upper layer on a tmpfs that lives only
#     in this mount namespace: every write (install.sh, useradd, the venv) vanishes with it;
#   - fresh proc (/proc/sys read-only, so systemd cannot raise the host's global sysctls), a
#     read-only sysfs, cgroup2 on /sys/fs/cgroup (this namespace's root = CGROUP), a minimal /dev
#     (no host devices but null, zero, full, random, urandom, tty; a private devpts), tmpfs /run
#     and /etc/systemd/system, the latter holding only the units in UNITS (the host's enabled
#     units never start here);
#   - /etc/machine-id, hostname, and Asia/Taipei as the local time zone (as the RUNBOOK requires
#     for the cron schedule);
# then pivot_root into it and exec systemd as PID 1 with TARGET as its default unit.
# Nothing is mounted in the host's mount namespace: all mounts die with this one.
set -euo pipefail

phase=$1
shift
case $phase in
  enter)
    cgroup=$1
    echo 0 >"$cgroup/cgroup.procs"   # "0": the writing process itself
    exec unshare --cgroup -- bash "$0" root "$@"
    ;;
  root) ;;
  *) echo "systemd_container_stage.sh: unknown phase $phase" >&2; exit 2 ;;
esac

cgroup=$1 work=$2 units=$3 target=$4
mount --make-rprivate /
mount -t tmpfs -o mode=0755 txf-container "$work"
mkdir -p "$work/upper" "$work/work" "$work/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$work/root"
r=$work/root

mount -t proc proc "$r/proc"
mount --bind "$r/proc/sys" "$r/proc/sys"
mount -o remount,bind,ro "$r/proc/sys"
if [[ -e $r/proc/sysrq-trigger ]]; then   # absent on some kernels
  mount --bind "$r/proc/sysrq-trigger" "$r/proc/sysrq-trigger"
  mount -o remount,bind,ro "$r/proc/sysrq-trigger"
fi
mount -t sysfs -o ro sysfs "$r/sys"
mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"

mount -t tmpfs -o mode=0755,nosuid txf-dev "$r/dev"
for node in null zero full random urandom tty; do
  touch "$r/dev/$node"
  mount --bind "/dev/$node" "$r/dev/$node"
done
mkdir -p "$r/dev/pts" "$r/dev/shm" "$r/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$r/dev/shm"
touch "$r/dev/console"
mount --bind /dev/null "$r/dev/console"   # systemd's console: nobody reads it, the journal has it all
ln -s /proc/self/fd "$r/dev/fd"
ln -s /proc/self/fd/0 "$r/dev/stdin"
ln -s /proc/self/fd/1 "$r/dev/stdout"
ln -s /proc/self/fd/2 "$r/dev/stderr"

mount -t tmpfs -o mode=0755,nosuid,nodev txf-run "$r/run"
# /tmp stays part of the overlay (no tmpfs): a checkout under the host's /tmp (a CI clone) must
# stay visible inside; writes to it still land in the private upper layer. Debian's tmpfiles.d
# empties /tmp at boot ("D /tmp"): this container keeps it ("d", no age).
mkdir -p "$r/etc/tmpfiles.d"
echo "d /tmp 1777 root root -" >"$r/etc/tmpfiles.d/tmp.conf"
mount -t tmpfs -o mode=0755 txf-units "$r/etc/systemd/system"
cp -a "$units/." "$r/etc/systemd/system/"

# /etc lives in the overlay: these writes stay in the container.
rm -f "$r/etc/machine-id"
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$r/etc/machine-id"
echo >>"$r/etc/machine-id"
hostname txf-container
echo txf-container >"$r/etc/hostname"
ln -sfn /usr/share/zoneinfo/Asia/Taipei "$r/etc/localtime"
echo Asia/Taipei >"$r/etc/timezone"

mkdir -p "$r/.oldroot"
cd "$r"
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
cd /
# Shared propagation inside this namespace, as on a booted host: systemd does `--make-rshared /` itself
# only outside a container. Without it a mount made in a unit's helper namespace never reaches PID 1's
# view: LoadCredential= moves its ramfs to /run/credentials/<unit> that way, and the service found an
# empty root-only directory. The host's mounts are untouched (unshare made them private to us first).
mount --make-rshared /
exec env -i container=other PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /lib/systemd/systemd --system "--unit=$target"
