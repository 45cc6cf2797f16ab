// Linux security modules: confine the process with the profile's AppArmor profile or SELinux
// type, on hosts where that module is active. Where neither is, there is nothing to enforce and
// an `unconfined` request changes nothing.
import type { Pass } from './types.js';
import type { Process } from '../spec/index.js';
import type { LsmRule } from '../profile/types.js';
import { reporter } from './util.js';

type Reporter = ReturnType<typeof reporter>;

/**
 * SELinux types that are not confinement at all: spc_t ("super privileged container"),
 * unconfined_t, and container_runtime_t, the domain of the container engine itself.
 */
const PRIVILEGED_SELINUX_TYPES = new Set(['spc_t', 'unconfined_t', 'container_runtime_t']);

/** Returns the AppArmor profile to write, when it must change. */
function settleAppArmor(process: Process, rule: LsmRule, r: Reporter): string | undefined {
  const current = process.apparmorProfile ? process.apparmorProfile : undefined;
  // A named profile the host has not loaded makes runc fail, so only ever write the profile's
  // own (the host setup loads it), and never invent one when the profile names none.
  const ours = rule.apparmorProfile ? rule.apparmorProfile : undefined;
  if (current === undefined) {
    if (ours === undefined) return undefined;
    const what = 'sets no AppArmor profile';
    r.report('process.apparmorProfile', r.changes ? `${what}; set to ${ours}` : what);
    return r.changes ? ours : undefined;
  }
  if (current !== 'unconfined') return undefined;
  const what = 'asks for the unconfined AppArmor profile';
  if (ours === undefined) {
    // Nothing to put instead: a fix becomes a denial.
    r.report('process.apparmorProfile', what, rule.action === 'warn' ? 'warn' : 'deny');
    return undefined;
  }
  r.report('process.apparmorProfile', r.changes ? `${what}; set to ${ours}` : what);
  return r.changes ? ours : undefined;
}

/** Returns the SELinux label to write, when it must change. */
function settleSelinux(process: Process, rule: LsmRule, r: Reporter): string | undefined {
  const label = process.selinuxLabel ? process.selinuxLabel : undefined;
  if (label === undefined) {
    if (!rule.selinuxType) return undefined;
    const ours = `system_u:system_r:${rule.selinuxType}:s0`;
    const what = 'sets no SELinux label';
    r.report('process.selinuxLabel', r.changes ? `${what}; set to ${ours}` : what);
    return r.changes ? ours : undefined;
  }
  // user:role:type[:level], where the level itself may hold colons (s0:c1,c2).
  const parts = label.split(':');
  if (parts.length < 3) {
    r.report('process.selinuxLabel', `${label} is not a user:role:type[:level] label`, 'deny');
    return undefined;
  }
  if (PRIVILEGED_SELINUX_TYPES.has(parts[2])) {
    // A deliberate request for an unconfined domain is refused, not swapped for a confined one
    // the workload was never written for.
    r.report('process.selinuxLabel', `${label} runs the process unconfined (type ${parts[2]})`, rule.action === 'warn' ? 'warn' : 'deny');
  }
  return undefined;
}

export const lsmPass: Pass = (spec, profile, host) => {
  const rule = profile.rules.lsm;
  const r = reporter('lsm', rule.action);
  const process = spec.process;
  if (!process) return { spec, findings: r.findings };
  const apparmorProfile = host.lsm.apparmor ? settleAppArmor(process, rule, r) : undefined;
  const selinuxLabel = host.lsm.selinux ? settleSelinux(process, rule, r) : undefined;
  if (apparmorProfile === undefined && selinuxLabel === undefined) return { spec, findings: r.findings };
  const next = { ...process };
  if (apparmorProfile !== undefined) next.apparmorProfile = apparmorProfile;
  if (selinuxLabel !== undefined) next.selinuxLabel = selinuxLabel;
  return { spec: { ...spec, process: next }, findings: r.findings };
};
