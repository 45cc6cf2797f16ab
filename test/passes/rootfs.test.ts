import type { Spec } from '../../src/spec/index.js';
import { rootfsPass } from '../../src/passes/rootfs.js';
import { runTable } from './helpers-a.js';

const on = (action: 'fix' | 'deny' | 'warn', readonly = true) => ({ rootfs: { action, readonly } });
const root = (path: string, readonly?: boolean) => (s: Spec) => {
  s.root = readonly === undefined ? { path } : { path, readonly };
};

runTable(rootfsPass, [
  { name: 'runc default (read-only rootfs): nothing to do', rules: on('fix'), findings: [] },
  {
    name: 'writable rootfs under fix: made read-only',
    rules: on('fix'),
    spec: root('rootfs', false),
    expect: { 'root.readonly': true },
    findings: [['rootfs', 'root.readonly', 'fix', /^is false, so the root filesystem is writable; made read-only$/]],
  },
  {
    name: 'readonly not set under fix',
    rules: on('fix'),
    spec: root('rootfs'),
    expect: { 'root.readonly': true },
    findings: [['rootfs', 'root.readonly', 'fix', /^is not set, so the root filesystem is writable; made read-only$/]],
  },
  {
    name: 'writable rootfs under deny',
    rules: on('deny'),
    spec: root('rootfs', false),
    findings: [['rootfs', 'root.readonly', 'deny', /^is false, so the root filesystem is writable$/]],
  },
  {
    name: 'writable rootfs under warn',
    rules: on('warn'),
    spec: root('rootfs'),
    findings: [['rootfs', 'root.readonly', 'warn', /^is not set/]],
  },
  { name: 'readonly not required: a writable rootfs is fine', rules: on('fix', false), spec: root('rootfs', false), findings: [] },
  {
    name: 'missing root is refused',
    rules: on('warn', false),
    spec: (s) => void delete s.root,
    findings: [['rootfs', 'root', 'deny', /^is missing/]],
  },
  {
    name: 'the host root as root.path is refused',
    rules: on('fix'),
    spec: root('/', true),
    findings: [['rootfs', 'root.path', 'deny', /^is the host directory \/: a container's root must be its own filesystem/]],
  },
  { name: 'the host root spelled //./ is refused', rules: on('fix'), spec: root('//./', true), findings: [['rootfs', 'root.path', 'deny', /host directory \//]] },
  { name: 'a host system tree as root.path is refused', rules: on('fix'), spec: root('/proc/1/root', true), findings: [['rootfs', 'root.path', 'deny', /host directory \/proc\/1\/root/]] },
  { name: '/etc as root.path is refused', rules: on('fix'), spec: root('/etc/', true), findings: [['rootfs', 'root.path', 'deny', /host directory \/etc/]] },
  { name: 'an absolute rootfs (Docker, Podman) is fine', rules: on('fix'), spec: root('/var/lib/docker/overlay2/abc/merged', true), findings: [] },
  { name: 'an absolute rootfs under /var/lib is fine', rules: on('fix'), spec: root('/var/lib/containers/storage/overlay/x/merged', true), findings: [] },
  {
    name: 'a relative root.path climbing out of the bundle is refused',
    rules: on('fix'),
    spec: root('../../etc', true),
    findings: [['rootfs', 'root.path', 'deny', /^escapes the bundle: \.\.\/\.\.\/etc resolves to \.\.\/\.\.\/etc$/]],
  },
  {
    name: 'a root.path that climbs out in the middle is refused',
    rules: on('warn', false),
    spec: root('rootfs/../../x'),
    findings: [['rootfs', 'root.path', 'deny', /resolves to \.\.\/x$/]],
  },
  {
    name: 'root.path ".." is refused',
    rules: on('fix', false),
    spec: root('..'),
    findings: [['rootfs', 'root.path', 'deny', /^escapes the bundle: \.\. resolves to \.\.$/]],
  },
  { name: 'a root.path with .. that stays inside is fine', rules: on('fix'), spec: root('a/../rootfs', true), findings: [] },
  { name: 'a root.path named "..rootfs" is fine', rules: on('fix'), spec: root('..rootfs', true), findings: [] },
  {
    name: 'escape and writable together: refused, and readonly still fixed',
    rules: on('fix'),
    spec: root('../x', false),
    expect: { 'root.readonly': true },
    findings: [
      ['rootfs', 'root.path', 'deny', /^escapes the bundle/],
      ['rootfs', 'root.readonly', 'fix', /made read-only$/],
    ],
  },
]);
