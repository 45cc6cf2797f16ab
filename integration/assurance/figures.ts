// The assurance figures docs/SECURITY.md quotes: each test file writes its counts from the run
// to build/assurance/<name>.json (build/ is not committed).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/index.js';

export const FIGURES_DIR = process.env.BULWARK_ASSURANCE_DIR ?? join(repoRoot, 'build', 'assurance');

export function writeFigures(name: string, figures: Record<string, unknown>): string {
  mkdirSync(FIGURES_DIR, { recursive: true });
  const file = join(FIGURES_DIR, `${name}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...figures, recordedAt: new Date().toISOString() }, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
  return file;
}
