// Builds the in-container probe (integration/probe/probe.c) once per source version: a static
// binary named after the hash of its source and compiler flags, so an edit rebuilds it and an
// unchanged source costs one stat.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { cacheDir, probeSource } from './paths.js';

const CC = process.env.CC ?? 'gcc';
const CFLAGS = ['-static', '-O2', '-Wall', '-Wextra', '-Werror'];

let building: Promise<string> | undefined;

/** Absolute path of the probe binary for the current probe.c, compiling it if needed. */
export function ensureProbe(): Promise<string> {
  building ??= buildProbe().catch((error: unknown) => {
    building = undefined; // let a later call retry, e.g. after gcc was installed
    throw error;
  });
  return building;
}

async function buildProbe(): Promise<string> {
  const source = readFileSync(probeSource);
  const hash = createHash('sha256').update(CFLAGS.join(' ')).update('\0').update(source).digest('hex').slice(0, 16);
  const target = join(cacheDir(), `probe-${hash}`);
  if (existsSync(target)) return target;
  // Build under a private name and rename: parallel test files may race to build the same hash.
  const partial = `${target}.${process.pid}.tmp`;
  const result = await execa(CC, [...CFLAGS, '-o', partial, probeSource], { reject: false, stdin: 'ignore' });
  if (result.exitCode !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`building the probe failed (${CC} ${CFLAGS.join(' ')}): ${result.stderr || result.message}`);
  }
  renameSync(partial, target);
  removeOtherBuilds(target);
  return target;
}

/** Builds of earlier probe.c versions are never used again. */
function removeOtherBuilds(current: string): void {
  for (const name of readdirSync(dirname(current))) {
    if (/^probe-[0-9a-f]{16}$/.test(name) && name !== basename(current)) rmSync(join(dirname(current), name), { force: true });
  }
}
