import type { Spec } from '../../src/spec/index.js';
import { lsmPass } from '../../src/passes/lsm.js';
import { runTable } from './helpers-a.js';

const apparmor = { lsm: { apparmor: true, selinux: false } };
const selinux = { lsm: { apparmor: false, selinux: true } };
const both = { lsm: { apparmor: true, selinux: true } };
const profile = (name: string) => (s: Spec) => void (s.process!.apparmorProfile = name);
const label = (value: string) => (s: Spec) => void (s.process!.selinuxLabel = value);

runTable(lsmPass, [
  { name: 'no LSM on the host: nothing to enforce', findings: [] },
  { name: 'no LSM on the host: an unconfined request is harmless', spec: profile('unconfined'), findings: [] },
  { name: 'no LSM on the host: a privileged SELinux label is not checked', spec: label('system_u:system_r:spc_t:s0'), findings: [] },
  { name: 'no process: nothing to label', host: both, spec: (s) => void delete s.process, findings: [] },
  {
    name: "AppArmor: no profile, fixed to the profile's",
    host: apparmor,
    expect: { 'process.apparmorProfile': 'bulwark-default' },
    findings: [['lsm', 'process.apparmorProfile', 'fix', /^sets no AppArmor profile; set to bulwark-default$/]],
  },
  {
    name: 'AppArmor: an empty profile counts as none',
    host: apparmor,
    spec: profile(''),
    expect: { 'process.apparmorProfile': 'bulwark-default' },
    findings: [['lsm', 'process.apparmorProfile', 'fix', /^sets no AppArmor profile;/]],
  },
  {
    name: 'AppArmor: no profile under deny',
    rules: { lsm: { action: 'deny' } },
    host: apparmor,
    findings: [['lsm', 'process.apparmorProfile', 'deny', /^sets no AppArmor profile$/]],
  },
  {
    name: 'AppArmor: the profile names none, so nothing is invented',
    rules: { lsm: { apparmorProfile: '' } },
    host: apparmor,
    findings: [],
  },
  {
    name: 'AppArmor: a named profile of the config is kept',
    host: apparmor,
    spec: profile('my-app'),
    findings: [],
  },
  {
    name: 'AppArmor: unconfined under fix becomes the profile\'s',
    host: apparmor,
    spec: profile('unconfined'),
    expect: { 'process.apparmorProfile': 'bulwark-default' },
    findings: [['lsm', 'process.apparmorProfile', 'fix', /^asks for the unconfined AppArmor profile; set to bulwark-default$/]],
  },
  {
    name: 'AppArmor: unconfined under deny',
    rules: { lsm: { action: 'deny' } },
    host: apparmor,
    spec: profile('unconfined'),
    findings: [['lsm', 'process.apparmorProfile', 'deny', /^asks for the unconfined AppArmor profile$/]],
  },
  {
    name: 'AppArmor: unconfined under fix with no profile to put instead: refused',
    rules: { lsm: { apparmorProfile: '' } },
    host: apparmor,
    spec: profile('unconfined'),
    findings: [['lsm', 'process.apparmorProfile', 'deny', /^asks for the unconfined AppArmor profile$/]],
  },
  {
    name: 'AppArmor: unconfined under warn with no profile to put instead',
    rules: { lsm: { action: 'warn', apparmorProfile: '' } },
    host: apparmor,
    spec: profile('unconfined'),
    findings: [['lsm', 'process.apparmorProfile', 'warn', /unconfined/]],
  },
  {
    name: 'SELinux: no label, fixed to the profile type',
    host: selinux,
    expect: { 'process.selinuxLabel': 'system_u:system_r:container_t:s0' },
    findings: [['lsm', 'process.selinuxLabel', 'fix', /^sets no SELinux label; set to system_u:system_r:container_t:s0$/]],
  },
  {
    name: 'SELinux: no label under warn',
    rules: { lsm: { action: 'warn' } },
    host: selinux,
    findings: [['lsm', 'process.selinuxLabel', 'warn', /^sets no SELinux label$/]],
  },
  {
    name: 'SELinux: a confined label with MCS categories is kept',
    host: selinux,
    spec: label('system_u:system_r:container_t:s0:c123,c456'),
    findings: [],
  },
  {
    name: 'SELinux: spc_t is refused even under fix',
    host: selinux,
    spec: label('system_u:system_r:spc_t:s0'),
    findings: [['lsm', 'process.selinuxLabel', 'deny', /^system_u:system_r:spc_t:s0 runs the process unconfined \(type spc_t\)$/]],
  },
  {
    name: 'SELinux: unconfined_t is refused',
    rules: { lsm: { action: 'deny' } },
    host: selinux,
    spec: label('unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023'),
    findings: [['lsm', 'process.selinuxLabel', 'deny', /type unconfined_t/]],
  },
  {
    name: 'SELinux: spc_t under warn',
    rules: { lsm: { action: 'warn' } },
    host: selinux,
    spec: label('system_u:system_r:spc_t:s0'),
    findings: [['lsm', 'process.selinuxLabel', 'warn', /type spc_t/]],
  },
  {
    name: 'SELinux: a label without a type is refused',
    host: selinux,
    spec: label('spc_t'),
    findings: [['lsm', 'process.selinuxLabel', 'deny', /^spc_t is not a user:role:type\[:level\] label$/]],
  },
  {
    name: 'both modules: both fields set in one pass',
    host: both,
    expect: { 'process.apparmorProfile': 'bulwark-default', 'process.selinuxLabel': 'system_u:system_r:container_t:s0' },
    findings: [
      ['lsm', 'process.apparmorProfile', 'fix', /^sets no AppArmor profile;/],
      ['lsm', 'process.selinuxLabel', 'fix', /^sets no SELinux label;/],
    ],
  },
]);
