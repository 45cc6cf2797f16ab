// The benchmark run itself; bench/run.ts is the entry point (it picks the temp directory first).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostCgroupMode } from '../integration/lib/cgroups.js';
import { repoRoot } from '../integration/lib/paths.js';
import { findExecutable } from '../integration/lib/runtimes.js';
import { microTaskCount, runMicro } from './micro.js';
import { cleanEnv, lifecycleStepCount, runLifecycle } from './lifecycle.js';
import { renderSplitMarkdown, runSplit, splitStepCount } from './split.js';
import { installAbortHandlers } from './lib/abort.js';
import { Progress } from './lib/progress.js';
import { matchesFilter } from './lib/stats.js';
import { chooseVariants } from './lib/variants.js';
import { renderSvg } from './plot.js';
import { evaluateTargets, renderMarkdown } from './report.js';
import type { BenchResults, Environment } from './report.js';

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${raw}: expected an integer ≥ ${min}`);
  return n;
}

function msFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1000) throw new Error(`${name}=${raw}: expected milliseconds from 0 to 1000`);
  return n;
}

function commit(): string {
  const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  return `${head.stdout.trim()}${dirty.stdout.trim() ? ' + local changes' : ''}`;
}

const loadNow = () => loadavg().map((l) => l.toFixed(2)).join(' ');

function environment(): Environment {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown';
  return {
    date: new Date().toISOString(),
    commit: commit(),
    kernel: release(),
    cpu,
    cpus: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cgroupMode: hostCgroupMode(),
    loadAverageStart: loadNow(),
    loadAverageEnd: '',
    node: process.version,
    runtimes: {},
    tempDir: '',
    benchRssMiB: 0,
  };
}

export async function main(tmpNote: string): Promise<number> {
  const samples = intFromEnv('BENCH_SAMPLES', 10, 1);
  const cheapSamples = intFromEnv('BENCH_CHEAP_SAMPLES', samples * 10, 1);
  const ctrSamples = intFromEnv('BENCH_CTR_SAMPLES', samples, 1);
  const microTimeMs = intFromEnv('BENCH_MICRO_TIME', 300, 1);
  const only = process.env.BENCH_ONLY ?? '';
  if (!['', 'micro', 'lifecycle', 'split'].includes(only)) throw new Error(`BENCH_ONLY=${only}: expected micro, lifecycle or split`);
  const filter = process.env.BENCH_FILTER || undefined;
  const splitSamples = intFromEnv('BENCH_SPLIT_SAMPLES', Math.max(30, 3 * samples), 1);
  // About Bulwark's own time before runc in the fifth session's runs (3.5-3.6 ms).
  const splitBusyMs = msFromEnv('BENCH_SPLIT_BUSY_MS', 3.5);
  const variants = chooseVariants(process.env.BENCH_VARIANTS);
  const outDir = process.env.BENCH_RESULTS || join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });

  const started = Date.now();
  const env = environment();
  env.tempDir = tmpNote;
  const doMicro = only === '' || only === 'micro';
  const doLifecycle = only === '' || only === 'lifecycle';
  const doSplit = only === 'split' || (only === '' && matchesFilter('create-split', filter));
  const progress = new Progress((doMicro ? microTaskCount() : 0) + (doLifecycle ? lifecycleStepCount({ samples, cheapSamples, ctrSamples }) : 0) + (doSplit ? splitStepCount(splitSamples) : 0));
  progress.log(`bench: ${samples} rounds per container scenario, ${ctrSamples} through containerd, ${cheapSamples} for cheap calls, ${microTimeMs} ms per micro task; load ${env.loadAverageStart}`);

  installAbortHandlers(() => progress.log('bench: interrupted; stopping after the current sample and cleaning up'));
  // Lifecycle first: every sample there includes a fork of this process, which costs more the
  // more memory it holds, and the micro part leaves tens of thousands of samples behind.
  env.benchRssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
  const lifecycle = doLifecycle ? await runLifecycle({ samples, cheapSamples, ctrSamples, progress, filter, variants }) : null;
  const micro = doMicro ? await runMicro({ timeMs: microTimeMs, progress, filter }) : null;
  const splitLoadStart = loadNow();
  const split = doSplit ? await runSplit(splitSamples, progress, cleanEnv(), splitBusyMs) : null;
  env.loadAverageEnd = loadNow();
  env.runtimes = lifecycle?.versions ?? {};
  delete env.runtimes.node;

  const written: string[] = [];
  let md = '';
  if (doMicro || doLifecycle) {
    const results: BenchResults = {
      schema: 'bulwark-bench/1',
      startedAt: env.date,
      durationS: (Date.now() - started) / 1000,
      environment: env,
      options: { samples, cheapSamples, ctrSamples, microTimeMs, only: only || 'all', filter: filter ?? null, variants: variants.map((v) => v.name) },
      micro,
      lifecycle,
      targets: [],
    };
    results.targets = evaluateTargets(results);
    const jsonFile = join(outDir, 'results.json');
    // Compact: it holds every sample (tens of thousands of numbers).
    writeFileSync(jsonFile, JSON.stringify(results, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
    md = renderMarkdown(results);
    writeFileSync(join(outDir, 'results.md'), md);
    written.push(jsonFile, join(outDir, 'results.md'));
  }
  if (split) {
    const splitJson = join(outDir, 'split.json');
    writeFileSync(splitJson, JSON.stringify({ schema: 'bulwark-bench-split/1', environment: env, loadAverageStart: splitLoadStart, ...split }) + '\n');
    writeFileSync(join(outDir, 'split.md'), renderSplitMarkdown(split, `${env.cpu}, ${env.cpus} CPUs, kernel ${env.kernel}, ${split.runcVersion}; load ${splitLoadStart} → ${env.loadAverageEnd}; commit ${env.commit}; ${env.date}`));
    written.push(splitJson, join(outDir, 'split.md'));
  }
  if (lifecycle) {
    const svgFile = join(outDir, 'lifecycle.svg');
    writeFileSync(svgFile, renderSvg(lifecycle, `${env.cpu}, ${env.cpus} CPUs, kernel ${env.kernel}; ${samples} rounds (${cheapSamples} for cheap calls), interleaved; load ${env.loadAverageStart} → ${env.loadAverageEnd}; ${env.date}`));
    written.push(svgFile);
    const rsvg = findExecutable('rsvg-convert');
    if (rsvg) {
      const png = join(outDir, 'lifecycle.png');
      const r = spawnSync(rsvg, ['-o', png, svgFile], { encoding: 'utf8' });
      if (r.status === 0) written.push(png);
      else progress.log(`bench: rsvg-convert failed: ${r.stderr.trim()}`);
    }
  }
  progress.finish();

  const summary = md.split('\n## ').find((s) => s.startsWith('Targets'));
  if (summary) process.stdout.write(`\n## ${summary}\n`);
  const overhead = split?.differences.find((d) => d.key === 'overhead');
  const own = split?.differences.find((d) => d.key === 'bulwark-before-runtime');
  if (overhead && own) process.stdout.write(`\ncreate-split: Bulwark − bare runc ${overhead.p50Ms.toFixed(2)} ms, of which Bulwark's own time before runc starts ${own.p50Ms.toFixed(2)} ms (medians of per-round differences; split.md)\n`);
  process.stdout.write(`Written: ${written.map((f) => f.replace(`${repoRoot}/`, '')).join(', ')}\n`);
  return 0;
}

