// Micro benchmarks (tinybench): the pieces of a Bulwark `create`, each measured in a warm process.
// Every pass is measured on the input it really gets in the chain (the output of the passes
// before it), so the per-pass rows add up to roughly the `harden` row of the same config.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Bench } from 'tinybench';
import type { Task } from 'tinybench';
import { repoRoot } from '../integration/lib/paths.js';
import { parseJson, stringifyJson } from '../src/json/lossless.js';
import { specProblems } from '../src/spec/index.js';
import type { Spec } from '../src/spec/index.js';
import { directorySource, loadProfile } from '../src/profile/load.js';
import { harden, PASSES } from '../src/pipeline.js';
import { loadConfig as loadBundle, writeFileAtomic } from '../src/bundle/io.js';
import { probeHost } from '../src/host/probe.js';
import { loadNative } from '../src/native/index.js';
import type { NativeAddon } from '../src/native/index.js';
import { benchConfigs, benchHost } from './lib/inputs.js';
import { checkpoint } from './lib/abort.js';
import type { Progress } from './lib/progress.js';
import { matchesFilter, summarize } from './lib/stats.js';

export interface MicroResult {
  group: 'profile' | 'config' | 'pass' | 'chain' | 'io' | 'native';
  name: string;
  /** Config key (runc-spec, cri, large) when the task works on one. */
  config?: string;
  /** Calls per sample: tasks faster than 50 µs are timed in batches; their samples (and so
   *  p50/p99) are per-call means of a batch. */
  batch: number;
  n: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  /** 1000 / mean: operations per second of one thread. */
  opsPerSec: number;
  /** Every latency sample, ms. */
  samplesMs: number[];
}

export interface MicroChainFacts {
  config: string;
  description: string;
  bytes: number;
  mounts: number;
  env: number;
  decision: string;
  findings: number;
}

export interface MicroReport {
  timePerTaskMs: number;
  results: MicroResult[];
  chains: MicroChainFacts[];
  /** Why some tasks did not run (not root, addon missing, ...). */
  skipped: string[];
  tmpFs: string;
}

export interface MicroOptions {
  /** Minimum measuring time per task (tinybench `time`). */
  timeMs: number;
  progress: Progress;
  /** Restrict to tasks whose name contains this. */
  filter?: string;
}

/** Sink for results, so no task body is dead code. */
let sink: unknown;

interface TaskDef {
  group: MicroResult['group'];
  name: string;
  config?: string;
  fn: () => unknown;
  afterEach?: () => void;
  /** For tasks with untimed per-iteration work (e.g. an umount): a fixed count instead of a time. */
  iterations?: number;
}

/**
 * Calls faster than this are timed in batches, so that a sample is never mostly timer overhead
 * and a task yields thousands of samples, not millions.
 */
const MIN_SAMPLE_MS = 0.05;

/** How many calls one sample should make: 1, or enough to last MIN_SAMPLE_MS once warm. */
function batchSize(fn: () => unknown): number {
  const callsIn = (ms: number) => {
    const t0 = performance.now();
    let calls = 0;
    while (performance.now() - t0 < ms || calls < 3) {
      sink = fn();
      calls++;
    }
    return (performance.now() - t0) / calls;
  };
  callsIn(10); // warm: the JIT settles first
  const perCall = callsIn(10);
  return perCall >= MIN_SAMPLE_MS ? 1 : Math.ceil(MIN_SAMPLE_MS / perCall);
}

async function runTasks(defs: TaskDef[], options: MicroOptions): Promise<MicroResult[]> {
  const results: MicroResult[] = [];
  for (const def of defs) {
    await checkpoint();
    options.progress.note(`micro: ${def.name}`);
    const bench = def.iterations
      ? new Bench({ time: 0, iterations: def.iterations, warmupTime: 0, warmupIterations: Math.min(5, def.iterations), throws: true })
      : new Bench({ time: options.timeMs, iterations: 10, warmupTime: Math.min(100, options.timeMs), warmupIterations: 5, throws: true });
    const batch = def.iterations ? 1 : batchSize(def.fn);
    bench.add(def.name, batch === 1
      ? () => {
        sink = def.fn();
        return sink;
      }
      : () => {
        for (let i = 0; i < batch; i++) sink = def.fn();
      }, def.afterEach ? { afterEach: def.afterEach } : undefined);
    const [task] = bench.runSync() as Task[];
    const r = task?.result;
    if (!r || r.error) throw new Error(`micro ${def.name}: ${r?.error?.message ?? 'no result'}`);
    const samples = batch === 1 ? r.latency.samples : r.latency.samples.map((x) => x / batch);
    const s = summarize(samples);
    results.push({
      group: def.group,
      name: def.name,
      ...(def.config ? { config: def.config } : {}),
      batch,
      n: s.n,
      meanMs: s.mean,
      p50Ms: s.p50,
      p99Ms: s.p99,
      minMs: s.min,
      maxMs: s.max,
      opsPerSec: 1000 / s.mean,
      samplesMs: samples.map((x) => Number(x.toPrecision(4))),
    });
    options.progress.step(`micro: ${def.name}`);
  }
  return results;
}

function filesystemOf(path: string): string {
  const out = spawnSync('stat', ['-f', '-c', '%T', path], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : 'unknown';
}

/** How many tasks runMicro will report (for the progress bar). */
export function microTaskCount(): number {
  return 1 + 3 * 2 + 3 * (PASSES.length + 1) + 4 + 5;
}

export async function runMicro(options: MicroOptions): Promise<MicroReport> {
  const profileDir = join(repoRoot, 'profiles');
  const source = directorySource(profileDir);
  const profile = loadProfile(source, 'baseline');
  const configs = benchConfigs();
  const skipped: string[] = [];
  const chains: MicroChainFacts[] = [];
  const defs: TaskDef[] = [];

  defs.push({ group: 'profile', name: 'loadProfile baseline (YAML + schema + extends + seccomp filter)', fn: () => loadProfile(source, 'baseline') });

  for (const c of configs) {
    const parsed = parseJson(c.text);
    defs.push({ group: 'config', name: `parseJson (${c.key})`, config: c.key, fn: () => parseJson(c.text) });
    defs.push({ group: 'config', name: `specProblems schema check (${c.key})`, config: c.key, fn: () => specProblems(parsed) });
  }

  for (const c of configs) {
    const spec = parseJson(c.text) as unknown as Spec;
    const host = benchHost(spec);
    // Walk the chain once to get each pass's real input.
    let current = spec;
    for (const [rule, pass] of PASSES) {
      if (profile.rules[rule].action === 'off') continue;
      const input = current;
      defs.push({ group: 'pass', name: `${rule} (${c.key})`, config: c.key, fn: () => pass(input, profile, host) });
      current = pass(input, profile, host).spec;
    }
    defs.push({ group: 'chain', name: `harden: whole chain + output schema check (${c.key})`, config: c.key, fn: () => harden(spec, profile, host) });
    const result = harden(spec, profile, host);
    chains.push({
      config: c.key,
      description: c.description,
      bytes: Buffer.byteLength(c.text),
      mounts: spec.mounts?.length ?? 0,
      env: spec.process?.env?.length ?? 0,
      decision: result.decision,
      findings: result.findings.length,
    });
  }

  // I/O: the atomic write (temp + fsync + rename + dir fsync), serialisation, a full bundle read.
  const work = mkdtempSync(join(tmpdir(), 'bulwark-bench-micro-'));
  const tmpFs = filesystemOf(work);
  const cleanups: Array<() => void> = [];
  try {
    const cri = configs.find((c) => c.key === 'cri')!;
    const criSpec = parseJson(cri.text) as unknown as Spec;
    const hardened = harden(criSpec, profile, benchHost(criSpec)).spec;
    const hardenedText = stringifyJson(hardened) + '\n';
    defs.push({ group: 'io', name: 'stringifyJson hardened config (cri)', config: 'cri', fn: () => stringifyJson(hardened) });
    // Where containerd keeps bundles (/run, a tmpfs on a node) and on a disk, where fsync costs.
    const writeDirs = [work];
    if (filesystemOf('/var/tmp') !== tmpFs) {
      const disk = mkdtempSync('/var/tmp/bulwark-bench-micro-');
      cleanups.push(() => rmSync(disk, { recursive: true, force: true }));
      writeDirs.push(disk);
    }
    for (const dir of writeDirs) {
      const target = join(dir, 'config.json');
      defs.push({ group: 'io', name: `writeFileAtomic hardened config (cri, ${hardenedText.length} B, ${filesystemOf(dir)} ${dir.slice(0, dir.lastIndexOf('/')) || '/'})`, config: 'cri', fn: () => writeFileAtomic(target, hardenedText, 0o600) });
    }
    const bundle = join(work, 'bundle');
    mkdirSync(join(bundle, 'rootfs'), { recursive: true });
    writeFileSync(join(bundle, 'config.json'), cri.text);
    defs.push({ group: 'io', name: 'loadConfig bundle: O_NOFOLLOW read + parse + schema (cri)', config: 'cri', fn: () => loadBundle(bundle) });

    addNativeTasks(defs, work, criSpec, skipped, cleanups);
    const selected = defs.filter((d) => matchesFilter(d.name, options.filter));
    options.progress.addTotal(selected.length - microTaskCount());
    const results = await runTasks(selected, options);
    void sink;
    return { timePerTaskMs: options.timeMs, results, chains, skipped, tmpFs };
  } finally {
    for (const cleanup of cleanups) cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Native addon calls; idmapMount mounts only onto our own temp directory and unmounts it. */
function addNativeTasks(defs: TaskDef[], work: string, criSpec: Spec, skipped: string[], cleanups: Array<() => void>): void {
  let native: NativeAddon;
  try {
    native = loadNative();
  } catch (err) {
    skipped.push(`native addon: ${(err as Error).message}`);
    return;
  }
  defs.push({ group: 'native', name: 'cgroupMode', fn: () => native.cgroupMode() });
  defs.push({ group: 'native', name: 'namespaceId /proc/self/ns/net', fn: () => native.namespaceId('/proc/self/ns/net') });
  defs.push({
    group: 'native',
    name: 'probeHost: all host facts for the cri config (real probes)',
    config: 'cri',
    fn: () => probeHost(native, criSpec, { idAllocation: null, idPool: null, otherAllocations: [], podUserNamespace: null }),
  });
  if (process.getuid?.() !== 0) {
    skipped.push('createUserNamespace, idmapMount: need root');
    return;
  }
  const map = [{ containerID: 0, hostID: 2 ** 31, size: 65536 }];
  defs.push({ group: 'native', name: 'createUserNamespace (65536 map) + closeFd', fn: () => native.closeFd(native.createUserNamespace(map, map)) });

  const src = join(work, 'idmap-src');
  const dst = join(work, 'idmap-dst');
  mkdirSync(src);
  mkdirSync(dst);
  writeFileSync(join(src, 'file'), 'x');
  let usernsFd = -1;
  // Only our own mount on our own temp directory is ever unmounted.
  const umountAll = () => {
    while (isMountPoint(dst)) {
      const r = spawnSync('umount', [dst], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`umount ${dst}: ${r.stderr.trim() || `exit ${r.status}`}`);
    }
  };
  cleanups.push(() => {
    try {
      umountAll();
    } finally {
      if (usernsFd >= 0) native.closeFd(usernsFd);
      usernsFd = -1;
    }
  });
  defs.push({
    group: 'native',
    name: 'idmapMount dir onto dir (open_tree + mount_setattr + move_mount; umount untimed)',
    iterations: 60,
    // tinybench calls a task once more, without hooks, to see whether it is async: so unmount
    // first (untimed) and report only the idmapMount call's own duration.
    fn: () => {
      umountAll();
      if (usernsFd < 0) usernsFd = native.createUserNamespace(map, map);
      const t0 = performance.now();
      native.idmapMount(src, dst, usernsFd, false);
      return { overriddenDuration: performance.now() - t0 };
    },
    afterEach: umountAll,
  });
}

/** Whether `path` is a mount point in our mount namespace (field 5 of mountinfo). */
function isMountPoint(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === path);
}
