// Proves the cgroup v2 path on a real pure-v2 kernel: boots ONE guest (integration/vm), runs
// guest-checks.sh there (a real runtime runs busybox containers with pids and memory limits),
// and asserts on the JSON it writes. RUNTIME selects the runc-compatible runtime to test inside
// the guest (default /usr/sbin/runc; e.g. RUNTIME=$PWD/bin/bulwark-runtime).
// Needs root and qemu-system-x86 (integration/vm/prepare.sh installs it). Takes 0.5-2 min.
import t from 'tap';
import { runInCgroupV2Guest, type GuestRunResult } from '../vm/run.js';

// A guest run takes minutes; tap's default limit is 30 s. The root test's setTimeout also tells the
// tap runner (parent process), so this holds without --timeout too; a larger --timeout wins.
const LIMIT_MS = 900_000;
if (Number(process.env.TAP_TIMEOUT ?? 30) * 1000 < LIMIT_MS) t.setTimeout(LIMIT_MS);

const RUNTIME = process.env.RUNTIME ?? '/usr/sbin/runc';
const MiB = 1024 * 1024;

interface Checks {
  kernel: string;
  fstype: string;
  controllers: string;
  subtreeControl: string;
  v1Mounts: number | null;
  cgroupMount: string;
  runtimeVersion: string;
  pids: {
    exit: number | null; spawned: number | null; current: number | null; max: string; insideMax: string;
    eventsMax: number | null; procs: number | null; cgroupExisted: boolean; cgroupRemoved: boolean;
    selfCgroup: string; forkError: string; output: string; ms: number | null;
  };
  memory: {
    exit: number | null; max: string; swapMax: string; oomGroup: string; oomKill: number | null;
    oomGroupKill: number | null; parentOomKillDelta: number | null; parentOomGroupKillDelta: number | null;
    dmesgOom: number | null; survived: boolean; output: string; ms: number | null;
  };
  errors: string;
  totalMs: number | null;
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root (qemu with a 9p export of /)');
} else {
  let run: GuestRunResult | undefined;
  let c: Checks | undefined;
  try {
    run = await runInCgroupV2Guest('sh integration/cgroupv2/guest-checks.sh', {
      timeoutMs: 600_000,
      env: { RUNTIME },
    });
    const json = run.files['cgroupv2.json'];
    if (!json) throw new Error(`guest wrote no cgroupv2.json (exit ${run.exitCode}):\n${run.output}\n--- console ---\n${run.consoleLog}`);
    c = JSON.parse(json) as Checks;
  } catch (e) {
    t.fail(`cgroup v2 guest run failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (run && c) checks(run, c);
}

function checks(run: GuestRunResult, c: Checks): void {
  t.comment(`guest: ${(run.elapsedMs / 1000).toFixed(1)} s boot-to-poweroff, checks ${((c.totalMs ?? 0) / 1000).toFixed(1)} s`);
  t.comment(`guest output:\n${run.output.trim()}`);

  t.test('guest runs pure cgroup v2', async (t) => {
    t.equal(c.fstype, 'cgroup2fs', 'stat -fc %T /sys/fs/cgroup');
    t.match(c.cgroupMount, /^cgroup2 \/sys\/fs\/cgroup cgroup2 /, 'cgroup2 mounted at /sys/fs/cgroup');
    t.equal(c.v1Mounts, 0, 'no cgroup v1 hierarchy mounted');
    const controllers = c.controllers.split(' ');
    for (const want of ['memory', 'pids', 'cpu', 'io']) t.ok(controllers.includes(want), `cgroup.controllers lists ${want}`);
    t.ok(c.subtreeControl.split(' ').includes('memory'), 'memory enabled in the root subtree_control');
    t.match(c.kernel, /^6\.1\.0-\d+-amd64$/, 'Debian 6.1 kernel');
    t.match(c.runtimeVersion, /version/, `runtime answers --version (${c.runtimeVersion})`);
    t.equal(run.exitCode, 0, `guest-checks.sh succeeded${c.errors ? `: ${c.errors}` : ''}`);
  });

  t.test('pids.limit 32 stops a fork bomb', async (t) => {
    const p = c.pids;
    t.ok(p.cgroupExisted, 'the container cgroup is at the absolute cgroupsPath under /sys/fs/cgroup');
    t.equal(p.max, '32', 'pids.max of the container cgroup');
    t.equal(p.insideMax, '32', 'the container sees pids.max 32 in its own cgroup namespace');
    t.equal(p.selfCgroup, '0::/', 'container is in a cgroup namespace rooted at its cgroup');
    t.ok(p.spawned !== null && p.spawned > 0 && p.spawned <= 31, `spawned ${p.spawned} background processes, fewer than the limit`);
    t.ok(p.spawned !== null && p.spawned >= 25, 'and close to it (the shell and its subshell hold the rest)');
    t.equal(p.current, 32, 'pids.current reached pids.max');
    t.ok(p.eventsMax !== null && p.eventsMax > 0, `pids.events max = ${p.eventsMax} > 0`);
    t.match(p.forkError, /fork/i, `fork failed inside the container: ${p.forkError}`);
    t.equal(p.exit, 0, 'the container exited normally afterwards');
    t.ok(p.cgroupRemoved, 'the runtime removed the container cgroup');
  });

  t.test('memory.limit 32 MiB with oom.group OOM-kills a memory bomb', async (t) => {
    const m = c.memory;
    t.equal(m.max, String(32 * MiB), 'memory.max');
    t.equal(m.swapMax, '0', 'memory.swap.max 0 (swap limit equal to the memory limit)');
    t.equal(m.oomGroup, '1', 'memory.oom.group from linux.resources.unified');
    t.equal(m.exit, 137, 'container init killed by SIGKILL (exit 137)');
    t.ok(m.parentOomKillDelta !== null && m.parentOomKillDelta >= 1, `oom_kill +${m.parentOomKillDelta} (hierarchical memory.events)`);
    t.ok(m.parentOomGroupKillDelta !== null && m.parentOomGroupKillDelta >= 1, `oom_group_kill +${m.parentOomGroupKillDelta}`);
    t.notOk(m.survived, 'nothing in the container survived the OOM kill');
  });
}
