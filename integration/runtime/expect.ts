// What the tests of bin/bulwark-runtime expect, computed from the shipped profile (loaded the
// way Bulwark loads it) and from the original config a test wrote, never typed in by hand: if
// profiles/baseline.yaml changes, the expectations follow, and the container must follow too.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { directorySource, loadProfile } from '../../src/profile/load.js';
import type { ResolvedProfile, SeccompRuleConfig } from '../../src/profile/types.js';
import type { Spec } from '../../src/spec/index.js';
import { resolvePool } from '../../src/state/ids.js';
import { repoRoot } from '../lib/paths.js';
import { sortCaps } from '../lib/checks.js';

/** The annotations a container uses to pick its low-level runtime and to opt into a profile. */
export const RUNTIME_ANNOTATION = 'io.bulwark.runtime';
export const PROFILE_ANNOTATION = 'io.bulwark.profile';

/** The size of the ID block each pod gets (README: "a 65536-ID block per pod"). */
export const ID_BLOCK = 65536;

export const MiB = 1024 * 1024;

/** A profile from profiles/, resolved exactly as the engine resolves it. */
export function shippedProfile(name = 'baseline'): ResolvedProfile {
  return loadProfile(directorySource(join(repoRoot, 'profiles')), name);
}

/** Select the low-level runtime through the container's own annotation. */
export function chooseRuntime(spec: Spec, runtime: string): void {
  spec.annotations = { ...spec.annotations, [RUNTIME_ANNOTATION]: runtime };
}

type CapabilitySet = 'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient';

/** A capability set as the profile lets it through: what the config asked for ∩ the allowlist, in bit order. */
export function allowedCaps(profile: ResolvedProfile, spec: Spec, set: CapabilitySet): string[] {
  const requested = spec.process?.capabilities?.[set] ?? [];
  return sortCaps(requested.filter((cap) => profile.rules.capabilities.allow.includes(cap)));
}

/** The requested capabilities the profile refuses outright, in the order the config lists them. */
export function refusedCaps(profile: ResolvedProfile, requested: readonly string[]): string[] {
  return [...new Set(requested)].filter((cap) => profile.rules.capabilities.deny.names.includes(cap));
}

/** "EPERM" for 1, from Node's own errno table. */
export function errnoName(n: number): string {
  const entry = Object.entries(osConstants.errno).find(([, value]) => value === n);
  if (!entry) throw new Error(`no errno named ${n}`);
  return entry[0];
}

/**
 * The probe's syscall attempts the tests use, with the syscall a filter rule must name and the
 * first argument the probe passes (integration/probe/probe.c), which argument-matching rules
 * (socket families, personality values) are decided on.
 */
export const ATTEMPTS = {
  unshare_user: { syscall: 'unshare', arg0: 0x10000000n },
  bpf: { syscall: 'bpf', arg0: 5n },
  keyctl: { syscall: 'keyctl', arg0: 0n },
  io_uring_setup: { syscall: 'io_uring_setup', arg0: 1n },
  clone3: { syscall: 'clone3', arg0: 0n },
  socket_alg: { syscall: 'socket', arg0: 38n },
  socket_vsock: { syscall: 'socket', arg0: 40n },
  mount: { syscall: 'mount', arg0: 0n }, // a pointer to "none"; no mount rule looks at it
  personality: { syscall: 'personality', arg0: 8n },
} as const;
export type AttemptName = keyof typeof ATTEMPTS;

function argMatches(arg: { index: number; value: number | bigint; valueTwo?: number | bigint; op: string }, arg0: bigint): boolean {
  if (arg.index !== 0) throw new Error(`the tests only know argument 0 of the probe's attempts (rule on argument ${arg.index})`);
  const value = BigInt(arg.value);
  switch (arg.op) {
    case 'SCMP_CMP_EQ': return arg0 === value;
    case 'SCMP_CMP_NE': return arg0 !== value;
    case 'SCMP_CMP_LT': return arg0 < value;
    case 'SCMP_CMP_LE': return arg0 <= value;
    case 'SCMP_CMP_GT': return arg0 > value;
    case 'SCMP_CMP_GE': return arg0 >= value;
    case 'SCMP_CMP_MASKED_EQ': return (arg0 & value) === BigInt(arg.valueTwo ?? 0);
    default: throw new Error(`unknown seccomp comparison ${arg.op}`);
  }
}

/**
 * What the profile's filter answers to one attempt: 'allowed', or the errno name. Syscalls on
 * the profile's deny list get denyErrno whatever the filter says; otherwise the rules naming
 * the syscall whose arguments match (and whose capabilities the final bounding set holds)
 * decide, else the filter's default. Two matching rules that disagree are a test bug.
 */
export function filterAnswer(profile: ResolvedProfile, attempt: AttemptName, bounding: readonly string[]): string {
  const { syscall, arg0 } = ATTEMPTS[attempt];
  const rule = profile.rules.seccomp;
  if (rule.deny.includes(syscall)) return errnoName(rule.denyErrno);
  const filter = rule.filter;
  const outcome = (r: SeccompRuleConfig): string => {
    if (r.action === 'SCMP_ACT_ALLOW') return 'allowed';
    if (r.action === 'SCMP_ACT_ERRNO') return errnoName(r.errnoRet ?? filter.defaultErrnoRet ?? 1);
    throw new Error(`the tests do not model ${r.action} (rule for ${syscall})`);
  };
  const answers = new Set(
    filter.syscalls
      .filter((r) => r.names.includes(syscall))
      .filter((r) => (r.requiresCapabilities ?? []).every((cap) => bounding.includes(cap)))
      .filter((r) => (r.args ?? []).every((arg) => argMatches(arg, arg0)))
      .map(outcome),
  );
  if (answers.size > 1) throw new Error(`rules for ${syscall}(${arg0}) disagree: ${[...answers].join(', ')}`);
  const [answer] = answers;
  if (answer) return answer;
  if (filter.defaultAction === 'SCMP_ACT_ERRNO') return errnoName(filter.defaultErrnoRet ?? 1);
  if (filter.defaultAction === 'SCMP_ACT_ALLOW') return 'allowed';
  throw new Error(`the tests do not model a default action ${filter.defaultAction}`);
}

/** Does the host (the same kernel the containers run on) have this path at all? */
export function hostHas(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The ID pool Bulwark draws pod blocks from when its config names none (/etc/subuid or the built-in one). */
export function defaultIdPool(): { start: number; size: number } {
  const pool = resolvePool(null, readText('/etc/subuid'), readText('/etc/subgid'));
  return { start: pool.start, size: pool.size };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** runc's stderr carries a second-precision time stamp; two calls may straddle a second. */
export function withoutTimestamps(text: string): string {
  return text.replace(/time="[^"]*"/g, 'time="<t>"');
}
