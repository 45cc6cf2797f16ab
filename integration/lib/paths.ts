// Where the harness finds its sources and keeps what it builds. Compiled code runs from
// dist/integration/lib/, so the repository root is three levels up from here.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

export const probeSource = join(repoRoot, 'integration', 'probe', 'probe.c');

/**
 * Built artefacts (the static probe, runtime wrapper scripts, the cached `runc spec`).
 * Kept out of dist/ so `tsc` never sees them; `build/` is already ignored by git.
 * BULWARK_TEST_CACHE overrides it (CI may want a per-job directory).
 */
export function cacheDir(): string {
  const dir = process.env.BULWARK_TEST_CACHE ?? join(repoRoot, 'build', 'integration');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** Prefix of every temporary directory the harness makes, so leftovers are easy to spot. */
export const tempPrefix = join(tmpdir(), 'bulwark-it-');

/** Every test container lives under this absolute cgroup parent (see HOST-NOTES: cgroups). */
export const cgroupParent = 'bulwark-test';
