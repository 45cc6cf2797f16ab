// The inputs of the micro benchmarks: three realistic configs and the host facts the passes see.
// Host facts are a literal (like test/fixtures' testHost()): the passes are pure, and a literal
// keeps probing out of the numbers and makes runs comparable across machines. It describes a
// typical Kubernetes node (cgroup v2, user namespaces with idmapped mounts, no LSM).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../integration/lib/paths.js';
import { parseJson, stringifyJson } from '../../src/json/lossless.js';
import type { Spec } from '../../src/spec/index.js';
import type { HostFacts } from '../../src/host/types.js';

export interface NamedConfig {
  /** Short key used in task names: runc-spec, cri, large. */
  key: string;
  description: string;
  /** config.json text as a runtime would read it. */
  text: string;
}

const fixture = (name: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', name), 'utf8');

/**
 * A CRI container with many volumes and a big environment (a monolith with 150 ConfigMap and
 * Secret keys, emptyDirs, service-discovery variables): 200 mounts and 500 environment variables.
 * Built from the CRI fixture so it keeps the annotations and the sandbox's namespaces.
 */
export function largeConfigText(mountCount = 200, envCount = 500): string {
  const spec = parseJson(fixture('cri-container.json')) as unknown as Spec;
  const podDir = '/var/lib/kubelet/pods/0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f';
  const mounts = [...(spec.mounts ?? [])];
  for (let i = 0; mounts.length < mountCount; i++) {
    switch (i % 4) {
      case 0:
        mounts.push({ destination: `/etc/config/cm-${i}`, type: 'bind', source: `${podDir}/volumes/kubernetes.io~configmap/cm-${i}`, options: ['rbind', 'rprivate', 'ro'] });
        break;
      case 1:
        mounts.push({ destination: `/var/run/secrets/app/s-${i}`, type: 'bind', source: `${podDir}/volumes/kubernetes.io~secret/s-${i}`, options: ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev'] });
        break;
      case 2:
        mounts.push({ destination: `/scratch/${i}`, type: 'bind', source: `${podDir}/volumes/kubernetes.io~empty-dir/scratch-${i}`, options: ['rbind', 'rprivate', 'rw'] });
        break;
      default:
        mounts.push({ destination: `/run/tmp-${i}`, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', 'size=65536k'] });
    }
  }
  const env = [...(spec.process?.env ?? [])];
  for (let i = 0; env.length < envCount; i++) {
    env.push(i % 2 === 0 ? `SERVICE_${i}_PORT=tcp://10.96.${(i >> 8) & 255}.${i & 255}:8080` : `APP_SETTING_${i}=value-${i}-${'x'.repeat(i % 40)}`);
  }
  return stringifyJson({ ...spec, process: { ...spec.process!, env }, mounts }) + '\n';
}

export function benchConfigs(): NamedConfig[] {
  return [
    { key: 'runc-spec', description: '`runc spec` (runc 1.1.5): 7 mounts, 2 env vars', text: fixture('runc-spec.json') },
    { key: 'cri', description: 'CRI container (containerd 1.6, with pod annotations, joined sandbox namespaces): 12 mounts', text: fixture('cri-container.json') },
    { key: 'large', description: 'generated: the CRI container with 200 mounts and 500 env vars', text: largeConfigText() },
  ];
}

/** Bind sources and hook paths: what the probe would realpath(); here they resolve to themselves. */
function hostPaths(spec: Spec): string[] {
  const paths = new Set<string>();
  for (const m of spec.mounts ?? []) {
    const bind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
    if (bind && m.source?.startsWith('/')) paths.add(m.source);
  }
  for (const list of Object.values(spec.hooks ?? {})) for (const h of (list as Array<{ path: string }>) ?? []) paths.add(h.path);
  return [...paths];
}

/**
 * Host facts for `spec` on a cgroup v2 node. Namespace paths belong to the pod sandbox; a CRI
 * workload container joins the sandbox's user namespace, as the engine arranges from its records.
 */
export function benchHost(spec: Spec): HostFacts {
  const namespacePaths: HostFacts['namespacePaths'] = {};
  for (const ns of spec.linux?.namespaces ?? []) if (ns.path) namespacePaths[ns.path] = 'other';
  const sandboxPid = (spec.linux?.namespaces ?? []).map((ns) => /^\/proc\/([0-9]+)\/ns\//.exec(ns.path ?? '')?.[1]).find(Boolean);
  const joinsPod = spec.annotations?.['io.kubernetes.cri.container-type'] === 'container' && sandboxPid !== undefined;
  const podUserNamespace = joinsPod ? `/proc/${sandboxPid}/ns/user` : null;
  if (podUserNamespace) namespacePaths[podUserNamespace] = 'other';
  return {
    arch: 'x86_64',
    cgroup: { mode: 'v2', controllers: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'], swapAccounting: true },
    userns: { supported: true, idmapMounts: true },
    idAllocation: { uid: { hostID: 2 ** 31 + 65536 * 7, size: 65536 }, gid: { hostID: 2 ** 31 + 65536 * 7, size: 65536 } },
    idPool: { hostID: 2 ** 31, size: 65536 * 4096 },
    otherAllocations: Array.from({ length: 40 }, (_, i) => ({ hostID: 2 ** 31 + 65536 * (i + 8), size: 65536 })),
    podUserNamespace,
    seccompActions: ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_ALLOW', 'SCMP_ACT_NOTIFY'],
    rlimitHard: { RLIMIT_NOFILE: 1048576, RLIMIT_NPROC: 96364, RLIMIT_CORE: 18446744073709551615n },
    namespacePaths,
    realPaths: Object.fromEntries(hostPaths(spec).map((p) => [p, p])),
    lsm: { apparmor: false, selinux: false },
  };
}
