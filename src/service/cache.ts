// Caching loaders for the warm service. A profile costs milliseconds to load (YAML, schema,
// the seccomp filter) and the config file a little less; the service keeps the result and
// re-reads the files' bytes on every call, reusing the parsed value only while every file it
// was built from (including the ones found missing) reads back the same. An edit to a profile
// or the config therefore applies to the next container, exactly as on the cold path.
import { statSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../host/config.js';
import { readTextOrNull } from '../host/read.js';
import type { BulwarkConfig } from '../host/config.js';
import { directorySource, loadProfile } from '../profile/load.js';
import type { ProfileSource } from '../profile/load.js';
import type { ResolvedProfile } from '../profile/types.js';
import { readRuntimeVersion } from '../runtime/engine.js';
import type { EngineLoaders } from '../runtime/engine.js';

/** What a file held when a cached value was built: its text, or null when it did not exist. */
type Reads = Map<string, string | null>;

/** A source that notes every read (absolute path → text or null) in `reads`. */
function recordingSource(dir: string, reads: Reads): ProfileSource {
  const inner = directorySource(dir);
  return {
    where: inner.where,
    read(relativePath) {
      const text = inner.read(relativePath);
      reads.set(`${dir}/${relativePath}`, text);
      return text;
    },
    list: () => inner.list(),
  };
}

function unchanged(reads: Reads): boolean {
  for (const [path, text] of reads) if (readTextOrNull(path) !== text) return false;
  return true;
}

export interface CacheStats {
  hits: number;
  misses: number;
}

export function cachingLoaders(): EngineLoaders & { stats: CacheStats } {
  const stats: CacheStats = { hits: 0, misses: 0 };
  const profiles = new Map<string, { profile: ResolvedProfile; reads: Reads }>();
  let config: { reads: Reads; stateDirEnv: string | undefined; value: BulwarkConfig } | null = null;
  const versions = new Map<string, string | null>();

  return {
    stats,
    config(env) {
      const file = env.BULWARK_CONFIG || DEFAULT_CONFIG_PATH;
      if (config && config.stateDirEnv === env.BULWARK_STATE_DIR && config.reads.has(file) && unchanged(config.reads)) {
        stats.hits++;
        return config.value;
      }
      stats.misses++;
      // Read first, parse after: if the file changes in between, the next call sees a mismatch.
      const reads: Reads = new Map([[file, readTextOrNull(file)]]);
      const value = loadConfig(env); // errors are not cached: the next call tries again
      config = { reads, stateDirEnv: env.BULWARK_STATE_DIR, value };
      return value;
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
      if (cached && unchanged(cached.reads)) {
        stats.hits++;
        return cached.profile;
      }
      stats.misses++;
      const reads: Reads = new Map();
      const profile = loadProfile(recordingSource(dir, reads), name);
      profiles.set(key, { profile, reads });
      return profile;
    },
  };
}
