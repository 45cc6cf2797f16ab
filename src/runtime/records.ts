// Per-container records in the state directory, written at create:
//   containers/<id>/record.json   profile, runtime, bundle, pod key (for exec/update/GC)
//   containers/<id>/runtime.argv  NUL-separated runtime path + args: the native launcher reads
//                                 it to route pass-through calls without starting Node
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from '../bundle/io.js';
import type { ResolvedRuntime } from './select-runtime.js';

export interface ContainerRecord {
  id: string;
  profile: string;
  runtime: ResolvedRuntime;
  bundle: string;
  podKey: string;
  /** Filled from the pid file when read back (the sandbox's init pid for joining its namespaces). */
  initPid: number | null;
  createdAt: string;
  pidFile?: string | null;
}

/** Ids become directory names: refuse anything that could leave the state directory. */
export function safeId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$/.test(id) && id !== '.' && id !== '..';
}

export function recordDir(stateDir: string, id: string): string {
  if (!safeId(id)) throw new Error(`bulwark: invalid container id "${id}"`);
  return join(stateDir, 'containers', id);
}

export function writeRecord(stateDir: string, record: ContainerRecord, pidFile: string | undefined, cwd: string): void {
  const dir = recordDir(stateDir, record.id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidPath = pidFile ? (isAbsolute(pidFile) ? pidFile : resolve(cwd, pidFile)) : null;
  writeFileAtomic(join(dir, 'record.json'), JSON.stringify({ ...record, pidFile: pidPath }) + '\n', 0o600);
  const argv = [record.runtime.path, ...record.runtime.args].map((a) => `${a}\0`).join('');
  writeFileAtomic(join(dir, 'runtime.argv'), argv, 0o600);
}

export function readRecord(stateDir: string, id: string): ContainerRecord | null {
  if (!safeId(id)) return null;
  const file = join(stateDir, 'containers', id, 'record.json');
  if (!existsSync(file)) return null;
  const record = JSON.parse(readFileSync(file, 'utf8')) as ContainerRecord;
  if (record.pidFile) {
    try {
      const pid = Number(readFileSync(record.pidFile, 'utf8').trim());
      record.initPid = Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      record.initPid = null;
    }
  }
  return record;
}
