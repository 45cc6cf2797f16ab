// Control tests: the bare runtimes (runc, crun, runsc) with `runc spec`'s default config, probed
// from inside. They check the harness more than the runtimes: every fact the probe reports is
// shown to change when the config changes (a user namespace appears in uid_map, a seccomp rule
// turns the kernel's EFAULT into EPERM, a set-user-ID binary gives root only without
// no_new_privs...), so when Bulwark's tests rely on the same probe they rely on something that
// really detects what it claims. gVisor (runsc) runs its own kernel: where its answers are not
// Linux's, the test says so and records what gVisor does instead.
import t from 'tap';
import {
  LOW_LEVEL_RUNTIMES, addUserNamespace, capabilitySets, cgroupPaths, denySyscalls, hostIdOf, hostNamespaces,
  isIdentityMap, killOnSyscalls, maskHex, maskedProblems, mountOptions, openRuntime, parseIdMap, probeReport, readonlyProblems,
  runAs, runProbe, runcDefaultSpec, setCapabilities, setMemoryLimit, setNoNewPrivileges, setPidsLimit, sharedNamespaces,
  sortCaps, syscallProblems,
} from '../lib/index.js';
import type {
  ForkbombReport, LowLevelRuntime, MembombReport, RuntimeClient, SelfReport, SetuidReport, SyscallReport,
} from '../lib/index.js';

const MiB = 1024 * 1024;

const subjects = await Promise.all(
  LOW_LEVEL_RUNTIMES.map(async (name) => {
    const client = openRuntime(name);
    return { name, client, availability: await client.availability() };
  }),
);
t.teardown(async () => {
  for (const { client } of subjects) await client.dispose();
});

const defaultSpec = await runcDefaultSpec();
const defaultCaps = sortCaps(defaultSpec.process?.capabilities?.bounding ?? []);
const defaultMasked = new Set(defaultSpec.linux?.maskedPaths ?? []);

/** Why a check does not apply to gVisor, or false for the Linux runtimes. */
function onlyLinux(name: LowLevelRuntime, why: string): string | false {
  return name === 'runsc' ? `not for gVisor: ${why}` : false;
}

for (const { name, client, availability } of subjects) {
  const gvisor = name === 'runsc';
  t.test(name, { skip: availability.available ? false : availability.reason }, async (t) => {
    t.comment(`${availability.version ?? name}: ${availability.reason}`);

    t.test('default config: identity ID maps, runc spec capabilities, no_new_privs, no seccomp', async (t) => {
      const report = await probeReport<SelfReport>(client, ['self']);
      t.ok(isIdentityMap(parseIdMap(report.uid_map)), `uid_map is the identity: ${JSON.stringify(report.uid_map)}`);
      t.ok(isIdentityMap(parseIdMap(report.gid_map)), `gid_map is the identity: ${JSON.stringify(report.gid_map)}`);
      t.equal(report.uid, 0, 'runs as root');
      const caps = capabilitySets(report);
      t.same(caps.bounding, defaultCaps, 'CapBnd is runc spec\'s bounding set');
      t.same(caps.permitted, defaultCaps, 'CapPrm likewise');
      t.same(caps.effective, defaultCaps, 'CapEff likewise');
      t.same(caps.inheritable, [], 'CapInh is empty');
      t.equal(report.noNewPrivs, 1, 'prctl(PR_GET_NO_NEW_PRIVS) is 1: runc spec sets noNewPrivileges');
      t.equal(report.status.Seccomp, '0', 'Seccomp 0: runc spec has no filter');
      if (gvisor) {
        // gVisor's /proc/self/status is its own: no CapAmb, NoNewPrivs or Seccomp_filters lines.
        t.same(Object.keys(report.status).filter((k) => ['CapAmb', 'NoNewPrivs', 'Seccomp_filters'].includes(k)), [],
          'gVisor prints no CapAmb, NoNewPrivs or Seccomp_filters in /proc/self/status');
      } else {
        // runc spec lists ambient capabilities but no inheritable ones; the kernel raises an
        // ambient capability only if it is also inheritable, so none are.
        t.same(caps.ambient, [], 'CapAmb is empty (ambient needs inheritable)');
        t.equal(report.status.NoNewPrivs, '1', 'NoNewPrivs 1 in /proc/self/status');
        t.equal(report.status.Seccomp_filters, '0', 'Seccomp_filters 0');
      }
    });

    t.test('default config: namespaces, cgroup and mounts', async (t) => {
      let cgroupsPath = '';
      const report = await probeReport<SelfReport>(client, ['self'], { inspect: (spec) => (cgroupsPath = spec.linux?.cgroupsPath ?? '') });
      t.match(cgroupsPath, /^\/bulwark-test\/bw-/, 'the harness gave an absolute cgroupsPath');
      t.ok(mountOptions(report, '/').has('ro'), 'the rootfs is read-only (root.readonly)');
      t.ok(mountOptions(report, '/sys').has('ro'), '/sys is read-only');
      if (gvisor) {
        // gVisor's namespace links (user:[112]...) name the sentry's own objects; they cannot be
        // compared with the host's. Its /proc/self/cgroup is empty: no host cgroups show inside.
        t.same(report.cgroup, [], 'gVisor shows no cgroups inside');
        t.equal(report.mounts['/']?.fstype, '9p', 'gVisor serves the rootfs over 9p from its gofer');
        return;
      }
      const host = hostNamespaces();
      t.same(sharedNamespaces(report, host), (['user', 'cgroup', 'time'] as const).filter((kind) => host[kind] !== null),
        'only the user, cgroup and time namespaces are the host\'s (runc spec asks for pid, network, ipc, uts, mount)');
      const paths = cgroupPaths(report);
      for (const controller of ['memory', 'pids', 'cpu', 'devices', 'freezer']) {
        t.equal(paths.get(controller), cgroupsPath, `the ${controller} cgroup is the one the config named`);
      }
      for (const option of ['nosuid', 'nodev', 'noexec']) t.ok(mountOptions(report, '/sys').has(option), `/sys is ${option}`);
    });

    t.test('default config: masked and read-only paths', async (t) => {
      const report = await probeReport<SelfReport>(client, ['self']);
      const probed = Object.keys(report.masked);
      if (gvisor) {
        // gVisor's /proc simply lacks most of these files; /sys/firmware is an empty directory
        // rather than a masking tmpfs, and /proc/sys is its own emulation, not a read-only bind
        // (it refuses chmod with EPERM). Recorded so a change in runsc shows up here.
        t.same(maskedProblems(report), ['/sys/firmware: exposed (empty-dir)'], 'everything else is absent in gVisor');
        t.same(readonlyProblems(report), ['/proc/sys: writable (chmod: EPERM)'], 'gVisor does not bind /proc/sys read-only');
        return;
      }
      t.same(maskedProblems(report, probed.filter((p) => defaultMasked.has(p))), [], 'runc spec\'s masked paths are masked or absent');
      t.equal(report.masked['/proc/interrupts']?.state, 'exposed', 'the probe sees /proc/interrupts exposed: runc spec does not mask it');
      t.same(readonlyProblems(report), [], '/proc/sys, /proc/irq, /proc/bus are read-only (EROFS), /proc/sysrq-trigger absent here');
      const modes = Object.values(report.masked).map((m) => m.how).filter(Boolean);
      t.ok(modes.includes('devnull') && modes.includes('ro-tmpfs'), 'both masking tricks (/dev/null bind, read-only tmpfs) are recognised');
    });

    t.test('the probe sees a user namespace mapping 0 -> 100000 (65536)', async (t) => {
      const report = await probeReport<SelfReport>(client, ['self'], {
        tweak: (spec) => addUserNamespace(spec, 100000, 65536),
        rootfsOwner: { uid: 100000, gid: 100000 },
      });
      const uidMap = parseIdMap(report.uid_map);
      if (gvisor) {
        // The sentry applies the mapping to its own host process; inside, gVisor's user
        // namespace is the identity. Check the host side (the sandbox's /proc/<pid>) instead.
        t.ok(isIdentityMap(uidMap), 'inside gVisor the map is the identity whatever the config says');
        return;
      }
      t.same(uidMap, [{ containerID: 0, hostID: 100000, size: 65536 }], 'uid_map as configured');
      t.same(parseIdMap(report.gid_map), [{ containerID: 0, hostID: 100000, size: 65536 }], 'gid_map as configured');
      t.equal(hostIdOf(uidMap, 0), 100000, 'container root is host uid 100000');
      t.notOk(sharedNamespaces(report).includes('user'), 'the user namespace is not the host\'s');
    });

    t.test('the probe sees capabilities reduced to CAP_CHOWN', async (t) => {
      const report = await probeReport<SelfReport>(client, ['self'], { tweak: (spec) => setCapabilities(spec, ['CAP_CHOWN']) });
      for (const field of ['CapBnd', 'CapPrm', 'CapEff'] as const) {
        t.equal(report.status[field], maskHex(['CAP_CHOWN']), `${field} is exactly CAP_CHOWN`);
      }
      t.same(capabilitySets(report).bounding, ['CAP_CHOWN'], 'and decodes to that name');
    });

    t.test('the probe tells a seccomp EPERM from the kernel\'s own answer', { skip: onlyLinux(name, 'runsc ignores linux.seccomp without --oci-seccomp (next test); its syscalls are gVisor\'s (bpf is always EPERM there)') }, async (t) => {
      const plain = await probeReport<SyscallReport>(client, ['syscall', 'all']);
      const filtered = await probeReport<SyscallReport>(client, ['syscall', 'bpf'], { tweak: (spec) => denySyscalls(spec, ['bpf']) });
      t.same(syscallProblems(plain, { bpf: 'reached' }), [], 'without a filter bpf(BPF_PROG_LOAD, NULL) reaches the kernel: EFAULT');
      t.same(syscallProblems(filtered, { bpf: 'blocked' }), [], 'with a rule for bpf it is EPERM');

      // The probe's table claims that for its "filter" rows EPERM can only come from seccomp.
      // Show it: without a filter none of them is EPERM; with every syscall denied, all are.
      const blockedWithoutFilter = Object.entries(plain).filter(([, o]) => o.verdict === 'blocked').map(([n]) => n);
      t.same(blockedWithoutFilter, [], 'no attempt looks seccomp-blocked when there is no filter');
      // clone stays allowed: the probe forks one child per attempt.
      const names = [...new Set(Object.values(plain).map((o) => o.syscall))].filter((s) => s !== 'clone') as [string, ...string[]];
      const denied = await probeReport<SyscallReport>(client, ['syscall', 'all'], { tweak: (spec) => denySyscalls(spec, names) });
      const notEperm = Object.entries(denied).filter(([n, o]) => n !== 'clone_newuser' && o.errno !== 'EPERM').map(([n, o]) => `${n}: ${o.errno}`);
      t.same(notEperm, [], `with ${names.length} syscalls denied every attempt gets EPERM`);
      const killed = await probeReport<SyscallReport>(client, ['syscall', 'bpf', 'setns'], { tweak: (spec) => killOnSyscalls(spec, ['bpf']) });
      t.same(syscallProblems(killed, { bpf: 'killed', setns: 'reached' }), [], 'SCMP_ACT_KILL_PROCESS shows as a kill, and only that attempt dies');
      t.equal(killed.bpf?.signal, 'SIGSYS', 'by SIGSYS');
      const self = await probeReport<SelfReport>(client, ['self'], { tweak: (spec) => denySyscalls(spec, ['bpf']) });
      t.equal(self.status.Seccomp, '2', 'Seccomp 2 (filter mode) with a filter');
      t.equal(self.status.Seccomp_filters, '1', 'one filter installed');
    });

    if (gvisor) t.test('runsc applies linux.seccomp only with --oci-seccomp', async (t) => {
      const deny = (spec: Parameters<typeof denySyscalls>[0]) => denySyscalls(spec, ['setns', 'keyctl']);
      const ignored = await probeReport<SyscallReport>(client, ['syscall', 'setns', 'keyctl'], { tweak: deny });
      t.same(syscallProblems(ignored, { setns: { errno: 'EOPNOTSUPP' }, keyctl: { errno: 'EACCES' } }), [],
        'without --oci-seccomp the filter is silently ignored (gVisor\'s own errnos come back)');
      const withFlag: RuntimeClient = openRuntime('runsc', { ociSeccomp: true });
      t.teardown(() => withFlag.dispose());
      const applied = await probeReport<SyscallReport>(withFlag, ['syscall', 'setns', 'keyctl'], { tweak: deny });
      t.same(syscallProblems(applied, { setns: 'blocked', keyctl: 'blocked' }), [], 'with --oci-seccomp both are EPERM');
      const self = await probeReport<SelfReport>(withFlag, ['self'], { tweak: deny });
      t.equal(self.status.Seccomp, '2', 'and gVisor reports Seccomp 2');
    });

    t.test('no_new_privs: a set-user-ID root binary gives no root', async (t) => {
      const report = await probeReport<SetuidReport>(client, ['setuid'], { tweak: (spec) => runAs(spec, 1000, 1000) });
      t.equal(report.mode, '4755', '/bin/probe-suid is set-user-ID');
      t.equal(report.owner, 0, 'and owned by root');
      t.equal(report.before.euid, 1000, 'the probe runs as uid 1000');
      t.equal(report.after?.euid, 1000, 'exec of the setuid binary keeps euid 1000');
      t.equal(report.after?.noNewPrivs, 1, 'no_new_privs is set');
    });

    t.test('without no_new_privs the same binary gives euid 0', async (t) => {
      const report = await probeReport<SetuidReport>(client, ['setuid'], {
        tweak: (spec) => {
          runAs(spec, 1000, 1000);
          setNoNewPrivileges(spec, false);
        },
      });
      if (gvisor) {
        // runsc sets no_new_privs for every container whatever the config asks.
        t.equal(report.before.noNewPrivs, 1, 'gVisor keeps no_new_privs even when the config turns it off');
        t.equal(report.after?.euid, 1000, 'so the setuid bit still gives nothing');
        return;
      }
      t.equal(report.before.noNewPrivs, 0, 'no_new_privs is off');
      t.equal(report.after?.euid, 0, 'the setuid bit works: the probe really can tell');
    });

    const pidsSkip = onlyLinux(name, 'a pids limit on runsc bounds the sandbox\'s host threads, not the guest\'s processes; at 32 the sentry\'s Go runtime cannot start threads and runsc dies ("fatal error: newosproc")');
    t.test('pids.limit 32 stops a fork bomb near 32 with EAGAIN', { skip: pidsSkip }, async (t) => {
      const bomb = await probeReport<ForkbombReport>(client, ['forkbomb', '100'], { tweak: (spec) => setPidsLimit(spec, 32) });
      t.ok(bomb.forked >= 24 && bomb.forked <= 31, `forked ${bomb.forked} children besides itself (limit 32)`);
      t.equal(bomb.errno, 'EAGAIN', 'fork failed with EAGAIN');
      t.equal(bomb.reaped, bomb.forked, 'and the probe reaped them all');
      const free = await probeReport<ForkbombReport>(client, ['forkbomb', '64']);
      t.same([free.forked, free.errno], [64, null], 'control: without the limit 64 forks succeed');
    });

    const memorySkip = onlyLinux(name, 'a memory limit on runsc bounds the whole sandbox (sentry, gofer and guest together); the guest sees gVisor\'s own accounting');
    t.test('memory 32 MiB (+swap equal): the memory bomb is killed', { skip: memorySkip }, async (t) => {
      const limit = (spec: Parameters<typeof setMemoryLimit>[0]) => setMemoryLimit(spec, 32 * MiB, 32 * MiB);
      const bomb = await runProbe<MembombReport>(client, ['membomb', '256'], { tweak: limit });
      t.equal(bomb.result.exitCode, 137, `the runtime reports 128+SIGKILL (stderr ends: ${bomb.result.stderr.slice(-60).trim()})`);
      t.equal(bomb.report, undefined, 'the probe never got to print its report');
      const reached = Math.max(0, ...[...bomb.result.stderr.matchAll(/membomb: (\d+) MiB/g)].map((m) => Number(m[1])));
      t.ok(reached >= 16 && reached < 32, `it was killed after touching ${reached} MiB, below the 32 MiB limit`);
      const small = await probeReport<MembombReport>(client, ['membomb', '8'], { tweak: limit });
      t.same([small.allocated, small.errno], [8, null], 'control: 8 MiB under the same limit is fine');
    });
  });
}
