// The run's results as a matrix (attack x column), written to build/assurance/attacks.json and
// rendered as the Markdown table docs/SECURITY.md quotes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/paths.js';
import { ATTACKS } from './attacks.js';
import type { Column } from './columns.js';
import { COLUMNS } from './columns.js';
import type { HostFacts } from './host.js';

export interface Cell {
  outcome: string;
  how: string;
  why: string;
  routes: Record<string, string>;
}

export const assuranceDir = () => join(repoRoot, 'build', 'assurance');

export class Matrix {
  runtimes: Record<string, string> = {};
  private readonly cells = new Map<string, Map<string, Cell>>();
  private readonly durations = new Map<string, number>();

  constructor(private readonly host: HostFacts) {}

  set(attack: string, column: Column, cell: Cell): void {
    if (!ATTACKS.some((a) => a.name === attack)) throw new Error(`unknown attack ${attack}`);
    let row = this.cells.get(attack);
    if (!row) this.cells.set(attack, (row = new Map()));
    row.set(column.key, cell);
  }

  columnDone(column: Column, ms: number): void {
    this.durations.set(column.key, ms);
  }

  cellCount(): number {
    return [...this.cells.values()].reduce((n, row) => n + row.size, 0);
  }

  /** Per column: attacks blocked, allowed, not applicable. */
  private summary(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const column of COLUMNS) {
      const counts: Record<string, number> = {};
      for (const row of this.cells.values()) {
        const cell = row.get(column.key);
        if (cell) counts[cell.outcome] = (counts[cell.outcome] ?? 0) + 1;
      }
      if (Object.keys(counts).length > 0) out[column.key] = counts;
    }
    return out;
  }

  write(durationMs: number): { json: string; markdown: string } {
    const dir = assuranceDir();
    mkdirSync(dir, { recursive: true });
    const columns = COLUMNS.filter((c) => this.durations.has(c.key));
    const doc = {
      generated: new Date().toISOString(),
      durationSeconds: Math.round(durationMs / 100) / 10,
      host: this.host,
      runtimes: this.runtimes,
      columns: columns.map((c) => ({ ...c, seconds: Math.round((this.durations.get(c.key) ?? 0) / 100) / 10 })),
      summary: this.summary(),
      attacks: ATTACKS.map(({ name, tries }) => ({
        name,
        tries,
        results: Object.fromEntries(columns.map((c) => [c.key, this.cells.get(name)?.get(c.key) ?? null])),
      })),
    };
    const json = join(dir, 'attacks.json');
    writeFileSync(json, `${JSON.stringify(doc, null, 2)}\n`);
    const markdown = join(dir, 'attacks.md');
    writeFileSync(markdown, this.markdown(columns));
    return { json, markdown };
  }

  /** One column per profile; runc and crun share a cell when they agree. */
  private markdown(columns: Column[]): string {
    const groups = [...new Set(columns.map((c) => c.key.split('/')[0]!))];
    const header = `| attack | what it tries | ${groups.map((g) => `${g} (${columns.filter((c) => c.key.startsWith(`${g}/`)).map((c) => c.runtime).join(', ')})`).join(' | ')} |`;
    const rule = `|${' --- |'.repeat(groups.length + 2)}`;
    const rows = ATTACKS.map(({ name, tries }) => {
      const cells = groups.map((group) => {
        const texts = columns.filter((c) => c.key.startsWith(`${group}/`)).map((c) => [c.runtime, cellText(this.cells.get(name)?.get(c.key))] as const);
        const distinct = new Set(texts.map(([, text]) => text));
        return distinct.size === 1 ? texts[0]![1] : texts.map(([runtime, text]) => `${runtime}: ${text}`).join('<br>');
      });
      return `| ${name} | ${tries} | ${cells.join(' | ')} |`;
    });
    const summary = this.summary();
    const totals = [
      '| column | blocked | allowed | n/a | seconds |',
      '| --- | --- | --- | --- | --- |',
      ...columns.map((c) => {
        const n = summary[c.key] ?? {};
        return `| ${c.key} (${c.note}) | ${n.blocked ?? 0} | ${n.allowed ?? 0} | ${n['n/a'] ?? 0} | ${((this.durations.get(c.key) ?? 0) / 1000).toFixed(1)} |`;
      }),
    ];
    return `${[header, rule, ...rows].join('\n')}\n\n${totals.join('\n')}\n`;
  }
}

function cellText(cell: Cell | undefined): string {
  if (!cell) return '—';
  const why = cell.why.startsWith('seccomp') ? 'seccomp' : cell.why.replace(/^kernel: /, '');
  const word = cell.outcome === 'allowed' ? '**allowed**' : cell.outcome;
  return `${word}: ${cell.how}${why ? ` (${why})` : ''}`.replaceAll('|', '\\|');
}
