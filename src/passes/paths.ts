// Masked and read-only paths: procfs and sysfs files that show or change host-wide state
// (/proc/kcore is host memory, /proc/sysrq-trigger reboots the node, /sys/firmware holds ACPI
// tables and EFI variables). runc masks each masked path with /dev/null or an empty tmpfs and
// remounts each read-only path read-only. The profile's lists are minimums: a config may add more.
import type { Pass } from './types.js';
import type { Linux } from '../spec/index.js';
import { reporter } from './util.js';
import { normalisePath } from './mounts.js';

type Reporter = ReturnType<typeof reporter>;
type ListField = 'maskedPaths' | 'readonlyPaths';

/** A list where every entry is absolute and every required path is present; undefined if unchanged. */
function hardenList(field: ListField, current: string[], required: string[], r: Reporter): string[] | undefined {
  const path = `linux.${field}`;
  let list = current;
  const relative = current.filter((p) => !p.startsWith('/'));
  if (relative.length > 0) {
    // The spec requires absolute paths; runc happens to resolve these from / after pivot_root,
    // another runtime may not, and then the path would go unmasked.
    const what = `has relative entries ${relative.map((p) => JSON.stringify(p)).join(', ')}`;
    r.report(path, r.changes ? `${what}; made absolute` : what);
    list = current.map((p) => (p.startsWith('/') ? p : normalisePath(`/${p}`)));
  }
  const present = new Set(list.map(normalisePath));
  const missing = required.filter((p) => !present.has(normalisePath(p)));
  if (missing.length > 0) {
    const what = `lacks ${missing.join(', ')}`;
    r.report(path, r.changes ? `${what}; added` : what);
    list = [...list, ...missing];
  }
  return list === current ? undefined : list;
}

export const pathsPass: Pass = (spec, profile) => {
  const rule = profile.rules.paths;
  const r = reporter('paths', rule.action);
  const linux: Linux = spec.linux ?? {};
  const masked = hardenList('maskedPaths', linux.maskedPaths ?? [], rule.masked, r);
  const readonly = hardenList('readonlyPaths', linux.readonlyPaths ?? [], rule.readonly, r);
  if (!r.changes || (masked === undefined && readonly === undefined)) return { spec, findings: r.findings };
  const next: Linux = { ...linux };
  if (masked !== undefined) next.maskedPaths = masked;
  if (readonly !== undefined) next.readonlyPaths = readonly;
  return { spec: { ...spec, linux: next }, findings: r.findings };
};
