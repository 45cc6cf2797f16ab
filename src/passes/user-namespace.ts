// User namespace: root in the container must not be root on the host. Every container gets a
// user namespace whose IDs map onto the block allocated to its pod; containers of a pod join the
// pod sandbox's namespace (same mappings), so they can share its other namespaces.
//
// A host namespace the profile allows is given to a user-namespaced container by leaving its
// entry out (inherited from the runtime), never by path: see inheritHostNamespaces.
//
// The root filesystem is not touched here: making image files look owned by the mapped IDs
// (idmapped mounts, the rule's `rootfs` option) happens in the shell, which has the files.
import type { Pass } from './types.js';
import type { IDMapping, Mount, NamespaceReference, NamespaceType, Spec } from '../spec/index.js';
import type { HostFacts, IdRange } from '../host/types.js';
import type { NamespacesRule, UserNamespaceRule } from '../profile/types.js';
import { hostNamespaceAllowed, NAMESPACE_LABELS } from './namespaces.js';
import { reporter } from './util.js';
import { posix } from 'node:path';

const NS_PATH = 'linux.namespaces';
/** uid_t and gid_t are 32 bits wide... */
const ID_LIMIT = 2 ** 32;
/** ...and (uid_t)-1 is never a valid ID: the kernel refuses a range starting there. */
const INVALID_ID = ID_LIMIT - 1;

type Kind = 'uid' | 'gid';
const KINDS: readonly Kind[] = ['uid', 'gid'];
const KEYS = { uid: 'uidMappings', gid: 'gidMappings' } as const;
type Reporter = ReturnType<typeof reporter>;

function ids(kind: Kind, first: number, size: number): string {
  return size === 1 ? `${kind} ${first}` : `${kind}s ${first}-${first + size - 1}`;
}

function describe(kind: Kind, maps: IDMapping[]): string {
  return maps.map((m) => `container ${ids(kind, m.containerID, m.size)} to host ${ids(kind, m.hostID, m.size)}`).join(', ');
}

function overlaps(a: IdRange, b: IdRange): boolean {
  return a.hostID < b.hostID + b.size && b.hostID < a.hostID + a.size;
}

function sameMappings(a: IDMapping[], b: IDMapping[]): boolean {
  return a.length === b.length && a.every((m, i) => m.containerID === b[i].containerID && m.hostID === b[i].hostID && m.size === b[i].size);
}

/** Mappings the kernel would refuse to write into uid_map/gid_map (kernel/user_namespace.c). */
function invalidMappings(kind: Kind, maps: IDMapping[]): string[] {
  const problems: string[] = [];
  for (const m of maps) {
    if (m.size < 1) problems.push(`has an empty range (container ${kind} ${m.containerID}, host ${kind} ${m.hostID}, size 0)`);
    else if (m.hostID + m.size > ID_LIMIT) problems.push(`has a range from host ${kind} ${m.hostID} of size ${m.size}, past the last ${kind} (overflow)`);
    else if (m.containerID + m.size > ID_LIMIT) problems.push(`has a range from container ${kind} ${m.containerID} of size ${m.size}, past the last ${kind} (overflow)`);
    else if (m.hostID === INVALID_ID || m.containerID === INVALID_ID) problems.push(`has a range starting at ${kind} ${INVALID_ID}, which is not a valid ID`);
  }
  if (problems.length > 0) return problems;
  const hostSides = maps.map((m) => ({ hostID: m.hostID, size: m.size }));
  const containerSides = maps.map((m) => ({ hostID: m.containerID, size: m.size }));
  const clash = (ranges: IdRange[]) => ranges.some((a, i) => ranges.some((b, j) => j > i && overlaps(a, b)));
  if (clash(hostSides) || clash(containerSides)) problems.push('has ranges that overlap each other, which the kernel refuses');
  return problems;
}

/** Valid mappings a config brings that would still break isolation. */
function unsafeMappings(kind: Kind, maps: IDMapping[], host: HostFacts, rule: UserNamespaceRule): string[] {
  const problems: string[] = [];
  for (const m of maps) {
    const range = { hostID: m.hostID, size: m.size };
    if (m.hostID <= 0 && 0 < m.hostID + m.size) problems.push(`maps host ${kind} 0 (root)`);
    for (const other of host.otherAllocations) {
      if (overlaps(range, other)) problems.push(`maps host ${ids(kind, m.hostID, m.size)}, overlapping ${ids(kind, other.hostID, other.size)} allocated to another pod`);
    }
    if (rule.allowMappingsOutsidePool) continue;
    const pool = host.idPool;
    if (!pool) problems.push(`maps host ${ids(kind, m.hostID, m.size)}, and no ID pool is configured to check them against`);
    else if (m.hostID < pool.hostID || m.hostID + m.size > pool.hostID + pool.size) {
      problems.push(`maps host ${ids(kind, m.hostID, m.size)}, outside the ID pool (${ids(kind, pool.hostID, pool.size)})`);
    }
  }
  return problems;
}

/** The mapping a container gets from its pod's ID block: container IDs from 0 onto the block. */
export function blockMappings(block: IdRange): IDMapping[] {
  return [{ containerID: 0, hostID: block.hostID, size: block.size }];
}

function allocatedMappings(kind: Kind, host: HostFacts): IDMapping[] | undefined {
  const block = host.idAllocation?.[kind];
  return block ? blockMappings(block) : undefined;
}

/** Reports what is wrong with one of the config's mapping lists; returns the list to write, if any. */
function settleMappings(kind: Kind, spec: Spec, hasEntry: boolean, rule: UserNamespaceRule, host: HostFacts, r: Reporter): IDMapping[] | undefined {
  const path = `linux.${KEYS[kind]}`;
  const unrepairable = rule.action === 'warn' ? 'warn' : 'deny';
  const allocated = allocatedMappings(kind, host);
  const existing = spec.linux?.[KEYS[kind]] ?? [];

  if (existing.length === 0) {
    // Without a user namespace entry the finding about the entry already says it all.
    if (!hasEntry && !r.changes) return undefined;
    if (!allocated) return undefined; // fix mode checked this before; see userNamespacePass
    r.report(path, r.changes ? `not set; mapped ${describe(kind, allocated)} (the pod's range)` : `not set, so the user namespace has no ${kind}s`);
    return r.changes ? allocated : undefined;
  }
  const invalid = invalidMappings(kind, existing);
  if (invalid.length > 0) {
    for (const problem of invalid) r.report(path, problem, 'deny');
    return undefined;
  }
  if (allocated && sameMappings(existing, allocated)) return undefined;

  // A joined namespace already has its mappings, so the config must state exactly those.
  if (host.podUserNamespace || rule.existingMappings === 'replace') {
    if (!allocated) {
      r.report(path, `maps ${describe(kind, existing)}, which cannot be checked: no ID range is allocated to this container's pod`, unrepairable);
      return undefined;
    }
    const what = `maps ${describe(kind, existing)}, not the pod's range`;
    r.report(path, r.changes ? `${what}; replaced with host ${ids(kind, allocated[0].hostID, allocated[0].size)}` : what);
    return r.changes ? allocated : undefined;
  }
  for (const problem of unsafeMappings(kind, existing, host, rule)) r.report(path, problem, unrepairable);
  return undefined;
}

/** Reports a missing or wrong user namespace entry; true when it must be added or replaced. */
function judgeEntry(current: NamespaceReference | undefined, wanted: NamespaceReference, host: HostFacts, r: Reporter): boolean {
  const instead = wanted.path ? "; joined the pod's instead" : '; gave the container its own instead';
  if (!current) {
    const what = 'has no user namespace, so root in the container is root on the host';
    r.report(NS_PATH, r.changes ? `${what}; added one` : what);
    return true;
  }
  const path = current.path ? current.path : undefined;
  if (path === wanted.path) return false;
  if (path === undefined) {
    const what = `creates a user namespace of its own instead of joining its pod's (${wanted.path})`;
    r.report(NS_PATH, r.changes ? `${what}${instead}` : what);
    return true;
  }
  const seen = Object.hasOwn(host.namespacePaths, path) ? host.namespacePaths[path] : undefined;
  let what: string;
  if (seen === 'host') what = `joins the host's user namespace (${path}), so root in the container is root on the host`;
  else if (seen === 'other') what = wanted.path ? `joins user namespace ${path}, not its pod's (${wanted.path})` : `joins user namespace ${path}, which was not allocated to it`;
  else what = `cannot verify user namespace path ${path}: ${seen === 'missing' ? 'it does not exist' : 'it was not probed'}`;
  // Fail closed when only reporting: an unverifiable join is refused, not merely noted.
  const verified = seen === 'host' || seen === 'other';
  r.report(NS_PATH, r.changes ? `${what}${instead}` : what, verified || r.changes ? undefined : 'deny');
  return true;
}

/**
 * Types a container can share with the host by having no entry: the runtime's own namespace is
 * then the container's. Not `mount`: the runtime sets the root filesystem up in a mount
 * namespace of the container's own.
 */
const INHERITABLE: ReadonlySet<NamespaceType> = new Set(['network', 'uts', 'ipc', 'pid', 'cgroup']);

/**
 * A host namespace named by path cannot be joined from a user namespace. runc joins the user
 * namespace first (a pod's, by path) and the others after it; setns(2) needs CAP_SYS_ADMIN in
 * the user namespace that owns the target, and the host's namespaces belong to the host's, so
 * runc fails with EPERM ("failed to setns into uts namespace"). containerd's CRI names the
 * sandbox's namespaces by /proc/<pid>/ns path for every app container, and in a host-network
 * pod those are the host's. Without the entry the container inherits the runtime's namespace,
 * which is the host's: it ends up where the path pointed, and where its sandbox is (a sandbox
 * gets host namespaces by having no entry). Only for host namespaces the profile allows: the
 * others the namespaces pass has already replaced (fix) or refused (deny).
 */
function inheritHostNamespaces(namespaces: NamespaceReference[], rule: NamespacesRule, host: HostFacts, r: Reporter): NamespaceReference[] | undefined {
  if (!namespaces.some((e) => e.type === 'user')) return undefined;
  const inherited = (e: NamespaceReference): boolean =>
    Boolean(e.path) && INHERITABLE.has(e.type) && hostNamespaceAllowed(rule, e.type) &&
    Object.hasOwn(host.namespacePaths, e.path!) && host.namespacePaths[e.path!] === 'host';
  const dropped = namespaces.filter(inherited);
  if (dropped.length === 0) return undefined;
  for (const e of dropped) {
    const label = NAMESPACE_LABELS[e.type];
    r.report(
      NS_PATH,
      `joins the host's ${label} namespace by path (${e.path}), which fails (EPERM) from a user namespace; left the entry out, so the container inherits the host's ${label} namespace from the runtime`,
    );
  }
  return namespaces.filter((e) => !inherited(e));
}

/**
 * How a low-level runtime orders its setns(2) calls when a container joins a user namespace by
 * path and other namespaces by path too. `user-first`: the user namespace, then the others with
 * only the capabilities it gives, so a namespace the host's user namespace owns fails (EPERM).
 * `others-first`: every namespace it can as host root, then the user namespace, then the rest.
 */
export type JoinOrder = 'user-first' | 'others-first' | 'unknown';

/**
 * What is known of a runtime's join order, by name and (where it changed) version. crun joins
 * the others first since 0.14 (2020: "linux: join namespaces before userns"). runc joined the
 * user namespace first until 1.2.x and tries the others first since 1.3.0 ("nsenter: implement
 * a two-stage join for setns"); its version must be known to tell.
 */
export function runtimeJoinOrder(name: string | undefined, version?: string): JoinOrder {
  if (name === 'crun') return 'others-first';
  if (name !== 'runc' || !version) return 'unknown';
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return 'unknown';
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 1 || (major === 1 && minor >= 3) ? 'others-first' : 'user-first';
}

/** The annotation that picks a container's runtime (src/runtime/select-runtime.ts); the pass only reads it. */
const RUNTIME_ANNOTATION = 'io.bulwark.runtime';
const SANDBOX_TYPES: ReadonlyArray<readonly [string, string]> = [
  ['io.kubernetes.cri.container-type', 'sandbox'],
  ['io.kubernetes.cri-o.ContainerType', 'sandbox'],
];

/** Does this sandbox join an existing network namespace (so its runtime's join order matters)? */
export function joinsPodNetwork(spec: Spec): boolean {
  return isCriSandbox(spec.annotations) && Boolean(spec.linux?.namespaces?.some((e) => e.type === 'network' && e.path));
}

function isCriSandbox(annotations: Record<string, string> | undefined): boolean {
  return SANDBOX_TYPES.some(([key, value]) => annotations?.[key] === value);
}

/**
 * A CNI pod: the CRI (containerd 1.6, and 1.7+/2.x for pods without their own user namespace)
 * creates the pod's network namespace before the sandbox, owned by the host's user namespace,
 * and names it by path. The sandbox joins it before it creates the pod's user namespace (fine),
 * so the pod's user namespace can never own it. Every app container then joins the pod's user
 * namespace and this network namespace by path: on a `user-first` runtime that setns fails with
 * EPERM, after the sandbox already runs. This is known from the config alone (no ownership
 * probe): a namespace that existed before a user namespace cannot belong to it. Returns what to
 * say at the sandbox: a refusal when the runtime is known to fail, a warning when unknown.
 */
export function podNetworkProblem(spec: Spec, namespaces: NamespaceReference[], host: HostFacts, order: JoinOrder): { refuse: boolean; message: string } | null {
  if (order === 'others-first' || !isCriSandbox(spec.annotations)) return null;
  const user = namespaces.find((e) => e.type === 'user');
  const network = namespaces.find((e) => e.type === 'network');
  if (!user || user.path || !network?.path) return null;
  if (!Object.hasOwn(host.namespacePaths, network.path) || host.namespacePaths[network.path] !== 'other') return null;
  const what = `joins network namespace ${network.path}, which existed before the pod's user namespace and is not owned by it (a CNI network namespace)`;
  const cure = `run the pod on crun (annotation ${RUNTIME_ANNOTATION}=crun) or runc 1.3+, which join it before the user namespace`;
  if (order === 'user-first') {
    return { refuse: true, message: `${what}: the pod's containers join the user namespace first on this runtime and then cannot join it (setns EPERM); ${cure}` };
  }
  return { refuse: false, message: `${what}: the pod's containers can join it only on a runtime that joins it before the user namespace; on runc before 1.3 they fail (setns EPERM): ${cure}` };
}

function isSysfsAtSys(m: Mount): boolean {
  return m.type === 'sysfs' && posix.normalize(m.destination).replace(/(.)\/+$/, '$1') === '/sys';
}

/**
 * sysfs can only be mounted by a user namespace that owns the container's network namespace;
 * with the host's netns (no entry) or a joined one, mount(2) fails with EPERM. A read-only
 * recursive bind of /sys works there (seen with runc 1.1.5; `runc spec --rootless` does the same).
 */
function sysfsAsBind(spec: Spec, namespaces: NamespaceReference[], r: Reporter): Mount[] | undefined {
  const network = namespaces.find((e) => e.type === 'network');
  if (network && !network.path) return undefined;
  const mounts = spec.mounts ?? [];
  if (!mounts.some(isSysfsAtSys)) return undefined;
  r.report(
    'mounts',
    "mounts sysfs at /sys, which fails (EPERM) in a user namespace that does not own the network namespace; replaced with a read-only bind of the host's /sys",
    'fix',
  );
  return mounts.map((m) =>
    isSysfsAtSys(m) ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m,
  );
}

export const userNamespacePass: Pass = (spec, profile, host) => {
  const userRule = profile.rules.userNamespace;
  const r = reporter('userNamespace', userRule.action);
  const unrepairable = userRule.action === 'warn' ? 'warn' : 'deny';
  const unchanged = () => ({ spec, findings: r.findings });

  if (!host.userns.supported) {
    r.report(NS_PATH, 'needs a user namespace, which this host does not support', unrepairable);
    return unchanged();
  }
  const namespaces = spec.linux?.namespaces ?? [];
  const users = namespaces.filter((e) => e.type === 'user');
  if (users.length > 1) {
    r.report(NS_PATH, `lists the user namespace ${users.length} times`, 'deny');
    return unchanged();
  }
  // Fail closed before promising a fix that cannot be made: mappings have nowhere to come from.
  const mustUseAllocation = Boolean(host.podUserNamespace) || userRule.existingMappings === 'replace' || KINDS.some((k) => !spec.linux?.[KEYS[k]]?.length);
  if (r.changes && !host.idAllocation && mustUseAllocation) {
    r.report(NS_PATH, "needs a user namespace, but no ID range is allocated to this container's pod", 'deny');
    return unchanged();
  }

  const wanted: NamespaceReference = host.podUserNamespace ? { type: 'user', path: host.podUserNamespace } : { type: 'user' };
  const current = users[0];
  const replaceEntry = judgeEntry(current, wanted, host, r);
  const uidMappings = settleMappings('uid', spec, current !== undefined, userRule, host, r);
  const gidMappings = settleMappings('gid', spec, current !== undefined, userRule, host, r);
  if (!r.changes) return unchanged();

  let nextNamespaces = namespaces;
  if (replaceEntry) nextNamespaces = current ? namespaces.map((e) => (e === current ? wanted : e)) : [...namespaces, wanted];
  nextNamespaces = inheritHostNamespaces(nextNamespaces, profile.rules.namespaces, host, r) ?? nextNamespaces;
  // Only the runtime a container names is known here: the config's default is not a host fact.
  const order = host.runtime
    ? runtimeJoinOrder(host.runtime.name, host.runtime.version ?? undefined)
    : runtimeJoinOrder(spec.annotations?.[RUNTIME_ANNOTATION]);
  const network = podNetworkProblem(spec, nextNamespaces, host, order);
  if (network) r.report(NS_PATH, network.message, network.refuse ? unrepairable : 'warn');
  const mounts = sysfsAsBind(spec, nextNamespaces, r);
  if (nextNamespaces === namespaces && !uidMappings && !gidMappings && !mounts) return unchanged();

  const linux = { ...spec.linux, namespaces: nextNamespaces };
  if (uidMappings) linux.uidMappings = uidMappings;
  if (gidMappings) linux.gidMappings = gidMappings;
  const next: Spec = { ...spec, linux };
  if (mounts) next.mounts = mounts;
  return { spec: next, findings: r.findings };
};
