// Garbage collection of Bulwark's per-container state. Pass-through `delete` never starts Node
// (the launcher execs the runtime directly), so nothing learns at delete time that a container
// is gone. Instead, at the start of every create (a directory scan and one stat per container)
// and on `bulwark gc`:
//   1. a record whose container the low-level runtime no longer has is removed, with the
//      idmapped rootfs and volume mounts and private overlay directories Bulwark made for it
//      (removeContainerRootfs knows them all);
//   2. a pod whose last record went is released (its ID block is free again);
//   3. IdAllocator.collect reclaims the rest: blocks of pods without a live record (denied or
//      failed creates) and blocks claimed by an allocation that was killed before linking.
//
// "No longer has": runc and crun keep `<root>/<id>/`, runsc keeps `<root>/<id>_sandbox:...`
// files. When unsure (unknown runtime, unreadable root), the record is kept.
//
// A create in progress has no runtime state yet. It is recognised by its creator: the engine
// writes `gc/creating/<pid>` (pod key + the process's start time) before it allocates, and the
// record names the same process, which becomes the runtime by execve (same pid): while that
// process lives, its pod and record are kept. A record without creator information is kept for
// a grace period instead.
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { nodeAllocator } from '../state/ids.js';
import type { IdAllocator } from '../state/ids.js';
import type { BulwarkConfig } from '../host/config.js';
import { openMakingDir } from '../host/dirs.js';
import { safeId } from './records.js';
import type { ContainerRecord } from './records.js';
import type { ResolvedRuntime } from './select-runtime.js';
import { removeContainerRootfs, removeContainerRootfsAll, rootfsBase, readMountinfo } from './rootfs-idmap.js';
import type { RootfsNative } from './rootfs-idmap.js';

/** Where each runtime keeps its state when not given --root (as root). */
export const DEFAULT_ROOTS: Readonly<Record<string, string>> = { runc: '/run/runc', crun: '/run/crun', runsc: '/var/run/runsc' };

export const DEFAULT_GRACE_MS = 60_000;

/** Dead containers whose mounts are removed together (see removeDead in collectGarbage). */
const REMOVE_BATCH = 16;

/** A process, by pid and kernel start time (so a reused pid is not mistaken for it). */
export interface ProcessIdentity {
  pid: number;
  start: string;
}

/** The record as the engine writes it: ContainerRecord plus the creating process. */
export interface GcRecord extends ContainerRecord {
  creator?: ProcessIdentity | null;
}

export function processIdentity(pid: number = process.pid): ProcessIdentity | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) may hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    return start ? { pid, start } : null;
  } catch {
    return null;
  }
}

// A process's pid and start time never change while it runs: the warm service reads its own once.
let self: ProcessIdentity | null = null;

/** processIdentity() of this process. */
export function selfIdentity(): ProcessIdentity | null {
  if (self?.pid !== process.pid) self = processIdentity(process.pid);
  return self;
}

export function isAlive(p: ProcessIdentity): boolean {
  return processIdentity(p.pid)?.start === p.start;
}

/** Inverse of records.ts rootKey: undefined for `_none`, null for a key that is not one. */
export function decodeRootKey(key: string): string | undefined | null {
  if (key === '_none') return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c === '_') {
      const hex = key.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (/[A-Za-z0-9.-]/.test(c)) {
      bytes.push(c.charCodeAt(0));
    } else {
      return null;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export type Presence = 'present' | 'absent' | 'unknown';

function runtimeKind(runtime: ResolvedRuntime | undefined): string | null {
  if (!runtime) return null;
  for (const name of [runtime.name, basename(runtime.path)]) {
    if (name in DEFAULT_ROOTS) return name;
  }
  return null;
}

/** A --root given in the runtime's own configured arguments (e.g. runsc's). */
function rootFromArgs(args: readonly string[]): string | undefined {
  let root: string | undefined;
  args.forEach((a, i) => {
    if (a === '--root' || a === '-root') root = args[i + 1];
    else if (a.startsWith('--root=') || a.startsWith('-root=')) root = a.slice(a.indexOf('=') + 1);
  });
  return root;
}

/** Does the low-level runtime still have container `id`? */
export function containerPresence(runtime: ResolvedRuntime | undefined, root: string | undefined, id: string): Presence {
  const kind = runtimeKind(runtime);
  if (!kind) return 'unknown';
  const dir = root ?? rootFromArgs(runtime!.args) ?? DEFAULT_ROOTS[kind]!;
  if (!isAbsolute(dir)) return 'unknown';
  try {
    if (kind === 'runsc') {
      return readdirSync(dir).some((n) => n.startsWith(id)) ? 'present' : 'absent';
    }
    statSync(join(dir, id));
    return 'present';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'unknown';
  }
}

// ---- creates in progress ----

function creatingDir(stateDir: string): string {
  return join(stateDir, 'gc', 'creating');
}

/**
 * Mark a create in progress for `podKey` before its ID block is taken, so a concurrent GC does
 * not release the pod between the allocation and the record. done() removes the mark (the
 * record, naming the same process, protects the pod from then on).
 */
export function markCreating(stateDir: string, podKey: string): { done(): void } {
  const me = selfIdentity();
  if (!me) return { done: () => undefined };
  const dir = creatingDir(stateDir);
  const file = join(dir, String(me.pid));
  const fd = openMakingDir(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, JSON.stringify({ podKey, start: me.start }));
  } finally {
    closeSync(fd);
  }
  return {
    done: () => {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    },
  };
}

/** Pods with a create in progress; stale marks (their process is gone) are removed. */
function creatingPods(stateDir: string, alive: (p: ProcessIdentity) => boolean): Set<string> {
  const pods = new Set<string>();
  let names: string[] = [];
  try {
    names = readdirSync(creatingDir(stateDir));
  } catch {
    return pods;
  }
  for (const name of names) {
    const file = join(creatingDir(stateDir), name);
    try {
      const mark = JSON.parse(readFileSync(file, 'utf8')) as { podKey: string; start: string };
      if (alive({ pid: Number(name), start: mark.start })) pods.add(mark.podKey);
      else unlinkSync(file);
    } catch {
      // half-written or raced with its owner's done()
    }
  }
  return pods;
}

// ---- the collector ----

export interface GcOptions {
  stateDir: string;
  /** The ID allocator of this state directory; null skips the ID steps (no pool configured). */
  allocator: IdAllocator | null;
  /** For unmounting; null leaves mounted directories (reported). */
  native: Pick<RootfsNative, 'unmount'> | null;
  now?: number;
  graceMs?: number;
  /** Injected in tests. */
  presence?: (runtime: ResolvedRuntime | undefined, root: string | undefined, id: string) => Presence;
  alive?: (p: ProcessIdentity) => boolean;
  mountinfo?: () => string;
}

export interface GcReport {
  /** Records removed: `<rootKey>/<id>`. */
  removed: string[];
  /** Pods whose last record was removed (their blocks released). */
  released: string[];
  /** What IdAllocator.collect reclaimed besides. */
  reclaimed: string[];
  /** Mount points detached. */
  unmounted: string[];
  /** Records kept because their container still exists (or may). */
  kept: number;
  problems: string[];
  /** Set when another collector held the lock. */
  skipped: string | null;
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** One collector at a time: `gc/lock` by O_EXCL; a holder that died or stalled for a minute is replaced. */
function takeLock(stateDir: string, alive: (p: ProcessIdentity) => boolean, now: number): (() => void) | null {
  const dir = join(stateDir, 'gc');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'lock');
  const me = selfIdentity() ?? { pid: process.pid, start: '?' };
  const mine = JSON.stringify(me);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      writeSync(fd, mine);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8') === mine) unlinkSync(file);
        } catch {
          // taken over
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      const holder = JSON.parse(readFileSync(file, 'utf8') || 'null') as ProcessIdentity | null;
      const stale = !holder || !alive(holder) || now - statSync(file).mtimeMs > DEFAULT_GRACE_MS;
      if (!stale) return null;
      unlinkSync(file);
    } catch {
      // released meanwhile, or half-written by a holder that is still starting: try again once
    }
  }
  return null;
}

function youngerThan(path: string, now: number, grace: number): boolean {
  try {
    return now - statSync(path).mtimeMs <= grace;
  } catch {
    return false;
  }
}

/** Is there any record (live or not) of a container of this pod? Reads them all, so it is only
 *  asked before a release. */
function podHasRecord(containers: string, podKey: string, now: number, grace: number): boolean {
  const keys = listDirs(containers);
  // A sandbox or standalone container's id is its pod key: the cheap check first.
  if (safeId(podKey) && keys.some((key) => existsSync(join(containers, key, podKey, 'record.json')))) return true;
  for (const key of keys) {
    for (const id of listDirs(join(containers, key))) {
      try {
        if ((JSON.parse(readFileSync(join(containers, key, id, 'record.json'), 'utf8')) as GcRecord).podKey === podKey) return true;
      } catch (e) {
        // A record being written (no file yet) could be this pod's: keep the pod.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && youngerThan(join(containers, key, id), now, grace)) return true;
      }
    }
  }
  return false;
}

/** The collector for one Bulwark config, as the engine, the warm service and `bulwark gc` run it. */
export function collectForConfig(config: Pick<BulwarkConfig, 'stateDir' | 'idPool'>, native: Pick<RootfsNative, 'unmount'> | null, now?: number): GcReport {
  return collectGarbage({ stateDir: config.stateDir, allocator: nodeAllocator(config), native, ...(now === undefined ? {} : { now }) });
}

export function collectGarbage(options: GcOptions): GcReport {
  const { stateDir, allocator } = options;
  const now = options.now ?? Date.now();
  const grace = options.graceMs ?? DEFAULT_GRACE_MS;
  const presence = options.presence ?? containerPresence;
  const alive = options.alive ?? isAlive;
  const mountinfo = options.mountinfo ?? readMountinfo;
  const report: GcReport = { removed: [], released: [], reclaimed: [], unmounted: [], kept: 0, problems: [], skipped: null };
  if (!existsSync(stateDir)) return report;
  const unlock = takeLock(stateDir, alive, now);
  if (!unlock) {
    report.skipped = 'another garbage collection is running';
    return report;
  }
  try {
    const containers = join(stateDir, 'containers');
    const livePods = new Set<string>();
    const removedPods = new Set<string>();
    const recordKeys = new Set<string>();
    // Dead containers are removed a few at a time: each read of the mount table lists every
    // container on the node, so one read per batch instead of two per container; and small
    // batches keep each judgement close to the removal it leads to.
    const dead: Array<{ key: string; id: string; dir: string; podKey: string }> = [];
    const removeDead = () => {
      const results = removeContainerRootfsAll(dead.map((d) => join(rootfsBase(stateDir), d.key, d.id)), options.native, mountinfo);
      dead.forEach(({ key, id, dir, podKey }, i) => {
        const mounts = results[i]!;
        report.unmounted.push(...mounts.unmounted);
        if (!mounts.ok) {
          report.problems.push(`container ${id}: ${mounts.problem}; record kept`);
          livePods.add(podKey);
          return;
        }
        rmSync(dir, { recursive: true, force: true });
        recordKeys.delete(`${key}/${id}`);
        report.removed.push(`${key}/${id}`);
        removedPods.add(podKey);
      });
      dead.length = 0;
    };
    for (const key of listDirs(containers)) {
      const root = decodeRootKey(key);
      for (const id of listDirs(join(containers, key))) {
        recordKeys.add(`${key}/${id}`);
        const dir = join(containers, key, id);
        let record: GcRecord | null = null;
        let age = 0;
        try {
          const file = join(dir, 'record.json');
          age = now - statSync(file).mtimeMs;
          record = JSON.parse(readFileSync(file, 'utf8')) as GcRecord;
        } catch (e) {
          // A record being written, or damaged: keep it; a damaged one is reported. A directory
          // that never got its record (a create killed in between) goes after the grace period.
          const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
          if (missing && !youngerThan(dir, now, grace) && removeContainerRootfs(join(rootfsBase(stateDir), key, id), options.native, mountinfo).ok) {
            rmSync(dir, { recursive: true, force: true });
            recordKeys.delete(`${key}/${id}`);
            report.removed.push(`${key}/${id}`);
            continue;
          }
          if (!missing) report.problems.push(`${dir}: unreadable record (${(e as Error).message})`);
          report.kept++;
          continue;
        }
        const gone =
          root !== null &&
          presence(record.runtime, root, id) === 'absent' &&
          (record.creator ? !alive(record.creator) : age > grace);
        if (!gone) {
          livePods.add(record.podKey);
          report.kept++;
          continue;
        }
        dead.push({ key, id, dir, podKey: record.podKey });
        if (dead.length >= REMOVE_BATCH) removeDead();
      }
    }
    removeDead();
    // Mount directories no record owns: a create that failed or was killed after mounting.
    const base = rootfsBase(stateDir);
    for (const key of listDirs(base)) {
      for (const id of listDirs(join(base, key))) {
        if (recordKeys.has(`${key}/${id}`)) continue;
        const dir = join(base, key, id);
        try {
          if (now - statSync(dir).mtimeMs <= grace) continue;
        } catch {
          continue;
        }
        const mounts = removeContainerRootfs(dir, options.native, mountinfo);
        report.unmounted.push(...mounts.unmounted);
        if (!mounts.ok) report.problems.push(`${dir}: ${mounts.problem}`);
      }
    }
    if (allocator) {
      // The scan above may be seconds old under load: a create that began after it has a mark
      // (written before it allocates) or, once the mark is gone, a record (written before the
      // mark is removed). Checked fresh, in that order, before any block is released.
      const isLive = (podKey: string) => livePods.has(podKey) || creatingPods(stateDir, alive).has(podKey) || podHasRecord(containers, podKey, now, grace);
      for (const pod of removedPods) {
        if (isLive(pod) || allocator.lookup(pod) === null) continue;
        allocator.release(pod);
        report.released.push(pod);
      }
      report.reclaimed = allocator.collect(isLive, now, grace);
    }
  } finally {
    unlock();
  }
  return report;
}
