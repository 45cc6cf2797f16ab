// The garbage collector: which records go (their container is gone from the runtime's state and
// their creator is dead), what goes with them (Bulwark's mounts, the pod's ID block), and what
// stays (live containers, creates in progress, anything it is unsure about).
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectGarbage, containerPresence, decodeRootKey, isAlive, markCreating, processIdentity, selfIdentity } from '../../src/runtime/gc.js';
import type { GcRecord, ProcessIdentity } from '../../src/runtime/gc.js';
import { rootKey, writeRecord } from '../../src/runtime/records.js';
import { containerRootfsDir } from '../../src/runtime/rootfs-idmap.js';
import { BLOCK_SIZE, IdAllocator } from '../../src/state/ids.js';

const RUNC = { name: 'runc', path: '/usr/sbin/runc', args: [] };
const DEAD: ProcessIdentity = { pid: 999_999_999, start: '1' };

function world(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-gc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  const runRoot = join(dir, 'runc-root');
  mkdirSync(runRoot, { recursive: true });
  const allocator = new IdAllocator(stateDir, { start: 3_000_000_000, size: BLOCK_SIZE * 8, source: 'test' });
  /** A container as create leaves it: block, record, and (optionally) runc's state dir and a rootfs mount. */
  const container = (id: string, podKey: string, opts: { live?: boolean; creator?: ProcessIdentity | null; mounted?: boolean } = {}) => {
    allocator.acquire(podKey);
    const record: GcRecord = { id, profile: 'baseline', runtime: RUNC, bundle: '/b', podKey, initPid: null, createdAt: '', creator: opts.creator === undefined ? DEAD : opts.creator };
    writeRecord(stateDir, runRoot, record, undefined, dir);
    if (opts.live) mkdirSync(join(runRoot, id));
    if (opts.mounted) {
      mkdirSync(join(containerRootfsDir(stateDir, runRoot, id), 'root'), { recursive: true });
      mounts.push(join(containerRootfsDir(stateDir, runRoot, id), 'root'));
    }
  };
  const mounts: string[] = [];
  const unmounted: string[] = [];
  const native = {
    unmount: (p: string) => {
      const i = mounts.indexOf(p);
      if (i < 0) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
      mounts.splice(i, 1);
      unmounted.push(p);
    },
  };
  const mountinfo = () => mounts.map((p, i) => `${100 + i} 1 0:1 / ${p} rw - overlay overlay rw,lowerdir=/x`).join('\n');
  const gc = (extra: Partial<Parameters<typeof collectGarbage>[0]> = {}) => collectGarbage({ stateDir, allocator, native, mountinfo, ...extra });
  const records = () => readdirSync(join(stateDir, 'containers', rootKey(runRoot))).sort();
  return { dir, stateDir, runRoot, allocator, container, gc, records, mounts, unmounted };
}

t.test('root keys decode back to the --root they encode', async (t) => {
  for (const root of ['/run/containerd/runc/k8s.io', '/tmp/a b_c', '/ü']) t.equal(decodeRootKey(rootKey(root)), root);
  t.equal(decodeRootKey('_none'), undefined);
  t.equal(decodeRootKey('_zz'), null);
  t.equal(decodeRootKey('a/b'), null);
});

t.test("runtime state: runc/crun directories, runsc files, unknown runtimes are 'unknown'", async (t) => {
  const w = world(t);
  mkdirSync(join(w.runRoot, 'here'));
  writeFileSync(join(w.runRoot, 'sb_sandbox:sb.state'), '');
  t.equal(containerPresence(RUNC, w.runRoot, 'here'), 'present');
  t.equal(containerPresence(RUNC, w.runRoot, 'gone'), 'absent');
  t.equal(containerPresence({ name: 'crun', path: '/x/crun-hybrid', args: [] }, w.runRoot, 'gone'), 'absent');
  t.equal(containerPresence({ name: 'fast', path: '/opt/crun', args: [] }, w.runRoot, 'here'), 'present', 'known by its binary name');
  t.equal(containerPresence({ name: 'runsc', path: '/usr/bin/runsc', args: [] }, w.runRoot, 'sb'), 'present');
  t.equal(containerPresence({ name: 'runsc', path: '/usr/bin/runsc', args: [] }, w.runRoot, 'other'), 'absent');
  t.equal(containerPresence({ name: 'runsc', path: '/usr/bin/runsc', args: [`--root=${w.runRoot}`] }, undefined, 'sb'), 'present', "runtime args' --root");
  t.equal(containerPresence({ name: 'kata', path: '/usr/bin/kata-runtime', args: [] }, w.runRoot, 'here'), 'unknown');
  t.equal(containerPresence(RUNC, 'relative/root', 'x'), 'unknown');
});

t.test('process identity: this process is alive, a reused pid is not the same process', async (t) => {
  const me = processIdentity()!;
  t.ok(isAlive(me));
  t.same(selfIdentity(), me, 'selfIdentity() is processIdentity() of this process');
  t.equal(selfIdentity(), selfIdentity(), 'read once');
  t.notOk(isAlive({ ...me, start: `${me.start}0` }));
  t.notOk(isAlive(DEAD));
});

t.test('a gone container: record, mounts and (with its last container) the pod block go; the rest stays', async (t) => {
  const w = world(t);
  w.container('live', 'pod-a', { live: true, mounted: true });
  w.container('dead', 'pod-b', { mounted: true });
  w.container('dead-app', 'pod-a'); // pod-a keeps its live container
  w.container('creating', 'pod-c', { creator: processIdentity() }); // runtime has no state yet
  w.container('old-style', 'pod-d', { creator: null }); // no creator information: grace period
  const report = w.gc();
  t.same(report.removed.map((r) => r.split('/')[1]).sort(), ['dead', 'dead-app']);
  t.same(report.released, ['pod-b'], 'pod-b had no other container');
  t.same(w.records(), ['creating', 'live', 'old-style']);
  t.same(w.unmounted, [join(containerRootfsDir(w.stateDir, w.runRoot, 'dead'), 'root')], "only the dead container's mount");
  t.notOk(existsSync(containerRootfsDir(w.stateDir, w.runRoot, 'dead')));
  t.ok(existsSync(containerRootfsDir(w.stateDir, w.runRoot, 'live')));
  t.equal(w.allocator.lookup('pod-b'), null);
  for (const pod of ['pod-a', 'pod-c', 'pod-d']) t.not(w.allocator.lookup(pod), null, `${pod} keeps its block`);

  const later = w.gc({ now: Date.now() + 61_000 });
  t.same(later.removed.map((r) => r.split('/')[1]), ['old-style'], 'after the grace period');
  t.same(later.released, ['pod-d']);
});

t.test('a mount that will not go keeps the record (and the block) for the next run', async (t) => {
  const w = world(t);
  w.container('dead', 'pod-b', { mounted: true });
  const report = w.gc({ native: { unmount: () => { throw Object.assign(new Error('EPERM'), { code: 'EPERM' }); } } });
  t.same(report.removed, []);
  t.match(report.problems, [/EPERM.*record kept/]);
  t.not(w.allocator.lookup('pod-b'), null);
  t.same(w.gc().removed.length, 1, 'the next run finishes the job');
});

t.test('many dead containers share the reads of the mount table; each is still judged by its own mounts', async (t) => {
  const w = world(t);
  const ids = Array.from({ length: 40 }, (_, i) => `dead-${String(i).padStart(2, '0')}`);
  for (const id of ids) w.container(id, 'pod-dead', { mounted: true });
  w.container('live', 'pod-live', { live: true, mounted: true });
  const rootOf = (id: string) => join(containerRootfsDir(w.stateDir, w.runRoot, id), 'root');
  w.mounts.push(rootOf('dead-07'), rootOf('dead-07')); // stacked three deep: three calls
  w.mounts.push(join(containerRootfsDir(w.stateDir, w.runRoot, 'dead-20'), 'stray')); // not ours to unmount
  let reads = 0;
  const report = w.gc({ mountinfo: () => { reads++; return w.mounts.map((p, i) => `${100 + i} 1 0:1 / ${p} rw - overlay overlay rw,lowerdir=/x`).join('\n'); } });
  t.same(report.removed.map((r) => r.split('/')[1]).sort(), ids.filter((id) => id !== 'dead-20'));
  t.match(report.problems, [/dead-20: still mounted under .*dead-20: .*stray; record kept/]);
  t.equal(w.unmounted.filter((p) => p === rootOf('dead-07')).length, 3, 'a stacked mount takes one call per layer');
  t.same(w.mounts.sort(), [rootOf('live'), join(containerRootfsDir(w.stateDir, w.runRoot, 'dead-20'), 'stray')].sort(), "only the live container's mount and the stray stay");
  t.ok(existsSync(containerRootfsDir(w.stateDir, w.runRoot, 'dead-20')), 'a tree with something still mounted in it is never removed');
  t.ok(reads <= 12, `mount table read ${reads} times for 40 containers (was two per container)`);
});

t.test('blocks without a live record: denied creates, allocations killed before linking', async (t) => {
  const w = world(t);
  w.allocator.acquire('denied-pod'); // a create that was refused after allocating: no record
  mkdirSync(join(w.stateDir, 'ids', 'blocks'), { recursive: true });
  const orphan = join(w.stateDir, 'ids', 'blocks', '5');
  writeFileSync(orphan, 'killed-pod'); // claimed, never linked (kill -9 between the two steps)
  const young = w.gc();
  t.same(young.reclaimed, ['denied-pod'], 'a pod link without a record goes at once');
  t.ok(existsSync(orphan), 'an unlinked block is kept for the grace period (its allocation may be in flight)');
  const old = new Date(Date.now() - 120_000);
  utimesSync(orphan, old, old);
  t.same(w.gc().reclaimed, ['block 5']);
  t.notOk(existsSync(orphan));
});

t.test('a create in progress protects its pod before its record exists', async (t) => {
  const w = world(t);
  const mark = markCreating(w.stateDir, 'pod-new');
  w.allocator.acquire('pod-new');
  t.same(w.gc().reclaimed, [], 'marked');
  t.not(w.allocator.lookup('pod-new'), null);
  mark.done();
  t.same(w.gc().reclaimed, ['pod-new'], 'without mark and record it is garbage');
  // A mark whose process died is stale and removed.
  mkdirSync(join(w.stateDir, 'gc', 'creating'), { recursive: true });
  writeFileSync(join(w.stateDir, 'gc', 'creating', String(DEAD.pid)), JSON.stringify({ podKey: 'pod-x', start: DEAD.start }));
  w.allocator.acquire('pod-x');
  t.same(w.gc().reclaimed, ['pod-x']);
  t.same(readdirSync(join(w.stateDir, 'gc', 'creating')), []);
});

t.test('mount directories with no record are cleaned after the grace period', async (t) => {
  const w = world(t);
  const dir = containerRootfsDir(w.stateDir, w.runRoot, 'crashed');
  mkdirSync(join(dir, 'root'), { recursive: true });
  w.mounts.push(join(dir, 'root'));
  w.gc();
  t.ok(existsSync(dir), 'young: maybe a create between mounting and recording');
  w.gc({ now: Date.now() + 61_000 });
  t.notOk(existsSync(dir));
  t.same(w.mounts, []);
});

t.test('one collector at a time; a dead holder does not block', async (t) => {
  const w = world(t);
  w.container('dead', 'pod-b');
  mkdirSync(join(w.stateDir, 'gc'), { recursive: true });
  writeFileSync(join(w.stateDir, 'gc', 'lock'), JSON.stringify(processIdentity()));
  t.equal(w.gc().skipped, 'another garbage collection is running');
  t.same(w.records(), ['dead']);
  writeFileSync(join(w.stateDir, 'gc', 'lock'), JSON.stringify(DEAD));
  t.equal(w.gc().removed.length, 1, 'stale lock taken over');
  t.notOk(existsSync(join(w.stateDir, 'gc', 'lock')), 'released');
});

t.test('a create that completes while the collector runs keeps its block (stale scan)', async (t) => {
  const w = world(t);
  w.container('dead', 'pod-b');
  let injected = false;
  const report = w.gc({
    presence: () => {
      if (!injected) {
        // A whole create between the collector's record scan and its release decisions.
        injected = true;
        const mark = markCreating(w.stateDir, 'pod-late');
        w.container('late', 'pod-late', { creator: processIdentity() });
        mark.done();
      }
      return 'absent';
    },
  });
  t.same(report.released, ['pod-b']);
  t.same(report.reclaimed, [], 'pod-late not released: its record is found fresh');
  t.not(w.allocator.lookup('pod-late'), null);
});

t.test('a record directory that never got its record goes after the grace period', async (t) => {
  const w = world(t);
  mkdirSync(join(w.stateDir, 'containers', rootKey(w.runRoot), 'half'), { recursive: true });
  w.allocator.acquire('other');
  t.same(w.gc().removed, []);
  t.not(w.allocator.lookup('other'), null, 'a record being written could belong to any pod');
  t.same(w.gc({ now: Date.now() + 61_000 }).removed, [`${rootKey(w.runRoot)}/half`]);
  t.equal(w.allocator.lookup('other'), null);
});
