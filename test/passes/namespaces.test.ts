import t from 'tap';
import type { NamespaceReference, NamespaceType, Spec } from '../../src/spec/index.js';
import type { NamespacesRule, RuleAction } from '../../src/profile/types.js';
import { hostNamespaceAllowed, namespacesPass } from '../../src/passes/namespaces.js';
import { runTable } from './helpers-a.js';

const RUNC = ['pid', 'network', 'ipc', 'uts', 'mount'] as const;
const ALL: NamespaceReference[] = [...RUNC, 'cgroup'].map((type) => ({ type }) as NamespaceReference);
const HOST_NET = '/proc/1/ns/net';
const POD_NET = '/var/run/netns/cni-1234';

/** Sets linux.namespaces. */
function namespaces(entries: NamespaceReference[]) {
  return (s: Spec) => {
    s.linux!.namespaces = entries;
  };
}
/** All six required types, with the network entry swapped for `network`. */
function withNetwork(...network: NamespaceReference[]): NamespaceReference[] {
  return [{ type: 'pid' }, ...network, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }];
}
const fix = { namespaces: { action: 'fix' as const } };
const namespacePaths = { [HOST_NET]: 'host', [POD_NET]: 'other', '/gone': 'missing' } as const;

runTable(namespacesPass, [
  {
    name: 'runc default under deny: no cgroup namespace is refused',
    findings: [['namespaces', 'linux.namespaces', 'deny', /^shares the host's cgroup namespace$/]],
  },
  {
    name: 'runc default under fix: a cgroup namespace is appended',
    rules: fix,
    expect: { 'linux.namespaces': ALL },
    findings: [['namespaces', 'linux.namespaces', 'fix', /^shares the host's cgroup namespace; gave the container its own$/]],
  },
  { name: 'all six present: nothing to do', spec: namespaces(ALL), findings: [] },
  {
    name: 'host network (entry left out) under fix: added after the others',
    rules: fix,
    spec: namespaces(ALL.filter((e) => e.type !== 'network')),
    expect: { 'linux.namespaces': [...ALL.filter((e) => e.type !== 'network'), { type: 'network' }] },
    findings: [['namespaces', 'linux.namespaces', 'fix', /^shares the host's network namespace; gave the container its own$/]],
  },
  {
    name: 'no namespaces at all under fix: all required types added in profile order',
    rules: fix,
    spec: (s) => {
      delete s.linux!.namespaces;
    },
    expect: { 'linux.namespaces': ALL },
    findings: ['PID', 'network', 'IPC', 'UTS', 'mount', 'cgroup'].map(
      (label) => ['namespaces', 'linux.namespaces', 'fix', new RegExp(`^shares the host's ${label} namespace;`)] as const,
    ),
  },
  {
    name: 'no linux section under fix: one is created',
    rules: { namespaces: { action: 'fix', required: ['pid'] } },
    spec: (s) => {
      delete s.linux;
    },
    expect: { linux: { namespaces: [{ type: 'pid' }] } },
    findings: [['namespaces', 'linux.namespaces', 'fix', /^shares the host's PID namespace;/]],
  },
  {
    name: "joining the host's network namespace under fix: replaced in place by a fresh one",
    rules: fix,
    host: { namespacePaths },
    spec: namespaces(withNetwork({ type: 'network', path: HOST_NET })),
    expect: { 'linux.namespaces': withNetwork({ type: 'network' }) },
    findings: [['namespaces', 'linux.namespaces', 'fix', /^joins the host's network namespace \(\/proc\/1\/ns\/net\); gave the container its own instead$/]],
  },
  {
    name: "joining the host's network namespace under deny",
    host: { namespacePaths },
    spec: namespaces(withNetwork({ type: 'network', path: HOST_NET })),
    findings: [['namespaces', 'linux.namespaces', 'deny', /^joins the host's network namespace \(\/proc\/1\/ns\/net\)$/]],
  },
  {
    name: "joining the host's network namespace under warn",
    rules: { namespaces: { action: 'warn' } },
    host: { namespacePaths },
    spec: namespaces(withNetwork({ type: 'network', path: HOST_NET })),
    findings: [['namespaces', 'linux.namespaces', 'warn', /^joins the host's network namespace/]],
  },
  {
    name: "joining a pod sandbox's namespace is fine",
    rules: fix,
    host: { namespacePaths },
    spec: namespaces(withNetwork({ type: 'network', path: POD_NET })),
    findings: [],
  },
  {
    name: 'a namespace path that no longer exists is refused even under fix (fail closed)',
    rules: fix,
    host: { namespacePaths },
    spec: namespaces(withNetwork({ type: 'network', path: '/gone' })),
    findings: [['namespaces', 'linux.namespaces', 'deny', /^cannot verify network namespace path \/gone: it does not exist or cannot be read$/]],
  },
  {
    name: 'a namespace path nobody probed is refused even under fix (fail closed)',
    rules: fix,
    host: { namespacePaths },
    spec: namespaces(withNetwork({ type: 'network', path: '/proc/4242/ns/net' })),
    findings: [['namespaces', 'linux.namespaces', 'deny', /^cannot verify network namespace path \/proc\/4242\/ns\/net: it was not probed$/]],
  },
  {
    name: 'a path named like an Object.prototype member is not mistaken for a probed one',
    rules: fix,
    spec: namespaces(withNetwork({ type: 'network', path: 'constructor' })),
    findings: [['namespaces', 'linux.namespaces', 'deny', /^cannot verify network namespace path constructor: it was not probed$/]],
  },
  {
    name: 'an empty path means a new namespace (as runc reads it)',
    spec: namespaces(withNetwork({ type: 'network', path: '' })),
    findings: [],
  },
  {
    name: 'duplicate entries of one type are refused even under fix, and left alone',
    rules: fix,
    host: { namespacePaths },
    spec: namespaces(withNetwork({ type: 'network' }, { type: 'network', path: HOST_NET })),
    findings: [['namespaces', 'linux.namespaces', 'deny', /^lists the network namespace 2 times$/]],
  },
  {
    name: 'duplicate user entries are left to the user namespace pass',
    spec: namespaces([...ALL, { type: 'user' }, { type: 'user' }]),
    findings: [],
  },
  {
    name: 'types outside `required` are not checked (host network allowed by the profile)',
    rules: { namespaces: { action: 'fix', required: ['pid', 'ipc', 'uts', 'mount', 'cgroup'] } },
    host: { namespacePaths },
    spec: namespaces(withNetwork({ type: 'network', path: HOST_NET })),
    findings: [],
  },
]);

// What "the profile allows a host namespace" means to the user namespace pass, which then gives
// such a namespace by inheritance instead of by path.
t.test('hostNamespaceAllowed', async (t) => {
  const rows: Array<[action: RuleAction, required: NamespacesRule['required'], type: NamespaceType, allowed: boolean]> = [
    ['deny', ['network'], 'network', false],
    ['fix', ['network'], 'network', false],
    ['warn', ['network'], 'network', true],
    ['off', ['network'], 'network', true],
    ['deny', ['pid', 'ipc'], 'network', true],
    ['fix', [], 'uts', true],
  ];
  for (const [action, required, type, allowed] of rows) {
    t.equal(hostNamespaceAllowed({ action, required }, type), allowed, `${action}, required [${required.join(',')}]: host ${type} ${allowed ? 'allowed' : 'not allowed'}`);
  }
});
