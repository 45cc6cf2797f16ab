#!/bin/sh
# bin/containerd-shim-bulwark-v2: containerd's shim v2 entry for the `io.containerd.bulwark.v2`
# runtime type, and under per-profile names for `io.containerd.bulwark-<profile>.v2`
# (containerd-shim-bulwark-<profile>-v2, links to this script; docs/CONTAINERD.md).
#
# Two modes (BULWARK_SHIM_MODE; default: exec, and proxy for Kata):
#   exec   exec the real runc shim with a PATH whose first `runc` is Bulwark's, so every runtime
#          call that shim makes (create, exec, update, ...) is hardened. Covers runc under every
#          containerd: the runc shim calls `runc` whoever asked it over ttrpc.
#   proxy  `start` runs the real shim's start, then puts a resident ttrpc proxy in front of it
#          (dist/src/shim/main.js): the bundle is hardened on Task.Create, the process on
#          Task.Exec, before the real shim sees them. Needed for shims with no runc underneath
#          (Kata), and for containerd 2.x's ttrpc-only path to any shim. `delete` also stops a
#          proxy whose shim is gone. For the runc shim the PATH trick stays on as well.
# The runc shim calls `runc` by that bare name, so the profile cannot travel in argv[0]:
#   containerd-shim-bulwark-v2           -> libexec/bulwark/runc = bin/bulwark-runtime
#                                           (the node's default profile; a symlink, no extra exec)
#   containerd-shim-bulwark-<p>-v2       -> libexec/bulwark/<p>/runc, a link to the launcher,
#                                           which takes <p> from that path (AT_EXECFN)
# A profile without its libexec entry fails closed.
#
# Kata (`containerd-shim-bulwark-kata-v2`): the real shim is Kata's containerd-shim-kata-v2, which
# never calls runc, so only the proxy can harden for it; in exec mode `start` is refused (fail
# closed) and every other action (delete, ...) passes through to Kata's shim.
#
# BULWARK_SHIM overrides the real shim (an absolute path, or a name looked up on PATH);
# BULWARK_NODE the node binary (default: node on PATH).
# Every containerd `shim start` runs this script: no command substitution (a fork each) where the
# shell can do without one. containerd execs it by an absolute path; only a link needs resolving.
case $0 in
  /*) if [ -L "$0" ]; then self=$(readlink -f "$0"); else self=$0; fi ;;
  *) self=$(readlink -f "$0") ;;
esac
here=${self%/*}
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

action=
for arg in "$@"; do action=$arg; done
mode=${BULWARK_SHIM_MODE:-}
if [ -z "$mode" ]; then
  if [ "$profile" = kata ]; then mode=proxy; else mode=exec; fi
fi
case $mode in
  exec | proxy) ;;
  *)
    echo "bulwark: BULWARK_SHIM_MODE must be exec or proxy, not \"$mode\"" >&2
    exit 1
    ;;
esac

shim=${BULWARK_SHIM:-}
if [ "$profile" = kata ]; then
  : "${shim:=containerd-shim-kata-v2}"
  if [ "$action" = start ] && [ "$mode" = exec ]; then
    echo "bulwark: profile kata: Kata's shim never calls runc, so exec mode cannot harden it; refusing to start an unhardened container (use BULWARK_SHIM_MODE=proxy)" >&2
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
if [ "$mode" = proxy ] && { [ "$action" = start ] || [ "$action" = delete ]; }; then
  BULWARK_SHIM_REAL=$shim BULWARK_SHIM_PROFILE=$profile
  export BULWARK_SHIM_REAL BULWARK_SHIM_PROFILE
  exec "${BULWARK_NODE:-node}" --no-warnings "$here/../dist/src/shim/main.js" "$@"
fi
exec "$shim" "$@"
