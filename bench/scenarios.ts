// The lifecycle scenarios. Each runs in rounds; every arm takes one sample per round, in an order
// that changes from round to round (lib/lab.ts roundOrder), after one discarded warm-up. Containers get a fresh id (and
// cgroup /bulwark-bench/<id>) per sample and are deleted, cgroups removed, before the next.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makeBundle } from '../integration/lib/bundle.js';
import type { Bundle } from '../integration/lib/bundle.js';
import { repoRoot } from '../integration/lib/paths.js';
import { parseJson, stringifyJson } from '../src/json/lossless.js';
import type { Spec } from '../src/spec/index.js';
import { readRecord, recordDir, writeRecord } from '../src/runtime/records.js';
import { armInfo, emptySamples, Lab, newId, NODE, readPid, removeCgroups, roundOrder, waitExit, withCgroup, withOwnRootfs } from './lib/lab.js';
import type { Arm } from './lib/lab.js';
import type { ColdImport, LifecycleOptions, MemoryResult, ScenarioResult } from './lifecycle-types.js';

interface Sample {
  [step: string]: number;
}

/** One create + start + (wait for exit) + delete of a `/bin/true` container. */
function lifecycleSample(lab: Lab, arm: Arm, bundle: Bundle, configText: string, scenario: string): Sample {
  const id = newId(scenario, arm.key);
  writeFileSync(join(bundle.dir, 'config.json'), withCgroup(configText, id));
  rmSync(join(bundle.dir, 'config.json.orig'), { force: true }); // a fresh bundle, as containerd hands over
  const pidFile = join(lab.work, 'pids', id);
  lab.track(id, arm);
  try {
    const create = lab.time(arm, ['create', '--bundle', bundle.dir, '--pid-file', pidFile, id], bundle.dir);
    const start = lab.time(arm, ['start', id], bundle.dir);
    const exit = waitExit(readPid(pidFile));
    const del = lab.time(arm, ['delete', id], bundle.dir);
    lab.untrack(id);
    removeCgroups(id);
    return { create, start, 'start→exit': exit, delete: del, total: create + start + del };
  } finally {
    lab.forceDelete(id); // no-op after a clean delete; removes what a failure left
    rmSync(pidFile, { force: true });
  }
}

/**
 * Bare runtime vs Bulwark on it (one arm per Bulwark variant; the first one's hardened config is
 * the one the third arm uses) vs the bare runtime given Bulwark's hardened config, plus any
 * reference arms (other wrappers), which are given the bundle's plain config like the bare one.
 */
export async function lifecycleScenario(
  lab: Lab, options: LifecycleOptions, key: string, title: string, notes: string[],
  bare: Arm, bulwarkArms: readonly Arm[], hardenedArm: Arm, references: readonly Arm[] = [],
): Promise<ScenarioResult> {
  const { progress } = options;
  const bundles = new Map<string, Bundle>();
  const bulwark = bulwarkArms[0]!;
  try {
    for (const arm of [bare, ...bulwarkArms, hardenedArm, ...references]) bundles.set(arm.key, await makeBundle({ args: ['/bin/true'], label: `bench-${key}-${arm.key}` }));
    const original = readFileSync(join(bundles.get(bare.key)!.dir, 'config.json'), 'utf8');
    // Warm-up (discarded): page cache, Node's compile cache; it also yields Bulwark's hardened config.
    progress.note(`${key}: warm-up`);
    lifecycleSample(lab, bulwark, bundles.get(bulwark.key)!, original, key);
    const own = withOwnRootfs(readFileSync(join(bundles.get(bulwark.key)!.dir, 'config.json'), 'utf8'));
    const hardened = own.text;
    if (own.changed) notes = [...notes, `\`${hardenedArm.label}\` uses Bulwark's config with root.path set back to the bundle's own rootfs: Bulwark's idmapped view of the rootfs belongs to the container it was mounted for (mounting it is part of Bulwark's own cost).`];
    lifecycleSample(lab, bare, bundles.get(bare.key)!, original, key);
    for (const arm of bulwarkArms.slice(1)) lifecycleSample(lab, arm, bundles.get(arm.key)!, original, key);
    lifecycleSample(lab, hardenedArm, bundles.get(hardenedArm.key)!, hardened, key);
    for (const arm of references) lifecycleSample(lab, arm, bundles.get(arm.key)!, original, key);
    progress.step(`${key}: warm-up`);

    const arms = [bare, ...bulwarkArms, hardenedArm, ...references];
    const steps = ['create', 'start', 'start→exit', 'delete', 'total'];
    const samples = emptySamples(arms, steps);
    const order: string[][] = [];
    for (let round = 0; round < options.samples; round++) {
      const ordered = roundOrder(arms, round);
      order.push(ordered.map((a) => a.key));
      for (const arm of ordered) {
        await lab.checkpoint();
        progress.note(`${key}: round ${round + 1}/${options.samples} ${arm.key}`);
        const s = lifecycleSample(lab, arm, bundles.get(arm.key)!, arm === hardenedArm ? hardened : original, key);
        for (const step of steps) samples[arm.key]![step]!.push(s[step]!);
      }
      progress.step(`${key}: round ${round + 1}/${options.samples}`);
    }
    return { key, title, notes, baseline: bare.key, arms: arms.map(armInfo), steps, headlineStep: 'total', samples, order };
  } finally {
    for (const b of bundles.values()) b.destroy();
  }
}

/**
 * Pass-through subcommands, bare runc vs the launcher, on containers that have a Bulwark record
 * (so the launcher takes its production path: record lookup, then exec of the recorded runtime).
 * `state` of a container Bulwark created; `--version`; `kill <id> KILL` of a created container,
 * then `delete` once it is gone. The kill/delete containers are consumed one per sample; to keep
 * them cheap they are created by bare runc from the config Bulwark hardened, with a copy of the
 * record Bulwark wrote (the engine's own writeRecord), which is all the launcher reads.
 * `others` are more launchers to compare on the same calls (e.g. another build of it).
 */
export async function passThroughScenario(lab: Lab, options: LifecycleOptions, bare: Arm, bulwark: Arm, stateDir: string, others: readonly Arm[] = []): Promise<ScenarioResult> {
  const { progress } = options;
  const key = 'passthrough';
  const targetBundle = await makeBundle({ args: ['/bin/true'], label: 'bench-pt' });
  const killBundle = await makeBundle({ args: ['/bin/true'], label: 'bench-pt-kill' });
  const arms = [bare, bulwark, ...others];
  const steps = ['state', 'kill', 'delete', '--version'];
  const samples = emptySamples(arms, steps);
  const order: string[][] = [];
  const root = bare.global[bare.global.indexOf('--root') + 1];
  const targetId = newId(key, 'target');
  const killRounds = options.samples * 3;
  try {
    writeFileSync(join(targetBundle.dir, 'config.json'), withCgroup(readFileSync(join(targetBundle.dir, 'config.json'), 'utf8'), targetId));
    lab.track(targetId, bulwark);
    lab.time(bulwark, ['create', '--bundle', targetBundle.dir, '--pid-file', join(lab.work, 'pids', targetId), targetId], targetBundle.dir);
    const hardened = withOwnRootfs(readFileSync(join(targetBundle.dir, 'config.json'), 'utf8')).text;
    const record = readRecord(stateDir, root, targetId);
    if (!record) throw new Error(`no Bulwark record for ${targetId} in ${stateDir}`);

    const noRoot = (arm: Arm): Arm => ({ ...arm, global: [] });
    for (const arm of arms) {
      lab.time(arm, ['state', targetId]); // warm-up
      lab.time(noRoot(arm), ['--version']);
    }
    for (let round = 0; round < options.cheapSamples; round++) {
      const ordered = roundOrder(arms, round);
      order.push(ordered.map((a) => a.key));
      await lab.checkpoint();
      for (const arm of ordered) samples[arm.key]!.state!.push(lab.time(arm, ['state', targetId]));
      for (const arm of ordered) samples[arm.key]!['--version']!.push(lab.time(noRoot(arm), ['--version']));
      if (round % 10 === 9) progress.step(`${key}: state/--version ${round + 1}/${options.cheapSamples}`);
    }
    for (let round = 0; round < killRounds; round++) {
      for (const arm of roundOrder(arms, round)) {
        await lab.checkpoint();
        progress.note(`${key}: kill/delete ${round + 1}/${killRounds} ${arm.key}`);
        const id = newId(key, 'k');
        const pidFile = join(lab.work, 'pids', id);
        writeFileSync(join(killBundle.dir, 'config.json'), withCgroup(hardened, id));
        lab.track(id, bare);
        try {
          lab.time(bare, ['create', '--bundle', killBundle.dir, '--pid-file', pidFile, id], killBundle.dir);
          writeRecord(stateDir, root, { ...record, id, bundle: killBundle.dir, createdAt: new Date().toISOString() }, pidFile, killBundle.dir);
          const pid = readPid(pidFile);
          samples[arm.key]!.kill!.push(lab.time(arm, ['kill', id, 'KILL']));
          waitExit(pid);
          samples[arm.key]!.delete!.push(lab.time(arm, ['delete', id]));
          lab.untrack(id);
          removeCgroups(id);
        } finally {
          lab.forceDelete(id);
          rmSync(pidFile, { force: true });
          rmSync(recordDir(stateDir, root, id), { recursive: true, force: true });
        }
      }
      if (round % 3 === 2) progress.step(`${key}: kill/delete ${round + 1}/${killRounds}`);
    }
    return {
      key,
      title: 'Pass-through subcommands: bare runc vs the launcher (bin/bulwark-runtime → runc)',
      notes: [
        `state and --version: ${options.cheapSamples} rounds; kill (KILL to a created container) and delete (of the stopped container): ${killRounds} rounds.`,
        '`state` targets a container Bulwark created; the kill/delete containers were created by runc from Bulwark\'s hardened config with a copy of Bulwark\'s record, so the launcher does exactly what it does in production (record lookup, exec). `start` is pass-through too (see the lifecycle rows).',
      ],
      baseline: bare.key,
      arms: arms.map(armInfo),
      steps,
      headlineStep: 'state',
      samples,
      order,
    };
  } finally {
    lab.forceDelete(targetId);
    targetBundle.destroy();
    killBundle.destroy();
  }
}

/**
 * `exec` of /bin/true in a running container (what an exec probe does), bare vs Bulwark (one arm
 * per variant; they share the state directory, so every arm finds the record of the container
 * the first one created).
 */
export async function execScenario(lab: Lab, options: LifecycleOptions, bare: Arm, bulwarkArms: readonly Arm[]): Promise<ScenarioResult> {
  const { progress } = options;
  const key = 'exec';
  const bundle = await makeBundle({ args: ['/bin/sleep', '3600'], label: 'bench-exec' });
  const id = bundle.id;
  writeFileSync(join(bundle.dir, 'config.json'), withCgroup(readFileSync(join(bundle.dir, 'config.json'), 'utf8'), id));
  // containerd builds the --process file from its own (unhardened) copy of the spec.
  const original = parseJson(readFileSync(join(bundle.dir, 'config.json'), 'utf8')) as unknown as Spec;
  const processText = stringifyJson({ ...original.process!, args: ['/bin/true'], terminal: false }) + '\n';
  const processFile = join(lab.work, 'exec-process.json');
  const bulwark = bulwarkArms[0]!;
  const arms = [bare, ...bulwarkArms];
  const steps = ['exec'];
  const samples = emptySamples(arms, steps);
  const order: string[][] = [];
  try {
    lab.track(id, bulwark);
    lab.time(bulwark, ['create', '--bundle', bundle.dir, '--pid-file', join(lab.work, 'pids', id), id], bundle.dir);
    lab.time(bulwark, ['start', id], bundle.dir);
    const execOnce = (arm: Arm) => {
      writeFileSync(processFile, processText, { mode: 0o600 }); // Bulwark may rewrite it: fresh each time
      return lab.time(arm, ['exec', '--process', processFile, id], bundle.dir);
    };
    for (const arm of arms) execOnce(arm); // warm-up
    for (let round = 0; round < options.samples; round++) {
      const ordered = roundOrder(arms, round);
      order.push(ordered.map((a) => a.key));
      for (const arm of ordered) {
        await lab.checkpoint();
        progress.note(`${key}: round ${round + 1}/${options.samples} ${arm.key}`);
        samples[arm.key]!.exec!.push(execOnce(arm));
      }
      progress.step(`${key}: round ${round + 1}/${options.samples}`);
    }
    return {
      key,
      title: 'exec of /bin/true in a running container: bare runc vs Bulwark',
      notes: ['`exec --process FILE ID` as containerd calls it (the process file built from the unhardened spec, rewritten fresh before every sample); not detached, so each sample includes /bin/true running to completion.'],
      baseline: bare.key,
      arms: arms.map(armInfo),
      steps,
      headlineStep: 'exec',
      samples,
      order,
    };
  } finally {
    lab.forceDelete(id);
    bundle.destroy();
  }
}

export interface SimpleArm {
  arm: Arm;
  /** Arguments of each call (a function when every call needs its own, e.g. a fresh id). */
  args: string[] | (() => string[]);
  /** Untimed preparation before each call. */
  before?: () => void;
  cwd?: string;
}

/** Commands without running containers: features, and reference spawns that explain the numbers. */
export async function simpleScenario(
  lab: Lab, options: LifecycleOptions, rounds: number, key: string, title: string, notes: string[],
  arms: SimpleArm[], step: string,
): Promise<ScenarioResult> {
  const infos = arms.map(({ arm }) => armInfo(arm));
  const samples = emptySamples(infos, [step]);
  const order: string[][] = [];
  const once = ({ arm, args, before, cwd }: SimpleArm) => {
    before?.();
    return lab.time(arm, typeof args === 'function' ? args() : args, cwd);
  };
  for (const a of arms) once(a); // warm-up
  for (let round = 0; round < rounds; round++) {
    const ordered = roundOrder(arms, round);
    order.push(ordered.map((a) => a.arm.key));
    await lab.checkpoint();
    for (const a of ordered) samples[a.arm.key]![step]!.push(once(a));
    if (rounds <= options.samples || round % 2 === 1) options.progress.step(`${key}: round ${round + 1}/${rounds}`);
  }
  return { key, title, notes, baseline: infos[0]!.key, arms: infos, steps: [step], headlineStep: step, samples, order };
}

/** Peak RSS of whole `create` processes (GNU time's %M), and of a Node process holding the engine warm. */
export async function measureMemory(lab: Lab, bare: Arm, bulwark: Arm, rounds: number): Promise<MemoryResult> {
  const notes: string[] = [];
  const createPeakRssMiB: Record<string, number[]> = {};
  const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  if (!gnuTime) notes.push('peak RSS of create: not measured (/usr/bin/time, GNU time, is not installed)');
  if (gnuTime) {
    const bundle = await makeBundle({ args: ['/bin/true'], label: 'bench-rss' });
    const original = readFileSync(join(bundle.dir, 'config.json'), 'utf8');
    try {
      for (let round = 0; round < rounds; round++) {
        for (const arm of [bare, bulwark]) {
          await lab.checkpoint();
          const id = newId('rss', arm.key);
          writeFileSync(join(bundle.dir, 'config.json'), withCgroup(original, id));
          rmSync(join(bundle.dir, 'config.json.orig'), { force: true });
          const out = join(lab.work, 'rss.txt');
          lab.track(id, arm);
          try {
            const timed: Arm = { ...arm, bin: gnuTime, global: ['-f', '%M', '-o', out, arm.bin, ...arm.global] };
            lab.time(timed, ['create', '--bundle', bundle.dir, id], bundle.dir);
            const kib = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
            (createPeakRssMiB[arm.key] ??= []).push(Math.round((kib / 1024) * 10) / 10);
          } finally {
            lab.forceDelete(id);
          }
        }
      }
    } finally {
      bundle.destroy();
    }
  }
  const coldImport = (extra: string[]): ColdImport | null => {
    const r = spawnSync(NODE, ['--no-warnings', join(repoRoot, 'dist', 'bench', 'cold-import.js'), ...extra], { encoding: 'utf8' });
    if (r.status === 0) return JSON.parse(r.stdout.trim()) as ColdImport;
    notes.push(`cold-import.js ${extra.join(' ')} failed: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    return null;
  };
  const coldPhases: Record<string, number[]> = {};
  const coldTotalMs: number[] = [];
  for (let i = 0; i < Math.max(3, rounds); i++) {
    await lab.checkpoint();
    const run = coldImport([]);
    if (!run) break;
    coldTotalMs.push(run.sinceProcessStartMs);
    for (const [phase, ms] of Object.entries(run.phases)) (coldPhases[phase] ??= []).push(ms);
  }
  const warm = coldImport(['--memory']);
  const warmEngine = warm ? { rssAfterFirstMiB: warm.rssAfterFirstMiB, iterations: warm.iterations, rssMiB: warm.rssMiB, heapUsedMiB: warm.heapUsedMiB, maxRssMiB: warm.maxRssMiB } : null;
  return { createPeakRssMiB, warmEngine, coldPhases, coldTotalMs, services: [], notes };
}

/**
 * Where the hardened config's own cost in runc comes from: bare runc with the plain config, with
 * only Bulwark's seccomp filter added, with only its user namespace added, and with the whole
 * hardened config. Whatever Bulwark's engine costs, a `create` with the default profile cannot
 * get cheaper than the last of these.
 */
export async function hardeningCostScenario(lab: Lab, options: LifecycleOptions, runc: Arm, bulwark: Arm): Promise<ScenarioResult> {
  const { progress } = options;
  const key = 'hardening-cost';
  const bundles = new Map<string, Bundle>();
  try {
    const source = await makeBundle({ args: ['/bin/true'], label: 'bench-hc-src' });
    bundles.set('source', source);
    const originalText = readFileSync(join(source.dir, 'config.json'), 'utf8');
    lifecycleSample(lab, bulwark, source, originalText, key); // only to get Bulwark's config
    const hardenedText = withOwnRootfs(readFileSync(join(source.dir, 'config.json'), 'utf8')).text;
    const plain = parseJson(originalText) as unknown as Spec;
    const hardened = parseJson(hardenedText) as unknown as Spec;
    const text = (spec: Spec) => stringifyJson(spec) + '\n';
    const userNs = (hardened.linux?.namespaces ?? []).filter((ns) => ns.type === 'user');
    const variants: Array<{ arm: Arm; text: string }> = [
      { arm: { ...runc, key: 'runc', label: 'runc, plain config' }, text: originalText },
      { arm: { ...runc, key: 'runc-seccomp', label: "+ Bulwark's seccomp filter only" }, text: text({ ...plain, linux: { ...plain.linux, seccomp: hardened.linux?.seccomp } }) },
      {
        arm: { ...runc, key: 'runc-userns', label: "+ Bulwark's user namespace only" },
        text: text({ ...plain, linux: { ...plain.linux, namespaces: [...(plain.linux?.namespaces ?? []), ...userNs], uidMappings: hardened.linux?.uidMappings, gidMappings: hardened.linux?.gidMappings } }),
      },
      { arm: { ...runc, key: 'runc-hardened', label: "Bulwark's whole hardened config" }, text: hardenedText },
    ];
    for (const { arm } of variants) bundles.set(arm.key, await makeBundle({ args: ['/bin/true'], label: `bench-hc-${arm.key}` }));
    for (const { arm, text: t } of variants) lifecycleSample(lab, arm, bundles.get(arm.key)!, t, key); // warm-up
    const arms = variants.map((v) => v.arm);
    const steps = ['create', 'start', 'delete', 'total'];
    const samples = emptySamples(arms, steps);
    const order: string[][] = [];
    for (let round = 0; round < options.samples; round++) {
      const ordered = roundOrder(variants, round);
      order.push(ordered.map((v) => v.arm.key));
      for (const { arm, text: t } of ordered) {
        await lab.checkpoint();
        progress.note(`${key}: round ${round + 1}/${options.samples} ${arm.key}`);
        const s = lifecycleSample(lab, arm, bundles.get(arm.key)!, t, key);
        for (const step of steps) samples[arm.key]![step]!.push(s[step]!);
      }
      progress.step(`${key}: round ${round + 1}/${options.samples}`);
    }
    return {
      key,
      title: "What the hardened config costs runc itself (bare runc, Bulwark's config in parts)",
      notes: [
        "All arms are bare runc; only config.json differs. The seccomp filter (an allowlist for x86_64, i386 and x32) is compiled to BPF by runc's libseccomp at create; the user namespace needs its ID maps written and the mounts set up inside it.",
        'Bulwark cannot make these faster by being faster: they are the price of the hardening, paid inside runc.',
      ],
      baseline: 'runc',
      arms: arms.map(armInfo),
      steps,
      headlineStep: 'create',
      samples,
      order,
    };
  } finally {
    for (const b of bundles.values()) b.destroy();
  }
}
