// The seccomp pass's last step: the filter it emits is normalised for libseccomp (names no listed
// ABI has dropped, the unconditional ALLOW rules merged into one in descending number order) without
// changing what it does on any listed ABI. Also the syscall table it relies on.
import t from 'tap';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { normaliseSeccomp, seccompPass } from '../../src/passes/seccomp.js';
import { abiOrder, isKnownSyscall, syscallNumbers } from '../../src/passes/syscalls.js';
import { directorySource, loadProfile } from '../../src/profile/load.js';
import type { ResolvedProfile } from '../../src/profile/types.js';
import type { Seccomp, Syscall } from '../../src/spec/index.js';
import { deepFreeze, runcSpec, testHost, testProfile } from '../fixtures/index.js';

type Arch = NonNullable<Seccomp['architectures']>[number];
const X86_64: Arch[] = ['SCMP_ARCH_X86_64'];

const profiles = directorySource(fileURLToPath(new URL('../../../profiles/', import.meta.url)));
const PROFILE_NAMES = profiles.list();

const allow = (...names: string[]): Syscall => ({ names: names as Syscall['names'], action: 'SCMP_ACT_ALLOW' });
const filter = (architectures: Arch[] | undefined, syscalls: Syscall[]): Seccomp =>
  deepFreeze({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, ...(architectures ? { architectures } : {}), syscalls });

// ---------------------------------------------------------------- the table

t.test('the syscall table holds libseccomp\'s facts', async (t) => {
  const facts: [arch: string, name: string, number: number | undefined][] = [
    ['SCMP_ARCH_X86_64', 'read', 0],
    ['SCMP_ARCH_X86_64', 'exit_group', 231],
    ['SCMP_ARCH_X86_64', 'openat', 257],
    ['SCMP_ARCH_X86_64', '_llseek', undefined],
    ['SCMP_ARCH_X86_64', 'mmap2', undefined],
    ['SCMP_ARCH_X86_64', 'recv', undefined],
    ['SCMP_ARCH_X86_64', 'socketcall', undefined],
    ['SCMP_ARCH_X86', '_llseek', 140],
    ['SCMP_ARCH_X86', 'socket', 359], // direct since Linux 4.3, and through socketcall
    ['SCMP_ARCH_X86', 'recv', 102], // only through socketcall(2): the multiplexer's number
    ['SCMP_ARCH_X86', 'semop', 117], // only through ipc(2)
    ['SCMP_ARCH_X32', 'read', 0x40000000],
    ['SCMP_ARCH_AARCH64', 'openat', 56],
    ['SCMP_ARCH_AARCH64', 'open', undefined],
    ['SCMP_ARCH_ARM', 'open', 5],
    ['SCMP_ARCH_ARM', 'arm_fadvise64_64', 270],
    ['SCMP_ARCH_MIPS', 'read', 4003],
  ];
  for (const [arch, name, number] of facts) t.equal(syscallNumbers(arch)?.get(name), number, `${arch} ${name}`);
  t.equal(syscallNumbers('SCMP_ARCH_LOONGARCH64'), undefined, 'an ABI the table lacks');
  t.ok(isKnownSyscall('_llseek') && isKnownSyscall('read'));
  for (const name of ['mseal', 'listmount', 'statmount', 'uretprobe', 'no_such_call']) t.notOk(isKnownSyscall(name), `${name}: newer than libseccomp 2.5.4`);

  const order = abiOrder(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'])!;
  t.ok(order.rank.get('openat')! < order.rank.get('exit_group')! && order.rank.get('exit_group')! < order.rank.get('read')!, 'descending on the native ABI');
  t.ok(order.rank.get('read')! < order.rank.get('_llseek')!, 'then the names only the second ABI has');
  t.equal(order.rank.get('arm_fadvise64_64'), -1, 'a call neither ABI has');
  t.equal(abiOrder(['SCMP_ARCH_X86_64', 'SCMP_ARCH_LOONGARCH64']), undefined);
  t.equal(abiOrder([]), undefined);
});

// ---------------------------------------------------------------- normaliseSeccomp, case by case

const socketArgs: Syscall = { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 37, op: 'SCMP_CMP_LE' }] };
const clone3Errno: Syscall = { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 };
const personality = (value: number): Syscall => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] });

const cases: { name: string; archs: Arch[] | undefined; input: Syscall[]; expect: Syscall[] | 'unchanged' }[] = [
  {
    name: 'names no listed ABI has are dropped',
    archs: X86_64,
    input: [allow('read', '_llseek', 'mmap2', 'write'), { names: ['fstat64', 'clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
    expect: [clone3Errno, allow('write', 'read')],
  },
  {
    name: 'a rule left without names is dropped, whatever its kind',
    archs: X86_64,
    input: [allow('read'), { names: ['_llseek', 'fstat64'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }, { names: ['socketcall'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }, allow('mmap2')],
    expect: [allow('read')],
  },
  {
    name: 'names the table does not know are kept, after the known ones, in their order',
    archs: X86_64,
    input: [allow('mseal', 'read'), allow('uretprobe', 'write'), { names: ['statmount', 'listmount'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
    expect: [{ names: ['statmount', 'listmount'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }, allow('write', 'read', 'mseal', 'uretprobe')],
  },
  {
    name: 'a name another listed ABI has is kept ([X86_64, X86] keeps _llseek), after the native names',
    archs: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    input: [allow('_llseek', 'read', 'arm_fadvise64_64', 'mmap2', 'exit_group')],
    expect: [allow('exit_group', 'read', 'mmap2', '_llseek')], // x86: mmap2 192, _llseek 140
  },
  {
    name: 'aarch64 and arm: descending on aarch64, then the calls only arm has',
    archs: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    input: [allow('open', 'openat', 'read', '_llseek', 'arch_prctl')],
    expect: [allow('read', 'openat', '_llseek', 'open')], // aarch64: read 63, openat 56; arm: _llseek 140, open 5
  },
  { name: 'no architectures: left alone', archs: undefined, input: [allow('read', '_llseek'), allow('write')], expect: 'unchanged' },
  { name: 'an ABI the table lacks: left alone', archs: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_LOONGARCH64' as string as Arch], input: [allow('read', '_llseek'), allow('write')], expect: 'unchanged' },
  {
    name: 'only unconditional ALLOW rules are merged, the merged rule last',
    archs: X86_64,
    input: [allow('read'), personality(0), { names: ['write'], action: 'SCMP_ACT_LOG' }, clone3Errno, allow('close'), { names: ['getpid'], action: 'SCMP_ACT_TRACE', errnoRet: 5 }, allow('exit')],
    expect: [personality(0), { names: ['write'], action: 'SCMP_ACT_LOG' }, clone3Errno, { names: ['getpid'], action: 'SCMP_ACT_TRACE', errnoRet: 5 }, allow('exit', 'close', 'read')],
  },
  {
    name: 'names another rule mentions stay where they were',
    archs: X86_64,
    input: [allow('read', 'socket', 'write'), socketArgs, allow('getpid', 'personality'), personality(8)],
    expect: [allow('socket'), socketArgs, allow('personality'), personality(8), allow('getpid', 'write', 'read')],
  },
  {
    name: 'descending number, repeats once',
    archs: X86_64,
    input: [allow('read'), allow('exit_group', 'write', 'read'), allow('openat', 'close'), allow('write')],
    expect: [allow('openat', 'exit_group', 'close', 'write', 'read')],
  },
  {
    name: 'rules with arguments or other actions keep their order and contents',
    archs: X86_64,
    input: [personality(0), socketArgs, allow('read'), { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 38, op: 'SCMP_CMP_EQ' }] }, personality(8), clone3Errno],
    expect: [personality(0), socketArgs, { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 38, op: 'SCMP_CMP_EQ' }] }, personality(8), clone3Errno, allow('read')],
  },
  {
    name: 'an ALLOW rule with an empty args list is unconditional',
    archs: X86_64,
    input: [{ names: ['write'], action: 'SCMP_ACT_ALLOW', args: [] }, allow('read')],
    expect: [allow('write', 'read')],
  },
];

t.test('normaliseSeccomp', async (t) => {
  for (const c of cases) {
    const input = filter(c.archs, c.input);
    const out = normaliseSeccomp(input);
    if (c.expect === 'unchanged') {
      t.equal(out, input, c.name);
      continue;
    }
    t.same(out, { ...input, syscalls: c.expect }, c.name);
    t.same(normaliseSeccomp(deepFreeze(out)), out, `${c.name}: normalising again changes nothing`);
    // Rules that are not plain ALLOW keep their object when nothing was pruned from them.
    for (const rule of c.input) {
      if ((rule.action !== 'SCMP_ACT_ALLOW' || (rule.args ?? []).length > 0) && rule.names.every((n) => !isKnownSyscall(n) || c.archs!.some((a) => syscallNumbers(a)!.has(n)))) {
        t.ok(out.syscalls!.includes(rule), `${c.name}: ${rule.names[0]} ${rule.action} rule is the same object`);
      }
    }
  }
});

// ---------------------------------------------------------------- the same meaning on every listed ABI

const PLAIN = '["SCMP_ACT_ALLOW",[],null]';

/**
 * What a filter does with each call an ABI has (or the table does not know): the rules naming it,
 * in order, as (action, args, errnoRet); repeated unconditional ALLOWs count once, since a rule set
 * allowing a call twice allows it as once.
 */
function meaning(seccomp: Seccomp, arch: string): Map<string, string[]> {
  const numbers = syscallNumbers(arch)!;
  const out = new Map<string, string[]>();
  for (const rule of seccomp.syscalls ?? []) {
    const tuple = JSON.stringify([rule.action, (rule.args ?? []).map((a) => [a.index, String(a.value), String(a.valueTwo ?? 0), a.op]), rule.errnoRet ?? null]);
    for (const name of rule.names) {
      if (isKnownSyscall(name) && !numbers.has(name)) continue;
      const seen = out.get(name) ?? [];
      if (!(tuple === PLAIN && seen.includes(PLAIN))) seen.push(tuple);
      out.set(name, seen);
    }
  }
  return out;
}

function assertSameMeaning(before: Seccomp, after: Seccomp): string | undefined {
  for (const arch of before.architectures ?? []) {
    const a = meaning(before, arch);
    const b = meaning(after, arch);
    const key = (m: Map<string, string[]>) => JSON.stringify([...m].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    if (key(a) !== key(b)) return `${arch}: ${key(a)} !== ${key(b)}`;
  }
  if (JSON.stringify(before.architectures) !== JSON.stringify(after.architectures)) return 'architectures changed';
  if (before.defaultAction !== after.defaultAction || before.defaultErrnoRet !== after.defaultErrnoRet) return 'default changed';
  return undefined;
}

/** A profile's whole filter in OCI form, every rule included (capability-gated ones too), plus its deny rule. */
function rawProfileFilter(profile: ResolvedProfile, architectures: Arch[]): Seccomp {
  const { filter: f, deny, denyErrno } = profile.rules.seccomp;
  const syscalls: Syscall[] = f.syscalls.map((r) => ({
    names: r.names as Syscall['names'],
    action: r.action as Syscall['action'],
    ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
    ...(r.args ? { args: r.args.map((a) => ({ ...a, op: a.op as NonNullable<Syscall['args']>[number]['op'] })) } : {}),
  }));
  if (deny.length > 0) syscalls.push({ names: deny as Syscall['names'], action: 'SCMP_ACT_ERRNO', errnoRet: denyErrno });
  return deepFreeze({ defaultAction: f.defaultAction as Seccomp['defaultAction'], architectures, syscalls });
}

t.test('every shipped profile\'s filter means the same before and after, on every listed ABI', async (t) => {
  t.ok(PROFILE_NAMES.includes('baseline') && PROFILE_NAMES.length >= 4, `profiles: ${PROFILE_NAMES.join(', ')}`);
  for (const name of PROFILE_NAMES) {
    const profile = loadProfile(profiles, name);
    for (const archs of [X86_64, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']] as Arch[][]) {
      const before = rawProfileFilter(profile, archs);
      const after = normaliseSeccomp(before);
      t.equal(assertSameMeaning(before, after), undefined, `${name} on ${archs.join('+')}`);
      t.ok(after.syscalls!.length < before.syscalls!.length, `${name} on ${archs.join('+')}: ${before.syscalls!.length} rules -> ${after.syscalls!.length}`);
    }
  }
});

t.test('the default profile on an x86_64 host: the emitted filter is normalised and means what the unnormalised one did', async (t) => {
  const x86Host = testHost({ arch: 'x86_64' });
  for (const name of PROFILE_NAMES) {
    const profile = loadProfile(profiles, name);
    if (profile.mode !== 'enforce' || profile.rules.seccomp.action !== 'fix') continue;
    // Every capability the gated rules ask for, so every rule of the filter is emitted.
    const spec = runcSpec();
    spec.process!.capabilities = { ...spec.process!.capabilities, bounding: [...(spec.process!.capabilities?.bounding ?? []), 'CAP_SYS_PTRACE', 'CAP_SYS_CHROOT', 'CAP_SYS_TIME', 'CAP_SYS_NICE'] };
    const out = seccompPass(deepFreeze(spec), profile, x86Host).spec.linux!.seccomp!;
    t.same(out.architectures, X86_64, name);
    t.same(normaliseSeccomp(out), out, `${name}: already normalised`);
    const plain = out.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args);
    t.equal(plain.length, 1, `${name}: one unconditional ALLOW rule`);
    t.equal(out.syscalls!.at(-1), plain[0], `${name}: and it is the last`);
    const numbers = syscallNumbers('SCMP_ARCH_X86_64')!;
    const known = plain[0].names.filter((n) => isKnownSyscall(n));
    t.ok(known.every((n) => numbers.has(n)), `${name}: every known name is an x86_64 system call`);
    t.ok(known.every((n, i) => i === 0 || numbers.get(known[i - 1])! > numbers.get(n)!), `${name}: in descending number order`);
    t.same(plain[0].names.slice(known.length).filter((n) => isKnownSyscall(n)), [], `${name}: unknown names last`);
    // The profile filter the pass would have emitted unnormalised: every gated rule is held, the
    // documentation rules repeat the default action (so no runtime adds them).
    const raw = rawProfileFilter(profile, X86_64);
    // (An ERRNO rule without errnoRet answers EPERM.)
    const defaults = new Set([JSON.stringify([raw.defaultAction, [], profile.rules.seccomp.filter.defaultErrnoRet ?? null])]);
    if (raw.defaultAction === 'SCMP_ACT_ERRNO' && (profile.rules.seccomp.filter.defaultErrnoRet ?? 1) === 1) defaults.add(JSON.stringify(['SCMP_ACT_ERRNO', [], null])).add(JSON.stringify(['SCMP_ACT_ERRNO', [], 1]));
    const effective = (m: Map<string, string[]>) => new Map([...m].map(([k, v]) => [k, v.filter((x) => !defaults.has(x))] as const).filter(([, v]) => v.length > 0));
    const key = (m: Map<string, string[]>) => JSON.stringify([...m].sort(([x], [y]) => (x < y ? -1 : 1)));
    const denied = new Set(profile.rules.seccomp.deny);
    const rawMeaning = meaning({ ...raw, syscalls: raw.syscalls!.map((r, i) => (i === raw.syscalls!.length - 1 ? r : { ...r, names: r.names.filter((n) => !denied.has(n)) as Syscall['names'] })).filter((r) => r.names.length > 0) }, 'SCMP_ARCH_X86_64');
    t.equal(key(effective(meaning(out, 'SCMP_ARCH_X86_64'))), key(effective(rawMeaning)), `${name}: the same (name, action, args, errnoRet) for every x86_64 call`);
  }
});

t.test('through the pass: a config\'s own multi-ABI filter keeps the names its second ABI has', async (t) => {
  const own: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [allow('read', '_llseek', 'arm_fadvise64_64', 'bpf')] };
  const spec = deepFreeze({ ...runcSpec(), linux: { ...runcSpec().linux, seccomp: own } });
  const r = seccompPass(spec, testProfile(), testHost());
  const out = r.spec.linux!.seccomp!;
  t.same(out.syscalls!.at(-1), allow('read', '_llseek'), 'bpf removed (deny list), arm_fadvise64_64 pruned, _llseek kept');
  t.equal(assertSameMeaning({ ...own, syscalls: [allow('read', '_llseek', 'arm_fadvise64_64')] }, { ...out, syscalls: out.syscalls!.filter((s) => s.action === 'SCMP_ACT_ALLOW') }), undefined);
  const again = seccompPass(deepFreeze(r.spec), testProfile(), testHost());
  t.equal(again.spec, r.spec, 'idempotent');
});

t.test('through the pass: a deny-listed name no listed ABI has is not blocked again and again', async (t) => {
  const profile = testProfile({ seccomp: { deny: ['bpf', 'socketcall'] } });
  const own: Seccomp = { defaultAction: 'SCMP_ACT_TRACE', architectures: X86_64, syscalls: [allow('read')] };
  const r = seccompPass(deepFreeze({ ...runcSpec(), linux: { ...runcSpec().linux, seccomp: own } }), profile, testHost());
  t.same(r.spec.linux!.seccomp!.syscalls, [{ names: ['bpf'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }, allow('read')]);
  t.match(r.findings, [{ action: 'fix', message: /^filter leaves bpf, which the profile blocks, to its default action SCMP_ACT_TRACE/ }]);
  const again = seccompPass(deepFreeze(r.spec), profile, testHost());
  t.equal(again.spec, r.spec, 'the second run changes nothing');
  t.same(again.findings, []);
});

// ---------------------------------------------------------------- any filter

const NAME_POOL = ['read', 'write', 'socket', 'personality', 'clone', '_llseek', 'mmap2', 'recv', 'socketcall', 'open', 'arm_fadvise64_64', 'arch_prctl', 'mseal', 'not_a_call'];
const ARCH_LISTS: Arch[][] = [X86_64, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], ['SCMP_ARCH_X86', 'SCMP_ARCH_X86_64'], ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'], ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']];
const arbRule: fc.Arbitrary<Syscall> = fc.record({
  names: fc.array(fc.constantFrom(...NAME_POOL), { minLength: 1, maxLength: 5 }),
  action: fc.constantFrom('SCMP_ACT_ALLOW', 'SCMP_ACT_ALLOW', 'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_LOG', 'SCMP_ACT_KILL_PROCESS'),
  args: fc.option(fc.array(fc.record({ index: fc.nat(2), value: fc.nat(50), op: fc.constantFrom('SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LE') }), { maxLength: 2 }), { nil: undefined }),
  errnoRet: fc.option(fc.constantFrom(1, 13, 38), { nil: undefined }),
}).map((r) => {
  const out: Syscall = { names: r.names as Syscall['names'], action: r.action as Syscall['action'] };
  if (r.args) out.args = r.args as Syscall['args'];
  if (r.errnoRet !== undefined && r.action === 'SCMP_ACT_ERRNO') out.errnoRet = r.errnoRet;
  return out;
});

/** The rules that are not plain ALLOW, in order, as (action, args, errnoRet): normalising keeps their sequence. */
function otherRules(seccomp: Seccomp): string[] {
  return (seccomp.syscalls ?? []).filter((r) => !(r.action === 'SCMP_ACT_ALLOW' && !(r.args ?? []).length && r.errnoRet === undefined)).map((r) => JSON.stringify([r.action, r.args ?? [], r.errnoRet]));
}

t.test('for random filters: the same meaning on every listed ABI, the other rules in order, unknown names kept', async (t) => {
  fc.assert(fc.property(fc.constantFrom(...ARCH_LISTS), fc.array(arbRule, { maxLength: 8 }), (archs, syscalls) => {
    const before = filter(archs, syscalls);
    const after = normaliseSeccomp(before);
    const problem = assertSameMeaning(before, after);
    if (problem) throw new Error(problem);
    const kept = new Set(after.syscalls!.flatMap((r) => r.names));
    for (const n of before.syscalls!.flatMap((r) => r.names)) if (!isKnownSyscall(n) && !kept.has(n)) throw new Error(`unknown ${n} dropped`);
    const keptOthers = otherRules(after);
    const beforeOthers = otherRules(before);
    let j = 0;
    for (const o of beforeOthers) if (j < keptOthers.length && keptOthers[j] === o) j++;
    if (j !== keptOthers.length) throw new Error('rules with arguments or other actions reordered');
    if (JSON.stringify(normaliseSeccomp(deepFreeze(after))) !== JSON.stringify(after)) throw new Error('not idempotent');
  }), { numRuns: 500 });
  t.pass('500 random filters');
});

// ---------------------------------------------------------------- the injected filter, memoised

t.test('the injected filter is built once per rule, bounding set and architecture, and shared frozen', async (t) => {
  const profile = loadProfile(profiles, 'baseline');
  const withBounding = (bounding: string[]) => {
    const spec = runcSpec();
    return { ...spec, process: { ...spec.process!, capabilities: { ...spec.process!.capabilities, bounding: bounding as never } } };
  };
  const injected = (p: ResolvedProfile, bounding: string[], arch = 'x86_64') => seccompPass(withBounding(bounding), p, testHost({ arch })).spec.linux!.seccomp!;
  // A copy of the profile has its own rule object: its filter is built afresh, never taken from the cache.
  const fresh = (bounding: string[], arch?: string) => injected(structuredClone(profile), bounding, arch);
  const cases: Array<[what: string, bounding: string[], arch?: string]> = [
    ['runc\'s default set', ['CAP_CHOWN', 'CAP_KILL', 'CAP_AUDIT_WRITE']],
    ['with CAP_SYS_PTRACE (a capability-gated rule)', ['CAP_CHOWN', 'CAP_SYS_PTRACE']],
    ['with CAP_SYS_NICE and CAP_SYS_TIME', ['CAP_SYS_NICE', 'CAP_SYS_TIME']],
    ['no capabilities', []],
    ['on aarch64', ['CAP_CHOWN'], 'aarch64'],
  ];
  for (const [what, bounding, arch] of cases) {
    const first = injected(profile, bounding, arch);
    t.same(first, fresh(bounding, arch), `${what}: the same filter as one built afresh`);
    t.equal(injected(profile, [...bounding].reverse(), arch), first, `${what}: built once (the order of the set does not matter)`);
    t.ok(Object.isFrozen(first) && Object.isFrozen(first.syscalls) && first.syscalls!.every((r) => Object.isFrozen(r) && Object.isFrozen(r.names)), `${what}: frozen`);
  }
  const ptrace = injected(profile, ['CAP_CHOWN', 'CAP_SYS_PTRACE']);
  const plain = injected(profile, ['CAP_CHOWN']);
  const names = (s: Seccomp) => s.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names);
  t.ok(names(ptrace).includes('ptrace') && !names(plain).includes('ptrace'), 'another bounding set gets its own filter');
  t.not(injected(profile, ['CAP_CHOWN'], 'aarch64'), plain, 'another architecture gets its own filter');
  t.throws(() => (plain.syscalls as Syscall[]).push(allow('reboot')), TypeError, 'a shared filter cannot be changed');
});
