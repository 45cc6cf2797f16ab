// Which `bulwark harden` the proxy runs in these tests.
//
// STAND-IN: `bulwark harden` / `bulwark harden-process` are not on this branch yet. Until they are,
// the proxy is pointed (BULWARK_SHIM_CLI) at a labelled stand-in script that implements only the
// contract the proxy relies on, with a toy policy (no-new-privileges on, CAP_NET_RAW dropped,
// CAP_SYS_ADMIN in the bounding set refused). It proves the proxy's wiring, not Bulwark's policy.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export async function hardenerForTests(dir: string): Promise<{ label: string; env: Record<string, string> }> {
  const script = join(dir, 'bulwark-harden-STAND-IN');
  const filter = '.noNewPrivileges = true | .capabilities |= with_entries(.value |= map(select(. != "CAP_NET_RAW")))';
  writeFileSync(script, [
    '#!/bin/sh',
    '# STAND-IN for `bulwark harden` / `bulwark harden-process` (contract only, toy policy). Not Bulwark.',
    'cmd=$1; shift',
    'bundle=; id=; profile=default',
    'while [ $# -gt 0 ]; do case $1 in --bundle) bundle=$2;; --id) id=$2;; --profile) profile=$2;; *) echo "bulwark: stand-in: unknown argument $1" >&2; exit 2;; esac; shift 2; done',
    `filter='${filter}'`,
    'case $cmd in',
    '  harden)',
    '    if jq -e \'.process.capabilities.bounding | index("CAP_SYS_ADMIN")\' "$bundle/config.json" >/dev/null; then',
    '      echo "bulwark: denied by profile $profile: process.capabilities.bounding adds CAP_SYS_ADMIN (stand-in)" >&2; exit 1',
    '    fi',
    '    jq ".process |= ($filter)" "$bundle/config.json" > "$bundle/config.json.tmp" && mv "$bundle/config.json.tmp" "$bundle/config.json" ;;',
    '  harden-process) jq "$filter" ;;',
    '  *) echo "bulwark: stand-in: unknown command $cmd" >&2; exit 2 ;;',
    'esac',
    '',
  ].join('\n'), { mode: 0o755 });
  return { label: 'STAND-IN hardener: bulwark harden is not on this branch yet; the proxy runs a contract-only script', env: { BULWARK_SHIM_CLI: script } };
}
