#!/bin/bash
# Prepare what the pure-cgroup-v2 test VM needs, cached outside the repo:
#   - host packages: qemu-system-x86, cpio, kmod, busybox-static (apt-get install if missing)
#   - Debian's own kernel (linux-image-6.1.0-<N>-amd64), fetched with `apt-get download` and
#     unpacked with `dpkg -x` (never installed), keyed by package version
#   - an initramfs: static busybox as /init's shell, integration/vm/guest-init.sh as /init, and the
#     modules needed to mount the host's root over virtio-9p plus overlayfs
# Idempotent and safe to run concurrently (flock). A cached run does no apt calls at all.
#
# Environment:
#   BULWARK_VM_CACHE        cache directory (default /var/cache/bulwark-vm)
#   BULWARK_VM_KERNEL_PKG   use this kernel package (e.g. linux-image-6.1.0-56-amd64)
#   BULWARK_VM_REFRESH=1    re-resolve the newest kernel package from apt (default: keep the pinned one)
#
# Output: one "prepare: ..." line per step, then machine-readable lines
#   BULWARK_VM_KERNEL=<path to vmlinuz>
#   BULWARK_VM_INITRD=<path to initramfs>
#   BULWARK_VM_KVER=<kernel release>
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${BULWARK_VM_CACHE:-/var/cache/bulwark-vm}
INIT_SRC=$HERE/guest-init.sh
# Modules the guest needs; their dependencies are resolved from modules.dep.
WANT_MODULES="virtio_pci 9pnet_virtio 9p overlay"

step() { echo "prepare: $*"; }
die() { echo "prepare.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, reading the kernel package)"
mkdir -p "$CACHE/kernels" "$CACHE/initramfs"
exec 9>"$CACHE/.lock"
flock 9

# ---------------------------------------------------------------- 1. host packages
missing=""
for p in qemu-system-x86 cpio kmod busybox-static xz-utils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  step "installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  if ! out=$(apt-get install -y -qq --no-install-recommends $missing 2>&1); then
    out=$( { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } 2>&1) \
      || die "cannot install$missing: $out"
  fi
else
  step "host packages present (qemu-system-x86 cpio kmod busybox-static xz-utils)"
fi
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (package busybox-static)"
# A dynamic ELF names its interpreter near the start of the file; `file` may not be installed.
if head -c 4096 "$BUSYBOX" | grep -qa 'ld-linux'; then
  die "$BUSYBOX is not static (install busybox-static, not busybox)"
fi

# ---------------------------------------------------------------- 2. which kernel
apt_lists_ok() { ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; }
resolve_kernel_pkg() {
  local dep newest
  dep=$(apt-cache depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | sort -V | tail -n1)
  newest=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null \
        | awk '{print $1}' | sort -V | tail -n1)
  echo "${dep:-$newest}"
}

PIN=$CACHE/kernel.pin   # "<package> <version>" of the kernel in use
pkg=${BULWARK_VM_KERNEL_PKG:-}
ver=""
if [ -z "$pkg" ] && [ -z "${BULWARK_VM_REFRESH:-}" ] && [ -s "$PIN" ]; then
  read -r pkg ver <"$PIN"
  [ -f "$CACHE/kernels/${pkg}_${ver}/vmlinuz" ] || { pkg=""; ver=""; }
fi
if [ -n "$pkg" ] && [ -z "$ver" ]; then
  # A package name was asked for: reuse any cached version of it.
  d=$(ls -d "$CACHE/kernels/${pkg}_"* 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$d" ] && [ -f "$d/vmlinuz" ] && ver=${d##*/${pkg}_}
fi
if [ -z "$pkg" ] || [ -z "$ver" ]; then
  if [ -z "$pkg" ]; then
    apt_lists_ok || { step "apt lists missing: apt-get update"; apt-get update -qq >/dev/null 2>&1 || true; }
    pkg=$(resolve_kernel_pkg)
    if [ -z "$pkg" ]; then
      step "no linux-image-6.1.0-*-amd64 in apt lists: apt-get update"
      apt-get update -qq >/dev/null 2>&1 || true
      pkg=$(resolve_kernel_pkg)
    fi
    [ -n "$pkg" ] || die "cannot download linux-image-6.1.0-*-amd64: no such package in the apt lists (is a Debian 12 'bookworm' source configured?)"
  fi
  ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || ver=""
fi
step "kernel package $pkg ${ver:-?}"

KDIR=$CACHE/kernels/${pkg}_${ver}
if [ -z "$ver" ] || [ ! -f "$KDIR/vmlinuz" ]; then
  work=$(mktemp -d "$CACHE/.dl.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  chmod 0755 "$work"
  download() { (cd "$work" && apt-get download -o APT::Sandbox::User=root "$pkg${ver:+=$ver}" 2>&1); }
  step "downloading $pkg${ver:+ $ver} (apt-get download)"
  if ! out=$(download); then
    step "download failed; apt-get update and retry"
    apt-get update -qq >/dev/null 2>&1 || true
    ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [ "$ver" = "(none)" ] && ver=""
    out=$(download) || die "cannot download $pkg: $out"
  fi
  deb=$(ls "$work"/*.deb 2>/dev/null | head -n1)
  [ -n "$deb" ] || die "cannot download $pkg: apt-get produced no .deb: $out"
  ver=$(dpkg-deb -f "$deb" Version)
  KDIR=$CACHE/kernels/${pkg}_${ver}
  if [ ! -f "$KDIR/vmlinuz" ]; then
    step "unpacking $(basename "$deb") (dpkg -x, not installed)"
    dpkg -x "$deb" "$work/root"
    kver=$(ls "$work/root/lib/modules" | head -n1)
    [ -n "$kver" ] && [ -f "$work/root/boot/vmlinuz-$kver" ] || die "unexpected layout in $deb"
    step "resolving modules for $WANT_MODULES (depmod -b)"
    depmod -b "$work/root" "$kver"
    mdir=$work/root/lib/modules/$kver
    # Depth-first: dependencies before the module itself, each once.
    order=""
    add_mod() {
      local name=$1 line path deps d
      line=$(grep -E "(^|/)${name}\.ko(\.[a-z]+)?:" "$mdir/modules.dep" | head -n1) \
        || die "module $name not found in $pkg (built in? check config)"
      path=${line%%:*}
      deps=${line#*:}
      for d in $deps; do
        d=${d##*/}; d=${d%%.ko*}
        add_mod "$d"
      done
      case " $order " in *" $path "*) ;; *) order="$order $path" ;; esac
    }
    for m in $WANT_MODULES; do add_mod "$m"; done
    stage=$work/kernel
    mkdir -p "$stage/modules"
    for path in $order; do cp "$mdir/$path" "$stage/modules/"; echo "${path##*/}"; done >"$stage/modules/load-order"
    cp "$work/root/boot/vmlinuz-$kver" "$stage/vmlinuz"
    cp "$work/root/boot/config-$kver" "$stage/config"
    echo "$kver" >"$stage/kver"
    rm -rf "$KDIR"
    mv "$stage" "$KDIR"
    step "cached kernel $kver in $KDIR ($(tr '\n' ' ' <"$KDIR/modules/load-order"))"
  fi
  rm -rf "$work"
  trap - EXIT
else
  step "kernel cached in $KDIR"
fi
echo "$pkg $ver" >"$PIN.tmp" && mv "$PIN.tmp" "$PIN"
KVER=$(cat "$KDIR/kver")

# An uncompressed vmlinux boots through qemu's PVH entry: no firmware real-mode setup and no xz
# decompression under software emulation, which halves the boot time. Fall back to the bzImage.
KERNEL=$KDIR/vmlinuz
if [ -f "$KDIR/vmlinux" ]; then
  KERNEL=$KDIR/vmlinux
elif grep -q '^CONFIG_PVH=y' "$KDIR/config" && [ ! -e "$KDIR/no-vmlinux" ]; then
  step "extracting vmlinux from vmlinuz (for PVH boot)"
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KDIR/vmlinuz" | head -n1 | cut -d: -f1 || true)
  if [ -n "$off" ] && tail -c +$((off + 1)) "$KDIR/vmlinuz" >"$KDIR/vmlinux.xz" \
     && xz -dc --single-stream "$KDIR/vmlinux.xz" >"$KDIR/vmlinux.tmp" 2>/dev/null \
     && [ "$(head -c 4 "$KDIR/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
    rm -f "$KDIR/vmlinux.xz"
    mv "$KDIR/vmlinux.tmp" "$KDIR/vmlinux"
    KERNEL=$KDIR/vmlinux
  else
    rm -f "$KDIR/vmlinux.tmp" "$KDIR/vmlinux.xz"; touch "$KDIR/no-vmlinux"
    step "no xz-compressed ELF inside vmlinuz; booting the bzImage (slower)"
  fi
fi

# ---------------------------------------------------------------- 3. initramfs
[ -f "$INIT_SRC" ] || die "missing $INIT_SRC"
key=$( { echo "$pkg $ver"; cat "$INIT_SRC" "$KDIR/modules/load-order"; sha256sum "$BUSYBOX"; } \
       | sha256sum | cut -c1-16)
INITRD=$CACHE/initramfs/${pkg}_${ver}-$key.cpio.gz
if [ ! -f "$INITRD" ]; then
  step "building initramfs $(basename "$INITRD")"
  ir=$(mktemp -d "$CACHE/.ir.XXXXXX")
  trap 'rm -rf "$ir"' EXIT
  mkdir -p "$ir"/{bin,dev,proc,sys,mnt,newroot,modules}
  cp "$BUSYBOX" "$ir/bin/busybox"
  ln -s busybox "$ir/bin/sh"
  cp "$INIT_SRC" "$ir/init"
  chmod 0755 "$ir/init" "$ir/bin/busybox"
  cp "$KDIR"/modules/* "$ir/modules/"
  # The kernel creates /dev/console itself only if it exists in the archive on some setups.
  mknod -m 600 "$ir/dev/console" c 5 1
  (cd "$ir" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) | gzip -1 >"$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"
  rm -rf "$ir"
  trap - EXIT
  # Keep only the newest few initramfs images.
  ls -t "$CACHE"/initramfs/*.cpio.gz 2>/dev/null | tail -n +6 | xargs -r rm -f
else
  step "initramfs cached $(basename "$INITRD")"
fi

echo "BULWARK_VM_KERNEL=$KERNEL"
echo "BULWARK_VM_INITRD=$INITRD"
echo "BULWARK_VM_KVER=$KVER"
