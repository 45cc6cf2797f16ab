// The container's first process: where it starts, as whom, and how eagerly the OOM killer may
// spare it.
import type { Pass } from './types.js';
import type { Process } from '../spec/index.js';
import type { ProcessRule } from '../profile/types.js';
import { reporter } from './util.js';
import { posix } from 'node:path';

type Reporter = ReturnType<typeof reporter>;

/**
 * CVE-2024-21626: runc up to 1.1.11 leaked a host cgroup directory fd into the container, and a
 * cwd of /proc/self/fd/<n> put the process outside its root filesystem. Nothing legitimate
 * starts in /proc, so a cwd there (however spelled) is refused even when the rule would fix:
 * there is no correct directory to put instead. Symlinks inside the image cannot be resolved
 * here; runc >= 1.1.12 checks the final cwd itself.
 */
function checkCwd(cwd: string, r: Reporter): void {
  if (!cwd.startsWith('/')) {
    r.report('process.cwd', `${JSON.stringify(cwd)} is not an absolute path`, 'deny');
    return;
  }
  const resolved = posix.normalize(cwd).replace(/(.)\/+$/, '$1');
  if (resolved === '/proc' || resolved.startsWith('/proc/')) {
    const spelled = resolved === cwd ? '' : ` (resolves to ${resolved})`;
    r.report('process.cwd', `${cwd}${spelled} is under /proc, a known container escape route (CVE-2024-21626)`, 'deny');
  }
}

function checkRoot(process: Process, rule: ProcessRule, r: Reporter): void {
  const action = rule.runAsNonRoot.action;
  if (action === 'off') return;
  const uid = process.user?.uid;
  if (uid !== undefined && uid !== 0) return;
  const what = uid === undefined ? 'sets no uid, so the process runs as root' : 'is 0: the process runs as root';
  // No uid can be picked for the image: a fix would break it, so it becomes a denial.
  r.report('process.user.uid', what, action === 'fix' ? 'deny' : action, 'runAsNonRoot');
}

function checkGroups(process: Process, r: Reporter): void {
  if (process.user?.additionalGids?.includes(0)) {
    r.report('process.user.additionalGids', 'include gid 0 (root group): files owned by group root become accessible', 'warn');
  }
}

/** Returns the oom_score_adj to write, when it must change. */
function settleOomScoreAdj(process: Process, rule: ProcessRule, r: Reporter): number | undefined {
  const adj = process.oomScoreAdj;
  // Absent: runc leaves the value the process inherits. Setting one here could lower it, which
  // fails without CAP_SYS_RESOURCE.
  if (adj === undefined || adj >= rule.oomScoreAdjMin) return undefined;
  const what = `is ${adj}, below the profile's minimum ${rule.oomScoreAdjMin}`;
  r.report('process.oomScoreAdj', r.changes ? `${what}; raised to ${rule.oomScoreAdjMin}` : what);
  return r.changes ? rule.oomScoreAdjMin : undefined;
}

export const processPass: Pass = (spec, profile) => {
  const rule = profile.rules.process;
  const r = reporter('process', rule.action);
  const process = spec.process;
  if (!process) return { spec, findings: r.findings };
  checkCwd(process.cwd, r);
  checkRoot(process, rule, r);
  checkGroups(process, r);
  const oomScoreAdj = settleOomScoreAdj(process, rule, r);
  if (oomScoreAdj === undefined) return { spec, findings: r.findings };
  return { spec: { ...spec, process: { ...process, oomScoreAdj } }, findings: r.findings };
};
