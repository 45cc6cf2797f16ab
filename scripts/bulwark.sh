#!/bin/sh
# bin/bulwark: the admin CLI (explain, profiles, check, doctor, gc, install, serve, harden).
here=$(dirname "$(readlink -f "$0")")
if [ "$1" = serve ]; then
  # Long-lived: no source maps, a small young generation (emptied after each create, hence
  # --expose-gc), one V8 worker thread and two malloc arenas (resident size under 64 MiB).
  # Keep in step with deploy/systemd/bulwark.service.
  MALLOC_ARENA_MAX=2 exec node --max-semi-space-size=1 --v8-pool-size=1 --expose-gc --no-warnings "$here/../dist/src/cli/bulwark.js" "$@"
fi
exec node --enable-source-maps --no-warnings "$here/../dist/src/cli/bulwark.js" "$@"
