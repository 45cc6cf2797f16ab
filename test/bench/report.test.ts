// The benchmark's verdicts on the targets, from synthetic samples: which arms get a row,
// which ratio decides, what a skipped scenario says. (No timing here: the samples are literals.)
import t from 'tap';
import { evaluateTargets } from '../../bench/report.js';
import type { BenchResults } from '../../bench/report.js';
import type { ScenarioResult } from '../../bench/lifecycle-types.js';
import { chooseVariants, serviceSocket, VARIANTS, variantKey } from '../../bench/lib/variants.js';

function scenario(key: string, step: string, arms: Record<string, number[]>, baseline = 'runc'): ScenarioResult {
  return {
    key, title: key, notes: [], baseline, steps: [step], headlineStep: step, order: [],
    arms: Object.keys(arms).map((k) => ({ key: k, label: `label ${k}`, command: k })),
    samples: Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, { [step]: v }])),
  };
}

function results(scenarios: ScenarioResult[], skipped: string[] = []): BenchResults {
  return {
    schema: 'bulwark-bench/1', startedAt: '', durationS: 0,
    environment: {} as BenchResults['environment'],
    options: { samples: 1, cheapSamples: 1, ctrSamples: 1, microTimeMs: 1, only: 'lifecycle', filter: null },
    micro: null,
    lifecycle: { scenarios, memory: { createPeakRssMiB: {}, warmEngine: null, coldPhases: {}, coldTotalMs: [], services: [], notes: [] }, skipped, notMeasured: [], versions: {} },
    targets: [],
  };
}

const ctrRows = (r: BenchResults) => evaluateTargets(r).filter((c) => c.target.includes('ctr run --rm'));

t.test('ctr run --rm: one verdict per Bulwark arm, against the runc handler, 1.10x the limit', async (t) => {
  const ctr = scenario('ctr-run', 'run --rm', {
    runc: [100, 100, 100],
    bulwark: [110, 110, 110],
    'bulwark-shim': [111, 111, 111],
    'bulwark-warm': [101, 102, 103],
  });
  const rows = ctrRows(results([ctr]));
  t.same(rows.map((c) => [c.target.split(': ').pop(), c.met]), [
    ['label bulwark', true],
    ['label bulwark-shim', false],
    ['label bulwark-warm', true],
  ]);
  t.match(rows[1]!.measured, /^1\.11x \(paired 1\.11x/);
});

t.test('ctr run --rm not run: the skip reason is the verdict, not a number', async (t) => {
  const rows = ctrRows(results([], ['ctr-run, ctr-exec: /usr/bin/containerd missing']));
  t.equal(rows.length, 1);
  t.equal(rows[0]!.met, null);
  t.equal(rows[0]!.measured, 'ctr-run, ctr-exec: /usr/bin/containerd missing');
});

t.test('create overhead: a row per variant of the runc lifecycle, 5 ms over runc the limit', async (t) => {
  const lc = scenario('lifecycle-runc', 'create', { runc: [40, 40], bulwark: [400, 400], 'bulwark-warm': [44, 44], 'runc-hardened': [43, 43] });
  const rows = evaluateTargets(results([lc])).filter((c) => c.target.startsWith('`create` overhead'));
  t.same(rows.map((c) => c.met), [false, true]);
  t.match(rows[1]!.measured, /^\+4\.00 ms .*hardened config: \+1\.00 ms/);
});

t.test('a reference Go wrapper in the runc lifecycle: one context row, no verdict, and no create target of its own', async (t) => {
  const lc = scenario('lifecycle-runc', 'create', { runc: [40, 40], bulwark: [400, 400], 'runc-hardened': [43, 43], 'go-wrapper': [41.5, 41.5] });
  const rows = evaluateTargets(results([lc]));
  t.same(rows.filter((c) => c.target.startsWith('`create` overhead')).map((c) => c.target.split(': ').pop()), ['label bulwark'], 'the Go wrapper is not held to Bulwark\'s target');
  const go = rows.filter((c) => c.target.includes('reference Go wrapper'));
  t.equal(go.length, 1);
  t.equal(go[0]!.met, null);
  t.match(go[0]!.measured, /^\+1\.50 ms \(1\.04x\) over bare runc$/);
  const without = evaluateTargets(results([scenario('lifecycle-runc', 'create', { runc: [40], bulwark: [44], 'runc-hardened': [43] })]));
  t.notOk(without.some((c) => c.target.includes('Go wrapper')), 'no row when the arm did not run');
});

t.test('crun lifecycle: a context row per Bulwark arm against bare crun, never a verdict', async (t) => {
  const lc = scenario('lifecycle-crun', 'create', { crun: [20, 20], bulwark: [300, 300], 'bulwark-warm': [25, 25], 'crun-hardened': [21.5, 21.5] }, 'crun');
  const rows = evaluateTargets(results([lc])).filter((c) => c.target.includes('over bare crun'));
  t.same(rows.map((c) => [c.target.split(': ').pop(), c.met]), [['label bulwark', null], ['label bulwark-warm', null]]);
  t.match(rows[1]!.measured, /^\+5\.00 ms \(1\.25x\); vs crun given the hardened config: \+3\.50 ms$/);
});

t.test('variants: the first is the cold one and keeps the plain keys; keys are unique', async (t) => {
  t.equal(VARIANTS[0]!.service, null);
  t.equal(variantKey('bulwark', VARIANTS[0]!), 'bulwark');
  const keys = VARIANTS.map((v) => variantKey('bulwark', v));
  t.equal(new Set(keys).size, keys.length);
  t.equal(VARIANTS[0]!.env.BULWARK_SERVICE, 'off', 'the cold arms never ask a service running for the same state');
  for (const v of VARIANTS.filter((x) => x.service)) t.same(v.service, ['serve'], `${v.suffix}: bulwark serve`);
  t.equal(serviceSocket('/run/bulwark'), '/run/bulwark/engine.sock', 'where the launcher looks');
});

t.test('BENCH_VARIANTS picks variants by name, in table order; anything else is an error', async (t) => {
  const names = (list: string | undefined) => chooseVariants(list).map((v) => v.name);
  const cases: Array<[string | undefined, string[] | RegExp]> = [
    [undefined, ['cold', 'warm']],
    ['', ['cold', 'warm']],
    ['warm', ['warm']],
    ['warm,cold', ['cold', 'warm']],
    [' cold ', ['cold']],
    ['hot', /BENCH_VARIANTS=hot: expected a comma-separated list of cold, warm/],
    [',', /BENCH_VARIANTS=,/],
  ];
  for (const [list, want] of cases) {
    if (want instanceof RegExp) t.throws(() => names(list), want, String(list));
    else t.same(names(list), want, String(list));
  }
});
