// The hardening chain: a fixed, ordered table of passes run once each. Order matters where one
// pass reads what another decided: seccomp resolves capability-dependent rules against the
// bounding set the capabilities pass left, and the user namespace pass runs after the namespace
// pass has settled which namespaces the container owns.
import type { Spec } from './spec/index.js';
import { specProblems } from './spec/index.js';
import type { ResolvedProfile, RuleName } from './profile/types.js';
import type { HostFacts } from './host/types.js';
import type { Finding, Pass } from './passes/types.js';
import { namespacesPass } from './passes/namespaces.js';
import { userNamespacePass } from './passes/user-namespace.js';
import { capabilitiesPass } from './passes/capabilities.js';
import { noNewPrivilegesPass } from './passes/no-new-privileges.js';
import { seccompPass } from './passes/seccomp.js';
import { cgroupsPass } from './passes/cgroups.js';
import { devicesPass } from './passes/devices.js';
import { mountsPass } from './passes/mounts.js';
import { pathsPass } from './passes/paths.js';
import { processPass } from './passes/process.js';
import { hooksPass } from './passes/hooks.js';
import { sysctlsPass } from './passes/sysctls.js';
import { rlimitsPass } from './passes/rlimits.js';
import { lsmPass } from './passes/lsm.js';
import { rootfsPass } from './passes/rootfs.js';

export const PASSES: ReadonlyArray<readonly [RuleName, Pass]> = [
  ['namespaces', namespacesPass],
  ['userNamespace', userNamespacePass],
  ['capabilities', capabilitiesPass],
  ['noNewPrivileges', noNewPrivilegesPass],
  ['seccomp', seccompPass],
  ['cgroups', cgroupsPass],
  ['devices', devicesPass],
  ['mounts', mountsPass],
  ['paths', pathsPass],
  ['process', processPass],
  ['hooks', hooksPass],
  ['sysctls', sysctlsPass],
  ['rlimits', rlimitsPass],
  ['lsm', lsmPass],
  ['rootfs', rootfsPass],
];

export type Decision = 'allow' | 'deny';

export interface HardenResult {
  profile: string;
  mode: ResolvedProfile['mode'];
  decision: Decision;
  findings: Finding[];
  /** The hardened config; in audit mode, the input unchanged. */
  spec: Spec;
}

/** Thrown when the chain itself produced an invalid config: a bug, and the container must not start. */
export class HardeningError extends Error {
  override name = 'HardeningError';
}

export function harden(spec: Spec, profile: ResolvedProfile, host: HostFacts): HardenResult {
  let current = spec;
  const findings: Finding[] = [];
  for (const [rule, pass] of PASSES) {
    if (profile.rules[rule].action === 'off') continue;
    const result = pass(current, profile, host);
    current = result.spec;
    findings.push(...result.findings);
  }
  const problems = specProblems(current);
  if (problems.length > 0) {
    throw new HardeningError(`hardened config failed the runtime-spec schema: ${problems.join('; ')}`);
  }
  if (profile.mode === 'audit') {
    return { profile: profile.name, mode: 'audit', decision: 'allow', findings, spec };
  }
  const decision: Decision = findings.some((f) => f.action === 'deny') ? 'deny' : 'allow';
  return { profile: profile.name, mode: 'enforce', decision, findings, spec: current };
}
