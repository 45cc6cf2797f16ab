import { devicesPass } from '../../src/passes/devices.js';
import type { Device, DeviceCgroup } from '../../src/spec/index.js';
import { linux, runTable, type Row } from './helpers-b.js';

const FIX = { devices: { action: 'fix' as const } };
const DENY_ALL: DeviceCgroup = { allow: false, access: 'rwm' };

const cgroupRules = (...rules: DeviceCgroup[]) => linux((l) => (l.resources = { ...l.resources, devices: rules }));
const nodes = (...devices: Device[]) => linux((l) => (l.devices = devices));
const char = (path: string, major: number, minor: number): Device => ({ path, type: 'c', major, minor, fileMode: 0o666, uid: 0, gid: 0 });

const rows: Row[] = [
  { name: "runc spec's deny-all list complies", findings: [] },
  {
    name: 'deny: a privileged allow-all list',
    spec: cgroupRules({ allow: true, access: 'rwm' }),
    findings: [
      ['devices', 'linux.resources.devices[0]', 'deny', /^allows every device \(a \*:\* rwm\), as a privileged container would$/],
      ['devices', 'linux.resources.devices', 'deny', /^does not start with a deny-all rule/],
    ],
  },
  {
    name: 'fix: a privileged allow-all list becomes deny-all',
    spec: cgroupRules({ allow: true, access: 'rwm' }),
    rules: FIX,
    expect: { 'linux.resources.devices': [DENY_ALL] },
    findings: [
      ['devices', 'linux.resources.devices[0]', 'fix', /^allows every device \(a \*:\* rwm\), as a privileged container would; removed$/],
      ['devices', 'linux.resources.devices', 'fix', /^does not start with a deny-all rule, .*; prepended \{allow: false, access: "rwm"\}$/],
    ],
  },
  {
    name: 'fix: type a re-allowing everything after the deny-all is removed',
    spec: cgroupRules(DENY_ALL, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'a', access: 'r' }),
    rules: FIX,
    expect: { 'linux.resources.devices': [DENY_ALL, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] },
    findings: [['devices', 'linux.resources.devices[2]', 'fix', /^allows every device \(a \*:\* r\)/]],
  },
  {
    name: 'all char devices (major and minor absent)',
    spec: cgroupRules(DENY_ALL, { allow: true, type: 'c', access: 'rwm' }),
    findings: [['devices', 'linux.resources.devices[1]', 'deny', /^allows opening a whole range of devices \(c \*:\* rwm\)$/]],
  },
  {
    name: 'all char devices (major and minor -1)',
    spec: cgroupRules(DENY_ALL, { allow: true, type: 'c', major: -1, minor: -1, access: 'rw' }),
    findings: [['devices', 'linux.resources.devices[1]', 'deny', /\(c \*:\* rw\)$/]],
  },
  {
    name: 'every memory device (c 1:*: /dev/mem, /dev/kmem, /dev/port)',
    spec: cgroupRules(DENY_ALL, { allow: true, type: 'c', major: 1, access: 'rw' }),
    findings: [['devices', 'linux.resources.devices[1]', 'deny', /\(c 1:\* rw\)$/]],
  },
  { name: 'pty slaves (c 136:* rwm), as runc itself allows', spec: cgroupRules(DENY_ALL, { allow: true, type: 'c', major: 136, access: 'rwm' }), findings: [] },
  {
    name: 'mknod-only wildcards (c *:* m, b *:* m), as in Docker configs',
    spec: cgroupRules(DENY_ALL, { allow: true, type: 'c', access: 'm' }, { allow: true, type: 'b', major: -1, minor: -1, access: 'm' }),
    findings: [],
  },
  {
    name: 'a block device allow',
    spec: cgroupRules(DENY_ALL, { allow: true, type: 'b', major: 8, minor: 0, access: 'rw' }),
    findings: [['devices', 'linux.resources.devices[1]', 'deny', /^allows opening block devices \(b 8:0 rw\): raw access to host disks$/]],
  },
  {
    name: 'a single char device allow is fine',
    spec: cgroupRules(DENY_ALL, { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' }),
    findings: [],
  },
  { name: 'a type-a deny with partial access is still deny-all (the kernel ignores access for a)', spec: cgroupRules({ allow: false, type: 'a', access: 'r' }), findings: [] },
  {
    name: 'fix: an empty list gets a deny-all',
    spec: cgroupRules(),
    rules: FIX,
    expect: { 'linux.resources.devices': [DENY_ALL] },
    findings: [['devices', 'linux.resources.devices', 'fix', /prepended/]],
  },
  {
    name: 'fix: no resources at all',
    spec: linux((l) => delete l.resources),
    rules: FIX,
    expect: { 'linux.resources': { devices: [DENY_ALL] } },
    findings: [['devices', 'linux.resources.devices', 'fix', /prepended/]],
  },
  {
    name: 'fix: a deny-all that comes after allows gets one in front too',
    spec: cgroupRules({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, DENY_ALL),
    rules: FIX,
    expect: { 'linux.resources.devices': [DENY_ALL, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, DENY_ALL] },
    findings: [['devices', 'linux.resources.devices', 'fix', /prepended/]],
  },
  {
    name: "runc's default nodes with their standard numbers, and an allowed extra node",
    spec: nodes(char('/dev/null', 1, 3), char('/dev/zero', 1, 5), char('/dev/full', 1, 7), char('/dev/random', 1, 8), char('/dev/urandom', 1, 9), char('/dev/tty', 5, 0), char('/dev/console', 5, 1), char('/dev/ptmx', 5, 2), char('/dev/fuse', 10, 229)),
    findings: [],
  },
  { name: 'a default node path written with //', spec: nodes(char('/dev//null', 1, 3)), findings: [] },
  {
    name: 'deny: a block device node',
    spec: nodes(char('/dev/null', 1, 3), { path: '/dev/sda', type: 'b', major: 8, minor: 0 }),
    findings: [['devices', 'linux.devices[1]', 'deny', /^creates block device \/dev\/sda \(b 8:0\): raw access to a host disk$/]],
  },
  {
    name: 'fix: a block device node is removed',
    spec: nodes(char('/dev/null', 1, 3), { path: '/dev/sda', type: 'b', major: 8, minor: 0 }, char('/dev/zero', 1, 5)),
    rules: FIX,
    expect: { 'linux.devices': [char('/dev/null', 1, 3), char('/dev/zero', 1, 5)] },
    findings: [['devices', 'linux.devices[1]', 'fix', /^creates block device \/dev\/sda \(b 8:0\): raw access to a host disk; removed$/]],
  },
  {
    name: 'an allowed path created as a block device',
    spec: nodes({ path: '/dev/fuse', type: 'b', major: 8, minor: 0 }),
    findings: [['devices', 'linux.devices[0]', 'deny', /^creates block device \/dev\/fuse/]],
  },
  {
    name: '/dev/null that is really /dev/mem',
    spec: nodes(char('/dev/null', 1, 1)),
    findings: [['devices', 'linux.devices[0]', 'deny', /^creates \/dev\/null as c 1:1, not the standard c 1:3$/]],
  },
  {
    name: 'a node neither default nor allowed',
    spec: nodes(char('/dev/mem', 1, 1)),
    findings: [['devices', 'linux.devices[0]', 'deny', /^creates device node \/dev\/mem \(c 1:1\), which is neither a runtime default nor allowed by the profile$/]],
  },
  {
    name: 'warn: reported, kept',
    spec: nodes(char('/dev/mem', 1, 1)),
    rules: { devices: { action: 'warn' } },
    findings: [['devices', 'linux.devices[0]', 'warn', /\/dev\/mem/]],
  },
];

runTable(devicesPass, { rows });
