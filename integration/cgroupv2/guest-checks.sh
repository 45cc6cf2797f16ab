#!/bin/sh
# cgroup v2 checks, run INSIDE the pure-v2 test VM (integration/vm) by runc-v2.test.ts:
#   sh integration/cgroupv2/guest-checks.sh [result.json]
# Writes one JSON object (default $BULWARK_VM_RESULTS/cgroupv2.json); the host test asserts on it.
#   - the cgroup2 mount: fs type, controllers, no v1 hierarchy mounted
#   - pids: a busybox container (pids.limit 32) spawns background sleeps until fork fails;
#     how many it reached, pids.current/max/events of its cgroup seen from outside
#   - memory: a container with memory.limit = memory.swap = 32 MiB and memory.oom.group=1 touches
#     64 MiB; its exit status and the oom_kill counters
# RUNTIME (default /usr/sbin/runc) is the runc-compatible runtime under test; RUNTIME_ROOT its --root.
# Refuses to run outside the VM: it creates and removes cgroups.
set -u
# Dynamically linked programs start slowly under software emulation (~0.1-0.5 s each), so run
# under the static busybox, whose applets (sed, awk, cat, sleep...) run without exec.
if [ -z "${CGV2_BUSYBOX:-}" ] && [ -x /bin/busybox ]; then
  CGV2_BUSYBOX=1 exec /bin/busybox sh "$0" "$@"
fi

RUNTIME=${RUNTIME:-/usr/sbin/runc}
RUNTIME_ROOT=${RUNTIME_ROOT:-/run/runc-test}
OUT=${1:-${BULWARK_VM_RESULTS:-/tmp}/cgroupv2.json}
HERE=$(cd "$(dirname "$0")" && pwd)
CG=/sys/fs/cgroup
PARENT=/bulwark-cgv2
WAIT_S=${WAIT_S:-180}

# ---------------------------------------------------------------- helpers
jstr() { # JSON string of $1 (control characters dropped)
  printf '%s' "$1" | tr -d '\000-\011\013-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
    | awk 'BEGIN { ORS = "" } NR > 1 { print "\\n" } { print }' | sed -e 's/^/"/' -e 's/$/"/'
  [ -n "$1" ] || printf '""'
}
jnum() { case $1 in ''|*[!0-9-]*) printf null ;; *) printf '%s' "$1" ;; esac; }
readf() { _v=; read -r _v 2>/dev/null <"$1"; echo "$_v"; } # first line of a file
kv() { # value of key $2 in the flat-keyed file $1 (memory.events, pids.events)
  while read -r _k _v; do [ "$_k" = "$2" ] && { echo "$_v"; return; }; done 2>/dev/null <"$1"
}
now_ms() { read -r _u _ </proc/uptime; _c=${_u#*.}; echo $(( ${_u%.*} * 1000 + ${_c#0} * 10 )); }
log() { echo "guest-checks: $*"; }

ERRORS=""
err() { log "ERROR: $*"; ERRORS="$ERRORS$*; "; }

# wait_for FILE PID: until FILE exists, or PID has exited, or WAIT_S passes
wait_for() {
  i=0
  while [ ! -e "$1" ]; do
    kill -0 "$2" 2>/dev/null || return 1
    i=$((i + 1)); [ $i -gt $((WAIT_S * 5)) ] && return 1
    sleep 0.2
  done
}

fsmagic=$(stat -fc %t $CG 2>/dev/null)           # busybox: 63677270 is CGROUP2_SUPER_MAGIC
fstype=$(/usr/bin/stat -fc %T $CG 2>/dev/null)  # coreutils names it: cgroup2fs
[ -n "$fstype" ] || { [ "$fsmagic" = 63677270 ] && fstype=cgroup2fs; }
if [ "$fstype" != cgroup2fs ] || { [ -z "${BULWARK_VM_RESULTS:-}" ] && [ "${CGV2_ALLOW_HOST:-}" != 1 ]; }; then
  echo "guest-checks.sh: refusing to run: $CG is '$fstype' (need cgroup2fs) or not inside the test VM" >&2
  printf '{"fstype": %s, "error": "not run: not a pure cgroup v2 test VM"}\n' "$(jstr "$fstype")" >"$OUT"
  exit 3
fi

WORK=$(mktemp -d /tmp/cgv2.XXXXXX)
mkdir -p "$RUNTIME_ROOT"
t0=$(now_ms)
kernel=$(uname -r)
controllers=$(readf $CG/cgroup.controllers)
subtree=$(readf $CG/cgroup.subtree_control)
cgroup_mount=$(grep -E '^[^ ]+ /sys/fs/cgroup ' /proc/mounts)
v1mounts=$(awk '$3 == "cgroup"' /proc/mounts | wc -l)
runtime_version=$("$RUNTIME" --version 2>&1 | head -n1)
log "kernel $kernel, $CG is $fstype, controllers: $controllers; runtime $RUNTIME: $runtime_version"
parent_events_before=$(kv $CG$PARENT/memory.events oom_kill)
parent_group_before=$(kv $CG$PARENT/memory.events oom_group_kill)

# ---------------------------------------------------------------- pids
cat >"$WORK/pids.sh" <<'EOF'
cat /proc/self/cgroup > /tmp/self-cgroup
cat /sys/fs/cgroup/pids.max > /tmp/inside-pids-max 2>/dev/null
# Spawn background sleeps until fork fails (5 failures in a row), in a subshell so that a fatal
# fork error ends only the subshell. $! changes only when a fork succeeded.
(
  n=0 fails=0 last=
  while [ $fails -lt 5 ] && [ $n -lt 1000 ]; do
    sleep 1000 &
    if [ "$!" != "$last" ]; then n=$((n + 1)); last=$!; fails=0; echo $n > /tmp/spawned; else fails=$((fails + 1)); fi
  done
) 2>/tmp/bomb.err
read n < /tmp/spawned
echo "spawned=$n"
: > /tmp/ready
while [ ! -e /tmp/go ]; do sleep 0.2 2>/dev/null || :; done
echo "container exiting"
EOF
id=pids-$$
b=$WORK/$id
sh "$HERE/make-bundle.sh" --cgroup $PARENT/$id --pids 32 "$b" "$WORK/pids.sh"
log "pids: $RUNTIME run $id (pids.limit 32)"
pt0=$(now_ms)
"$RUNTIME" --root "$RUNTIME_ROOT" run --bundle "$b" "$id" >"$WORK/pids.out" 2>&1 </dev/null &
rpid=$!
pids_cgroup_exists=false pids_current="" pids_max="" pids_events_max="" pids_procs=""
if wait_for "$b/rootfs/tmp/ready" $rpid; then
  cgdir=$CG$PARENT/$id
  [ -d "$cgdir" ] && pids_cgroup_exists=true
  pids_current=$(readf "$cgdir/pids.current")
  pids_max=$(readf "$cgdir/pids.max")
  pids_events_max=$(kv "$cgdir/pids.events" max)
  pids_procs=$(wc -l 2>/dev/null <"$cgdir/cgroup.procs")
  : >"$b/rootfs/tmp/go"
else
  err "pids container never became ready: $(tail -n 5 "$WORK/pids.out" | tr '\n' ' ')"
  "$RUNTIME" --root "$RUNTIME_ROOT" kill "$id" KILL 2>/dev/null
  kill -9 $rpid 2>/dev/null
fi
wait $rpid
pids_exit=$?
pids_ms=$(( $(now_ms) - pt0 ))
pids_spawned=$(cat "$b/rootfs/tmp/spawned" 2>/dev/null)
pids_fork_error=$(head -n 1 "$b/rootfs/tmp/bomb.err" 2>/dev/null)
pids_self_cgroup=$(readf "$b/rootfs/tmp/self-cgroup")
pids_inside_max=$(readf "$b/rootfs/tmp/inside-pids-max")
pids_out=$(cat "$WORK/pids.out")
pids_cgroup_removed=true; [ -d "$CG$PARENT/$id" ] && pids_cgroup_removed=false
log "pids: exit $pids_exit, spawned $pids_spawned sleeps, pids.current $pids_current, pids.max $pids_max, pids.events max $pids_events_max (${pids_ms} ms)"

# ---------------------------------------------------------------- memory
cat >"$WORK/mem.sh" <<'EOF'
: > /tmp/ready
while [ ! -e /tmp/go ]; do sleep 0.2; done
echo "allocating 64 MiB"
dd if=/dev/zero of=/dev/null bs=64M count=1
echo "survived: dd exited $?"
EOF
id=mem-$$
b=$WORK/$id
sh "$HERE/make-bundle.sh" --cgroup $PARENT/$id --memory $((32 * 1024 * 1024)) --pids 32 --oom-group "$b" "$WORK/mem.sh"
log "memory: $RUNTIME run $id (memory.limit = swap = 32 MiB, memory.oom.group 1)"
mt0=$(now_ms)
"$RUNTIME" --root "$RUNTIME_ROOT" run --bundle "$b" "$id" >"$WORK/mem.out" 2>&1 </dev/null &
rpid=$!
mem_max="" mem_swap_max="" mem_oom_group="" mem_events_oom_kill="" mem_events_group_kill="" mem_peak_seen=0
if wait_for "$b/rootfs/tmp/ready" $rpid; then
  cgdir=$CG$PARENT/$id
  mem_max=$(readf "$cgdir/memory.max")
  mem_swap_max=$(readf "$cgdir/memory.swap.max")
  mem_oom_group=$(readf "$cgdir/memory.oom.group")
  : >"$b/rootfs/tmp/go"
  # Watch the container's own memory.events until runc tears the cgroup down.
  while kill -0 $rpid 2>/dev/null; do
    v=$(kv "$cgdir/memory.events" oom_kill); [ -n "$v" ] && mem_events_oom_kill=$v
    v=$(kv "$cgdir/memory.events" oom_group_kill); [ -n "$v" ] && mem_events_group_kill=$v
    c=$(readf "$cgdir/memory.current"); [ -n "$c" ] && [ "$c" -gt "$mem_peak_seen" ] 2>/dev/null && mem_peak_seen=$c
    sleep 0.1
  done
else
  err "memory container never became ready: $(tail -n 5 "$WORK/mem.out" | tr '\n' ' ')"
  "$RUNTIME" --root "$RUNTIME_ROOT" kill "$id" KILL 2>/dev/null
  kill -9 $rpid 2>/dev/null
fi
wait $rpid
mem_exit=$?
mem_ms=$(( $(now_ms) - mt0 ))
mem_out=$(cat "$WORK/mem.out")
parent_events_after=$(kv $CG$PARENT/memory.events oom_kill)
parent_oom_kill_delta=$(( ${parent_events_after:-0} - ${parent_events_before:-0} ))
parent_group_after=$(kv $CG$PARENT/memory.events oom_group_kill)
parent_group_kill_delta=$(( ${parent_group_after:-0} - ${parent_group_before:-0} ))
dmesg_oom=$(dmesg 2>/dev/null | grep -c 'Memory cgroup out of memory')
mem_survived=false; case $mem_out in *survived*) mem_survived=true ;; esac
log "memory: exit $mem_exit, memory.max $mem_max, swap.max $mem_swap_max, oom.group $mem_oom_group, oom_kill +$parent_oom_kill_delta, oom_group_kill +$parent_group_kill_delta (${mem_ms} ms)"

# ---------------------------------------------------------------- clean up and report
"$RUNTIME" --root "$RUNTIME_ROOT" delete --force pids-$$ >/dev/null 2>&1
"$RUNTIME" --root "$RUNTIME_ROOT" delete --force mem-$$ >/dev/null 2>&1
rmdir $CG$PARENT 2>/dev/null
rm -rf "$WORK"

cat >"$OUT.tmp" <<EOF
{
  "kernel": $(jstr "$kernel"),
  "fstype": $(jstr "$fstype"),
  "fsMagic": $(jstr "$fsmagic"),
  "controllers": $(jstr "$controllers"),
  "subtreeControl": $(jstr "$subtree"),
  "v1Mounts": $(jnum "$v1mounts"),
  "cgroupMount": $(jstr "$cgroup_mount"),
  "runtime": $(jstr "$RUNTIME"),
  "runtimeVersion": $(jstr "$runtime_version"),
  "pids": {
    "exit": $(jnum "$pids_exit"),
    "spawned": $(jnum "$pids_spawned"),
    "current": $(jnum "$pids_current"),
    "max": $(jstr "$pids_max"),
    "insideMax": $(jstr "$pids_inside_max"),
    "eventsMax": $(jnum "$pids_events_max"),
    "procs": $(jnum "$pids_procs"),
    "cgroupExisted": $pids_cgroup_exists,
    "cgroupRemoved": $pids_cgroup_removed,
    "selfCgroup": $(jstr "$pids_self_cgroup"),
    "forkError": $(jstr "$pids_fork_error"),
    "output": $(jstr "$pids_out"),
    "ms": $(jnum "$pids_ms")
  },
  "memory": {
    "exit": $(jnum "$mem_exit"),
    "max": $(jstr "$mem_max"),
    "swapMax": $(jstr "$mem_swap_max"),
    "oomGroup": $(jstr "$mem_oom_group"),
    "oomKill": $(jnum "$mem_events_oom_kill"),
    "oomGroupKill": $(jnum "$mem_events_group_kill"),
    "parentOomKillDelta": $(jnum "$parent_oom_kill_delta"),
    "parentOomGroupKillDelta": $(jnum "$parent_group_kill_delta"),
    "peakSeen": $(jnum "$mem_peak_seen"),
    "dmesgOom": $(jnum "$dmesg_oom"),
    "survived": $mem_survived,
    "output": $(jstr "$mem_out"),
    "ms": $(jnum "$mem_ms")
  },
  "errors": $(jstr "$ERRORS"),
  "totalMs": $(jnum "$(( $(now_ms) - t0 ))")
}
EOF
mv "$OUT.tmp" "$OUT"
log "wrote $OUT"
[ -z "$ERRORS" ]
