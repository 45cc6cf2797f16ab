// cgroup limits: every container gets a memory limit, a swap ceiling, a pids limit and, when the
// profile asks, a CPU ceiling, so one container cannot starve the node (a fork bomb, a memory
// bomb). On a cgroup v2 host the `unified` map is checked too, because runc writes it after the
// typed fields and so a `memory.max: max` there would undo the limit.
//
// Values are int64/uint64 and may arrive as bigint (see src/json/lossless.ts); all arithmetic
// happens in bigint and results go back to number when they fit.
import type { Pass } from './types.js';
import type { Resources } from '../spec/index.js';
import type { CgroupsRule } from '../profile/types.js';
import type { HostFacts } from '../host/types.js';
import { reporter } from './util.js';

type Int = number | bigint;
type Reporter = ReturnType<typeof reporter>;
type Memory = NonNullable<Resources['memory']>;
type Cpu = NonNullable<Resources['cpu']>;
type Unified = NonNullable<Resources['unified']>;

const BASE = 'linux.resources';
/** The kernel's default CFS period (µs); runc leaves the period alone when the config sets none. */
const DEFAULT_CPU_PERIOD = 100_000;

const big = (v: Int): bigint => (typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
/** Back to a plain number when it is exactly representable, as the lossless codec would parse it. */
const toInt = (v: bigint): Int => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
const compare = (a: Int, b: Int): number => (big(a) < big(b) ? -1 : big(a) > big(b) ? 1 : 0);
/** OCI: unset, 0 and negative values (-1) all mean "no limit" for memory, swap and pids. */
const noLimit = (v: Int | undefined): boolean => v === undefined || compare(v, 0) <= 0;

const unifiedPath = (key: string) => `${BASE}.unified[${JSON.stringify(key)}]`;

function bytes(v: Int): string {
  const n = big(v);
  for (const [unit, size] of [['GiB', 1n << 30n], ['MiB', 1n << 20n], ['KiB', 1n << 10n]] as const) {
    if (n >= size && n % size === 0n) return `${n} (${n / size} ${unit})`;
  }
  return `${n}`;
}

/** "is X" for the finding text of a value that means "no limit". */
function describeUnlimited(v: Int | undefined): string {
  return v === undefined ? 'is not set' : `is ${v} (no limit)`;
}

function say(r: Reporter, path: string, problem: string, remedy: string, as?: 'warn'): void {
  r.report(path, r.changes && as === undefined ? `${problem}; ${remedy}` : problem, as);
}

// ---- memory ------------------------------------------------------------------------------------

interface MemoryDecision {
  memory: Memory;
  /** The limit in force once the profile is applied (what a fixed config would carry). */
  limit: Int;
  /** The memory+swap total the profile set, when this run rewrote memory.swap. */
  swapSet: Int | undefined;
}

function decideLimit(current: Int | undefined, rule: CgroupsRule, r: Reporter): Int {
  const path = `${BASE}.memory.limit`;
  const { default: fallback, max } = rule.memory;
  if (current === undefined || noLimit(current)) {
    say(r, path, `${describeUnlimited(current)}: the container could take all of the host's memory`, `set to ${bytes(fallback)}`);
    return fallback;
  }
  if (compare(current, max) > 0) {
    say(r, path, `is ${bytes(current)}, above the profile's maximum ${bytes(max)}`, `lowered to ${bytes(max)}`);
    return max;
  }
  return current;
}

/** True when this host lets runc write a swap limit at all. */
function canLimitSwap(host: HostFacts): boolean {
  // cgroup v1 without swap accounting (swapaccount=0, or CONFIG_MEMCG_SWAP off) has no
  // memory.memsw.limit_in_bytes and runc fails writing it. On v2 runc ignores a missing
  // memory.swap.max for "0" and "max" and fails closed otherwise, so the typed field is safe.
  return host.cgroup.mode === 'v2' || host.cgroup.swapAccounting;
}

/**
 * A memory.swap this pass sets is mirrored into `unified` on v2 where the key is absent and the
 * kernel has the file: runc writes unified keys as files of their own and fails on a missing one.
 */
function addsUnifiedSwapMax(host: HostFacts, resources: Resources): boolean {
  const { mode, swapAccounting, controllers } = host.cgroup;
  return mode === 'v2' && swapAccounting && controllers.includes('memory') && !Object.hasOwn(resources.unified ?? {}, 'memory.swap.max');
}

/**
 * OCI `memory.swap` is the memory+swap total (runc turns it into memory.swap.max = swap - limit
 * on v2). It may not exceed limit + the profile's swap allowance; unset, 0 and -1 mean unlimited.
 * A total below the limit is left alone: runc refuses it, so it loosens nothing.
 */
function decideSwap(resources: Resources, limit: Int, rule: CgroupsRule, host: HostFacts, r: Reporter): Int | undefined {
  const current = resources.memory?.swap;
  const path = `${BASE}.memory.swap`;
  const ceiling = toInt(big(limit) + big(rule.memory.swap));
  const problem = current === undefined || noLimit(current)
    ? `${describeUnlimited(current)}: memory+swap is unbounded`
    : compare(current, ceiling) > 0
      ? `is ${bytes(current)}, above memory.limit plus the profile's swap allowance (${bytes(ceiling)})`
      : undefined;
  if (problem === undefined) return current;
  if (!canLimitSwap(host)) {
    say(r, path, `${problem}; left as is: this host has no swap accounting (no memory.memsw.* files) and runc would fail to set it`, '', 'warn');
    return current;
  }
  const unified = addsUnifiedSwapMax(host, resources) ? ` and unified memory.swap.max to "${big(ceiling) - big(limit)}"` : '';
  say(r, path, problem, `set to ${bytes(ceiling)}${unified}`);
  return ceiling;
}

function hardenMemory(resources: Resources, rule: CgroupsRule, host: HostFacts, r: Reporter): MemoryDecision {
  const current = resources.memory ?? {};
  const limit = decideLimit(current.limit, rule, r);
  const swap = decideSwap(resources, limit, rule, host, r);
  let next: Memory = current;
  if (r.changes && limit !== current.limit) next = { ...next, limit };
  if (r.changes && swap !== current.swap) next = { ...next, swap };
  if (current.disableOOMKiller === true) {
    // With the OOM killer off a task over the limit sleeps in the charge path until memory frees
    // up, so a memory bomb hangs the container (and holds its memory) instead of being killed.
    say(r, `${BASE}.memory.disableOOMKiller`, 'is true: a container over its memory limit would hang instead of being killed', 'set to false');
    if (r.changes) next = { ...next, disableOOMKiller: false };
  }
  return { memory: next, limit, swapSet: swap !== current.swap ? swap : undefined };
}

// ---- pids --------------------------------------------------------------------------------------

/** Returns the pids object to write and the limit in force once the profile is applied. */
function hardenPids(pids: Resources['pids'], rule: CgroupsRule, r: Reporter): { pids: Resources['pids']; limit: Int } {
  const path = `${BASE}.pids.limit`;
  const current = pids?.limit;
  let limit: Int;
  if (current === undefined || noLimit(current)) {
    say(r, path, `${describeUnlimited(current)}: a fork bomb could exhaust the host's process table`, `set to ${rule.pids.default}`);
    limit = rule.pids.default;
  } else if (compare(current, rule.pids.max) > 0) {
    say(r, path, `is ${current}, above the profile's maximum ${rule.pids.max}`, `lowered to ${rule.pids.max}`);
    limit = rule.pids.max;
  } else {
    return { pids, limit: current };
  }
  return { pids: r.changes ? { ...pids, limit } : pids, limit };
}

// ---- cpu ---------------------------------------------------------------------------------------

/** floor(period * cpus), with cpus to a thousandth of a CPU. */
function quotaFor(period: Int, maxCpus: number): Int {
  return toInt((big(period) * BigInt(Math.round(maxCpus * 1000))) / 1000n);
}

function hardenCpu(cpu: Cpu | undefined, rule: CgroupsRule, r: Reporter): Cpu | undefined {
  const { maxCpus } = rule.cpu;
  if (!(maxCpus > 0)) return cpu;
  const path = `${BASE}.cpu.quota`;
  const current = cpu ?? {};
  const periodSet = current.period !== undefined && compare(current.period, 0) > 0;
  const period: Int = periodSet ? current.period! : DEFAULT_CPU_PERIOD;
  const ceiling = quotaFor(period, maxCpus);
  const quota = current.quota;
  if (quota === undefined || noLimit(quota)) {
    say(r, path, `${describeUnlimited(quota)}: no CPU ceiling, the profile allows at most ${maxCpus} CPUs`, `set to ${ceiling} per ${period} µs period`);
  } else if (compare(quota, ceiling) > 0) {
    say(r, path, `is ${quota} per ${period} µs period, above the profile's ${maxCpus} CPUs`, `lowered to ${ceiling}`);
  } else {
    return cpu;
  }
  if (!r.changes) return cpu;
  return periodSet ? { ...current, quota: ceiling } : { ...current, quota: ceiling, period };
}

// ---- cgroup v2 unified map ---------------------------------------------------------------------

/**
 * A cgroup v2 size as the kernel reads it (page_counter_memparse): "max", or memparse()'s
 * integer in base 0 (0x.. hex, 0.. octal) with an optional K/M/G/T/P/E suffix. null when the
 * kernel would refuse it, which we treat as "no limit" and replace.
 */
export function parseCgroupSize(text: string): bigint | 'max' | null {
  const s = text.trim();
  if (s === 'max') return 'max';
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgGtTpPeE]?)$/.exec(s);
  if (!m) return null;
  const digits = m[1]!;
  const value = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits[0] === '0' ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const shift = ' kmgtpe'.indexOf((m[2] || ' ').toLowerCase());
  return value << BigInt(10 * shift);
}

/** pids.max as the kernel reads it: "max" or an integer in base 0. */
function parsePidsMax(text: string): bigint | 'max' | null {
  const s = text.trim();
  return /[kKmMgGtTpPeE]$/.test(s) && !/^0[xX]/.test(s) ? null : parseCgroupSize(s);
}

/** cpu.max "$QUOTA $PERIOD" (either may be omitted after the first); quota may be "max". */
function parseCpuMax(text: string): { quota: bigint | 'max'; period: bigint | undefined } | null {
  const m = /^\s*(max|[0-9]+)(?:\s+([0-9]+))?\s*$/.exec(text);
  if (!m) return null;
  return { quota: m[1] === 'max' ? 'max' : BigInt(m[1]!), period: m[2] === undefined ? undefined : BigInt(m[2]) };
}

interface UnifiedContext {
  unified: Unified;
  updates: Record<string, string>;
  r: Reporter;
}

/** An existing key whose value allows more than `limit`: replace it with the limit. */
function capUnified(ctx: UnifiedContext, key: string, limit: Int, parse: (s: string) => bigint | 'max' | null): void {
  if (!Object.hasOwn(ctx.unified, key)) return;
  const raw = ctx.unified[key]!;
  const value = parse(raw);
  if (value !== null && value !== 'max' && value <= big(limit)) return;
  const why = value === 'max' ? 'removes the limit' : value === null ? 'is not a value the kernel accepts' : 'is above the limit';
  say(ctx.r, unifiedPath(key), `is ${JSON.stringify(raw)}, which ${why} (${limit}) the typed field sets`, `set to "${big(limit)}"`);
  ctx.updates[key] = `${big(limit)}`;
}

function hardenUnified(resources: Resources, rule: CgroupsRule, host: HostFacts, memory: MemoryDecision, pidsLimit: Int, r: Reporter): Unified | undefined {
  // runc refuses any `unified` key unless the host is pure cgroup v2 (ErrV1NoUnified), so
  // nothing is added on v1 or hybrid hosts, and existing keys there already fail closed.
  if (host.cgroup.mode !== 'v2') return resources.unified;
  const available = new Set(host.cgroup.controllers);
  const ctx: UnifiedContext = { unified: resources.unified ?? {}, updates: {}, r };
  if (available.has('memory')) unifiedMemory(ctx, rule, host, memory);
  if (available.has('pids')) capUnified(ctx, 'pids.max', pidsLimit, parsePidsMax);
  if (available.has('cpu') && rule.cpu.maxCpus > 0) unifiedCpu(ctx, rule);
  if (!r.changes || Object.keys(ctx.updates).length === 0) return resources.unified;
  return { ...ctx.unified, ...ctx.updates };
}

function unifiedMemory(ctx: UnifiedContext, rule: CgroupsRule, host: HostFacts, memory: MemoryDecision): void {
  if (rule.oomGroup && ctx.unified['memory.oom.group'] !== '1') {
    // Without it the OOM killer takes one process and leaves the rest of the container running
    // in a state nobody planned for (a supervisor without its worker).
    const raw = ctx.unified['memory.oom.group'];
    const problem = raw === undefined ? 'is not set: an OOM kill would take one process and leave the rest running' : `is ${JSON.stringify(raw)}: an OOM kill would take one process and leave the rest running`;
    say(ctx.r, unifiedPath('memory.oom.group'), problem, 'set to "1"');
    ctx.updates['memory.oom.group'] = '1';
  }
  capUnified(ctx, 'memory.max', memory.limit, parseCgroupSize);
  const swapMax = memory.swapSet === undefined ? undefined : toInt(big(memory.swapSet) - big(memory.limit));
  if (Object.hasOwn(ctx.unified, 'memory.swap.max')) {
    // Written after memory.swap, so it must not allow more than the swap decision.
    const allowed = swapMax ?? swapAllowedByConfig(ctx, memory);
    if (allowed !== undefined) capUnified(ctx, 'memory.swap.max', allowed, parseCgroupSize);
  } else if (swapMax !== undefined && addsUnifiedSwapMax(host, { unified: ctx.unified })) {
    // Mirrors the memory.swap this run set; that finding names it. A config whose memory.swap
    // already complies needs no key: runc derives memory.swap.max from it.
    ctx.updates['memory.swap.max'] = `${big(swapMax)}`;
  }
}

/** memory.swap - memory.limit for a config whose swap already complied; undefined if unset. */
function swapAllowedByConfig(ctx: UnifiedContext, memory: MemoryDecision): Int | undefined {
  const total = memory.memory.swap;
  if (total === undefined || noLimit(total) || compare(total, memory.limit) < 0) return undefined;
  return toInt(big(total) - big(memory.limit));
}

function unifiedCpu(ctx: UnifiedContext, rule: CgroupsRule): void {
  const key = 'cpu.max';
  if (!Object.hasOwn(ctx.unified, key)) return;
  const raw = ctx.unified[key]!;
  const parsed = parseCpuMax(raw);
  const period = parsed?.period !== undefined && parsed.period > 0n ? parsed.period : BigInt(DEFAULT_CPU_PERIOD);
  const ceiling = big(quotaFor(period, rule.cpu.maxCpus));
  if (parsed !== null && parsed.quota !== 'max' && parsed.quota <= ceiling) return;
  say(ctx.r, unifiedPath(key), `is ${JSON.stringify(raw)}, more than the profile's ${rule.cpu.maxCpus} CPUs`, `set to "${ceiling} ${period}"`);
  ctx.updates[key] = `${ceiling} ${period}`;
}

// ---- the pass ----------------------------------------------------------------------------------

export const cgroupsPass: Pass = (spec, profile, host) => {
  const rule = profile.rules.cgroups;
  const r = reporter('cgroups', rule.action);
  const resources: Resources = spec.linux?.resources ?? {};
  const memory = hardenMemory(resources, rule, host, r);
  const pids = hardenPids(resources.pids, rule, r);
  const cpu = hardenCpu(resources.cpu, rule, r);
  const unified = hardenUnified(resources, rule, host, memory, pids.limit, r);
  // linux.cgroupsPath is where the cgroup lives, not how much it may use: not policy, left alone.
  if (!r.changes) return { spec, findings: r.findings };
  const next: Resources = { ...resources, memory: memory.memory };
  if (pids.pids !== undefined) next.pids = pids.pids;
  if (cpu !== undefined) next.cpu = cpu;
  if (unified !== undefined) next.unified = unified;
  if (unchanged(resources, next)) return { spec, findings: r.findings };
  return { spec: { ...spec, linux: { ...spec.linux, resources: next } }, findings: r.findings };
};

function unchanged(before: Resources, after: Resources): boolean {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) if ((before as Record<string, unknown>)[key] !== (after as Record<string, unknown>)[key]) return false;
  return true;
}
