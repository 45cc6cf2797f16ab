// The contract every hardening pass keeps: a pure function of (spec, profile, host) that returns
// a new spec and the findings that explain each difference. No I/O, no clock, no environment,
// and the input is never mutated (copy only what you change).
import type { Spec } from '../spec/index.js';
import type { ResolvedProfile } from '../profile/types.js';
import type { HostFacts } from '../host/types.js';

/** What happened about one problem: repaired (`fix`), refused (`deny`) or only reported (`warn`). */
export type FindingAction = 'fix' | 'deny' | 'warn';

export interface Finding {
  /** The profile rule that produced it, e.g. `capabilities` or `capabilities.deny`. */
  rule: string;
  /** Dotted path of the config field concerned, e.g. `process.capabilities.bounding`. */
  path: string;
  action: FindingAction;
  /** What was wrong and what was done, readable on its own: "adds CAP_SYS_ADMIN". */
  message: string;
}

export interface PassResult {
  spec: Spec;
  findings: Finding[];
}

export type Pass = (spec: Spec, profile: ResolvedProfile, host: HostFacts) => PassResult;
