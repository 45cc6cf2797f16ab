// Directories Bulwark keeps under its state directory are made once and then exist for every
// later container: making sure of one should cost one system call, not the two of a recursive
// mkdir (mkdir, then a stat on EEXIST).
import { mkdirSync } from 'node:fs';

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
