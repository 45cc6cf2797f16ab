// kill -9 of bin/bulwark-runtime create, at each failpoint (src/runtime/failpoint.ts) and at
// seeded random instants, on real runc. After each kill:
//   - config.json holds either the original bytes or exactly the hardened config an
//     uninterrupted create of the same input produced (in the same fresh state directory);
//   - no temp file is visible as config.json (a complete, never-renamed temp may remain beside
//     it until the next create sweeps it);
//   - runc has no container (or, for a kill after the hand-over, one that delete --force clears,
//     as containerd does after a failed create);
//   - `bulwark gc` with that config succeeds and every state file parses;
//   - the next create of the same id succeeds, is hardened, leaves no temp file, and starts.
// Then fail-closed: an internal error in create (an audit log that cannot be written, a state
// directory on a read-only mount) means no container, the bundle untouched.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import type { Test } from 'tap';
import { parseJson } from '../../src/json/lossless.js';
import type { Spec } from '../../src/spec/index.js';
import { specProblems } from '../../src/spec/index.js';
import { FAILPOINTS } from '../../src/runtime/failpoint.js';
import type { FailpointName } from '../../src/runtime/failpoint.js';
import { makeBundle } from '../lib/index.js';
import type { Bundle } from '../lib/index.js';
import { AssuranceEnv, RUNC, snapshot } from './env.js';
import { writeFigures } from './figures.js';

t.setTimeout(600_000);
const POOL_START = 3_500_000_000;
const RANDOM_KILLS = Number(process.env.BULWARK_RANDOM_KILLS ?? 8);
const SEED = Number(process.env.BULWARK_CRASH_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with BULWARK_CRASH_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Where the config must be after a kill at each point: the original, or the hardened config. */
const EXPECTED: Record<FailpointName, 'original' | 'hardened'> = {
  'ids.after-claim': 'original',
  'config.before-write': 'original',
  'config.before-rename': 'original',
  'config.after-rename': 'hardened',
  'record.after-write': 'hardened',
};

const figures = {
  failpoints: [] as Array<{ point: string; killed: boolean; survived: boolean; configAfterKill: string }>,
  randomKills: [] as Array<{ delayMs: number; killed: boolean; survived: boolean; configAfterKill: string; containerLeft: boolean }>,
  failClosed: [] as Array<{ name: string; refused: boolean }>,
  seed: SEED,
};

const killed = (r: { exitCode: number | undefined; signal: string | undefined }) => r.signal === 'SIGKILL' || r.exitCode === 137;

interface Trial {
  env: AssuranceEnv;
  bundle: Bundle;
  original: Buffer;
  hardened: Buffer;
  referenceMs: number;
}

/** A fresh env and bundle, and the hardened config an uninterrupted create produces there. */
async function prepare(t: Test, label: string): Promise<Trial> {
  const env = new AssuranceEnv({ label, poolStart: POOL_START, poolBlocks: 8 });
  const bundle = await makeBundle({ label, args: ['/bin/true'] });
  t.teardown(async () => {
    await env.dispose();
    bundle.destroy();
  });
  const configPath = join(bundle.dir, 'config.json');
  const original = readFileSync(configPath);
  const begun = Date.now();
  const ref = await env.call(['create', '--bundle', bundle.dir, bundle.id], { cwd: bundle.dir });
  const referenceMs = Date.now() - begun;
  t.equal(ref.exitCode, 0, `reference create: ${ref.stderr.trim()}`);
  const hardened = readFileSync(configPath);
  // Back to the start: container gone, its state collected, the bundle as it came.
  await env.runc(['delete', '--force', bundle.id]);
  const gc = await env.gc();
  t.equal(gc.exitCode, 0, `gc after the reference: ${gc.stderr.trim()}`);
  writeFileSync(configPath, original);
  rmSync(`${configPath}.orig`);
  t.same(env.blockFiles(), [], 'the reference\'s ID block is free again');
  return { env, bundle, original, hardened, referenceMs };
}

/** The checks after a kill; returns what config.json held. */
async function afterKill(t: Test, trial: Trial): Promise<{ config: string; survived: boolean; containerLeft: boolean }> {
  const { env, bundle } = trial;
  const failsBefore = t.counts.fail;
  const configPath = join(bundle.dir, 'config.json');
  const now = readFileSync(configPath);
  const config = now.equals(trial.original) ? 'original' : now.equals(trial.hardened) ? 'hardened' : 'other';
  t.not(config, 'other', `config.json is the original or the complete hardened config (${now.length} bytes)`);
  t.same(specProblems(parseJson(now.toString('utf8'))), [], 'and a valid runtime-spec config');
  const names = readdirSync(bundle.dir);
  t.ok(names.every((n) => ['config.json', 'config.json.orig', 'rootfs'].includes(n) || /^config\.json(\.orig)?\.bulwark-\d+-[0-9a-f]{8}\.tmp$/.test(n)), `only config.json, its original and write temps in the bundle: ${names.join(' ')}`);
  for (const tmp of names.filter((n) => n.endsWith('.tmp'))) {
    const text = readFileSync(join(bundle.dir, tmp));
    t.ok(text.equals(trial.hardened) || text.equals(trial.original), `${tmp} is whole (never renamed)`);
  }
  if (existsSync(`${configPath}.orig`)) t.ok(readFileSync(`${configPath}.orig`).equals(trial.original), 'config.json.orig is the original');
  // A kill after the hand-over hits runc itself: containerd deletes a failed create.
  const containerLeft = env.runcIds().includes(bundle.id);
  if (containerLeft) await env.runc(['delete', '--force', bundle.id]);
  const gc = await env.gc();
  t.equal(gc.exitCode, 0, `bulwark gc succeeds: ${gc.stderr.trim()} ${JSON.stringify(gc.report.problems ?? [])}`);
  for (const dir of env.recordDirs(bundle.id)) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) t.doesNotThrow(() => JSON.parse(readFileSync(join(dir, f), 'utf8')), `${f} parses`);
  }

  const retry = await env.call(['create', '--bundle', bundle.dir, bundle.id], { cwd: bundle.dir });
  t.equal(retry.exitCode, 0, `the next create succeeds: ${retry.stderr.trim()}`);
  const spec = parseJson(readFileSync(configPath, 'utf8')) as unknown as Spec;
  t.ok(spec.process?.noNewPrivileges === true && spec.linux?.seccomp && spec.linux.namespaces?.some((n) => n.type === 'user'), 'and is hardened');
  t.same(readdirSync(bundle.dir).filter((n) => n.endsWith('.tmp')), [], 'no temp file left after it');
  t.ok(readFileSync(`${configPath}.orig`).equals(trial.original), 'config.json.orig is still the true original');
  const start = await env.call(['start', bundle.id]);
  t.equal(start.exitCode, 0, `the container starts: ${start.stderr.trim()}`);
  await env.runc(['delete', '--force', bundle.id]);
  return { config, survived: t.counts.fail === failsBefore, containerLeft };
}

for (const point of FAILPOINTS) {
  t.test(`kill -9 at ${point}`, async (t) => {
    const trial = await prepare(t, `fp-${point.replace(/[^a-z]+/g, '-')}`);
    const r = await trial.env.call(['create', '--bundle', trial.bundle.dir, trial.bundle.id], { cwd: trial.bundle.dir, env: { BULWARK_FAILPOINT: point } });
    t.ok(killed(r), `create died by SIGKILL (${r.signal ?? r.exitCode})`);
    t.same(trial.env.runcIds(), [], 'runc never ran');
    const { config, survived } = await afterKill(t, trial);
    t.equal(config, EXPECTED[point], `config.json after a kill at ${point}: the ${EXPECTED[point]}`);
    if (point === 'ids.after-claim') t.ok(trial.env.blockFiles().length >= 1, 'the orphan block waits for its grace period (allocation.test.ts proves its reclaim)');
    figures.failpoints.push({ point, killed: killed(r), survived: survived && config === EXPECTED[point], configAfterKill: config });
  });
}

t.test(`kill -9 after a random delay, ${RANDOM_KILLS} times (seed ${SEED})`, async (t) => {
  const random = prng(SEED);
  for (let i = 0; i < RANDOM_KILLS; i++) {
    await t.test(`iteration ${i}`, async (t) => {
      const trial = await prepare(t, `rnd${i}`);
      // Mostly in the second half of a create, where the policy runs, the config is written and
      // runc takes over (the first half is Node starting up); the failpoints above cover the
      // exact instants.
      const delayMs = Math.round((0.4 + 0.6 * random()) * trial.referenceMs);
      const r = await trial.env.call(['create', '--bundle', trial.bundle.dir, trial.bundle.id], { cwd: trial.bundle.dir, killAfterMs: delayMs });
      t.comment(`killed after ${delayMs} ms of a ${trial.referenceMs} ms create: ${killed(r) ? 'SIGKILL' : `finished first (exit ${r.exitCode})`}`);
      const { config, survived, containerLeft } = await afterKill(t, trial);
      figures.randomKills.push({ delayMs, killed: killed(r), survived, configAfterKill: config, containerLeft });
    });
  }
});

// ---- fail closed ----

interface FailClosedCase {
  name: string;
  config: (env: AssuranceEnv) => Record<string, unknown>;
  expect: RegExp;
  /** Mount a read-only tmpfs here first (ours, unmounted at the end). */
  readonlyMount?: (env: AssuranceEnv) => string;
}

const FAIL_CLOSED: FailClosedCase[] = [
  {
    name: 'the audit log is a directory',
    config: (env) => (mkdirSync(join(env.dir, 'audit-dir'), { recursive: true }), { auditLog: join(env.dir, 'audit-dir') }),
    expect: /^bulwark: .*(EISDIR|illegal operation on a directory)/,
  },
  {
    name: "the audit log's directory is a file",
    config: (env) => (writeFileSync(join(env.dir, 'not-a-dir'), ''), { auditLog: join(env.dir, 'not-a-dir', 'audit.jsonl') }),
    expect: /^bulwark: .*(ENOTDIR|EEXIST|not a directory)/,
  },
  {
    name: 'the audit log is a symlink',
    config: (env) => {
      const link = join(env.dir, 'audit-link.jsonl');
      writeFileSync(join(env.dir, 'audit-target'), '');
      rmSync(link, { force: true });
      symlinkSync(join(env.dir, 'audit-target'), link);
      return { auditLog: link };
    },
    expect: /^bulwark: .*(ELOOP|symbolic links)/,
  },
  {
    name: 'the state directory is on a read-only mount',
    readonlyMount: (env) => join(env.dir, 'ro'),
    config: (env) => ({ stateDir: join(env.dir, 'ro', 'state') }),
    // Node's recursive mkdir reports ENOENT, not EROFS, when it cannot create a parent on a
    // read-only mount: the line names the path, not the cause.
    expect: /^bulwark: .*(EROFS|read-only file system|ENOENT: no such file or directory, mkdir '.*\/ro\/state)/,
  },
];

for (const c of FAIL_CLOSED) {
  t.test(`fail closed: ${c.name}`, async (t) => {
    const env = new AssuranceEnv({ label: 'failclosed', poolStart: POOL_START, poolBlocks: 8 });
    const bundle = await makeBundle({ label: 'failclosed', args: ['/bin/true'] });
    let mounted: string | null = null;
    t.teardown(async () => {
      if (mounted) await execa('umount', [mounted], { reject: false });
      await env.dispose();
      bundle.destroy();
    });
    if (c.readonlyMount) {
      mounted = c.readonlyMount(env);
      mkdirSync(mounted, { recursive: true });
      const m = await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'bulwark-assurance-ro', mounted], { reject: false });
      if (m.exitCode !== 0) {
        mounted = null;
        const reason = `cannot mount a read-only tmpfs here: ${String(m.stderr)}`;
        t.ok(true, reason, { skip: reason });
        return;
      }
    }
    env.writeConfig({
      stateDir: env.stateDir,
      auditLog: env.auditLog,
      defaultRuntime: 'runc',
      runtimes: { runc: { paths: [RUNC] } },
      idPool: { start: POOL_START, size: 65536 * 8 },
      ...c.config(env),
    });
    const before = snapshot(bundle.dir);
    const log = join(env.dir, 'runc-log.json');
    closeSync(openSync(log, 'w'));
    const r = await env.call(['--log', log, '--log-format', 'json', 'create', '--bundle', bundle.dir, bundle.id], { cwd: bundle.dir });
    t.not(r.exitCode, 0, 'create fails');
    const lines = r.stderr.split('\n');
    t.equal(lines.length, 2, `one line on stderr: ${JSON.stringify(r.stderr)}`);
    t.match(lines[0], c.expect, 'naming the cause');
    t.equal(readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').length, 1, 'and one line in the --log file');
    const state = await env.runc(['state', bundle.id]);
    t.not(state.exitCode, 0, 'no container');
    t.same(snapshot(bundle.dir), before, 'the bundle is untouched');
    figures.failClosed.push({ name: c.name, refused: r.exitCode !== 0 && state.exitCode !== 0 });
  });
}

t.test('figures', async (t) => {
  const file = writeFigures('crashes', {
    suite: 'integration/assurance/crashes.test.ts',
    runtime: 'runc',
    killPoints: figures.failpoints.length,
    killPointsSurvived: figures.failpoints.filter((f) => f.killed && f.survived).length,
    randomKillCount: figures.randomKills.length,
    randomKillsThatLandedDuringCreate: figures.randomKills.filter((k) => k.killed).length,
    randomKillsSurvived: figures.randomKills.filter((k) => k.survived).length,
    failClosedCases: figures.failClosed.length,
    failClosedRefused: figures.failClosed.filter((f) => f.refused).length,
    ...figures,
  });
  t.equal(figures.failpoints.length, FAILPOINTS.length, `every failpoint ran (${file})`);
});
