// Loads a seccomp filter document (profiles/seccomp/*.yaml, already parsed) into the
// SeccompFilter a profile carries. The document groups syscalls with the reason they are allowed
// or blocked; the loader checks every field by hand (this runs once per profile load, so a
// schema compiler would cost more than it saves) and flattens the groups into rules that keep
// the reason as `comment`. Errors name the file, the field path and what was expected.
import type { SeccompFilter, SeccompRuleConfig } from './types.js';

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
] as const;

/** Default actions a profile filter may use: an allowlist must block what it does not name. */
const BLOCKING_DEFAULTS = ['SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP'];

export const SECCOMP_OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;

const SYSCALL_NAME = /^[a-z0-9_]+$/;
const CAPABILITY_NAME = /^CAP_[A-Z_]+$/;
const MAX_ERRNO = 4095;
const MAX_U64 = (1n << 64n) - 1n;
const EPERM = 1;

type Arg = NonNullable<SeccompRuleConfig['args']>[number];

class FilterDocumentError extends Error {
  override name = 'FilterDocumentError';
}

/** Reports one problem: `<file>: <path>: <expected>`. */
type Fail = (path: string, expected: string) => never;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? 'a mapping' : JSON.stringify(value);
}

function checkKeys(value: Record<string, unknown>, allowed: readonly string[], path: string, fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(path === '' ? key : `${path}.${key}`, `unknown key (expected one of ${allowed.join(', ')})`);
  }
}

function oneOf<T extends string>(value: unknown, choices: readonly T[], path: string, fail: Fail): T {
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    fail(path, `expected one of ${choices.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

function errno(value: unknown, path: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_ERRNO) {
    fail(path, `expected an errno between 1 and ${MAX_ERRNO}, got ${describe(value)}`);
  }
  return value as number;
}

/** A 64-bit unsigned argument value. YAML gives plain numbers up to 2^53; larger ones need bigint. */
function u64(value: unknown, path: string, fail: Fail): number | bigint {
  if (typeof value === 'bigint' && value >= 0n && value <= MAX_U64) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  return fail(path, `expected an unsigned 64-bit integer (values above 2^53 must be parsed as bigint), got ${describe(value)}`);
}

function stringList(value: unknown, pattern: RegExp, what: string, path: string, fail: Fail): string[] {
  if (!Array.isArray(value) || value.length === 0) fail(path, `expected a non-empty list of ${what}`);
  const seen = new Set<string>();
  (value as unknown[]).forEach((item, i) => {
    if (typeof item !== 'string' || !pattern.test(item)) fail(`${path}[${i}]`, `expected ${what} matching ${pattern.source}, got ${describe(item)}`);
    if (seen.has(item as string)) fail(`${path}[${i}]`, `${describe(item)} is listed twice`);
    seen.add(item as string);
  });
  return value as string[];
}

function parseArg(value: unknown, path: string, fail: Fail): Arg {
  if (!isRecord(value)) return fail(path, 'expected a mapping with index, value, op and optional valueTwo');
  checkKeys(value, ['index', 'value', 'valueTwo', 'op'], path, fail);
  const index = value.index;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 5) {
    fail(`${path}.index`, `expected an argument index from 0 to 5, got ${describe(index)}`);
  }
  const op = oneOf(value.op, SECCOMP_OPS, `${path}.op`, fail);
  const arg: Arg = { index: index as number, value: u64(value.value, `${path}.value`, fail), op };
  if (value.valueTwo !== undefined) arg.valueTwo = u64(value.valueTwo, `${path}.valueTwo`, fail);
  else if (op === 'SCMP_CMP_MASKED_EQ') fail(`${path}.valueTwo`, 'expected the datum for SCMP_CMP_MASKED_EQ (value is the mask)');
  return arg;
}

function parseArgs(value: unknown, path: string, fail: Fail): Arg[] {
  if (!Array.isArray(value) || value.length === 0) return fail(path, 'expected a non-empty list of argument comparisons');
  const args = value.map((item, i) => parseArg(item, `${path}[${i}]`, fail));
  // runc turns two comparisons of one argument into separate, ORed rules: a range written
  // as [GE a, LE b] would allow everything.
  const indexes = new Set<number>();
  args.forEach((arg, i) => {
    if (indexes.has(arg.index)) fail(`${path}[${i}].index`, `argument ${arg.index} is compared twice in one rule (runtimes would OR the comparisons); use argsAnyOf`);
    indexes.add(arg.index);
  });
  return args;
}

const GROUP_KEYS = ['reason', 'action', 'names', 'errnoRet', 'args', 'argsAnyOf', 'requiresCapabilities'];

function parseGroup(value: unknown, path: string, fail: Fail): SeccompRuleConfig[] {
  if (!isRecord(value)) return fail(path, 'expected a mapping with reason, action and names');
  checkKeys(value, GROUP_KEYS, path, fail);
  if (typeof value.reason !== 'string' || value.reason.trim() === '') fail(`${path}.reason`, 'expected a non-empty string saying why');
  const action = oneOf(value.action, SECCOMP_ACTIONS, `${path}.action`, fail);
  const names = stringList(value.names, SYSCALL_NAME, 'syscall names', `${path}.names`, fail);
  const base: SeccompRuleConfig = { names: [...names], action, comment: (value.reason as string).trim() };
  if (value.errnoRet !== undefined) {
    if (action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') fail(`${path}.errnoRet`, `only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${action}`);
    base.errnoRet = errno(value.errnoRet, `${path}.errnoRet`, fail);
  }
  if (value.requiresCapabilities !== undefined) {
    base.requiresCapabilities = [...stringList(value.requiresCapabilities, CAPABILITY_NAME, 'capability names', `${path}.requiresCapabilities`, fail)];
  }
  if (value.args !== undefined && value.argsAnyOf !== undefined) fail(`${path}.argsAnyOf`, 'expected either args or argsAnyOf, not both');
  if (value.args !== undefined) return [{ ...base, args: parseArgs(value.args, `${path}.args`, fail) }];
  if (value.argsAnyOf !== undefined) {
    if (!Array.isArray(value.argsAnyOf) || value.argsAnyOf.length === 0) fail(`${path}.argsAnyOf`, 'expected a non-empty list of argument lists');
    return (value.argsAnyOf as unknown[]).map((args, i) => ({ ...base, names: [...names], args: parseArgs(args, `${path}.argsAnyOf[${i}]`, fail) }));
  }
  return [base];
}

/** The (action, errno) pair a rule really returns: runc treats ERRNO without errnoRet as EPERM. */
export function effectiveOutcome(action: string, errnoRet: number | undefined): string {
  if (action === 'SCMP_ACT_ERRNO') return `SCMP_ACT_ERRNO(${errnoRet ?? EPERM})`;
  if (action === 'SCMP_ACT_KILL') return 'SCMP_ACT_KILL_THREAD';
  return errnoRet === undefined ? action : `${action}(${errnoRet})`;
}

/**
 * Two rules for one syscall with different outcomes are only unambiguous when both compare
 * arguments (the runtime then picks by value). An unconditional rule next to any rule with another
 * outcome leaves the result to libseccomp's merge order, so it is refused.
 */
function checkConflicts(rules: SeccompRuleConfig[], groupOf: number[], fail: Fail): void {
  const byName = new Map<string, Array<{ outcome: string; unconditional: boolean; group: number }>>();
  rules.forEach((rule, i) => {
    const entry = { outcome: effectiveOutcome(rule.action, rule.errnoRet), unconditional: !rule.args, group: groupOf[i] };
    for (const name of rule.names) {
      const seen = byName.get(name) ?? [];
      for (const other of seen) {
        if (other.outcome !== entry.outcome && (other.unconditional || entry.unconditional)) {
          fail(`groups[${entry.group}].names`, `${name} already has ${other.outcome} in groups[${other.group}]; an unconditional rule cannot be combined with another outcome`);
        }
      }
      seen.push(entry);
      byName.set(name, seen);
    }
  });
}

/** Validates a parsed filter document and flattens its groups into rules. Throws on any problem. */
export function seccompFilterFromDocument(doc: unknown, file: string): SeccompFilter {
  const fail: Fail = (path, expected) => {
    throw new FilterDocumentError(`${file}: ${path === '' ? '(top level)' : path}: ${expected}`);
  };
  if (!isRecord(doc)) return fail('', 'expected a mapping with defaultAction and groups');
  checkKeys(doc, ['description', 'defaultAction', 'defaultErrnoRet', 'groups'], '', fail);
  if (doc.description !== undefined && typeof doc.description !== 'string') fail('description', 'expected a string');
  const defaultAction = oneOf(doc.defaultAction, BLOCKING_DEFAULTS, 'defaultAction', fail);
  const filter: SeccompFilter = { defaultAction, syscalls: [] };
  if (doc.defaultErrnoRet !== undefined) {
    if (defaultAction !== 'SCMP_ACT_ERRNO') fail('defaultErrnoRet', `only meaningful with SCMP_ACT_ERRNO, not ${defaultAction}`);
    filter.defaultErrnoRet = errno(doc.defaultErrnoRet, 'defaultErrnoRet', fail);
  }
  if (!Array.isArray(doc.groups) || doc.groups.length === 0) fail('groups', 'expected a non-empty list of groups');
  const groupOf: number[] = [];
  (doc.groups as unknown[]).forEach((group, i) => {
    for (const rule of parseGroup(group, `groups[${i}]`, fail)) {
      filter.syscalls.push(rule);
      groupOf.push(i);
    }
  });
  checkConflicts(filter.syscalls, groupOf, fail);
  return filter;
}

/** Actions that let a call through (the filter's "allowed" set). */
export const PERMISSIVE_ACTIONS: readonly string[] = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'];

/**
 * Names of the syscalls a filter's rules mention with one of `actions` (by default the
 * permissive ones), sorted. Capability-gated rules count unless `capabilities` is given, in which
 * case only rules whose capabilities are all held count.
 */
export function syscallNamesIn(filter: SeccompFilter, actions: readonly string[] = PERMISSIVE_ACTIONS, capabilities?: readonly string[]): string[] {
  const names = new Set<string>();
  for (const rule of filter.syscalls) {
    if (!actions.includes(rule.action)) continue;
    if (capabilities && !(rule.requiresCapabilities ?? []).every((cap) => capabilities.includes(cap))) continue;
    for (const name of rule.names) names.add(name);
  }
  return [...names].sort();
}

// ---------------------------------------------------------------- argument conditions
// To keep a promise like "nothing the config's filter blocked becomes allowed", a pass must
// compare what two filters let through for one syscall. A condition is an OR of conjunctions of
// argument comparisons (`[]` matches nothing, `[[]]` everything), with the kernel's semantics:
// 64-bit unsigned comparisons, MASKED_EQ meaning (arg & value) == valueTwo. A conjunction holds at
// most one comparison per argument, because that is all a seccomp rule can express; combinations
// that cannot be written that way are dropped and flagged `approximate` (stricter, never looser).

type Op = (typeof SECCOMP_OPS)[number];
interface Cmp {
  index: number;
  op: Op;
  a: bigint;
  /** The datum of MASKED_EQ; 0 for the other operators, which ignore it. */
  b: bigint;
}
type Conj = Cmp[];
export type Cond = Conj[];

export const ALWAYS: Cond = [[]];
export const NEVER: Cond = [];

interface ArgLike {
  index: number;
  value: number | bigint;
  valueTwo?: number | bigint;
  op: string;
}

const NEGATION: Partial<Record<Op, Op>> = {
  SCMP_CMP_EQ: 'SCMP_CMP_NE', SCMP_CMP_NE: 'SCMP_CMP_EQ', SCMP_CMP_LT: 'SCMP_CMP_GE',
  SCMP_CMP_GE: 'SCMP_CMP_LT', SCMP_CMP_LE: 'SCMP_CMP_GT', SCMP_CMP_GT: 'SCMP_CMP_LE',
};

function cmpOf(arg: ArgLike): Cmp {
  const op = arg.op as Op;
  const b = op === 'SCMP_CMP_MASKED_EQ' ? BigInt(arg.valueTwo ?? 0) : 0n;
  return { index: arg.index, op, a: BigInt(arg.value), b };
}

const keyOf = (c: Cmp) => `${c.index}:${c.op}:${c.a}:${c.b}`;
const byIndex = (x: Cmp, y: Cmp) => x.index - y.index || keyOf(x).localeCompare(keyOf(y));

/** What one rule matches. A rule comparing one argument twice is split into ORed rules, as runc does. */
export function ruleCondition(rule: { args?: ArgLike[] }): Cond {
  const cmps = (rule.args ?? []).map(cmpOf);
  if (cmps.length === 0) return [[]];
  const indexes = new Set(cmps.map((c) => c.index));
  return indexes.size < cmps.length ? cmps.map((c) => [c]) : [cmps.sort(byIndex)];
}

const toJsonNumber = (v: bigint): number | bigint => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** A conjunction back in OCI SyscallArg form. */
export function toArgs(conj: Conj): Array<{ index: number; value: number | bigint; valueTwo?: number | bigint; op: Op }> {
  return conj.map((c) => ({ index: c.index, value: toJsonNumber(c.a), ...(c.op === 'SCMP_CMP_MASKED_EQ' ? { valueTwo: toJsonNumber(c.b) } : {}), op: c.op }));
}

function holds(c: Cmp, v: bigint): boolean {
  switch (c.op) {
    case 'SCMP_CMP_EQ': return v === c.a;
    case 'SCMP_CMP_NE': return v !== c.a;
    case 'SCMP_CMP_LT': return v < c.a;
    case 'SCMP_CMP_LE': return v <= c.a;
    case 'SCMP_CMP_GT': return v > c.a;
    case 'SCMP_CMP_GE': return v >= c.a;
    case 'SCMP_CMP_MASKED_EQ': return (v & c.a) === c.b;
  }
}

/** The closed range of values a comparison accepts, when it is one (EQ and the orderings). */
function rangeOf(c: Cmp): [bigint, bigint] | null {
  switch (c.op) {
    case 'SCMP_CMP_EQ': return [c.a, c.a];
    case 'SCMP_CMP_LT': return [0n, c.a - 1n];
    case 'SCMP_CMP_LE': return [0n, c.a];
    case 'SCMP_CMP_GT': return [c.a + 1n, MAX_U64];
    case 'SCMP_CMP_GE': return [c.a, MAX_U64];
    default: return null;
  }
}

function rangeCmp(index: number, lo: bigint, hi: bigint): Cmp | null {
  if (lo === hi) return { index, op: 'SCMP_CMP_EQ', a: lo, b: 0n };
  if (lo === 0n) return { index, op: 'SCMP_CMP_LE', a: hi, b: 0n };
  if (hi === MAX_U64) return { index, op: 'SCMP_CMP_GE', a: lo, b: 0n };
  return null;
}

type Simplified = Cmp | 'empty' | 'inexpressible';

/** Several comparisons of one argument as a single comparison, when one can say the same. */
function combine(group: Cmp[]): Simplified {
  if (group.length === 1) return group[0];
  const index = group[0].index;
  const eq = group.find((c) => c.op === 'SCMP_CMP_EQ');
  if (eq) return group.every((c) => holds(c, eq.a)) ? eq : 'empty';
  if (group.every((c) => c.op === 'SCMP_CMP_MASKED_EQ')) {
    let mask = 0n;
    let datum = 0n;
    for (const c of group) {
      if (((datum ^ c.b) & mask & c.a) !== 0n || (c.b & ~c.a) !== 0n) return 'empty';
      mask |= c.a;
      datum |= c.b;
    }
    return { index, op: 'SCMP_CMP_MASKED_EQ', a: mask, b: datum };
  }
  const ranges = group.map(rangeOf).filter((r): r is [bigint, bigint] => r !== null);
  if (ranges.length === 0) return 'inexpressible';
  let lo = 0n;
  let hi = MAX_U64;
  for (const [l, h] of ranges) [lo, hi] = [l > lo ? l : lo, h < hi ? h : hi];
  if (lo > hi) return 'empty';
  // An NE outside the range says nothing more; anything else left cannot join the range.
  const rest = group.filter((c) => rangeOf(c) === null && !(c.op === 'SCMP_CMP_NE' && (c.a < lo || c.a > hi)));
  if (rest.length > 0) return 'inexpressible';
  return rangeCmp(index, lo, hi) ?? 'inexpressible';
}

function simplify(cmps: Cmp[]): Conj | 'empty' | 'inexpressible' {
  const groups = new Map<number, Map<string, Cmp>>();
  for (const c of cmps) {
    const group = groups.get(c.index) ?? new Map<string, Cmp>();
    group.set(keyOf(c), c);
    groups.set(c.index, group);
  }
  const conj: Conj = [];
  for (const group of groups.values()) {
    const one = combine([...group.values()]);
    if (one === 'empty' || one === 'inexpressible') return one;
    conj.push(one);
  }
  return conj.sort(byIndex);
}

/** A ∧ B. `approximate` is set when some part could not be expressed and was dropped. */
export function and(a: Cond, b: Cond): { cond: Cond; approximate: boolean } {
  const out = new Map<string, Conj>();
  let approximate = false;
  for (const x of a) {
    for (const y of b) {
      const conj = simplify([...x, ...y]);
      if (conj === 'inexpressible') approximate = true;
      else if (conj !== 'empty') out.set(conj.map(keyOf).join('&'), conj);
    }
  }
  return { cond: [...out.values()], approximate };
}

/** ¬c as a condition: exact for every operator (MASKED_EQ fails when any masked bit differs). */
function negate(c: Cmp): Cond {
  const op = NEGATION[c.op];
  if (op) return [[{ ...c, op }]];
  if ((c.b & ~c.a) !== 0n) return ALWAYS; // the comparison can never hold
  const out: Cond = [];
  for (let bit = 1n; bit <= c.a; bit <<= 1n) {
    if ((c.a & bit) !== 0n) out.push([{ index: c.index, op: 'SCMP_CMP_MASKED_EQ', a: bit, b: (c.b & bit) ^ bit }]);
  }
  return out;
}

/** ¬A. */
export function not(a: Cond): { cond: Cond; approximate: boolean } {
  let cond = ALWAYS;
  let approximate = false;
  for (const conj of a) {
    const clause = conj.flatMap(negate);
    const next = and(cond, clause);
    cond = next.cond;
    approximate ||= next.approximate;
  }
  return { cond, approximate };
}

export function isAlways(cond: Cond): boolean {
  return cond.some((conj) => conj.length === 0);
}

function implies(x: Cmp, y: Cmp): boolean {
  if (x.index !== y.index) return false;
  if (keyOf(x) === keyOf(y)) return true;
  if (x.op === 'SCMP_CMP_EQ') return holds(y, x.a);
  const rx = rangeOf(x);
  const ry = rangeOf(y);
  if (rx && ry) return rx[0] >= ry[0] && rx[1] <= ry[1];
  if (rx && y.op === 'SCMP_CMP_NE') return y.a < rx[0] || y.a > rx[1];
  if (x.op === 'SCMP_CMP_MASKED_EQ' && y.op === 'SCMP_CMP_MASKED_EQ') return (y.a & ~x.a) === 0n && (x.b & y.a) === y.b;
  return false;
}

/** Whether every argument tuple A matches is also matched by `outer` (sound, not complete). */
export function contains(outer: Cond, a: Cond): boolean {
  return a.every((inner) => outer.some((conj) => conj.every((y) => inner.some((x) => implies(x, y)))));
}

/** Whether a call with these argument values (index 0..5) satisfies the condition. */
export function condMatches(cond: Cond, values: readonly bigint[]): boolean {
  return cond.some((conj) => conj.every((c) => holds(c, values[c.index] ?? 0n)));
}
