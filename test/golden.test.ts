// Golden tests: realistic configs through the SHIPPED profiles (profiles/*.yaml), asserting the
// decision and the fields that matter for each, not a blob.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { harden } from '../src/pipeline.js';
import type { HardenResult } from '../src/pipeline.js';
import { directorySource, loadProfile } from '../src/profile/load.js';
import type { Spec } from '../src/spec/index.js';
import { readFixture, runcSpec, testHost, deepFreeze } from './fixtures/index.js';
import type { HostFacts } from '../src/host/types.js';

const profiles = directorySource(fileURLToPath(new URL('../../profiles/', import.meta.url)));
const baseline = loadProfile(profiles, 'baseline');
const restricted = loadProfile(profiles, 'restricted');
const strict = loadProfile(profiles, 'strict');
const auditProfile = loadProfile(profiles, 'audit');

// The CRI fixtures join the sandbox's namespaces through /proc/48213/ns/*: not the host's.
const criHost = (over: Partial<HostFacts> = {}) =>
  testHost({
    cgroup: { mode: 'hybrid', controllers: [], swapAccounting: true },
    namespacePaths: { '/proc/48213/ns/ipc': 'other', '/proc/48213/ns/uts': 'other', '/proc/48213/ns/net': 'other' },
    podUserNamespace: '/proc/48213/ns/user',
    ...over,
  });

const denies = (r: HardenResult) => r.findings.filter((f) => f.action === 'deny');
const has = (r: HardenResult, rule: RegExp, path: RegExp, message: RegExp) =>
  r.findings.some((f) => rule.test(f.rule) && path.test(f.path) && message.test(f.message));

t.test('runc spec under baseline: allowed, and every guarantee added', async (t) => {
  const r = harden(deepFreeze(runcSpec()), baseline, testHost());
  t.equal(r.decision, 'allow', JSON.stringify(denies(r)));
  const s = r.spec;
  t.ok(s.linux?.namespaces?.some((n) => n.type === 'user'), 'user namespace added');
  t.same(s.linux?.uidMappings, [{ containerID: 0, hostID: 1_000_000_000, size: 65536 }]);
  t.same(s.linux?.gidMappings, [{ containerID: 0, hostID: 1_000_000_000, size: 65536 }]);
  t.equal(s.process?.noNewPrivileges, true);
  t.same(s.process?.capabilities?.ambient ?? [], [], 'ambient emptied');
  t.same(s.process?.capabilities?.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
  t.equal(s.linux?.seccomp?.defaultAction, 'SCMP_ACT_ERRNO', 'allowlist seccomp filter injected');
  // i386 is left out on purpose: libseccomp cannot check socket arguments behind socketcall(2)
  // there, so listing it would open AF_ALG; unlisted, every i386 syscall is killed (bad ABI).
  t.notOk(s.linux?.seccomp?.architectures?.includes('SCMP_ARCH_X86'), 'i386 ABI not listed, so killed');
  t.ok(s.linux?.seccomp?.architectures?.includes('SCMP_ARCH_X86_64'), 'native ABI covered');
  t.notOk(s.linux?.seccomp?.architectures?.includes('SCMP_ARCH_X32'), 'x32 not listed: its calls are killed as a bad ABI');
  const clone3 = s.linux?.seccomp?.syscalls?.find((r) => r.names.includes('clone3'));
  t.equal(clone3?.errnoRet, 38, 'clone3 answers ENOSYS');
  const allowed = new Set(s.linux?.seccomp?.syscalls?.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names));
  for (const blocked of ['bpf', 'keyctl', 'userfaultfd', 'io_uring_setup', 'unshare', 'mount', 'open_by_handle_at']) {
    t.notOk(allowed.has(blocked), `${blocked} not allowed`);
  }
  t.equal(s.linux?.resources?.memory?.limit, 2 * 1024 ** 3, 'default memory limit');
  t.equal(s.linux?.resources?.memory?.swap, 2 * 1024 ** 3, 'no swap on top of memory');
  t.equal(s.linux?.resources?.pids?.limit, 4096, 'default pids limit');
  t.ok(s.linux?.maskedPaths?.includes('/proc/interrupts'));
  t.ok(s.linux?.readonlyPaths?.includes('/proc/sysrq-trigger'));
});

t.test('CRI container under baseline: allowed with risky defaults repaired', async (t) => {
  const input = deepFreeze(readFixture('cri-container.json'));
  const r = harden(input, baseline, criHost());
  t.equal(r.decision, 'allow', JSON.stringify(denies(r)));
  const s = r.spec;
  for (const set of ['bounding', 'effective', 'permitted'] as const) {
    t.notOk(s.process?.capabilities?.[set]?.includes('CAP_NET_RAW'), `${set}: NET_RAW dropped`);
    t.notOk(s.process?.capabilities?.[set]?.includes('CAP_MKNOD'), `${set}: MKNOD dropped`);
    t.ok(s.process?.capabilities?.[set]?.includes('CAP_CHOWN'), `${set}: CHOWN kept`);
  }
  t.ok(has(r, /^capabilities$/, /process\.capabilities/, /CAP_NET_RAW/), 'drop explained');
  t.same(s.linux?.namespaces?.find((n) => n.type === 'user'), { type: 'user', path: '/proc/48213/ns/user' }, 'joins the pod user namespace');
  t.equal(s.linux?.resources?.memory?.limit, 268435456, 'the pod limit is kept');
  t.equal(s.linux?.resources?.pids?.limit, 4096, 'pids limit 0 (unset) gets the default');
  t.equal(s.annotations?.['io.kubernetes.cri.sandbox-id'], input.annotations?.['io.kubernetes.cri.sandbox-id'], 'annotations carried');
  const shm = s.mounts?.find((m) => m.destination === '/dev/shm');
  t.ok(shm?.options?.includes('nosuid') && shm.options.includes('nodev'), '/dev/shm bind gets nosuid,nodev');
  t.ok(shm?.options?.includes('noexec'), '/dev/shm bind gets noexec (locked on the source tmpfs in a user namespace)');
  t.equal(s.process?.args?.join(' '), '/usr/sbin/nginx -g daemon off;', 'process args untouched');
});

t.test('CRI container under restricted: refused for running as root', async (t) => {
  const r = harden(deepFreeze(readFixture('cri-container.json')), restricted, criHost());
  t.equal(r.decision, 'deny');
  t.ok(has(r, /runAsNonRoot/, /process\.user/, /root|uid 0/i), JSON.stringify(denies(r)));
});

t.test('CRI container running as non-root under restricted and strict', async (t) => {
  const input = readFixture('cri-container.json');
  const nonRoot: Spec = deepFreeze({ ...input, process: { ...input.process!, user: { uid: 1000, gid: 1000 } } });
  const host = criHost();
  // restricted requires a cgroup namespace, which containerd adds only on cgroup v2 hosts.
  const withCgroupNs: Spec = deepFreeze({ ...nonRoot, linux: { ...nonRoot.linux, namespaces: [...nonRoot.linux!.namespaces!, { type: 'cgroup' }] } });
  const r = harden(withCgroupNs, restricted, host);
  t.equal(r.decision, 'allow', JSON.stringify(denies(r)));
  t.same(r.spec.process?.capabilities?.bounding, ['CAP_NET_BIND_SERVICE'], 'restricted: only NET_BIND_SERVICE stays');
  const s = harden(withCgroupNs, strict, host);
  t.equal(s.decision, 'allow', JSON.stringify(denies(s)));
  t.equal(s.spec.root?.readonly, true, 'strict: read-only rootfs');
  t.same(s.spec.process?.capabilities?.bounding, [], 'strict: no capabilities at all');
  t.ok((s.spec.linux?.resources?.pids?.limit as number) <= 1024, 'strict: tight pids limit');
  const strictAllowed = s.spec.linux?.seccomp?.syscalls?.filter((x) => x.action === 'SCMP_ACT_ALLOW').flatMap((x) => x.names).length ?? 0;
  const baseAllowed = harden(withCgroupNs, baseline, host).spec.linux?.seccomp?.syscalls?.filter((x) => x.action === 'SCMP_ACT_ALLOW').flatMap((x) => x.names).length ?? 0;
  t.ok(strictAllowed < baseAllowed, `strict allows fewer syscalls (${strictAllowed} < ${baseAllowed})`);
});

t.test('privileged pod: refused, naming the capability, the devices and the seccomp profile', async (t) => {
  const r = harden(deepFreeze(readFixture('privileged-pod.json')), baseline, criHost());
  t.equal(r.decision, 'deny');
  t.ok(has(r, /^capabilities\.deny$/, /^process\.capabilities/, /CAP_SYS_ADMIN/), 'CAP_SYS_ADMIN named');
  t.ok(has(r, /^devices/, /linux\.resources\.devices/, /.+/), 'device wildcard named');
});

t.test('hostNetwork + hostPID pod: refused for sharing host namespaces', async (t) => {
  const r = harden(deepFreeze(readFixture('hostnetwork-hostpid-pod.json')), baseline, criHost());
  t.equal(r.decision, 'deny');
  t.ok(has(r, /^namespaces/, /linux\.namespaces/, /network/), 'network named');
  t.ok(has(r, /^namespaces/, /linux\.namespaces/, /pid/i), 'pid named');
});

// containerd 1.6 names the sandbox's namespaces by path for every app container; in a
// host-network pod the network and UTS ones are the host's.
const hostNetworkHost = () => criHost({ namespacePaths: { '/proc/48213/ns/ipc': 'other', '/proc/48213/ns/uts': 'host', '/proc/48213/ns/net': 'host' } });

t.test('host-network CRI app container: refused by baseline, restricted and strict', async (t) => {
  for (const profile of [baseline, restricted, strict]) {
    const r = harden(deepFreeze(readFixture('cri-container.json')), profile, hostNetworkHost());
    t.equal(r.decision, 'deny', profile.name);
    t.ok(has(r, /^namespaces$/, /linux\.namespaces/, /joins the host's network namespace/), `${profile.name}: network named`);
    t.ok(has(r, /^namespaces$/, /linux\.namespaces/, /joins the host's UTS namespace/), `${profile.name}: UTS named`);
  }
});

t.test('host-network CRI app container under a profile that allows host network: inherits it', async (t) => {
  const allowing = { ...baseline, rules: { ...baseline.rules, namespaces: { ...baseline.rules.namespaces, required: ['pid', 'ipc', 'mount'] as Array<'pid' | 'ipc' | 'mount'> } } };
  const r = harden(deepFreeze(readFixture('cri-container.json')), allowing, hostNetworkHost());
  t.equal(r.decision, 'allow', JSON.stringify(denies(r)));
  t.same(r.spec.linux?.namespaces, [
    { type: 'pid' }, { type: 'ipc', path: '/proc/48213/ns/ipc' }, { type: 'mount' }, { type: 'user', path: '/proc/48213/ns/user' },
  ], "the host's network and UTS by inheritance, the pod's IPC and user namespace by path");
  t.ok(r.spec.mounts?.some((m) => m.destination === '/sys' && m.type === 'bind' && m.options?.includes('ro')), '/sys a read-only bind');
});

t.test('pod mounting the container runtime socket: refused', async (t) => {
  const r = harden(deepFreeze(readFixture('runtime-socket-pod.json')), baseline, criHost());
  t.equal(r.decision, 'deny');
  t.ok(has(r, /^mounts/, /^mounts\[\d+\]/, /containerd\.sock|\/run\/containerd/), JSON.stringify(denies(r)));
});

t.test('prestart hook running /bin/sh: refused', async (t) => {
  const r = harden(deepFreeze(readFixture('prestart-shell-hook.json')), baseline, testHost({ realPaths: { '/bin/sh': '/usr/bin/dash' } }));
  t.equal(r.decision, 'deny');
  t.ok(has(r, /^hooks/, /hooks\.prestart\[0\]/, /\/bin\/sh|shell/), JSON.stringify(denies(r)));
});

t.test('audit profile reports everything and changes nothing', async (t) => {
  const input = deepFreeze(readFixture('privileged-pod.json'));
  const r = harden(input, auditProfile, criHost());
  t.equal(r.decision, 'allow');
  t.equal(r.mode, 'audit');
  t.equal(r.spec, input, 'the very same config object comes back');
  t.ok(r.findings.some((f) => f.action === 'deny' && /CAP_SYS_ADMIN/.test(f.message)), 'the would-be denial is reported');
});

t.test('every shipped profile hardens every fixture idempotently', async (t) => {
  const fixtures = ['runc-spec.json', 'cri-container.json', 'privileged-pod.json', 'hostnetwork-hostpid-pod.json', 'runtime-socket-pod.json', 'prestart-shell-hook.json'];
  for (const profile of [baseline, restricted, strict]) {
    for (const name of fixtures) {
      const once = harden(deepFreeze(readFixture(name)), profile, criHost());
      const twice = harden(deepFreeze(once.spec), profile, criHost());
      t.same(twice.spec, once.spec, `${profile.name}/${name}: second run changes nothing`);
      t.same(twice.findings.filter((f) => f.action === 'fix'), [], `${profile.name}/${name}: second run fixes nothing`);
    }
  }
});
