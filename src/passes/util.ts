// Small helpers shared by passes. Nothing here does I/O.
import type { RuleAction } from '../profile/types.js';
import type { Finding, FindingAction } from './types.js';

/** The finding action for a rule's configured action (`off` never reaches a pass). */
export function findingAction(action: RuleAction): FindingAction {
  return action === 'off' ? 'warn' : action;
}

/** Collects findings for one rule. `changes` is true when the rule's action may rewrite the spec. */
export function reporter(rule: string, action: RuleAction) {
  const findings: Finding[] = [];
  return {
    findings,
    changes: action === 'fix',
    report(path: string, message: string, as: RuleAction = action, subRule?: string) {
      findings.push({ rule: subRule ? `${rule}.${subRule}` : rule, path, action: findingAction(as), message });
    },
  };
}
