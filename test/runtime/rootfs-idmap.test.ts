// The idmapped rootfs step: mountinfo parsing, the plan for each kind of rootfs, the fallbacks
// the profile chooses, with a recording fake of the addon; then once for real (root only) with
// the real addon on a plain directory and on an overlay the test mounts itself.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  containerRootfsDir, mountAtIn, overlayLayers, parseMountinfo, prepareRootfs, removeContainerRootfs, wantsIdmap,
} from '../../src/runtime/rootfs-idmap.js';
import type { MountEntry, RootfsNative, RootfsRequest } from '../../src/runtime/rootfs-idmap.js';
import type { Spec } from '../../src/spec/index.js';
import { rootKey } from '../../src/runtime/records.js';
import { runcSpec, testProfile } from '../fixtures/index.js';
import { B, MAPS, fakeNative, request, usernsSpec, world } from './idmap-helpers.js';

/** The reference mountAtIn is checked against: the last entry at `path` in the whole parsed table. */
const mountAt = (entries: readonly MountEntry[], path: string): MountEntry | undefined => [...entries].reverse().find((e) => e.mountPoint === path);

t.test('mountinfo: escapes, topmost entry, overlay layers in both kernel spellings', async (t) => {
  const text = [
    '22 1 8:1 / / rw - ext4 /dev/vda rw',
    '30 22 0:40 / /var/lib/x\\040y/rootfs rw - overlay overlay rw,lowerdir=/l/a\\072b:/l/2,upperdir=/u,workdir=/w,userxattr,index=off',
    '31 30 0:41 / /var/lib/x\\040y/rootfs rw - tmpfs tmpfs rw',
  ].join('\n');
  const entries = parseMountinfo(text);
  t.equal(entries.length, 3);
  t.equal(entries[1]!.mountPoint, '/var/lib/x y/rootfs', '\\040 is a space');
  t.equal(mountAt(entries, '/var/lib/x y/rootfs')?.fstype, 'tmpfs', 'the last mount on a point is the visible one');
  t.same(overlayLayers(entries[1]!.superOptions), { lower: ['/l/a:b', '/l/2'], dataOnly: [], upper: '/u', work: '/w', carried: ['userxattr'] }, '6.5+ spelling');
  t.same(overlayLayers('rw,lowerdir=/l/a\\:b:/l/2,upperdir=/u,workdir=/w')?.lower, ['/l/a:b', '/l/2'], 'older spelling: \\: inside a path');
  t.same(overlayLayers('rw,lowerdir=/l/1::/d/1,upperdir=/u,workdir=/w')?.dataOnly, ['/d/1'], 'data-only layers after ::');
  t.same(overlayLayers('rw,lowerdir+=/l/1,lowerdir+=/l/2,upperdir=/u,workdir=/w')?.lower, ['/l/1', '/l/2'], 'lowerdir+ (6.8)');
  t.equal(overlayLayers('rw,lowerdir=5/fs:4/fs,upperdir=6/fs,workdir=6/work'), null, 'relative layers (containerd over a page) cannot be traced');
});

t.test('mountAtIn finds what mountAt over the whole parsed table finds', async (t) => {
  const text = [
    '22 1 8:1 / / rw - ext4 /dev/vda rw',
    '30 22 0:40 / /var/lib/x\\040y/rootfs rw - overlay overlay rw,lowerdir=/l/a,upperdir=/u,workdir=/w',
    '31 30 0:41 / /var/lib/x\\040y/rootfs rw - tmpfs tmpfs rw',
    // The path in the root field of a bind, not as its mount point.
    '40 22 8:1 /run/b /mnt/elsewhere rw - ext4 /dev/vda rw',
    '41 22 0:50 / /run/b rw - tmpfs tmpfs rw',
    '42 22 0:51 / /run/b/c rw - tmpfs tmpfs rw',
    '43 22 0:52 / /tab\\011and\\134back rw - tmpfs t2 rw',
    '44 22 0:53 / /last rw - overlay overlay rw,lowerdir=/l',
  ].join('\n');
  const entries = parseMountinfo(text);
  const paths = ['/', '/var/lib/x y/rootfs', '/var/lib/x', '/run/b', '/run/b/c', '/run', '/mnt/elsewhere', '/tab\tand\\back', '/last', '/missing', '/var/lib/x\\040y/rootfs'];
  for (const path of paths) t.same(mountAtIn(text, path), mountAt(entries, path), JSON.stringify(path));
  t.equal(mountAtIn(text, '/var/lib/x y/rootfs')?.fstype, 'tmpfs', 'the topmost of stacked mounts');
  t.equal(mountAtIn(text, '/run/b')?.fstype, 'tmpfs', 'not the line that has it as a root');
  t.equal(mountAtIn(text + '\n', '/last')?.fstype, 'overlay', 'a trailing newline changes nothing');
});

t.test('only a config with a user namespace and mappings, in enforce mode, is idmapped', async (t) => {
  t.ok(wantsIdmap(usernsSpec(), testProfile()));
  t.notOk(wantsIdmap(runcSpec(), testProfile()), 'no user namespace');
  t.notOk(wantsIdmap(usernsSpec(), testProfile({ userNamespace: { rootfs: 'none' } })), 'rootfs: none');
  t.notOk(wantsIdmap(usernsSpec(), testProfile({}, 'audit')), 'audit changes nothing');
  t.notOk(wantsIdmap(usernsSpec(), testProfile({ userNamespace: { action: 'off' } })), 'rule off');
});

t.test('writable plain directory: overlay of an idmapped clone, private upper owned by the mapped root', async (t) => {
  const w = world(t);
  const f = fakeNative();
  const result = prepareRootfs(request(w, usernsSpec(), f.native, f.mountinfo));
  const dir = containerRootfsDir(w.stateDir, '/run/x', 'c1');
  t.equal(result.strategy, 'overlay');
  t.equal(result.mountDir, dir);
  t.equal(result.spec.root?.path, join(dir, 'root'), 'root.path rewritten to the mount');
  t.match(result.findings, [{ rule: 'userNamespace.rootfs', path: 'root.path', action: 'fix', message: /overlay of an idmapped view/ }]);
  t.same(f.calls.map((c) => c.op), ['userns', 'idmap', 'mount', 'unmount', 'close']);
  t.same(f.calls[0]!.args, [MAPS, MAPS], 'namespace with the config mappings');
  t.same(f.calls[1]!.args, [join(w.bundle, 'rootfs'), join(dir, 'private', 'l', '0'), 42, false]);
  const [source, target, fstype, flags, data, cwd] = f.calls[2]!.args;
  t.same([source, target, fstype, flags, data, cwd], ['overlay', join(dir, 'root'), 'overlay', 0, 'lowerdir=private/l/0,upperdir=private/upper,workdir=private/work', dir], 'relative options, from the container dir');
  t.not(process.cwd(), dir, 'cwd restored');
  t.same(f.calls[3]!.args, [join(dir, 'private', 'l', '0'), 2 | 8], 'layer clone detached once the overlay holds it');
  if (process.getuid?.() === 0) t.match(statSync(join(dir, 'private', 'work')), { uid: B, gid: B }, 'work dir owned by the mapped root');
  for (const [path, mode] of [[w.stateDir, 0o711], [join(w.stateDir, 'rootfs'), 0o711], [dir, 0o711]] as const) {
    t.equal(statSync(path).mode & 0o777, mode, `${path} traversable by the mapped root`);
  }
  t.same(readdirSync(join(w.bundle, 'rootfs')), ['tmp'], 'the original rootfs untouched');
});

t.test('read-only plain directory: the idmapped clone itself is the root', async (t) => {
  const w = world(t);
  const f = fakeNative();
  const result = prepareRootfs(request(w, usernsSpec('rootfs', true), f.native, f.mountinfo));
  const dir = containerRootfsDir(w.stateDir, '/run/x', 'c1');
  t.equal(result.strategy, 'idmap');
  t.same(f.calls.map((c) => c.op), ['userns', 'idmap', 'close']);
  t.same(f.calls[1]!.args, [join(w.bundle, 'rootfs'), join(dir, 'root'), 42, false]);
  t.equal(result.spec.root?.readonly, true);
});

t.test("an overlay rootfs: a new overlay on idmapped clones of its layers; the original is never touched", async (t) => {
  const w = world(t);
  const layers = ['l1', 'l2', 'up'].map((n) => join(w.dir, n));
  for (const l of layers) mkdirSync(l);
  writeFileSync(join(layers[2]!, 'written-before'), '');
  const rootfs = join(w.bundle, 'rootfs');
  const f = fakeNative([`40 1 0:50 / ${rootfs} rw - overlay overlay rw,lowerdir=${layers[0]}:${layers[1]},upperdir=${layers[2]},workdir=/w,userxattr,index=off`]);
  const result = prepareRootfs(request(w, usernsSpec(), f.native, f.mountinfo));
  const dir = containerRootfsDir(w.stateDir, '/run/x', 'c1');
  t.equal(result.strategy, 'overlay');
  t.same(f.calls.filter((c) => c.op === 'idmap').map((c) => c.args[0]), [layers[2], layers[0], layers[1]], 'a non-empty original upper becomes the top lower layer');
  t.equal(f.calls.find((c) => c.op === 'mount')!.args[4], 'lowerdir=private/l/0:private/l/1:private/l/2,upperdir=private/upper,workdir=private/work,userxattr');
  t.notOk(f.calls.some((c) => c.args[0] === rootfs || c.args[1] === rootfs), 'nothing mounted on or unmounted from the original');
  t.same(f.table.map((l) => l.split(' ')[4]), [rootfs, join(dir, 'root')], 'left: the original and one mount per container');
  t.match(result.findings[0]!.message, /overlay of 3 idmapped layers of the overlay at /);
});

t.test("the state directory's part of the path: made when missing, kept when there, refused when not a directory", async (t) => {
  const cases: Array<[what: string, setup: (w: ReturnType<typeof world>) => void, expect: RegExp | null]> = [
    ['nothing there yet', () => undefined, null],
    ['all there already (a second container)', (w) => mkdirSync(join(w.stateDir, 'rootfs', rootKey('/run/x')), { recursive: true, mode: 0o711 }), null],
    ['rootfs/ is a file', (w) => { mkdirSync(w.stateDir, { mode: 0o711 }); writeFileSync(join(w.stateDir, 'rootfs'), ''); }, /rootfs is not a directory/],
    ['rootfs/ is a symlink to a directory', (w) => { mkdirSync(w.stateDir, { mode: 0o711 }); symlinkSync(w.bundle, join(w.stateDir, 'rootfs')); }, /rootfs is not a directory/],
    ['the state directory is not traversable', (w) => mkdirSync(w.stateDir, { mode: 0o700 }), null], // made traversable (0711), as a node's /run/bulwark
    ['a parent is not traversable', (w) => chmodSync(w.dir, 0o700), /not traversable by the container's mapped root/],
  ];
  for (const [what, setup, refused] of cases) {
    const w = world(t);
    setup(w);
    const f = fakeNative();
    const result = prepareRootfs(request(w, usernsSpec(), f.native, f.mountinfo, { profile: testProfile({ userNamespace: { rootfs: 'idmap-or-refuse' } }) }));
    if (refused) {
      t.equal(result.strategy, 'refused', what);
      t.match(result.findings, [{ action: 'deny', message: refused }], what);
      t.same(f.calls, [], `${what}: nothing mounted`);
    } else {
      t.equal(result.strategy, 'overlay', what);
      t.equal(statSync(join(w.stateDir, 'rootfs', rootKey('/run/x'))).mode & 0o777, 0o711, `${what}: traversable`);
      t.equal(statSync(w.stateDir).mode & 0o011, 0o011, `${what}: the state directory traversable`);
    }
    chmodSync(w.dir, 0o711);
  }
});

t.test('a second container soon after skips the parents\' check, unless what it checked has changed', async (t) => {
  const cases: Array<[what: string, between: (w: ReturnType<typeof world>) => void, expect: RegExp | null]> = [
    ['nothing changed', () => undefined, null],
    ['the per-root directory was removed', (w) => rmSync(join(w.stateDir, 'rootfs', rootKey('/run/x')), { recursive: true }), null],
    ['the whole state directory was removed', (w) => rmSync(w.stateDir, { recursive: true }), null],
    ['the per-root directory became a file', (w) => {
      rmSync(join(w.stateDir, 'rootfs', rootKey('/run/x')), { recursive: true });
      writeFileSync(join(w.stateDir, 'rootfs', rootKey('/run/x')), '');
    }, /is not a directory|ENOTDIR/],
  ];
  {
    // The skip itself: within the interval a state directory narrowed by hand is not seen (and
    // not repaired); the runtime would then fail to reach the rootfs, never run it unhardened.
    const w = world(t);
    const f = fakeNative();
    prepareRootfs(request(w, usernsSpec(), f.native, f.mountinfo, { id: 'first' }));
    chmodSync(w.stateDir, 0o700);
    t.equal(prepareRootfs(request(w, usernsSpec(), f.native, f.mountinfo, { id: 'second' })).strategy, 'overlay');
    t.equal(statSync(w.stateDir).mode & 0o777, 0o700, 'the parents were not checked again');
    chmodSync(w.stateDir, 0o711);
  }
  for (const [what, between, refused] of cases) {
    const w = world(t);
    const f = fakeNative();
    const profile = testProfile({ userNamespace: { rootfs: 'idmap-or-refuse' } });
    t.equal(prepareRootfs(request(w, usernsSpec(), f.native, f.mountinfo, { profile, id: 'first' })).strategy, 'overlay', `${what}: the first container`);
    between(w);
    const second = prepareRootfs(request(w, usernsSpec(), f.native, f.mountinfo, { profile, id: 'second' }));
    if (refused) {
      t.equal(second.strategy, 'refused', what);
      t.match(second.findings, [{ action: 'deny', message: refused }], what);
      continue;
    }
    t.equal(second.strategy, 'overlay', what);
    for (const path of [w.stateDir, join(w.stateDir, 'rootfs'), join(w.stateDir, 'rootfs', rootKey('/run/x')), containerRootfsDir(w.stateDir, '/run/x', 'second')]) {
      t.equal(statSync(path).mode & 0o777, 0o711, `${what}: ${path} made again, traversable`);
    }
  }
});

t.test('where idmapping is impossible the profile decides: read-only fallback or refusal', async (t) => {
  const cases: Array<[string, Partial<RootfsRequest>, RegExp]> = [
    ['old kernel', { kernelIdmap: false }, /mount_setattr, Linux 5\.12/],
    ['addon without the calls', { native: {} }, /native addon in use has no idmapped-mount calls/],
    ['filesystem refuses', {}, /idmapMount .*: EINVAL/],
  ];
  for (const [name, extra, reason] of cases) {
    for (const mode of ['idmap', 'idmap-or-refuse'] as const) {
      const w = world(t);
      const f = fakeNative([], { idmapMount: 'EINVAL' });
      const spec = usernsSpec();
      const result = prepareRootfs(request(w, spec, f.native, f.mountinfo, { profile: testProfile({ userNamespace: { rootfs: mode } }), ...extra }));
      const dir = containerRootfsDir(w.stateDir, '/run/x', 'c1');
      t.equal(result.mountDir, null, `${name}/${mode}: no mounts kept`);
      t.notOk(existsSync(dir), `${name}/${mode}: nothing left in the state dir`);
      t.same(f.table, [], `${name}/${mode}: every mount undone`);
      if (mode === 'idmap') {
        t.equal(result.strategy, 'read-only fallback');
        t.same(result.spec.root, { path: 'rootfs', readonly: true }, `${name}: original rootfs, read-only`);
        t.match(result.findings, [{ action: 'warn', path: 'root.path', message: reason }]);
        t.match(result.findings[0]!.message, /show as nobody/);
      } else {
        t.equal(result.strategy, 'refused');
        t.equal(result.spec, spec, `${name}: config unchanged`);
        t.match(result.findings, [{ action: 'deny', message: reason }]);
        t.match(result.findings[0]!.message, /idmap-or-refuse/);
      }
    }
  }
});

t.test('a retried create of an already hardened bundle goes back to the original root', async (t) => {
  const w = world(t);
  const f = fakeNative();
  const first = prepareRootfs(request(w, usernsSpec(), f.native, f.mountinfo));
  writeFileSync(join(w.bundle, 'config.json.orig'), JSON.stringify(usernsSpec()));
  const again = prepareRootfs(request(w, first.spec, f.native, f.mountinfo));
  t.equal(again.strategy, 'overlay');
  t.same(f.calls.filter((c) => c.op === 'idmap').map((c) => c.args[0]), [join(w.bundle, 'rootfs'), join(w.bundle, 'rootfs')]);
  t.same(f.table.map((l) => l.split(' ')[4]), [join(first.mountDir!, 'root')], 'the old mount replaced, not stacked');
});

t.test('removal never recurses into something still mounted', async (t) => {
  const w = world(t);
  const f = fakeNative();
  prepareRootfs(request(w, usernsSpec(), f.native, f.mountinfo));
  const dir = containerRootfsDir(w.stateDir, '/run/x', 'c1');
  const stuck = { unmount: () => { throw Object.assign(new Error('EBUSY'), { code: 'EBUSY' }); } };
  const r = removeContainerRootfs(dir, stuck, f.mountinfo);
  t.equal(r.ok, false);
  t.match(r.problem, /EBUSY/);
  t.ok(existsSync(join(dir, 'private', 'upper')), 'nothing removed');
  t.equal(removeContainerRootfs(dir, null, f.mountinfo).ok, false, 'no addon: kept');
  const done = removeContainerRootfs(dir, f.native, f.mountinfo);
  t.same(done, { ok: true, unmounted: [join(dir, 'root')] });
  t.notOk(existsSync(dir));
});

// ---- the real thing (root, Linux >= 5.19 for idmapped overlay layers) ----

const realSkip = process.getuid?.() !== 0 ? 'needs root' : false;

t.test('for real: plain directory and overlay rootfs look owned by the image IDs through the mapping', { skip: realSkip }, async (t) => {
  const { loadNative } = await import('../../src/native/index.js');
  const native = loadNative();
  if (!native.probeUserNamespaces().idmapMounts) {
    t.comment('no idmapped mounts on this kernel');
    return;
  }
  const w = world(t);
  const rootfs = join(w.bundle, 'rootfs');
  mkdirSync(join(rootfs, 'etc'));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0::/:/bin/sh\n');
  const mountsOf = () => parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).map((e) => e.mountPoint).filter((p) => p.startsWith(w.dir));
  const own: string[] = [];
  t.teardown(() => {
    for (const p of own.reverse()) execFileSync('umount', ['-l', p], { stdio: 'ignore' });
  });

  const plain = prepareRootfs({ stateDir: w.stateDir, root: undefined, id: 'plain', bundle: w.bundle, spec: usernsSpec(), profile: testProfile(), native, kernelIdmap: true });
  t.equal(plain.strategy, 'overlay', plain.findings[0]?.message);
  const root = plain.spec.root!.path;
  t.match(statSync(join(root, 'etc', 'passwd')), { uid: B, gid: B }, 'host uid 0 shows as the block start (container root)');
  writeFileSync(join(root, 'tmp', 'new'), 'x');
  t.notOk(existsSync(join(rootfs, 'tmp', 'new')), 'writes never reach the original directory');
  t.ok(existsSync(join(plain.mountDir!, 'private', 'upper', 'tmp', 'new')), 'they land in the private upper');
  t.same(mountsOf(), [root], 'one mount per container; layer clones detached');

  // An overlay like containerd's snapshotter mounts at <bundle>/rootfs.
  const ov = join(w.dir, 'ov');
  for (const d of ['upper', 'work', 'merged']) mkdirSync(join(ov, d), { recursive: true });
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${join(ov, 'upper')},workdir=${join(ov, 'work')}`, join(ov, 'merged')]);
  own.push(join(ov, 'merged'));
  // What the plan reads of that overlay: statmount's account, where the kernel gives one, is the mount table's.
  const fromTable = mountAtIn(readFileSync('/proc/self/mountinfo', 'utf8'), join(ov, 'merged'))!;
  const direct = native.mountAt(join(ov, 'merged'));
  if (direct === null) {
    t.comment('this kernel has no statmount with options (Linux 6.11): the mount table is read instead');
  } else {
    t.same({ ...direct, superOptions: '' }, { mountPoint: fromTable.mountPoint, root: fromTable.root, fstype: 'overlay', superOptions: '' }, 'statmount: the same mount');
    t.same(overlayLayers(direct.superOptions), overlayLayers(fromTable.superOptions), 'statmount: the same layers');
    t.same(overlayLayers(direct.superOptions)?.lower, [rootfs]);
    t.equal(native.mountAt(join(ov, 'merged', 'etc'))?.mountPoint, join(ov, 'merged'), 'a directory inside names the mount it is on');
  }
  const b2 = join(w.dir, 'b2');
  mkdirSync(b2, { mode: 0o711 });
  const over = prepareRootfs({ stateDir: w.stateDir, root: undefined, id: 'over', bundle: b2, spec: usernsSpec(join(ov, 'merged')), profile: testProfile(), native, kernelIdmap: true });
  t.equal(over.strategy, 'overlay', over.findings[0]?.message);
  t.match(statSync(join(over.spec.root!.path, 'etc', 'passwd')), { uid: B, gid: B });
  t.match(statSync(join(ov, 'merged', 'etc', 'passwd')), { uid: 0, gid: 0 }, 'the original overlay still shows host IDs');
  t.same(readdirSync(join(ov, 'upper')), [], 'the original upper never written');

  // A kernel that cannot describe the mount (null) or fails to (an error): the mount table is read.
  const others: Array<[string, () => never | null]> = [['null', () => null], ['throws', () => { throw Object.assign(new Error('statmount: EPERM'), { code: 'EPERM' }); }]];
  for (const [what, mountAt] of others) {
    const r = prepareRootfs({ stateDir: w.stateDir, root: undefined, id: `over-${what}`, bundle: b2, spec: usernsSpec(join(ov, 'merged')), profile: testProfile(), native: { ...native, mountAt }, kernelIdmap: true });
    t.equal(r.strategy, 'overlay', `mountAt ${what}: ${r.findings[0]?.message}`);
    t.match(r.findings[0]?.message, /overlay of 1 idmapped layer of the overlay at /, `mountAt ${what}: the overlay's layers found in the table`);
    t.equal(removeContainerRootfs(r.mountDir!, native).ok, true);
  }
  for (const r of [plain, over]) t.equal(removeContainerRootfs(r.mountDir!, native).ok, true, 'removed');
  t.same(mountsOf(), [join(ov, 'merged')], 'only the test\'s own overlay is left');
});

// ---- through the engine (fake addon): the hardened config, the audit, a refusal ----

t.test('engine create: root.path rewritten before the write and audited; idmap-or-refuse denies', async (t) => {
  const { Engine } = await import('../../src/runtime/engine.js');
  const { stringifyJson, parseJson } = await import('../../src/json/lossless.js');
  const { cpSync } = await import('node:fs');
  const w = world(t);
  const profiles = join(w.dir, 'profiles');
  cpSync(join(process.cwd(), 'profiles'), profiles, { recursive: true });
  writeFileSync(join(profiles, 'refuse.yaml'), 'apiVersion: bulwark/v1\nkind: Profile\nname: refuse\nextends: baseline\ndescription: test\nrules:\n  userNamespace:\n    rootfs: idmap-or-refuse\n');
  const auditLog = join(w.dir, 'audit.jsonl');
  const config = join(w.dir, 'config.yaml');
  writeFileSync(config, `stateDir: ${w.stateDir}\nauditLog: ${auditLog}\nprofileDir: ${profiles}\nidPool: { start: ${B}, size: ${65536 * 4} }\n`);
  const run = async (native: Partial<RootfsNative>, argv0: string, id: string) => {
    writeFileSync(join(w.bundle, 'config.json'), stringifyJson(runcSpec()));
    rmSync(join(w.bundle, 'config.json.orig'), { force: true });
    const execs: string[][] = [];
    const stderr: string[] = [];
    const engine = new Engine({
      native: {
        cgroupMode: () => 'v2',
        seccompActions: () => ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_ALLOW', 'SCMP_ACT_NOTIFY'],
        namespaceId: () => ({ dev: 4, ino: 4026531840 }),
        rlimits: () => ({ RLIMIT_NOFILE: { soft: 1024n, hard: 1048576n } }),
        probeUserNamespaces: () => ({ supported: true, idmapMounts: true }),
        ...native,
      },
      env: { BULWARK_CONFIG: config, PATH: '/usr/bin:/bin' },
      cwd: w.dir,
      argv0,
      now: () => new Date(),
      stderr: (s) => void stderr.push(s),
      stdout: () => undefined,
      capture: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
    });
    const outcome = await engine.run(['create', '--bundle', w.bundle, id]);
    if (outcome.kind === 'exec') execs.push(outcome.argv);
    const code = outcome.kind === 'exit' ? outcome.code : undefined;
    const audit = readFileSync(auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; decision: string; findings: Array<{ rule: string; action: string }> });
    return { code, execs, stderr: stderr.join(''), entry: audit.filter((e) => e.id === id).pop()!, spec: parseJson(readFileSync(join(w.bundle, 'config.json'), 'utf8')) as unknown as Spec };
  };

  const f = fakeNative();
  const ok = await run(f.native, 'bulwark-runtime', 'c1');
  t.equal(ok.execs.length, 1, 'handed over');
  t.equal(ok.spec.root?.path, join(containerRootfsDir(w.stateDir, undefined, 'c1'), 'root'), 'hardened config names the idmapped mount');
  t.match(ok.entry.findings.filter((x) => x.rule === 'userNamespace.rootfs'), [{ action: 'fix' }], 'audited');

  const failing = fakeNative([], { idmapMount: 'EINVAL' });
  const refused = await run(failing.native, 'bulwark-runtime-refuse', 'c2');
  t.equal(refused.code, 1);
  t.same(refused.execs, [], 'never started');
  t.match(refused.stderr, /denied by profile refuse: root\.path cannot be idmapped \(idmapMount .*EINVAL\)/);
  t.equal(refused.entry.decision, 'deny');
  t.same(failing.table, [], 'nothing left mounted');

  const fallback = await run(fakeNative([], { idmapMount: 'EINVAL' }).native, 'bulwark-runtime', 'c3');
  t.equal(fallback.execs.length, 1, 'idmap: runs anyway');
  t.same(fallback.spec.root, { path: 'rootfs', readonly: true }, 'as it is, read-only');
  t.match(fallback.entry.findings.filter((x) => x.rule === 'userNamespace.rootfs'), [{ action: 'warn' }]);
});
