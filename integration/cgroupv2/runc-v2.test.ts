// Proves the cgroup v2 path of runc-compatible runtimes on a real pure-v2 kernel: boots ONE guest
// (integration/vm), runs guest-checks.sh there and asserts on the JSON and files it writes.
//   runc section     the bare runtime (RUNTIME, default /usr/sbin/runc) with limits set in the
//                    bundle: proves the harness sees what it claims to see.
//   bulwark section  bin/bulwark-runtime (baseline profile, a private BULWARK_CONFIG and --root in
//                    the guest) on bundles that ask for no hardening: the limits, the cgroup v2
//                    unified keys, the user namespace, no-new-privileges and seccomp must come from
//                    Bulwark. Expected defaults are read from profiles/baseline.yaml.
// Needs root and qemu-system-x86 (integration/vm/prepare.sh installs it) and `make build`.
// Takes 2-4 min (every bulwark-runtime create starts Node under software emulation).
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { GuestRunError, repoRoot, runInCgroupV2Guest, type GuestRunResult } from '../vm/run.js';

// A guest run takes minutes; tap's default limit is 30 s. The root test's setTimeout also tells the
// tap runner (parent process), so this holds without --timeout too; a larger --timeout wins.
const LIMIT_MS = 900_000;
if (Number(process.env.TAP_TIMEOUT ?? 30) * 1000 < LIMIT_MS) t.setTimeout(LIMIT_MS);

/** The bare runtime of the first section (e.g. /usr/bin/crun); Bulwark has its own section. */
const RUNTIME = process.env.RUNTIME ?? '/usr/sbin/runc';
const RUNTIME_IS_BULWARK = /bulwark/.test(basename(RUNTIME));
const MiB = 1024 * 1024;
/** /proc/self/uid_map of a process in the initial user namespace. */
const IDENTITY_MAP = '0 0 4294967295';
/** Processes in the memory container when it hits its limit: the shell, the sidecar, dd. */
const MEMORY_CONTAINER_PROCS = 3;

interface Container {
  id: string; cgroupsPath: string; exit: number | null; ready: boolean; readyMs: number | null; ms: number | null;
  cgroupExisted: boolean; cgroupRemoved: boolean;
  memoryMax: string; swapMax: string; oomGroup: string; pidsMax: string;
  pidsCurrent: number | null; pidsEventsMax: number | null; procs: number | null;
  oomKill: number | null; oomGroupKill: number | null; parentOomKillDelta: number | null; parentOomGroupKillDelta: number | null;
  peakSeen: number | null;
  hostUid: string; hostGid: string; hostNoNewPrivs: string; hostSeccomp: string;
  inside: { uidMap: string; gidMap: string; noNewPrivs: string; seccomp: string; capEff: string; cgroup: string; pidsMax: string; memoryMax: string; rootfs: string };
  spawned: number | null; forkError: string; survived: boolean; output: string;
}

interface Section<Names extends string> {
  runtime: string;
  version: string;
  ms: number | null;
  containers: Partial<Record<Names, Container>>;
}

interface Checks {
  kernel: string;
  fstype: string;
  controllers: string;
  subtreeControl: string;
  v1Mounts: number | null;
  cgroupMount: string;
  swapAccounting: boolean;
  runc: Section<'pids' | 'memory'>;
  bulwark: Section<'defaults' | 'pids' | 'memory'> & { config: string; root: string; auditLines: number | null };
  errors: string;
  totalMs: number | null;
}

/** The parts of a hardened config.json these checks read. */
interface ConfigJson {
  linux?: {
    cgroupsPath?: string;
    namespaces?: { type: string; path?: string }[];
    uidMappings?: { containerID: number; hostID: number; size: number }[];
    resources?: {
      memory?: { limit?: number; swap?: number };
      pids?: { limit?: number };
      unified?: Record<string, string>;
    };
  };
  process?: { noNewPrivileges?: boolean };
}

// ---- what the profile promises, read from the shipped file (not through Bulwark's own loader) ----

interface Expected { memoryDefault: number; swapAllowance: number; pidsDefault: number; oomGroup: boolean }

/** "2Gi", "512Mi", "0" or a number, as the profile schema allows (^[0-9]+(Ki|Mi|Gi|Ti)?$). */
function profileBytes(v: unknown): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  const m = typeof v === 'string' ? /^([0-9]+)(Ki|Mi|Gi|Ti)?$/.exec(v) : null;
  if (!m) throw new Error(`not a profile size: ${JSON.stringify(v)}`);
  const shift = { '': 0, Ki: 10, Mi: 20, Gi: 30, Ti: 40 }[m[2] ?? '']!;
  return Number(BigInt(m[1]!) << BigInt(shift));
}

function baselineExpectations(): Expected {
  const file = join(repoRoot(), 'profiles', 'baseline.yaml');
  const doc = parseYaml(readFileSync(file, 'utf8')) as { extends?: unknown; rules?: { cgroups?: Record<string, Record<string, unknown> | boolean> } };
  const cg = doc.rules?.cgroups;
  if (doc.extends !== undefined || !cg || typeof cg.memory !== 'object' || typeof cg.pids !== 'object') {
    throw new Error(`${file}: expected rules.cgroups.memory and .pids without extends; update this test`);
  }
  return {
    memoryDefault: profileBytes(cg.memory.default),
    swapAllowance: profileBytes(cg.memory.swap ?? 0),
    pidsDefault: Number(cg.pids.default),
    oomGroup: cg.oomGroup === true,
  };
}

// ---- the run ------------------------------------------------------------------------------------

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root (qemu with a 9p export of /)');
} else if (!existsSync(join(repoRoot(), 'bin', 'bulwark-runtime')) || !existsSync(join(repoRoot(), 'dist', 'src', 'runtime', 'main.js'))) {
  t.fail('bin/bulwark-runtime or dist/src/runtime/main.js missing: run `make build` first');
} else {
  const expected = baselineExpectations();
  let run: GuestRunResult | undefined;
  let c: Checks | undefined;
  try {
    // keep: the run directory (console.log, results/) survives until every assertion passed.
    run = await runInCgroupV2Guest('sh integration/cgroupv2/guest-checks.sh', {
      timeoutMs: 840_000,
      env: { RUNTIME },
      keep: true,
    });
    const json = run.files['cgroupv2.json'];
    if (!json) throw new Error(`guest wrote no cgroupv2.json (exit ${run.exitCode}); console log ${consolePath(run)}:\n${run.output}\n--- console ---\n${run.consoleLog}`);
    c = JSON.parse(json) as Checks;
  } catch (e) {
    const where = e instanceof GuestRunError && e.runDir ? ` (run directory ${e.runDir})` : run ? ` (console log ${consolePath(run)})` : '';
    t.fail(`cgroup v2 guest run failed${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (run && c) {
    const r = run;
    t.teardown(() => {
      if (t.passing() && process.env.BULWARK_VM_KEEP !== '1') rmSync(r.runDir, { recursive: true, force: true });
      else t.comment(`guest run kept: ${r.runDir} (console.log, results/)`);
    });
    checks(run, c, expected);
  }
}

function consolePath(run: GuestRunResult): string {
  return join(run.runDir, 'console.log');
}

/** Assertions whose failure message names the guest's console log (kept when anything fails). */
function asserter(t: Test, run: GuestRunResult) {
  const where = (ok: boolean, msg: string) => (ok ? msg : `${msg} [guest console: ${consolePath(run)}; results: ${join(run.runDir, 'results')}]`);
  return {
    equal<T>(actual: T, wanted: T, msg: string) {
      t.equal(actual, wanted, where(actual === wanted, msg));
    },
    ok(value: unknown, msg: string) {
      t.ok(value, where(Boolean(value), msg));
    },
    match(actual: string, re: RegExp, msg: string) {
      t.match(actual, re, where(typeof actual === 'string' && re.test(actual), msg));
    },
    atLeast(actual: number | null | undefined, min: number, msg: string) {
      const ok = typeof actual === 'number' && actual >= min;
      t.ok(ok, where(ok, `${msg}: ${actual} >= ${min}`));
    },
    between(actual: number | null | undefined, min: number, max: number, msg: string) {
      const ok = typeof actual === 'number' && actual >= min && actual <= max;
      t.ok(ok, where(ok, `${msg}: ${min} <= ${actual} <= ${max}`));
    },
  };
}
type Asserter = ReturnType<typeof asserter>;

function checks(run: GuestRunResult, c: Checks, want: Expected): void {
  const s = (ms: number | null | undefined) => `${((ms ?? 0) / 1000).toFixed(1)} s`;
  t.comment(`guest: ${s(run.elapsedMs)} boot-to-poweroff; checks ${s(c.totalMs)} (runc section ${s(c.runc?.ms)}, bulwark section ${s(c.bulwark?.ms)})`);
  t.comment(`guest output:\n${run.output.trim()}`);

  t.test('guest runs pure cgroup v2', async (t) => {
    const a = asserter(t, run);
    a.equal(c.fstype, 'cgroup2fs', 'stat -fc %T /sys/fs/cgroup');
    a.match(c.cgroupMount, /^cgroup2 \/sys\/fs\/cgroup cgroup2 /, 'cgroup2 mounted at /sys/fs/cgroup');
    a.equal(c.v1Mounts, 0, 'no cgroup v1 hierarchy mounted');
    const controllers = c.controllers.split(' ');
    for (const w of ['memory', 'pids', 'cpu', 'io']) a.ok(controllers.includes(w), `cgroup.controllers lists ${w}`);
    a.ok(c.subtreeControl.split(' ').includes('memory'), 'memory enabled in the root subtree_control');
    a.match(c.kernel, /^6\.1\.0-\d+-amd64$/, 'Debian 6.1 kernel');
    a.equal(c.swapAccounting, true, "Debian's kernel accounts swap (memory.swap.max in child cgroups)");
    a.equal(c.errors, '', 'guest-checks.sh reported no errors');
    a.equal(run.exitCode, 0, 'guest-checks.sh succeeded');
  });

  t.test(`${RUNTIME} (bare): the harness sees the limits the bundle sets`, async (t) => {
    const a = asserter(t, run);
    a.match(c.runc.version, /version/, `runtime answers --version (${c.runc.version})`);
    const p = c.runc.containers.pids;
    const m = c.runc.containers.memory;
    if (!p || !m) return void a.ok(false, 'runc section has pids and memory containers');
    pidsBomb(a, p, 32);
    if (!RUNTIME_IS_BULWARK) {
      a.equal(p.inside.uidMap, IDENTITY_MAP, 'no user namespace: uid_map is the identity (the contrast to Bulwark)');
      a.equal(p.inside.seccomp, '0', 'no seccomp filter without Bulwark');
    }
    a.equal(m.memoryMax, String(32 * MiB), 'memory.max');
    a.equal(m.swapMax, '0', 'memory.swap.max 0 (swap limit equal to the memory limit)');
    a.equal(m.oomGroup, '1', "memory.oom.group from the bundle's linux.resources.unified");
    memoryBomb(a, m);
  });

  const b = c.bulwark;
  t.test('bulwark-runtime: every create allowed and audited', async (t) => {
    const a = asserter(t, run);
    a.match(b.version, /^runc version/, `--version passes through to runc without Node (${b.version})`);
    const audit = (run.files['bulwark-audit.jsonl'] ?? '').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    a.equal(b.auditLines, 3, `three audit lines in the private audit log ${b.config}`);
    const ids = (['defaults', 'pids', 'memory'] as const).map((n) => b.containers[n]?.id);
    a.equal(JSON.stringify(audit.map((e) => e.id)), JSON.stringify(ids), 'one audit line per container, in order');
    for (const e of audit) {
      a.equal(`${String(e.id)}: ${String(e.event)} ${String(e.profile)} ${String(e.decision)}`, `${String(e.id)}: run baseline allow`, 'run, baseline profile, allowed');
    }
  });

  for (const name of ['defaults', 'pids', 'memory'] as const) {
    t.test(`bulwark-runtime ${name} container: hardened config and the cgroup it produced`, async (t) => {
      const a = asserter(t, run);
      const k = b.containers[name];
      const hardenedText = run.files[`bulwark-${name}.config.json`];
      const origText = run.files[`bulwark-${name}.orig.json`];
      if (!k || !hardenedText || !origText) return void a.ok(false, `bulwark/${name}: container record, config.json and config.json.orig`);
      const hardened = JSON.parse(hardenedText) as ConfigJson;
      const orig = JSON.parse(origText) as ConfigJson;
      const wantMemory = name === 'memory' ? 32 * MiB : want.memoryDefault;
      const wantPids = name === 'pids' ? 32 : want.pidsDefault;
      t.comment(`${name}: ready after ${((k.readyMs ?? 0) / 1000).toFixed(1)} s (Node under emulation), rootfs ${k.inside.rootfs} inside, root.path ${JSON.stringify((hardened as { root?: { path?: string } }).root?.path)}`);
      configChecks(a, name, orig, hardened, k, want, wantMemory, wantPids, c.swapAccounting);

      // Outside: the container's cgroup at its absolute cgroupsPath under /sys/fs/cgroup.
      a.ok(k.ready, 'the container started and signalled ready');
      a.ok(k.cgroupExisted, `cgroup /sys/fs/cgroup${k.cgroupsPath} existed`);
      a.equal(k.memoryMax, String(wantMemory), `memory.max = ${wantMemory}`);
      a.equal(k.swapMax, String(want.swapAllowance), `memory.swap.max = ${want.swapAllowance} (the profile's swap allowance)`);
      a.equal(k.oomGroup, want.oomGroup ? '1' : '0', 'memory.oom.group');
      a.equal(k.pidsMax, String(wantPids), `pids.max = ${wantPids}`);
      a.equal(k.inside.memoryMax, String(wantMemory), 'memory.max seen inside (own cgroup namespace)');
      a.equal(k.inside.pidsMax, String(wantPids), 'pids.max seen inside');
      a.equal(k.inside.cgroup, '0::/', 'the container is in a cgroup namespace rooted at its cgroup');

      // Inside and outside: user namespace, no-new-privileges, seccomp.
      const map = hardened.linux?.uidMappings?.[0];
      a.ok(k.inside.uidMap !== IDENTITY_MAP, `uid_map inside is not the identity (${k.inside.uidMap})`);
      a.equal(k.inside.uidMap, map ? `${map.containerID} ${map.hostID} ${map.size}` : '(no uidMappings)', 'uid_map inside = the hardened linux.uidMappings');
      a.ok(k.hostUid !== '' && k.hostUid !== '0', `container root runs as host uid ${k.hostUid}, not 0 (seen from outside)`);
      a.equal(k.hostUid, map ? String(map.hostID) : '(no uidMappings)', "host uid of the container's init = mapped uid 0");
      a.equal(k.inside.noNewPrivs, '1', 'NoNewPrivs 1 inside');
      a.equal(k.inside.seccomp, '2', 'Seccomp 2 (filter) inside');
      a.equal(k.hostSeccomp, '2', "Seccomp 2 on the container's init, seen from outside");
      a.ok(k.cgroupRemoved, 'the container cgroup is gone afterwards');

      if (name === 'defaults') {
        a.equal(k.exit, 0, 'the container exited normally');
      } else if (name === 'pids') {
        pidsBomb(a, k, 32);
      } else {
        memoryBomb(a, k);
      }
    });
  }
}

/** What Bulwark wrote into the bundle, against what the bundle asked for and the profile. */
function configChecks(a: Asserter, name: string, orig: ConfigJson, hardened: ConfigJson, k: Container, want: Expected,
  wantMemory: number, wantPids: number, swapAccounting: boolean): void {
  const o = orig.linux?.resources ?? {};
  const h = hardened.linux?.resources ?? {};
  a.equal(orig.linux?.namespaces?.some((n) => n.type === 'user'), false, 'the bundle asked for no user namespace');
  a.equal(o.unified, undefined, 'the bundle has no unified keys');
  a.equal(o.memory?.swap, undefined, 'the bundle sets no memory.swap');
  a.equal(hardened.linux?.cgroupsPath, k.cgroupsPath, 'linux.cgroupsPath unchanged (absolute)');
  a.equal(h.unified?.['memory.oom.group'], want.oomGroup ? '1' : undefined, 'hardened unified["memory.oom.group"] = "1"');
  a.equal(h.memory?.limit, wantMemory, `hardened memory.limit ${name === 'memory' ? 'kept' : "= the profile's default"}`);
  a.equal(h.memory?.swap, wantMemory + want.swapAllowance, 'hardened memory.swap = limit + swap allowance (no swap)');
  if (swapAccounting) {
    a.equal(h.unified?.['memory.swap.max'], String(want.swapAllowance), 'hardened unified["memory.swap.max"] (the kernel accounts swap)');
  } else {
    a.equal(h.unified?.['memory.swap.max'], undefined, 'no unified memory.swap.max where the kernel does not account swap');
  }
  a.equal(h.pids?.limit, wantPids, `hardened pids.limit ${name === 'pids' ? 'kept' : "= the profile's default"}`);
  a.equal(hardened.linux?.namespaces?.some((n) => n.type === 'user' && !n.path), true, 'hardened config adds a user namespace');
  const map = hardened.linux?.uidMappings ?? [];
  a.ok(map.length === 1 && map[0]!.containerID === 0 && map[0]!.hostID > 0 && map[0]!.size === 65536,
    `one 65536-ID uid block that does not map host root: ${JSON.stringify(map)}`);
  a.equal(hardened.process?.noNewPrivileges, true, 'hardened noNewPrivileges');
}

function pidsBomb(a: Asserter, p: Container, limit: number): void {
  a.ok(p.cgroupExisted, 'the container cgroup is at the absolute cgroupsPath under /sys/fs/cgroup');
  a.equal(p.pidsMax, String(limit), 'pids.max of the container cgroup');
  a.equal(p.inside.pidsMax, String(limit), `the container sees pids.max ${limit} in its own cgroup namespace`);
  a.equal(p.inside.cgroup, '0::/', 'container is in a cgroup namespace rooted at its cgroup');
  a.between(p.spawned, limit - 7, limit - 1, 'background processes spawned: fewer than the limit, and close to it (the shell and its subshell hold the rest)');
  a.equal(p.pidsCurrent, limit, 'pids.current reached pids.max');
  a.atLeast(p.pidsEventsMax, 1, 'pids.events max (forks refused)');
  a.match(p.forkError, /fork/i, `fork failed inside the container: ${p.forkError}`);
  a.equal(p.exit, 0, 'the container exited normally afterwards');
  a.ok(p.cgroupRemoved, 'the runtime removed the container cgroup');
}

function memoryBomb(a: Asserter, m: Container): void {
  a.equal(m.exit, 137, 'container init killed by SIGKILL (exit 137)');
  a.ok(!m.survived, `nothing in the container survived the OOM kill (output: ${JSON.stringify(m.output)})`);
  // memory.events is hierarchical on v2: the parent's counters include the container's, and
  // outlive it (the runtime removes the container cgroup right after the kill).
  a.atLeast(m.parentOomGroupKillDelta, 1, 'oom_group_kill increments (memory.oom.group killed the whole cgroup)');
  a.atLeast(m.parentOomKillDelta, MEMORY_CONTAINER_PROCS, 'oom_kill counts every process of the container (shell, sidecar, dd)');
}
