import t from 'tap';
import type { Test } from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { seccompPass } from '../../src/passes/seccomp.js';
import { condMatches, ruleCondition, seccompFilterFromDocument } from '../../src/profile/seccomp-filter.js';
import type { SeccompFilter, SeccompRule } from '../../src/profile/types.js';
import { specProblems } from '../../src/spec/index.js';
import type { Seccomp, Spec, Syscall } from '../../src/spec/index.js';
import type { HostFacts } from '../../src/host/types.js';
import { deepFreeze, runcSpec, testHost, testProfile } from '../fixtures/index.js';

const profilesDir = fileURLToPath(new URL('../../../profiles/', import.meta.url));
const defaultFilter = seccompFilterFromDocument(parse(readFileSync(profilesDir + 'seccomp/default.yaml', 'utf8')), 'default.yaml');
const baselineDeny = (parse(readFileSync(profilesDir + 'baseline.yaml', 'utf8')) as { rules: { seccomp: { deny: string[] } } }).rules.seccomp.deny;

const TEST_DENY = testProfile().rules.seccomp.deny;
const denyRule = { names: TEST_DENY, action: 'SCMP_ACT_ERRNO', errnoRet: 1 };
const clone3Rule = { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 };
// The emitted filter has the unconditional ALLOW rules merged into one, last, in descending
// x86_64 system call number (exit_group 231, exit 60, execve 59, clone 56, write 1, read 0).
const testAllow = { names: ['exit_group', 'exit', 'execve', 'clone', 'write', 'read'], action: 'SCMP_ACT_ALLOW' };
const X86_64_ALL = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'];

const profileWith = (seccomp: Partial<SeccompRule> = {}) => testProfile({ seccomp });
const withSeccomp = (seccomp: Seccomp | undefined, bounding?: string[]): Spec => {
  const spec = runcSpec();
  if (bounding) spec.process = { ...spec.process!, capabilities: { ...spec.process!.capabilities, bounding } };
  return deepFreeze({ ...spec, linux: { ...spec.linux, ...(seccomp ? { seccomp } : {}) } });
};
const run = (spec: Spec, profile = profileWith(), host: HostFacts = testHost()) => seccompPass(spec, profile, host);

/** Runs the pass on its own output: nothing may change and no fix may be reported. */
function assertIdempotent(t: Test, spec: Spec, profile = profileWith(), host: HostFacts = testHost()) {
  const again = seccompPass(deepFreeze(spec), profile, host);
  t.equal(again.spec, spec, 'second run returns the same spec object');
  t.same(again.findings.filter((f) => f.action === 'fix'), [], 'second run reports no fix');
}

t.test('no filter: the profile filter is injected', async (t) => {
  const input = withSeccomp(undefined);
  const r = run(input);
  t.same(r.spec.linux?.seccomp, {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: X86_64_ALL,
    syscalls: [clone3Rule, denyRule, testAllow],
  });
  t.same(r.findings, [{ rule: 'seccomp', path: 'linux.seccomp', action: 'fix', message: "no seccomp filter: added profile filter 'test' (6 syscalls allowed)" }]);
  t.same(r.spec.linux?.resources, input.linux?.resources, 'other linux fields carried through');
  t.same(specProblems(r.spec), []);
  assertIdempotent(t, r.spec);
  assertIdempotent(t, r.spec, profileWith({ customFilters: 'replace' }));
});

t.test('capability-gated rules follow the final bounding set', async (t) => {
  const without = run(withSeccomp(undefined, ['CAP_KILL']));
  t.notOk(without.spec.linux?.seccomp?.syscalls?.some((r) => r.names.includes('chroot')), 'no chroot without CAP_SYS_CHROOT');
  const withCap = run(withSeccomp(undefined, ['CAP_KILL', 'CAP_SYS_CHROOT']));
  t.same(withCap.spec.linux?.seccomp?.syscalls, [clone3Rule, denyRule, { names: ['exit_group', 'chroot', 'exit', 'execve', 'clone', 'write', 'read'], action: 'SCMP_ACT_ALLOW' }]);
  t.match(withCap.findings[0].message, /\(7 syscalls allowed\)/);
  const noProcess = deepFreeze({ ...runcSpec(), process: undefined });
  t.notOk(run(noProcess).spec.linux?.seccomp?.syscalls?.some((r) => r.names.includes('chroot')), 'no process: no capabilities');
});

t.test('deny-listed names leave every other rule of the profile filter', async (t) => {
  const filter: SeccompFilter = {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read', 'bpf'], action: 'SCMP_ACT_ALLOW', comment: 'why' },
      { names: ['keyctl'], action: 'SCMP_ACT_ALLOW', requiresCapabilities: ['CAP_KILL'] },
      { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', comment: 'documentation only: same as the default' },
    ],
  };
  const r = run(withSeccomp(undefined), profileWith({ filter, deny: ['bpf', 'keyctl'] }));
  t.same(r.spec.linux?.seccomp?.syscalls, [{ names: ['bpf', 'keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }, { names: ['read'], action: 'SCMP_ACT_ALLOW' }]);
});

t.test('unconfined filters are replaced, keeping what they blocked', async (t) => {
  const input = withSeccomp({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [
      { names: ['execve'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['write'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  const r = run(input);
  t.same(r.spec.linux?.seccomp, {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [
      clone3Rule,
      denyRule,
      { names: ['write'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2, op: 'SCMP_CMP_NE' }] },
      { names: ['execve'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['exit_group', 'exit', 'clone', 'read'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  t.same(r.findings, [{
    rule: 'seccomp', path: 'linux.seccomp', action: 'fix',
    message: "filter is unconfined (defaultAction SCMP_ACT_ALLOW): replaced it with profile filter 'test' (5 syscalls allowed); kept the config filter's stricter limits on execve, write",
  }]);
  assertIdempotent(t, r.spec);
  assertIdempotent(t, r.spec, profileWith({ customFilters: 'replace' }));

  const logOnly = run(withSeccomp({ defaultAction: 'SCMP_ACT_LOG' }));
  t.match(logOnly.findings[0].message, /^filter is unconfined \(defaultAction SCMP_ACT_LOG\): replaced it/);
  t.same(logOnly.spec.linux?.seccomp?.architectures, ['SCMP_ARCH_X86_64'], 'a filter without architectures covered only the native ABI');
});

const customFilter = (): Seccomp => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [
    { names: ['read', 'write', 'bpf', 'clone3', 'keyctl'], action: 'SCMP_ACT_ALLOW' },
    { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
    { names: ['unshare'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
    { names: ['setns'], action: 'SCMP_ACT_TRACE' },
  ],
});

t.test('merge: a custom filter keeps its rules, loses the denied calls', async (t) => {
  const r = run(withSeccomp(customFilter()));
  t.same(r.spec.linux?.seccomp, {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [
      { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['bpf', 'keyctl', 'unshare', 'setns'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
      clone3Rule,
      { names: ['write', 'read'], action: 'SCMP_ACT_ALLOW' },
    ],
  }, 'architectures are not widened: libseccomp already kills calls from unlisted ABIs');
  t.same(r.findings, [
    { rule: 'seccomp.deny', path: 'linux.seccomp.syscalls', action: 'fix', message: 'filter allows bpf, keyctl, unshare, setns, which the profile blocks: removed and blocked with errno 1' },
    { rule: 'seccomp', path: 'linux.seccomp.syscalls', action: 'fix', message: 'filter allows clone3, whose namespace flags seccomp cannot inspect: it now fails with ENOSYS, so the C library falls back to clone' },
  ]);
  assertIdempotent(t, r.spec);
});

t.test('merge: a filter that already blocks everything denied is left alone', async (t) => {
  const input = withSeccomp({
    defaultAction: 'SCMP_ACT_KILL_PROCESS',
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['bpf'], action: 'SCMP_ACT_KILL_THREAD' },
      { names: ['unshare'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  const r = run(input);
  t.equal(r.spec, input);
  t.same(r.findings, []);
});

t.test('merge: deny names in a TRACE default are blocked explicitly', async (t) => {
  const r = run(withSeccomp({ defaultAction: 'SCMP_ACT_TRACE', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }));
  t.same(r.spec.linux?.seccomp?.syscalls, [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, denyRule]);
  t.match(r.findings[0].message, /^filter leaves bpf, keyctl, .* to its default action SCMP_ACT_TRACE: blocked with errno 1$/);
  assertIdempotent(t, r.spec);
});

t.test('deny and warn: findings only, spec untouched', async (t) => {
  for (const action of ['deny', 'warn'] as const) {
    const missing = withSeccomp(undefined);
    const r1 = run(missing, profileWith({ action }));
    t.equal(r1.spec, missing);
    t.same(r1.findings, [{ rule: 'seccomp', path: 'linux.seccomp', action, message: "no seccomp filter: the profile requires seccomp filter 'test'" }]);

    const unconfined = withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' });
    const r2 = run(unconfined, profileWith({ action }));
    t.equal(r2.spec, unconfined);
    t.match(r2.findings, [{ action, message: /^filter is unconfined \(defaultAction SCMP_ACT_ALLOW\): the profile requires/ }]);

    for (const customFilters of ['merge', 'replace'] as const) {
      const custom = withSeccomp(customFilter());
      const r3 = run(custom, profileWith({ action, customFilters }));
      t.equal(r3.spec, custom);
      t.same(r3.findings, [
        { rule: 'seccomp.deny', path: 'linux.seccomp.syscalls', action, message: 'filter allows bpf, keyctl, unshare, setns, which the profile blocks' },
        { rule: 'seccomp', path: 'linux.seccomp.syscalls', action, message: 'filter allows clone3, whose namespace flags seccomp cannot inspect' },
      ], `${action}/${customFilters}`);
    }
  }
});

t.test('replace: the profile filter takes over, narrowed to the old one', async (t) => {
  const replace = profileWith({ customFilters: 'replace' });
  const input = withSeccomp({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read', 'write', 'exit_group', 'socket', 'bpf'], action: 'SCMP_ACT_ALLOW' },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x10000000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    ],
  });
  const r = run(input, replace);
  t.same(r.spec.linux?.seccomp, {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [
      clone3Rule,
      denyRule,
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x10000000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['exit_group', 'write', 'read'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  t.same(r.findings, [{
    rule: 'seccomp', path: 'linux.seccomp', action: 'fix',
    message: "config's own filter allows calls the profile does not: replaced it with profile filter 'test' (4 syscalls allowed); kept the config filter's stricter limits on clone, execve, exit",
  }]);
  assertIdempotent(t, r.spec, replace);
  assertIdempotent(t, r.spec);

  const strictEnough = withSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] });
  const kept = run(strictEnough, replace);
  t.equal(kept.spec, strictEnough, 'a filter allowing nothing beyond the profile is kept');
  t.same(kept.findings, []);
});

t.test('architectures follow the host', async (t) => {
  const arm = run(withSeccomp(undefined), profileWith(), testHost({ arch: 'aarch64' }));
  t.same(arm.spec.linux?.seccomp?.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  t.same(arm.findings.map((f) => f.action), ['fix']);

  const riscv = run(withSeccomp(undefined), profileWith(), testHost({ arch: 'riscv64' }));
  t.same(riscv.spec.linux?.seccomp?.architectures, ['SCMP_ARCH_RISCV64']);
  t.same(riscv.findings[1], { rule: 'seccomp.architectures', path: 'linux.seccomp.architectures', action: 'warn', message: 'host architecture riscv64 is not one the profile filters were written for; only its native ABI (SCMP_ARCH_RISCV64) is listed' });

  const odd = run(withSeccomp(undefined), profileWith(), testHost({ arch: 'sparc64' }));
  t.notOk('architectures' in (odd.spec.linux?.seccomp ?? {}), 'no name for it: the runtime uses the native ABI');
  t.match(odd.findings[1], { action: 'warn', message: /sparc64 .* has no seccomp architecture name/ });
  assertIdempotent(t, odd.spec, profileWith(), testHost({ arch: 'sparc64' }));
});

t.test('i386 is left out when the filter checks socket arguments', async (t) => {
  const filter: SeccompFilter = {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 37, op: 'SCMP_CMP_LE' }] }],
  };
  const r = run(withSeccomp(undefined), profileWith({ filter }));
  t.same(r.spec.linux?.seccomp?.architectures, ['SCMP_ARCH_X86_64'], 'socketcall would carry no family check');
});

t.test('i386 and argument checks on socket calls, in configs\' own filters', async (t) => {
  const filter: SeccompFilter = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'socket'], action: 'SCMP_ACT_ALLOW' }] };
  const blocksAlg: Seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 38, op: 'SCMP_CMP_EQ' }] }],
  };
  const r = run(withSeccomp(blocksAlg), profileWith({ filter }));
  t.same(r.spec.linux?.seccomp?.syscalls, [
    denyRule,
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 38, op: 'SCMP_CMP_NE' }] },
    { names: ['read'], action: 'SCMP_ACT_ALLOW' },
  ]);
  t.same(r.spec.linux?.seccomp?.architectures, ['SCMP_ARCH_X86_64'], 'the narrowed socket rule takes i386 out');

  const merged = run(withSeccomp({ ...blocksAlg, defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] }] }));
  t.same(merged.findings, [{
    rule: 'seccomp.architectures', path: 'linux.seccomp.architectures', action: 'warn',
    message: 'filter lists SCMP_ARCH_X86 and compares socket or IPC arguments, which libseccomp cannot check for i386 calls made through socketcall or ipc: those checks do not hold for i386',
  }]);
  t.same(merged.spec.linux?.seccomp?.architectures, blocksAlg.architectures, 'merge only reports it');
});

t.test('actions the kernel lacks are refused', async (t) => {
  const oldKernel = testHost({ seccompActions: ['SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW'] });
  const input = withSeccomp({ defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG' }, { names: ['write'], action: 'SCMP_ACT_KILL' }] });
  for (const action of ['fix', 'warn'] as const) {
    const r = run(input, profileWith({ action }), oldKernel);
    t.equal(r.spec, input);
    t.same(r.findings, [
      { rule: 'seccomp.actions', path: 'linux.seccomp.defaultAction', action: 'deny', message: 'filter uses SCMP_ACT_KILL_PROCESS, which this kernel does not support: refusing to start rather than run without the filter' },
      { rule: 'seccomp.actions', path: 'linux.seccomp.syscalls', action: 'deny', message: 'filter uses SCMP_ACT_LOG, which this kernel does not support: refusing to start rather than run without the filter' },
    ], `always deny, even with action ${action}`);
  }
  const noSeccomp = run(withSeccomp(undefined), profileWith(), testHost({ seccompActions: [] }));
  t.match(noSeccomp.findings, [{ action: 'fix' }, { action: 'deny', rule: 'seccomp.actions', message: /SCMP_ACT_ERRNO/ }], 'a kernel without seccomp fails closed');
});

t.test('the shipped default filter, injected', async (t) => {
  const profile = profileWith({ filter: defaultFilter, profile: 'default', deny: baselineDeny });
  const r = run(withSeccomp(undefined), profile);
  const seccomp = r.spec.linux!.seccomp!;
  t.same(specProblems(r.spec), [], 'valid runtime-spec config');
  t.same(seccomp.architectures, ['SCMP_ARCH_X86_64']);
  const allowed = new Set(seccomp.syscalls!.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names));
  t.same(baselineDeny.filter((n) => allowed.has(n)), [], 'no deny-listed call allowed');
  t.match(r.findings, [{ message: new RegExp(`added profile filter 'default' \\(${allowed.size} syscalls allowed\\)$`) }]);
  t.notOk(allowed.has('ptrace') || allowed.has('chroot'), 'gated calls absent with runc\'s default capabilities');
  t.ok(seccomp.syscalls!.every((s) => !('comment' in s) && !('requiresCapabilities' in s)), 'Bulwark-only keys stripped');
  const plainErrno = seccomp.syscalls!.filter((s) => s.action === 'SCMP_ACT_ERRNO' && (s.errnoRet ?? 1) === 1);
  t.equal(plainErrno.length, 1, 'only the deny rule repeats the default');
  assertIdempotent(t, r.spec, profile);
  assertIdempotent(t, r.spec, { ...profile, rules: { ...profile.rules, seccomp: { ...profile.rules.seccomp, customFilters: 'replace' } } });
});

// ---------------------------------------------------------------- never loosens, for any filter

const PERMISSIVE = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'];

/** What a filter does with one call; overlapping rules: the blocking one wins (the pass's assumption). */
function permits(seccomp: Seccomp | undefined, name: string, args: bigint[]): boolean {
  if (!seccomp) return true;
  const matching = (seccomp.syscalls ?? []).filter((r) => r.names.includes(name) && condMatches(ruleCondition(r), args));
  if (matching.some((r) => !PERMISSIVE.includes(r.action))) return false;
  return matching.length > 0 || PERMISSIVE.includes(seccomp.defaultAction);
}

const NAMES = ['read', 'socket', 'clone', 'personality', 'bpf', 'execve', 'clone3'];
const VALUES = [0n, 1n, 2n, 17n, 37n, 38n, 39n, 40n, 0x10000000n, 0x10000011n, 0x7e020000n, (1n << 32n) + 38n, (1n << 64n) - 1n];
const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;
const ACTIONS = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRACE'] as const;

const arbArg = fc.record({ index: fc.constantFrom(0, 1), value: fc.constantFrom(...VALUES), valueTwo: fc.constantFrom(...VALUES), op: fc.constantFrom(...OPS) });
const arbRule = fc.record({
  names: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }),
  action: fc.constantFrom(...ACTIONS),
  args: fc.array(arbArg, { maxLength: 2 }),
}).map((r) => ({ names: r.names, action: r.action, ...(r.args.length ? { args: r.args.map((a) => ({ ...a, value: Number(a.value) === Number(a.value) && a.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(a.value) : a.value })) } : {}) }) as Syscall);
const arbFilter = fc.option(fc.record({ defaultAction: fc.constantFrom(...ACTIONS), syscalls: fc.array(arbRule, { maxLength: 5 }) }), { nil: undefined });

const propertyFilter = seccompFilterFromDocument({
  defaultAction: 'SCMP_ACT_ERRNO',
  groups: [
    { reason: 'r', action: 'SCMP_ACT_ALLOW', names: ['read', 'execve'] },
    { reason: 'r', action: 'SCMP_ACT_ALLOW', names: ['clone'], args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    { reason: 'r', action: 'SCMP_ACT_ALLOW', names: ['socket'], argsAnyOf: [[{ index: 0, value: 37, op: 'SCMP_CMP_LE' }], [{ index: 0, value: 39, op: 'SCMP_CMP_EQ' }]] },
    { reason: 'r', action: 'SCMP_ACT_ERRNO', errnoRet: 97, names: ['socket'], args: [{ index: 0, value: 0xffffffff, valueTwo: 38, op: 'SCMP_CMP_MASKED_EQ' }] },
    { reason: 'r', action: 'SCMP_ACT_ALLOW', names: ['personality'], argsAnyOf: [[{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }], [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }]] },
    { reason: 'r', action: 'SCMP_ACT_ERRNO', errnoRet: 38, names: ['clone3'] },
  ],
}, 'property.yaml');

t.test('never loosens and is idempotent, for random filters', async (t) => {
  const probes = NAMES.flatMap((name) => VALUES.flatMap((a0) => [0n, 1n, 2n].map((a1) => [name, [a0, a1]] as const)));
  fc.assert(fc.property(arbFilter, fc.constantFrom('merge', 'replace'), (filter, customFilters) => {
    const profile = profileWith({ filter: propertyFilter, deny: ['bpf'], customFilters });
    const input = withSeccomp(filter as Seccomp | undefined);
    const r = run(input, profile);
    const out = r.spec.linux?.seccomp;
    for (const [name, args] of probes) {
      if (permits(out, name, [...args]) && !permits(filter as Seccomp | undefined, name, [...args])) throw new Error(`${name}(${args}) unblocked`);
      if (name === 'bpf' && permits(out, name, [...args])) throw new Error('bpf allowed');
      if (r.findings.every((f) => f.action !== 'fix') && r.spec !== input) throw new Error('changed without a fix finding');
    }
    const again = run(deepFreeze(r.spec), profile);
    if (again.spec !== r.spec) throw new Error(`not idempotent: ${JSON.stringify(again.findings)}`);
    if (again.findings.some((f) => f.action === 'fix')) throw new Error(`second run fixed: ${JSON.stringify(again.findings)}`);
  }), { numRuns: 400 });
  t.pass('400 random filters');
});
