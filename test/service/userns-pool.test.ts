// The warm service's pool of ready user namespaces: a create gets a pooled namespace only for
// exactly the maps it was made for; everything else is made on demand; nothing leaks.
import t from 'tap';
import { UserNamespacePool } from '../../src/service/userns-pool.js';
import type { IDMapping } from '../../src/spec/index.js';

const block = (hostID: number): IDMapping[] => [{ containerID: 0, hostID, size: 65536 }];

function fakeNative() {
  let next = 100;
  const open = new Set<number>();
  const made: string[] = [];
  return {
    open,
    made,
    createUserNamespace(uidMap: readonly IDMapping[], gidMap: readonly IDMapping[]) {
      made.push(`${uidMap[0]!.hostID}/${gidMap[0]!.hostID}`);
      open.add(next);
      return next++;
    },
    closeFd(fd: number) {
      if (!open.delete(fd)) throw new Error(`closed ${fd} twice or never opened`);
    },
  };
}

t.test('a prepared namespace goes to the create that asks for exactly its maps', async (t) => {
  const cases: Array<{ name: string; prepare: IDMapping[][]; take: [IDMapping[], IDMapping[]]; pooled: boolean }> = [
    { name: 'same maps', prepare: [block(1 << 31)], take: [block(1 << 31), block(1 << 31)], pooled: true },
    { name: 'another block', prepare: [block(1 << 31)], take: [block((1 << 31) + 65536), block((1 << 31) + 65536)], pooled: false },
    { name: 'same uid map, other gid map', prepare: [block(1 << 31)], take: [block(1 << 31), block((1 << 31) + 65536)], pooled: false },
    { name: 'nothing prepared', prepare: [], take: [block(1 << 31), block(1 << 31)], pooled: false },
  ];
  for (const c of cases) {
    const native = fakeNative();
    const pool = new UserNamespacePool(native);
    for (const m of c.prepare) pool.prepare(m, m);
    const before = native.made.length;
    const fd = pool.take(...c.take);
    t.equal(native.made.length - before, c.pooled ? 0 : 1, `${c.name}: ${c.pooled ? 'handed out from the pool' : 'made on demand'}`);
    t.ok(native.open.has(fd), `${c.name}: the descriptor is open for the caller`);
    t.same(pool.stats, { made: c.prepare.length, handedOut: c.pooled ? 1 : 0, madeOnDemand: c.pooled ? 0 : 1 }, `${c.name}: stats`);
    native.closeFd(fd); // the caller closes what it took, as rootfs-idmap does
    pool.close();
    t.equal(native.open.size, 0, `${c.name}: nothing left open`);
  }
});

t.test('a namespace is handed out once; the pool is bounded and closes what it drops', async (t) => {
  const native = fakeNative();
  const pool = new UserNamespacePool(native);
  pool.prepare(block(1), block(1));
  pool.prepare(block(1), block(1));
  t.equal(native.made.length, 1, 'preparing the same maps twice makes one');
  const first = pool.take(block(1), block(1));
  const second = pool.take(block(1), block(1));
  t.not(first, second, 'the second create gets its own namespace, not a shared descriptor');
  native.closeFd(first);
  native.closeFd(second);
  for (const h of [10, 20, 30, 40]) pool.prepare(block(h), block(h));
  t.equal(pool.size, 2, 'at most two wait');
  t.equal(native.open.size, 2, 'the dropped ones were closed');
  t.equal(native.made.length - 2, 4);
  const kept = native.made.length;
  pool.take(block(40), block(40));
  t.equal(native.made.length, kept, 'the newest is still there');
  pool.take(block(10), block(10));
  t.equal(native.made.length, kept + 1, 'the oldest was dropped');
});
