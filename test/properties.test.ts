// Properties of the whole chain over generated configs, for every shipped profile:
// it never throws, its output is a valid runtime-spec config, hardening twice changes nothing,
// and nothing is ever looser than the input. FUZZ_RUNS raises the count (the assurance suite
// runs 10,000 per profile).
import t from 'tap';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { harden } from '../src/pipeline.js';
import { directorySource, loadProfile } from '../src/profile/load.js';
import { specProblems } from '../src/spec/index.js';
import type { Spec, Mount } from '../src/spec/index.js';
import { runcSpec, testHost } from './fixtures/index.js';
import type { HostFacts } from '../src/host/types.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
t.setTimeout(600_000);

const profiles = directorySource(fileURLToPath(new URL('../../profiles/', import.meta.url)));

const CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_ADMIN', 'CAP_SYS_MODULE', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP', 'CAP_BPF', 'CAP_SYS_RESOURCE', 'CAP_IPC_LOCK'];
const NS = ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'] as const;
const SOURCES = ['/data/volume', '/var/run/docker.sock', '/etc', '/etc/ssl/certs', '/', '/var/lib/kubelet/pods/p/volumes/v', '/tmp/innocent', '/dev/null', '/proc', '/home/app', '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/s/hosts'];
const OPTIONS = ['ro', 'rw', 'nosuid', 'nodev', 'noexec', 'rbind', 'bind', 'shared', 'rshared', 'rprivate', 'rslave'];
const SYSCALLS = ['read', 'write', 'openat', 'close', 'bpf', 'mount', 'unshare', 'clone', 'clone3', 'keyctl', 'ptrace', 'socket', 'io_uring_setup', 'execve', 'exit_group'];
const SYSCTLS = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'kernel.randomize_va_space', 'vm.overcommit_memory', 'net.core.somaxconn', 'kernel.msgmax'];
const MASKED = ['/proc/kcore', '/proc/keys', '/custom/masked', '/proc/acpi'];
const HOOK_PATHS = ['/bin/sh', '/usr/bin/nvidia-ctk', '/opt/hook', '/usr/bin/nvidia-container-runtime-hook'];
const U64 = [undefined, -1, 0, 1, 4096, 1024 ** 2, 64 * 1024 ** 2, 2 * 1024 ** 3, 200 * 1024 ** 3, 9223372036854775807n];

const subset = <T>(items: readonly T[]) => fc.subarray([...items]);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const mountArb: fc.Arbitrary<Mount> = fc.record({
  destination: fc.constantFrom('/data', '/run/sock', '/etc/app', '/mnt/x', '/sys', '/var/log/app'),
  type: fc.constantFrom('bind', 'bind', 'tmpfs', 'sysfs'),
  source: fc.constantFrom(...SOURCES),
  options: subset(OPTIONS),
});

const configArb = fc.record({
  caps: fc.record({ bounding: subset(CAPS), effective: subset(CAPS), permitted: subset(CAPS), inheritable: subset(CAPS), ambient: subset(CAPS) }, { requiredKeys: [] }),
  nnp: maybe(fc.boolean()),
  namespaces: subset(NS),
  hostNsPath: fc.constantFrom(null, '/proc/1/ns/net', '/proc/4242/ns/net'),
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
});

const SAFE_SOURCES = new Set(['/data/volume', '/var/lib/kubelet/pods/p/volumes/v', '/home/app']);
const REFUSED_CAPS = new Set(['CAP_SYS_ADMIN', 'CAP_SYS_MODULE', 'CAP_SYS_PTRACE', 'CAP_NET_ADMIN', 'CAP_BPF', 'CAP_SYS_RESOURCE', 'CAP_DAC_READ_SEARCH']);

type Generated = typeof configArb extends fc.Arbitrary<infer G> ? G : never;

function tamed(g: Generated): Generated {
  if (!g.tame) return g;
  const caps = Object.fromEntries(Object.entries(g.caps).map(([k, v]) => [k, v.filter((c) => !REFUSED_CAPS.has(c))]));
  return {
    ...g,
    caps,
    namespaces: [...NS],
    hostNsPath: null,
    mounts: g.mounts.filter((m) => m.type !== 'bind' || SAFE_SOURCES.has(m.source!)).filter((m) => m.destination !== '/sys'),
    sysctls: g.sysctls.filter((k) => k === 'net.ipv4.ip_local_port_range'),
    hooks: [],
    uid: 1000,
    cwd: '/app',
    oom: Math.max(g.oom, 0),
    devices: g.devices.filter((d) => !d.allow),
  };
}

function build(generated: Generated): Spec {
  const g = tamed(generated);
  const base = runcSpec();
  const namespaces = g.namespaces.map((type) => (type === 'network' && g.hostNsPath ? { type, path: g.hostNsPath } : { type }));
  const resources: NonNullable<NonNullable<Spec['linux']>['resources']> = { devices: g.devices };
  if (g.memory !== undefined || g.swap !== undefined || g.disableOOMKiller !== undefined) {
    resources.memory = {
      ...(g.memory !== undefined ? { limit: g.memory } : {}),
      ...(g.swap !== undefined ? { swap: g.swap } : {}),
      ...(g.disableOOMKiller !== undefined ? { disableOOMKiller: g.disableOOMKiller } : {}),
    };
  }
  if (g.pids !== undefined) resources.pids = { limit: g.pids };
  const seccomp = g.seccomp === undefined ? undefined
    : 'allow' in g.seccomp ? { defaultAction: g.seccomp.defaultAction, ...(g.seccomp.allow.length ? { syscalls: [{ names: g.seccomp.allow as [string, ...string[]], action: 'SCMP_ACT_ALLOW' as const }] } : {}) }
    : g.seccomp;
  return {
    ...base,
    root: { path: 'rootfs', readonly: g.readonlyRoot },
    process: {
      ...base.process!,
      cwd: g.cwd,
      user: { uid: g.uid, gid: g.uid },
      capabilities: g.caps,
      oomScoreAdj: g.oom,
      ...(g.nnp === undefined ? { noNewPrivileges: undefined } : { noNewPrivileges: g.nnp }),
      rlimits: g.rlimitHard === undefined ? [] : [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: g.rlimitHard }],
    },
    mounts: [...(base.mounts ?? []), ...g.mounts],
    hooks: g.hooks.length ? { prestart: g.hooks.map((path) => ({ path })) } : undefined,
    linux: {
      ...base.linux!,
      namespaces,
      resources,
      seccomp,
      sysctl: Object.fromEntries(g.sysctls.map((k) => [k, '1'])),
      maskedPaths: g.masked,
      readonlyPaths: [],
    },
  } as Spec;
}

const host: HostFacts = testHost({
  cgroup: { mode: 'v2', controllers: ['cpu', 'memory', 'pids'], swapAccounting: true },
  namespacePaths: { '/proc/1/ns/net': 'host', '/proc/4242/ns/net': 'other' },
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
  return v;
}

for (const name of ['baseline', 'restricted', 'strict']) {
  const profile = loadProfile(profiles, name);
  t.test(`${name}: ${RUNS} generated configs`, async (t) => {
    let denied = 0;
    fc.assert(
      fc.property(configArb, (g) => {
        const input = build(g);
        if (specProblems(input).length) return true; // the generator's own slip, not a chain property
        const once = harden(input, profile, host); // throws on a schema-invalid result
        if (once.decision === 'deny') denied++;
        const loose = loosenings(input, once.spec);
        if (loose.length) throw new Error(`looser than input: ${loose.join(', ')}`);
        const twice = harden(once.spec, profile, host);
        const fixes = twice.findings.filter((f) => f.action === 'fix');
        if (fixes.length) throw new Error(`not idempotent: ${JSON.stringify(fixes)}`);
        if (!isDeepStrictEqual(twice.spec, once.spec)) throw new Error('second run changed the spec');
        return true;
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    t.ok(denied > 0 && denied < RUNS, `the generator reaches both decisions (${denied} of ${RUNS} denied)`);
  });
}
