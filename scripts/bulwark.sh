#!/bin/sh
# bin/bulwark: the admin CLI (explain, profiles, check, doctor, install).
here=$(dirname "$(readlink -f "$0")")
exec node --enable-source-maps --no-warnings "$here/../dist/src/cli/bulwark.js" "$@"
