// A readable diff of two configs by JSON path: what hardening added, removed or changed.
import { stringifyJson } from '../json/lossless.js';

export interface DiffLine {
  op: '+' | '-' | '~';
  path: string;
  before?: string;
  after?: string;
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === 'object' && v !== null;
}

function flatten(value: unknown, path: string, out: Map<string, string>): void {
  if (isContainer(value) && Object.keys(value).length > 0) {
    const isArray = Array.isArray(value);
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      const childPath = isArray ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
      flatten(child, childPath, out);
    }
    return;
  }
  out.set(path, stringifyJson(value, 0));
}

export function diffConfigs(before: unknown, after: unknown): DiffLine[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before, '', a);
  flatten(after, '', b);
  const lines: DiffLine[] = [];
  for (const [path, value] of a) {
    if (!b.has(path)) lines.push({ op: '-', path, before: value });
    else if (b.get(path) !== value) lines.push({ op: '~', path, before: value, after: b.get(path)! });
  }
  for (const [path, value] of b) if (!a.has(path)) lines.push({ op: '+', path, after: value });
  return lines;
}

export function formatDiff(lines: DiffLine[], width = 100): string {
  const clip = (s: string) => (s.length > width ? `${s.slice(0, width - 1)}…` : s);
  return lines
    .map((l) => (l.op === '~' ? `~ ${l.path}: ${clip(l.before!)} -> ${clip(l.after!)}` : `${l.op} ${l.path}: ${clip((l.before ?? l.after)!)}`))
    .join('\n');
}
