import t from 'tap';
import type { Capabilities, Spec } from '../../src/spec/index.js';
import { capabilitiesPass, LINUX_CAPABILITIES } from '../../src/passes/capabilities.js';
import { runTable } from './helpers-a.js';

const RUNC_DEFAULT = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
const AMBIENT_EMPTIED = ['capabilities', 'process.capabilities.ambient', 'fix', /^emptied \(held CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE\): ambient/] as const;

/** Replaces process.capabilities (sets left out are absent). */
function caps(sets: Capabilities) {
  return (s: Spec) => {
    s.process!.capabilities = sets;
  };
}

runTable(capabilitiesPass, [
  {
    name: 'runc default: ambient set emptied, the rest is allowed',
    expect: { 'process.capabilities.ambient': [] },
    findings: [AMBIENT_EMPTIED],
  },
  {
    name: 'no process.capabilities: runc grants none, nothing to do',
    spec: (s) => {
      delete s.process!.capabilities;
    },
    findings: [],
  },
  {
    name: 'no process at all',
    spec: (s) => {
      delete s.process;
    },
    findings: [],
  },
  {
    name: 'allowed sets with empty ambient and inheritable: untouched',
    spec: caps({ bounding: RUNC_DEFAULT, effective: RUNC_DEFAULT, permitted: RUNC_DEFAULT, inheritable: [], ambient: [] }),
    findings: [],
  },
  {
    name: 'fix: capabilities outside allow are dropped, one finding per set',
    spec: caps({ bounding: [...RUNC_DEFAULT, 'CAP_NET_RAW', 'CAP_MKNOD'], effective: ['CAP_NET_RAW', 'CAP_KILL'], permitted: RUNC_DEFAULT }),
    expect: { 'process.capabilities.bounding': RUNC_DEFAULT, 'process.capabilities.effective': ['CAP_KILL'] },
    findings: [
      ['capabilities', 'process.capabilities.bounding', 'fix', /^drops CAP_NET_RAW, CAP_MKNOD \(not in the profile's allow list\)$/],
      ['capabilities', 'process.capabilities.effective', 'fix', /^drops CAP_NET_RAW /],
    ],
  },
  {
    name: 'fix keeps input order and lists a duplicated capability once',
    spec: caps({ bounding: ['CAP_KILL', 'CAP_NET_RAW', 'CAP_AUDIT_WRITE', 'CAP_NET_RAW', 'CAP_CHOWN'] }),
    expect: { 'process.capabilities.bounding': ['CAP_KILL', 'CAP_AUDIT_WRITE', 'CAP_CHOWN'] },
    findings: [['capabilities', 'process.capabilities.bounding', 'fix', /^drops CAP_NET_RAW \(/]],
  },
  {
    name: 'deny list with deny: one finding per capability, config left as is',
    spec: caps({ bounding: [...RUNC_DEFAULT, 'CAP_SYS_ADMIN'], permitted: ['CAP_SYS_ADMIN'], effective: ['CAP_SYS_ADMIN'] }),
    findings: [['capabilities.deny', 'process.capabilities', 'deny', /^adds CAP_SYS_ADMIN$/]],
  },
  {
    name: 'deny list with fix: dropped from every set',
    rules: { capabilities: { deny: { action: 'fix', names: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } } },
    spec: caps({ bounding: ['CAP_SYS_ADMIN', 'CAP_KILL', 'CAP_NET_ADMIN'], permitted: ['CAP_KILL', 'CAP_SYS_ADMIN'], effective: ['CAP_SYS_ADMIN'] }),
    expect: {
      'process.capabilities.bounding': ['CAP_KILL'],
      'process.capabilities.permitted': ['CAP_KILL'],
      'process.capabilities.effective': [],
    },
    findings: [
      ['capabilities.deny', 'process.capabilities', 'fix', /^adds CAP_SYS_ADMIN; dropped$/],
      ['capabilities.deny', 'process.capabilities', 'fix', /^adds CAP_NET_ADMIN; dropped$/],
    ],
  },
  {
    name: 'deny list with warn still leaves the capability to the allow list (dropped by fix)',
    rules: { capabilities: { deny: { action: 'warn', names: ['CAP_SYS_ADMIN'] } } },
    spec: caps({ bounding: ['CAP_KILL', 'CAP_SYS_ADMIN'] }),
    expect: { 'process.capabilities.bounding': ['CAP_KILL'] },
    findings: [
      ['capabilities.deny', 'process.capabilities', 'warn', /^adds CAP_SYS_ADMIN$/],
      ['capabilities', 'process.capabilities.bounding', 'fix', /^drops CAP_SYS_ADMIN /],
    ],
  },
  {
    name: 'deny list off: a listed capability is judged by the allow list only',
    rules: { capabilities: { deny: { action: 'off', names: ['CAP_SYS_ADMIN'] } } },
    spec: caps({ bounding: ['CAP_SYS_ADMIN'] }),
    expect: { 'process.capabilities.bounding': [] },
    findings: [['capabilities', 'process.capabilities.bounding', 'fix', /^drops CAP_SYS_ADMIN /]],
  },
  {
    name: 'the deny list wins over an allow list that also names the capability',
    rules: { capabilities: { allow: ['CAP_KILL', 'CAP_SYS_ADMIN'] } },
    spec: caps({ bounding: ['CAP_KILL', 'CAP_SYS_ADMIN'] }),
    findings: [['capabilities.deny', 'process.capabilities', 'deny', /^adds CAP_SYS_ADMIN$/]],
  },
  {
    name: 'a deny-listed capability only in the ambient set is still reported',
    rules: { capabilities: { deny: { action: 'fix', names: ['CAP_SYS_ADMIN'] } } },
    spec: caps({ bounding: ['CAP_KILL'], ambient: ['CAP_SYS_ADMIN'] }),
    expect: { 'process.capabilities.ambient': [] },
    findings: [
      ['capabilities.deny', 'process.capabilities', 'fix', /^adds CAP_SYS_ADMIN; dropped$/],
      ['capabilities', 'process.capabilities.ambient', 'fix', /^emptied \(held CAP_SYS_ADMIN\)/],
    ],
  },
  {
    name: 'inheritable set is emptied even when every entry is allowed (CVE-2022-29162)',
    spec: caps({ bounding: ['CAP_KILL'], inheritable: ['CAP_KILL'] }),
    expect: { 'process.capabilities.inheritable': [] },
    findings: [['capabilities', 'process.capabilities.inheritable', 'fix', /^emptied \(held CAP_KILL\): .*CVE-2022-29162/]],
  },
  {
    name: 'unknown capability names are denied whatever the action, and kept',
    spec: caps({ bounding: ['CAP_KILL', 'CAP_FOO', 'cap_chown'], effective: ['CAP_FOO'] }),
    findings: [
      ['capabilities', 'process.capabilities', 'deny', /^names unknown capability CAP_FOO$/],
      ['capabilities', 'process.capabilities', 'deny', /^names unknown capability cap_chown$/],
    ],
  },
  {
    name: 'deny action: outside allow and a non-empty ambient set are refused, nothing changes',
    rules: { capabilities: { action: 'deny' } },
    spec: caps({ bounding: ['CAP_KILL', 'CAP_NET_RAW'], ambient: ['CAP_KILL'] }),
    findings: [
      ['capabilities', 'process.capabilities.bounding', 'deny', /^holds CAP_NET_RAW, outside the profile's allow list$/],
      ['capabilities', 'process.capabilities.ambient', 'deny', /^holds CAP_KILL; must be empty/],
    ],
  },
  {
    name: 'warn action: reported, nothing changes',
    rules: { capabilities: { action: 'warn' } },
    spec: caps({ bounding: ['CAP_NET_RAW'], inheritable: ['CAP_NET_RAW'] }),
    findings: [
      ['capabilities', 'process.capabilities.bounding', 'warn', /^holds CAP_NET_RAW, outside/],
      ['capabilities', 'process.capabilities.inheritable', 'warn', /^holds CAP_NET_RAW; must be empty/],
    ],
  },
  {
    name: 'warn action with a fixing deny list: only the deny list rewrites',
    rules: { capabilities: { action: 'warn', deny: { action: 'fix', names: ['CAP_SYS_ADMIN'] } } },
    spec: caps({ bounding: ['CAP_NET_RAW', 'CAP_SYS_ADMIN'], ambient: ['CAP_SYS_ADMIN', 'CAP_NET_RAW'] }),
    expect: { 'process.capabilities.bounding': ['CAP_NET_RAW'], 'process.capabilities.ambient': ['CAP_NET_RAW'] },
    findings: [
      ['capabilities.deny', 'process.capabilities', 'fix', /^adds CAP_SYS_ADMIN; dropped$/],
      ['capabilities', 'process.capabilities.bounding', 'warn', /^holds CAP_NET_RAW, outside/],
      ['capabilities', 'process.capabilities.ambient', 'warn', /^holds CAP_SYS_ADMIN, CAP_NET_RAW; must be empty/],
    ],
  },
]);

t.test('the capability table matches Linux 6.x: 41 names, unique, CAP_ prefixed', async (t) => {
  t.equal(LINUX_CAPABILITIES.length, 41);
  t.equal(new Set(LINUX_CAPABILITIES).size, 41);
  t.ok(LINUX_CAPABILITIES.every((c) => /^CAP_[A-Z_]+$/.test(c)));
  t.equal(LINUX_CAPABILITIES[21], 'CAP_SYS_ADMIN', 'bit 21');
  t.equal(LINUX_CAPABILITIES[40], 'CAP_CHECKPOINT_RESTORE', 'bit 40');
});
