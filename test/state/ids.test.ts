import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, utimesSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IdAllocator, nodeAllocator, resolvePool, IdPoolError, BLOCK_SIZE, blockRange } from '../../src/state/ids.js';

t.setTimeout(240_000);
const pool = { start: 200_000, size: BLOCK_SIZE * 64, source: 'test' };
const stateDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ids-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

t.test('pool resolution', async (t) => {
  const cases: Array<[string, Parameters<typeof resolvePool>, { start: number; size: number } | RegExp]> = [
    ['config wins', [{ start: 300000, size: 65536 }, 'bulwark:100000:65536', null], { start: 300000, size: 65536 }],
    ['subuid entry', [null, 'alice:100000:65536\nbulwark:1000000:6553600\n', 'bulwark:1000000:6553600\n'], { start: 1000000, size: 6553600 }],
    ['default', [null, 'alice:100000:65536\n', null], { start: 2 ** 31, size: BLOCK_SIZE * 4096 }],
    ['subuid/subgid mismatch', [null, 'bulwark:1000000:655360\n', 'bulwark:2000000:655360\n'], /pool mismatch: \/etc\/subuid bulwark 1000000:655360 differs from \/etc\/subgid 2000000:655360/],
    ['contains root', [{ start: 0, size: 65536 }, null, null], /must not contain host ID 0/],
    ['too small', [null, 'bulwark:100000:1000\n', null], /\/etc\/subuid: pool of 1000 IDs is smaller than one block/],
    ['beyond 32 bits', [{ start: 2 ** 32 - 65536, size: 65536 * 2 }, null, null], /beyond 2\^32/],
  ];
  for (const [name, args, want] of cases) {
    if (want instanceof RegExp) t.throws(() => resolvePool(...args), want, name);
    else t.match(resolvePool(...args), want, name);
  }
});

t.test('one block per pod, stable for the pod, disjoint across pods', async (t) => {
  const a = new IdAllocator(stateDir(), pool);
  const first = a.acquire('pod-a');
  t.same(first, { index: 0, range: { hostID: 200_000, size: BLOCK_SIZE }, fresh: true, others: [] });
  t.same(a.acquire('pod-a'), { ...first, fresh: false }, 'same pod, same block');
  const second = a.acquire('pod-b');
  t.equal(second.range.hostID, 200_000 + BLOCK_SIZE);
  t.same(second.others, [first.range], 'a new pod sees the blocks held before it');
  t.same(a.acquire('pod-a').others, [second.range], 'and an existing one those held by the others');
  a.release('pod-a');
  t.equal(a.lookup('pod-a'), null);
  t.equal(a.acquire('pod-c').index, 0, 'a released block is reused');
});

t.test('acquire makes the directories it needs, even one removed by hand later', async (t) => {
  const dir = stateDir();
  const a = new IdAllocator(dir, pool);
  t.equal(a.acquire('p1').index, 0, 'no ids directory yet');
  rmSync(join(dir, 'ids', 'pods'), { recursive: true });
  const second = a.acquire('p2');
  t.equal(second.index, 1, 'the blocks directory still counts block 0 as taken');
  t.equal(a.lookup('p2'), 1, 'and the pod link was made in a new pods directory');
  t.same(second.others, [blockRange(pool, 0)]);
});

t.test('nodeAllocator: the pool of the config wins, in its state directory', async (t) => {
  const dir = stateDir();
  const a = nodeAllocator({ stateDir: dir, idPool: { start: 300_000, size: BLOCK_SIZE * 2 } });
  t.match(a.pool, { start: 300_000, size: BLOCK_SIZE * 2, source: 'config idPool' });
  a.acquire('p');
  t.same(readdirSync(join(dir, 'ids', 'blocks')), ['0'], 'blocks live under the given state directory');
});

t.test('nextFree names the block the next new pod would get', async (t) => {
  const a = new IdAllocator(stateDir(), { ...pool, size: BLOCK_SIZE * 3 });
  t.equal(a.nextFree(), 0, 'nothing claimed yet (no blocks directory)');
  for (const [pod, next] of [['p1', 1], ['p2', 2]] as const) {
    a.acquire(pod);
    t.equal(a.nextFree(), next, `after ${pod}`);
    t.equal(a.acquire(`new-after-${pod}`).index, next, 'and that is what a new pod gets');
    a.release(`new-after-${pod}`);
  }
  a.release('p1');
  t.equal(a.nextFree(), 0, 'a released block comes first again');
  a.acquire('p1');
  a.acquire('p3');
  t.equal(a.nextFree(), null, 'none when the pool is full');
});

t.test('odd pod keys never become paths', async (t) => {
  const dir = stateDir();
  const a = new IdAllocator(dir, pool);
  a.acquire('../../etc/x');
  a.acquire('a'.repeat(300));
  for (const name of readdirSync(join(dir, 'ids', 'pods'))) t.match(name, /^h-[0-9a-f]{40}$/);
});

t.test('an exhausted pool is a clear error naming it', async (t) => {
  const a = new IdAllocator(stateDir(), { start: 100_000, size: BLOCK_SIZE * 2, source: '/etc/subuid' });
  a.acquire('p1');
  a.acquire('p2');
  t.throws(() => a.acquire('p3'), /ID pool exhausted: all 2 blocks of \/etc\/subuid \(100000\+131072\) are in use/);
  t.throws(() => a.acquire('p3'), IdPoolError);
});

t.test('a crash between claim and link leaves an orphan that collect reclaims after the grace time', async (t) => {
  const dir = stateDir();
  const a = new IdAllocator(dir, pool);
  a.acquire('live');
  mkdirSync(join(dir, 'ids', 'blocks'), { recursive: true });
  writeFileSync(join(dir, 'ids', 'blocks', '5'), 'crashed-pod'); // claimed, never linked
  t.same(a.collect(() => true), [], 'too young to reclaim (maybe mid-allocation)');
  const old = (Date.now() - 120_000) / 1000;
  utimesSync(join(dir, 'ids', 'blocks', '5'), old, old);
  t.same(a.collect(() => true), ['block 5']);
  t.same(readdirSync(join(dir, 'ids', 'blocks')).sort(), ['0']);
  t.same(a.collect((pod) => pod !== 'live'), ['live'], 'dead pods are released');
  t.same(readdirSync(join(dir, 'ids', 'blocks')), []);
});

const modulePath = fileURLToPath(new URL('../../src/state/ids.js', import.meta.url));
function acquireInChild(dir: string, pod: string): Promise<number> {
  const script = `import { IdAllocator } from ${JSON.stringify(modulePath)};
    const a = new IdAllocator(${JSON.stringify(dir)}, ${JSON.stringify(pool)});
    process.stdout.write(String(a.acquire(${JSON.stringify(pod)}).index));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`child exit ${code}`))));
  });
}

t.test('50 concurrent processes for 50 pods get 50 distinct blocks', async (t) => {
  const dir = stateDir();
  const got = await Promise.all(Array.from({ length: 50 }, (_, i) => acquireInChild(dir, `pod-${i}`)));
  t.equal(new Set(got).size, 50, `distinct: ${got.join(',')}`);
  t.equal(readdirSync(join(dir, 'ids', 'blocks')).length, 50, 'no leaked claims');
});

t.test('20 concurrent processes for one pod agree on one block', async (t) => {
  const dir = stateDir();
  const got = await Promise.all(Array.from({ length: 20 }, () => acquireInChild(dir, 'shared-pod')));
  t.equal(new Set(got).size, 1, `all equal: ${got.join(',')}`);
  t.equal(readdirSync(join(dir, 'ids', 'blocks')).length, 1, 'losers released their claims');
});
