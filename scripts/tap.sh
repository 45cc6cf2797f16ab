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
asserts=$(grep -E '^Asserts:' <<<"$clean" | tail -1)
pass=$(grep -oE '[0-9]+ pass' <<<"$asserts" | grep -oE '[0-9]+')
fail=$(grep -oE '[0-9]+ fail' <<<"$asserts" | grep -oE '[0-9]+')
skip=$(grep -oE '[0-9]+ skip' <<<"$asserts" | grep -oE '[0-9]+')
rm -f "$log"
if [ -z "$pass" ]; then
  echo "$suite: 0 passed, 1 failed (tap printed no summary; exit $status)"
  exit 1
fi
[ "$status" -ne 0 ] && [ "${fail:-0}" -eq 0 ] && fail=1
echo "$suite: $pass passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$status"
