#!/bin/sh
# bin/containerd-shim-bulwark-v2: containerd's shim v2 entry for the `io.containerd.bulwark.v2`
# runtime type. It execs the real runc shim with a PATH whose first `runc` is bulwark-runtime,
# so every runtime call the shim makes (create, exec, update, ...) goes through Bulwark's
# hardening; everything else is the runc shim's own behaviour.
# BULWARK_SHIM overrides the real shim (e.g. Kata's containerd-shim-kata-v2).
here=$(dirname "$(readlink -f "$0")")
shim=${BULWARK_SHIM:-}
if [ -z "$shim" ]; then
  for candidate in /usr/local/bin/containerd-shim-runc-v2 /usr/bin/containerd-shim-runc-v2; do
    if [ -x "$candidate" ]; then shim=$candidate; break; fi
  done
fi
if [ -z "$shim" ]; then
  echo "bulwark: containerd-shim-runc-v2 not found (set BULWARK_SHIM)" >&2
  exit 127
fi
PATH="$here/../libexec/bulwark:$PATH"
export PATH
exec "$shim" "$@"
