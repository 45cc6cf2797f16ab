// results.json -> results.md: the tables, and the issue's targets checked against this run.
import type { MicroReport } from './micro.js';
import type { LifecycleReport, ScenarioResult } from './lifecycle.js';
import { formatMs, formatRatio, median, pairedRatio, summarize } from './lib/stats.js';

export interface Environment {
  date: string;
  commit: string;
  kernel: string;
  cpu: string;
  cpus: number;
  memoryGiB: number;
  cgroupMode: string;
  loadAverageStart: string;
  loadAverageEnd: string;
  node: string;
  runtimes: Record<string, string>;
  /** Where bundles, --root and state directories lived, and its filesystem. */
  tempDir: string;
  /** RSS of the measuring process when the lifecycle part started (its fork cost is in every sample). */
  benchRssMiB: number;
}

export interface BenchOptionsUsed {
  samples: number;
  cheapSamples: number;
  ctrSamples: number;
  microTimeMs: number;
  only: string;
  filter: string | null;
  /** BENCH_VARIANTS: the ways of running Bulwark measured (absent in older results: all). */
  variants?: string[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  /** true: met; false: missed; null: not measured. */
  met: boolean | null;
  /** A context row, not a target. */
  info?: boolean;
}

export interface BenchResults {
  schema: 'bulwark-bench/1';
  startedAt: string;
  durationS: number;
  environment: Environment;
  options: BenchOptionsUsed;
  micro: MicroReport | null;
  lifecycle: LifecycleReport | null;
  targets: TargetCheck[];
}

const scenario = (r: BenchResults, key: string): ScenarioResult | undefined => r.lifecycle?.scenarios.find((s) => s.key === key);

const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${formatMs(ms)}`;

const samplesOf = (s: ScenarioResult | undefined, arm: string, step: string): number[] => s?.samples[arm]?.[step] ?? [];

/** The arms that run through Bulwark (every mode and variant), in the scenario's order. */
const bulwarkArms = (s: ScenarioResult) => s.arms.filter((a) => a.key.startsWith('bulwark'));

export function evaluateTargets(r: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const pt = scenario(r, 'passthrough');
  // The measuring process's own spawn cost is in every sample; without it the ratio is stricter.
  const floorSamples = samplesOf(scenario(r, 'reference'), 'true', 'spawn');
  const floor = floorSamples.length ? median(floorSamples) : undefined;
  if (pt) {
    for (const step of pt.steps) {
      const ratio = pairedRatio(samplesOf(pt, 'bulwark', step), samplesOf(pt, 'runc', step));
      const corrected = floor !== undefined
        ? `; without the ${formatMs(floor)} spawn floor ${formatRatio((median(samplesOf(pt, 'bulwark', step)) - floor) / (median(samplesOf(pt, 'runc', step)) - floor))}`
        : '';
      checks.push({
        target: `pass-through \`${step}\` ≤ 1.05x bare runc`,
        measured: `${formatRatio(ratio.ofMedians)} (paired ${formatRatio(ratio.pairedMedian)}, ${formatRatio(ratio.pairedMin)}–${formatRatio(ratio.pairedMax)}; Δ ${signed(ratio.deltaOfMedians)}${corrected})`,
        met: ratio.ofMedians <= 1.05,
      });
    }
    const launcher = samplesOf(scenario(r, 'reference'), 'launcher-true', 'spawn');
    if (launcher.length && floor !== undefined) {
      checks.push({
        target: 'the launcher\'s own cost (launcher → /bin/true minus /bin/true)',
        measured: `${signed(median(launcher) - floor)} per call (medians)`,
        met: null,
        info: true,
      });
    }
  } else {
    checks.push({ target: 'pass-through subcommands ≤ 1.05x bare runc', measured: 'not run', met: null });
  }
  const lc = scenario(r, 'lifecycle-runc');
  if (lc) {
    for (const arm of bulwarkArms(lc)) {
      const ratio = pairedRatio(samplesOf(lc, arm.key, 'create'), samplesOf(lc, 'runc', 'create'));
      const own = pairedRatio(samplesOf(lc, arm.key, 'create'), samplesOf(lc, 'runc-hardened', 'create'));
      checks.push({
        target: `\`create\` overhead ≤ 5 ms over bare runc (default profile): ${arm.label}`,
        measured: `${signed(ratio.deltaOfMedians)} (${formatRatio(ratio.ofMedians)}); vs runc given the hardened config: ${signed(own.deltaOfMedians)}`,
        met: ratio.deltaOfMedians <= 5,
      });
    }
    if (lc.arms.some((a) => a.key === 'go-wrapper')) {
      const go = pairedRatio(samplesOf(lc, 'go-wrapper', 'create'), samplesOf(lc, 'runc', 'create'));
      checks.push({
        target: '`create` through a reference Go wrapper with no policy (bench/go-wrapper: decode, edit, encode config.json, exec runc)',
        measured: `${signed(go.deltaOfMedians)} (${formatRatio(go.ofMedians)}) over bare runc`,
        met: null,
        info: true,
      });
    }
  } else {
    checks.push({ target: '`create` overhead ≤ 5 ms over bare runc', measured: 'not run', met: null });
  }
  const lcCrun = scenario(r, 'lifecycle-crun');
  for (const arm of lcCrun ? bulwarkArms(lcCrun) : []) {
    const ratio = pairedRatio(samplesOf(lcCrun!, arm.key, 'create'), samplesOf(lcCrun!, 'crun', 'create'));
    const own = pairedRatio(samplesOf(lcCrun!, arm.key, 'create'), samplesOf(lcCrun!, 'crun-hardened', 'create'));
    checks.push({
      target: `\`create\` over bare crun (the target is stated against runc): ${arm.label}`,
      measured: `${signed(ratio.deltaOfMedians)} (${formatRatio(ratio.ofMedians)}); vs crun given the hardened config: ${signed(own.deltaOfMedians)}`,
      met: null,
      info: true,
    });
  }
  const hc = scenario(r, 'hardening-cost');
  if (hc) {
    const part = (arm: string) => signed(pairedRatio(samplesOf(hc, arm, 'create'), samplesOf(hc, 'runc', 'create')).deltaOfMedians);
    checks.push({
      target: "what the hardened config alone costs runc's `create` (a floor for the target above)",
      measured: `${part('runc-hardened')} (seccomp filter alone ${part('runc-seccomp')}, user namespace alone ${part('runc-userns')})`,
      met: null,
      info: true,
    });
  }
  const ctr = scenario(r, 'ctr-run');
  if (ctr) {
    for (const arm of bulwarkArms(ctr)) {
      const ratio = pairedRatio(samplesOf(ctr, arm.key, 'run --rm'), samplesOf(ctr, 'runc', 'run --rm'));
      checks.push({
        target: `\`ctr run --rm\` through containerd ≤ 1.10x the plain runc handler: ${arm.label}`,
        measured: `${formatRatio(ratio.ofMedians)} (paired ${formatRatio(ratio.pairedMedian)}, ${formatRatio(ratio.pairedMin)}–${formatRatio(ratio.pairedMax)}; Δ ${signed(ratio.deltaOfMedians)})`,
        met: ratio.ofMedians <= 1.1,
      });
    }
  } else {
    checks.push({ target: '`ctr run --rm` through containerd ≤ 1.10x the plain runc handler', measured: r.lifecycle?.skipped.find((s) => s.startsWith('ctr-run')) ?? 'not run', met: null });
  }
  for (const key of ['exec', 'ctr-exec']) {
    const s = scenario(r, key);
    for (const arm of s ? bulwarkArms(s) : []) {
      const step = s!.headlineStep;
      const ratio = pairedRatio(samplesOf(s, arm.key, step), samplesOf(s, s!.baseline, step));
      checks.push({
        target: `${key === 'exec' ? '`exec` (runtime call)' : '`ctr task exec`'} of /bin/true, what an exec probe pays: ${arm.label}`,
        measured: `${signed(ratio.deltaOfMedians)} (${formatRatio(ratio.ofMedians)})`,
        met: null,
        info: true,
      });
    }
  }
  const chain = r.micro?.results.find((m) => m.group === 'chain' && m.config === 'cri');
  checks.push(chain
    ? { target: 'policy chain p50 < 1 ms on the CRI config', measured: `p50 ${formatMs(chain.p50Ms)}, p99 ${formatMs(chain.p99Ms)}`, met: chain.p50Ms < 1 }
    : { target: 'policy chain p50 < 1 ms on the CRI config', measured: 'not run', met: null });
  const warm = r.lifecycle?.memory.warmEngine;
  const peak = r.lifecycle?.memory.createPeakRssMiB.bulwark;
  const services = r.lifecycle?.memory.services ?? [];
  const service = services.length ? services.reduce((a, b) => (b.vmRssMiB > a.vmRssMiB ? b : a)) : null;
  checks.push({
    target: 'RSS of any long-lived Bulwark process < 64 MiB',
    measured: service
      ? `the warm service after every arm: VmRSS ${service.vmRssMiB} MiB (private ${service.rssAnonMiB} MiB; ${service.rssFileMiB} MiB file-backed, mostly Node's executable, shared)`
      : `no service ran${peak?.length ? `; peak RSS of a cold create ${Math.max(...peak)} MiB` : ''}${warm ? `; an engine warm after 2000 hardenings: ${warm.rssMiB} MiB` : ''}`,
    met: service ? service.vmRssMiB < 64 : null,
  });
  return checks;
}

function table(header: string[], rows: string[][], align?: string[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [`| ${header.join(' | ')} |`, `| ${a.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const status = (met: boolean | null) => (met === null ? 'not measured' : met ? 'met' : '**missed**');

function scenarioSection(s: ScenarioResult): string {
  const rows: string[][] = [];
  for (const step of s.steps) {
    const base = samplesOf(s, s.baseline, step);
    for (const arm of s.arms) {
      const values = samplesOf(s, arm.key, step);
      if (values.length === 0) continue;
      const sum = summarize(values);
      const isBase = arm.key === s.baseline;
      const ratio = isBase ? undefined : pairedRatio(values, base);
      rows.push([
        `${step}`,
        arm.label,
        formatMs(sum.p50),
        `${formatMs(sum.min)} – ${formatMs(sum.max)}`,
        ratio ? formatRatio(ratio.ofMedians) : '1 (baseline)',
        ratio ? `${formatRatio(ratio.pairedMedian)} (${formatRatio(ratio.pairedMin)}–${formatRatio(ratio.pairedMax)})` : '',
        ratio ? `${ratio.deltaOfMedians >= 0 ? '+' : ''}${formatMs(ratio.deltaOfMedians)}` : '',
        String(sum.n),
      ]);
    }
  }
  const arms = s.arms.map((a) => `- **${a.label}**: \`${a.command}\``).join('\n');
  return [
    `### ${s.title}`,
    '',
    arms,
    '',
    ...s.notes.map((n) => `> ${n}`),
    '',
    table(['step', 'arm', 'median', 'min – max', 'ratio of medians', 'paired ratio: median (min–max)', 'Δ median', 'n'], rows, ['---', '---', '---:', '---:', '---:', '---:', '---:', '---:']),
    '',
  ].join('\n');
}

export function renderMarkdown(r: BenchResults): string {
  const e = r.environment;
  const out: string[] = [];
  out.push('# Bulwark benchmark results', '');
  out.push(`Run ${r.startedAt} (${Math.round(r.durationS)} s), commit \`${e.commit}\`. Reproduce: \`make bench\` (see docs/PERFORMANCE.md).`, '');
  out.push(table(['machine', ''], [
    ['CPU', `${e.cpu} (${e.cpus} CPUs)`],
    ['memory', `${e.memoryGiB} GiB`],
    ['kernel', e.kernel],
    ['cgroups', e.cgroupMode],
    ['bundles, --root, state dirs', e.tempDir],
    ['measuring process', `node, RSS ${e.benchRssMiB} MiB when the lifecycle part started (it forks for every sample)`],
    ['load average (1, 5, 15 min) at start / end', `${e.loadAverageStart} / ${e.loadAverageEnd}`],
    ['node', e.node],
    ...Object.entries(e.runtimes).map(([k, v]) => [k, v]),
    ['samples', `BENCH_SAMPLES=${r.options.samples}: that many rounds of each lifecycle, exec and features; ${r.options.samples * 3} of kill/delete; ${r.options.samples * 2} of the reference spawns; ${r.options.cheapSamples} of state and --version; BENCH_CTR_SAMPLES=${r.options.ctrSamples} of ctr run --rm and ctr task exec; micro: ≥ ${r.options.microTimeMs} ms per task`],
  ], ['---', '---']), '');

  out.push('## Targets (issue 6)', '');
  out.push(table(['target', 'this run', 'status'], r.targets.map((t) => [t.target, t.measured, t.info ? 'context' : status(t.met)]), ['---', '---', '---']), '');

  if (r.lifecycle) {
    out.push('## Lifecycle (interleaved, medians)', '');
    out.push('Each scenario runs in rounds; every arm takes one sample per round, in an order that changes each round (two arms alternate; more get a seeded random order). '
      + '"ratio of medians" is median(arm) / median(baseline); "paired ratio" is the median (and range) of the per-round ratios, '
      + 'which cancels load drift between rounds. Times are wall-clock around spawnSync (see the reference rows for the floor).', '');
    for (const s of r.lifecycle.scenarios) out.push(scenarioSection(s));
    out.push('### Not measured', '');
    for (const line of [...r.lifecycle.notMeasured, ...r.lifecycle.skipped]) out.push(`- ${line}`);
    out.push('');
    const m = r.lifecycle.memory;
    out.push('### Memory', '');
    const rows = Object.entries(m.createPeakRssMiB).map(([arm, v]) => [`peak RSS of a whole \`create\` process (${arm})`, `${Math.min(...v)} – ${Math.max(...v)} MiB (${v.length} runs)`]);
    if (m.warmEngine) {
      rows.push(['Node + engine modules + addon + profile, after 1 hardening', `${m.warmEngine.rssAfterFirstMiB} MiB`]);
      rows.push([`the same after ${m.warmEngine.iterations} more hardenings (a warm service's floor)`, `${m.warmEngine.rssMiB} MiB RSS, ${m.warmEngine.heapUsedMiB} MiB heap`]);
    }
    out.push(table(['what', 'RSS'], rows, ['---', '---:']), '');
    for (const n of m.notes) out.push(`- ${n}`);
    out.push('');
    const phases = Object.entries(m.coldPhases);
    if (phases.length > 0) {
      out.push('### Where a cold engine start goes', '');
      out.push(`bench/cold-import.ts in a fresh \`node\`, ${m.coldTotalMs.length} runs, medians. Phases run in this order; a module an earlier phase loaded costs nothing later. `
        + `The rest of the time since process start is Node's own bootstrap.`, '');
      const total = median(m.coldTotalMs);
      const inPhases = phases.reduce((sum, [, v]) => sum + median(v), 0);
      const prow = phases.map(([name, v]) => [name, formatMs(median(v)), `${formatMs(Math.min(...v))} – ${formatMs(Math.max(...v))}`]);
      prow.unshift(['Node bootstrap (process start → first line of the script)', formatMs(total - inPhases), '']);
      prow.push(['**process start → first hardening done**', `**${formatMs(total)}**`, `${formatMs(Math.min(...m.coldTotalMs))} – ${formatMs(Math.max(...m.coldTotalMs))}`]);
      out.push(table(['phase', 'median', 'min – max'], prow, ['---', '---:', '---:']), '');
    }
  }

  if (r.micro) {
    out.push('## Micro (tinybench, one warm process)', '');
    out.push(`Temp files on ${r.micro.tmpFs}. ops/s = 1000 / mean. Host facts for the passes are a literal (cgroup v2 node), see bench/lib/inputs.ts. `
      + 'Calls faster than 50 µs are timed in batches ("n × calls"): their p50 and p99 are of per-call batch means, so they hide single slow calls.', '');
    out.push(table(['config', 'bytes', 'mounts', 'env', 'decision (baseline)', 'findings'], r.micro.chains.map((c) => [`${c.config}: ${c.description}`, String(c.bytes), String(c.mounts), String(c.env), c.decision, String(c.findings)]), ['---', '---:', '---:', '---:', '---', '---:']), '');
    const rows = r.micro.results.map((m) => [m.group, m.name, formatMs(m.meanMs), formatMs(m.p50Ms), formatMs(m.p99Ms), m.opsPerSec >= 100 ? m.opsPerSec.toFixed(0) : m.opsPerSec.toFixed(1), m.batch > 1 ? `${m.n} × ${m.batch}` : String(m.n)]);
    out.push(table(['group', 'task', 'mean', 'p50', 'p99', 'ops/s', 'samples'], rows, ['---', '---', '---:', '---:', '---:', '---:', '---:']), '');
    for (const s of r.micro.skipped) out.push(`- skipped: ${s}`);
    out.push('');
  }
  out.push('Plot: [lifecycle.svg](lifecycle.svg). Every sample: results.json.', '');
  return out.join('\n');
}
