// sysctls the runtime writes under /proc/sys before the container starts. Only a few kernel
// settings live in a namespace (IPC, network, UTS); everything else changes the whole host:
// kernel.randomize_va_space=0 turns ASLR off for every process on the node. So a sysctl must
// belong to a namespace the container owns, and then match the profile's allow list.
import type { Pass } from './types.js';
import type { NamespaceType } from '../spec/index.js';
import type { HostFacts } from '../host/types.js';
import { reporter } from './util.js';

type Reporter = ReturnType<typeof reporter>;

/**
 * The dotted name of a key. sysctl(8) (and runc) also accept the /proc/sys path form,
 * "net/ipv4/conf/eth0.100/forwarding", in which dots are part of names: swap the two.
 */
export function dottedName(key: string): string {
  const first = key.search(/[./]/);
  if (first === -1 || key[first] === '.') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** Empty segments, `.` or `..` anywhere: a name that could walk out of the intended file. */
function malformed(name: string): boolean {
  return name.split('.').some((segment) => segment === '' || segment.split('/').some((part) => part === '' || part === '..'));
}

/** The namespace a sysctl lives in (ipc/ipc_sysctl.c, ipc/mq_sysctl.c, kernel/utsname_sysctl.c, net/). */
function namespaceOf(name: string): NamespaceType | undefined {
  if (name.startsWith('kernel.shm') || name.startsWith('kernel.msg')) return 'ipc';
  if (name === 'kernel.sem' || name === 'kernel.sem_next_id' || name.startsWith('fs.mqueue.')) return 'ipc';
  if (name.startsWith('net.')) return 'network';
  // runc refuses kernel.hostname (it conflicts with `hostname`), but neither changes the host.
  if (name === 'kernel.domainname' || name === 'kernel.hostname') return 'uts';
  return undefined;
}

const NAMESPACE_NAME: Record<string, string> = { ipc: 'IPC', network: 'network', uts: 'UTS' };

/** The container has a namespace of this type of its own (new, or joined and not the host's). */
function ownsNamespace(namespaces: ReadonlyArray<{ type: string; path?: string }>, type: NamespaceType, host: HostFacts): boolean {
  const entry = namespaces.find((ns) => ns.type === type);
  if (entry === undefined) return false;
  if (entry.path === undefined || entry.path === '') return true;
  return Object.hasOwn(host.namespacePaths, entry.path) && host.namespacePaths[entry.path] === 'other';
}

/** Allow-list glob: `*` matches any run of characters (dots included), nothing else is special. */
export function matchesSysctlGlob(pattern: string, name: string): boolean {
  const parts = dottedName(pattern).split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`, 's').test(name);
}

/** Why writing this key would change the host, or undefined when it stays in the container. */
function hostProblem(name: string, namespaces: ReadonlyArray<{ type: string; path?: string }>, host: HostFacts): string | undefined {
  if (malformed(name)) return 'is not a well-formed sysctl name';
  const type = namespaceOf(name);
  if (type === undefined) return 'is not namespaced: writing it changes the host kernel for every process';
  if (!ownsNamespace(namespaces, type, host)) {
    return `lives in the ${NAMESPACE_NAME[type]} namespace, which the container shares with the host: writing it changes the host`;
  }
  return undefined;
}

export const sysctlsPass: Pass = (spec, profile, host) => {
  const rule = profile.rules.sysctls;
  const r: Reporter = reporter('sysctls', rule.action);
  const sysctl = spec.linux?.sysctl;
  if (sysctl === undefined) return { spec, findings: [] };
  const namespaces = spec.linux?.namespaces ?? [];
  const kept: Record<string, string> = {};
  let removed = false;
  for (const key of Object.keys(sysctl)) {
    const path = `linux.sysctl[${JSON.stringify(key)}]`;
    const name = dottedName(key);
    const onHost = hostProblem(name, namespaces, host);
    // A host-wide sysctl is never let through: fix drops it, warn and deny both refuse it.
    const problem = onHost ?? (rule.allow.some((glob) => matchesSysctlGlob(glob, name)) ? undefined : 'is not in the profile\'s sysctl allow list');
    if (problem === undefined) {
      Object.defineProperty(kept, key, { value: sysctl[key], enumerable: true, writable: true, configurable: true });
      continue;
    }
    const as = onHost !== undefined && !r.changes ? 'deny' : undefined;
    r.report(path, r.changes ? `${problem}; removed` : problem, as);
    removed = true;
  }
  if (!r.changes || !removed) return { spec, findings: r.findings };
  return { spec: { ...spec, linux: { ...spec.linux, sysctl: kept } }, findings: r.findings };
};
