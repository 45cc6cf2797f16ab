// Caching loaders for the warm service. A profile costs milliseconds to load (YAML, schema,
// the seccomp filter) and the config file a little less; the service keeps the result and
// checks on every call that every file it was built from (including the ones found missing)
// still holds the same bytes: by its stat signature once the file has settled, by reading it
// otherwise. An edit to a profile or the config therefore applies to the next container, exactly
// as on the cold path.
import { statSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../host/config.js';
import { readTextOrNull } from '../host/read.js';
import type { BulwarkConfig } from '../host/config.js';
import { directorySource, loadProfile } from '../profile/load.js';
import type { ProfileSource } from '../profile/load.js';
import type { ResolvedProfile } from '../profile/types.js';
import { readRuntimeVersion } from '../runtime/engine.js';
import type { EngineLoaders } from '../runtime/engine.js';
import { probeKernel } from '../host/probe.js';
import type { KernelFacts } from '../host/probe.js';
import { nodePool, resolvePool } from '../state/ids.js';
import type { Pool } from '../state/ids.js';

/** Where the node's ID pool may be declared (the `bulwark` entries), read on every create when cold. */
const SUBID_FILES: readonly [string, string] = ['/etc/subuid', '/etc/subgid'];

/**
 * What a file held when a cached value was built: its text (null when it could not be read), and
 * the stat signature it had then, when that signature can be trusted to change with the file.
 */
interface Seen {
  text: string | null;
  signature: string | null;
}
type Reads = Map<string, Seen>;

/**
 * Files whose last change is older than this are "settled": a later write gets a timestamp that
 * differs from theirs. A younger file is compared by its bytes, since the kernel's timestamps are
 * coarse (a clock tick) and two same-length writes within one tick would look identical.
 */
const SETTLED_NS = 2_000_000_000n;

/**
 * How long the kernel's features and the service's own limits are taken as known. They change
 * only when an administrator changes a sysctl, a cgroup's controllers or a module; probing them
 * costs ~0.1 ms of a create, and a change is seen by creates that start this much later.
 */
export const KERNEL_FACTS_TTL_MS = 5_000;

/** A file's stat signature when it is settled (or absent); null while it is younger than that. */
function settledSignature(path: string, nowMs: number): string | null {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (!st) return 'absent';
  const changed = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
  if (BigInt(Math.trunc(nowMs)) * 1_000_000n - changed <= SETTLED_NS) return null;
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.mode}`;
}

/** Read a file for a cache entry: the signature is taken first, so it never describes newer bytes. */
function observe(path: string, nowMs: number): Seen {
  const signature = settledSignature(path, nowMs);
  return { signature, text: readTextOrNull(path) };
}

/** A source that notes every read (absolute path → what it held) in `reads`. */
function recordingSource(dir: string, reads: Reads, nowMs: number): ProfileSource {
  const inner = directorySource(dir);
  return {
    where: inner.where,
    read(relativePath) {
      const signature = settledSignature(`${dir}/${relativePath}`, nowMs);
      const text = inner.read(relativePath);
      reads.set(`${dir}/${relativePath}`, { text, signature });
      return text;
    },
    list: () => inner.list(),
  };
}

/**
 * Every file reads back as it did. A settled file whose stat signature is the same is taken as
 * unchanged without reading it (one stat instead of a read: the profiles are ~30 KB a create);
 * any other is read and compared byte for byte.
 */
function unchanged(reads: Reads, nowMs: number): boolean {
  for (const [path, seen] of reads) {
    const now = settledSignature(path, nowMs);
    if (seen.signature !== null && seen.signature === now) continue;
    if (readTextOrNull(path) !== seen.text) return false;
    seen.signature = now;
  }
  return true;
}

export interface CacheStats {
  hits: number;
  misses: number;
}

/** `nowMs`: the wall clock (tests move it to make files settled); `subidFiles`: /etc/subuid and /etc/subgid. */
export function cachingLoaders(nowMs: () => number = Date.now, subidFiles = SUBID_FILES): EngineLoaders & { stats: CacheStats } {
  const stats: CacheStats = { hits: 0, misses: 0 };
  const profiles = new Map<string, { profile: ResolvedProfile; reads: Reads }>();
  let config: { reads: Reads; stateDirEnv: string | undefined; value: BulwarkConfig } | null = null;
  const versions = new Map<string, string | null>();
  let kernel: { facts: KernelFacts; at: number } | null = null;
  let idPool: { reads: Reads; pool: Pool } | null = null;

  return {
    stats,
    config(env) {
      const file = env.BULWARK_CONFIG || DEFAULT_CONFIG_PATH;
      if (config && config.stateDirEnv === env.BULWARK_STATE_DIR && config.reads.has(file) && unchanged(config.reads, nowMs())) {
        stats.hits++;
        return config.value;
      }
      stats.misses++;
      // Read first, parse after: if the file changes in between, the next call sees a mismatch.
      const reads: Reads = new Map([[file, observe(file, nowMs())]]);
      const value = loadConfig(env); // errors are not cached: the next call tries again
      config = { reads, stateDirEnv: env.BULWARK_STATE_DIR, value };
      return value;
    },
    kernel(probes) {
      const now = nowMs();
      if (kernel && now - kernel.at >= 0 && now - kernel.at < KERNEL_FACTS_TTL_MS) return kernel.facts;
      kernel = { facts: probeKernel(probes), at: now };
      return kernel.facts;
    },
    idPool(configured) {
      if (configured) return nodePool(configured); // no file to read, nothing to cache
      if (idPool && unchanged(idPool.reads, nowMs())) return idPool.pool;
      const [uidFile, gidFile] = subidFiles;
      const reads: Reads = new Map([[uidFile, observe(uidFile, nowMs())], [gidFile, observe(gidFile, nowMs())]]);
      // Resolved from the very texts observed, so the check above compares against what was used.
      const pool = resolvePool(null, reads.get(uidFile)!.text, reads.get(gidFile)!.text);
      idPool = { reads, pool };
      return pool;
    },
    runtimeVersion(runtime) {
      // Keyed by the binary's identity: an upgraded runc is a new file (new inode or mtime).
      let key: string;
      try {
        const st = statSync(runtime.path);
        key = `${runtime.path}\0${runtime.args.join('\0')}\0${st.ino}:${st.mtimeMs}:${st.size}`;
      } catch {
        return null;
      }
      if (!versions.has(key)) versions.set(key, readRuntimeVersion(runtime));
      return versions.get(key)!;
    },
    profile(dir, name) {
      const key = `${dir}\0${name}`;
      const cached = profiles.get(key);
      if (cached && unchanged(cached.reads, nowMs())) {
        stats.hits++;
        return cached.profile;
      }
      stats.misses++;
      const reads: Reads = new Map();
      const profile = loadProfile(recordingSource(dir, reads, nowMs()), name);
      profiles.set(key, { profile, reads });
      return profile;
    },
  };
}
