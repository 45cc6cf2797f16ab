// Lifecycle benchmarks: real containers through bare runc / crun and through bin/bulwark-runtime,
// measured side by side in one run. Every scenario runs in rounds; in each round every arm takes
// one sample, and the arms' order changes from round to round (two arms alternate; more get a
// seeded random order), so load drift on a shared machine hits all arms alike. One warm-up round
// per scenario is discarded.
//
// Everything created here is private and removed again: a temp work directory (Bulwark's config,
// state dir and audit log, each runtime's --root, pid files), bundles from the integration
// harness, and one absolute cgroup per container (/bulwark-bench/<id>, removed after each sample).
// A container is only ever force-deleted by the id we gave it, under the --root we gave it.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { makeBundle } from '../integration/lib/bundle.js';
import { hostCgroupMode } from '../integration/lib/cgroups.js';
import { repoRoot } from '../integration/lib/paths.js';
import { crunWrapperPath, findExecutable } from '../integration/lib/runtimes.js';
import { Lab, LAUNCHER, newId, NODE, short, version, withCgroup } from './lib/lab.js';
import type { Arm } from './lib/lab.js';
import { goWrapper, goWrapperUnavailable } from './lib/go-wrapper.js';
import { startService } from './lib/service.js';
import { matchesFilter } from './lib/stats.js';
import type { RunningService } from './lib/service.js';
import { serviceSocket, VARIANTS, variantKey } from './lib/variants.js';
import type { BulwarkVariant } from './lib/variants.js';
import { containerdScenarios, containerdStepCount } from './containerd.js';
import type { LifecycleOptions, LifecycleReport, MemoryResult, ScenarioResult, ServiceMemory } from './lifecycle-types.js';
import { execScenario, hardeningCostScenario, lifecycleScenario, measureMemory, passThroughScenario, simpleScenario } from './scenarios.js';

export type * from './lifecycle-types.js';

/** The environment for Bulwark arms: none of the caller's BULWARK_* settings or Node options. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BULWARK_') && !k.startsWith('NODE_OPTIONS')));
}

const BULWARK_CLI = join(repoRoot, 'bin', 'bulwark');

export function lifecycleStepCount(options: Pick<LifecycleOptions, 'samples' | 'cheapSamples' | 'ctrSamples'>): number {
  const lifecycle = 2 * (options.samples + 1) + options.samples;
  const pt = Math.floor(options.cheapSamples / 10) + options.samples;
  const exec = options.samples;
  const ctr = containerdStepCount(options.ctrSamples);
  const features = options.samples;
  const reference = options.samples;
  return lifecycle + pt + exec + ctr + features + reference + 1;
}

/** How one Bulwark variant is called on one configuration: its config file and environment. */
interface VariantSetup {
  variant: BulwarkVariant;
  config: string;
  env: NodeJS.ProcessEnv;
}

function serviceMemory(pid: number): ServiceMemory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const mib = (field: string) => Math.round((kib(field) / 1024) * 10) / 10;
    return { vmRssMiB: mib('VmRSS'), rssAnonMiB: mib('RssAnon'), rssFileMiB: mib('RssFile') };
  } catch {
    return null;
  }
}

export async function runLifecycle(options: LifecycleOptions): Promise<LifecycleReport> {
  const { progress } = options;
  const skipped: string[] = [];
  const scenarios: ScenarioResult[] = [];
  const want = (key: string) => matchesFilter(key, options.filter);
  const runc = findExecutable('runc');
  const crun = findExecutable('crun');
  const versions: Record<string, string> = {};
  if (!runc) throw new Error('runc is not installed: the lifecycle benchmarks compare against it');
  if (!existsSync(LAUNCHER)) throw new Error(`${LAUNCHER} is missing: run make build`);
  versions.runc = version(runc);
  if (crun) versions.crun = version(crun);
  versions.node = process.version;

  const lab = new Lab();
  const services: RunningService[] = [];
  const unavailable = new Set<BulwarkVariant>();
  try {
    const env = cleanEnv();
    const writeConfig = (name: string, extra: string, stateName = name) => {
      const file = join(lab.work, `${name}.yaml`);
      writeFileSync(file, `stateDir: ${join(lab.work, `state-${stateName}`)}\nauditLog: ${join(lab.work, `audit-${stateName}.jsonl`)}\n${extra}`);
      return file;
    };
    const runcConfig = writeConfig('runc', '');
    // Every variant of one configuration shares its state directory (records, ID blocks), as on
    // one node with or without the service. A variant's service starts at first use; one that
    // does not start is skipped everywhere, with the reason.
    const setups = new Map<string, VariantSetup[]>();
    const variantSetups = async (name: string, extra: string): Promise<VariantSetup[]> => {
      const known = setups.get(name);
      if (known) return known;
      const list: VariantSetup[] = [];
      for (const variant of options.variants ?? VARIANTS) {
        if (unavailable.has(variant)) continue;
        const socket = serviceSocket(join(lab.work, `state-${name}`));
        const config = variant.suffix === '' ? join(lab.work, `${name}.yaml`) : writeConfig(`${name}${variant.suffix}`, extra, name);
        const armEnv = { ...env, ...variant.env, BULWARK_CONFIG: config };
        if (variant.service) {
          progress.note(`starting the policy service${variant.label}`);
          const started = await startService(BULWARK_CLI, variant.service, armEnv, socket, join(lab.work, `svc-${name}${variant.suffix}.log`));
          if (typeof started === 'string') {
            unavailable.add(variant);
            skipped.push(`Bulwark${variant.label}: ${started}`);
            continue;
          }
          services.push(started);
        }
        list.push({ variant, config, env: armEnv });
      }
      setups.set(name, list);
      return list;
    };
    /** One Bulwark arm per available variant of config `name` (written before, without variant lines). */
    const bulwarkArms = async (name: string, rootName: string, cleanupBin: string, label: string, extra = ''): Promise<Arm[]> =>
      (await variantSetups(name, extra)).map(({ variant, config, env: armEnv }) => ({
        key: variantKey('bulwark', variant), label: `${label}${variant.label}`, bin: LAUNCHER, global: ['--root', root(rootName)], env: armEnv,
        command: `bin/bulwark-runtime --root R (BULWARK_CONFIG=${basename(config)}${variant.service ? `; bin/bulwark ${variant.service.join(' ')}` : ''})`,
        cleanup: { bin: cleanupBin, global: ['--root', root(rootName)] },
      }));
    const root = (name: string) => join(lab.work, `root-${name}`);
    const bareRunc = (name: string, label = 'runc'): Arm => ({
      key: 'runc', label, bin: runc, global: ['--root', root(name)], env,
      command: `runc --root R`, cleanup: { bin: runc, global: ['--root', root(name)] },
    });
    const bulwarkOn = (name: string, config: string, cleanupBin: string, label: string): Arm => ({
      key: 'bulwark', label, bin: LAUNCHER, global: ['--root', root(name)], env: { ...env, BULWARK_CONFIG: config },
      command: `bin/bulwark-runtime --root R (BULWARK_CONFIG=${basename(config)})`, cleanup: { bin: cleanupBin, global: ['--root', root(name)] },
    });

    // Find out now which variants work here (a service that does not start is skipped, with the
    // reason, before any containerd is configured for it).
    await variantSetups('runc', '');

    if (want('lifecycle-runc')) {
      // A reference Go wrapper (no policy) next to Bulwark: what users compare runtime wrappers with.
      const references: Arm[] = [];
      const noGo = goWrapperUnavailable();
      if (noGo) {
        skipped.push(`lifecycle-runc, Go wrapper (reference): ${noGo}`);
      } else {
        progress.note('building the reference Go wrapper');
        references.push({
          key: 'go-wrapper', label: 'Go wrapper → runc (reference, no policy)', bin: await goWrapper(), global: ['--root', root('lc-runc')],
          env: { ...env, BENCH_GO_WRAPPER_RUNTIME: runc }, command: 'bench/go-wrapper --root R: decode config.json into the runtime-spec Go types, add an env var, encode, rename, exec runc',
          cleanup: { bin: runc, global: ['--root', root('lc-runc')] },
        });
      }
      scenarios.push(await lifecycleScenario(
        lab, options, 'lifecycle-runc',
        'create + start + delete of a busybox /bin/true container on runc',
        [
          '`total` = create + start + delete (the runtime calls); `start→exit` is the container running /bin/true, not part of the total.',
          '`runc, hardened config` is bare runc given the config.json Bulwark wrote: Bulwark − it = the tool\'s own cost; it − runc = the cost of the hardening itself (user namespace, seccomp filter, masked paths).',
          '`Go wrapper → runc` is a reference, not Bulwark: bench/go-wrapper/main.go has the shape of a Go runtime wrapper such as nvidia-container-runtime (on `create`: decode config.json into the runtime-spec\'s Go types, add one environment variable, encode it, write it through a rename, exec runc; anything else: exec runc) and no policy. Its overhead is what a Go process start and a config rewrite cost, the floor for that kind of tool.',
        ],
        bareRunc('lc-runc'),
        await bulwarkArms('runc', 'lc-runc', runc, 'Bulwark → runc'),
        { ...bareRunc('lc-runc-hard', 'runc, hardened config'), key: 'runc-hardened' },
        references,
      ));
    }

    if (want('hardening-cost')) {
      scenarios.push(await hardeningCostScenario(lab, options, bareRunc('hc'), bulwarkOn('hc', runcConfig, runc, 'Bulwark → runc')));
    }

    if (want('lifecycle-crun')) {
      const unshare = findExecutable('unshare');
      if (!crun || !unshare) {
        skipped.push(`lifecycle-crun: ${!crun ? 'crun' : 'unshare'} is not installed`);
      } else {
        const mode = hostCgroupMode();
        const direct = mode !== 'hybrid';
        const crunBin = direct ? crun : crunWrapperPath(crun, unshare);
        const crunExtra = `defaultRuntime: crun\nruntimes:\n  crun:\n    paths: [${crunBin}]\n`;
        writeConfig('crun', crunExtra);
        const bareCrun = (name: string, label: string, key: string): Arm => ({
          key, label, bin: crunBin, global: ['--root', root(name)], env,
          command: `${direct ? 'crun' : short(crunBin)} --root R`, cleanup: { bin: crunBin, global: ['--root', root(name)] },
        });
        const notes = [
          '`total` = create + start + delete; `start→exit` is not part of it.',
          direct
            ? 'crun called directly.'
            : `This host is a cgroup v1/v2 hybrid, which crun 1.8.1 refuses; every crun call (bare and from Bulwark alike) goes through the integration harness's wrapper ${short(crunBin)}: \`unshare --mount\` + \`sh\` + a tmpfs over /sys/fs/cgroup/unified, then exec crun. That adds a few ms to every call on both sides, so crun looks slower here than on a pure v1 or v2 host, and the Bulwark/crun ratio is pulled towards 1.`,
        ];
        scenarios.push(await lifecycleScenario(
          lab, options, 'lifecycle-crun', 'create + start + delete of a busybox /bin/true container on crun', notes,
          bareCrun('lc-crun', direct ? 'crun' : 'crun (hybrid-host wrapper)', 'crun'),
          await bulwarkArms('crun', 'lc-crun', crunBin, 'Bulwark → crun', crunExtra),
          bareCrun('lc-crun-hard', 'crun, hardened config', 'crun-hardened'),
        ));
      }
    }

    if (want('passthrough')) {
      // BENCH_EXTRA_LAUNCHER: another build of the launcher, measured next to bin/bulwark-runtime.
      const extra = process.env.BENCH_EXTRA_LAUNCHER;
      const others = extra ? [{ ...bulwarkOn('pt', runcConfig, runc, `launcher ${short(extra)} → runc`), key: 'launcher-extra', bin: extra, command: `${short(extra)} --root R (BENCH_EXTRA_LAUNCHER)` }] : [];
      scenarios.push(await passThroughScenario(lab, options, bareRunc('pt'), bulwarkOn('pt', runcConfig, runc, 'Bulwark launcher → runc'), join(lab.work, 'state-runc'), others));
    }

    if (want('exec')) {
      scenarios.push(await execScenario(lab, options, bareRunc('exec'), await bulwarkArms('runc', 'exec', runc, 'Bulwark → runc')));
    }

    const ctr = await containerdScenarios(lab, options, (options.variants ?? VARIANTS).filter((v) => !unavailable.has(v)), env, want);
    scenarios.push(...ctr.scenarios);
    skipped.push(...ctr.skipped);
    if (ctr.version) versions.containerd = ctr.version;

    if (want('features')) {
      scenarios.push(await simpleScenario(
        lab, options, options.samples, 'features', '`features`: bare runc vs Bulwark',
        ['The launcher routes `features` to the Node engine (it adds Bulwark\'s annotations to runc\'s answer), so this is a cold Node start plus one `runc features`.'],
        [{ arm: bareRunc('features'), args: ['features'] }, { arm: bulwarkOn('features', runcConfig, runc, 'Bulwark → engine → runc'), args: ['features'] }],
        'features',
      ));
    }

    if (want('reference')) {
      const fakeState = join(lab.work, 'state-true');
      mkdirSync(fakeState);
      writeFileSync(join(fakeState, 'default-runtime.argv'), '/bin/true\0');
      // Bulwark's whole create, with /bin/true standing in for runc: the tool's own cost alone.
      const trueConfig = writeConfig('engine-true', 'runtimes:\n  runc:\n    paths: [/bin/true]\n');
      const engineBundle = await makeBundle({ args: ['/bin/true'], label: 'bench-engine' });
      const engineOriginal = readFileSync(join(engineBundle.dir, 'config.json'), 'utf8');
      let engineId = '';
      const plain = (key: string, label: string, bin: string, command: string, extraEnv: NodeJS.ProcessEnv = {}): Arm => ({
        key, label, bin, global: [], env: { ...env, ...extraEnv }, command, cleanup: { bin: '/bin/true', global: [] },
      });
      try {
        scenarios.push(await simpleScenario(
          lab, options, options.samples * 2, 'reference', 'Reference spawns: what the numbers above are made of',
          [
            'Every sample is timed around Node\'s spawnSync, so each includes the fork/exec/wait of the measuring process itself: `/bin/true` is that floor.',
            '`launcher → /bin/true` is bin/bulwark-runtime passing `state x` through to a default runtime record pointing at /bin/true: the launcher\'s own cost.',
            '`node + engine modules` imports the engine, loads the native addon, loads the baseline profile and hardens the CRI config once (bench/cold-import.ts).',
            '`Bulwark create → /bin/true` is a complete Bulwark `create` (launcher, Node, engine, bundle read, hardening, audit log, atomic write, records, ID block) whose low-level runtime is /bin/true: Bulwark\'s own cost with no container.',
          ],
          [
            { arm: plain('true', '/bin/true', '/bin/true', '/bin/true'), args: [] },
            { arm: plain('launcher-true', 'launcher → /bin/true', LAUNCHER, 'bin/bulwark-runtime state x (default runtime /bin/true)', { BULWARK_STATE_DIR: fakeState }), args: ['state', 'x'] },
            { arm: plain('node', 'node -e 0', NODE, 'node -e 0'), args: ['-e', '0'] },
            { arm: plain('node-engine', 'node + engine modules', NODE, 'node dist/bench/cold-import.js'), args: ['--no-warnings', join(repoRoot, 'dist', 'bench', 'cold-import.js')] },
            {
              arm: plain('bulwark-create-true', 'Bulwark create → /bin/true', LAUNCHER, 'bin/bulwark-runtime --root R create --bundle B ID (runtimes.runc.paths: [/bin/true])', { BULWARK_CONFIG: trueConfig }),
              before: () => {
                engineId = newId('ref', 'engine');
                writeFileSync(join(engineBundle.dir, 'config.json'), withCgroup(engineOriginal, engineId));
                rmSync(join(engineBundle.dir, 'config.json.orig'), { force: true });
              },
              args: () => ['--root', root('engine-true'), 'create', '--bundle', engineBundle.dir, engineId],
              cwd: engineBundle.dir,
            },
          ],
          'spawn',
        ));
      } finally {
        engineBundle.destroy();
      }
    }

    let memory: MemoryResult = { createPeakRssMiB: {}, warmEngine: null, coldPhases: {}, coldTotalMs: [], services: [], notes: ['not measured (filtered out)'] };
    if (want('memory')) {
      progress.note('memory and cold start: peak RSS of create, cold-import phases');
      memory = await measureMemory(lab, bareRunc('rss'), bulwarkOn('rss', runcConfig, runc, 'Bulwark → runc'), 3);
      progress.step('memory');
    }
    // After every arm: each service has served all its creates and execs by now.
    memory.services = services.map((s) => serviceMemory(s.pid)).filter((m): m is ServiceMemory => m !== null);

    return {
      scenarios,
      memory,
      skipped,
      notMeasured: [],
      versions,
    };
  } finally {
    for (const service of services) await service.stop();
    lab.cleanupAll();
  }
}

