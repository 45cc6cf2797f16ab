import t from 'tap';
import { mountsPass, matchesPathGlob, normalisePath } from '../../src/passes/mounts.js';
import type { Mount, Spec } from '../../src/spec/index.js';
import { linux, runTable, type Row } from './helpers-b.js';
import { runcSpec } from '../fixtures/index.js';

/** The mounts `runc spec` writes; every row appends to them, so new mounts start at index 7. */
const DEFAULTS: Mount[] = runcSpec().mounts!;
const FIX = { mounts: { action: 'fix' as const } };
const WARN = { mounts: { action: 'warn' as const } };

const bind = (source: string, destination = '/mnt', options = ['rbind', 'nosuid', 'nodev']): Mount => ({ type: 'bind', source, destination, options });
const add = (...mounts: Mount[]) => (s: Spec) => {
  s.mounts = [...s.mounts!, ...mounts];
};
const realPaths = (map: Record<string, string>) => ({ realPaths: map });

const rows: Row[] = [
  { name: "runc's default mounts comply", findings: [] },
  {
    name: 'deny: the docker socket',
    spec: add(bind('/var/run/docker.sock', '/var/run/docker.sock')),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/var\/run\/docker.sock \(container runtime socket\)$/]],
  },
  {
    name: 'fix: a sensitive source is removed (there is nothing safe to rewrite it to)',
    spec: add(bind('/var/run/docker.sock', '/var/run/docker.sock')),
    rules: FIX,
    expect: { mounts: DEFAULTS },
    findings: [['mounts', 'mounts[7].source', 'fix', /^bind-mounts \/var\/run\/docker.sock \(container runtime socket\); mount removed$/]],
  },
  {
    name: 'warn: reported, kept',
    spec: add(bind('/var/run/docker.sock')),
    rules: WARN,
    findings: [['mounts', 'mounts[7].source', 'warn', /^bind-mounts \/var\/run\/docker.sock \(container runtime socket\)$/]],
  },
  {
    name: 'a symlink to the docker socket is caught through its realpath',
    spec: add(bind('/tmp/innocent')),
    host: realPaths({ '/tmp/innocent': '/var/run/docker.sock' }),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/tmp\/innocent, which resolves to \/var\/run\/docker.sock \(container runtime socket\)$/]],
  },
  { name: '/etcetera is not /etc', spec: add(bind('/etcetera')), findings: [] },
  {
    name: 'a file under /etc',
    spec: add(bind('/etc/ssl/private', '/certs')),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/etc\/ssl\/private \(host configuration, including credentials\)$/]],
  },
  { name: 'a kubelet pod volume is allowed by the ** glob', spec: add(bind('/var/lib/kubelet/pods/x/volumes/y', '/data')), findings: [] },
  {
    name: "the kubelet pods directory itself is not (it holds every pod's volumes)",
    spec: add(bind('/var/lib/kubelet/pods')),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/var\/lib\/kubelet\/pods \(kubelet state, including other pods' secrets\)$/]],
  },
  {
    name: 'a containerd sandbox file matches a * glob, one segment per *',
    spec: add(bind('/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/abc/hostname', '/etc/hostname')),
    findings: [],
  },
  {
    name: 'a deeper containerd path does not match the * glob',
    spec: add(bind('/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/abc/d/e')),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \S+ \(containerd images and snapshots\)$/]],
  },
  {
    name: 'the host root itself',
    spec: add(bind('/', '/host')),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/ \(the host root filesystem\)$/]],
  },
  { name: '"/" in the list matches only "/": /srv/data is fine', spec: add(bind('/srv/data')), findings: [] },
  {
    name: '//etc/../etc is /etc',
    spec: add(bind('//etc/../etc')),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/\/etc\/..\/etc, which resolves to \/etc \(host configuration/]],
  },
  {
    name: '.. out of an allowed directory is resolved before the allow list is consulted',
    spec: add(bind('/var/lib/kubelet/pods/../../../../etc/shadow')),
    findings: [['mounts', 'mounts[7].source', 'deny', /resolves to \/etc\/shadow \(host configuration/]],
  },
  {
    name: 'an allowed-looking path that is a symlink to /etc',
    spec: add(bind('/var/lib/kubelet/pods/x/volumes/y')),
    host: realPaths({ '/var/lib/kubelet/pods/x/volumes/y': '/etc' }),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/var\/lib\/kubelet\/pods\/x\/volumes\/y, which resolves to \/etc \(/]],
  },
  {
    name: 'a sensitive literal path is refused even when it resolves elsewhere',
    spec: add(bind('/etc/app')),
    host: realPaths({ '/etc/app': '/srv/app' }),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/etc\/app \(host configuration/]],
  },
  {
    name: 'a parent of a sensitive path exposes it',
    spec: add(bind('/var/run')),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/var\/run, which contains \/var\/run\/docker.sock \(container runtime socket\)$/]],
  },
  {
    name: 'a relative source the host did not resolve cannot be checked',
    spec: add(bind('rootfs/../../etc')),
    findings: [['mounts', 'mounts[7].source', 'deny', /^is "rootfs\/..\/..\/etc", a relative path the host did not resolve/]],
  },
  { name: 'a relative source the host resolved is checked by its realpath', spec: add(bind('data')), host: realPaths({ data: '/srv/bundle/data' }), findings: [] },
  {
    name: 'bind-by-option mounts (type none, option bind) are bind mounts too',
    spec: add({ type: 'none', source: '/proc', destination: '/hostproc', options: ['bind', 'nosuid', 'nodev'] }),
    findings: [['mounts', 'mounts[7].source', 'deny', /^bind-mounts \/proc \(host procfs/]],
  },
  { name: 'a tmpfs whose source label looks like a host path is not a bind', spec: add({ type: 'tmpfs', source: '/etc', destination: '/scratch', options: ['nosuid', 'nodev'] }), findings: [] },
  {
    name: 'fix: missing bind options are added and their opposites dropped',
    spec: add(bind('/srv/data', '/data', ['rbind', 'suid', 'rw'])),
    rules: FIX,
    expect: { 'mounts[7].options': ['rbind', 'rw', 'nosuid', 'nodev'] },
    findings: [['mounts', 'mounts[7].options', 'fix', /^bind mount of \/srv\/data lacks nosuid, nodev; added$/]],
  },
  {
    name: 'deny: missing bind options',
    spec: add(bind('/srv/data', '/data', ['rbind'])),
    findings: [['mounts', 'mounts[7].options', 'deny', /^bind mount of \/srv\/data lacks nosuid, nodev$/]],
  },
  {
    name: 'an allowed device node bind gets nosuid but not nodev (which would make it unopenable)',
    spec: add(bind('/dev/null', '/dev/null', ['bind'])),
    rules: FIX,
    expect: { 'mounts[7].options': ['bind', 'nosuid'] },
    findings: [['mounts', 'mounts[7].options', 'fix', /^bind mount of \/dev\/null lacks nosuid; added$/]],
  },
  {
    name: 'fix: shared propagation on a bind becomes rprivate, in place',
    spec: add(bind('/srv/data', '/data', ['rbind', 'shared', 'nosuid', 'nodev'])),
    rules: FIX,
    expect: { 'mounts[7].options': ['rbind', 'rprivate', 'nosuid', 'nodev'] },
    findings: [['mounts', 'mounts[7].options', 'fix', /^asks for shared propagation: mounts made on either side would appear on the other; replaced with rprivate$/]],
  },
  {
    name: 'fix: rshared next to rslave is dropped, rslave stays',
    spec: add({ type: 'tmpfs', source: 'tmpfs', destination: '/scratch', options: ['rshared', 'rslave'] }),
    rules: FIX,
    expect: { 'mounts[7].options': ['rslave'] },
    findings: [['mounts', 'mounts[7].options', 'fix', /^asks for rshared propagation/]],
  },
  { name: 'slave and rslave are fine', spec: add(bind('/srv/data', '/data', ['rbind', 'rslave', 'nosuid', 'nodev']), bind('/srv/b', '/b', ['bind', 'slave', 'nosuid', 'nodev'])), findings: [] },
  {
    name: 'fix: a writable sysfs becomes read-only',
    spec: (s) => {
      s.mounts![5] = { ...s.mounts![5]!, options: ['nosuid', 'noexec', 'nodev', 'rw'] };
    },
    rules: FIX,
    expect: { 'mounts[5].options': ['nosuid', 'noexec', 'nodev', 'ro'] },
    findings: [['mounts', 'mounts[5].options', 'fix', /^sysfs mount at \/sys is writable; made read-only$/]],
  },
  {
    name: 'fix: a cgroup2 mount without ro becomes read-only',
    spec: add({ type: 'cgroup2', source: 'cgroup2', destination: '/sys/fs/cgroup/unified', options: ['nosuid', 'noexec', 'nodev'] }),
    rules: FIX,
    expect: { 'mounts[7].options': ['nosuid', 'noexec', 'nodev', 'ro'] },
    findings: [['mounts', 'mounts[7].options', 'fix', /^cgroup2 mount at \/sys\/fs\/cgroup\/unified is writable; made read-only$/]],
  },
  {
    name: 'readonlySystemMounts off leaves a writable cgroup mount',
    spec: add({ type: 'cgroup', source: 'cgroup', destination: '/sys/fs/cgroup', options: ['rw'] }),
    rules: { mounts: { readonlySystemMounts: false } },
    findings: [],
  },
  {
    name: 'an allowed bind of /sys is forced read-only too',
    spec: add(bind('/sys/fs/cgroup', '/sys/fs/cgroup')),
    rules: { mounts: { action: 'fix', allowedSources: ['/sys/fs/cgroup'] } },
    expect: { 'mounts[7].options': ['rbind', 'nosuid', 'nodev', 'ro'] },
    findings: [['mounts', 'mounts[7].options', 'fix', /^bind mount of \/sys\/fs\/cgroup at \/sys\/fs\/cgroup is writable; made read-only$/]],
  },
  {
    name: 'a relative destination is refused even when fixing',
    spec: add({ type: 'tmpfs', source: 'tmpfs', destination: 'tmp' }),
    rules: FIX,
    findings: [['mounts', 'mounts[7].destination', 'deny', /^"tmp" is not an absolute path$/]],
  },
  {
    name: 'a destination with .. is refused',
    spec: add({ type: 'tmpfs', source: 'tmpfs', destination: '/tmp/../../etc' }),
    findings: [['mounts', 'mounts[7].destination', 'deny', /^"\/tmp\/..\/..\/etc" has a ".." segment$/]],
  },
  {
    name: 'warn: a bad destination is only reported',
    spec: add({ type: 'tmpfs', source: 'tmpfs', destination: 'tmp' }),
    rules: WARN,
    findings: [['mounts', 'mounts[7].destination', 'warn', /not an absolute path/]],
  },
  {
    name: 'procfs anywhere but /proc is refused',
    spec: add({ type: 'proc', source: 'proc', destination: '/host/proc' }),
    findings: [['mounts', 'mounts[7].destination', 'deny', /^mounts procfs at \/host\/proc, where maskedPaths and readonlyPaths do not reach$/]],
  },
  { name: 'procfs at /proc/ (trailing slash) is /proc', spec: (s) => void (s.mounts![0] = { ...s.mounts![0]!, destination: '/proc/' }), findings: [] },
  {
    name: 'fix keeps the order of the remaining mounts',
    spec: add(bind('/srv/a', '/a'), bind('/etc', '/host-etc'), bind('/srv/b', '/b')),
    rules: FIX,
    expect: { mounts: [...DEFAULTS, bind('/srv/a', '/a'), bind('/srv/b', '/b')] },
    findings: [['mounts', 'mounts[8].source', 'fix', /^bind-mounts \/etc \(host configuration, including credentials\); mount removed$/]],
  },
  {
    name: 'fix: a shared rootfs propagation is removed (runc then uses rslave)',
    spec: linux((l) => (l.rootfsPropagation = 'shared')),
    rules: FIX,
    expect: { 'linux.rootfsPropagation': undefined },
    findings: [['mounts', 'linux.rootfsPropagation', 'fix', /^is "shared": mounts made in the container would propagate to the host; removed, so the runtime's rslave default applies$/]],
  },
  {
    name: 'deny: a shared rootfs propagation',
    spec: linux((l) => (l.rootfsPropagation = 'shared')),
    findings: [['mounts', 'linux.rootfsPropagation', 'deny', /^is "shared"/]],
  },
  { name: 'a slave rootfs propagation is fine', spec: linux((l) => (l.rootfsPropagation = 'slave')), findings: [] },
  {
    name: 'one mount, several problems, all fixed at once',
    spec: add(bind('/srv/data', '/sys', ['rbind', 'rshared', 'dev'])),
    rules: FIX,
    expect: { 'mounts[7].options': ['rbind', 'rprivate', 'nosuid', 'nodev'] },
    findings: [
      ['mounts', 'mounts[7].options', 'fix', /lacks nosuid, nodev; added$/],
      ['mounts', 'mounts[7].options', 'fix', /^asks for rshared propagation/],
    ],
  },
];

runTable(mountsPass, { rows });

t.test('normalisePath', async (t) => {
  const cases: Array<[string, string]> = [
    ['/', '/'], ['//', '/'], ['//etc/../etc', '/etc'], ['/a/./b/', '/a/b'], ['/../..', '/'], ['/a/b/../../..', '/'],
    ['a/../../b', '../b'], ['', '.'], ['./a', 'a'],
  ];
  for (const [input, expected] of cases) t.equal(normalisePath(input), expected, JSON.stringify(input));
});

t.test('matchesPathGlob', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['/var/lib/kubelet/pods/**', '/var/lib/kubelet/pods/x/volumes/y', true],
    ['/var/lib/kubelet/pods/**', '/var/lib/kubelet/pods/x', true],
    ['/var/lib/kubelet/pods/**', '/var/lib/kubelet/pods', false],
    ['/a/*/c', '/a/b/c', true],
    ['/a/*/c', '/a/b/x/c', false],
    ['/a/**/c', '/a/b/x/c', true],
    ['/a/**/c', '/a/c', false],
    ['/a/b*', '/a/bcd', true],
    ['/a/b*', '/a/b/c', false],
    ['/dev/null', '/dev/null', true],
    ['/dev/null', '/dev/null2', false],
    ['/a.b', '/aXb', false],
    ['/a/*', '/a/..', false],
  ];
  for (const [glob, path, expected] of cases) t.equal(matchesPathGlob(glob, path), expected, `${glob} ~ ${path}`);
});
