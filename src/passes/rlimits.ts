// Resource limits (setrlimit) of the container's first process: defaults where the config sets
// none, ceilings where the profile has them. Values are uint64 and may arrive as bigint
// (RLIM_INFINITY is 18446744073709551615), so every comparison happens in bigint.
import type { Pass } from './types.js';
import type { Rlimit } from '../spec/index.js';
import type { RlimitsRule } from '../profile/types.js';
import type { HostFacts } from '../host/types.js';
import { reporter } from './util.js';

/** The resource types Linux 6.x knows (include/uapi/asm-generic/resource.h). */
export const LINUX_RLIMITS: readonly string[] = [
  'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_CORE', 'RLIMIT_RSS',
  'RLIMIT_NPROC', 'RLIMIT_NOFILE', 'RLIMIT_MEMLOCK', 'RLIMIT_AS', 'RLIMIT_LOCKS',
  'RLIMIT_SIGPENDING', 'RLIMIT_MSGQUEUE', 'RLIMIT_NICE', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME',
];
const KNOWN = new Set(LINUX_RLIMITS);
const TYPE_PATTERN = /^RLIMIT_[A-Z]+$/;
const PATH = 'process.rlimits';

type Value = number | bigint;
type Reporter = ReturnType<typeof reporter>;

const big = (v: Value): bigint => (typeof v === 'bigint' ? v : BigInt(v));
/** The smaller of two limits, kept in whichever representation it came in. */
const lower = (a: Value, b: Value): Value => (big(a) <= big(b) ? a : b);
const above = (a: Value, b: Value): boolean => big(a) > big(b);

function hostHard(host: HostFacts, type: string): Value | undefined {
  return Object.hasOwn(host.rlimitHard, type) ? host.rlimitHard[type] : undefined;
}

/** Problems that make an entry invalid whatever the profile says; true when any was found. */
function reportInvalid(limit: Rlimit, seen: Set<string>, r: Reporter): boolean {
  const { type } = limit;
  if (!TYPE_PATTERN.test(type) || !KNOWN.has(type)) {
    r.report(PATH, `names unknown resource ${JSON.stringify(type)}`, 'deny');
    return true;
  }
  if (seen.has(type)) {
    // runc applies them in order, so the last wins: refuse rather than let order decide.
    r.report(PATH, `set ${type} more than once`, 'deny');
    return true;
  }
  seen.add(type);
  if (!Number.isInteger(limit.soft) && typeof limit.soft !== 'bigint') return reportNotInteger(type, r);
  if (!Number.isInteger(limit.hard) && typeof limit.hard !== 'bigint') return reportNotInteger(type, r);
  if (above(limit.soft, limit.hard)) {
    // setrlimit(2) fails with EINVAL.
    r.report(PATH, `set ${type} soft ${limit.soft} above hard ${limit.hard}`, 'deny');
    return true;
  }
  return false;
}

function reportNotInteger(type: string, r: Reporter): true {
  r.report(PATH, `set ${type} to a value that is not an integer`, 'deny');
  return true;
}

/** Lowers one entry to the profile's ceiling; returns the new entry when it changed. */
function capToMax(limit: Rlimit, rule: RlimitsRule, r: Reporter): Rlimit | undefined {
  const max = Object.hasOwn(rule.max, limit.type) ? rule.max[limit.type] : undefined;
  if (max === undefined || !above(limit.hard, max)) return undefined; // soft <= hard, checked before
  const what = `set ${limit.type} hard ${limit.hard} above the profile's maximum ${max}`;
  r.report(PATH, r.changes ? `${what}; lowered to ${max}` : what);
  if (!r.changes) return undefined;
  return { ...limit, hard: max, soft: lower(limit.soft, max) };
}

/**
 * Raising a hard limit above the runtime's own needs CAP_SYS_RESOURCE; without it runc fails
 * with EPERM. Only a warning: the user's explicit value is not lowered behind their back.
 */
function warnAboveHost(limit: Rlimit, host: HostFacts, r: Reporter): void {
  const ceiling = hostHard(host, limit.type);
  if (ceiling === undefined || !above(limit.hard, ceiling)) return;
  r.report(PATH, `set ${limit.type} hard ${limit.hard} above the runtime's own hard limit ${ceiling}: without CAP_SYS_RESOURCE runc fails with EPERM`, 'warn');
}

/** The default for a type the config does not set, within the profile maximum and the host's hard limit. */
function defaultLimit(type: string, rule: RlimitsRule, host: HostFacts): Rlimit {
  const wanted = rule.defaults[type];
  let hard: Value = wanted.hard;
  const max = Object.hasOwn(rule.max, type) ? rule.max[type] : undefined;
  if (max !== undefined) hard = lower(hard, max);
  const ceiling = hostHard(host, type);
  if (ceiling !== undefined) hard = lower(hard, ceiling);
  return { type, hard, soft: lower(wanted.soft, hard) };
}

function addDefaults(present: Set<string>, rule: RlimitsRule, host: HostFacts, r: Reporter): Rlimit[] {
  const added: Rlimit[] = [];
  for (const type of Object.keys(rule.defaults)) {
    if (present.has(type)) continue;
    if (!KNOWN.has(type)) {
      // A profile bug must not turn into a config runc rejects, nor be skipped quietly.
      r.report(PATH, `cannot get the profile's default for unknown resource ${JSON.stringify(type)}`, 'deny');
      continue;
    }
    const limit = defaultLimit(type, rule, host);
    r.report(PATH, r.changes ? `did not set ${type}; added soft ${limit.soft}, hard ${limit.hard}` : `does not set ${type}`);
    if (r.changes) added.push(limit);
  }
  return added;
}

export const rlimitsPass: Pass = (spec, profile, host) => {
  const rule = profile.rules.rlimits;
  const r = reporter('rlimits', rule.action);
  const process = spec.process;
  if (!process) return { spec, findings: r.findings };

  const limits = process.rlimits ?? [];
  const seen = new Set<string>();
  let changed = false;
  const next = limits.map((limit) => {
    if (reportInvalid(limit, seen, r)) return limit;
    const capped = capToMax(limit, rule, r);
    if (capped) changed = true;
    warnAboveHost(capped ?? limit, host, r);
    return capped ?? limit;
  });
  const present = new Set(limits.map((l) => l.type));
  const added = addDefaults(present, rule, host, r);
  if (!changed && added.length === 0) return { spec, findings: r.findings };
  return { spec: { ...spec, process: { ...process, rlimits: [...next, ...added] } }, findings: r.findings };
};
