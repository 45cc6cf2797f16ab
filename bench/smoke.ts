// A sanity check that the benchmark code runs end to end (not part of `make test`, and it asserts
// nothing about speed): one round of every scenario, 1 ms per micro task, into a temp directory.
//   node dist/bench/smoke.js        (as root, after make build; about a minute)
// Checks that every output is written and complete, and that nothing of ours is left behind:
// no container cgroups under /bulwark-bench/bwb-<pid>-*, no files in its temp directory, no mounts.
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../integration/lib/paths.js';
import type { BenchResults } from './report.js';
import type { SplitReport } from './split.js';

const problems: string[] = [];
const check = (ok: unknown, what: string) => {
  if (!ok) problems.push(what);
};

const out = mkdtempSync(join(tmpdir(), 'bulwark-bench-smoke-'));
// The run's own temp directory: everything it creates (bundles, roots, state) goes there, so it
// must be empty again afterwards.
const scratch = mkdtempSync(join(tmpdir(), 'bulwark-bench-smoke-tmp-'));
chmodSync(scratch, 0o711); // container root is mapped to an unprivileged host ID: it must traverse
try {
  const run = spawnSync(process.execPath, [join(repoRoot, 'dist', 'bench', 'run.js')], {
    env: { ...process.env, BENCH_SAMPLES: '1', BENCH_CHEAP_SAMPLES: '1', BENCH_CTR_SAMPLES: '1', BENCH_MICRO_TIME: '1', BENCH_SPLIT_SAMPLES: '2', BENCH_RESULTS: out, BENCH_TMPDIR: scratch },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const child = run.pid;
  check(run.status === 0, `run.js exited ${run.status ?? run.signal}`);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
  check(results.schema === 'bulwark-bench/1', 'results.json: schema');
  check((results.micro?.results.length ?? 0) >= 50, `micro: ${results.micro?.results.length} tasks`);
  for (const m of results.micro?.results ?? []) check(m.samplesMs.length > 0 && m.p50Ms > 0, `micro ${m.name}: no samples`);
  const keys = results.lifecycle?.scenarios.map((s) => s.key) ?? [];
  const ctrSkipped = results.lifecycle?.skipped.some((l) => l.startsWith('ctr-run')) ?? false;
  for (const key of ['lifecycle-runc', 'passthrough', 'exec', 'features', 'reference', ...(ctrSkipped ? [] : ['ctr-run', 'ctr-exec'])]) check(keys.includes(key), `scenario ${key} missing`);
  for (const key of ['ctr-run', 'ctr-exec']) {
    const arms = results.lifecycle?.scenarios.find((s) => s.key === key)?.arms.map((a) => a.key) ?? [];
    if (!ctrSkipped) check(['runc', 'bulwark', 'bulwark-shim'].every((k) => arms.includes(k)), `${key}: arms ${arms.join(', ')}`);
  }
  for (const s of results.lifecycle?.scenarios ?? []) {
    for (const arm of s.arms) for (const step of s.steps) check((s.samples[arm.key]?.[step]?.length ?? 0) > 0, `${s.key}/${arm.key}/${step}: no samples`);
  }
  check(results.targets.length >= 5, 'targets');
  check(readFileSync(join(out, 'results.md'), 'utf8').includes('## Targets'), 'results.md');
  check(readFileSync(join(out, 'lifecycle.svg'), 'utf8').startsWith('<svg'), 'lifecycle.svg');
  check(results.targets.some((t) => t.target.includes('ctr run --rm')), 'the ctr run --rm target');
  const split = JSON.parse(readFileSync(join(out, 'split.json'), 'utf8')) as SplitReport;
  for (const arm of split.arms) check(split.samples[arm.key]?.length === 2 && split.samples[arm.key]!.every((x) => x.runtimeMs > 0 && x.beforeRuntimeMs > 0), `create-split ${arm.key}: samples`);
  check(split.servedVia.service === 2, `create-split: the bulwark arm was not served warm (${JSON.stringify(split.servedVia)})`);
  check(readFileSync(join(out, 'split.md'), 'utf8').includes('| Bulwark (warm service) |'), 'split.md');
  // Nothing of ours left: cgroups named after the run's pid, temp dirs, mounts.
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const parent = join('/sys/fs/cgroup', hierarchy, 'bulwark-bench');
    if (!existsSync(parent)) continue;
    for (const leftover of readdirSync(parent).filter((d) => d.startsWith(`bwb-${child}-`))) problems.push(`cgroup left: ${join(parent, leftover)}`);
  }
  const left = readdirSync(scratch);
  check(left.length === 0, `left in the run's temp directory: ${left.join(', ')}`);
  check(!readFileSync('/proc/self/mountinfo', 'utf8').includes(scratch), 'a mount in the run\'s temp directory is left');
} catch (err) {
  problems.push(`smoke: ${(err as Error).message}`);
} finally {
  rmSync(out, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}
if (problems.length > 0) {
  process.stderr.write(`bench smoke: FAILED\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('bench smoke: ok (every scenario ran, every output written, nothing left behind)\n');
}
