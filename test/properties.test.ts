// Properties of the whole chain over generated configs, for every shipped profile:
// it never throws, its output is a valid runtime-spec config, hardening twice changes nothing,
// nothing is ever looser than the input, fields it does not own are carried through untouched,
// and the audit profile changes nothing. FUZZ_RUNS is the number of generated configs per run
// (default 10,000, spread over the profiles); FUZZ_SEED replays a run. The figures go to
// build/assurance/fuzz.json for docs/SECURITY.md.
import t from 'tap';
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { harden } from '../src/pipeline.js';
import { directorySource, loadProfile } from '../src/profile/load.js';
import { specProblems } from '../src/spec/index.js';
import type { Spec, Mount } from '../src/spec/index.js';
import { runcSpec, testHost } from './fixtures/index.js';
import type { HostFacts } from '../src/host/types.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
t.setTimeout(600_000);

const profiles = directorySource(fileURLToPath(new URL('../../profiles/', import.meta.url)));

const CAPS = ['CAP_SYS_RAWIO', 'CAP_SYS_BOOT', 'CAP_PERFMON', 'CAP_CHECKPOINT_RESTORE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_ADMIN', 'CAP_SYS_MODULE', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP', 'CAP_BPF', 'CAP_SYS_RESOURCE', 'CAP_IPC_LOCK'];
const NS = ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'] as const;
/** Namespace paths: the host's (by the probe's facts below), another container's, missing. */
const NS_PATHS = [null, null, null, '/proc/1/ns/net', '/proc/4242/ns/net', '/proc/1/ns/pid', '/proc/1/ns/ipc', '/proc/7/ns/uts', '/proc/999999/ns/net'];
const SOURCES = ['/data/volume', '/run/containerd/containerd.sock', '/var/lib/kubelet', '/sys/fs/cgroup', '/dev', '/root/.ssh', 'relative/dir', '/proc/sys', '/boot', '/var/run/docker.sock', '/etc', '/etc/ssl/certs', '/', '/var/lib/kubelet/pods/p/volumes/v', '/tmp/innocent', '/dev/null', '/proc', '/home/app', '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/s/hosts'];
const OPTIONS = ['ro', 'rw', 'nosuid', 'nodev', 'noexec', 'rbind', 'bind', 'shared', 'rshared', 'rprivate', 'rslave', 'suid', 'dev', 'exec', 'remount', 'unbindable', 'mode=1777', 'size=64m'];
const SYSCALLS = ['read', 'write', 'openat', 'close', 'bpf', 'mount', 'unshare', 'clone', 'clone3', 'keyctl', 'ptrace', 'socket', 'io_uring_setup', 'execve', 'exit_group'];
const SYSCTLS = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'kernel.randomize_va_space', 'vm.overcommit_memory', 'net.core.somaxconn', 'kernel.msgmax'];
const MASKED = ['/proc/kcore', '/proc/keys', '/custom/masked', '/proc/acpi'];
const HOOK_PATHS = ['/bin/sh', '/usr/bin/nvidia-ctk', '/opt/hook', '/usr/bin/nvidia-container-runtime-hook'];
const U64 = [undefined, -1, 0, 1, 4096, 1024 ** 2, 64 * 1024 ** 2, 2 * 1024 ** 3, 200 * 1024 ** 3, 2 ** 53 - 1, 9007199254740993n, 9223372036854775807n];

const subset = <T>(items: readonly T[]) => fc.subarray([...items]);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const mountArb: fc.Arbitrary<Mount> = fc.record({
  destination: fc.constantFrom('/data', '/run/sock', '/etc/app', '/mnt/x', '/sys', '/var/log/app', '/proc', '/sys/fs/cgroup', '/dev/shm', '/data/../../etc', '/'),
  type: fc.constantFrom('bind', 'bind', 'tmpfs', 'sysfs', 'proc', 'cgroup', 'cgroup2', 'overlay'),
  source: fc.constantFrom(...SOURCES),
  options: subset(OPTIONS),
});

const configArb = fc.record({
  caps: fc.record({ bounding: subset(CAPS), effective: subset(CAPS), permitted: subset(CAPS), inheritable: subset(CAPS), ambient: subset(CAPS) }, { requiredKeys: [] }),
  nnp: maybe(fc.boolean()),
  namespaces: subset(NS),
  hostNsPath: fc.constantFrom(...NS_PATHS),
  mounts: fc.array(mountArb, { maxLength: 4 }),
  memory: fc.constantFrom(...U64),
  swap: fc.constantFrom(...U64),
  pids: fc.constantFrom(...U64),
  disableOOMKiller: maybe(fc.boolean()),
  seccomp: fc.oneof(
    fc.constant(undefined),
    fc.constant({ defaultAction: 'SCMP_ACT_ALLOW' as const }),
    fc.record({ defaultAction: fc.constantFrom('SCMP_ACT_ERRNO' as const, 'SCMP_ACT_KILL' as const), allow: subset(SYSCALLS) }),
  ),
  rlimitHard: fc.constantFrom(undefined, 1024, 4096, 1048576, 18446744073709551615n),
  sysctls: subset(SYSCTLS),
  masked: subset(MASKED),
  hooks: subset(HOOK_PATHS),
  uid: fc.constantFrom(0, 1000, 65534),
  cwd: fc.constantFrom('/', '/app', '/proc/self/fd/7', '/proc'),
  oom: fc.integer({ min: -1000, max: 1000 }),
  readonlyRoot: fc.boolean(),
  devices: subset([{ allow: false, access: 'rwm' }, { allow: true, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'rw' }]),
  /** Keep out what is always refused, so the allowed half of the properties is exercised too. */
  tame: fc.boolean(),
  // Hostile and unusual shapes.
  userns: fc.constantFrom('none', 'pool', 'host-root', 'outside-pool'),
  apparmor: fc.constantFrom(undefined, 'unconfined', 'runtime/default', 'my-profile'),
  selinux: fc.constantFrom(undefined, 'system_u:system_r:spc_t:s0', 'system_u:system_r:container_t:s0:c1,c2', 'garbage'),
  propagation: fc.constantFrom(undefined, 'shared', 'private', 'slave', 'unbindable'),
  cpu: fc.record({ shares: fc.constantFrom(undefined, 0, 2, 1024, 262144, 18446744073709551615n), quota: fc.constantFrom(undefined, -1, 0, 50000, 9223372036854775807n), period: fc.constantFrom(undefined, 100000) }),
  seccompArg: fc.constantFrom(undefined, 0, 1, 18446744073709551615n, 9223372036854775808n),
  ambientAsRoot: fc.boolean(),
  /** Sections left out entirely (the chain must add or refuse, never crash). */
  missing: subset(['capabilities', 'resources', 'namespaces', 'mounts', 'rlimits', 'maskedPaths', 'linux', 'process', 'root', 'hooks'] as const),
  /** Fields the runtime-spec does not define: carried through untouched. */
  extra: fc.constantFrom(undefined, { vendor: 'acme', knob: 18446744073709551615n }, { nested: [1, 'x', null, { deep: true }] }),
  annotations: fc.dictionary(fc.constantFrom('io.kubernetes.cri.container-type', 'example.com/x', 'io.bulwark.runtime', 'a'), fc.constantFrom('sandbox', 'container', 'runc', ''), { maxKeys: 3 }),
});

const SAFE_SOURCES = new Set(['/data/volume', '/var/lib/kubelet/pods/p/volumes/v', '/home/app']);
const REFUSED_CAPS = new Set(['CAP_SYS_RAWIO', 'CAP_SYS_BOOT', 'CAP_PERFMON', 'CAP_CHECKPOINT_RESTORE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_SYS_ADMIN', 'CAP_SYS_MODULE', 'CAP_SYS_PTRACE', 'CAP_NET_ADMIN', 'CAP_BPF', 'CAP_SYS_RESOURCE', 'CAP_DAC_READ_SEARCH']);

type Generated = typeof configArb extends fc.Arbitrary<infer G> ? G : never;

function tamed(g: Generated): Generated {
  if (!g.tame) return g;
  const caps = Object.fromEntries(Object.entries(g.caps).map(([k, v]) => [k, v.filter((c) => !REFUSED_CAPS.has(c))]));
  return {
    ...g,
    caps,
    namespaces: [...NS],
    hostNsPath: null,
    userns: g.userns === 'host-root' || g.userns === 'outside-pool' ? 'none' : g.userns,
    apparmor: undefined,
    selinux: undefined,
    propagation: g.propagation === 'shared' ? undefined : g.propagation,
    missing: g.missing.filter((m) => !['root', 'namespaces', 'linux', 'resources', 'process'].includes(m)),
    annotations: {},
    mounts: g.mounts.filter((m) => m.type === 'bind' && SAFE_SOURCES.has(m.source!)).filter((m) => ['/data', '/run/sock', '/etc/app', '/mnt/x', '/var/log/app'].includes(m.destination)),
    sysctls: g.sysctls.filter((k) => k === 'net.ipv4.ip_local_port_range'),
    hooks: [],
    uid: 1000,
    cwd: '/app',
    oom: Math.max(g.oom, 0),
    devices: [{ allow: false, access: 'rwm' }, ...g.devices.filter((d) => !d.allow && d.type !== undefined)],
  };
}

const NS_OF_PATH: Record<string, string> = { net: 'network', pid: 'pid', ipc: 'ipc', uts: 'uts' };
const POOL_START = 1_000_000_000;

function idMappings(kind: Generated['userns']): { uidMappings?: unknown; gidMappings?: unknown } {
  const at = (hostID: number) => [{ containerID: 0, hostID, size: 65536 }];
  switch (kind) {
    case 'pool': return { uidMappings: at(POOL_START), gidMappings: at(POOL_START) };
    case 'host-root': return { uidMappings: at(0), gidMappings: at(0) };
    case 'outside-pool': return { uidMappings: at(100_000), gidMappings: at(100_000) };
    default: return {};
  }
}

function build(generated: Generated): Spec {
  const g = tamed(generated);
  const base = runcSpec();
  const nsPathType = g.hostNsPath ? NS_OF_PATH[g.hostNsPath.split('/')[4]!] : undefined;
  const namespaces: Array<{ type: string; path?: string }> = g.namespaces.map((type) => (type === nsPathType ? { type, path: g.hostNsPath! } : { type }));
  if (g.userns !== 'none') namespaces.push({ type: 'user' });
  const resources: NonNullable<NonNullable<Spec['linux']>['resources']> = { devices: g.devices };
  if (g.memory !== undefined || g.swap !== undefined || g.disableOOMKiller !== undefined) {
    resources.memory = {
      ...(g.memory !== undefined ? { limit: g.memory } : {}),
      ...(g.swap !== undefined ? { swap: g.swap } : {}),
      ...(g.disableOOMKiller !== undefined ? { disableOOMKiller: g.disableOOMKiller } : {}),
    };
  }
  if (g.pids !== undefined) resources.pids = { limit: g.pids };
  const cpu = Object.fromEntries(Object.entries(g.cpu).filter(([, v]) => v !== undefined));
  if (Object.keys(cpu).length) resources.cpu = cpu;
  const argRule = g.seccompArg === undefined ? [] : [{ names: ['personality'], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 0, value: g.seccompArg, op: 'SCMP_CMP_EQ' as const }] }];
  const seccomp = g.seccomp === undefined ? undefined
    : 'allow' in g.seccomp ? { defaultAction: g.seccomp.defaultAction, syscalls: [...(g.seccomp.allow.length ? [{ names: g.seccomp.allow as [string, ...string[]], action: 'SCMP_ACT_ALLOW' as const }] : []), ...argRule] }
    : g.seccomp;
  const caps = g.ambientAsRoot ? { ...g.caps, ambient: g.caps.permitted ?? [] } : g.caps;
  const spec: Record<string, unknown> = {
    ...base,
    root: { path: 'rootfs', readonly: g.readonlyRoot },
    process: {
      ...base.process!,
      cwd: g.cwd,
      user: { uid: g.uid, gid: g.uid },
      capabilities: caps,
      oomScoreAdj: g.oom,
      ...(g.nnp === undefined ? { noNewPrivileges: undefined } : { noNewPrivileges: g.nnp }),
      rlimits: g.rlimitHard === undefined ? [] : [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: g.rlimitHard }],
      ...(g.apparmor ? { apparmorProfile: g.apparmor } : {}),
      ...(g.selinux ? { selinuxLabel: g.selinux } : {}),
    },
    mounts: [...(base.mounts ?? []), ...g.mounts],
    hooks: g.hooks.length ? { prestart: g.hooks.map((path) => ({ path })) } : undefined,
    linux: {
      ...base.linux!,
      namespaces,
      ...idMappings(g.userns),
      resources,
      seccomp,
      sysctl: Object.fromEntries(g.sysctls.map((k) => [k, '1'])),
      maskedPaths: g.masked,
      readonlyPaths: [],
      ...(g.propagation ? { rootfsPropagation: g.propagation } : {}),
    },
    ...(Object.keys(g.annotations).length ? { annotations: g.annotations } : {}),
    ...(g.extra ? { 'x-extra': g.extra } : {}),
  };
  const proc = spec.process as Record<string, unknown>;
  const linux = spec.linux as Record<string, unknown>;
  for (const section of g.missing) {
    if (section === 'capabilities' || section === 'rlimits') delete proc[section];
    else if (section === 'resources' || section === 'namespaces' || section === 'maskedPaths') delete linux[section];
    else delete spec[section];
  }
  return spec as unknown as Spec;
}

const host: HostFacts = testHost({
  cgroup: { mode: 'v2', controllers: ['cpu', 'memory', 'pids'], swapAccounting: true },
  namespacePaths: { '/proc/1/ns/net': 'host', '/proc/4242/ns/net': 'other', '/proc/1/ns/pid': 'host', '/proc/1/ns/ipc': 'host', '/proc/7/ns/uts': 'other', '/proc/999999/ns/net': 'missing' },
  lsm: { apparmor: true, selinux: true },
  realPaths: { '/tmp/innocent': '/var/run/docker.sock' },
});

const big = (v: unknown) => (typeof v === 'bigint' ? v : BigInt(v as number));
const positive = (v: unknown) => v !== undefined && big(v) > 0n;
type Filter = NonNullable<Spec['linux']>['seccomp'];
const blockedByFilter = (s: Filter, name: string): boolean => {
  if (!s) return false;
  const allowedBy = (s.syscalls ?? []).some((r) => r.names.includes(name) && ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_NOTIFY'].includes(r.action));
  const isDefaultBlock = !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'].includes(s.defaultAction);
  return isDefaultBlock && !allowedBy;
};

/** Every way the output may not be looser than the input; returns the violations. */
function loosenings(input: Spec, output: Spec): string[] {
  const v: string[] = [];
  for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
    const before = input.process?.capabilities?.[set];
    const after = output.process?.capabilities?.[set] ?? [];
    if (before === undefined) {
      if (after.length) v.push(`capabilities.${set} appeared`);
    } else for (const c of after) if (!before.includes(c)) v.push(`capabilities.${set} gained ${c}`);
  }
  if (input.process?.noNewPrivileges === true && output.process?.noNewPrivileges !== true) v.push('noNewPrivileges lost');
  for (const p of input.linux?.maskedPaths ?? []) if (!output.linux?.maskedPaths?.includes(p)) v.push(`masked ${p} lost`);
  for (const p of input.linux?.readonlyPaths ?? []) if (!output.linux?.readonlyPaths?.includes(p)) v.push(`readonly ${p} lost`);
  const outNs = new Set((output.linux?.namespaces ?? []).map((n) => n.type));
  for (const n of input.linux?.namespaces ?? []) if (!outNs.has(n.type)) v.push(`namespace ${n.type} lost`);
  const mem = (s: Spec) => s.linux?.resources?.memory?.limit;
  if (positive(mem(input)) && !(positive(mem(output)) && big(mem(output)) <= big(mem(input)))) v.push('memory limit raised');
  const pids = (s: Spec) => s.linux?.resources?.pids?.limit;
  if (positive(pids(input)) && !(positive(pids(output)) && big(pids(output)) <= big(pids(input)))) v.push('pids limit raised');
  if (input.root?.readonly && !output.root?.readonly) v.push('readonly root lost');
  for (const name of SYSCALLS) {
    if (blockedByFilter(input.linux?.seccomp, name) && !blockedByFilter(output.linux?.seccomp, name)) v.push(`syscall ${name} unblocked`);
  }
  for (const k of Object.keys(output.linux?.sysctl ?? {})) if (!(k in (input.linux?.sysctl ?? {}))) v.push(`sysctl ${k} added`);
  const hooks = (s: Spec) => Object.values(s.hooks ?? {}).flat().map((h) => h!.path);
  for (const h of hooks(output)) if (!hooks(input).includes(h)) v.push(`hook ${h} added`);
  const allows = (s: Spec) => (s.linux?.resources?.devices ?? []).filter((d) => d.allow).map((d) => JSON.stringify(d));
  for (const d of allows(output)) if (!allows(input).includes(d)) v.push(`device rule ${d} added`);
  for (const r of output.process?.rlimits ?? []) {
    const before = input.process?.rlimits?.find((x) => x.type === r.type);
    if (before && big(r.hard) > big(before.hard)) v.push(`rlimit ${r.type} raised`);
  }
  if ((output.process?.oomScoreAdj ?? 0) < (input.process?.oomScoreAdj ?? 0)) v.push('oomScoreAdj lowered');
  const protective = ['ro', 'nosuid', 'nodev', 'noexec'];
  for (const m of output.mounts ?? []) {
    const candidates = (input.mounts ?? []).filter((x) => x.destination === m.destination && x.source === m.source);
    if (candidates.length === 0) {
      if (m.type !== 'bind') continue;
      // e.g. sysfs replaced by a read-only bind of /sys
      if (!(m.options ?? []).includes('ro')) v.push(`mount ${m.destination} added writable`);
      continue;
    }
    // Several input mounts may share destination and source: the output must keep the
    // protective options of at least one of them.
    const kept = candidates.some((before) => protective.every((o) => !before.options?.includes(o) || m.options?.includes(o)));
    if (!kept) v.push(`mount ${m.destination} lost a protective option`);
  }
  const typed = (s: Spec, type: string) => (s.mounts ?? []).filter((m) => m.type === type).length;
  for (const type of ['proc', 'sysfs', 'cgroup', 'cgroup2', 'overlay']) if (typed(output, type) > typed(input, type)) v.push(`a ${type} mount added`);
  v.push(...sandboxLoosenings(input, output));
  return v;
}

const BLOCKING = (action: string | undefined) => action !== undefined && !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'].includes(action);
const mapsHostRoot = (maps: ReadonlyArray<{ hostID: number; size: number }> | undefined) => (maps ?? []).some((m) => m.hostID === 0 || (m.hostID < 0 && m.hostID + m.size > 0));
const UNCONFINED_SELINUX = /:(spc_t|unconfined_t)(:|$)/;

/** The sandbox around the process: seccomp, user namespace, ID maps, joined namespaces, LSM labels, propagation, CPU. */
function sandboxLoosenings(input: Spec, output: Spec): string[] {
  const v: string[] = [];
  const inSec = input.linux?.seccomp;
  const outSec = output.linux?.seccomp;
  if (inSec && !outSec) v.push('seccomp removed');
  if (inSec && outSec && BLOCKING(inSec.defaultAction) && !BLOCKING(outSec.defaultAction)) v.push(`seccomp default ${inSec.defaultAction} became ${outSec.defaultAction}`);
  const hasUser = (s: Spec) => (s.linux?.namespaces ?? []).some((n) => n.type === 'user');
  if (hasUser(input) && !hasUser(output)) v.push('user namespace removed');
  for (const key of ['uidMappings', 'gidMappings'] as const) {
    if (!mapsHostRoot(input.linux?.[key]) && mapsHostRoot(output.linux?.[key])) v.push(`${key} now map host root`);
  }
  const inNs = new Map((input.linux?.namespaces ?? []).map((n) => [n.type, n.path]));
  for (const n of output.linux?.namespaces ?? []) {
    if (!inNs.has(n.type) || n.path === undefined) continue;
    if (inNs.get(n.type) !== n.path) v.push(`namespace ${n.type} now joins ${n.path}`);
  }
  const uid = (s: Spec) => s.process?.user?.uid;
  if (uid(input) !== undefined && uid(input) !== 0 && uid(output) === 0) v.push('process now runs as uid 0');
  const aa = (s: Spec) => s.process?.apparmorProfile;
  if (aa(input) && aa(input) !== 'unconfined' && (!aa(output) || aa(output) === 'unconfined')) v.push('apparmor confinement removed');
  const se = (s: Spec) => s.process?.selinuxLabel;
  if (se(input) && !UNCONFINED_SELINUX.test(se(input)!) && (!se(output) || UNCONFINED_SELINUX.test(se(output)!))) v.push('selinux confinement removed');
  const shared = (p: string | undefined) => p === 'shared' || p === 'rshared';
  if (!shared(input.linux?.rootfsPropagation) && shared(output.linux?.rootfsPropagation)) v.push('rootfs propagation made shared');
  const quota = (s: Spec) => s.linux?.resources?.cpu?.quota;
  if (positive(quota(input)) && !(positive(quota(output)) && big(quota(output)) <= big(quota(input)))) v.push('cpu quota raised');
  if (input.process?.capabilities && !output.process?.capabilities && output.process) v.push('capabilities section removed (runc would keep its defaults)');
  return v;
}

/** Fields no pass owns must come out exactly as they went in. */
function carried(input: Spec, output: Spec): string[] {
  const v: string[] = [];
  const extra = (s: Spec) => (s as unknown as Record<string, unknown>)['x-extra'];
  if (!isDeepStrictEqual(extra(output), extra(input))) v.push('unknown field x-extra changed');
  for (const [k, val] of Object.entries(input.annotations ?? {})) if (output.annotations?.[k] !== val) v.push(`annotation ${k} changed`);
  if (output.ociVersion !== input.ociVersion) v.push('ociVersion changed');
  return v;
}

const ENFORCING = ['baseline', 'restricted', 'strict'] as const;
const loaded = Object.fromEntries([...ENFORCING, 'audit'].map((name) => [name, loadProfile(profiles, name)]));

interface ProfileTally { runs: number; allowed: number; denied: number }
const tally = {
  generated: 0,
  /** Generated configs the runtime-spec schema itself refuses (never reach the chain in Bulwark). */
  schemaInvalidInputs: 0,
  crashes: 0,
  profiles: Object.fromEntries([...ENFORCING, 'audit'].map((n) => [n, { runs: 0, allowed: 0, denied: 0 }])) as Record<string, ProfileTally>,
};

/** Every property for one (profile, config) pair; throws with the reason on a violation. */
function check(name: string, g: Generated): true {
  const input = build(g);
  tally.generated++;
  if (specProblems(input).length) {
    tally.schemaInvalidInputs++;
    return true; // loadConfig refuses it before the chain: not a chain property
  }
  const profile = loaded[name]!;
  const count = tally.profiles[name]!;
  count.runs++;
  let once;
  try {
    once = harden(input, profile, host); // throws on a schema-invalid result: a crash too
  } catch (err) {
    tally.crashes++;
    throw new Error(`chain crashed (${name}): ${(err as Error).stack ?? String(err)}`);
  }
  count[once.decision === 'deny' ? 'denied' : 'allowed']++;
  const invalid = specProblems(once.spec);
  if (invalid.length) throw new Error(`invalid output: ${invalid.join('; ')}`);
  if (profile.mode === 'audit') {
    if (!isDeepStrictEqual(once.spec, input) || once.decision !== 'allow') throw new Error('audit mode changed the config or refused it');
    return true;
  }
  const loose = loosenings(input, once.spec);
  if (loose.length) throw new Error(`looser than input: ${loose.join(', ')}`);
  const lost = carried(input, once.spec);
  if (lost.length) throw new Error(`not carried through: ${lost.join(', ')}`);
  const twice = harden(once.spec, profile, host);
  const fixes = twice.findings.filter((f) => f.action === 'fix');
  if (fixes.length) throw new Error(`not idempotent: ${JSON.stringify(fixes)}`);
  if (!isDeepStrictEqual(twice.spec, once.spec)) throw new Error('second run changed the spec');
  if (twice.decision !== once.decision) throw new Error(`second run decided ${twice.decision}, first ${once.decision}`);
  return true;
}

t.test(`${RUNS} generated configs through the chain (seed ${SEED})`, async (t) => {
  const started = Date.now();
  // Mostly the enforcing profiles; audit often enough to prove it changes nothing.
  const profileArb = fc.constantFrom<string>('baseline', 'baseline', 'restricted', 'strict', 'audit');
  fc.assert(fc.property(profileArb, configArb, check), { numRuns: RUNS, seed: SEED });
  const seconds = (Date.now() - started) / 1000;
  for (const name of ENFORCING) {
    const c = tally.profiles[name]!;
    t.ok(c.denied > 0 && c.allowed > 0, `${name}: the generator reaches both decisions (${c.denied} denied, ${c.allowed} allowed of ${c.runs})`);
  }
  t.ok(tally.schemaInvalidInputs < tally.generated / 10, `few generated configs are schema-invalid (${tally.schemaInvalidInputs} of ${tally.generated})`);
  const figures = {
    suite: 'test/properties.test.ts',
    generated: tally.generated,
    throughChain: tally.generated - tally.schemaInvalidInputs,
    schemaInvalidInputs: tally.schemaInvalidInputs,
    crashes: tally.crashes,
    seed: SEED,
    perProfile: tally.profiles,
    properties: ['no exception (a deny is the only refusal)', 'output valid against the runtime-spec schema', 'never looser than the input', 'unknown fields and annotations carried through', 'idempotent', 'audit changes nothing'],
    seconds: Math.round(seconds * 10) / 10,
  };
  const dir = fileURLToPath(new URL('../../build/assurance/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}fuzz.json`, JSON.stringify({ ...figures, recordedAt: new Date().toISOString() }, null, 2) + '\n');
  t.comment(`fuzz: ${tally.generated} configs in ${figures.seconds} s, ${tally.crashes} crashes`);
});
