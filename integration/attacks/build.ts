// Builds the container-side attack program (integration/attacks/programs/*.c) once per source
// version, like integration/lib/probe.ts builds the probe: a static binary named after the
// hash of its sources and flags, under build/integration/.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { cacheDir, repoRoot } from '../lib/paths.js';

const CC = process.env.CC ?? 'gcc';
const CFLAGS = ['-static', '-O2', '-Wall', '-Wextra', '-Werror'];
export const programsDir = join(repoRoot, 'integration', 'attacks', 'programs');

let building: Promise<string> | undefined;

/** Absolute path of the attack binary for the current sources, compiling it if needed. */
export function ensureAttackProgram(): Promise<string> {
  building ??= build().catch((error: unknown) => {
    building = undefined;
    throw error;
  });
  return building;
}

async function build(): Promise<string> {
  const sources = readdirSync(programsDir).filter((name) => /\.[ch]$/.test(name)).sort();
  const hash = createHash('sha256').update(CFLAGS.join(' '));
  for (const name of sources) hash.update('\0').update(name).update('\0').update(readFileSync(join(programsDir, name)));
  const target = join(cacheDir(), `attack-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(target)) return target;
  const partial = `${target}.${process.pid}.tmp`;
  const cFiles = sources.filter((name) => name.endsWith('.c')).map((name) => join(programsDir, name));
  const result = await execa(CC, [...CFLAGS, '-o', partial, ...cFiles], { reject: false, stdin: 'ignore' });
  if (result.exitCode !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`building the attack program failed (${CC} ${CFLAGS.join(' ')}): ${result.stderr || result.message}`);
  }
  renameSync(partial, target);
  for (const name of readdirSync(dirname(target))) {
    if (/^attack-[0-9a-f]{16}$/.test(name) && name !== basename(target)) rmSync(join(dirname(target), name), { force: true });
  }
  return target;
}
