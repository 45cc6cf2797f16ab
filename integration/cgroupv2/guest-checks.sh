#!/bin/sh
# cgroup v2 checks, run INSIDE the pure-v2 test VM (integration/vm) by runc-v2.test.ts:
#   sh integration/cgroupv2/guest-checks.sh [result.json]
# Writes one JSON object (default $BULWARK_VM_RESULTS/cgroupv2.json); the host test asserts on it.
# Next to it (same directory) it copies what Bulwark wrote: bulwark-<name>.config.json (the
# hardened config.json of each bundle), bulwark-<name>.orig.json (config.json.orig, the bundle's
# own) and bulwark-audit.jsonl (Bulwark's audit log).
#
# Two sections, each running busybox containers with an absolute linux.cgroupsPath
# (/bulwark-cgv2/<id>) and looking at them from inside (/proc/self, the container's own cgroup
# mount) and from outside (the cgroup's files under /sys/fs/cgroup, the init's /proc/PID/status):
#   "runc"     the bare runtime (RUNTIME, default /usr/sbin/runc): proves the harness.
#              pids: pids.limit 32 and a fork bomb; memory: memory.limit = swap = 32 MiB and
#              memory.oom.group=1 set in the bundle, a 64 MiB allocation.
#   "bulwark"  bin/bulwark-runtime (BULWARK) with a private config (stateDir and auditLog under
#              this run's /tmp directory) and a private --root; the bundles ask for no hardening:
#              defaults: no limits at all (gets the profile's defaults)
#              pids:     pids.limit 32 only, a fork bomb
#              memory:   memory.limit 32 MiB only (no swap field, no oom.group), a 64 MiB allocation
#              next to a sidecar process.
# Every container records the same facts (see container_json); the host test decides.
# Refuses to run outside the VM: it creates and removes cgroups.
set -u
# Dynamically linked programs start slowly under software emulation (~0.1-0.5 s each), so run
# under the static busybox, whose applets (sed, awk, cat, sleep...) run without exec.
if [ -z "${CGV2_BUSYBOX:-}" ] && [ -x /bin/busybox ]; then
  CGV2_BUSYBOX=1 exec /bin/busybox sh "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNTIME=${RUNTIME:-/usr/sbin/runc}
RUNTIME_ROOT=${RUNTIME_ROOT:-/run/runc-test}
BULWARK=${BULWARK:-$REPO/bin/bulwark-runtime}
OUT=${1:-${BULWARK_VM_RESULTS:-/tmp}/cgroupv2.json}
OUTDIR=$(dirname "$OUT")
CG=/sys/fs/cgroup
PARENT=/bulwark-cgv2
WAIT_S=${WAIT_S:-240}
MiB=1048576

# ---------------------------------------------------------------- helpers
jstr() { # JSON string of $1 (control characters dropped)
  printf '%s' "$1" | tr -d '\000-\011\013-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
    | awk 'BEGIN { ORS = "" } NR > 1 { print "\\n" } { print }' | sed -e 's/^/"/' -e 's/$/"/'
  [ -n "$1" ] || printf '""'
}
jnum() { case $1 in ''|-|*[!0-9-]*) printf null ;; *) printf '%s' "$1" ;; esac; }
jbool() { [ "$1" = true ] && printf true || printf false; }
readf() { _v=; read -r _v 2>/dev/null <"$1"; echo "$_v"; } # first line of a file
words() { _a=; _b=; _c=; read -r _a _b _c _ 2>/dev/null <"$1"; echo "$_a $_b $_c" | sed 's/ *$//'; } # first line, spaces squeezed
kv() { # value of key $2 in the flat-keyed file $1 (memory.events, pids.events)
  while read -r _k _v; do [ "$_k" = "$2" ] && { echo "$_v"; return; }; done 2>/dev/null <"$1"
}
field() { # first value of "Key:" in a /proc/PID/status file
  while read -r _k _v _; do [ "$_k" = "$2:" ] && { echo "$_v"; return; }; done 2>/dev/null <"$1"
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
# o+x all the way down: a container root mapped to an unprivileged host ID reaches rootfs/ through it.
chmod 0711 "$WORK"
t0=$(now_ms)
kernel=$(uname -r)
controllers=$(readf $CG/cgroup.controllers)
subtree=$(readf $CG/cgroup.subtree_control)
cgroup_mount=$(grep -E '^[^ ]+ /sys/fs/cgroup ' /proc/mounts)
v1mounts=$(awk '$3 == "cgroup"' /proc/mounts | wc -l)
log "kernel $kernel, $CG is $fstype, controllers: $controllers"

# ---------------------------------------------------------------- container scripts
# Every container first records what it sees of itself, then runs the body of its kind. The
# body touches /tmp/ready when the outside may look, and waits for /tmp/go. The container's /tmp
# is the bundle's xchg/ directory (make-bundle.sh), so this works on a read-only rootfs too.
cat >"$WORK/prelude.sh" <<'EOF'
cat /proc/self/uid_map > /tmp/in.uid_map 2>&1
cat /proc/self/gid_map > /tmp/in.gid_map 2>&1
cat /proc/self/status > /tmp/in.status 2>&1
cat /proc/self/cgroup > /tmp/in.cgroup 2>&1
cat /sys/fs/cgroup/pids.max > /tmp/in.pids.max 2>&1
cat /sys/fs/cgroup/memory.max > /tmp/in.memory.max 2>&1
if touch /.rootfs-write-test 2>/dev/null; then echo writable; else echo read-only; fi > /tmp/in.rootfs
EOF
cat >"$WORK/idle.sh" <<'EOF'
: > /tmp/ready
while [ ! -e /tmp/go ]; do sleep 0.2; done
echo "container exiting"
EOF
cat >"$WORK/pids.sh" <<'EOF'
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
cat >"$WORK/memory.sh" <<'EOF'
# A sidecar next to the allocating process: memory.oom.group must take it (and the shell) too.
sleep 1000 &
: > /tmp/ready
while [ ! -e /tmp/go ]; do sleep 0.2; done
echo "allocating 64 MiB"
dd if=/dev/zero of=/dev/null bs=64M count=1
echo "survived: dd exited $?"
EOF

# run_container SECTION KIND NAME [make-bundle options...]
# Runs "$RT --root $RT_ROOT run" on a fresh bundle and appends the container's JSON object to
# $WORK/SECTION.json. Uses the section's RT, RT_ROOT.
run_container() {
  sec=$1 kind=$2 name=$3; shift 3
  id=$sec-$name-$$
  b=$WORK/$id
  cgpath=$PARENT/$id
  cgdir=$CG$cgpath
  cat "$WORK/prelude.sh" "$WORK/$kind.sh" >"$WORK/$id.sh"
  ready=false existed=false removed=true c_exit="" ready_ms="" ms=""
  mem_max="" swap_max="" oom_group="" pids_max="" pids_current="" pids_events_max="" procs=""
  oom_kill="" group_kill="" peak=0 host_uid="" host_gid="" host_nnp="" host_seccomp=""
  in_uid="" in_gid="" in_nnp="" in_seccomp="" in_capeff="" in_cgroup="" in_pids="" in_mem="" in_rootfs=""
  spawned="" fork_error="" survived=false out="" p_oom_delta="" p_group_delta=""
  if ! sh "$HERE/make-bundle.sh" --cgroup "$cgpath" "$@" "$b" "$WORK/$id.sh" >"$b.mk" 2>&1; then
    err "$sec/$name: make-bundle.sh failed: $(cat "$b.mk")"
    container_json >>"$WORK/$sec.json"
    return
  fi
  p_oom=$(kv $CG$PARENT/memory.events oom_kill); p_group=$(kv $CG$PARENT/memory.events oom_group_kill)
  log "$sec/$name: $RT run $id ($*)"
  ct0=$(now_ms)
  "$RT" --root "$RT_ROOT" run --bundle "$b" "$id" >"$b.out" 2>&1 </dev/null &
  rpid=$!
  if wait_for "$b/xchg/ready" $rpid; then
    ready=true
    ready_ms=$(( $(now_ms) - ct0 ))
    [ -d "$cgdir" ] && existed=true
    mem_max=$(readf "$cgdir/memory.max")
    swap_max=$(readf "$cgdir/memory.swap.max")
    oom_group=$(readf "$cgdir/memory.oom.group")
    pids_max=$(readf "$cgdir/pids.max")
    pids_current=$(readf "$cgdir/pids.current")
    pids_events_max=$(kv "$cgdir/pids.events" max)
    procs=$(wc -l 2>/dev/null <"$cgdir/cgroup.procs" | tr -d " ")
    # The container's init seen from outside: first process of its cgroup.
    ipid=$(readf "$cgdir/cgroup.procs")
    if [ -n "$ipid" ]; then
      host_uid=$(field /proc/$ipid/status Uid); host_gid=$(field /proc/$ipid/status Gid)
      host_nnp=$(field /proc/$ipid/status NoNewPrivs); host_seccomp=$(field /proc/$ipid/status Seccomp)
    fi
    : >"$b/xchg/go"
    # Watch the container's own memory.events until the runtime tears the cgroup down.
    while kill -0 $rpid 2>/dev/null; do
      v=$(kv "$cgdir/memory.events" oom_kill); [ -n "$v" ] && oom_kill=$v
      v=$(kv "$cgdir/memory.events" oom_group_kill); [ -n "$v" ] && group_kill=$v
      v=$(readf "$cgdir/memory.current"); [ -n "$v" ] && [ "$v" -gt "$peak" ] 2>/dev/null && peak=$v
      sleep 0.1
    done
  else
    err "$sec/$name never became ready: $(tail -n 5 "$b.out" | tr '\n' ' ')"
    "$RT" --root "$RT_ROOT" kill "$id" KILL 2>/dev/null
    kill -9 $rpid 2>/dev/null
  fi
  wait $rpid
  c_exit=$?
  ms=$(( $(now_ms) - ct0 ))
  "$RT" --root "$RT_ROOT" delete --force "$id" >/dev/null 2>&1
  [ -d "$cgdir" ] && removed=false
  p_oom2=$(kv $CG$PARENT/memory.events oom_kill); p_group2=$(kv $CG$PARENT/memory.events oom_group_kill)
  p_oom_delta=$(( ${p_oom2:-0} - ${p_oom:-0} )); p_group_delta=$(( ${p_group2:-0} - ${p_group:-0} ))
  tmp=$b/xchg
  in_uid=$(words "$tmp/in.uid_map"); in_gid=$(words "$tmp/in.gid_map")
  in_nnp=$(field "$tmp/in.status" NoNewPrivs); in_seccomp=$(field "$tmp/in.status" Seccomp)
  in_capeff=$(field "$tmp/in.status" CapEff)
  in_cgroup=$(readf "$tmp/in.cgroup"); in_pids=$(readf "$tmp/in.pids.max"); in_mem=$(readf "$tmp/in.memory.max")
  in_rootfs=$(readf "$tmp/in.rootfs")
  spawned=$(readf "$tmp/spawned"); fork_error=$(readf "$tmp/bomb.err")
  out=$(cat "$b.out")
  case $out in *survived*) survived=true ;; esac
  if [ "$sec" = bulwark ]; then
    cp "$b/config.json" "$OUTDIR/bulwark-$name.config.json" 2>/dev/null || err "bulwark/$name: no config.json"
    cp "$b/config.json.orig" "$OUTDIR/bulwark-$name.orig.json" 2>/dev/null || err "bulwark/$name: no config.json.orig"
  fi
  log "$sec/$name: exit $c_exit after ${ms} ms (ready after ${ready_ms:-?} ms); memory.max $mem_max, swap.max $swap_max, oom.group $oom_group, pids.max $pids_max, pids.current $pids_current, pids.events max $pids_events_max; uid_map '$in_uid', NoNewPrivs $in_nnp, Seccomp $in_seccomp, rootfs $in_rootfs; oom_kill $oom_kill, oom_group_kill $group_kill"
  container_json >>"$WORK/$sec.json"
}

container_json() {
  cat <<EOF
    "$name": {
      "id": $(jstr "$id"),
      "cgroupsPath": $(jstr "$cgpath"),
      "exit": $(jnum "$c_exit"),
      "ready": $(jbool $ready),
      "readyMs": $(jnum "$ready_ms"),
      "ms": $(jnum "$ms"),
      "cgroupExisted": $(jbool $existed),
      "cgroupRemoved": $(jbool $removed),
      "memoryMax": $(jstr "$mem_max"),
      "swapMax": $(jstr "$swap_max"),
      "oomGroup": $(jstr "$oom_group"),
      "pidsMax": $(jstr "$pids_max"),
      "pidsCurrent": $(jnum "$pids_current"),
      "pidsEventsMax": $(jnum "$pids_events_max"),
      "procs": $(jnum "$procs"),
      "oomKill": $(jnum "$oom_kill"),
      "oomGroupKill": $(jnum "$group_kill"),
      "parentOomKillDelta": $(jnum "$p_oom_delta"),
      "parentOomGroupKillDelta": $(jnum "$p_group_delta"),
      "peakSeen": $(jnum "$peak"),
      "hostUid": $(jstr "$host_uid"),
      "hostGid": $(jstr "$host_gid"),
      "hostNoNewPrivs": $(jstr "$host_nnp"),
      "hostSeccomp": $(jstr "$host_seccomp"),
      "inside": {
        "uidMap": $(jstr "$in_uid"),
        "gidMap": $(jstr "$in_gid"),
        "noNewPrivs": $(jstr "$in_nnp"),
        "seccomp": $(jstr "$in_seccomp"),
        "capEff": $(jstr "$in_capeff"),
        "cgroup": $(jstr "$in_cgroup"),
        "pidsMax": $(jstr "$in_pids"),
        "memoryMax": $(jstr "$in_mem"),
        "rootfs": $(jstr "$in_rootfs")
      },
      "spawned": $(jnum "$spawned"),
      "forkError": $(jstr "$fork_error"),
      "survived": $(jbool $survived),
      "output": $(jstr "$out")
    },
EOF
}

# Closes a section's container list (the trailing comma of the last object).
section_containers() { printf '{\n'; sed '$ s/},$/}/' "$WORK/$1.json"; printf '  }'; }

# ---------------------------------------------------------------- section 1: bare runtime
RT=$RUNTIME RT_ROOT=$RUNTIME_ROOT
mkdir -p "$RT_ROOT"
: >"$WORK/runc.json"
runc_version=$("$RT" --version 2>&1 | head -n1)
log "runc section: $RT ($runc_version)"
st0=$(now_ms)
run_container runc pids pids --pids 32
run_container runc memory memory --memory $((32 * MiB)) --pids 32 --oom-group
runc_ms=$(( $(now_ms) - st0 ))
rmdir $CG$PARENT 2>/dev/null

# ---------------------------------------------------------------- section 2: through Bulwark
BW=$WORK/bulwark
mkdir -m 0700 "$BW"
cat >"$BW/config.yaml" <<EOF
stateDir: $BW/state
auditLog: $BW/audit.jsonl
EOF
export BULWARK_CONFIG=$BW/config.yaml
RT=$BULWARK RT_ROOT=$BW/runc-root
: >"$WORK/bulwark.json"
# A real host always has child cgroups (init.scope, system.slice...), and Bulwark looks at them to
# learn whether the kernel accounts swap; this guest has none until a container exists. Create the
# parent first, as on a host, and read the kernel's answer from it.
mkdir -p $CG$PARENT
swap_accounting=false; [ -e $CG$PARENT/memory.swap.max ] && swap_accounting=true
bulwark_version=$("$RT" --version 2>&1 | head -n1)
log "bulwark section: $RT ($bulwark_version), BULWARK_CONFIG=$BULWARK_CONFIG, kernel swap accounting: $swap_accounting"
st0=$(now_ms)
run_container bulwark idle defaults
run_container bulwark pids pids --pids 32
run_container bulwark memory memory --memory-limit $((32 * MiB))
bulwark_ms=$(( $(now_ms) - st0 ))
cp "$BW/audit.jsonl" "$OUTDIR/bulwark-audit.jsonl" 2>/dev/null || err "bulwark wrote no audit log at $BW/audit.jsonl"
audit_lines=$(wc -l 2>/dev/null <"$BW/audit.jsonl" | tr -d " ")
unset BULWARK_CONFIG
rmdir $CG$PARENT 2>/dev/null

# ---------------------------------------------------------------- report
cat >"$OUT.tmp" <<EOF
{
  "kernel": $(jstr "$kernel"),
  "fstype": $(jstr "$fstype"),
  "fsMagic": $(jstr "$fsmagic"),
  "controllers": $(jstr "$controllers"),
  "subtreeControl": $(jstr "$subtree"),
  "v1Mounts": $(jnum "$v1mounts"),
  "cgroupMount": $(jstr "$cgroup_mount"),
  "swapAccounting": $(jbool $swap_accounting),
  "runc": {
    "runtime": $(jstr "$RUNTIME"),
    "version": $(jstr "$runc_version"),
    "ms": $(jnum "$runc_ms"),
    "containers": $(section_containers runc)
  },
  "bulwark": {
    "runtime": $(jstr "$BULWARK"),
    "version": $(jstr "$bulwark_version"),
    "config": $(jstr "$BW/config.yaml"),
    "root": $(jstr "$BW/runc-root"),
    "auditLines": $(jnum "$audit_lines"),
    "ms": $(jnum "$bulwark_ms"),
    "containers": $(section_containers bulwark)
  },
  "errors": $(jstr "$ERRORS"),
  "totalMs": $(jnum "$(( $(now_ms) - t0 ))")
}
EOF
mv "$OUT.tmp" "$OUT"
rm -rf "$WORK"
log "wrote $OUT"
[ -z "$ERRORS" ]
