// Idmapped volumes: which binds get an idmapped clone (a pure decision, table-tested), and what
// prepareRootfs does with them through a recording fake of the addon: sources rewritten to the
// clones under the container's state directory, fallbacks the profile chooses, clean-up by the
// same paths that remove rootfs mounts. The real kernel is exercised in integration/userns/.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerRootfsDir, prepareRootfs, removeContainerRootfs } from '../../src/runtime/rootfs-idmap.js';
import { planVolumes, wantsVolumeIdmap } from '../../src/runtime/volume-idmap.js';
import type { SourceKind, VolumeDecision } from '../../src/runtime/volume-idmap.js';
import type { Mount, Spec } from '../../src/spec/index.js';
import { runcSpec, testProfile } from '../fixtures/index.js';
import { fakeNative, request, usernsSpec, world } from './idmap-helpers.js';

const bind = (source: string, destination: string, options = ['rbind', 'rw']): Mount => ({ destination, type: 'bind', source, options });
const withMounts = (spec: Spec, ...mounts: Mount[]): Spec => ({ ...spec, mounts: [...(spec.mounts ?? []), ...mounts] });
const RUNC_MOUNTS = runcSpec().mounts!.length;

t.test('planVolumes: which binds get an idmapped clone', async (t) => {
  const kinds: Record<string, SourceKind> = {
    '/var/lib/kubelet/pods/p/volumes/kubernetes.io~empty-dir/cache': 'directory',
    '/data/pv-1': 'directory',
    '/srv/link-to-dir': 'directory',
    '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/s/hosts': 'file',
    '/var/lib/kubelet/pods/p/containers/app/1234': 'file',
    '/run/containerd/io.containerd.grpc.v1.cri/sandboxes/s/shm': 'directory',
    '/sys': 'directory',
    '/dev/null': 'other',
    '/gone': 'missing',
    '/run/app.sock': 'other',
    '/srv/link-to-proc': 'directory',
  };
  const real: Record<string, string> = { '/srv/link-to-proc': '/proc/1/root' };
  type Row = [mount: Mount, expected: Pick<VolumeDecision, 'action'> & { recursive?: boolean; reason?: RegExp }];
  const rows: Row[] = [
    [bind('/var/lib/kubelet/pods/p/volumes/kubernetes.io~empty-dir/cache', '/cache'), { action: 'idmap', recursive: true }],
    [bind('/data/pv-1', '/var/lib/db', ['bind', 'ro']), { action: 'idmap', recursive: false }],
    [{ destination: '/data', type: 'none', source: '/srv/link-to-dir', options: ['rbind'] }, { action: 'idmap', recursive: true }],
    [bind('/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/s/hosts', '/etc/hosts'), { action: 'keep', reason: /single file/ }],
    [bind('/var/lib/kubelet/pods/p/containers/app/1234', '/dev/termination-log'), { action: 'keep', reason: /single file/ }],
    [bind('/run/containerd/io.containerd.grpc.v1.cri/sandboxes/s/shm', '/dev/shm/'), { action: 'keep', reason: /shared memory/ }],
    [bind('/sys', '/sys', ['rbind', 'nosuid', 'noexec', 'nodev', 'ro']), { action: 'keep', reason: /from \/sys, which must stay the host's/ }],
    [bind('/dev/null', '/etc/shadow'), { action: 'keep', reason: /from \/dev/ }],
    [bind('/srv/link-to-proc', '/host-proc'), { action: 'keep', reason: /from \/proc/ }],
    [bind('/gone', '/x'), { action: 'keep', reason: /does not exist/ }],
    [bind('/run/app.sock', '/app.sock'), { action: 'keep', reason: /not a directory/ }],
    [bind('relative/dir', '/rel'), { action: 'keep', reason: /relative source/ }],
  ];
  for (const [mount, expected] of rows) {
    const spec = withMounts(runcSpec(), mount);
    const plan = planVolumes(spec, (s) => kinds[s] ?? 'missing', (s) => real[s] ?? s);
    t.equal(plan.length, 1, `${mount.source}: only the bind is listed (runc's proc, tmpfs, sysfs... are not)`);
    const d = plan[0]!;
    t.match(d, { index: RUNC_MOUNTS, source: mount.source, destination: mount.destination, action: expected.action }, `${mount.source} -> ${mount.destination}: ${expected.action}`);
    if (d.action === 'idmap') t.equal(d.recursive, expected.recursive, `${mount.source}: recursive only for rbind`);
    else t.match(d.reason, expected.reason!, `${mount.source}: reason`);
  }
});

t.test('wantsVolumeIdmap: a user namespace with mappings, a bind, enforce mode, a rule that asks', async (t) => {
  const vol = withMounts(usernsSpec(), bind('/data', '/data'));
  t.ok(wantsVolumeIdmap(vol, testProfile()));
  t.notOk(wantsVolumeIdmap(usernsSpec(), testProfile()), 'no bind mount');
  t.notOk(wantsVolumeIdmap(withMounts(runcSpec(), bind('/data', '/data')), testProfile()), 'no user namespace');
  t.notOk(wantsVolumeIdmap(vol, testProfile({ userNamespace: { volumes: 'none' } })), 'volumes: none');
  t.notOk(wantsVolumeIdmap(vol, testProfile({}, 'audit')), 'audit changes nothing');
  t.notOk(wantsVolumeIdmap(vol, testProfile({ userNamespace: { action: 'off' } })), 'rule off');
  t.ok(wantsVolumeIdmap(vol, testProfile({ userNamespace: { rootfs: 'none' } })), 'independent of the rootfs setting');
});

/** A world with two volume directories, a file and a /dev/shm stand-in. */
function volumeWorld(t: Parameters<typeof world>[0]) {
  const w = world(t);
  const vols = { data: join(w.dir, 'vol-data'), cache: join(w.dir, 'vol-cache'), hosts: join(w.dir, 'hosts'), shm: join(w.dir, 'shm') };
  for (const d of [vols.data, vols.cache, vols.shm]) mkdirSync(d, { mode: 0o755 });
  writeFileSync(join(vols.data, 'kept'), 'x');
  writeFileSync(vols.hosts, '127.0.0.1 localhost\n');
  const spec = withMounts(
    usernsSpec(),
    bind(vols.data, '/data'),
    bind(vols.hosts, '/etc/hosts'),
    bind(vols.cache, '/cache', ['bind', 'ro']),
    bind(vols.shm, '/dev/shm'),
  );
  return { w, vols, spec };
}

t.test('volumes get idmapped clones under the container directory; sources rewritten, nothing else', async (t) => {
  const { w, vols, spec } = volumeWorld(t);
  const f = fakeNative();
  const result = prepareRootfs(request(w, spec, f.native, f.mountinfo));
  const dir = containerRootfsDir(w.stateDir, '/run/x', 'c1');
  t.equal(result.mountDir, dir);
  const [data, hosts, cache, shm] = result.spec.mounts!.slice(RUNC_MOUNTS);
  t.same(data, bind(join(dir, 'volumes', String(RUNC_MOUNTS)), '/data'), 'the directory volume: its clone');
  t.same(cache, bind(join(dir, 'volumes', String(RUNC_MOUNTS + 2)), '/cache', ['bind', 'ro']), 'options untouched');
  t.same(hosts, spec.mounts![RUNC_MOUNTS + 1], 'a file stays as it is');
  t.same(shm, spec.mounts![RUNC_MOUNTS + 3], '/dev/shm stays as it is');
  const idmaps = f.calls.filter((c) => c.op === 'idmap').map((c) => c.args);
  t.same(idmaps.slice(1), [
    [vols.data, join(dir, 'volumes', String(RUNC_MOUNTS)), 42, true],
    [vols.cache, join(dir, 'volumes', String(RUNC_MOUNTS + 2)), 42, false],
  ], 'after the rootfs layer: one clone per volume, recursive for rbind');
  t.same(f.calls.filter((c) => c.op === 'userns').length, 2, 'rootfs and volumes each set up their namespace fd');
  t.same(f.calls.filter((c) => c.op === 'close').length, 2, 'and close it');
  t.match(result.findings.filter((x) => x.rule === 'userNamespace.volumes'), [
    { action: 'fix', path: `mounts[${RUNC_MOUNTS}].source`, message: /bind of .*vol-data at \/data: .*idmapped clone at .*volumes\/\d+ .*nothing chowned/ },
    { action: 'fix', path: `mounts[${RUNC_MOUNTS + 2}].source` },
  ]);
  t.equal(statSync(join(dir, 'volumes')).mode & 0o777, 0o711, 'volumes/ traversable by the mapped root');
  t.same(readdirSync(vols.data), ['kept'], 'the volume itself untouched');

  const removed = removeContainerRootfs(dir, f.native, f.mountinfo);
  t.ok(removed.ok);
  t.same(removed.unmounted.sort(), [join(dir, 'root'), join(dir, 'volumes', String(RUNC_MOUNTS)), join(dir, 'volumes', String(RUNC_MOUNTS + 2))].sort(), 'the same clean-up detaches the volumes');
  t.same(f.table, [], 'nothing left mounted');
  t.notOk(existsSync(dir));
  t.same(readdirSync(vols.data), ['kept'], 'and never reaches into a volume');
});

t.test('volumes without rootfs idmapping (rootfs: none): the directory exists for the volumes alone', async (t) => {
  const { w, spec } = volumeWorld(t);
  const f = fakeNative();
  const result = prepareRootfs(request(w, spec, f.native, f.mountinfo, { profile: testProfile({ userNamespace: { rootfs: 'none' } }) }));
  const dir = containerRootfsDir(w.stateDir, '/run/x', 'c1');
  t.equal(result.strategy, 'none');
  t.equal(result.spec.root, spec.root, 'root untouched');
  t.equal(result.mountDir, dir);
  t.equal(f.calls.filter((c) => c.op === 'idmap').length, 2);
  t.ok(removeContainerRootfs(dir, f.native, f.mountinfo).ok);
});

t.test('where a volume cannot be idmapped the profile decides: as it is with a warning, or refusal', async (t) => {
  for (const mode of ['idmap', 'idmap-or-refuse'] as const) {
    const { w, vols, spec } = volumeWorld(t);
    // The cache volume's filesystem refuses (EINVAL, like overlayfs); the data volume works.
    const f = fakeNative([], { idmapMount: 'EINVAL' }, (path) => path === vols.cache);
    const result = prepareRootfs(request(w, spec, f.native, f.mountinfo, { profile: testProfile({ userNamespace: { volumes: mode } }) }));
    const dir = containerRootfsDir(w.stateDir, '/run/x', 'c1');
    const findings = result.findings.filter((x) => x.rule === 'userNamespace.volumes');
    if (mode === 'idmap') {
      t.equal(result.mountDir, dir);
      t.same(result.spec.mounts![RUNC_MOUNTS + 2], spec.mounts![RUNC_MOUNTS + 2], 'idmap: the failing volume bound as it is');
      t.equal(result.spec.mounts![RUNC_MOUNTS]!.source, join(dir, 'volumes', String(RUNC_MOUNTS)), 'the other one still idmapped');
      t.match(findings, [{ action: 'fix' }, { action: 'warn', path: `mounts[${RUNC_MOUNTS + 2}].source`, message: /cannot be idmapped \(idmapMount .*: EINVAL\): bound as it is, .*nothing is chowned/ }]);
      t.equal(result.strategy, 'overlay', 'the rootfs is not affected');
    } else {
      t.equal(result.mountDir, null, 'refused: no mounts kept');
      t.same(f.table, [], 'every mount undone, the rootfs one included');
      t.notOk(existsSync(dir));
      t.match(findings, [{ action: 'fix' }, { action: 'deny', message: /vol-cache at \/cache cannot be idmapped .*idmap-or-refuse/ }]);
      t.equal(result.spec.mounts, spec.mounts, 'the config\'s mounts unchanged');
    }
  }
});

t.test('no idmap at all (old kernel, addon without the calls, untraversable state dir): every volume falls back', async (t) => {
  const cases: Array<[string, (w: ReturnType<typeof world>) => Partial<Parameters<typeof request>[4]>, RegExp]> = [
    ['old kernel', () => ({ kernelIdmap: false }), /mount_setattr, Linux 5\.12/],
    ['addon without the calls', () => ({ native: {} }), /native addon in use has no idmapped-mount calls/],
    ['untraversable state dir', (w) => {
      chmodSync(w.dir, 0o700);
      return {};
    }, /not traversable by the container's mapped root/],
  ];
  for (const [name, setup, reason] of cases) {
    const { w, spec } = volumeWorld(t);
    const f = fakeNative();
    const result = prepareRootfs(request(w, spec, f.native, f.mountinfo, setup(w)));
    chmodSync(w.dir, 0o711);
    t.equal(result.mountDir, null, `${name}: nothing mounted`);
    t.same(result.spec.mounts, spec.mounts, `${name}: every bind as it is`);
    t.match(result.findings.filter((x) => x.rule === 'userNamespace.volumes'), [{ action: 'warn', message: reason }, { action: 'warn', message: reason }], name);
  }
});

t.test('a retried create of an already hardened bundle binds clones of the original volumes again', async (t) => {
  const { w, vols, spec } = volumeWorld(t);
  const f = fakeNative();
  const first = prepareRootfs(request(w, spec, f.native, f.mountinfo));
  writeFileSync(join(w.bundle, 'config.json.orig'), JSON.stringify(spec));
  const again = prepareRootfs(request(w, first.spec, f.native, f.mountinfo));
  t.same(again.spec.mounts, first.spec.mounts, 'the same sources as the first time');
  const sources = f.calls.filter((c) => c.op === 'idmap').map((c) => c.args[0]);
  t.same(sources.filter((s) => s === vols.data), [vols.data, vols.data], 'cloned from the original both times');
  t.equal(f.table.length, 3, 'the old mounts replaced, not stacked (root + two volumes)');
});
