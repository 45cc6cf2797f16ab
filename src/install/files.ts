// File helpers shared by `bulwark install` and `uninstall`: a unified diff for --dry-run,
// timestamped backups, and atomic, durable replacement of a config file (temp + fsync + rename).
import { closeSync, existsSync, fsyncSync, lstatSync, openSync, readdirSync, readFileSync, statSync, writeSync, constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../bundle/io.js';

export class InstallError extends Error {
  override name = 'InstallError';
}

/** A file's text, or null when it does not exist. A symlink is followed (configs are often links). */
export function readOptional(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InstallError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Replace `path` by `text` atomically, keeping the old file's mode (0644 for a new one). */
export function writeAtomic(path: string, text: string): void {
  let mode = 0o644;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch {
    // new file
  }
  writeFileAtomic(path, text, mode, { durable: true }); // containerd's config outlives a reboot
}

export const BACKUP_MARK = '.bulwark-backup-';
/** Suffix of a backup that records "there was no file before install". */
export const ABSENT_SUFFIX = '.absent';

/** `<file>.bulwark-backup-<UTC timestamp>`; a file that did not exist gets an empty `.absent` marker. */
export function writeBackup(path: string, text: string | null, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  let backup = `${path}${BACKUP_MARK}${stamp}${text === null ? ABSENT_SUFFIX : ''}`;
  for (let n = 1; existsSync(backup); n++) backup = `${path}${BACKUP_MARK}${stamp}-${n}${text === null ? ABSENT_SUFFIX : ''}`;
  const fd = openSync(backup, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text ?? '');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return backup;
}

/** The backups of `path`, newest first (the timestamps in the names sort); `text` null = "no file before". */
export function listBackups(path: string): Array<{ file: string; text: string | null }> {
  const dir = dirname(path);
  const prefix = basename(path) + BACKUP_MARK;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
  const stampOf = (n: string) => n.slice(prefix.length).replace(ABSENT_SUFFIX, '');
  names.sort((a, b) => (stampOf(a) < stampOf(b) ? 1 : stampOf(a) > stampOf(b) ? -1 : 0));
  const out: Array<{ file: string; text: string | null }> = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      if (!lstatSync(file).isFile()) continue;
      out.push({ file, text: name.endsWith(ABSENT_SUFFIX) ? null : readFileSync(file, 'utf8') });
    } catch {
      // vanished or unreadable: skip
    }
  }
  return out;
}

/** A unified diff of two texts (LCS by lines; configs are small), with 3 lines of context. */
export function unifiedDiff(before: string, after: string, fromName: string, toName: string): string {
  if (before === after) return '';
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  type Op = { kind: ' ' | '-' | '+'; text: string; ai: number; bi: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: ' ', text: a[i]!, ai: i++, bi: j++ });
    else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ kind: '-', text: a[i]!, ai: i++, bi: j });
    else ops.push({ kind: '+', text: b[j]!, ai: i, bi: j++ });
  }
  const out = [`--- ${fromName}`, `+++ ${toName}`];
  const CONTEXT = 3;
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.kind === ' ') {
      k++;
      continue;
    }
    let start = Math.max(0, k - CONTEXT);
    let end = k;
    // extend the hunk while changes are within 2*CONTEXT of each other
    while (end < ops.length) {
      if (ops[end]!.kind !== ' ') {
        end++;
        continue;
      }
      let run = end;
      while (run < ops.length && ops[run]!.kind === ' ') run++;
      if (run < ops.length && run - end <= 2 * CONTEXT) end = run;
      else break;
    }
    const stop = Math.min(ops.length, end + CONTEXT);
    const hunk = ops.slice(start, stop);
    const aLines = hunk.filter((o) => o.kind !== '+').length;
    const bLines = hunk.filter((o) => o.kind !== '-').length;
    const aStart = hunk[0]!.ai + (aLines ? 1 : 0);
    const bStart = hunk[0]!.bi + (bLines ? 1 : 0);
    out.push(`@@ -${aStart},${aLines} +${bStart},${bLines} @@`);
    for (const o of hunk) out.push(o.kind + o.text);
    k = stop;
    start = stop;
  }
  return out.join('\n') + '\n';
}
