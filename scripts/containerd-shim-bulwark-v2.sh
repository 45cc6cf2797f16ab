#!/bin/sh
# bin/containerd-shim-bulwark-v2: containerd's shim v2 entry for the `io.containerd.bulwark.v2`
# runtime type, and under per-profile names for `io.containerd.bulwark-<profile>.v2`
# (containerd-shim-bulwark-<profile>-v2, links to this script; docs/CONTAINERD.md).
#
# It execs the real runc shim with a PATH whose first `runc` is Bulwark's, so every runtime call
# that shim makes (create, exec, update, ...) is hardened; everything else is the runc shim's own
# behaviour. The runc shim calls `runc` by that bare name, so the profile cannot travel in argv[0]:
#   containerd-shim-bulwark-v2           -> libexec/bulwark/runc = bin/bulwark-runtime
#                                           (the node's default profile; a symlink, no extra exec)
#   containerd-shim-bulwark-<p>-v2       -> libexec/bulwark/<p>/runc, a one-line `exec
#                                           bin/bulwark-runtime-<p> "$@"` (profile from the name)
# A profile without its libexec entry fails closed.
#
# Kata (`containerd-shim-bulwark-kata-v2`): the real shim is Kata's containerd-shim-kata-v2, which
# never calls runc, so the PATH trick cannot harden anything for it. Hardening the bundle on
# `start` is not implemented yet, so `start` is refused (fail closed) and every other action
# (delete, ...) passes through to Kata's shim.
#
# BULWARK_SHIM overrides the real shim (an absolute path, or a name looked up on PATH).
here=$(dirname "$(readlink -f "$0")")
name=${0##*/}
profile=
case $name in
  containerd-shim-bulwark-v2) ;;
  containerd-shim-bulwark-*-v2)
    profile=${name#containerd-shim-bulwark-}
    profile=${profile%-v2}
    ;;
  *)
    echo "bulwark: shim called as \"$name\"; expected containerd-shim-bulwark[-PROFILE]-v2" >&2
    exit 1
    ;;
esac
case $profile in
  *[!a-z0-9-]* | -*)
    echo "bulwark: \"$profile\" is not a profile name" >&2
    exit 1
    ;;
esac

shim=${BULWARK_SHIM:-}
if [ "$profile" = kata ]; then
  : "${shim:=containerd-shim-kata-v2}"
  action=
  for arg in "$@"; do action=$arg; done
  if [ "$action" = start ]; then
    echo "bulwark: profile kata: hardening the bundle before Kata's shim starts is not implemented; refusing to start an unhardened container" >&2
    exit 1
  fi
else
  if [ -z "$shim" ]; then
    for candidate in /usr/local/bin/containerd-shim-runc-v2 /usr/bin/containerd-shim-runc-v2; do
      if [ -x "$candidate" ]; then shim=$candidate; break; fi
    done
  fi
  if [ -z "$shim" ]; then
    echo "bulwark: containerd-shim-runc-v2 not found (set BULWARK_SHIM)" >&2
    exit 127
  fi
  if [ -z "$profile" ]; then
    runcdir=$here/../libexec/bulwark
  else
    runcdir=$here/../libexec/bulwark/$profile
  fi
  if [ ! -x "$runcdir/runc" ]; then
    echo "bulwark: no runtime for profile \"${profile:-default}\" ($runcdir/runc missing; run make build)" >&2
    exit 1
  fi
  PATH="$runcdir:$PATH"
  export PATH
fi
case $shim in
  */*) ;;
  *)
    resolved=$(command -v "$shim" 2>/dev/null) || {
      echo "bulwark: shim $shim not found on PATH" >&2
      exit 127
    }
    shim=$resolved
    ;;
esac
exec "$shim" "$@"
