// Directories Bulwark keeps under its state directory are made once and then exist for every
// later container: making sure of one should cost one system call, not the two of a recursive
// mkdir (mkdir, then a stat on EEXIST).
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** mkdir that accepts an existing path (the caller checks what it is) and makes missing parents. */
export function makeDir(path: string, mode: number): void {
  try {
    mkdirSync(path, { mode });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') mkdirSync(path, { recursive: true, mode });
    else if (code !== 'EEXIST') throw e;
  }
}

/**
 * openSync(path, flags, mode) for a file Bulwark creates in one of its own directories, which is
 * made (0700, with its parents) only when the open says it is missing: one system call once the
 * directory exists, as it does after the first file.
 */
export function openMakingDir(path: string, flags: number, mode: number): number {
  try {
    return openSync(path, flags, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    return openSync(path, flags, mode);
  }
}
