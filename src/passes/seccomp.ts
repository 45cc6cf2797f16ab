// Rule `seccomp`: every container runs under a system-call allowlist, and nothing a profile
// blocks can be allowed by a config's own filter.
//
// - No filter, or one whose default lets everything through (ALLOW/LOG): the profile's filter is
//   injected, with capability-gated rules resolved against the final bounding set.
// - A config's own filter: `merge` keeps it, strips deny-listed calls from the rules that let
//   calls through and blocks them explicitly; `replace` swaps the profile's filter in.
// Whatever happens, a call the config's filter blocked stays blocked: a replacement is narrowed
// to what the old filter allowed (argument conditions in ../profile/seccomp-filter.ts) and lists
// no ABI the old filter did not; merge leaves a filter's ABIs alone. libseccomp kills calls from
// ABIs a filter does not list, so adding one would open it.
// A filter the pass emits is then normalised for libseccomp without changing what it does
// (normaliseSeccomp below; docs/SECCOMP.md, "What runc compiles").
import type { Seccomp, Spec, Syscall, SyscallArg } from '../spec/index.js';
import type { ResolvedProfile, SeccompRule, SeccompRuleConfig } from '../profile/types.js';
import type { HostFacts } from '../host/types.js';
import type { Pass } from './types.js';
import { reporter } from './util.js';
import type { Cond } from '../profile/seccomp-filter.js';
import { ALWAYS, and, contains, effectiveOutcome, isAlways, not, ruleCondition, toArgs } from '../profile/seccomp-filter.js';
import { abiOrder } from './syscalls.js';
import type { AbiOrder } from './syscalls.js';

type Action = Syscall['action'];
type Arch = NonNullable<Seccomp['architectures']>[number];
type Report = ReturnType<typeof reporter>;

const PERMISSIVE: ReadonlySet<string> = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']);
const BLOCKING: ReadonlySet<string> = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP']);
// TRACE and NOTIFY hand the decision to another process, so they may let a call through.
const isBlocking = (action: string) => BLOCKING.has(action);
const ENOSYS = 38;

/** The ABIs a host's kernel runs: the native one first. The profile filters are written for these two. */
const HOST_ARCHITECTURES: Record<string, Arch[]> = {
  x86_64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
  aarch64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};
const NATIVE_ARCHITECTURE: Record<string, Arch> = {
  i386: 'SCMP_ARCH_X86', i686: 'SCMP_ARCH_X86', armv7l: 'SCMP_ARCH_ARM', armv6l: 'SCMP_ARCH_ARM',
  ppc64: 'SCMP_ARCH_PPC64', ppc64le: 'SCMP_ARCH_PPC64LE', s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
  mips: 'SCMP_ARCH_MIPS', mipsel: 'SCMP_ARCH_MIPSEL', mips64: 'SCMP_ARCH_MIPS64', mips64el: 'SCMP_ARCH_MIPSEL64',
  riscv64: 'SCMP_ARCH_RISCV64',
};

// ---------------------------------------------------------------- reading a filter

function isUnconfined(seccomp: Seccomp): boolean {
  return PERMISSIVE.has(seccomp.defaultAction);
}

// Filters are looked up name by name hundreds of times per call: index each one once.
const ruleIndex = new WeakMap<Seccomp, Map<string, Syscall[]>>();

function rulesNaming(seccomp: Seccomp, name: string): Syscall[] {
  let index = ruleIndex.get(seccomp);
  if (!index) {
    index = new Map();
    for (const rule of seccomp.syscalls ?? []) {
      for (const n of rule.names) index.set(n, [...(index.get(n) ?? []), rule]);
    }
    ruleIndex.set(seccomp, index);
  }
  return index.get(name) ?? [];
}

function isUnconditional(rule: Syscall): boolean {
  return (rule.args ?? []).length === 0;
}

/** Arguments for which a filter certainly lets `name` through (an under-approximation). */
function surelyPermitted(seccomp: Seccomp, name: string): { cond: Cond; approximate: boolean } {
  const rules = rulesNaming(seccomp, name);
  const base = isUnconfined(seccomp) ? ALWAYS : rules.filter((r) => PERMISSIVE.has(r.action)).flatMap(ruleCondition);
  // Where rules with different outcomes overlap, assume the blocking one wins.
  const negated = not(rules.filter((r) => !PERMISSIVE.has(r.action)).flatMap(ruleCondition));
  const both = and(base, negated.cond);
  return { cond: both.cond, approximate: negated.approximate || both.approximate };
}

/** Arguments for which a filter may let `name` through (an over-approximation). */
function maybePermitted(seccomp: Seccomp, name: string): Cond {
  if (!isBlocking(seccomp.defaultAction)) return ALWAYS;
  return rulesNaming(seccomp, name).filter((r) => !isBlocking(r.action)).flatMap(ruleCondition);
}

function permissiveNames(seccomp: Seccomp): string[] {
  const names = new Set<string>();
  for (const rule of seccomp.syscalls ?? []) if (PERMISSIVE.has(rule.action)) rule.names.forEach((n) => names.add(n));
  return [...names];
}

/** Names of calls whose decision may not be "blocked" (permissive or handed to a tracer/agent). */
function nonBlockingNames(seccomp: Seccomp): Set<string> {
  return new Set((seccomp.syscalls ?? []).filter((r) => !isBlocking(r.action)).flatMap((r) => r.names));
}

function coveredByUnconditionalBlock(seccomp: Seccomp, name: string): boolean {
  return rulesNaming(seccomp, name).some((r) => isBlocking(r.action) && isUnconditional(r));
}

// ---------------------------------------------------------------- the profile's filter

function boundingSet(spec: Spec): string[] {
  return spec.process?.capabilities?.bounding ?? [];
}

function copyArgs(args: SeccompRuleConfig['args']): SyscallArg[] | undefined {
  return args?.map((a) => ({ index: a.index, value: a.value, ...(a.valueTwo !== undefined ? { valueTwo: a.valueTwo } : {}), op: a.op as SyscallArg['op'] }));
}

/** One profile rule in OCI form: `requiresCapabilities` and `comment` are Bulwark's, not the runtime's. */
function toOciRule(rule: SeccompRuleConfig, names: string[]): Syscall {
  const out: Syscall = { names: names as Syscall['names'], action: rule.action as Action };
  if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
  const args = copyArgs(rule.args);
  if (args) out.args = args;
  return out;
}

// On the i386 ABI, libseccomp also matches the socket and SysV IPC calls through their
// multiplexers socketcall(2) and ipc(2), whose arguments sit behind a pointer: a rule comparing
// socket()'s family becomes "socketcall(SYS_SOCKET) allowed" with no check at all (see
// seccomp_export_pfc), and `int 0x80` from any process, 64-bit or not, would reach AF_ALG. Such a
// filter therefore leaves SCMP_ARCH_X86 out, so that libseccomp kills i386 calls instead.
const X86_MULTIPLEXED: ReadonlySet<string> = new Set([
  'socket', 'socketpair', 'bind', 'connect', 'listen', 'accept', 'accept4', 'getsockname', 'getpeername',
  'sendto', 'recvfrom', 'send', 'recv', 'shutdown', 'setsockopt', 'getsockopt', 'sendmsg', 'recvmsg',
  'sendmmsg', 'recvmmsg', 'semop', 'semget', 'semctl', 'semtimedop', 'msgsnd', 'msgrcv', 'msgget',
  'msgctl', 'shmat', 'shmdt', 'shmget', 'shmctl',
]);

function comparesMultiplexedArgs(syscalls: Syscall[]): boolean {
  return syscalls.some((r) => !isUnconditional(r) && r.names.some((n) => X86_MULTIPLEXED.has(n)));
}

function architecturesFor(host: HostFacts, syscalls: Syscall[]): Arch[] | undefined {
  const full = HOST_ARCHITECTURES[host.arch];
  if (full) return full.filter((a) => a !== 'SCMP_ARCH_X86' || !comparesMultiplexedArgs(syscalls));
  const native = NATIVE_ARCHITECTURE[host.arch];
  return native ? [native] : undefined;
}

/** The profile's filter as it applies to this container and host. */
function profileSeccomp(rule: SeccompRule, spec: Spec, host: HostFacts): Seccomp {
  const { filter } = rule;
  const held = boundingSet(spec);
  const deny = new Set(rule.deny);
  const defaultOutcome = effectiveOutcome(filter.defaultAction, filter.defaultErrnoRet);
  const syscalls: Syscall[] = [];
  for (const r of filter.syscalls) {
    if (!(r.requiresCapabilities ?? []).every((cap) => held.includes(cap))) continue;
    // Rules that repeat the default (the documentation groups) are left out: runc skips them and
    // other runtimes may refuse them.
    if (effectiveOutcome(r.action, r.errnoRet) === defaultOutcome) continue;
    const names = r.names.filter((n) => !deny.has(n));
    if (names.length > 0) syscalls.push(toOciRule(r, names));
  }
  if (rule.deny.length > 0) syscalls.push({ names: [...rule.deny] as Syscall['names'], action: 'SCMP_ACT_ERRNO', errnoRet: rule.denyErrno });
  const seccomp: Seccomp = { defaultAction: filter.defaultAction as Action };
  if (filter.defaultErrnoRet !== undefined) seccomp.defaultErrnoRet = filter.defaultErrnoRet;
  const architectures = architecturesFor(host, syscalls);
  if (architectures) seccomp.architectures = architectures;
  seccomp.syscalls = syscalls;
  return seccomp;
}

/**
 * Never widen the ABIs a config's filter covered: libseccomp kills calls from an ABI the filter
 * does not list (its default bad-architecture action), and always covers the native one, which
 * `architecturesFor` puts first.
 */
function keepArchitectures(ours: Seccomp, theirs: Seccomp): Seccomp['architectures'] {
  if (!ours.architectures) return theirs.architectures;
  const covered = new Set<string>([ours.architectures[0], ...(theirs.architectures ?? [])]);
  return ours.architectures.filter((a) => covered.has(a));
}

// ---------------------------------------------------------------- narrowing ours to theirs

interface Narrowed {
  seccomp: Seccomp;
  /** Calls now allowed for fewer arguments, or not at all, because the config's filter was stricter. */
  narrowed: string[];
  /** Calls blocked for more arguments than the old filter blocked (inexpressible combinations). */
  approximate: string[];
}

function removeNames(rules: Syscall[], drop: ReadonlySet<string>, which: (r: Syscall) => boolean): Syscall[] {
  const out: Syscall[] = [];
  for (const rule of rules) {
    if (!which(rule) || !rule.names.some((n) => drop.has(n))) {
      out.push(rule);
      continue;
    }
    const names = rule.names.filter((n) => !drop.has(n));
    if (names.length > 0) out.push({ ...rule, names: names as Syscall['names'] });
  }
  return out;
}

/** The profile's filter, narrowed so that nothing the config's filter blocked becomes allowed (and normalised, as every emitted filter). */
function narrowTo(ours: Seccomp, theirs: Seccomp): Narrowed {
  const narrowed: string[] = [];
  const approximate: string[] = [];
  const added: Syscall[] = [];
  const carried = new Map<string, Syscall>();
  for (const name of permissiveNames(ours)) {
    const limit = surelyPermitted(theirs, name);
    if (isAlways(limit.cond)) continue;
    const mine = rulesNaming(ours, name).filter((r) => PERMISSIVE.has(r.action)).flatMap(ruleCondition);
    if (contains(limit.cond, mine)) continue;
    const both = and(mine, limit.cond);
    narrowed.push(name);
    if (limit.approximate || both.approximate) approximate.push(name);
    for (const conj of both.cond) added.push({ names: [name], action: 'SCMP_ACT_ALLOW', ...(conj.length > 0 ? { args: toArgs(conj) } : {}) });
    if (both.cond.length === 0 && !rulesNaming(ours, name).some((r) => !PERMISSIVE.has(r.action))) carryBlock(theirs, name, carried);
  }
  const kept = removeNames(ours.syscalls ?? [], new Set(narrowed), (r) => PERMISSIVE.has(r.action));
  const seccomp: Seccomp = { ...ours, syscalls: [...kept, ...added, ...carried.values()] };
  // Narrowing may have added argument checks on socket or IPC calls: i386 must then go too.
  const architectures = keepArchitectures(ours, theirs)?.filter((a) => a !== 'SCMP_ARCH_X86' || !comparesMultiplexedArgs(seccomp.syscalls!));
  if (architectures) seccomp.architectures = architectures;
  else delete seccomp.architectures;
  return { seccomp: normaliseSeccomp(seccomp), narrowed: narrowed.sort(), approximate: approximate.sort() };
}

function carryBlock(theirs: Seccomp, name: string, carried: Map<string, Syscall>): void {
  const block = rulesNaming(theirs, name).find((r) => isBlocking(r.action) && isUnconditional(r));
  if (!block) return;
  const key = effectiveOutcome(block.action, block.errnoRet);
  const existing = carried.get(key);
  if (existing) existing.names.push(name);
  else carried.set(key, { names: [name], action: block.action, ...(block.errnoRet !== undefined ? { errnoRet: block.errnoRet } : {}) });
}

/** True when a config's filter lets through nothing the profile's does not (so replacing it changes nothing). */
function withinProfile(theirs: Seccomp, ours: Seccomp): boolean {
  if (!isBlocking(theirs.defaultAction)) return false;
  return [...nonBlockingNames(theirs)].every((name) => {
    const mine = rulesNaming(ours, name).filter((r) => PERMISSIVE.has(r.action)).flatMap(ruleCondition);
    return contains(mine, maybePermitted(theirs, name));
  });
}

// ---------------------------------------------------------------- merging the deny list into theirs

function list(names: Iterable<string>): string {
  return [...names].join(', ');
}

/** The profile's deny list and clone3 rule applied to a config's own (confining) filter. */
function mergeInto(theirs: Seccomp, rule: SeccompRule, out: Report): Seccomp {
  const syscalls = theirs.syscalls ?? [];
  const nonBlocking = nonBlockingNames(theirs);
  const defaultBlocks = isBlocking(theirs.defaultAction);
  const allowedDenied = rule.deny.filter((n) => nonBlocking.has(n));
  // A name that is a system call on none of the filter's ABIs needs no rule (and the emitted filter drops it).
  const order = theirs.architectures && abiOrder(theirs.architectures);
  const newlyBlocked = rule.deny.filter((n) => !coveredByUnconditionalBlock(theirs, n) && (nonBlocking.has(n) || (!defaultBlocks && existsOn(order, n))));
  const leftToDefault = newlyBlocked.filter((n) => !nonBlocking.has(n));
  const clone3Allowed = !rule.deny.includes('clone3') && syscalls.some((r) => PERMISSIVE.has(r.action) && r.names.includes('clone3'));

  const blockedHow = out.changes ? `: removed${newlyBlocked.length > 0 ? ` and blocked with errno ${rule.denyErrno}` : ''}` : '';
  if (allowedDenied.length > 0) out.report('linux.seccomp.syscalls', `filter allows ${list(allowedDenied)}, which the profile blocks${blockedHow}`, undefined, 'deny');
  if (leftToDefault.length > 0) {
    const how = out.changes ? `: blocked with errno ${rule.denyErrno}` : '';
    out.report('linux.seccomp.syscalls', `filter leaves ${list(leftToDefault)}, which the profile blocks, to its default action ${theirs.defaultAction}${how}`, undefined, 'deny');
  }
  if (clone3Allowed) {
    const how = out.changes ? ': it now fails with ENOSYS, so the C library falls back to clone' : '';
    out.report('linux.seccomp.syscalls', `filter allows clone3, whose namespace flags seccomp cannot inspect${how}`);
  }
  // Only reported: dropping the ABI would stop i386 programs the filter's author meant to run.
  if (theirs.architectures?.includes('SCMP_ARCH_X86') && comparesMultiplexedArgs(syscalls)) {
    out.report('linux.seccomp.architectures', 'filter lists SCMP_ARCH_X86 and compares socket or IPC arguments, which libseccomp cannot check for i386 calls made through socketcall or ipc: those checks do not hold for i386', 'warn', 'architectures');
  }
  if (!out.changes || (allowedDenied.length === 0 && newlyBlocked.length === 0 && !clone3Allowed)) return theirs;

  let next = removeNames(syscalls, new Set(allowedDenied), (r) => !isBlocking(r.action));
  if (clone3Allowed) next = removeNames(next, new Set(['clone3']), (r) => PERMISSIVE.has(r.action));
  // The new deny rule covers these outright; conditional rules naming them would only conflict.
  next = removeNames(next, new Set(newlyBlocked), (r) => isBlocking(r.action) && !isUnconditional(r));
  if (newlyBlocked.length > 0) next.push({ names: newlyBlocked as Syscall['names'], action: 'SCMP_ACT_ERRNO', errnoRet: rule.denyErrno });
  if (clone3Allowed && !coveredByUnconditionalBlock({ ...theirs, syscalls: next }, 'clone3')) {
    next.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return normaliseSeccomp({ ...theirs, syscalls: next });
}

// ---------------------------------------------------------------- normalising the emitted filter
//
// runc compiles the filter with libseccomp at every create, rule by rule and name by name, and
// libseccomp inserts each call into a list kept sorted by number (docs/SECCOMP.md, "What runc
// compiles"). The filters carry names for every ABI they were written for (`_llseek`, `mmap2`,
// `socketcall`, ...), which runc still adds and libseccomp then drops. So the emitted filter is
// normalised, without changing what it does on any ABI it lists:
// - names that are a system call on none of the listed ABIs are dropped (a rule left empty goes);
//   names the table does not know stay (a newer libseccomp may know them);
// - the unconditional ALLOW rules whose names no other rule mentions become one rule, last, its
//   names in descending number on the first (native) ABI, which is libseccomp's cheapest order;
// - every other rule stays as it was, in its order.

/** ALLOW with no argument conditions and nothing else: rules that differ only in their names. */
function isPlainAllow(rule: Syscall): boolean {
  if (rule.action !== 'SCMP_ACT_ALLOW' || !isUnconditional(rule)) return false;
  for (const key in rule) if (key !== 'names' && key !== 'action' && key !== 'args') return false;
  return true;
}

/** False only for a name the table knows that is a system call on none of the filter's ABIs: no rule can match it. */
function existsOn(order: AbiOrder | undefined, name: string): boolean {
  return order?.rank.get(name) !== -1;
}

/** The filter the pass emits, cheaper for libseccomp to compile and meaning the same on every ABI it lists. */
export function normaliseSeccomp(seccomp: Seccomp): Seccomp {
  const order = seccomp.architectures && abiOrder(seccomp.architectures);
  if (!order || !seccomp.syscalls) return seccomp;
  const { rank } = order;

  // Drop the names no listed ABI has; mark the names that rules other than plain ALLOW ones mention.
  const pruned: { rule: Syscall; ranks: (number | undefined)[] | null }[] = [];
  const marked = new Uint8Array(order.size);
  const markedUnknown = new Set<string>();
  for (const rule of seccomp.syscalls) {
    const names: string[] = [];
    const ranks: (number | undefined)[] = [];
    for (const n of rule.names) {
      const r = rank.get(n);
      if (r === -1) continue;
      names.push(n);
      ranks.push(r);
    }
    if (names.length === 0) continue;
    const kept = names.length === rule.names.length ? rule : { ...rule, names: names as Syscall['names'] };
    const plain = isPlainAllow(kept);
    pruned.push({ rule: kept, ranks: plain ? ranks : null });
    if (plain) continue;
    for (let i = 0; i < names.length; i++) {
      const r = ranks[i];
      if (r === undefined) markedUnknown.add(names[i]);
      else marked[r] = 1;
    }
  }

  // Plain ALLOW names no other rule mentions move to one rule, placed by rank (which also drops
  // repeats); names the table does not know follow in their order. The others stay where they were.
  const slots: (string | undefined)[] = new Array(order.size);
  const unknown = new Set<string>();
  const rest: Syscall[] = [];
  for (const { rule, ranks } of pruned) {
    if (!ranks) {
      rest.push(rule);
      continue;
    }
    const staying: string[] = [];
    for (let i = 0; i < ranks.length; i++) {
      const n = rule.names[i];
      const r = ranks[i];
      if (r === undefined ? markedUnknown.has(n) : marked[r] === 1) staying.push(n);
      else if (r === undefined) unknown.add(n);
      else slots[r] = n;
    }
    if (staying.length === rule.names.length) rest.push(rule);
    else if (staying.length > 0) rest.push({ ...rule, names: staying as Syscall['names'] });
  }
  const names: string[] = [];
  for (const n of slots) if (n !== undefined) names.push(n);
  for (const n of unknown) names.push(n);
  if (names.length === 0) return { ...seccomp, syscalls: rest };
  // Last rather than first: libseccomp then inserts the other rules' few calls into a short list
  // (measured with libseccomp 2.5.4: ~2% less compile time; docs/SECCOMP.md).
  return { ...seccomp, syscalls: [...rest, { names: names as Syscall['names'], action: 'SCMP_ACT_ALLOW' }] };
}

// ---------------------------------------------------------------- the pass

function allowedCount(seccomp: Seccomp): number {
  return permissiveNames(seccomp).length;
}

function narrowingNote(result: Narrowed): string {
  if (result.narrowed.length === 0) return '';
  const approx = result.approximate.length > 0 ? ` (${list(result.approximate)} more strictly than before)` : '';
  return `; kept the config filter's stricter limits on ${list(result.narrowed)}${approx}`;
}

function reportArchitectures(host: HostFacts, out: Report): void {
  if (HOST_ARCHITECTURES[host.arch]) return;
  const native = NATIVE_ARCHITECTURE[host.arch];
  const what = native ? `only its native ABI (${native}) is listed` : 'it has no seccomp architecture name, so the runtime filters its native ABI only';
  out.report('linux.seccomp.architectures', `host architecture ${host.arch} is not one the profile filters were written for; ${what}`, 'warn', 'architectures');
}

// The filter injected into a config without one depends only on the rule, the container's
// bounding set and the host's architecture, and building it (~0.3 ms between real creates) is the
// largest pass of the chain: a warm service builds it once per combination. Cached filters are
// frozen, so that no later step can change one that other containers share.
const injectedFilters = new WeakMap<SeccompRule, Map<string, Seccomp>>();
const INJECTED_FILTERS_PER_RULE = 16;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** normaliseSeccomp(profileSeccomp(...)), memoised per rule, bounding set and architecture. */
export function injectedFilter(rule: SeccompRule, spec: Spec, host: HostFacts): Seccomp {
  const key = `${host.arch}\0${[...new Set(boundingSet(spec))].sort().join(',')}`;
  let byKey = injectedFilters.get(rule);
  if (!byKey) injectedFilters.set(rule, (byKey = new Map()));
  const known = byKey.get(key);
  if (known) return known;
  const built = deepFreeze(normaliseSeccomp(profileSeccomp(rule, spec, host)));
  if (byKey.size >= INJECTED_FILTERS_PER_RULE) byKey.delete(byKey.keys().next().value!);
  byKey.set(key, built);
  return built;
}

function injectProfile(current: Seccomp | undefined, rule: SeccompRule, spec: Spec, host: HostFacts, out: Report): Seccomp | undefined {
  const problem = current ? `filter is unconfined (defaultAction ${current.defaultAction})` : 'no seccomp filter';
  if (!out.changes) {
    out.report('linux.seccomp', `${problem}: the profile requires seccomp filter '${rule.profile}'`);
    return current;
  }
  const result: Narrowed = current
    ? narrowTo(profileSeccomp(rule, spec, host), current)
    : { seccomp: injectedFilter(rule, spec, host), narrowed: [], approximate: [] };
  const verb = current ? 'replaced it with' : 'added';
  out.report('linux.seccomp', `${problem}: ${verb} profile filter '${rule.profile}' (${allowedCount(result.seccomp)} syscalls allowed)${narrowingNote(result)}`);
  reportArchitectures(host, out);
  return result.seccomp;
}

function replaceFilter(current: Seccomp, rule: SeccompRule, spec: Spec, host: HostFacts, out: Report): Seccomp {
  const ours = profileSeccomp(rule, spec, host);
  if (withinProfile(current, ours)) return current;
  if (!out.changes) return mergeInto(current, rule, out);
  const result = narrowTo(ours, current);
  out.report('linux.seccomp', `config's own filter allows calls the profile does not: replaced it with profile filter '${rule.profile}' (${allowedCount(result.seccomp)} syscalls allowed)${narrowingNote(result)}`);
  reportArchitectures(host, out);
  return result.seccomp;
}

/** Refuse actions the kernel cannot carry out: the runtime would fail, or worse, degrade them. */
function checkKernelActions(seccomp: Seccomp | undefined, host: HostFacts, out: Report): void {
  if (!seccomp) return;
  const supported = new Set(host.seccompActions);
  const kernelName = (action: string) => (action === 'SCMP_ACT_KILL' ? 'SCMP_ACT_KILL_THREAD' : action);
  const used = new Map<string, string>([[kernelName(seccomp.defaultAction), 'linux.seccomp.defaultAction']]);
  for (const r of seccomp.syscalls ?? []) if (!used.has(kernelName(r.action))) used.set(kernelName(r.action), 'linux.seccomp.syscalls');
  for (const [action, path] of used) {
    if (!supported.has(action)) out.report(path, `filter uses ${action}, which this kernel does not support: refusing to start rather than run without the filter`, 'deny', 'actions');
  }
}

function withSeccomp(spec: Spec, seccomp: Seccomp): Spec {
  return { ...spec, linux: { ...(spec.linux ?? {}), seccomp } };
}

export const seccompPass: Pass = (spec: Spec, profile: ResolvedProfile, host: HostFacts) => {
  const rule = profile.rules.seccomp;
  const out = reporter('seccomp', rule.action);
  const current = spec.linux?.seccomp;
  let next: Seccomp | undefined;
  if (!current || isUnconfined(current)) next = injectProfile(current, rule, spec, host, out);
  else if (rule.customFilters === 'replace') next = replaceFilter(current, rule, spec, host, out);
  else next = mergeInto(current, rule, out);
  checkKernelActions(next, host, out);
  const changed = next !== undefined && next !== current;
  return { spec: changed ? withSeccomp(spec, next as Seccomp) : spec, findings: out.findings };
};
