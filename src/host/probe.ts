// Host facts, probed once per call through an injected kernel-probe surface (the native addon
// in production, a literal in tests). Everything a pass may need about the host is gathered
// here, before the pure pipeline runs.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { lstatOrNull } from './read.js';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Spec } from '../spec/index.js';
import type { CgroupMode, HostFacts, IdRange } from './types.js';

/** The part of the native addon the probe needs. */
export interface KernelProbes {
  cgroupMode(mountPoint?: string): CgroupMode;
  seccompActions(): string[];
  namespaceId(path: string): { dev: number; ino: number };
  rlimits(): Record<string, { soft: bigint; hard: bigint }>;
  probeUserNamespaces(): { supported: boolean; idmapMounts: boolean };
}

export interface IdFacts {
  idAllocation: HostFacts['idAllocation'];
  idPool: IdRange | null;
  otherAllocations: IdRange[];
  podUserNamespace: string | null;
}

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'x86', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64' };

const NS_PROC_NAME: Record<string, string> = { network: 'net', mount: 'mnt', pid: 'pid', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup' };

function readTrim(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function hostPathsOf(spec: Spec): string[] {
  const paths = new Set<string>();
  for (const m of spec.mounts ?? []) {
    const isBind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
    if (isBind && m.source) paths.add(m.source);
  }
  for (const list of Object.values(spec.hooks ?? {})) for (const h of list ?? []) paths.add(h.path);
  return [...paths];
}

/**
 * The host's namespace of a type: init's, or where /proc/1 is out of reach (a sandboxed or
 * hidepid /proc) the runtime's own, which containerd runs in the host's namespaces.
 */
function hostNamespace(probes: KernelProbes, type: string): { dev: number; ino: number } {
  const name = NS_PROC_NAME[type] ?? type;
  try {
    return probes.namespaceId(`/proc/1/ns/${name}`);
  } catch {
    return probes.namespaceId(`/proc/self/ns/${name}`);
  }
}

function classifyNamespace(probes: KernelProbes, type: string, path: string): 'host' | 'other' | 'missing' {
  let id;
  try {
    id = probes.namespaceId(path);
  } catch {
    return 'missing';
  }
  const host = hostNamespace(probes, type);
  return id.dev === host.dev && id.ino === host.ino ? 'host' : 'other';
}

/**
 * cgroup v2 swap accounting: memory.swap.max exists in non-root cgroups only when the kernel
 * accounts swap (CONFIG_MEMCG_SWAP and not swapaccount=0). Look in our own cgroup, else in any
 * child of the root.
 */
function v2SwapAccounting(): boolean {
  const own = /^0::(\/.*)$/m.exec(readTrim('/proc/self/cgroup') ?? '')?.[1];
  if (own && own !== '/' && existsSync(`/sys/fs/cgroup${own}/memory.swap.max`)) return true;
  try {
    return readdirSync('/sys/fs/cgroup', { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .some((d) => existsSync(`/sys/fs/cgroup/${d.name}/memory.swap.max`));
  } catch {
    return false;
  }
}

const MAX_SYMLINK_HOPS = 40; // the kernel's own limit (ELOOP)

/**
 * Where a host path leads once every symlink is followed, even when the final target does not
 * exist yet: a dangling link to /var/run/docker.sock must be judged as that socket (the runtime
 * would mount whatever the link points at by then). Null for a relative path or a loop.
 */
export function resolveLeniently(path: string): string | null {
  if (!isAbsolute(path)) return null;
  let current = path;
  for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
    // Probed first so that a missing path (common: volumes the kubelet has not made yet) costs
    // no exception; libc's realpath then resolves an existing one in one call.
    const entry = lstatOrNull(current);
    if (entry) {
      try {
        return realpathSync.native(current);
      } catch {
        // a dangling link, a loop, or a directory we may not search: walk it by hand below
      }
    }
    const target = entry?.isSymbolicLink() ? readlinkOrNull(current) : null;
    if (target !== null) {
      current = resolve(dirname(current), target);
      continue;
    }
    // the last component does not exist: resolve its parent instead
    if (current === '/') return '/';
    const parent = resolveLeniently(dirname(current));
    return parent === null ? null : join(parent, basename(current));
  }
  return null;
}

function readlinkOrNull(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null; // replaced meanwhile
  }
}

/** The host facts that do not depend on the container: the kernel's features and our own limits. */
export type KernelFacts = Pick<HostFacts, 'arch' | 'cgroup' | 'userns' | 'seccompActions' | 'rlimitHard' | 'lsm'>;

export function probeKernel(probes: KernelProbes): KernelFacts {
  const mode = probes.cgroupMode();
  const controllers = mode === 'v2' ? (readTrim('/sys/fs/cgroup/cgroup.controllers') ?? '').split(/\s+/).filter(Boolean) : [];
  const swapAccounting = mode === 'v2'
    ? controllers.includes('memory') && v2SwapAccounting()
    : existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
  const rlimitHard: Record<string, number | bigint> = {};
  for (const [name, { hard }] of Object.entries(probes.rlimits())) {
    rlimitHard[name] = hard <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(hard) : hard;
  }
  return {
    arch: ARCH[process.arch] ?? process.arch,
    cgroup: { mode, controllers, swapAccounting },
    userns: probes.probeUserNamespaces(),
    seccompActions: probes.seccompActions(),
    rlimitHard,
    lsm: {
      apparmor: readTrim('/sys/module/apparmor/parameters/enabled') === 'Y',
      selinux: existsSync('/sys/fs/selinux/enforce'),
    },
  };
}

/** Every fact the passes need about this host for `spec`; `kernel` may come from a cache. */
export function probeHost(probes: KernelProbes, spec: Spec, ids: IdFacts, kernel: KernelFacts = probeKernel(probes)): HostFacts {
  const namespacePaths: HostFacts['namespacePaths'] = {};
  for (const ns of spec.linux?.namespaces ?? []) {
    if (ns.path) namespacePaths[ns.path] = classifyNamespace(probes, ns.type, ns.path);
  }
  const realPaths: Record<string, string> = {};
  for (const p of hostPathsOf(spec)) {
    const resolved = resolveLeniently(p);
    if (resolved !== null) realPaths[p] = resolved;
  }
  return { ...kernel, ...ids, namespacePaths, realPaths };
}
