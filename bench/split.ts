// Where a warm `create`'s overhead goes (BENCH_ONLY=split, and the last part of a full run).
// Every arm runs runc through the same small wrapper (bench/launcher/stamp.c), which notes the
// moment it starts and then execs runc, so each create splits in two: "before runc" (from the
// spawn until the runtime starts: for Bulwark the launcher, the hand-off to the service and the
// engine's work) and "runc" (runc's own create). Arms, interleaved in a new order each round:
//   runc                      bare runc, the bundle's plain config
//   bulwark                   bin/bulwark-runtime with the warm service (its runtime is the wrapper)
//   runc-hardened             runc given Bulwark's hardened config, on the bundle's own rootfs
//   runc-hardened-idmapped    the same on Bulwark's idmapped rootfs (held by one container kept
//                             for the whole run, so the service's GC leaves the mount alone)
//   runc-after-node           runc-hardened-idmapped, right after an unrelated `node -e 0` (not
//                             timed): what running any sizeable program just before runc costs
//                             runc itself, with nothing of Bulwark's involved
//   runc-after-busy           runc-hardened-idmapped, right after the benchmark itself spins for
//                             as long as Bulwark's own time before runc (BENCH_SPLIT_BUSY_MS, not
//                             timed): what the same amount of any work, touching no memory, costs
//                             runc on this machine
// The differences are taken per round (paired) and reported as medians with the quartiles.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makeBundle } from '../integration/lib/bundle.js';
import type { Bundle } from '../integration/lib/bundle.js';
import { repoRoot } from '../integration/lib/paths.js';
import { staticProgram } from '../integration/lib/cached-build.js';
import { findExecutable } from '../integration/lib/runtimes.js';
import { Lab, LAUNCHER, newId, roundOrder, version, withCgroup, withOwnRootfs } from './lib/lab.js';
import type { Arm } from './lib/lab.js';
import type { Progress } from './lib/progress.js';
import { startService } from './lib/service.js';
import type { RunningService } from './lib/service.js';
import { median, percentile } from './lib/stats.js';
import { serviceSocket } from './lib/variants.js';

export interface SplitSample {
  totalMs: number;
  beforeRuntimeMs: number;
  runtimeMs: number;
}

export interface SplitDifference {
  key: string;
  what: string;
  p25Ms: number;
  p50Ms: number;
  p75Ms: number;
}

export interface SplitReport {
  rounds: number;
  /** How long the runc-after-busy arm's busy loop spins before its create. */
  busyMs: number;
  runcVersion: string;
  arms: Array<{ key: string; label: string }>;
  samples: Record<string, SplitSample[]>;
  order: string[][];
  differences: SplitDifference[];
  /** Audit lines of the bulwark arm's creates by how they were served (all should be `service`). */
  servedVia: Record<string, number>;
}

const ARMS = [
  { key: 'runc', label: 'bare runc, plain config' },
  { key: 'bulwark', label: 'Bulwark (warm service)' },
  { key: 'runc-hardened', label: "runc, Bulwark's hardened config, bundle's rootfs" },
  { key: 'runc-hardened-idmapped', label: "runc, Bulwark's hardened config and idmapped rootfs" },
  { key: 'runc-after-node', label: 'the same, right after an unrelated `node -e 0`' },
  { key: 'runc-after-busy', label: 'the same, right after a busy loop as long as Bulwark\'s own time' },
] as const;
type ArmKey = (typeof ARMS)[number]['key'];

export const splitStepCount = (rounds: number): number => rounds + 1;

function quartiles(values: number[]): Pick<SplitDifference, 'p25Ms' | 'p50Ms' | 'p75Ms'> {
  const sorted = [...values].sort((a, b) => a - b);
  return { p25Ms: percentile(sorted, 25), p50Ms: percentile(sorted, 50), p75Ms: percentile(sorted, 75) };
}

/** Per-round differences: `a` minus `b` of one part of the sample. */
function paired(samples: Record<string, SplitSample[]>, a: ArmKey, b: ArmKey, part: keyof SplitSample): number[] {
  return samples[a]!.map((s, i) => s[part] - samples[b]![i]![part]);
}

/** The differences the report shows, each taken per round (the arms ran back to back) and summarised. */
export function splitDifferences(samples: Record<string, SplitSample[]>): SplitDifference[] {
  const row = (key: string, what: string, values: number[]): SplitDifference => ({ key, what, ...quartiles(values) });
  return [
    row('overhead', 'Bulwark − bare runc, whole create (the target: ≤ 5 ms)', paired(samples, 'bulwark', 'runc', 'totalMs')),
    row('bulwark-before-runtime', "Bulwark's own time before runc starts: launcher, hand-off, the service's work", paired(samples, 'bulwark', 'runc', 'beforeRuntimeMs')),
    row('hardening', "what the hardened config costs runc (seccomp filter, user namespace, limits)", paired(samples, 'runc-hardened', 'runc', 'runtimeMs')),
    row('idmapped-rootfs', 'what the idmapped rootfs costs runc', paired(samples, 'runc-hardened-idmapped', 'runc-hardened', 'runtimeMs')),
    row('runc-after-bulwark', "runc started by Bulwark − runc given the same config directly", paired(samples, 'bulwark', 'runc-hardened-idmapped', 'runtimeMs')),
    row('runc-after-node', 'runc right after `node -e 0` − runc given the same config directly (no Bulwark)', paired(samples, 'runc-after-node', 'runc-hardened-idmapped', 'runtimeMs')),
    row('runc-after-busy', 'runc right after a busy loop as long as Bulwark\'s own time − the same directly (no Bulwark)', paired(samples, 'runc-after-busy', 'runc-hardened-idmapped', 'runtimeMs')),
  ];
}

/** Spin on this CPU for `ms`: work that touches no memory and starts no process. */
function busyFor(ms: number): void {
  const until = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (process.hrtime.bigint() < until) {
    // spin
  }
}

// musl's static start-up is two system calls, so the wrapper adds as little as it can.
const stampProgram = staticProgram({
  name: 'stamp',
  sources: () => [join(repoRoot, 'bench', 'launcher', 'stamp.c')],
  cc: () => findExecutable('musl-gcc') ?? process.env.CC ?? 'gcc',
  flags: ['-std=gnu11'],
});

function auditVia(file: string, ids: Set<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as { id?: string; via?: string };
    if (entry.id && ids.has(entry.id)) counts[entry.via ?? '?'] = (counts[entry.via ?? '?'] ?? 0) + 1;
  }
  return counts;
}

export async function runSplit(rounds: number, progress: Progress, env: NodeJS.ProcessEnv, busyMs: number): Promise<SplitReport> {
  const runc = findExecutable('runc');
  if (!runc) throw new Error('runc is not installed');
  if (!existsSync(LAUNCHER)) throw new Error(`${LAUNCHER} is missing: run make build`);
  const lab = new Lab();
  const bundles = new Map<ArmKey, Bundle>();
  let service: RunningService | null = null;
  try {
    const stamp = await stampProgram();
    const stampFile = join(lab.work, 'stamp.txt');
    const stateDir = join(lab.work, 'state-split');
    const auditLog = join(lab.work, 'audit-split.jsonl');
    const config = join(lab.work, 'split.yaml');
    writeFileSync(config, `stateDir: ${stateDir}\nauditLog: ${auditLog}\nruntimes:\n  runc:\n    paths: [${stamp}]\n`);
    const armEnv = { ...env, BULWARK_CONFIG: config, BENCH_STAMP_FILE: stampFile, BENCH_STAMP_EXEC: runc };
    const root = join(lab.work, 'runc-root');
    const cleanup = { bin: runc, global: ['--root', root] };
    const arm = (key: string, bin: string): Arm => ({ key, label: key, command: bin, bin, global: ['--root', root], env: armEnv, cleanup });
    const bulwark = arm('bulwark', LAUNCHER);
    const direct = arm('runc', stamp);

    progress.note('create-split: starting the policy service');
    const started = await startService(join(repoRoot, 'bin', 'bulwark'), ['serve'], armEnv, serviceSocket(stateDir), join(lab.work, 'svc-split.log'));
    if (typeof started === 'string') throw new Error(started);
    service = started;
    for (const { key } of ARMS) bundles.set(key, await makeBundle({ args: ['/bin/true'], label: `split-${key}` }));
    const original = readFileSync(join(bundles.get('runc')!.dir, 'config.json'), 'utf8');

    // The container whose idmapped rootfs the idmapped arms use; it also warms the service up.
    const keepId = newId('split', 'keep');
    const keepBundle = bundles.get('bulwark')!;
    writeFileSync(join(keepBundle.dir, 'config.json'), withCgroup(original, keepId));
    lab.track(keepId, bulwark);
    lab.time(bulwark, ['create', '--bundle', keepBundle.dir, keepId], keepBundle.dir);
    const hardenedIdmapped = readFileSync(join(keepBundle.dir, 'config.json'), 'utf8');
    const texts: Record<ArmKey, string> = {
      runc: original,
      bulwark: original,
      'runc-hardened': withOwnRootfs(hardenedIdmapped).text,
      'runc-hardened-idmapped': hardenedIdmapped,
      'runc-after-node': hardenedIdmapped,
      'runc-after-busy': hardenedIdmapped,
    };
    progress.step('create-split: warm-up');

    const samples: Record<string, SplitSample[]> = Object.fromEntries(ARMS.map((a) => [a.key, []]));
    const order: string[][] = [];
    const bulwarkIds = new Set<string>();
    for (let round = 0; round < rounds; round++) {
      const keys = roundOrder(ARMS.map((a) => a.key), round);
      order.push(keys);
      for (const key of keys) {
        await lab.checkpoint();
        const bundle = bundles.get(key)!;
        const id = newId('split', key);
        const who = key === 'bulwark' ? bulwark : direct;
        writeFileSync(join(bundle.dir, 'config.json'), withCgroup(texts[key], id));
        lab.track(id, who);
        if (key === 'bulwark') bulwarkIds.add(id);
        if (key === 'runc-after-node') spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' });
        if (key === 'runc-after-busy') busyFor(busyMs);
        const t0 = process.hrtime.bigint();
        lab.time(who, ['create', '--bundle', bundle.dir, id], bundle.dir);
        const t1 = process.hrtime.bigint();
        const stamped = BigInt(readFileSync(stampFile, 'utf8').trim());
        if (stamped < t0 || stamped > t1) throw new Error(`create-split: ${key}: the wrapper's time is outside the create (did the runtime run through it?)`);
        samples[key]!.push({ totalMs: Number(t1 - t0) / 1e6, beforeRuntimeMs: Number(stamped - t0) / 1e6, runtimeMs: Number(t1 - stamped) / 1e6 });
        lab.forceDelete(id);
      }
      progress.step(`create-split: round ${round + 1}/${rounds}`);
    }
    lab.forceDelete(keepId);
    return { rounds, busyMs, runcVersion: version(runc), arms: ARMS.map((a) => ({ ...a })), samples, order, differences: splitDifferences(samples), servedVia: auditVia(auditLog, bulwarkIds) };
  } finally {
    if (service) await service.stop();
    for (const b of bundles.values()) b.destroy();
    lab.cleanupAll();
  }
}

const ms = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)} ms`;

export function renderSplitMarkdown(report: SplitReport, header: string): string {
  const lines = [
    '# Where the warm create overhead goes',
    '',
    header,
    '',
    `${report.rounds} rounds, interleaved; every arm runs runc through the same stamp wrapper (bench/split.ts); the busy loop spins ${report.busyMs} ms.`,
    `The bulwark arm's creates were served: ${Object.entries(report.servedVia).map(([k, v]) => `${k} ${v}`).join(', ') || 'no audit lines found'}.`,
    '',
    '| arm | create, median | before runc | runc |',
    '|---|---:|---:|---:|',
    ...report.arms.map((a) => {
      const s = report.samples[a.key]!;
      return `| ${a.label} | ${median(s.map((x) => x.totalMs)).toFixed(2)} ms | ${median(s.map((x) => x.beforeRuntimeMs)).toFixed(2)} ms | ${median(s.map((x) => x.runtimeMs)).toFixed(2)} ms |`;
    }),
    '',
    '| difference (per round) | median | quartiles |',
    '|---|---:|---|',
    ...report.differences.map((d) => `| ${d.what} | ${ms(d.p50Ms)} | ${ms(d.p25Ms)} … ${ms(d.p75Ms)} |`),
    '',
  ];
  return lines.join('\n');
}
