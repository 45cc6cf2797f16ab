// The one way Bulwark reads an optional host file (/etc/subuid, a cached profile's source).
import { readFileSync } from 'node:fs';

/** A file's text, or null when it cannot be read (missing, unreadable, a directory). */
export function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
