// Host namespaces: every namespace type the profile requires must be the container's own (or a
// pod sandbox's), never the host's. The user namespace belongs to the next pass.
//
// A config shares a host namespace in two ways: by leaving the entry out (the container inherits
// the runtime's, which is the host's) or by naming a host namespace's path. Both mean the same
// thing, so both get the same treatment: with `fix` the entry becomes a fresh namespace of that
// type and a `fix` finding says so. That does change what a host-network or host-PID pod gets;
// a profile that allows such pods leaves the type out of `required` (or uses `deny`/`warn`).
import type { Pass } from './types.js';
import type { NamespaceReference, NamespaceType } from '../spec/index.js';
import type { HostFacts } from '../host/types.js';
import type { NamespacesRule } from '../profile/types.js';
import { reporter } from './util.js';

const PATH = 'linux.namespaces';

export const NAMESPACE_LABELS: Readonly<Record<NamespaceType, string>> = {
  pid: 'PID', network: 'network', ipc: 'IPC', uts: 'UTS', mount: 'mount', cgroup: 'cgroup', user: 'user',
};

type Reporter = ReturnType<typeof reporter>;

/**
 * Does the profile let a container share the host's namespace of this type? Yes when the type
 * is not required, or when the rule only reports (`warn`) or is `off`. Under `fix` a required
 * type never reaches the runtime as the host's; under `deny` it is refused.
 */
export function hostNamespaceAllowed(rule: NamespacesRule, type: NamespaceType): boolean {
  if (rule.action === 'off' || rule.action === 'warn') return true;
  return !(rule.required as readonly NamespaceType[]).includes(type);
}

/** runc joins a namespace only for a non-empty path; an empty one means "a new namespace". */
function joinedPath(entry: NamespaceReference): string | undefined {
  return entry.path ? entry.path : undefined;
}

function reportDuplicates(entries: NamespaceReference[], r: Reporter): Set<NamespaceType> {
  const counts = new Map<NamespaceType, number>();
  for (const { type } of entries) counts.set(type, (counts.get(type) ?? 0) + 1);
  const duplicated = new Set<NamespaceType>();
  for (const [type, count] of counts) {
    if (count < 2 || type === 'user') continue;
    // Which entry would the runtime honour? Refuse rather than guess.
    r.report(PATH, `lists the ${NAMESPACE_LABELS[type]} namespace ${count} times`, 'deny');
    duplicated.add(type);
  }
  return duplicated;
}

/** Judges one joined path; true when the entry must be replaced by a fresh namespace. */
function judgeJoin(type: NamespaceType, path: string, host: HostFacts, r: Reporter): boolean {
  const seen = Object.hasOwn(host.namespacePaths, path) ? host.namespacePaths[path] : undefined;
  if (seen === 'other') return false;
  if (seen === 'host') {
    const what = `joins the host's ${NAMESPACE_LABELS[type]} namespace (${path})`;
    r.report(PATH, r.changes ? `${what}; gave the container its own instead` : what);
    return r.changes;
  }
  // Fail closed: a path nobody probed, or one that is gone, could be anything by the time runc
  // opens it.
  const why = seen === 'missing' ? 'it does not exist or cannot be read' : 'it was not probed';
  r.report(PATH, `cannot verify ${NAMESPACE_LABELS[type]} namespace path ${path}: ${why}`, 'deny');
  return false;
}

export const namespacesPass: Pass = (spec, profile, host) => {
  const rule = profile.rules.namespaces;
  const r = reporter('namespaces', rule.action);
  const entries = spec.linux?.namespaces ?? [];
  const duplicated = reportDuplicates(entries, r);

  let next = entries;
  for (const type of rule.required) {
    if (duplicated.has(type)) continue;
    const index = next.findIndex((e) => e.type === type);
    if (index < 0) {
      const what = `shares the host's ${NAMESPACE_LABELS[type]} namespace`;
      r.report(PATH, r.changes ? `${what}; gave the container its own` : what);
      if (r.changes) next = [...next, { type }];
      continue;
    }
    const path = joinedPath(next[index]);
    if (path !== undefined && judgeJoin(type, path, host, r)) {
      next = next.map((e, i) => (i === index ? { type } : e));
    }
  }
  if (next === entries) return { spec, findings: r.findings };
  return { spec: { ...spec, linux: { ...spec.linux, namespaces: next } }, findings: r.findings };
};
