// The one way Bulwark reads an optional host file (/etc/subuid, a cached profile's source) or
// looks at a path that may not be there.
import { lstatSync, readFileSync } from 'node:fs';
import type { Stats } from 'node:fs';

/** A file's text, or null when it cannot be read (missing, unreadable, a directory). */
export function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** What lstat says of a path itself (a symlink is not followed), or null when it cannot say (missing, ENOTDIR, ELOOP, EACCES). */
export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}
