#!/bin/bash
# What one pass-through call through the launcher costs, and where that time goes.
#   bench/launcher/cost.sh [RUNS] [ROUNDS]     (default 3000 runs, 3 rounds; ~1 min; root not needed)
# Every row execs the same target, a no-libc binary that exits at once (floor.c), so the numbers
# are the launcher's own cost and nothing of runc's. The rows run interleaved (A B C A B C ...)
# in one loop (spawn.c), RUNS times per round; each round prints median, p10, p90 and mean in µs.
#   floor                 spawn + exec + exit + wait of the target alone
#   chain (musl|glibc)    one extra execve of a program that only execs the target: the price of
#                         any launcher, plus that libc's static start-up
#   empty (musl|glibc)    a libc's start-up and exit, nothing else
#   launcher: <variant>   bin/bulwark-runtime's source built several ways (the VARIANTS table),
#                         passing `--root R state c1` through via the container's record, with
#                         the state directory from the config file (BULWARK_CONFIG), as installed
#   ..., state dir from env  the same with BULWARK_STATE_DIR set: no config file read
# Then runc --version and runc list directly vs through the launcher before and now (ratios).
# Then, per variant: page faults and CPU time (perf stat) and the system calls made before the
# hand-over (strace), when those tools are installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=${1:-3000}
rounds=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

musl=$(command -v musl-gcc || true)
WARN='-Wall -Wextra -Werror -std=gnu11'
NODE_DEF="-DBULWARK_NODE_PATH=\"$(command -v node || echo /usr/bin/node)\""

# name | compiler (gcc or musl) | flags | extra sources. "glibc ... (before)" is the build up to
# this change; the first launcher row is whatever native/Makefile builds now (built through it,
# so this table cannot drift from it). The last row is a code change, priced: see nomalloc.c.
MIN='-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables -Wl,--gc-sections'
VARIANTS=(
  "glibc -O2 -static (before)|gcc|-O2 -static -s|"
  "glibc -Os, gc-sections, no unwind tables|gcc|$MIN -static -s|"
  "musl -O2 -static|musl|-O2 -static -s|"
  "musl -Os, gc-sections, no unwind tables|musl|$MIN -static -s|"
  "musl -O2, -z noseparate-code|musl|-O2 -static -s -Wl,-z,noseparate-code|"
  "musl, all of the above, -z norelro, no build-id|musl|$MIN -static -s -Wl,-z,noseparate-code -Wl,-z,norelro -Wl,--build-id=none|"
  "musl -O2 -static, malloc replaced (code change)|musl|-O2 -static -s -Wl,--wrap=malloc,--wrap=free|$here/nomalloc.c"
)

cc -O2 -o "$tmp/spawn" "$here/spawn.c"
gcc -O2 -nostdlib -static -s -o "$tmp/floor" "$here/floor.c"
gcc -O2 -static -s -o "$tmp/chain-glibc" "$here/chain.c"
gcc -O2 -static -s -o "$tmp/empty-glibc" "$here/empty.c"
if [ -n "$musl" ]; then
  musl-gcc -O2 -static -s -o "$tmp/chain-musl" "$here/chain.c"
  musl-gcc -O2 -static -s -o "$tmp/empty-musl" "$here/empty.c"
fi

launchers=()
names=()
make -s -C "$repo/native" launcher LAUNCHER="$tmp/launcher-0" >/dev/null
launchers+=("$tmp/launcher-0")
names+=("native/Makefile as it is now")
i=1
for v in "${VARIANTS[@]}"; do
  IFS='|' read -r name compiler flags extra <<<"$v"
  if [ "$compiler" = musl ]; then
    [ -n "$musl" ] || { echo "skipped (no musl-gcc; apt-get install musl-tools): $name" >&2; continue; }
    cc=musl-gcc
  else
    cc=gcc
  fi
  # shellcheck disable=SC2086 # flags and extra are word lists
  $cc $WARN "$NODE_DEF" -o "$tmp/launcher-$i" "$repo/native/launcher.c" $extra $flags
  launchers+=("$tmp/launcher-$i")
  names+=("$name")
  i=$((i + 1))
done

# The container's record and a config file naming the state directory, as the engine leaves them.
root=$tmp/root
# The engine's encoding of --root (src/runtime/records.ts): [A-Za-z0-9.-] kept, any other byte _xx.
key=
for ((j = 0; j < ${#root}; j++)); do
  c=${root:j:1}
  case $c in [A-Za-z0-9.-]) key+=$c ;; *) key+=$(printf '_%02x' "'$c") ;; esac
done
mkdir -p "$tmp/state/containers/$key/c1" "$root"
printf '%s\0' "$tmp/floor" >"$tmp/state/containers/$key/c1/runtime.argv"
printf 'stateDir: %s\nauditLog: %s/audit.jsonl\n' "$tmp/state" "$tmp" >"$tmp/config.yaml"
call=(--root "$root" state c1)
cfg="BULWARK_CONFIG=$tmp/config.yaml"
envdir="BULWARK_STATE_DIR=$tmp/state"

cmd=("$tmp/floor" ::: "$tmp/empty-glibc" ::: "$tmp/chain-glibc" "$tmp/floor")
labels=("floor" "empty (glibc)" "chain (glibc)")
if [ -n "$musl" ]; then
  cmd+=(::: "$tmp/empty-musl" ::: "$tmp/chain-musl" "$tmp/floor")
  labels+=("empty (musl)" "chain (musl)")
fi
for k in "${!launchers[@]}"; do
  cmd+=(::: "$cfg" "${launchers[$k]}" "${call[@]}")
  labels+=("launcher: ${names[$k]}")
done
cmd+=(::: "$envdir" "${launchers[0]}" "${call[@]}")
labels+=("launcher: ${names[0]}, state dir from env (no config read)")
cmd+=(::: "$envdir" "${launchers[1]}" "${call[@]}")
labels+=("launcher: ${names[1]}, state dir from env (no config read)")

echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $runs runs x $rounds rounds, interleaved; µs; Δ = median - floor"
for r in $(seq 1 "$rounds"); do
  echo
  echo "| round $r | median | p10 | p90 | mean | Δ |"
  echo "|---|---:|---:|---:|---:|---:|"
  "$tmp/spawn" "$runs" "${cmd[@]}" >"$tmp/out"
  floor_us=$(awk 'NR==1 { print $1 }' "$tmp/out")
  n=0
  while read -r med p10 p90 mean _; do
    printf '| %s | %s | %s | %s | %s | %s |\n' "${labels[$n]}" "$med" "$p10" "$p90" "$mean" "$((med - floor_us))"
    n=$((n + 1))
  done <"$tmp/out"
done

# The same launchers in front of the real runc: the ratio the issue's target is about, without
# Node's spawn overhead in the samples. `list` and `--version` need no container; the launcher
# finds runc through <state>/default-runtime.argv, as after an install.
runc=$(for p in /usr/local/sbin/runc /usr/local/bin/runc /usr/sbin/runc /usr/bin/runc; do [ -x "$p" ] && echo "$p" && break; done)
if [ -n "$runc" ]; then
  printf '%s\0' "$runc" >"$tmp/state/default-runtime.argv"
  before=${launchers[1]}
  echo
  echo "against $runc ($("$runc" --version | head -1)), $((runs / 5)) runs interleaved:"
  echo
  echo "| call | runc | launcher before → runc | ratio | launcher now → runc | ratio |"
  echo "|---|---:|---:|---:|---:|---:|"
  for r in $(seq 1 "$rounds"); do
    for c in "--version" "--root $root list"; do
      # shellcheck disable=SC2086 # $c is a word list
      "$tmp/spawn" $((runs / 5)) "$runc" $c ::: "$cfg" "$before" $c ::: "$cfg" "${launchers[0]}" $c >"$tmp/out"
      mapfile -t med < <(awk '{ print $1 }' "$tmp/out")
      printf '| %s (round %s) | %s | %s | %s | %s | %s |\n' "${c/$root/R}" "$r" "${med[0]}" "${med[1]}" \
        "$(awk -v a="${med[1]}" -v b="${med[0]}" 'BEGIN { printf "%.3fx", a / b }')" "${med[2]}" \
        "$(awk -v a="${med[2]}" -v b="${med[0]}" 'BEGIN { printf "%.3fx", a / b }')"
    done
  done
fi

echo
echo "| binary | bytes | LOAD segments | page faults | CPU (task-clock) | syscalls before the hand-over |"
echo "|---|---:|---:|---:|---:|---:|"
for k in "${!launchers[@]}"; do
  b=${launchers[$k]}
  faults=n/a clock=n/a sys=n/a
  if command -v perf >/dev/null; then
    p=$(env "$cfg" perf stat -x, -r 200 -e page-faults,task-clock "$b" "${call[@]}" 2>&1 >/dev/null || true)
    faults=$(awk -F, '/page-faults/ { printf "%.0f", $1 }' <<<"$p")
    clock=$(awk -F, '/task-clock/ { printf "%.0f µs", $1 * 1000 }' <<<"$p")
  fi
  if command -v strace >/dev/null; then
    env "$cfg" strace -o "$tmp/trace" "$b" "${call[@]}" >/dev/null 2>&1 || true
    # system calls from the launcher's start to its execve of the target (both excluded)
    sys=$(awk '/^execve\(/ { n++; if (n == 2) exit; next } n == 1 { c++ } END { print c + 0 }' "$tmp/trace")
  fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "${names[$k]}" "$(stat -c %s "$b")" "$(readelf -lW "$b" | grep -c ' LOAD ')" "$faults" "$clock" "$sys"
done
echo
echo "(page faults and CPU time include the target's exec, the same for every row; the floor alone:"
if command -v perf >/dev/null; then
  perf stat -x, -r 200 -e page-faults,task-clock "$tmp/floor" 2>&1 >/dev/null | awk -F, '/page-faults/ { f = $1 } /task-clock/ { t = $1 * 1000 } END { printf " %.0f page faults, %.0f µs CPU)\n", f, t }'
else
  echo " perf not installed)"
fi
