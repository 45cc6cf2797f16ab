// Static C helpers the tests and benchmarks run (the in-container probe, the attack program, the
// create-split stamp wrapper), each built once per version of its sources: the binary is named
// after a hash of the compiler, flags and sources under build/integration/, so an edit rebuilds
// it and an unchanged source costs one stat.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from './paths.js';

export interface StaticProgram {
  /** Name prefix of the binary: `<name>-<hash>`. */
  name: string;
  /** Absolute paths of its sources, read at build time; `.c` files are compiled, `.h` hashed. */
  sources: () => string[];
  /** Compiler (default $CC, else gcc). */
  cc?: () => string;
  /** Extra flags after `-static -O2 -Wall -Wextra -Werror`. */
  flags?: string[];
}

const BASE_FLAGS = ['-static', '-O2', '-Wall', '-Wextra', '-Werror'];

/**
 * A function that returns the program's binary, building it the first time it is called (and
 * again after a failed build, e.g. once gcc is installed). Concurrent callers share one build.
 */
export function staticProgram(program: StaticProgram): () => Promise<string> {
  let building: Promise<string> | undefined;
  return () => {
    building ??= build(program).catch((error: unknown) => {
      building = undefined;
      throw error;
    });
    return building;
  };
}

async function build(program: StaticProgram): Promise<string> {
  const cc = program.cc?.() ?? process.env.CC ?? 'gcc';
  const flags = [...BASE_FLAGS, ...(program.flags ?? [])];
  const sources = program.sources();
  const hash = createHash('sha256').update(cc).update('\0').update(flags.join(' '));
  for (const file of sources) hash.update('\0').update(basename(file)).update('\0').update(readFileSync(file));
  const dir = cacheDir();
  const target = join(dir, `${program.name}-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(target)) return target;
  // Build under a private name and rename: parallel test files may race to build the same hash.
  const partial = `${target}.${process.pid}.tmp`;
  const cFiles = sources.filter((file) => file.endsWith('.c'));
  const result = await execa(cc, [...flags, '-o', partial, ...cFiles], { reject: false, stdin: 'ignore' });
  if (result.exitCode !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`building ${program.name} failed (${cc} ${flags.join(' ')}): ${result.stderr || result.message}`);
  }
  renameSync(partial, target);
  // Builds of earlier source versions are never used again.
  const stale = new RegExp(`^${program.name}-[0-9a-f]{16}$`);
  for (const name of readdirSync(dir)) {
    if (stale.test(name) && name !== basename(target)) rmSync(join(dir, name), { force: true });
  }
  return target;
}
