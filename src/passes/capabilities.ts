// Capabilities: every set is reduced to the profile's allow list, the deny list is reported on
// its own terms, and the inheritable and ambient sets are emptied. A config without
// process.capabilities gets none from runc, so there is nothing to reduce.
import type { Pass } from './types.js';
import type { Capabilities } from '../spec/index.js';
import type { CapabilitiesRule } from '../profile/types.js';
import { reporter } from './util.js';

/** Every capability Linux 6.x defines (include/uapi/linux/capability.h), in bit order. */
export const LINUX_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  // Linux 5.8
  'CAP_PERFMON', 'CAP_BPF',
  // Linux 5.9
  'CAP_CHECKPOINT_RESTORE',
];
const KNOWN = new Set(LINUX_CAPABILITIES);

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;
type SetName = (typeof SETS)[number];

// Sets that must be empty whatever the allow list says, and why.
const MUST_BE_EMPTY: Partial<Record<SetName, string>> = {
  // CVE-2022-29162 (runc), CVE-2022-24769 (moby): a non-empty inheritable set lets a program with
  // inheritable file capabilities gain them on execve, even when run by a non-root user.
  inheritable: 'inheritable capabilities let file capabilities be gained on execve (CVE-2022-29162)',
  // Ambient capabilities survive execve into any program, including for non-root users.
  ambient: 'ambient capabilities survive execve into any program',
};

/** Capabilities named in any set, each once, in the order first seen. */
function capsInAnySet(caps: Capabilities): string[] {
  const seen = new Set<string>();
  for (const set of SETS) for (const cap of caps[set] ?? []) seen.add(cap);
  return [...seen];
}

export const capabilitiesPass: Pass = (spec, profile) => {
  const caps = spec.process?.capabilities;
  const rule = profile.rules.capabilities;
  const r = reporter('capabilities', rule.action);
  if (!caps) return { spec, findings: r.findings };

  const { settled, dropEverywhere } = judgeNamedCaps(caps, rule, r);
  const allow = new Set(rule.allow);
  const next: Capabilities = { ...caps };
  let changed = false;

  for (const set of SETS) {
    const list = caps[set];
    if (!list) continue;
    const path = `process.capabilities.${set}`;
    const emptyReason = MUST_BE_EMPTY[set];
    let remove = dropEverywhere;
    if (emptyReason !== undefined) {
      if (list.length === 0) continue;
      const names = list.join(', ');
      r.report(path, r.changes ? `emptied (held ${names}): ${emptyReason}` : `holds ${names}; must be empty: ${emptyReason}`);
      if (r.changes) remove = new Set(list);
    } else {
      const outside = [...new Set(list)].filter((c) => KNOWN.has(c) && !settled.has(c) && !allow.has(c));
      if (outside.length > 0) {
        const names = outside.join(', ');
        r.report(path, r.changes ? `drops ${names} (not in the profile's allow list)` : `holds ${names}, outside the profile's allow list`);
        if (r.changes) remove = new Set([...dropEverywhere, ...outside]);
      }
    }
    const kept = list.filter((c) => !remove.has(c));
    if (kept.length !== list.length) {
      next[set] = kept;
      changed = true;
    }
  }
  if (!changed) return { spec, findings: r.findings };
  return { spec: { ...spec, process: { ...spec.process!, capabilities: next } }, findings: r.findings };
};

type Reporter = ReturnType<typeof reporter>;

/**
 * Reports unknown names and deny-listed capabilities once each, whatever set holds them.
 * `settled`: capabilities whose finding is final (the allow check must not report them again);
 * `dropEverywhere`: capabilities the deny list's own `fix` removes from every set.
 */
function judgeNamedCaps(caps: Capabilities, rule: CapabilitiesRule, r: Reporter) {
  const denied = new Set(rule.deny.names);
  const denyAction = rule.deny.action;
  const settled = new Set<string>();
  const dropEverywhere = new Set<string>();
  for (const cap of capsInAnySet(caps)) {
    if (!KNOWN.has(cap)) {
      // Fail closed: a name we cannot place is a name we cannot reason about (runc only warns).
      r.report('process.capabilities', `names unknown capability ${cap}`, 'deny');
      settled.add(cap);
    } else if (denied.has(cap) && denyAction !== 'off') {
      r.report('process.capabilities', denyAction === 'fix' ? `adds ${cap}; dropped` : `adds ${cap}`, denyAction, 'deny');
      if (denyAction === 'fix') dropEverywhere.add(cap);
      // A warning does not excuse the capability from the allow list.
      if (denyAction !== 'warn') settled.add(cap);
    }
  }
  return { settled, dropEverywhere };
}
