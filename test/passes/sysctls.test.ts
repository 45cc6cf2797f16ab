import t from 'tap';
import { sysctlsPass, dottedName, matchesSysctlGlob } from '../../src/passes/sysctls.js';
import type { Spec } from '../../src/spec/index.js';
import { linux, runTable, type Row } from './helpers-b.js';

const FIX = { sysctls: { action: 'fix' as const } };
const WARN = { sysctls: { action: 'warn' as const } };
const NETNS = '/var/run/netns/cni-1234';

const sysctl = (values: Record<string, string>) => linux((l) => (l.sysctl = values));
const withoutNamespace = (type: string) => (s: Spec) => void (s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== type));
const joinNetns = (s: Spec) => void (s.linux!.namespaces = s.linux!.namespaces!.map((ns) => (ns.type === 'network' ? { type: 'network', path: NETNS } : ns)));
const both = (...edits: Array<(s: Spec) => void>) => (s: Spec) => edits.forEach((edit) => edit(s));

const rows: Row[] = [
  { name: 'no sysctls', findings: [] },
  { name: 'allowed namespaced sysctls', spec: sysctl({ 'net.ipv4.ip_local_port_range': '1024 65000', 'kernel.shm_rmid_forced': '1' }), findings: [] },
  {
    name: 'deny: kernel.randomize_va_space changes the host',
    spec: sysctl({ 'kernel.randomize_va_space': '0' }),
    findings: [['sysctls', 'linux.sysctl["kernel.randomize_va_space"]', 'deny', /^is not namespaced: writing it changes the host kernel for every process$/]],
  },
  {
    name: 'fix: a host sysctl is removed, the others kept',
    spec: sysctl({ 'net.ipv4.tcp_syncookies': '1', 'kernel.randomize_va_space': '0', 'vm.overcommit_memory': '1' }),
    rules: FIX,
    expect: { 'linux.sysctl': { 'net.ipv4.tcp_syncookies': '1' } },
    findings: [
      ['sysctls', 'linux.sysctl["kernel.randomize_va_space"]', 'fix', /^is not namespaced: .*; removed$/],
      ['sysctls', 'linux.sysctl["vm.overcommit_memory"]', 'fix', /^is not namespaced/],
    ],
  },
  {
    name: 'warn: a host sysctl is still refused',
    spec: sysctl({ 'kernel.randomize_va_space': '0', 'net.ipv4.ip_forward': '1' }),
    rules: WARN,
    findings: [
      ['sysctls', 'linux.sysctl["kernel.randomize_va_space"]', 'deny', /^is not namespaced/],
      ['sysctls', 'linux.sysctl["net.ipv4.ip_forward"]', 'warn', /^is not in the profile's sysctl allow list$/],
    ],
  },
  {
    name: 'a profile allow entry does not make a host sysctl safe',
    spec: sysctl({ 'kernel.randomize_va_space': '0' }),
    rules: { sysctls: { allow: ['kernel.*'] } },
    findings: [['sysctls', 'linux.sysctl["kernel.randomize_va_space"]', 'deny', /^is not namespaced/]],
  },
  {
    name: 'deny: a namespaced sysctl outside the allow list',
    spec: sysctl({ 'net.ipv4.ip_forward': '1' }),
    findings: [['sysctls', 'linux.sysctl["net.ipv4.ip_forward"]', 'deny', /^is not in the profile's sysctl allow list$/]],
  },
  {
    name: 'fix: a namespaced sysctl outside the allow list is removed',
    spec: sysctl({ 'net.ipv4.ip_forward': '1' }),
    rules: FIX,
    expect: { 'linux.sysctl': {} },
    findings: [['sysctls', 'linux.sysctl["net.ipv4.ip_forward"]', 'fix', /allow list; removed$/]],
  },
  { name: 'the /proc/sys path form is matched as its dotted name', spec: sysctl({ 'net/ipv4/ip_local_port_range': '1024 65000' }), findings: [] },
  {
    name: '* matches any run of characters, so VLAN interface names work',
    spec: sysctl({ 'net.ipv4.conf.eth0.forwarding': '1', 'net/ipv4/conf/eth0.100/forwarding': '1' }),
    rules: { sysctls: { allow: ['net.ipv4.conf.*.forwarding'] } },
    findings: [],
  },
  {
    name: 'ipc sysctls need a private IPC namespace',
    spec: both(sysctl({ 'kernel.shm_rmid_forced': '1' }), withoutNamespace('ipc')),
    findings: [['sysctls', 'linux.sysctl["kernel.shm_rmid_forced"]', 'deny', /^lives in the IPC namespace, which the container shares with the host: writing it changes the host$/]],
  },
  {
    name: 'fix: net sysctls in a host-network container are removed',
    spec: both(sysctl({ 'net.ipv4.ip_local_port_range': '1024 65000' }), withoutNamespace('network')),
    rules: FIX,
    expect: { 'linux.sysctl': {} },
    findings: [['sysctls', 'linux.sysctl["net.ipv4.ip_local_port_range"]', 'fix', /^lives in the network namespace, which the container shares with the host: .*; removed$/]],
  },
  {
    name: "a joined network namespace that is the host's",
    spec: both(sysctl({ 'net.ipv4.ip_local_port_range': '1024 65000' }), joinNetns),
    host: { namespacePaths: { [NETNS]: 'host' } },
    findings: [['sysctls', 'linux.sysctl["net.ipv4.ip_local_port_range"]', 'deny', /^lives in the network namespace/]],
  },
  {
    name: 'a joined network namespace the host facts do not know about',
    spec: both(sysctl({ 'net.ipv4.ip_local_port_range': '1024 65000' }), joinNetns),
    findings: [['sysctls', 'linux.sysctl["net.ipv4.ip_local_port_range"]', 'deny', /^lives in the network namespace/]],
  },
  {
    name: "a joined pod network namespace that is not the host's",
    spec: both(sysctl({ 'net.ipv4.ip_local_port_range': '1024 65000' }), joinNetns),
    host: { namespacePaths: { [NETNS]: 'other' } },
    findings: [],
  },
  {
    name: 'names that could walk elsewhere are refused',
    spec: sysctl({ 'net.ipv4..ip_forward': '1', 'net/../kernel/randomize_va_space': '0', 'net.': '1' }),
    rules: { sysctls: { allow: ['net.*'] } },
    findings: [
      ['sysctls', 'linux.sysctl["net.ipv4..ip_forward"]', 'deny', /^is not a well-formed sysctl name$/],
      ['sysctls', 'linux.sysctl["net/../kernel/randomize_va_space"]', 'deny', /^is not a well-formed sysctl name$/],
      ['sysctls', 'linux.sysctl["net."]', 'deny', /^is not a well-formed sysctl name$/],
    ],
  },
  { name: 'UTS sysctls with a private UTS namespace', spec: sysctl({ 'kernel.domainname': 'example.org' }), rules: { sysctls: { allow: ['kernel.domainname'] } }, findings: [] },
  { name: 'fs.mqueue with a private IPC namespace', spec: sysctl({ 'fs.mqueue.msg_max': '10' }), rules: { sysctls: { allow: ['fs.mqueue.*'] } }, findings: [] },
];

runTable(sysctlsPass, { rows });

t.test('dottedName follows sysctl(8): the path form swaps . and /', async (t) => {
  t.equal(dottedName('net.ipv4.ip_forward'), 'net.ipv4.ip_forward');
  t.equal(dottedName('net/ipv4/ip_forward'), 'net.ipv4.ip_forward');
  t.equal(dottedName('net/ipv4/conf/eth0.100/forwarding'), 'net.ipv4.conf.eth0/100.forwarding');
  t.equal(dottedName('net.ipv4.conf.eth0/100.forwarding'), 'net.ipv4.conf.eth0/100.forwarding');
});

t.test('matchesSysctlGlob', async (t) => {
  t.ok(matchesSysctlGlob('kernel.shm*', 'kernel.shmmax'));
  t.ok(matchesSysctlGlob('net.*', 'net.ipv4.conf.all.forwarding'));
  t.notOk(matchesSysctlGlob('net.ipv4.ip_forward', 'net.ipv4Xip_forward'), 'a dot is a dot');
  t.notOk(matchesSysctlGlob('kernel.sem', 'kernel.semx'));
  t.ok(matchesSysctlGlob('net/ipv4/*', 'net.ipv4.tcp_syncookies'), 'patterns may use the path form too');
});
