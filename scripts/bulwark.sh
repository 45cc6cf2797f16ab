#!/bin/sh
# bin/bulwark: the admin CLI (explain, profiles, check, doctor, gc, install, serve, harden).
here=$(dirname "$(readlink -f "$0")")
if [ "$1" = serve ]; then
  # Long-lived: no source maps (memory), a small young generation (resident size under 64 MiB).
  exec node --max-semi-space-size=1 --no-warnings "$here/../dist/src/cli/bulwark.js" "$@"
fi
exec node --enable-source-maps --no-warnings "$here/../dist/src/cli/bulwark.js" "$@"
