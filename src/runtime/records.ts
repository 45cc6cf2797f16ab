// Per-container records in the state directory, written at create:
//   containers/<id>/record.json   profile, runtime, bundle, pod key (for exec/update/GC)
//   containers/<id>/runtime.argv  NUL-separated runtime path + args: the native launcher reads
//                                 it to route pass-through calls without starting Node
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from '../bundle/io.js';
import type { ResolvedRuntime } from './select-runtime.js';
import { failpoint } from './failpoint.js';

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

/**
 * One id can exist under two --root directories (containerd's k8s.io and default namespaces),
 * so records are keyed by the root too. Bytes outside [A-Za-z0-9.-] become `_xx` (hex); no
 * --root is `_none` (`_n` is never an encoded byte, so no root collides with it).
 * native/launcher.c computes the same key. A key that could name a directory outside
 * `containers/` (empty, `.`, `..`) or is too long is refused.
 */
export function rootKey(root: string | undefined): string {
  if (root === undefined) return '_none';
  let out = '';
  for (const byte of Buffer.from(root, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9.-]/.test(c) ? c : `_${byte.toString(16).padStart(2, '0')}`;
  }
  if (out === '' || out === '.' || out === '..' || out.length > 255) throw new Error(`bulwark: unusable --root "${root}"`);
  return out;
}

export function recordDir(stateDir: string, root: string | undefined, id: string): string {
  if (!safeId(id)) throw new Error(`bulwark: invalid container id "${id}"`);
  return join(stateDir, 'containers', rootKey(root), id);
}

/** The default runtime for pass-through calls with no record (list, spec, features, ...). */
export function writeDefaultRuntime(stateDir: string, runtime: ResolvedRuntime): void {
  const file = join(stateDir, 'default-runtime.argv');
  const argv = [runtime.path, ...runtime.args].map((a) => `${a}\0`).join('');
  try {
    if (readFileSync(file, 'utf8') === argv) return;
  } catch {
    // not there yet
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(file, argv, 0o600);
}

export function writeRecord(stateDir: string, root: string | undefined, record: ContainerRecord, pidFile: string | undefined, cwd: string): void {
  const dir = recordDir(stateDir, root, record.id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidPath = pidFile ? (isAbsolute(pidFile) ? pidFile : resolve(cwd, pidFile)) : null;
  writeFileAtomic(join(dir, 'record.json'), JSON.stringify({ ...record, pidFile: pidPath }) + '\n', 0o600);
  const argv = [record.runtime.path, ...record.runtime.args].map((a) => `${a}\0`).join('');
  writeFileAtomic(join(dir, 'runtime.argv'), argv, 0o600);
  failpoint('record.after-write');
}

export function readRecord(stateDir: string, root: string | undefined, id: string): ContainerRecord | null {
  if (!safeId(id)) return null;
  const file = join(recordDir(stateDir, root, id), 'record.json');
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
