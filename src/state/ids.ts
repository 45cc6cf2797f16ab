// ID blocks for user namespaces: one 65536-ID block per pod (or standalone container) from a
// pool, persistent in the state directory and safe under concurrency without a global lock:
//   blocks/<n>        claimed with O_EXCL (the first creator wins); holds the pod key
//   pods/<key>        a symlink to the block number, created atomically by symlink(2)
// A crash between the two steps leaves a claimed block no pod points at; `collect` reclaims it.
import { openSync, closeSync, writeSync, readlinkSync, symlinkSync, unlinkSync, readdirSync, readFileSync, constants, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { IdRange } from '../host/types.js';
import { makeDir } from '../host/dirs.js';
import { readTextOrNull } from '../host/read.js';
import { failpoint } from '../runtime/failpoint.js';

export const BLOCK_SIZE = 65536;

export class IdPoolError extends Error {
  override name = 'IdPoolError';
}

export interface Pool {
  start: number;
  size: number;
  /** Where the pool was configured, for error messages. */
  source: string;
}

/** The pool: config's idPool, else the `bulwark` entry of /etc/subuid (+ /etc/subgid), else a default. */
export function resolvePool(configured: { start: number; size: number } | null, subuidText: string | null, subgidText: string | null): Pool {
  if (configured) return validatePool({ ...configured, source: 'config idPool' });
  const fromSub = (text: string | null, file: string): Pool | null => {
    for (const line of (text ?? '').split('\n')) {
      const [name, start, size] = line.trim().split(':');
      if (name === 'bulwark' && start !== undefined && size !== undefined) {
        return validatePool({ start: Number(start), size: Number(size), source: file });
      }
    }
    return null;
  };
  const uid = fromSub(subuidText, '/etc/subuid');
  const gid = fromSub(subgidText, '/etc/subgid');
  if (uid && gid && (uid.start !== gid.start || uid.size !== gid.size)) {
    throw new IdPoolError(`pool mismatch: /etc/subuid bulwark ${uid.start}:${uid.size} differs from /etc/subgid ${gid.start}:${gid.size}`);
  }
  if (uid ?? gid) return (uid ?? gid)!;
  // Above 2^31: clear of the ranges useradd hands out and of kubelet's low blocks.
  return { start: 2 ** 31, size: BLOCK_SIZE * 4096, source: 'built-in default' };
}

/** This node's pool: resolvePool with the node's own /etc/subuid and /etc/subgid. */
export function nodePool(configured: { start: number; size: number } | null): Pool {
  if (configured) return resolvePool(configured, null, null);
  return resolvePool(null, readTextOrNull('/etc/subuid'), readTextOrNull('/etc/subgid'));
}

/**
 * This node's allocator for a Bulwark config: its state directory and its pool, found by `poolOf`
 * (nodePool reads the subid files each time; the warm service passes its cached loader).
 */
export function nodeAllocator(
  config: { stateDir: string; idPool: { start: number; size: number } | null },
  poolOf: (configured: { start: number; size: number } | null) => Pool = nodePool,
): IdAllocator {
  return new IdAllocator(config.stateDir, poolOf(config.idPool));
}

function validatePool(pool: Pool): Pool {
  if (!Number.isSafeInteger(pool.start) || !Number.isSafeInteger(pool.size)) throw new IdPoolError(`${pool.source}: pool start and size must be integers`);
  if (pool.start < 1) throw new IdPoolError(`${pool.source}: pool must not contain host ID 0`);
  if (pool.size < BLOCK_SIZE) throw new IdPoolError(`${pool.source}: pool of ${pool.size} IDs is smaller than one block of ${BLOCK_SIZE}`);
  if (pool.start + pool.size > 2 ** 32 - 1) throw new IdPoolError(`${pool.source}: pool ends beyond 2^32-2`);
  return pool;
}

export function blockRange(pool: Pool, index: number): IdRange {
  return { hostID: pool.start + index * BLOCK_SIZE, size: BLOCK_SIZE };
}

/** Pod keys become file names: keep them short and free of path syntax. */
function keyFile(podKey: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$/.test(podKey) ? podKey : `h-${createHash('sha256').update(podKey).digest('hex').slice(0, 40)}`;
}

export interface Allocation {
  index: number;
  range: IdRange;
  /** True when this call claimed the block; false when the pod already had it. */
  fresh: boolean;
  /** The blocks other pods held when this one was acquired (lowest first). */
  others: IdRange[];
}

export class IdAllocator {
  private readonly blocksDir: string;
  private readonly podsDir: string;
  private readonly blocks: number;

  constructor(stateDir: string, readonly pool: Pool) {
    this.blocksDir = join(stateDir, 'ids', 'blocks');
    this.podsDir = join(stateDir, 'ids', 'pods');
    this.blocks = Math.floor(pool.size / BLOCK_SIZE);
  }

  private ensureDirs(): void {
    makeDir(this.blocksDir, 0o700);
    makeDir(this.podsDir, 0o700);
  }

  /** The block a pod holds, or null. */
  lookup(podKey: string): number | null {
    try {
      const target = readlinkSync(join(this.podsDir, keyFile(podKey)));
      const index = Number(target);
      return Number.isInteger(index) && index >= 0 && index < this.blocks ? index : null;
    } catch {
      return null;
    }
  }

  /** Names in the blocks directory; the directories are made the first time it is missing. */
  private claimedBlocks(): Set<string> {
    try {
      return new Set(readdirSync(this.blocksDir));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.ensureDirs();
      return new Set();
    }
  }

  /** Block numbers not in `taken` (a listing of the blocks directory), lowest first. */
  private *unclaimed(taken: ReadonlySet<string>): Generator<number> {
    for (let i = 0; i < this.blocks; i++) if (!taken.has(String(i))) yield i;
  }

  /** Claim the lowest free block; `taken` (one readdir, not an O_EXCL probe per block) gains what it finds taken. */
  private claimBlock(podKey: string, taken: Set<string>): number {
    // The O_EXCL create stays the arbiter: a block taken since the listing is simply skipped.
    for (const i of this.unclaimed(taken)) {
      let fd: number;
      try {
        fd = openSync(join(this.blocksDir, String(i)), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          taken.add(String(i));
          continue;
        }
        throw err;
      }
      writeSync(fd, podKey);
      closeSync(fd);
      return i;
    }
    throw new IdPoolError(`ID pool exhausted: all ${this.blocks} blocks of ${this.pool.source} (${this.pool.start}+${this.pool.size}) are in use`);
  }

  private allocation(index: number, fresh: boolean, taken: ReadonlySet<string>): Allocation {
    const others = [...taken].map(Number).filter((i) => Number.isInteger(i) && i !== index).sort((a, b) => a - b).map((i) => blockRange(this.pool, i));
    return { index, range: blockRange(this.pool, index), fresh, others };
  }

  /**
   * The pod's block, claiming one if it has none (concurrent callers for one pod agree), and the
   * blocks other pods held, from the same listing of the blocks directory.
   */
  acquire(podKey: string): Allocation {
    const existing = this.lookup(podKey);
    const taken = this.claimedBlocks();
    if (existing !== null) return this.allocation(existing, false, taken);
    const index = this.claimBlock(podKey, taken);
    failpoint('ids.after-claim');
    const link = join(this.podsDir, keyFile(podKey));
    try {
      try {
        symlinkSync(String(index), link);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        makeDir(this.podsDir, 0o700); // removed by hand since the blocks directory was made
        symlinkSync(String(index), link);
      }
    } catch (err) {
      unlinkSync(join(this.blocksDir, String(index)));
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const winner = this.lookup(podKey);
      if (winner === null) throw new IdPoolError(`pod ${podKey}: allocation link is corrupt`);
      return this.allocation(winner, false, taken);
    }
    return this.allocation(index, true, taken);
  }

  /** The block the next new pod would get now (the lowest free one), or null when none is free. */
  nextFree(): number | null {
    let taken: Set<string>;
    try {
      taken = new Set(readdirSync(this.blocksDir));
    } catch {
      taken = new Set();
    }
    return this.unclaimed(taken).next().value ?? null;
  }

  /** Release a pod's block: the link first, so a crash in between leaves an orphan `collect` finds. */
  release(podKey: string): void {
    const index = this.lookup(podKey);
    try {
      unlinkSync(join(this.podsDir, keyFile(podKey)));
    } catch {
      return;
    }
    if (index !== null) {
      try {
        unlinkSync(join(this.blocksDir, String(index)));
      } catch {
        // already gone
      }
    }
  }

  /**
   * Reclaim blocks no pod link points at (a crash mid-allocation) once they are older than
   * `graceMs`, and pods for which `isLive(podKey)` is false.
   */
  collect(isLive: (podKey: string) => boolean, now = Date.now(), graceMs = 60_000): string[] {
    const reclaimed: string[] = [];
    let pods: string[] = [];
    let blocks: string[] = [];
    try {
      pods = readdirSync(this.podsDir);
      blocks = readdirSync(this.blocksDir);
    } catch {
      return reclaimed;
    }
    const linked = new Set<string>();
    for (const pod of pods) {
      let target: string;
      try {
        target = readlinkSync(join(this.podsDir, pod));
      } catch {
        continue;
      }
      let owner = pod;
      try {
        owner = readFileSync(join(this.blocksDir, target), 'utf8') || pod;
      } catch {
        // link to a missing block: drop the link below
      }
      if (!isLive(owner)) {
        this.release(owner);
        reclaimed.push(owner);
      } else {
        linked.add(target);
      }
    }
    for (const block of blocks) {
      if (linked.has(block)) continue;
      const path = join(this.blocksDir, block);
      try {
        if (now - statSync(path).mtimeMs < graceMs) continue;
        const owner = readFileSync(path, 'utf8');
        if (this.lookup(owner) === Number(block)) continue;
        unlinkSync(path);
        reclaimed.push(`block ${block}`);
      } catch {
        // raced with another collector
      }
    }
    return reclaimed;
  }
}
