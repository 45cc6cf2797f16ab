#!/bin/bash
# Timings of the native parts (not a test: numbers vary with the machine and its load).
#   native/bench.sh [runs]    default 200 runs per launcher case, 2000 addon calls
# Launcher: runc directly vs bin/bulwark-runtime passing through to it, for --version and a
# `state` of a nonexistent id (private --root), run interleaved by build/bench-spawn so load
# drift on a shared machine hits both alike. Addon: createUserNamespace and idmapMount (root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
runs=${1:-200}
runc=$(for p in /usr/local/sbin/runc /usr/local/bin/runc /usr/sbin/runc /usr/bin/runc; do [ -x "$p" ] && echo "$p" && break; done)
[ -n "$runc" ] || { echo "no runc" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/root" "$tmp/state"
export BULWARK_STATE_DIR="$tmp/state" BULWARK_CONFIG=/nonexistent

make -s -C "$here" build/bench-spawn
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)   runs: $runs (interleaved; spawn+wait, median and mean)"
"$here/build/bench-spawn" "$runs" "$runc" --version ::: "$repo/bin/bulwark-runtime" --version \
  ::: "$runc" --root "$tmp/root" state no-such-id ::: "$repo/bin/bulwark-runtime" --root "$tmp/root" state no-such-id
# The launcher's own cost, isolated: a record pointing at /bin/true vs /bin/true directly.
printf '/bin/true\0' > "$tmp/state/default-runtime.argv"
"$here/build/bench-spawn" "$runs" /bin/true ::: "$repo/bin/bulwark-runtime" state x
rm "$tmp/state/default-runtime.argv"

[ "$(id -u)" = 0 ] || exit 0
mkdir "$tmp/src" "$tmp/dst"
node --input-type=module -e "
import { loadNative } from '$repo/dist/src/native/index.js';
import { execFileSync } from 'node:child_process';
const n = loadNative();
const m = [{ containerID: 0, hostID: 100000, size: 65536 }];
const N = 2000;
for (let i = 0; i < 100; i++) n.closeFd(n.createUserNamespace(m, m));
let t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) n.closeFd(n.createUserNamespace(m, m));
console.log('createUserNamespace: ' + (Number(process.hrtime.bigint() - t0) / 1000 / N).toFixed(1) + ' us mean of ' + N);
const fd = n.createUserNamespace(m, m);
const samples = [];
for (let i = 0; i < 50; i++) {
  t0 = process.hrtime.bigint();
  n.idmapMount('$tmp/src', '$tmp/dst', fd, false);
  samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  execFileSync('umount', ['$tmp/dst']);
}
samples.sort((a, b) => a - b);
console.log('idmapMount: ' + samples[25].toFixed(1) + ' us median of 50 (open_tree + mount_setattr + move_mount)');
n.closeFd(fd);
"
