import type { IDMapping, NamespaceReference, Spec } from '../../src/spec/index.js';
import t from 'tap';
import { blockMappings, userNamespacePass } from '../../src/passes/user-namespace.js';
import { runTable } from './helpers-a.js';

const BASE = 1_000_000_000;
const SIZE = 65536;
const ALLOCATED: IDMapping[] = [{ containerID: 0, hostID: BASE, size: SIZE }];
const RUNC_NS: NamespaceReference[] = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
const WITH_USER: NamespaceReference[] = [...RUNC_NS, { type: 'user' }];
const POD_USERNS = '/proc/4321/ns/user';
const HOST_USERNS = '/proc/1/ns/user';
const TOP = 2 ** 32;

/** Gives the config a user namespace entry (when not null) and the given mappings. */
function userns(entry: NamespaceReference | null, uid?: IDMapping[], gid?: IDMapping[]) {
  return (s: Spec) => {
    if (entry) s.linux!.namespaces!.push(entry);
    if (uid) s.linux!.uidMappings = uid;
    if (gid) s.linux!.gidMappings = gid;
  };
}
const map = (hostID: number, size: number, containerID = 0): IDMapping[] => [{ containerID, hostID, size }];
const USER = { type: 'user' } as const;
const ADDED = ['userNamespace', 'linux.namespaces', 'fix', /^has no user namespace, so root in the container is root on the host; added one$/] as const;
const UID_SET = ['userNamespace', 'linux.uidMappings', 'fix', /^not set; mapped container uids 0-65535 to host uids 1000000000-1000065535 \(the pod's range\)$/] as const;
const GID_SET = ['userNamespace', 'linux.gidMappings', 'fix', /^not set; mapped container gids 0-65535 to host gids 1000000000-1000065535/] as const;
const SYS_BIND = { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
const SYSFS_FIX = ['userNamespace', 'mounts', 'fix', /^mounts sysfs at \/sys, which fails \(EPERM\) .*; replaced with a read-only bind of the host's \/sys$/] as const;
/** Index of the sysfs mount in `runc spec` output. */
const SYSFS_INDEX = 5;
const respectOutside = { userNamespace: { allowMappingsOutsidePool: true } };
// A CRI app container of a host-network pod (containerd 1.6): the sandbox's net/uts are the
// host's, its IPC namespace is its own.
const SANDBOX_NET = '/proc/4321/ns/net';
const SANDBOX_UTS = '/proc/4321/ns/uts';
const SANDBOX_IPC = '/proc/4321/ns/ipc';
const CRI_APP_NS: NamespaceReference[] = [
  { type: 'pid' }, { type: 'ipc', path: SANDBOX_IPC }, { type: 'uts', path: SANDBOX_UTS }, { type: 'mount' }, { type: 'network', path: SANDBOX_NET },
];
const criAppNamespaces = (s: Spec) => void (s.linux!.namespaces = structuredClone(CRI_APP_NS));
const HOST_NET_PATHS = { [SANDBOX_NET]: 'host', [SANDBOX_UTS]: 'host', [SANDBOX_IPC]: 'other' } as const;
const HOST_NET_ALLOWED = { namespaces: { required: ['pid', 'ipc', 'mount'] as Array<'pid' | 'ipc' | 'mount'> } };
const HOST_NET_ALLOWED_AND_MOUNT = { namespaces: { required: ['pid', 'ipc'] as Array<'pid' | 'ipc'> } };
const INHERIT = (label: string, path: string) =>
  ['userNamespace', 'linux.namespaces', 'fix', new RegExp(`^joins the host's ${label} namespace by path \\(${path.replace(/\//g, '\\/')}\\), which fails \\(EPERM\\) from a user namespace; left the entry out, so the container inherits the host's ${label} namespace from the runtime$`)] as const;

runTable(userNamespacePass, [
  {
    name: "runc default under fix: a user namespace on the pod's range is added",
    expect: { 'linux.namespaces': WITH_USER, 'linux.uidMappings': ALLOCATED, 'linux.gidMappings': ALLOCATED },
    findings: [ADDED, UID_SET, GID_SET],
  },
  {
    name: 'runc default under deny: one finding, nothing changes',
    rules: { userNamespace: { action: 'deny' } },
    findings: [['userNamespace', 'linux.namespaces', 'deny', /^has no user namespace, so root in the container is root on the host$/]],
  },
  {
    name: 'runc default under warn',
    rules: { userNamespace: { action: 'warn' } },
    findings: [['userNamespace', 'linux.namespaces', 'warn', /^has no user namespace/]],
  },
  {
    name: 'already in a user namespace on exactly the allocated range: nothing to do',
    spec: userns(USER, ALLOCATED, ALLOCATED),
    findings: [],
  },
  {
    name: 'kernel without user namespaces: refused under fix',
    host: { userns: { supported: false, idmapMounts: false } },
    findings: [['userNamespace', 'linux.namespaces', 'deny', /^needs a user namespace, which this host does not support$/]],
  },
  {
    name: 'kernel without user namespaces under warn: only a warning',
    rules: { userNamespace: { action: 'warn' } },
    host: { userns: { supported: false, idmapMounts: false } },
    findings: [['userNamespace', 'linux.namespaces', 'warn', /does not support/]],
  },
  {
    name: 'no ID range allocated: refused rather than half-fixed (fail closed)',
    host: { idAllocation: null },
    findings: [['userNamespace', 'linux.namespaces', 'deny', /^needs a user namespace, but no ID range is allocated to this container's pod$/]],
  },
  {
    name: 'no ID range allocated, but safe mappings in the config are respected: only the entry is added',
    host: { idAllocation: null },
    spec: userns(null, map(BASE + SIZE, SIZE), map(BASE + SIZE, SIZE)),
    expect: { 'linux.namespaces': WITH_USER },
    findings: [ADDED],
  },
  {
    name: "a pod's container joins the sandbox's user namespace with the pod's mappings",
    host: { podUserNamespace: POD_USERNS },
    expect: { 'linux.namespaces': [...RUNC_NS, { type: 'user', path: POD_USERNS }], 'linux.uidMappings': ALLOCATED, 'linux.gidMappings': ALLOCATED },
    findings: [ADDED, UID_SET, GID_SET],
  },
  {
    name: "a pod's container with a user namespace of its own is moved into the pod's",
    host: { podUserNamespace: POD_USERNS },
    spec: userns(USER, ALLOCATED, ALLOCATED),
    expect: { 'linux.namespaces': [...RUNC_NS, { type: 'user', path: POD_USERNS }] },
    findings: [['userNamespace', 'linux.namespaces', 'fix', /^creates a user namespace of its own instead of joining its pod's \(\/proc\/4321\/ns\/user\); joined the pod's instead$/]],
  },
  {
    name: "joining the pod's namespace: other (even safe) mappings are replaced by the pod's",
    host: { podUserNamespace: POD_USERNS },
    spec: userns({ type: 'user', path: POD_USERNS }, map(BASE + SIZE, SIZE), ALLOCATED),
    expect: { 'linux.uidMappings': ALLOCATED },
    findings: [['userNamespace', 'linux.uidMappings', 'fix', /^maps container uids 0-65535 to host uids 1000065536-1000131071, not the pod's range; replaced with host uids 1000000000-1000065535$/]],
  },
  {
    name: "joining the pod's namespace with no allocation: refused",
    host: { podUserNamespace: POD_USERNS, idAllocation: null },
    spec: userns({ type: 'user', path: POD_USERNS }, ALLOCATED, ALLOCATED),
    findings: [['userNamespace', 'linux.namespaces', 'deny', /no ID range is allocated/]],
  },
  {
    name: "joining the host's user namespace under fix: replaced by a fresh one",
    host: { namespacePaths: { [HOST_USERNS]: 'host' } },
    spec: userns({ type: 'user', path: HOST_USERNS }, ALLOCATED, ALLOCATED),
    expect: { 'linux.namespaces': WITH_USER },
    findings: [['userNamespace', 'linux.namespaces', 'fix', /^joins the host's user namespace \(\/proc\/1\/ns\/user\), so root in the container is root on the host; gave the container its own instead$/]],
  },
  {
    name: "joining another pod's user namespace under warn",
    rules: { userNamespace: { action: 'warn' } },
    host: { namespacePaths: { '/proc/77/ns/user': 'other' } },
    spec: userns({ type: 'user', path: '/proc/77/ns/user' }, ALLOCATED, ALLOCATED),
    findings: [['userNamespace', 'linux.namespaces', 'warn', /^joins user namespace \/proc\/77\/ns\/user, which was not allocated to it$/]],
  },
  {
    name: 'an unverifiable user namespace path under warn is still refused (fail closed)',
    rules: { userNamespace: { action: 'warn' } },
    spec: userns({ type: 'user', path: '/proc/77/ns/user' }, ALLOCATED, ALLOCATED),
    findings: [['userNamespace', 'linux.namespaces', 'deny', /^cannot verify user namespace path \/proc\/77\/ns\/user: it was not probed$/]],
  },
  {
    name: 'an unverifiable user namespace path under fix: replaced by a fresh one',
    host: { namespacePaths: { '/gone': 'missing' } },
    spec: userns({ type: 'user', path: '/gone' }, ALLOCATED, ALLOCATED),
    expect: { 'linux.namespaces': WITH_USER },
    findings: [['userNamespace', 'linux.namespaces', 'fix', /^cannot verify user namespace path \/gone: it does not exist; gave the container its own instead$/]],
  },
  {
    name: 'duplicate user namespace entries are refused, even under fix',
    spec: (s) => {
      s.linux!.namespaces!.push({ type: 'user' }, { type: 'user', path: POD_USERNS });
    },
    findings: [['userNamespace', 'linux.namespaces', 'deny', /^lists the user namespace 2 times$/]],
  },
  {
    name: 'respect: a mapping of host uid 0 is refused even under fix',
    rules: respectOutside,
    spec: userns(USER, map(0, SIZE), ALLOCATED),
    findings: [['userNamespace', 'linux.uidMappings', 'deny', /^maps host uid 0 \(root\)$/]],
  },
  {
    name: 'respect: host uid 0 in a one-ID range',
    rules: respectOutside,
    spec: userns(USER, [...map(BASE, SIZE - 1, 1), ...map(0, 1)], ALLOCATED),
    findings: [['userNamespace', 'linux.uidMappings', 'deny', /^maps host uid 0 \(root\)$/]],
  },
  {
    name: 'respect: host uid 1 size 1 does not touch root (outside the pool allowed)',
    rules: respectOutside,
    spec: userns(USER, map(1, 1), ALLOCATED),
    findings: [],
  },
  {
    name: 'respect: host uid 1 size 1 is still outside the pool',
    spec: userns(USER, map(1, 1), ALLOCATED),
    findings: [['userNamespace', 'linux.uidMappings', 'deny', /^maps host uid 1, outside the ID pool \(uids 1000000000-1067108863\)$/]],
  },
  {
    name: 'respect: a range ending exactly at 2^32 is valid',
    rules: respectOutside,
    spec: userns(USER, ALLOCATED, map(TOP - SIZE, SIZE)),
    findings: [],
  },
  {
    name: 'a range one past 2^32 overflows: refused even under warn',
    rules: { userNamespace: { action: 'warn', allowMappingsOutsidePool: true } },
    spec: userns(USER, ALLOCATED, map(TOP - SIZE + 1, SIZE)),
    findings: [['userNamespace', 'linux.gidMappings', 'deny', /^has a range from host gid 4294901761 of size 65536, past the last gid \(overflow\)$/]],
  },
  {
    name: 'a container-side range past 2^32 overflows',
    rules: respectOutside,
    spec: userns(USER, map(BASE, SIZE, TOP - 1000), ALLOCATED),
    findings: [['userNamespace', 'linux.uidMappings', 'deny', /^has a range from container uid 4294966296 of size 65536, past the last uid/]],
  },
  {
    name: 'a range of size 0 is refused',
    spec: userns(USER, map(BASE, 0), ALLOCATED),
    findings: [['userNamespace', 'linux.uidMappings', 'deny', /^has an empty range \(container uid 0, host uid 1000000000, size 0\)$/]],
  },
  {
    name: 'a range starting at (uid_t)-1 is refused',
    rules: respectOutside,
    spec: userns(USER, map(TOP - 1, 1), ALLOCATED),
    findings: [['userNamespace', 'linux.uidMappings', 'deny', /^has a range starting at uid 4294967295, which is not a valid ID$/]],
  },
  {
    name: 'ranges overlapping each other are refused',
    spec: userns(USER, [...map(BASE, 10), ...map(BASE + 9, 10, 100)], ALLOCATED),
    findings: [['userNamespace', 'linux.uidMappings', 'deny', /^has ranges that overlap each other/]],
  },
  {
    name: "respect: overlapping another pod's block by one ID is refused",
    host: { otherAllocations: [{ hostID: BASE + 2 * SIZE, size: SIZE }] },
    spec: userns(USER, ALLOCATED, map(BASE + SIZE + 1, SIZE)),
    findings: [['userNamespace', 'linux.gidMappings', 'deny', /^maps host gids 1000065537-1000131072, overlapping gids 1000131072-1000196607 allocated to another pod$/]],
  },
  {
    name: "respect: ending right where another pod's block starts is fine",
    host: { otherAllocations: [{ hostID: BASE + 2 * SIZE, size: SIZE }] },
    spec: userns(USER, ALLOCATED, map(BASE + SIZE, SIZE)),
    findings: [],
  },
  {
    name: 'respect: no pool configured and mappings outside it not allowed',
    host: { idPool: null },
    spec: userns(USER, ALLOCATED, ALLOCATED),
    findings: [],
  },
  {
    name: 'respect: foreign mappings with no pool configured are refused',
    host: { idPool: null },
    spec: userns(USER, map(BASE + SIZE, SIZE), ALLOCATED),
    findings: [['userNamespace', 'linux.uidMappings', 'deny', /^maps host uids 1000065536-1000131071, and no ID pool is configured/]],
  },
  {
    name: 'uid and gid are judged separately; under warn unsafe mappings only warn',
    rules: { userNamespace: { action: 'warn' } },
    spec: userns(USER, ALLOCATED, map(0, SIZE)),
    findings: [
      ['userNamespace', 'linux.gidMappings', 'warn', /^maps host gid 0 \(root\)$/],
      ['userNamespace', 'linux.gidMappings', 'warn', /^maps host gids 0-65535, outside the ID pool/],
    ],
  },
  {
    name: 'replace: safe mappings of the config are swapped for the allocation',
    rules: { userNamespace: { existingMappings: 'replace' } },
    spec: userns(USER, map(BASE + SIZE, SIZE), map(BASE + SIZE, SIZE)),
    expect: { 'linux.uidMappings': ALLOCATED, 'linux.gidMappings': ALLOCATED },
    findings: [
      ['userNamespace', 'linux.uidMappings', 'fix', /^maps container uids 0-65535 to host uids 1000065536-1000131071, not the pod's range; replaced with host uids 1000000000-1000065535$/],
      ['userNamespace', 'linux.gidMappings', 'fix', /; replaced with host gids 1000000000-1000065535$/],
    ],
  },
  {
    name: 'replace under deny: differing mappings are refused',
    rules: { userNamespace: { action: 'deny', existingMappings: 'replace' } },
    spec: userns(USER, ALLOCATED, map(BASE + SIZE, SIZE)),
    findings: [['userNamespace', 'linux.gidMappings', 'deny', /^maps container gids 0-65535 to host gids 1000065536-1000131071, not the pod's range$/]],
  },
  {
    name: 'an empty mapping list with a user namespace is filled in',
    spec: userns(USER, [], ALLOCATED),
    expect: { 'linux.uidMappings': ALLOCATED },
    findings: [UID_SET],
  },
  {
    name: 'a user namespace without mappings under deny',
    rules: { userNamespace: { action: 'deny' } },
    spec: userns(USER),
    findings: [
      ['userNamespace', 'linux.uidMappings', 'deny', /^not set, so the user namespace has no uids$/],
      ['userNamespace', 'linux.gidMappings', 'deny', /^not set, so the user namespace has no gids$/],
    ],
  },
  {
    name: "host network (no network entry): sysfs becomes a read-only bind of the host's /sys",
    spec: (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((e) => e.type !== 'network');
    },
    expect: {
      'linux.namespaces': [...RUNC_NS.filter((e) => e.type !== 'network'), USER],
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
      [`mounts.${SYSFS_INDEX}`]: SYS_BIND,
    },
    findings: [ADDED, UID_SET, GID_SET, SYSFS_FIX],
  },
  {
    name: 'joined network namespace with an existing user namespace: only sysfs changes',
    host: { namespacePaths: { '/var/run/netns/cni-1': 'other' } },
    spec: (s) => {
      s.linux!.namespaces = [...RUNC_NS.map((e) => (e.type === 'network' ? { type: 'network' as const, path: '/var/run/netns/cni-1' } : e)), USER];
      s.linux!.uidMappings = ALLOCATED;
      s.linux!.gidMappings = ALLOCATED;
    },
    expect: { [`mounts.${SYSFS_INDEX}`]: SYS_BIND },
    findings: [SYSFS_FIX],
  },
  // Host namespaces named by path (containerd's CRI does that for every app container of a
  // host-network pod: /proc/<sandbox pid>/ns/{net,uts,ipc}). From the pod's user namespace the
  // runtime cannot setns into them (EPERM); without the entry the container inherits the
  // runtime's, which is the host's, where its sandbox is too.
  {
    name: 'host-network app container, network/uts allowed: host paths left out, the pod\'s own IPC kept',
    rules: HOST_NET_ALLOWED,
    host: { podUserNamespace: POD_USERNS, namespacePaths: HOST_NET_PATHS },
    spec: criAppNamespaces,
    expect: {
      'linux.namespaces': [{ type: 'pid' }, { type: 'ipc', path: SANDBOX_IPC }, { type: 'mount' }, { type: 'user', path: POD_USERNS }],
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
      [`mounts.${SYSFS_INDEX}`]: SYS_BIND,
    },
    findings: [ADDED, UID_SET, GID_SET, INHERIT('UTS', SANDBOX_UTS), INHERIT('network', SANDBOX_NET), SYSFS_FIX],
  },
  {
    name: 'host-network app container under a profile that requires network/uts (deny): paths kept, the namespaces pass refuses',
    host: { podUserNamespace: POD_USERNS, namespacePaths: HOST_NET_PATHS },
    spec: criAppNamespaces,
    expect: {
      'linux.namespaces': [...CRI_APP_NS, { type: 'user', path: POD_USERNS }],
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
      [`mounts.${SYSFS_INDEX}`]: SYS_BIND,
    },
    findings: [ADDED, UID_SET, GID_SET, SYSFS_FIX],
  },
  {
    name: 'namespaces rule under warn allows host namespaces: left out',
    rules: { namespaces: { action: 'warn' } },
    host: { podUserNamespace: POD_USERNS, namespacePaths: HOST_NET_PATHS },
    spec: criAppNamespaces,
    expect: {
      'linux.namespaces': [{ type: 'pid' }, { type: 'ipc', path: SANDBOX_IPC }, { type: 'mount' }, { type: 'user', path: POD_USERNS }],
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
      [`mounts.${SYSFS_INDEX}`]: SYS_BIND,
    },
    findings: [ADDED, UID_SET, GID_SET, INHERIT('UTS', SANDBOX_UTS), INHERIT('network', SANDBOX_NET), SYSFS_FIX],
  },
  {
    name: 'only the allowed type is left out: uts allowed, network required',
    rules: { namespaces: { required: ['pid', 'network', 'ipc', 'mount'] } },
    host: { podUserNamespace: POD_USERNS, namespacePaths: HOST_NET_PATHS },
    spec: criAppNamespaces,
    expect: {
      'linux.namespaces': [{ type: 'pid' }, { type: 'ipc', path: SANDBOX_IPC }, { type: 'mount' }, { type: 'network', path: SANDBOX_NET }, { type: 'user', path: POD_USERNS }],
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
      [`mounts.${SYSFS_INDEX}`]: SYS_BIND,
    },
    findings: [ADDED, UID_SET, GID_SET, INHERIT('UTS', SANDBOX_UTS), SYSFS_FIX],
  },
  {
    name: 'host IPC, PID and cgroup by path are left out too (hostIPC/hostPID pods)',
    rules: { namespaces: { required: ['mount'] } },
    host: { podUserNamespace: POD_USERNS, namespacePaths: { '/proc/1/ns/ipc': 'host', '/proc/1/ns/pid': 'host', '/proc/1/ns/cgroup': 'host' } },
    spec: (s) => {
      s.linux!.namespaces = [{ type: 'pid', path: '/proc/1/ns/pid' }, { type: 'network' }, { type: 'ipc', path: '/proc/1/ns/ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup', path: '/proc/1/ns/cgroup' }];
    },
    expect: {
      'linux.namespaces': [{ type: 'network' }, { type: 'uts' }, { type: 'mount' }, { type: 'user', path: POD_USERNS }],
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
    },
    findings: [ADDED, UID_SET, GID_SET, INHERIT('PID', '/proc/1/ns/pid'), INHERIT('IPC', '/proc/1/ns/ipc'), INHERIT('cgroup', '/proc/1/ns/cgroup')],
  },
  {
    name: "the host's mount namespace by path is never left out (the runtime needs a mount namespace of its own)",
    rules: HOST_NET_ALLOWED_AND_MOUNT,
    host: { namespacePaths: { '/proc/1/ns/mnt': 'host' } },
    spec: (s) => {
      s.linux!.namespaces = RUNC_NS.map((e) => (e.type === 'mount' ? { type: 'mount' as const, path: '/proc/1/ns/mnt' } : e));
    },
    expect: {
      'linux.namespaces': [...RUNC_NS.map((e) => (e.type === 'mount' ? { type: 'mount' as const, path: '/proc/1/ns/mnt' } : e)), USER],
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
    },
    findings: [ADDED, UID_SET, GID_SET],
  },
  {
    name: 'a new user namespace (standalone container) with the host network by path: left out as well',
    rules: HOST_NET_ALLOWED,
    host: { namespacePaths: { '/proc/1/ns/net': 'host' } },
    spec: (s) => {
      s.linux!.namespaces = RUNC_NS.map((e) => (e.type === 'network' ? { type: 'network' as const, path: '/proc/1/ns/net' } : e));
    },
    expect: {
      'linux.namespaces': [...RUNC_NS.filter((e) => e.type !== 'network'), USER],
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
      [`mounts.${SYSFS_INDEX}`]: SYS_BIND,
    },
    findings: [ADDED, UID_SET, GID_SET, INHERIT('network', '/proc/1/ns/net'), SYSFS_FIX],
  },
  {
    name: "paths that are not the host's (the sandbox's own, unprobed, gone) are kept: the namespaces pass judges them",
    rules: { namespaces: { action: 'off' } },
    host: { podUserNamespace: POD_USERNS, namespacePaths: { [SANDBOX_NET]: 'other', '/gone': 'missing' } },
    spec: (s) => {
      s.linux!.namespaces = [{ type: 'pid', path: '/proc/9/ns/pid' }, { type: 'network', path: SANDBOX_NET }, { type: 'ipc', path: '/gone' }, { type: 'uts' }, { type: 'mount' }];
    },
    expect: {
      'linux.namespaces': [{ type: 'pid', path: '/proc/9/ns/pid' }, { type: 'network', path: SANDBOX_NET }, { type: 'ipc', path: '/gone' }, { type: 'uts' }, { type: 'mount' }, { type: 'user', path: POD_USERNS }],
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
      [`mounts.${SYSFS_INDEX}`]: SYS_BIND,
    },
    findings: [ADDED, UID_SET, GID_SET, SYSFS_FIX],
  },
  {
    name: 'user namespace rule under warn: host paths stay (no user namespace is added, nothing fails)',
    rules: { ...HOST_NET_ALLOWED, userNamespace: { action: 'warn' } },
    host: { podUserNamespace: POD_USERNS, namespacePaths: HOST_NET_PATHS },
    spec: criAppNamespaces,
    findings: [['userNamespace', 'linux.namespaces', 'warn', /^has no user namespace/]],
  },
  {
    name: 'sysfs is left alone under deny (nothing is added, so nothing breaks)',
    rules: { userNamespace: { action: 'deny' } },
    spec: (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((e) => e.type !== 'network');
    },
    findings: [['userNamespace', 'linux.namespaces', 'deny', /^has no user namespace/]],
  },
]);

// The warm service prepares user namespaces with blockMappings: it must be the mapping the pass writes.
t.test('blockMappings is the mapping the pass writes for an allocation', async (t) => {
  t.same(blockMappings({ hostID: BASE, size: SIZE }), ALLOCATED);
});
