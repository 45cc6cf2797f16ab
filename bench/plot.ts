// A box-and-strip plot of the lifecycle samples as a standalone SVG (no dependencies): one row per
// scenario step and arm, a log-scaled time axis shared by all rows, the box spanning p25–p75 with
// the median marked, whiskers to min and max, and every sample as a dot.
import type { LifecycleReport, ScenarioResult } from './lifecycle.js';
import { percentile } from './lib/stats.js';

const WIDTH = 1100;
const LABEL_W = 400;
const PLOT_X0 = LABEL_W + 10;
const PLOT_X1 = WIDTH - 30;
const ROW_H = 18;
const HEADER_H = 26;

const PALETTE: Record<string, string> = {
  bare: '#4477aa',
  bulwark: '#cc3311',
  hardened: '#228833',
  warm: '#ee7733',
  other: '#aa3377',
};

function colorOf(armKey: string): string {
  if (armKey.includes('hardened')) return PALETTE.hardened!;
  if (armKey.includes('warm')) return PALETTE.warm!;
  if (armKey.includes('bulwark') || armKey.includes('launcher')) return PALETTE.bulwark!;
  if (armKey === 'runc' || armKey === 'crun' || armKey === 'true') return PALETTE.bare!;
  return PALETTE.other!;
}

const esc = (s: string) => s.replace(/`/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Steps worth a row: container steps without the container's own run time. */
function plottedSteps(s: ScenarioResult): string[] {
  return s.steps.filter((step) => step !== 'start→exit');
}

/** Deterministic jitter in [-1, 1] so the plot is the same for the same samples. */
function jitter(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

export function renderSvg(report: LifecycleReport, subtitle: string): string {
  const rows: Array<{ kind: 'header'; text: string } | { kind: 'row'; label: string; arm: string; values: number[] }> = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of report.scenarios) {
    rows.push({ kind: 'header', text: s.title });
    for (const step of plottedSteps(s)) {
      for (const arm of s.arms) {
        const values = s.samples[arm.key]?.[step] ?? [];
        if (values.length === 0) continue;
        for (const v of values) {
          if (v > 0) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
          }
        }
        rows.push({ kind: 'row', label: `${step}: ${arm.label}`, arm: arm.key, values });
      }
    }
  }
  if (!Number.isFinite(lo)) {
    lo = 1;
    hi = 10;
  }
  const dLo = Math.floor(Math.log10(lo));
  const dHi = Math.ceil(Math.log10(hi));
  const x = (ms: number) => PLOT_X0 + ((Math.log10(Math.max(ms, 10 ** dLo)) - dLo) / (dHi - dLo || 1)) * (PLOT_X1 - PLOT_X0);

  const top = 78;
  const height = top + rows.reduce((h, r) => h + (r.kind === 'header' ? HEADER_H : ROW_H), 0) + 50;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">`);
  parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  parts.push(`<text x="10" y="20" font-size="15" font-weight="bold">Bulwark lifecycle benchmarks: every sample, log time axis (ms)</text>`);
  parts.push(`<text x="10" y="38" fill="#555">${esc(subtitle)}</text>`);
  // legend
  const legend: Array<[string, string]> = [['bare runtime', PALETTE.bare!], ['through Bulwark', PALETTE.bulwark!], ['warm service', PALETTE.warm!], ['bare runtime, Bulwark\'s hardened config', PALETTE.hardened!], ['reference', PALETTE.other!]];
  let lx = 10;
  for (const [text, color] of legend) {
    parts.push(`<rect x="${lx}" y="48" width="12" height="12" fill="${color}" fill-opacity="0.35" stroke="${color}"/>`);
    parts.push(`<text x="${lx + 17}" y="58">${esc(text)}</text>`);
    lx += 30 + text.length * 6.2;
  }
  parts.push(`<text x="${WIDTH - 10}" y="58" text-anchor="end" fill="#555">box: p25–p75, bar: median, whiskers: min–max</text>`);

  // grid
  const bottom = height - 40;
  for (let d = dLo; d <= dHi; d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (v < 10 ** dLo || v > 10 ** dHi) continue;
      const gx = x(v);
      parts.push(`<line x1="${gx.toFixed(1)}" y1="${top - 6}" x2="${gx.toFixed(1)}" y2="${bottom}" stroke="${m === 1 ? '#bbbbbb' : '#e4e4e4'}" stroke-width="1"/>`);
      const label = v >= 1000 ? `${v / 1000} s` : v >= 1 ? `${v} ms` : `${Math.round(v * 1000)} µs`;
      parts.push(`<text x="${gx.toFixed(1)}" y="${bottom + 14}" text-anchor="middle" fill="#444">${label}</text>`);
    }
  }

  let y = top;
  let dot = 0;
  for (const row of rows) {
    if (row.kind === 'header') {
      y += HEADER_H;
      parts.push(`<text x="10" y="${y - 8}" font-weight="bold">${esc(row.text)}</text>`);
      parts.push(`<line x1="10" y1="${y - 3}" x2="${PLOT_X1}" y2="${y - 3}" stroke="#888" stroke-width="0.5"/>`);
      continue;
    }
    const cy = y + ROW_H / 2;
    const color = colorOf(row.arm);
    const sorted = [...row.values].sort((a, b) => a - b);
    const [p25, p50, p75] = [25, 50, 75].map((p) => percentile(sorted, p)) as [number, number, number];
    const min = sorted[0]!;
    const max = sorted[sorted.length - 1]!;
    parts.push(`<text x="${LABEL_W}" y="${cy + 4}" text-anchor="end">${esc(row.label)}</text>`);
    parts.push(`<line x1="${x(min).toFixed(1)}" y1="${cy}" x2="${x(max).toFixed(1)}" y2="${cy}" stroke="${color}" stroke-width="1"/>`);
    for (const v of [min, max]) parts.push(`<line x1="${x(v).toFixed(1)}" y1="${cy - 4}" x2="${x(v).toFixed(1)}" y2="${cy + 4}" stroke="${color}" stroke-width="1"/>`);
    parts.push(`<rect x="${x(p25).toFixed(1)}" y="${cy - 6}" width="${Math.max(1, x(p75) - x(p25)).toFixed(1)}" height="12" fill="${color}" fill-opacity="0.25" stroke="${color}"/>`);
    parts.push(`<line x1="${x(p50).toFixed(1)}" y1="${cy - 7}" x2="${x(p50).toFixed(1)}" y2="${cy + 7}" stroke="${color}" stroke-width="2.5"/>`);
    for (const v of row.values) {
      parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${(cy + jitter(dot++) * 4).toFixed(1)}" r="1.8" fill="${color}" fill-opacity="0.6"/>`);
    }
    parts.push(`<text x="${PLOT_X1 + 4}" y="${cy + 4}" font-size="9" fill="#444">${p50 >= 100 ? p50.toFixed(0) : p50.toPrecision(3)}</text>`);
    y += ROW_H;
  }
  parts.push(`<text x="${(PLOT_X0 + PLOT_X1) / 2}" y="${height - 8}" text-anchor="middle" fill="#444">wall time per call (log scale); number at the right: median in ms</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
