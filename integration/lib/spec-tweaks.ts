// Small, named edits of a test config, for BundleOptions.tweak. Each says what it sets so a
// test reads as the guarantee it checks.
import type { NamespaceType, Spec } from '../../src/spec/index.js';

type Linux = NonNullable<Spec['linux']>;
type Process = NonNullable<Spec['process']>;

function linuxOf(spec: Spec): Linux {
  spec.linux ??= {};
  return spec.linux;
}

function processOf(spec: Spec): Process {
  spec.process ??= { cwd: '/' };
  return spec.process;
}

/** Bounding, permitted and effective become exactly `names`; inheritable and ambient empty. */
export function setCapabilities(spec: Spec, names: string[]): void {
  processOf(spec).capabilities = { bounding: [...names], permitted: [...names], effective: [...names], inheritable: [], ambient: [] };
}

export function setNoNewPrivileges(spec: Spec, on: boolean): void {
  processOf(spec).noNewPrivileges = on;
}

export function runAs(spec: Spec, uid: number, gid: number): void {
  processOf(spec).user = { uid, gid };
}

/** A seccomp filter that allows everything but `names`, which fail with `errno` (EPERM). */
export function denySyscalls(spec: Spec, names: [string, ...string[]], errno = 1): void {
  linuxOf(spec).seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: [...names], action: 'SCMP_ACT_ERRNO', errnoRet: errno }],
  };
}

/** A seccomp filter that kills the whole process on any of `names` (SIGSYS). */
export function killOnSyscalls(spec: Spec, names: [string, ...string[]]): void {
  linuxOf(spec).seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: [...names], action: 'SCMP_ACT_KILL_PROCESS' }],
  };
}

export function setPidsLimit(spec: Spec, limit: number): void {
  const linux = linuxOf(spec);
  linux.resources = { ...linux.resources, pids: { limit } };
}

/**
 * Memory limit in bytes. runtime-spec's `swap` is memory+swap (cgroup v1 memsw), so
 * swap === limit means "no swap at all": the limit cannot be dodged by swapping out.
 */
export function setMemoryLimit(spec: Spec, limit: number, swap = limit): void {
  const linux = linuxOf(spec);
  linux.resources = { ...linux.resources, memory: { ...linux.resources?.memory, limit, swap } };
}

/**
 * A new user namespace with container IDs 0..size-1 at hostID.. (uid and gid alike). The rootfs
 * must be owned by hostID (BundleOptions.rootfsOwner). On runc 1.1.5 sysfs cannot be mounted in
 * such a container (EPERM, HOST-NOTES: user namespaces): /sys becomes a read-only rbind of the
 * host's, and the cgroup mount (already inside that rbind) is dropped.
 */
export function addUserNamespace(spec: Spec, hostID: number, size: number): void {
  const linux = linuxOf(spec);
  linux.namespaces = [...(linux.namespaces ?? []).filter((ns) => ns.type !== 'user'), { type: 'user' }];
  linux.uidMappings = [{ containerID: 0, hostID, size }];
  linux.gidMappings = [{ containerID: 0, hostID, size }];
  spec.mounts = (spec.mounts ?? [])
    .filter((m) => m.destination !== '/sys/fs/cgroup')
    .map((m) => (m.destination === '/sys' && m.type === 'sysfs'
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : m));
}

/** Add a namespace (e.g. cgroup) the default config lacks. */
export function addNamespace(spec: Spec, type: NamespaceType): void {
  const linux = linuxOf(spec);
  if (!(linux.namespaces ?? []).some((ns) => ns.type === type)) linux.namespaces = [...(linux.namespaces ?? []), { type }];
}
