#!/bin/sh
# /init of the Bulwark test VM (run by the static busybox in the initramfs; see prepare.sh).
#
# Stage 1 (PID 1 in the initramfs):
#   load the virtio/9p/overlay modules, mount the host's root (9p tag "hostroot", read-only),
#   put an overlay with a tmpfs upper on top of it, fresh tmpfs on /run and /tmp, mount the
#   writable 9p share "results" at /run/bulwark-vm/results, then switch_root into the overlay.
# Stage 2 (PID 1 in the overlay root, same script):
#   proc/sys/dev, cgroup2 (pure v2: the kernel runs with cgroup_no_v1=all) at /sys/fs/cgroup with
#   every controller enabled in the root's cgroup.subtree_control, then runs
#   /run/bulwark-vm/results/run.sh with /bin/sh (the host's), writes its exit code to
#   results/exit-code, output to results/output.log, and powers off.
# The host is never written: its root is a read-only lower layer; only "results" is writable.

B=/bin/busybox
R=/run/bulwark-vm
say() { echo "bulwark-vm: $*"; }
die() {
  say "FATAL: $*"
  [ -d $R/results ] && echo "guest init: $*" >>$R/results/init-error 2>/dev/null
  $B sync
  $B poweroff -f
  exit 1
}
mount9p() { # tag dir extra-options
  n=0
  until $B mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144$3 "$1" "$2" 2>/dev/null; do
    n=$((n + 1))
    [ $n -ge 50 ] && { $B mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144$3 "$1" "$2"; return 1; }
    $B usleep 100000
  done
}

if [ "$1" != stage2 ]; then
  export PATH=/bin
  $B mount -t proc proc /proc || die "mount /proc"
  $B mount -t sysfs sysfs /sys || die "mount /sys"
  $B mount -t devtmpfs devtmpfs /dev || die "mount /dev"
  say "stage 1: kernel $($B uname -r), loading modules"
  for m in $($B cat /modules/load-order); do
    $B insmod /modules/$m || die "insmod $m"
  done
  $B mkdir -p /mnt/host /mnt/rw
  mount9p hostroot /mnt/host ",ro,cache=loose" || die "mount 9p hostroot"
  $B mount -t tmpfs -o mode=0755 rw /mnt/rw || die "tmpfs for overlay"
  $B mkdir -p /mnt/rw/upper /mnt/rw/work
  $B mount -t overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot \
    || die "overlay on the host root"
  # A repo under /tmp or /run (a CI checkout, say) would vanish under the fresh tmpfs mounts
  # below: carry the overlay's (writable) view of it across them.
  repo=$($B sed -n 's/.*bulwark\.repo=\([^ ]*\).*/\1/p' /proc/cmdline)
  case "$repo" in
    /tmp/*|/run/*) $B mkdir -p /mnt/repo && $B mount --bind "/newroot$repo" /mnt/repo || die "bind $repo" ;;
    *) repo="" ;;
  esac
  $B mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run || die "tmpfs /run"
  $B mount -t tmpfs -o mode=1777,nosuid,nodev tmp /newroot/tmp || die "tmpfs /tmp"
  if [ -n "$repo" ]; then
    $B mkdir -p "/newroot$repo" && $B mount --move /mnt/repo "/newroot$repo" || die "move $repo"
  fi
  $B mkdir -p /newroot$R/results
  mount9p results /newroot$R/results "" || die "mount 9p results"
  $B cp /init /newroot$R/init && $B cp $B /newroot$R/busybox || die "copy init"
  for d in proc sys dev; do $B mount --move /$d /newroot/$d || die "move /$d"; done
  exec $B switch_root /newroot $R/busybox sh $R/init stage2
  die "switch_root failed"
fi

# ------------------------------------------------------------------ stage 2
B=$R/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
$B mkdir -p /dev/pts /dev/shm /dev/mqueue
$B mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts || die "devpts"
$B mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm || die "/dev/shm"
$B mount -t mqueue mqueue /dev/mqueue 2>/dev/null
$B mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup 2>/dev/null \
  || $B mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "mount cgroup2"
for c in $($B cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || say "cannot enable controller $c"
done
$B hostname bulwark-vm
$B ip link set lo up 2>/dev/null
say "stage 2: cgroup2 controllers: $($B cat /sys/fs/cgroup/cgroup.subtree_control)"

[ -f $R/results/run.sh ] || die "no $R/results/run.sh from the host"
say "running command"
/bin/sh $R/results/run.sh >$R/results/output.log 2>&1 </dev/null
rc=$?
say "command exited $rc"
$B dmesg >$R/results/dmesg.log 2>&1
echo $rc >$R/results/exit-code.tmp && $B mv $R/results/exit-code.tmp $R/results/exit-code
$B sync
$B umount $R/results 2>/dev/null
$B poweroff -f
