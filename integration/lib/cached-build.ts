// Helper programs the tests and benchmarks run (the in-container probe, the attack program,
// create-split's stamp wrapper, the benchmark's reference Go wrapper), each built once per version
// of its sources: the binary is named after a hash of the toolchain, flags and sources under
// build/integration/, so an edit rebuilds it and an unchanged source costs one stat.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from './paths.js';

export interface CachedProgram {
  /** Name prefix of the binary: `<name>-<hash>`. */
  name: string;
  /** Absolute paths of its sources, read (and hashed) at build time. */
  sources: () => string[];
  /** What else decides the output (compiler, flags, toolchain version). */
  fingerprint: () => string;
  /** The command that writes the binary to `out`. */
  command: (out: string, sources: string[]) => { file: string; args: string[]; env?: NodeJS.ProcessEnv };
}

/**
 * A function that returns the program's binary, building it the first time it is called (and
 * again after a failed build, e.g. once the compiler is installed). Concurrent callers share
 * one build.
 */
export function cachedProgram(program: CachedProgram): () => Promise<string> {
  let building: Promise<string> | undefined;
  return () => {
    building ??= build(program).catch((error: unknown) => {
      building = undefined;
      throw error;
    });
    return building;
  };
}

async function build(program: CachedProgram): Promise<string> {
  const sources = program.sources();
  const hash = createHash('sha256').update(program.fingerprint());
  for (const file of sources) hash.update('\0').update(basename(file)).update('\0').update(readFileSync(file));
  const dir = cacheDir();
  const target = join(dir, `${program.name}-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(target)) return target;
  // Build under a private name and rename: parallel test files may race to build the same hash.
  const partial = `${target}.${process.pid}.tmp`;
  const { file, args, env } = program.command(partial, sources);
  const result = await execa(file, args, { reject: false, stdin: 'ignore', env });
  if (result.exitCode !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`building ${program.name} failed (${file} ${args.join(' ')}): ${result.stderr || result.message}`);
  }
  renameSync(partial, target);
  // Builds of earlier source versions are never used again.
  const stale = new RegExp(`^${program.name}-[0-9a-f]{16}$`);
  for (const name of readdirSync(dir)) {
    if (stale.test(name) && name !== basename(target)) rmSync(join(dir, name), { force: true });
  }
  return target;
}

const C_FLAGS = ['-static', '-O2', '-Wall', '-Wextra', '-Werror'];

/** A static C program: `.c` sources are compiled, `.h` ones only hashed. */
export function staticProgram(program: { name: string; sources: () => string[]; cc?: () => string; flags?: string[] }): () => Promise<string> {
  const cc = () => program.cc?.() ?? process.env.CC ?? 'gcc';
  const flags = [...C_FLAGS, ...(program.flags ?? [])];
  return cachedProgram({
    name: program.name,
    sources: program.sources,
    fingerprint: () => `${cc()}\0${flags.join(' ')}`,
    command: (out, sources) => ({ file: cc(), args: [...flags, '-o', out, ...sources.filter((f) => f.endsWith('.c'))] }),
  });
}
