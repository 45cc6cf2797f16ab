// The container-side attack program (integration/attacks/programs/*.c), built once per version
// of its sources (integration/lib/cached-build.ts).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/paths.js';
import { staticProgram } from '../lib/cached-build.js';

export const programsDir = join(repoRoot, 'integration', 'attacks', 'programs');

/** Absolute path of the attack binary for the current sources, compiling it if needed. */
export const ensureAttackProgram = staticProgram({
  name: 'attack',
  sources: () => readdirSync(programsDir).filter((name) => /\.[ch]$/.test(name)).sort().map((name) => join(programsDir, name)),
});
