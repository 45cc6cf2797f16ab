// `ctr run --rm` and `ctr task exec` through a private containerd (integration/containerd/lib.ts:
// its own config, root, state and sockets; never the system one), with the plain runc handler vs
// Bulwark in binary mode (the runc shim with BinaryName = bin/bulwark-runtime, what
// `ctr run --runc-binary` sets) and in shim mode (`--runtime io.containerd.bulwark.v2`), one
// Bulwark arm of each mode per available variant (lib/variants.ts). The arms run interleaved.
//
// One containerd serves the runc arm and the first (cold) variant: it is installed in shim mode,
// which puts containerd-shim-bulwark-v2 on its PATH, and binary mode needs nothing installed for
// ctr. A variant that changes Bulwark's configuration (the warm service) gets its own containerd,
// started the same way with that configuration; the runc arm runs in the first one.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { availability, bulwarkBin, bulwarkRuntime, IMAGE, importImage, startContainerd } from '../integration/containerd/lib.js';
import type { Containerd } from '../integration/containerd/lib.js';
import { armInfo, CGROUP_PARENT, emptySamples, newId, removeCgroups, roundOrder, short, version } from './lib/lab.js';
import type { Arm, Lab } from './lib/lab.js';
import { startService } from './lib/service.js';
import type { RunningService } from './lib/service.js';
import { serviceSocket, variantKey } from './lib/variants.js';
import type { BulwarkVariant } from './lib/variants.js';
import type { LifecycleOptions, ScenarioResult } from './lifecycle-types.js';

const NS = 'bulwark-bench';
const CTR = '/usr/bin/ctr';

interface Instance {
  containerd: Containerd;
  service: RunningService | null;
  fifoDir: string;
  /** Every container id used here: their cgroups are checked again at the end. */
  ids: string[];
}

/** One side of a ctr comparison: which containerd, and the flags that choose the runtime. */
interface CtrArm extends Arm {
  instance: Instance;
  runFlags: string[];
}

export interface ContainerdReport {
  scenarios: ScenarioResult[];
  skipped: string[];
  version: string | null;
}

/** Rounds of the ctr scenarios, for the progress bar: warm-up + rounds of run, rounds of exec. */
export const containerdStepCount = (rounds: number): number => 1 + rounds + 1 + rounds;

const flagText = (flags: string[]): string => flags.map((f) => `${short(f)} `).join('');

function ctrArm(instance: Instance, key: string, label: string, runFlags: string[], env: NodeJS.ProcessEnv): CtrArm {
  return {
    key, label, instance, runFlags, env,
    bin: CTR,
    global: ['--address', instance.containerd.address, '-n', NS],
    command: `ctr run --rm ${flagText(runFlags)}IMAGE ID /bin/true`,
    cleanup: { bin: '/bin/true', global: [] },
  };
}

async function startInstance(lab: Lab, variant: BulwarkVariant, env: NodeJS.ProcessEnv): Promise<Instance | string> {
  const containerd = await startContainerd({ installArgs: ['--mode', 'shim'], env: variant.env });
  const socket = serviceSocket(join(containerd.dir, 'bulwark-state'));
  let service: RunningService | null = null;
  try {
    if (variant.service) {
      const started = await startService(bulwarkBin, variant.service, { ...env, ...variant.env, BULWARK_CONFIG: containerd.bulwarkConfig }, socket, join(containerd.dir, 'service.log'));
      if (typeof started === 'string') {
        await containerd.stop();
        return started;
      }
      service = started;
    }
    await importImage(containerd, NS);
  } catch (err) {
    await service?.stop();
    await containerd.stop();
    throw err;
  }
  const fifoDir = join(containerd.dir, 'fifo');
  mkdirSync(fifoDir, { recursive: true });
  return { containerd, service, fifoDir, ids: [] };
}

/** Stop the service and containerd (which removes what is left of our tasks), then our cgroups. */
async function stopInstance(instance: Instance): Promise<string[]> {
  await instance.service?.stop();
  const left = await instance.containerd.stop();
  for (const id of instance.ids) {
    try {
      removeCgroups(id);
    } catch (err) {
      left.push((err as Error).message);
    }
  }
  return left;
}

function newContainer(arm: CtrArm, scenario: string): string {
  const id = newId(scenario, arm.key);
  arm.instance.containerd.track(NS, id);
  arm.instance.ids.push(id);
  return id;
}

/** One `ctr run --rm` of /bin/true with its own id and cgroup; returns ms. */
function runOnce(lab: Lab, arm: CtrArm, scenario: string): number {
  const id = newContainer(arm, scenario);
  const ms = lab.time(arm, ['run', '--rm', '--fifo-dir', arm.instance.fifoDir, '--cgroup', `/${CGROUP_PARENT}/${id}`, ...arm.runFlags, IMAGE, id, '/bin/true']);
  removeCgroups(id);
  return ms;
}

/**
 * The ctr scenarios. `variants` are the Bulwark variants to measure (the first one shares the
 * runc arm's containerd); a variant whose service does not start is skipped with the reason.
 */
export async function containerdScenarios(lab: Lab, options: LifecycleOptions, variants: readonly BulwarkVariant[], env: NodeJS.ProcessEnv, want: (key: string) => boolean): Promise<ContainerdReport> {
  const { progress } = options;
  const rounds = options.ctrSamples;
  if (!want('ctr-run') && !want('ctr-exec')) return { scenarios: [], skipped: [], version: null };
  const why = availability();
  if (why) return { scenarios: [], skipped: [`ctr-run, ctr-exec: ${why}`], version: null };
  const skipped: string[] = [];
  const scenarios: ScenarioResult[] = [];
  const instances: Instance[] = [];
  const execContainers: Array<{ arm: CtrArm; id: string }> = [];
  try {
    const arms: CtrArm[] = [];
    for (const variant of variants) {
      progress.note(`ctr: starting a private containerd${variant.label}`);
      const instance = await startInstance(lab, variant, env);
      if (typeof instance === 'string') {
        skipped.push(`ctr-run, ctr-exec, Bulwark${variant.label}: ${instance}`);
        continue;
      }
      instances.push(instance);
      if (arms.length === 0) arms.push(ctrArm(instance, 'runc', 'runc handler (io.containerd.runc.v2)', [], env));
      arms.push(ctrArm(instance, variantKey('bulwark', variant), `Bulwark, binary mode${variant.label}`, ['--runc-binary', bulwarkRuntime], env));
      arms.push(ctrArm(instance, variantKey('bulwark-shim', variant), `Bulwark, shim mode${variant.label}`, ['--runtime', 'io.containerd.bulwark.v2'], env));
    }
    if (arms.length === 0) return { scenarios, skipped, version: version('/usr/bin/containerd') };

    const notes = [
      `A private containerd (${version('/usr/bin/containerd')}), overlayfs snapshotter, the offline busybox image of the integration tests; every container gets its own id and cgroup /bulwark-bench/<id>. Timed: the whole ctr client process (ctr start-up, container and snapshot, shim start, runtime create/start/delete, exit, cleanup).`,
      'Binary mode is `ctr run --runc-binary bin/bulwark-runtime` (the runc shim with BinaryName, as `bulwark install containerd --mode binary` sets it for CRI); shim mode is `--runtime io.containerd.bulwark.v2` (bin/containerd-shim-bulwark-v2 on containerd\'s PATH, as `--mode shim` installs it). Per HOST-NOTES, containerd 1.6 makes four runtime calls for a `ctr run --rm`: create (Bulwark\'s engine), start, delete, delete --force (the launcher).',
    ];
    if (instances.length > 1) notes.push('A variant with its own Bulwark configuration (the warm service) runs in its own containerd, started the same way; the runc arm runs in the first.');

    progress.note('ctr-run: warm-up');
    for (const arm of arms) runOnce(lab, arm, 'ctr'); // warm-up: page cache, snapshot, shim binaries
    progress.step('ctr-run: warm-up');
    const runSamples = emptySamples(arms, ['run --rm']);
    const runOrder: string[][] = [];
    for (let round = 0; round < rounds; round++) {
      const ordered = roundOrder(arms, round);
      runOrder.push(ordered.map((a) => a.key));
      for (const arm of ordered) {
        await lab.checkpoint();
        progress.note(`ctr-run: round ${round + 1}/${rounds} ${arm.key}`);
        runSamples[arm.key]!['run --rm']!.push(runOnce(lab, arm, 'ctr'));
      }
      progress.step(`ctr-run: round ${round + 1}/${rounds}`);
    }
    scenarios.push({
      key: 'ctr-run',
      title: '`ctr run --rm` of /bin/true through a private containerd: runc handler vs Bulwark (binary and shim mode)',
      notes,
      baseline: 'runc',
      arms: arms.map(armInfo),
      steps: ['run --rm'],
      headlineStep: 'run --rm',
      samples: runSamples,
      order: runOrder,
    });

    // exec: one long-running container per arm (the image's command, sleep), then `ctr task exec`
    // of /bin/true in it, interleaved: what an exec probe costs through containerd.
    progress.note('ctr-exec: starting one container per arm');
    for (const arm of arms) {
      const id = newContainer(arm, 'ctr-exec');
      lab.time(arm, ['run', '-d', '--fifo-dir', arm.instance.fifoDir, '--cgroup', `/${CGROUP_PARENT}/${id}`, ...arm.runFlags, IMAGE, id]);
      execContainers.push({ arm, id });
    }
    let execSeq = 0;
    const execOnce = (arm: CtrArm, id: string) => lab.time(arm, ['task', 'exec', '--fifo-dir', arm.instance.fifoDir, '--exec-id', `e${++execSeq}`, id, '/bin/true']);
    for (const { arm, id } of execContainers) execOnce(arm, id); // warm-up
    progress.step('ctr-exec: warm-up');
    const execSamples = emptySamples(arms, ['task exec']);
    const execOrder: string[][] = [];
    for (let round = 0; round < rounds; round++) {
      const ordered = roundOrder(execContainers, round);
      execOrder.push(ordered.map((e) => e.arm.key));
      for (const { arm, id } of ordered) {
        await lab.checkpoint();
        progress.note(`ctr-exec: round ${round + 1}/${rounds} ${arm.key}`);
        execSamples[arm.key]!['task exec']!.push(execOnce(arm, id));
      }
      progress.step(`ctr-exec: round ${round + 1}/${rounds}`);
    }
    scenarios.push({
      key: 'ctr-exec',
      title: '`ctr task exec` of /bin/true in a running container through containerd: runc handler vs Bulwark',
      notes: [
        'What an exec probe costs on a node: ctr → containerd → the shim → the runtime\'s `exec --process FILE --detach ...` (in Bulwark: the engine, which re-applies the profile\'s process rules), then the wait for /bin/true to exit. The containers were started by the same arm (`ctr run -d`).',
      ],
      baseline: 'runc',
      arms: arms.map((a) => ({ ...armInfo(a), command: `ctr run -d ${flagText(a.runFlags)}IMAGE ID; ctr task exec --exec-id E ID /bin/true` })),
      steps: ['task exec'],
      headlineStep: 'task exec',
      samples: execSamples,
      order: execOrder,
    });
    return { scenarios, skipped, version: version('/usr/bin/containerd') };
  } finally {
    for (const { arm, id } of execContainers) {
      const rm = (args: string[]) => lab.time(arm, args);
      try {
        rm(['task', 'rm', '-f', id]);
        rm(['container', 'rm', id]);
        removeCgroups(id);
      } catch (err) {
        progress.log(`ctr: cleaning up ${id}: ${(err as Error).message}`);
      }
    }
    for (const instance of instances) {
      const left = await stopInstance(instance);
      if (left.length) progress.log(`ctr: left behind by containerd ${instance.containerd.dir}: ${left.join(', ')}`);
    }
  }
}
