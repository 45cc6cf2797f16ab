#!/usr/bin/env bash
# Run node-tap over the given files and finish with one plain summary line
# ("<suite>: N passed, N failed, N skipped") that CI can read whatever the reporter prints.
# usage: scripts/tap.sh SUITE [tap options...] -- FILES...
set -uo pipefail
suite=$1; shift
log=$(mktemp /tmp/bulwark-tap.XXXXXX)
npx tap --disable-coverage --reporter=terse "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
clean=$(sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$log")
pass=$(grep -oE 'Asserts: +[0-9]+ pass' <<<"$clean" | grep -oE '[0-9]+' | tail -1)
fail=$(grep -oE 'Asserts: +[0-9]+ pass +[0-9]+ fail' <<<"$clean" | grep -oE '[0-9]+ fail' | grep -oE '[0-9]+' | tail -1)
skip=$(grep -oE '[0-9]+ skip' <<<"$clean" | grep -oE '[0-9]+' | tail -1)
rm -f "$log"
if [ -z "$pass" ]; then
  echo "$suite: 0 passed, 1 failed (tap printed no summary; exit $status)"
  exit 1
fi
[ "$status" -ne 0 ] && [ "${fail:-0}" -eq 0 ] && fail=1
echo "$suite: $pass passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$status"
