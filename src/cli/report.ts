// Human-readable reports shared by `bulwark explain` and `make demo`.
import type { Finding } from '../passes/types.js';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** An ACTION / RULE / FIELD / WHY table, one finding a line. */
export function formatFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no findings: the config already meets the profile\n';
  const w = {
    action: 6,
    rule: Math.max(4, ...findings.map((f) => f.rule.length)),
    path: Math.min(40, Math.max(5, ...findings.map((f) => f.path.length))),
  };
  const head = `${pad('ACTION', w.action)}  ${pad('RULE', w.rule)}  ${pad('FIELD', w.path)}  WHY\n`;
  return head + findings.map((f) => `${pad(f.action, w.action)}  ${pad(f.rule, w.rule)}  ${pad(f.path, w.path)}  ${f.message}\n`).join('');
}

export { pad };
