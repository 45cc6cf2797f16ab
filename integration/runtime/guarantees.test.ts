// The guarantees of the default profile, checked FROM INSIDE real containers that
// bin/bulwark-runtime created: each runtime (runc, crun, runsc) is picked by the container's own
// io.bulwark.runtime annotation, and once by the config's defaultRuntime. Every expectation is
// computed from profiles/baseline.yaml (loaded as the engine loads it) and from the original
// config the test wrote; the probe (integration/probe/probe.c) reports what the kernel says.
//
// gVisor (runsc) runs the container on its own kernel. Where a check reads Linux's answer
// (/proc/self/status fields, the ID map, seccomp, cgroup limits) it does not apply there, and
// the test says why and checks what does apply instead.
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { Spec } from '../../src/spec/index.js';
import { BulwarkHarness } from '../lib/bulwark.js';
import type { AuditEntry } from '../lib/bulwark.js';
import {
  LOW_LEVEL_RUNTIMES, capabilitySets, isIdentityMap, makeBundle, openRuntime, parseIdMap, parseProbeOutput, probeReport,
  setCapabilities, setNoNewPrivileges, setPidsLimit, sortCaps,
} from '../lib/index.js';
import type {
  Bundle, CommandResult, ForkbombReport, IdMapEntry, LowLevelRuntime, MembombReport, SelfReport, SyscallReport,
} from '../lib/index.js';
import {
  ATTEMPTS, ID_BLOCK, MiB, allowedCaps, chooseRuntime, defaultIdPool, filterAnswer, hostHas, sha256, shippedProfile,
} from './expect.js';
import type { AttemptName } from './expect.js';

const started = Date.now();
const profile = shippedProfile('baseline');
const MASKED = profile.rules.paths.masked;
const READONLY = profile.rules.paths.readonly;
const SELF_ARGS = ['self', `--masked=${MASKED.join(',')}`, `--readonly=${READONLY.join(',')}`];
const pool = defaultIdPool();

const bulwark = new BulwarkHarness({ label: 'guarantees' });
// Bare runtimes: availability (skip reasons) and the syscall control (the kernel's own answers).
const bare = Object.fromEntries(LOW_LEVEL_RUNTIMES.map((name) => [name, openRuntime(name)])) as Record<LowLevelRuntime, ReturnType<typeof openRuntime>>;
t.teardown(async () => {
  await bulwark.dispose();
  for (const client of Object.values(bare)) await client.dispose();
  t.comment(`integration/runtime/guarantees: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

/** What one container run through Bulwark left behind, read before its bundle is removed. */
interface Outcome<T> {
  id: string;
  result: CommandResult;
  report: T | undefined;
  /** config.json as the test wrote it, and as Bulwark left it. */
  originalText: string;
  hardenedText: string;
  origText: string | undefined;
  original: Spec;
  hardened: Spec;
  audit: AuditEntry[];
  record: ReturnType<BulwarkHarness['record']>;
  block: number | undefined;
}

async function runThrough<T>(harness: BulwarkHarness, runtime: string | undefined, probeArgs: string[], tweak?: (spec: Spec) => void): Promise<Outcome<T>> {
  const bundle = await makeBundle({
    label: `${runtime ?? 'default'}-${probeArgs[0]}`,
    args: ['/bin/probe', ...probeArgs],
    tweak: (spec) => {
      tweak?.(spec);
      if (runtime) chooseRuntime(spec, runtime);
    },
  });
  try {
    const originalText = readFileSync(join(bundle.dir, 'config.json'), 'utf8');
    const result = await harness.client.run(bundle, undefined, { timeoutMs: 120_000 });
    const hardenedText = readFileSync(join(bundle.dir, 'config.json'), 'utf8');
    const origPath = join(bundle.dir, 'config.json.orig');
    let report: T | undefined;
    try {
      report = parseProbeOutput<T>(result.stdout);
    } catch {
      report = undefined;
    }
    return {
      id: bundle.id,
      result,
      report,
      originalText,
      hardenedText,
      origText: existsSync(origPath) ? readFileSync(origPath, 'utf8') : undefined,
      original: JSON.parse(originalText) as Spec,
      hardened: JSON.parse(hardenedText) as Spec,
      audit: harness.audit(bundle.id),
      record: harness.record(bundle.id),
      block: harness.podBlock(bundle.id),
    };
  } finally {
    bundle.destroy();
  }
}

function must<T>(outcome: Outcome<T>): T {
  if (outcome.result.exitCode !== 0 || outcome.report === undefined) {
    throw new Error(`container ${outcome.id} failed (exit ${outcome.result.exitCode ?? outcome.result.signal}): ${outcome.result.stderr.slice(-800)}`);
  }
  return outcome.report;
}

/** The pod's block as the private state directory records it, as a uid_map/gid_map. */
function blockMap(outcome: Outcome<unknown>): IdMapEntry[] {
  if (outcome.block === undefined) throw new Error(`no ID block recorded for pod ${outcome.id}`);
  return [{ containerID: 0, hostID: pool.start + outcome.block * ID_BLOCK, size: ID_BLOCK }];
}

/** The hardened config was written, the original kept, the audit says allow, the record names the runtime. */
function checkBundleAndAudit(t: Test, outcome: Outcome<unknown>, runtime: string, event = 'run'): void {
  t.equal(outcome.origText, outcome.originalText, 'config.json.orig is the original config.json, byte for byte');
  t.not(outcome.hardenedText, outcome.originalText, 'config.json was rewritten');
  t.equal(outcome.hardened.linux?.cgroupsPath, outcome.original.linux?.cgroupsPath, 'the absolute cgroupsPath is kept');
  t.same(outcome.hardened.annotations, outcome.original.annotations, 'annotations are kept');
  t.equal(outcome.audit.length, 1, 'one audit line for the container');
  const entry = outcome.audit[0];
  t.hasStrict(entry, {
    event, id: outcome.id, profile: profile.name, mode: 'enforce', runtime, decision: 'allow',
    originalSha256: sha256(outcome.originalText), hardenedSha256: sha256(outcome.hardenedText),
  }, 'it records: allowed, baseline, this runtime, the sha256 of both configs');
  t.ok((entry?.findings ?? []).every((f) => f.action !== 'deny'), 'no deny finding');
  t.same(outcome.record?.runtimeArgv, [bulwark.runtimePaths[runtime]], `the container's record hands over to ${runtime} as configured (${bulwark.runtimePaths[runtime]})`);
}

const SYSCALL_ATTEMPTS: AttemptName[] = ['unshare_user', 'bpf', 'keyctl', 'io_uring_setup', 'clone3', 'socket_alg', 'socket_vsock', 'mount', 'personality'];

const availability = Object.fromEntries(await Promise.all(
  LOW_LEVEL_RUNTIMES.map(async (name) => [name, await bare[name].availability()] as const),
)) as Record<LowLevelRuntime, Awaited<ReturnType<ReturnType<typeof openRuntime>['availability']>>>;
const unusable = (name: LowLevelRuntime): string | false => (availability[name].available ? false : `${name} is not usable here: ${availability[name].reason}`);

for (const runtime of LOW_LEVEL_RUNTIMES) {
  const gvisor = runtime === 'runsc';
  const onlyLinux = (why: string): string | false => (gvisor ? `not for gVisor: ${why}` : false);
  t.test(`${runtime} (chosen by the io.bulwark.runtime annotation)`, { skip: unusable(runtime) }, async (t) => {
    const { version, reason } = availability[runtime];
    t.comment(`${version ?? runtime}: ${reason}`);

    // One container with runc spec's config, untouched: the common case.
    const plain = await runThrough<SelfReport>(bulwark, runtime, SELF_ARGS);
    const report = must(plain);
    if (gvisor) t.equal(report.mounts['/']?.fstype, '9p', 'gVisor really ran it: the rootfs is served over 9p by its gofer');

    t.test('the bundle: hardened config.json written, original kept, one audit line (allow)', async (t) => {
      checkBundleAndAudit(t, plain, runtime);
    });

    t.test('user namespace: container root is the pod\'s 65536-ID block, never host root', async (t) => {
      const expected = blockMap(plain);
      t.same(plain.hardened.linux?.uidMappings, expected, 'the hardened config maps the pod\'s block (uid)');
      t.same(plain.hardened.linux?.gidMappings, expected, 'and the same block for gids');
      t.ok(expected[0]!.hostID >= ID_BLOCK, `the block starts at ${expected[0]!.hostID}, clear of host IDs 0-65535`);
      if (gvisor) {
        t.ok(isIdentityMap(parseIdMap(report.uid_map)), 'inside gVisor the map is gVisor\'s own identity map whatever the config says: the pod\'s block cannot be seen from inside (see the sandbox test below)');
        return;
      }
      t.same(parseIdMap(report.uid_map), expected, 'uid_map inside is exactly the pod\'s block');
      t.same(parseIdMap(report.gid_map), expected, 'gid_map inside likewise');
      t.notOk(isIdentityMap(parseIdMap(report.uid_map)), 'not the identity map');
      t.equal(report.uid, 0, 'the process is root inside the namespace only');
    });

    t.test('capabilities: bounding/permitted/effective = allowlist ∩ requested; inheritable and ambient empty', async (t) => {
      const caps = capabilitySets(report);
      for (const set of ['bounding', 'permitted', 'effective'] as const) {
        const expected = allowedCaps(profile, plain.original, set);
        t.same(sortCaps(plain.hardened.process?.capabilities?.[set] ?? []), expected, `hardened config: ${set} = ${expected.join(' ') || '(none)'}`);
        t.same(caps[set], expected, `inside: ${set} = ${expected.join(' ') || '(none)'}`);
      }
      t.ok(allowedCaps(profile, plain.original, 'bounding').length > 0, 'the expectation is not vacuous');
      t.same(plain.hardened.process?.capabilities?.ambient, [], 'the config\'s ambient capabilities were emptied');
      t.equal(report.status.CapInh, '0000000000000000', 'CapInh is zero');
      if (gvisor) t.equal(report.status.CapAmb, undefined, 'gVisor prints no CapAmb line (its /proc/self/status is its own): not checkable inside');
      else t.equal(report.status.CapAmb, '0000000000000000', 'CapAmb is zero');
    });

    t.test('a config asking for more: NET_RAW, MKNOD, inheritable and ambient sets, no_new_privs off', async (t) => {
      const asked = ['CAP_CHOWN', 'CAP_KILL', 'CAP_SETUID', 'CAP_NET_RAW', 'CAP_MKNOD', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'];
      const loose = await runThrough<SelfReport>(bulwark, runtime, SELF_ARGS, (spec) => {
        setCapabilities(spec, asked);
        spec.process!.capabilities!.inheritable = [...asked];
        spec.process!.capabilities!.ambient = [...asked];
        setNoNewPrivileges(spec, false);
      });
      const inside = must(loose);
      checkBundleAndAudit(t, loose, runtime);
      const expected = allowedCaps(profile, loose.original, 'bounding');
      t.notOk(expected.includes('CAP_NET_RAW') || expected.includes('CAP_MKNOD'), 'the profile drops NET_RAW and MKNOD');
      const caps = capabilitySets(inside);
      for (const set of ['bounding', 'permitted', 'effective'] as const) t.same(caps[set], expected, `inside: ${set} = ${expected.join(' ')}`);
      t.same(caps.inheritable, [], 'inheritable empty although the config asked');
      if (!gvisor) t.same(caps.ambient, [], 'ambient empty although the config asked');
      t.equal(loose.hardened.process?.noNewPrivileges, true, 'the hardened config turns no_new_privs back on');
      t.equal(inside.noNewPrivs, 1, 'prctl(PR_GET_NO_NEW_PRIVS) is 1 inside');
      if (gvisor) t.comment('gVisor sets no_new_privs for every container whatever the config says (control tests), so for runsc this shows only that it is on');
    });

    t.test('no_new_privs', async (t) => {
      t.equal(report.noNewPrivs, 1, 'prctl(PR_GET_NO_NEW_PRIVS) is 1');
      if (gvisor) t.equal(report.status.NoNewPrivs, undefined, 'gVisor\'s /proc/self/status has no NoNewPrivs line: the prctl answer above is the check');
      else t.equal(report.status.NoNewPrivs, '1', 'NoNewPrivs 1 in /proc/self/status');
    });

    t.test('seccomp: the filter is loaded and blocked syscalls fail with its errno', {
      skip: onlyLinux('runsc applies linux.seccomp only with --oci-seccomp, and this runsc build ignores errnoRet there (clone3 ENOSYS becomes EPERM, so glibc\'s pthread_create fails): Bulwark does not pass it. The sandbox test below records that the filter is absent inside'),
    }, async (t) => {
      t.equal(report.status.Seccomp, '2', 'Seccomp 2 (filter mode)');
      t.equal(report.status.Seccomp_filters, '1', 'exactly one filter');
      t.equal(plain.hardened.linux?.seccomp?.defaultAction, profile.rules.seccomp.filter.defaultAction, 'the hardened config carries the profile\'s allowlist filter');

      const filtered = await runThrough<SyscallReport>(bulwark, runtime, ['syscall', ...SYSCALL_ATTEMPTS]);
      const got = must(filtered);
      const bounding = allowedCaps(profile, filtered.original, 'bounding');
      for (const name of SYSCALL_ATTEMPTS) {
        const expected = filterAnswer(profile, name, bounding);
        const outcome = got[name];
        if (expected === 'allowed') t.equal(outcome?.verdict, 'allowed', `${name}: allowed by the filter, and it works (${outcome?.errno ?? `ret ${outcome?.ret}`})`);
        else t.equal(outcome?.errno, expected, `${name} (${ATTEMPTS[name].syscall}): ${expected}, the filter's answer`);
      }
      t.same(
        SYSCALL_ATTEMPTS.map((name) => [name, filterAnswer(profile, name, bounding)]),
        [['unshare_user', 'EPERM'], ['bpf', 'EPERM'], ['keyctl', 'EPERM'], ['io_uring_setup', 'EPERM'], ['clone3', 'ENOSYS'],
          ['socket_alg', 'EAFNOSUPPORT'], ['socket_vsock', 'EAFNOSUPPORT'], ['mount', 'EPERM'], ['personality', 'allowed']],
        'and the profile still says what the issue says it does',
      );

      // Control: the same attempts in the same config on the bare runtime reach the kernel, which
      // answers differently; so the errnos above are the filter's, not the kernel's.
      const kernel = await probeReport<SyscallReport>(bare[runtime], ['syscall', ...SYSCALL_ATTEMPTS]);
      for (const name of SYSCALL_ATTEMPTS) {
        const expected = filterAnswer(profile, name, bounding);
        if (expected === 'allowed') continue;
        const own = kernel[name]?.errno ?? `ret ${kernel[name]?.ret}`;
        if (own === expected && name === 'socket_alg') {
          t.comment(`socket_alg: this kernel has no AF_ALG, so it answers ${own} itself; socket_vsock shows the filter's ${expected}`);
          continue;
        }
        t.not(own, expected, `${name}: without Bulwark the kernel answers ${own}`);
      }
    });

    t.test('masked paths (baseline\'s list)', async (t) => {
      if (gvisor) {
        // gVisor's /proc and /sys are its own: the host's files are never there to mask.
        const leaking = MASKED.filter((p) => !['masked', 'absent'].includes(report.masked[p]?.state ?? '') &&
          !(report.masked[p]?.state === 'exposed' && report.masked[p]?.how === 'empty-dir'));
        t.same(leaking, [], 'each masked path is masked, absent or an empty directory in gVisor\'s own /proc and /sys');
        t.comment(`gVisor: ${MASKED.map((p) => `${p}=${report.masked[p]?.state}`).join(' ')}`);
        return;
      }
      const masked = Object.fromEntries(MASKED.map((p) => [p, report.masked[p]?.state]));
      t.same(masked, Object.fromEntries(MASKED.map((p) => [p, hostHas(p) ? 'masked' : 'absent'])),
        'every path the host has is masked; the others are absent from this kernel');
      for (const p of ['/proc/interrupts', '/proc/keys', '/proc/kcore']) {
        t.ok(MASKED.includes(p), `${p} is on baseline's list`);
        if (!hostHas(p)) t.comment(`${p} does not exist on this kernel (so it cannot leak); it is checked where it does`);
      }
    });

    t.test('read-only paths (baseline\'s list)', {
      skip: onlyLinux('gVisor\'s /proc/sys is its own emulation (sysctl writes never reach the host kernel) and it does not bind readonlyPaths read-only (control tests: /proc/sys chmod is EPERM, not EROFS)'),
    }, async (t) => {
      const readonly = Object.fromEntries(READONLY.map((p) => [p, report.readonly[p]?.state]));
      t.same(readonly, Object.fromEntries(READONLY.map((p) => [p, hostHas(p) ? 'readonly' : 'absent'])),
        'every read-only path the host has is read-only (EROFS); the others are absent');
    });

    t.test('a fork bomb stops at pids.limit 64 with EAGAIN', {
      skip: onlyLinux('a pids limit on runsc bounds the sandbox\'s host threads (sentry, gofer), not the guest\'s processes; at 64 the sandbox cannot even start'),
    }, async (t) => {
      const limit = 64;
      t.ok(limit <= profile.rules.cgroups.pids.max, `64 is below baseline's ceiling (${profile.rules.cgroups.pids.max}), so Bulwark keeps it`);
      const bomb = await runThrough<ForkbombReport>(bulwark, runtime, ['forkbomb', '200'], (spec) => setPidsLimit(spec, limit));
      const got = must(bomb);
      t.equal(bomb.hardened.linux?.resources?.pids?.limit, limit, 'the hardened config keeps pids.limit 64');
      t.equal(got.forked, limit - 1, `it forked ${limit - 1} children: with itself, exactly the limit`);
      t.equal(got.errno, 'EAGAIN', 'the next fork failed with EAGAIN');
      t.equal(got.reaped, got.forked, 'and all were reaped');
      t.equal(plain.hardened.linux?.resources?.pids?.limit, profile.rules.cgroups.pids.default, `a config without a limit gets baseline's default ${profile.rules.cgroups.pids.default}`);
    });

    t.test('a memory bomb is OOM-killed at a 32 MiB limit (Bulwark adds "no swap")', {
      skip: onlyLinux('a memory limit on runsc bounds the whole sandbox (sentry, gofer and guest together); the guest sees gVisor\'s own accounting'),
    }, async (t) => {
      const limit = 32 * MiB;
      // Only memory.limit: memory.swap (memory+swap on v1) is Bulwark's to add.
      const bomb = await runThrough<MembombReport>(bulwark, runtime, ['membomb', '256'], (spec) => {
        spec.linux = { ...spec.linux, resources: { ...spec.linux?.resources, memory: { limit } } };
      });
      t.equal(bomb.hardened.linux?.resources?.memory?.limit, limit, 'the hardened config keeps the 32 MiB limit');
      t.equal(bomb.hardened.linux?.resources?.memory?.swap, limit + profile.rules.cgroups.memory.swap,
        `and sets memory+swap to the limit plus baseline's swap allowance (${profile.rules.cgroups.memory.swap} bytes)`);
      t.equal(bomb.result.exitCode, 137, `the container died of SIGKILL: exit 137 (stderr ends: ${bomb.result.stderr.slice(-60).trim()})`);
      t.equal(bomb.report, undefined, 'the probe never printed its report');
      const reached = Math.max(0, ...[...bomb.result.stderr.matchAll(/membomb: (\d+) MiB/g)].map((m) => Number(m[1])));
      t.ok(reached > 0 && reached < 32, `killed after touching ${reached} MiB, below 32`);
      t.equal(plain.hardened.linux?.resources?.memory?.limit, profile.rules.cgroups.memory.default, 'a config without a limit gets baseline\'s default');
    });

    if (gvisor) {
      t.test('gVisor: what the sandbox runs with, seen from the host', async (t) => {
        // Created the way containerd creates it, so the sandbox's host pid can be inspected.
        const bundle = await makeBundle({ label: 'runsc-sandbox', args: ['/bin/sleep', '120'], tweak: (spec) => chooseRuntime(spec, 'runsc') });
        try {
          const R = bulwark.root;
          const pid = await startDetached(bulwark, bundle);
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
          t.equal(cmdline[0], 'runsc-sandbox', `pid ${pid} is gVisor's sandbox process`);
          const hostMap = hostUidMap(pid);
          t.notOk(isIdentityMap(hostMap), `the sandbox runs in a user namespace of its own (uid_map ${JSON.stringify(hostMap)})`);
          t.ok(hostMap.every((e) => e.hostID !== 0), 'which does not map host root: the container cannot act as host root');
          t.comment('the config\'s uidMappings (the pod\'s block) are not what this runsc uses: its sandbox maps only gVisor\'s own IDs');
          const inside = await bulwark.call(['--root', R, 'exec', bundle.id, '/bin/probe', 'self']);
          const self = parseProbeOutput<SelfReport>(inside.stdout);
          t.equal(self.status.Seccomp, '0', 'inside, no OCI seccomp filter: Bulwark does not pass --oci-seccomp to this runsc (see the skipped seccomp test)');
          t.equal(self.noNewPrivs, 1, 'an exec\'d process has no_new_privs (gVisor sets it for every process anyway)');
          t.equal((await bulwark.call(['--root', R, 'kill', bundle.id, 'SIGKILL'])).exitCode, 0, 'killed');
        } finally {
          await bulwark.call(['--root', bulwark.root, 'delete', '--force', bundle.id]);
          bundle.destroy();
        }
      });
    }
  });
}

/** create + start through Bulwark as containerd does; the container's host pid. */
async function startDetached(harness: BulwarkHarness, bundle: Bundle): Promise<number> {
  harness.track(bundle.id);
  const R = harness.root;
  const create = await harness.call(['--root', R, '--log', join(bundle.dir, 'log.json'), '--log-format', 'json', 'create', '--bundle', bundle.dir, '--pid-file', join(bundle.dir, 'init.pid'), bundle.id], { cwd: bundle.dir });
  if (create.exitCode !== 0) throw new Error(`create ${bundle.id} failed (exit ${create.exitCode}): ${create.stderr}`);
  const start = await harness.call(['--root', R, 'start', bundle.id]);
  if (start.exitCode !== 0) throw new Error(`start ${bundle.id} failed (exit ${start.exitCode}): ${start.stderr}`);
  return Number(readFileSync(join(bundle.dir, 'init.pid'), 'utf8').trim());
}

function hostUidMap(pid: number): IdMapEntry[] {
  return parseIdMap(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split('\n'));
}

t.test('pods: two live pods get disjoint blocks; a pod\'s containers share its block', { skip: unusable('runc') }, async (t) => {
  const cri = (type: 'sandbox' | 'container', sandboxId: string) => (spec: Spec) => {
    spec.annotations = { ...spec.annotations, 'io.kubernetes.cri.container-type': type, 'io.kubernetes.cri.sandbox-id': sandboxId };
  };
  const podA = await makeBundle({ label: 'pod-a', args: ['/bin/sleep', '120'] });
  const podB = await makeBundle({ label: 'pod-b', args: ['/bin/sleep', '120'] });
  const bundles: Bundle[] = [podA, podB];
  try {
    // Pod A is a CRI sandbox: its own id is the sandbox id.
    const sandboxSpec = podA.readSpec();
    cri('sandbox', podA.id)(sandboxSpec);
    podA.writeSpec(sandboxSpec);
    const pidA = await startDetached(bulwark, podA);
    const pidB = await startDetached(bulwark, podB);
    const [mapA, mapB] = [hostUidMap(pidA), hostUidMap(pidB)];
    const blockA = bulwark.podBlock(podA.id);
    const blockB = bulwark.podBlock(podB.id);
    t.not(blockA, blockB, `two pods, two blocks (${blockA}, ${blockB})`);
    t.same(mapA, [{ containerID: 0, hostID: pool.start + blockA! * ID_BLOCK, size: ID_BLOCK }], 'pod A\'s init runs in its block (host view of uid_map)');
    t.same(mapB, [{ containerID: 0, hostID: pool.start + blockB! * ID_BLOCK, size: ID_BLOCK }], 'pod B\'s likewise');
    const [a, b] = [mapA[0]!, mapB[0]!];
    t.ok(a.hostID + a.size <= b.hostID || b.hostID + b.size <= a.hostID, 'the two ranges do not overlap');
    t.ok([a, b].every((e) => e.hostID >= ID_BLOCK), 'neither reaches host IDs below 65536 (host root included)');

    // An app container of pod A (containerd CRI annotations) joins the sandbox's block.
    const app = await makeBundle({ label: 'pod-a-app', args: ['/bin/sleep', '120'], tweak: cri('container', podA.id) });
    bundles.push(app);
    const pidApp = await startDetached(bulwark, app);
    t.same(hostUidMap(pidApp), mapA, 'the app container of pod A runs in pod A\'s block');
    t.equal(bulwark.podBlock(app.id), undefined, 'and claimed no block of its own');
    t.equal(readlinkSync(`/proc/${pidApp}/ns/user`), readlinkSync(`/proc/${pidA}/ns/user`), 'it joined the sandbox\'s user namespace');
  } finally {
    for (const bundle of bundles.reverse()) {
      await bulwark.call(['--root', bulwark.root, 'delete', '--force', bundle.id]);
      bundle.destroy();
    }
  }
});

t.test('the runtime chosen by defaultRuntime in the config (no annotation): crun', { skip: unusable('crun') }, async (t) => {
  const runtime: LowLevelRuntime = 'crun';
  const harness = new BulwarkHarness({ label: 'default-crun', defaultRuntime: runtime });
  t.teardown(() => harness.dispose());
  const outcome = await runThrough<SelfReport>(harness, undefined, SELF_ARGS);
  const report = must(outcome);
  t.equal(outcome.original.annotations?.['io.bulwark.runtime'], undefined, 'the config names no runtime');
  t.equal(outcome.audit[0]?.runtime, runtime, `the audit line says ${runtime}`);
  t.same(outcome.record?.runtimeArgv, [harness.runtimePaths[runtime]], `the record hands over to ${runtime}`);
  t.same(parseIdMap(report.uid_map), blockMap(outcome), 'uid_map is the pod\'s block');
  t.same(capabilitySets(report).effective, allowedCaps(profile, outcome.original, 'effective'), 'CapEff = allowlist ∩ requested');
  t.equal(report.status.Seccomp, '2', 'seccomp filter on');
  const version = await harness.call(['--version']);
  const direct = await harness.direct(runtime, ['--version']);
  t.equal(version.stdout, direct.stdout, `a pass-through without an id goes to the default runtime: ${direct.stdout.split('\n')[0]}`);
});
