#!/bin/sh
# Build a minimal OCI bundle: a static-busybox rootfs and a config.json with cgroup v2 limits.
#
#   make-bundle.sh [options] <bundle-dir> <script-file>
#     --cgroup PATH     linux.cgroupsPath (must be absolute; default /bulwark-cgv2/<bundle name>)
#     --pids N          linux.resources.pids.limit (default: none)
#     --memory BYTES    linux.resources.memory.limit and .swap (same value: no swap; default: none)
#     --memory-limit BYTES  linux.resources.memory.limit only (.swap left for the runtime to decide)
#     --oom-group       linux.resources.unified["memory.oom.group"] = "1"
#     --busybox PATH    static busybox to copy (default /bin/busybox)
#
# The container runs `/bin/sh /test.sh` (script-file copied to rootfs/test.sh) as root, with its
# own pid, mount, ipc, uts, network and cgroup namespaces, /proc, /dev, /sys and a read-only
# cgroup2 mount (its own cgroup as root). The caller exchanges files with the container through
# <bundle-dir>/xchg (mode 1777), bind-mounted at /tmp: that works whatever the runtime does to
# the rootfs (Bulwark may swap it for an idmapped view, or keep it read-only where the filesystem
# cannot be idmapped, e.g. tmpfs before Linux 6.3). Used by guest-checks.sh with any
# runc-compatible runtime (RUNTIME=/usr/sbin/runc, crun, bin/bulwark-runtime).
# The bundle is 0711 and the rootfs world-readable: with a user namespace (Bulwark adds one) the
# container's root is an unprivileged host ID that must still reach and read rootfs/ and write
# xchg/. The caller's parent directories need o+x as well.
set -eu

cgroup="" pids="" memory="" memlimit="" oomgroup="" busybox=/bin/busybox
while [ $# -gt 0 ]; do
  case $1 in
    --cgroup) cgroup=$2; shift 2 ;;
    --pids) pids=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --memory-limit) memlimit=$2; shift 2 ;;
    --oom-group) oomgroup=1; shift ;;
    --busybox) busybox=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "make-bundle.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || { echo "usage: make-bundle.sh [--cgroup PATH] [--pids N] [--memory BYTES | --memory-limit BYTES] [--oom-group] <bundle-dir> <script-file>" >&2; exit 2; }
bundle=$1 script=$2
[ -n "$cgroup" ] || cgroup=/bulwark-cgv2/$(basename "$bundle")
case $cgroup in /*) ;; *) echo "make-bundle.sh: --cgroup must be absolute (a relative path nests under the caller's cgroup)" >&2; exit 2 ;; esac
case "$pids$memory$memlimit" in *[!0-9]*) echo "make-bundle.sh: --pids/--memory/--memory-limit take integers" >&2; exit 2 ;; esac
[ -z "$memory" ] || [ -z "$memlimit" ] || { echo "make-bundle.sh: --memory and --memory-limit exclude each other" >&2; exit 2; }

rootfs=$bundle/rootfs
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp" "$rootfs/etc" "$rootfs/root"
chmod 0711 "$bundle"
chmod 0755 "$rootfs" "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/etc" "$rootfs/root"
chmod 1777 "$rootfs/tmp"
mkdir -p "$bundle/xchg"
chmod 1777 "$bundle/xchg"
xchg=$(cd "$bundle/xchg" && pwd)
cp "$busybox" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"
for a in sh ash cat echo ls mkdir rm touch sleep dd head tail wc ps id true false grep sed kill mount; do
  ln -sf busybox "$rootfs/bin/$a"
done
cp "$script" "$rootfs/test.sh"
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
chmod 0644 "$rootfs/test.sh" "$rootfs/etc/passwd" "$rootfs/etc/group"

resources=""
[ -n "$pids" ] && resources="$resources\"pids\": {\"limit\": $pids},"
[ -n "$memory" ] && resources="$resources\"memory\": {\"limit\": $memory, \"swap\": $memory},"
[ -n "$memlimit" ] && resources="$resources\"memory\": {\"limit\": $memlimit},"
[ -n "$oomgroup" ] && resources="$resources\"unified\": {\"memory.oom.group\": \"1\"},"
caps='"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"'

cat >"$bundle/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": ["/bin/sh", "/test.sh"],
    "env": ["PATH=/bin", "HOME=/root"],
    "cwd": "/",
    "capabilities": {
      "bounding": [$caps],
      "effective": [$caps],
      "permitted": [$caps]
    },
    "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": false },
  "hostname": "cgv2-test",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    { "destination": "/tmp", "type": "bind", "source": "$xchg", "options": ["rbind", "rw", "nosuid", "nodev"] }
  ],
  "linux": {
    "cgroupsPath": "$cgroup",
    "resources": {
      ${resources}
      "devices": [{ "allow": false, "access": "rwm" }]
    },
    "namespaces": [
      { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
      { "type": "uts" }, { "type": "mount" }, { "type": "cgroup" }
    ],
    "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
    "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
EOF
