// ID blocks under real load, on real runc and crun through bin/bulwark-runtime: 50 parallel
// creates get 50 distinct blocks; pass-through delete leaves state behind that the next create's
// garbage collection removes (records, idmapped rootfs mounts, blocks); an allocation killed
// between claiming a block and linking it is reclaimed once past the grace period; deleting a
// pod's containers frees its block.
import t from 'tap';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBundle, unavailableReason } from '../lib/index.js';
import type { Bundle } from '../lib/index.js';
import { POOL_BLOCKS, UsernsEnv, criAnnotations } from './env.js';

t.setTimeout(900_000);
const PARALLEL = 50;


for (const name of ['runc', 'crun'] as const) {
  const skip = await unavailableReason(name);
  t.test(name, { skip }, async (t) => {
    const env = new UsernsEnv(name);
    t.teardown(() => env.dispose());
    const made: Bundle[] = [];
    t.teardown(() => {
      for (const b of made) b.destroy();
    });
    const bundle = async (label: string, args = ['/bin/sleep', '600']) => {
      const b = await makeBundle({ args, label: `${label}-${name}` });
      made.push(b);
      return b;
    };

    t.test(`${PARALLEL} parallel creates get ${PARALLEL} distinct blocks; the next create collects them after delete`, async (t) => {
      const bundles: Bundle[] = [];
      for (let i = 0; i < PARALLEL; i++) bundles.push(await bundle(`par${i}`));
      const started = Date.now();
      const results = await Promise.all(bundles.map((b) => env.create(b)));
      t.comment(`${PARALLEL} parallel creates through Bulwark on ${name}: ${Date.now() - started} ms`);
      t.same(results.map((r, i) => (r.exitCode === 0 ? null : `${bundles[i]!.id}: ${r.stderr.slice(-300)}`)).filter(Boolean), [], 'all created');
      const blocks = bundles.map((b) => env.podBlock(b.id));
      t.ok(blocks.every((b) => typeof b === 'number' && b >= 0 && b < POOL_BLOCKS), 'every pod has a block of the pool');
      t.equal(new Set(blocks).size, PARALLEL, 'all distinct');
      t.equal(env.blockFiles().length, PARALLEL, 'no block claimed twice or leaked');
      t.equal(env.rootfsMounts().length, PARALLEL, 'one idmapped rootfs mount per container');

      const deleted = await Promise.all(bundles.map((b) => env.delete(b.id)));
      t.same(deleted.filter((r) => r.exitCode !== 0).map((r) => r.stderr), [], 'all deleted (pass-through: no Node, nothing released yet)');
      t.equal(env.blockFiles().length, PARALLEL, 'blocks still held until a collection runs');

      const next = await bundle('after-par');
      t.equal((await env.create(next)).exitCode, 0, 'a new create');
      t.same(env.blockFiles(), [String(env.podBlock(next.id))], "the create's GC released the 50 blocks; only the new pod's remains");
      t.equal(env.rootfsMounts().length, 1, "and detached the deleted containers' mounts");
      t.equal(env.podBlock(next.id), 0, 'the lowest block is free again');
      await env.delete(next.id);
    });

    t.test('an allocation killed between claiming and linking is reclaimed after the grace period', async (t) => {
      const orphan = join(env.stateDir, 'ids', 'blocks', '40');
      writeFileSync(orphan, 'killed-pod'); // what kill -9 right after the O_EXCL claim leaves
      const young = await bundle('young');
      t.equal((await env.create(young)).exitCode, 0);
      t.ok(env.blockFiles().includes('40'), 'within the grace period it may still be a live allocation: kept');
      const old = new Date(Date.now() - 5 * 60_000);
      utimesSync(orphan, old, old);
      const next = await bundle('reclaim');
      t.equal((await env.create(next)).exitCode, 0);
      t.notOk(env.blockFiles().includes('40'), 'reclaimed by the next create');
      for (const b of [young, next]) await env.delete(b.id);
    });

    t.test("deleting a pod's containers frees its block at the next create", async (t) => {
      const sb = await bundle('pod-sb');
      sb.writeSpec({ ...sb.readSpec(), annotations: criAnnotations('sandbox', sb.id) });
      const pidFile = join(sb.dir, 'init.pid');
      t.equal((await env.create(sb, sb.id, pidFile)).exitCode, 0, 'sandbox created');
      t.equal((await env.start(sb.id)).exitCode, 0, 'sandbox started');
      t.ok(Number(readFileSync(pidFile, 'utf8')) > 0);
      const app = await bundle('pod-app');
      app.writeSpec({ ...app.readSpec(), annotations: criAnnotations('container', sb.id) });
      const c = await env.create(app);
      t.equal(c.exitCode, 0, `app container created: ${c.stderr.slice(-300)}`);
      const block = env.podBlock(sb.id);
      t.type(block, 'number');
      t.equal(env.podBlock(app.id), undefined, 'one block for the pod');

      t.equal((await env.delete(app.id)).exitCode, 0);
      const probe = await bundle('pod-probe');
      t.equal((await env.create(probe)).exitCode, 0);
      t.equal(env.podBlock(sb.id), block, 'the sandbox still runs: the pod keeps its block');
      await env.delete(probe.id);

      t.equal((await env.delete(sb.id)).exitCode, 0, 'pod deleted');
      const after = await bundle('pod-after');
      t.equal((await env.create(after)).exitCode, 0);
      t.equal(env.podBlock(sb.id), undefined, 'pod link gone');
      t.notOk(env.blockFiles().includes(String(block)) && env.podBlock(after.id) !== block, 'its block is free (or reused by the next pod)');
      t.same(env.rootfsMounts().length, 1, "only the new container's mount is left");
      await env.delete(after.id);
      const gc = await env.gc();
      t.equal(gc.exitCode, 0, `bulwark gc: ${gc.stderr}`);
      t.same(env.blockFiles(), [], 'bulwark gc leaves nothing once every container is gone');
      t.same(env.rootfsMounts(), []);
    });
  });
}
