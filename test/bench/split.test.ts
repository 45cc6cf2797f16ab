// create-split's arithmetic, from synthetic samples: each difference is taken per round (arm a
// minus arm b of the same round) before the median, on the part of the create it names, and the
// report shows every arm and every difference. (No timing here: the samples are literals.)
import t from 'tap';
import { renderSplitMarkdown, splitDifferences } from '../../bench/split.js';
import type { SplitReport, SplitSample } from '../../bench/split.js';

const sample = (beforeRuntimeMs: number, runtimeMs: number): SplitSample => ({ beforeRuntimeMs, runtimeMs, totalMs: beforeRuntimeMs + runtimeMs });

// Three rounds; round 2 is slow for every arm (a busy machine), which per-round differences take out.
const samples: Record<string, SplitSample[]> = {
  runc: [sample(1, 20), sample(1, 40), sample(1, 21)],
  bulwark: [sample(5, 26), sample(6, 47), sample(5, 27)],
  'runc-hardened': [sample(1, 22), sample(1, 43), sample(1, 23)],
  'runc-hardened-idmapped': [sample(1, 23), sample(1, 43), sample(1, 23)],
  'runc-after-node': [sample(1, 25), sample(1, 46), sample(1, 26)],
  'runc-after-busy': [sample(1, 24), sample(1, 43), sample(1, 25)],
};

t.test('each difference is the median of per-round differences of the part it names', async (t) => {
  const byKey = Object.fromEntries(splitDifferences(samples).map((d) => [d.key, d]));
  const cases: Array<[string, number, number, number]> = [
    // key, p25, p50, p75 (ms)
    ['overhead', 10, 10, 11], // totals: 10, 12, 10
    ['bulwark-before-runtime', 4, 4, 4.5], // 4, 5, 4
    ['hardening', 2, 2, 2.5], // runtime: 2, 3, 2
    ['idmapped-rootfs', 0, 0, 0.5], // runtime: 1, 0, 0
    ['runc-after-bulwark', 3.5, 4, 4], // runtime: 3, 4, 4
    ['runc-after-node', 2.5, 3, 3], // runtime: 2, 3, 3
    ['runc-after-busy', 0.5, 1, 1.5], // runtime: 1, 0, 2
  ];
  for (const [key, p25, p50, p75] of cases) {
    t.same([byKey[key]?.p25Ms, byKey[key]?.p50Ms, byKey[key]?.p75Ms], [p25, p50, p75], key);
  }
  t.equal(Object.keys(byKey).length, cases.length, 'no other rows');
});

t.test('the report lists every arm with its medians and every difference with its sign', async (t) => {
  const report: SplitReport = {
    rounds: 3, busyMs: 3.5, runcVersion: 'runc version test',
    arms: Object.keys(samples).map((key) => ({ key, label: `label ${key}` })),
    samples, order: [], differences: splitDifferences(samples), servedVia: { service: 3 },
  };
  const md = renderSplitMarkdown(report, 'header line');
  t.match(md, /header line/);
  t.match(md, /served: service 3/);
  t.match(md, /the busy loop spins 3\.5 ms/);
  t.match(md, /\| label bulwark \| 32\.00 ms \| 5\.00 ms \| 27\.00 ms \|/);
  t.match(md, /\| label runc \| 22\.00 ms \| 1\.00 ms \| 21\.00 ms \|/);
  t.match(md, /whole create.*\| \+10\.00 ms \| \+10\.00 ms … \+11\.00 ms \|/);
  const negative = renderSplitMarkdown({ ...report, differences: [{ key: 'x', what: 'x', p25Ms: -2, p50Ms: -1, p75Ms: 0.5 }] }, '');
  t.match(negative, /\| x \| −1\.00 ms \| −2\.00 ms … \+0\.50 ms \|/);
});
