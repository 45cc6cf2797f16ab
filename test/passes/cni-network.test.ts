// CNI pods: a CRI sandbox that creates the pod's user namespace and joins a network namespace
// the CRI made before it (so owned by another user namespace). The pass says so at the sandbox,
// by what it knows of the runtime's setns order.
import t from 'tap';
import type { IDMapping, NamespaceReference, Spec } from '../../src/spec/index.js';
import type { JoinOrder } from '../../src/passes/user-namespace.js';
import { podNetworkProblem, runtimeJoinOrder, userNamespacePass } from '../../src/passes/user-namespace.js';
import { runTable } from './helpers-a.js';
import { deepFreeze, testHost } from '../fixtures/index.js';

const ALLOCATED: IDMapping[] = [{ containerID: 0, hostID: 1_000_000_000, size: 65536 }];
const CNI_NETNS = '/var/run/netns/cni-0d6f1c2a-5b7e-4a8e-9c1d-2f3e4a5b6c7d';
const POD_USERNS = '/proc/4321/ns/user';
const SYS_BIND = { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
/** Index of the sysfs mount in `runc spec` output. */
const SYSFS_INDEX = 5;
const SANDBOX = { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'sb1' };
const APP = { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'sb1' };
const CNI_PATHS = { namespacePaths: { [CNI_NETNS]: 'other' } } as const;

/** What containerd 1.6's CRI gives a CNI pod's sandbox: its network namespace by path. */
function criSandbox(annotations: Record<string, string>, network: NamespaceReference = { type: 'network', path: CNI_NETNS }) {
  return (s: Spec) => {
    s.annotations = annotations;
    s.linux!.namespaces = s.linux!.namespaces!.map((e) => (e.type === 'network' ? network : e));
  };
}
const namespacesWith = (network: NamespaceReference, user: NamespaceReference = { type: 'user' }): NamespaceReference[] =>
  [{ type: 'pid' }, network, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, user];

const ADDED = ['userNamespace', 'linux.namespaces', 'fix', /^has no user namespace/] as const;
const UID_SET = ['userNamespace', 'linux.uidMappings', 'fix', /^not set; mapped/] as const;
const GID_SET = ['userNamespace', 'linux.gidMappings', 'fix', /^not set; mapped/] as const;
const SYSFS_FIX = ['userNamespace', 'mounts', 'fix', /^mounts sysfs at \/sys/] as const;
const CNI_WARN = [
  'userNamespace', 'linux.namespaces', 'warn',
  /^joins network namespace \/var\/run\/netns\/cni-[0-9a-f-]+, which existed before the pod's user namespace and is not owned by it \(a CNI network namespace\): .*on runc before 1\.3 they fail \(setns EPERM\): run the pod on crun \(annotation io\.bulwark\.runtime=crun\) or runc 1\.3\+/,
] as const;
const WITH_CNI_USERNS = {
  'linux.namespaces': namespacesWith({ type: 'network', path: CNI_NETNS }),
  'linux.uidMappings': ALLOCATED,
  'linux.gidMappings': ALLOCATED,
  [`mounts.${SYSFS_INDEX}`]: SYS_BIND,
};

runTable(userNamespacePass, [
  {
    name: 'CRI sandbox joining a CNI network namespace, runtime not known here: the user namespace is added, with a warning',
    spec: criSandbox(SANDBOX),
    host: CNI_PATHS,
    expect: WITH_CNI_USERNS,
    findings: [ADDED, UID_SET, GID_SET, CNI_WARN, SYSFS_FIX],
  },
  {
    name: 'the same pod routed to crun by annotation: crun joins the network namespace first, nothing to say',
    spec: criSandbox({ ...SANDBOX, 'io.bulwark.runtime': 'crun' }),
    host: CNI_PATHS,
    expect: WITH_CNI_USERNS,
    findings: [ADDED, UID_SET, GID_SET, SYSFS_FIX],
  },
  {
    name: "routed to runc by annotation: runc's version decides, which is not known here: a warning",
    spec: criSandbox({ ...SANDBOX, 'io.bulwark.runtime': 'runc' }),
    host: CNI_PATHS,
    expect: WITH_CNI_USERNS,
    findings: [ADDED, UID_SET, GID_SET, CNI_WARN, SYSFS_FIX],
  },
  {
    name: 'a CRI-O sandbox is recognised too',
    spec: criSandbox({ 'io.kubernetes.cri-o.ContainerType': 'sandbox' }),
    host: CNI_PATHS,
    expect: WITH_CNI_USERNS,
    findings: [ADDED, UID_SET, GID_SET, CNI_WARN, SYSFS_FIX],
  },
  {
    name: 'a standalone container (no CRI annotations) joining a network namespace: no pod follows it, nothing to say',
    spec: criSandbox({}),
    host: CNI_PATHS,
    expect: WITH_CNI_USERNS,
    findings: [ADDED, UID_SET, GID_SET, SYSFS_FIX],
  },
  {
    name: "an app container of the pod: the sandbox already said it (the app container's failure is the runtime's)",
    spec: criSandbox(APP),
    host: { ...CNI_PATHS, podUserNamespace: POD_USERNS },
    expect: { ...WITH_CNI_USERNS, 'linux.namespaces': namespacesWith({ type: 'network', path: CNI_NETNS }, { type: 'user', path: POD_USERNS }) },
    findings: [ADDED, UID_SET, GID_SET, SYSFS_FIX],
  },
  {
    name: 'a sandbox with a network namespace of its own (owned by the pod): nothing to say, sysfs stays',
    spec: (s) => void (s.annotations = SANDBOX),
    expect: { 'linux.namespaces': namespacesWith({ type: 'network' }), 'linux.uidMappings': ALLOCATED, 'linux.gidMappings': ALLOCATED },
    findings: [ADDED, UID_SET, GID_SET],
  },
  {
    name: "a host-network sandbox by path is inherited instead (the host's, not a CNI namespace)",
    rules: { namespaces: { required: ['pid', 'ipc', 'mount'] } },
    spec: criSandbox(SANDBOX, { type: 'network', path: '/proc/1/ns/net' }),
    host: { namespacePaths: { '/proc/1/ns/net': 'host' } },
    expect: {
      'linux.namespaces': namespacesWith({ type: 'network' }).filter((e) => e.type !== 'network'),
      'linux.uidMappings': ALLOCATED,
      'linux.gidMappings': ALLOCATED,
      [`mounts.${SYSFS_INDEX}`]: SYS_BIND,
    },
    findings: [ADDED, UID_SET, GID_SET, ['userNamespace', 'linux.namespaces', 'fix', /^joins the host's network namespace by path/], SYSFS_FIX],
  },
  {
    name: 'a sandbox bringing its own user namespace by path (containerd 2.x hostUsers: false) is given the pod block; its network namespace is then foreign too',
    spec: (s) => {
      criSandbox(SANDBOX)(s);
      s.linux!.namespaces!.push({ type: 'user', path: '/run/containerd/userns/sb1' });
      s.linux!.uidMappings = ALLOCATED;
      s.linux!.gidMappings = ALLOCATED;
    },
    host: { namespacePaths: { [CNI_NETNS]: 'other', '/run/containerd/userns/sb1': 'other' } },
    expect: { 'linux.namespaces': namespacesWith({ type: 'network', path: CNI_NETNS }), [`mounts.${SYSFS_INDEX}`]: SYS_BIND },
    findings: [['userNamespace', 'linux.namespaces', 'fix', /^joins user namespace \/run\/containerd\/userns\/sb1, which was not allocated to it; gave the container its own instead$/], CNI_WARN, SYSFS_FIX],
  },
]);

t.test('runtimeJoinOrder: what is known of each runtime', async (t) => {
  const rows: Array<[name: string | undefined, version: string | undefined, expected: JoinOrder]> = [
    ['crun', undefined, 'others-first'],
    ['crun', '1.8.1', 'others-first'],
    ['runc', undefined, 'unknown'],
    ['runc', '1.1.5+ds1', 'user-first'],
    ['runc', '1.2.9', 'user-first'],
    ['runc', '1.3.0', 'others-first'],
    ['runc', '1.4.3', 'others-first'],
    ['runc', '2.0.0', 'others-first'],
    ['runc', '0.1.1', 'user-first'],
    ['runc', 'unknown', 'unknown'],
    ['runsc', '0.0~20221219.0', 'unknown'],
    ['my-runtime', '1.0.0', 'unknown'],
    [undefined, undefined, 'unknown'],
  ];
  for (const [name, version, expected] of rows) t.equal(runtimeJoinOrder(name, version), expected, `${name ?? '(none)'} ${version ?? '(no version)'}`);
});

t.test('podNetworkProblem: refused only where the runtime is known to join the user namespace first', async (t) => {
  const spec = deepFreeze({ ociVersion: '1.0.2', annotations: SANDBOX } as Spec);
  const namespaces = deepFreeze(namespacesWith({ type: 'network', path: CNI_NETNS }));
  const host = deepFreeze(testHost(CNI_PATHS));
  const refused = podNetworkProblem(spec, namespaces, host, 'user-first');
  t.equal(refused?.refuse, true);
  t.match(refused?.message, /^joins network namespace \/var\/run\/netns\/cni-[0-9a-f-]+, which existed before the pod's user namespace and is not owned by it \(a CNI network namespace\): the pod's containers join the user namespace first on this runtime and then cannot join it \(setns EPERM\); run the pod on crun/);
  t.equal(refused?.message.includes('\n'), false, 'one line');
  t.equal(podNetworkProblem(spec, namespaces, host, 'unknown')?.refuse, false, 'unknown runtime: a warning');
  t.equal(podNetworkProblem(spec, namespaces, host, 'others-first'), null, 'crun, runc 1.3+: nothing');
  t.equal(podNetworkProblem(spec, namespaces, testHost({ namespacePaths: { [CNI_NETNS]: 'missing' } }), 'user-first'), null, 'a path that is gone: the namespaces pass refuses it, not this');
  t.equal(podNetworkProblem(spec, namespaces, testHost(), 'user-first'), null, 'an unprobed path: the namespaces pass refuses it');
  const joinsUser = namespacesWith({ type: 'network', path: CNI_NETNS }, { type: 'user', path: POD_USERNS });
  t.equal(podNetworkProblem(spec, joinsUser, host, 'user-first'), null, 'joining a user namespace by path: not the sandbox that creates it');
});
