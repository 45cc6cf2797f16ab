import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  ALWAYS, NEVER, and, condMatches, contains, not, ruleCondition, seccompFilterFromDocument, syscallNamesIn,
} from '../../src/profile/seccomp-filter.js';
import type { SeccompFilter } from '../../src/profile/types.js';
import { testProfile } from '../fixtures/index.js';

const profilesDir = fileURLToPath(new URL('../../../profiles/', import.meta.url));
const readYaml = (file: string): unknown => parse(readFileSync(profilesDir + file, 'utf8'));
const load = (name: string): SeccompFilter => seccompFilterFromDocument(readYaml(`seccomp/${name}.yaml`), `profiles/seccomp/${name}.yaml`);

const defaultFilter = load('default');
const narrowFilter = load('narrow');

/** Calls that must never be allowed by a shipped filter, whatever capabilities are held. */
const MUST_BLOCK = [
  'keyctl', 'add_key', 'request_key', 'bpf', 'userfaultfd', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  'perf_event_open', 'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'open_by_handle_at',
  'name_to_handle_at', 'unshare', 'setns', 'mount', 'umount2', 'mount_setattr', 'move_mount', 'open_tree', 'fsopen',
  'fsconfig', 'fsmount', 'fspick', 'pivot_root', 'swapon', 'swapoff', 'reboot', 'acct', 'quotactl', 'lookup_dcookie',
  'syslog', 'vhangup', 'iopl', 'ioperm', 'nfsservctl', 'get_kernel_syms', 'socketcall', 'modify_ldt',
];

/** Calls allowed only with a capability, and which one. */
const CAPABILITY_GATED: Record<string, string> = {
  ptrace: 'CAP_SYS_PTRACE', process_vm_readv: 'CAP_SYS_PTRACE', process_vm_writev: 'CAP_SYS_PTRACE', kcmp: 'CAP_SYS_PTRACE',
  pidfd_getfd: 'CAP_SYS_PTRACE', chroot: 'CAP_SYS_CHROOT', clock_settime: 'CAP_SYS_TIME', settimeofday: 'CAP_SYS_TIME',
  adjtimex: 'CAP_SYS_TIME', clock_adjtime: 'CAP_SYS_TIME',
};

const permissiveRules = (f: SeccompFilter, name: string) => f.syscalls.filter((r) => r.names.includes(name) && (r.action === 'SCMP_ACT_ALLOW' || r.action === 'SCMP_ACT_LOG'));

/** Whether a filter lets `name` through for these argument values (blocking rules win ties). */
function allows(f: SeccompFilter, name: string, args: bigint[], caps: string[] = []): boolean {
  const rules = f.syscalls.filter((r) => r.names.includes(name) && (r.requiresCapabilities ?? []).every((c) => caps.includes(c)));
  const matching = rules.filter((r) => condMatches(ruleCondition(r), args));
  if (matching.some((r) => r.action !== 'SCMP_ACT_ALLOW')) return false;
  return matching.length > 0;
}

t.test('the shipped filters load', async (t) => {
  t.equal(defaultFilter.defaultAction, 'SCMP_ACT_ERRNO');
  t.equal(defaultFilter.defaultErrnoRet, 1);
  t.ok(syscallNamesIn(defaultFilter).length > 300, `default allows ${syscallNamesIn(defaultFilter).length} calls`);
  t.ok(defaultFilter.syscalls.every((r) => typeof r.comment === 'string' && r.comment.length > 20), 'every rule keeps its reason');
  t.equal(narrowFilter.defaultAction, 'SCMP_ACT_ERRNO');
  t.ok(syscallNamesIn(narrowFilter).length < syscallNamesIn(defaultFilter).length);
});

t.test('narrow.yaml allows nothing default.yaml does not', async (t) => {
  const wide = new Set(syscallNamesIn(defaultFilter));
  t.same(syscallNamesIn(narrowFilter).filter((n) => !wide.has(n)), []);
  for (const name of ['ptrace', 'personality', 'process_vm_readv', 'chroot', 'kcmp', 'shmget', 'mknod']) {
    t.same(permissiveRules(narrowFilter, name), [], `narrow drops ${name}`);
  }
});

t.test('blocked calls are not allowed by any shipped filter', async (t) => {
  const baseline = readYaml('baseline.yaml') as { rules: { seccomp: { deny: string[] } } };
  const denied = new Set([...MUST_BLOCK, ...baseline.rules.seccomp.deny, ...testProfile().rules.seccomp.deny]);
  for (const [file, filter] of [['default', defaultFilter], ['narrow', narrowFilter]] as const) {
    const leaks = [...denied].filter((n) => permissiveRules(filter, n).length > 0);
    t.same(leaks, [], `${file}.yaml allows none of the deny set`);
  }
});

t.test('capability-gated calls need exactly their capability', async (t) => {
  for (const [name, cap] of Object.entries(CAPABILITY_GATED)) {
    const rules = permissiveRules(defaultFilter, name);
    t.ok(rules.length > 0, `${name} is allowed with ${cap}`);
    t.ok(rules.every((r) => r.requiresCapabilities?.includes(cap)), `${name} only with ${cap}`);
    t.notOk(allows(defaultFilter, name, [], []), `${name} not allowed without capabilities`);
    t.ok(allows(defaultFilter, name, [], [cap]), `${name} allowed with ${cap}`);
  }
});

t.test('clone: only without namespace flags; clone3: ENOSYS', async (t) => {
  const flags = { CLONE_NEWNS: 0x20000n, CLONE_NEWCGROUP: 0x2000000n, CLONE_NEWUTS: 0x4000000n, CLONE_NEWIPC: 0x8000000n, CLONE_NEWUSER: 0x10000000n, CLONE_NEWPID: 0x20000000n, CLONE_NEWNET: 0x40000000n };
  const thread = 0x3d0f00n; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
  for (const filter of [defaultFilter, narrowFilter]) {
    t.ok(allows(filter, 'clone', [thread]), 'pthread_create flags pass');
    t.ok(allows(filter, 'clone', [17n]), 'fork (SIGCHLD) passes');
    for (const [name, flag] of Object.entries(flags)) t.notOk(allows(filter, 'clone', [17n | flag]), `${name} refused`);
    const clone3 = filter.syscalls.filter((r) => r.names.includes('clone3'));
    t.same(clone3.map((r) => [r.action, r.errnoRet]), [['SCMP_ACT_ERRNO', 38]]);
  }
});

t.test('socket: every family but AF_ALG and AF_VSOCK, and no dodging with high bits', async (t) => {
  for (let family = 0n; family <= 45n; family++) {
    const expected = family !== 38n && family !== 40n;
    t.equal(allows(defaultFilter, 'socket', [family]), expected, `family ${family}`);
  }
  for (const junk of [0x1_0000_0000n, 0xffff_ffff_0000_0000n]) {
    t.notOk(allows(defaultFilter, 'socket', [junk | 38n]), 'AF_ALG with high bits set is refused');
    t.notOk(allows(defaultFilter, 'socket', [junk | 40n]), 'AF_VSOCK with high bits set is refused');
    t.notOk(allows(defaultFilter, 'socket', [junk | 2n]), 'no family with high bits set passes');
  }
  const eafnosupport = defaultFilter.syscalls.filter((r) => r.names.includes('socket') && r.errnoRet === 97);
  t.ok(eafnosupport.some((r) => condMatches(ruleCondition(r), [0x1_0000_0026n])), 'AF_ALG fails with EAFNOSUPPORT');
  t.same([1n, 2n, 10n, 16n, 17n, 38n].filter((f) => allows(narrowFilter, 'socket', [f])), [1n, 2n, 10n, 16n], 'narrow: unix, inet, inet6, netlink');
});

t.test('personality: only the harmless values', async (t) => {
  for (const v of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) t.ok(allows(defaultFilter, 'personality', [v]), `0x${v.toString(16)}`);
  for (const v of [0x40000n /* ADDR_NO_RANDOMIZE */, 0x400000n /* READ_IMPLIES_EXEC */, 0x1_0000_0000n]) {
    t.notOk(allows(defaultFilter, 'personality', [v]), `0x${v.toString(16)} refused`);
  }
});

t.test('no rule compares one argument twice (runc would OR the comparisons)', async (t) => {
  for (const r of [...defaultFilter.syscalls, ...narrowFilter.syscalls]) {
    const indexes = (r.args ?? []).map((a) => a.index);
    t.equal(new Set(indexes).size, indexes.length, r.names.join(','));
  }
});

const good = () => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  groups: [
    { reason: 'basic I/O', action: 'SCMP_ACT_ALLOW', names: ['read', 'write'] },
    { reason: 'fork', action: 'SCMP_ACT_ALLOW', names: ['clone'], args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    { reason: 'debuggers', action: 'SCMP_ACT_ALLOW', names: ['ptrace'], requiresCapabilities: ['CAP_SYS_PTRACE'] },
  ],
});

t.test('a small document flattens into rules with comments', async (t) => {
  const doc = good();
  (doc.groups as unknown[]).push({ reason: 'families', action: 'SCMP_ACT_ALLOW', names: ['socket'], argsAnyOf: [[{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }], [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }]] });
  const big = (1n << 63n) + 5n;
  (doc.groups as unknown[]).push({ reason: 'a big mask', action: 'SCMP_ACT_ERRNO', errnoRet: 22, names: ['ioctl'], args: [{ index: 1, value: big, valueTwo: 5, op: 'SCMP_CMP_MASKED_EQ' }] });
  t.same(seccompFilterFromDocument(doc, 'x.yaml'), {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', comment: 'basic I/O' },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', comment: 'fork', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', comment: 'debuggers', requiresCapabilities: ['CAP_SYS_PTRACE'] },
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', comment: 'families', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', comment: 'families', args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
      { names: ['ioctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, comment: 'a big mask', args: [{ index: 1, value: big, valueTwo: 5, op: 'SCMP_CMP_MASKED_EQ' }] },
    ],
  });
  t.same(syscallNamesIn(seccompFilterFromDocument(good(), 'x.yaml')), ['clone', 'ptrace', 'read', 'write']);
  t.same(syscallNamesIn(seccompFilterFromDocument(good(), 'x.yaml'), undefined, []), ['clone', 'read', 'write'], 'gated rules drop out without the capability');
});

t.test('malformed documents are refused with file, field and expectation', async (t) => {
  type Doc = ReturnType<typeof good> & Record<string, unknown>;
  const cases: Array<[string, (d: Doc) => unknown, RegExp]> = [
    ['not a mapping', () => ['a'], /^f\.yaml: \(top level\): expected a mapping/],
    ['unknown top-level key', (d) => ({ ...d, extra: 1 }), /^f\.yaml: extra: unknown key/],
    ['allowing default', (d) => ({ ...d, defaultAction: 'SCMP_ACT_ALLOW' }), /^f\.yaml: defaultAction: expected one of SCMP_ACT_ERRNO.*got "SCMP_ACT_ALLOW"/],
    ['errno out of range', (d) => ({ ...d, defaultErrnoRet: 5000 }), /^f\.yaml: defaultErrnoRet: expected an errno between 1 and 4095, got 5000/],
    ['no groups', (d) => ({ ...d, groups: [] }), /^f\.yaml: groups: expected a non-empty list/],
    ['unknown action', (d) => { d.groups[1].action = 'SCMP_ACT_PERMIT'; return d; }, /^f\.yaml: groups\[1\]\.action: expected one of SCMP_ACT_KILL, .*got "SCMP_ACT_PERMIT"/],
    ['unknown group key', (d) => { (d.groups[0] as Record<string, unknown>).name = 'x'; return d; }, /^f\.yaml: groups\[0\]\.name: unknown key/],
    ['missing reason', (d) => { (d.groups[0] as Record<string, unknown>).reason = ''; return d; }, /^f\.yaml: groups\[0\]\.reason: expected a non-empty string/],
    ['bad syscall name', (d) => { d.groups[0].names = ['read', 'Write']; return d; }, /^f\.yaml: groups\[0\]\.names\[1\]: expected syscall names matching/],
    ['duplicate name in a group', (d) => { d.groups[0].names = ['read', 'read']; return d; }, /^f\.yaml: groups\[0\]\.names\[1\]: "read" is listed twice/],
    ['bad capability', (d) => { d.groups[2].requiresCapabilities = ['SYS_PTRACE']; return d; }, /^f\.yaml: groups\[2\]\.requiresCapabilities\[0\]: expected capability names matching/],
    ['unknown op', (d) => { d.groups[1].args![0].op = 'SCMP_CMP_IN'; return d; }, /^f\.yaml: groups\[1\]\.args\[0\]\.op: expected one of SCMP_CMP_NE/],
    ['index out of range', (d) => { d.groups[1].args![0].index = 6; return d; }, /^f\.yaml: groups\[1\]\.args\[0\]\.index: expected an argument index from 0 to 5/],
    ['negative value', (d) => { d.groups[1].args![0].value = -1; return d; }, /^f\.yaml: groups\[1\]\.args\[0\]\.value: expected an unsigned 64-bit integer/],
    ['imprecise big value', (d) => { d.groups[1].args![0].value = 2 ** 60; return d; }, /args\[0\]\.value: expected an unsigned 64-bit integer \(values above 2\^53 must be parsed as bigint\)/],
    ['masked without datum', (d) => { delete (d.groups[1].args![0] as { valueTwo?: number }).valueTwo; return d; }, /^f\.yaml: groups\[1\]\.args\[0\]\.valueTwo: expected the datum/],
    ['one argument twice', (d) => { d.groups[1].args!.push({ index: 0, value: 1, valueTwo: 0, op: 'SCMP_CMP_GT' }); return d; }, /groups\[1\]\.args\[1\]\.index: argument 0 is compared twice in one rule/],
    ['errnoRet on ALLOW', (d) => { (d.groups[0] as Record<string, unknown>).errnoRet = 1; return d; }, /^f\.yaml: groups\[0\]\.errnoRet: only meaningful with SCMP_ACT_ERRNO/],
    ['args and argsAnyOf', (d) => { (d.groups[1] as Record<string, unknown>).argsAnyOf = [[]]; return d; }, /groups\[1\]\.argsAnyOf: expected either args or argsAnyOf/],
    ['conflicting unconditional rules', (d) => { (d.groups as unknown[]).push({ reason: 'no', action: 'SCMP_ACT_ERRNO', names: ['write'] }); return d; }, /^f\.yaml: groups\[3\]\.names: write already has SCMP_ACT_ALLOW in groups\[0\]/],
    ['unconditional next to conditional', (d) => { (d.groups as unknown[]).push({ reason: 'no', action: 'SCMP_ACT_KILL', names: ['clone'] }); return d; }, /groups\[3\]\.names: clone already has SCMP_ACT_ALLOW in groups\[1\]/],
  ];
  for (const [name, mutate, expected] of cases) {
    t.throws(() => seccompFilterFromDocument(mutate(good() as Doc), 'f.yaml'), expected, name);
  }
  t.doesNotThrow(() => {
    const d = good();
    (d.groups as unknown[]).push({ reason: 'same outcome twice is fine', action: 'SCMP_ACT_ALLOW', names: ['read'] });
    seccompFilterFromDocument(d, 'f.yaml');
  });
});

t.test('argument conditions: and, not, contains', async (t) => {
  const eq = (index: number, value: number) => ({ index, value, op: 'SCMP_CMP_EQ' });
  const masked = (mask: number, datum: number) => ({ index: 0, value: mask, valueTwo: datum, op: 'SCMP_CMP_MASKED_EQ' });
  const noUserns = ruleCondition({ args: [masked(0x10000000, 0)] });
  const noNamespaces = ruleCondition({ args: [masked(0x7e020000, 0)] });
  t.ok(contains(noUserns, noNamespaces), 'no namespace flags implies no CLONE_NEWUSER');
  t.notOk(contains(noNamespaces, noUserns));
  t.same(and(noUserns, noNamespaces).cond, noNamespaces, 'masks combine into one comparison');
  const notUserns = not(ruleCondition({ args: [masked(0x10000000, 0x10000000)] }));
  t.same(notUserns.cond, noUserns, 'the complement of "bit set" is "bit clear"');
  t.same(not(ALWAYS).cond, NEVER);
  t.same(not(NEVER).cond, ALWAYS);
  const le10 = ruleCondition({ args: [{ index: 0, value: 10, op: 'SCMP_CMP_LE' }] });
  const ge5 = ruleCondition({ args: [{ index: 0, value: 5, op: 'SCMP_CMP_GE' }] });
  const both = and(le10, ge5);
  t.same(both.cond, [], 'a closed range 5..10 cannot be one comparison: dropped');
  t.equal(both.approximate, true, 'and flagged');
  t.same(and(ruleCondition({ args: [eq(0, 7)] }), le10).cond, ruleCondition({ args: [eq(0, 7)] }));
  t.same(and(ruleCondition({ args: [eq(0, 11)] }), le10).cond, [], 'contradiction');
  t.same(and(ruleCondition({ args: [eq(0, 1)] }), ruleCondition({ args: [eq(1, 2)] })).cond, [[...ruleCondition({ args: [eq(0, 1), eq(1, 2)] })[0]]]);
  t.same(ruleCondition({ args: [eq(0, 1), eq(0, 2)] }).length, 2, 'one argument twice is ORed, as runc does');
});
