// no_new_privs: once set, execve can never grant more privileges than the caller has, so setuid
// binaries and file capabilities inside the image stop working as an escalation path.
import type { Pass } from './types.js';
import { reporter } from './util.js';

export const noNewPrivilegesPass: Pass = (spec, profile) => {
  const r = reporter('noNewPrivileges', profile.rules.noNewPrivileges.action);
  const process = spec.process;
  // No process: nothing will be executed from this config, and a process object cannot be
  // invented here (it needs args and cwd).
  if (!process || process.noNewPrivileges === true) return { spec, findings: r.findings };
  const was = process.noNewPrivileges === false ? 'is false' : 'is not set';
  r.report(
    'process.noNewPrivileges',
    r.changes ? `${was}; set to true (setuid binaries and file capabilities could raise privileges)` : `${was}: setuid binaries and file capabilities can raise privileges`,
  );
  if (!r.changes) return { spec, findings: r.findings };
  return { spec: { ...spec, process: { ...process, noNewPrivileges: true } }, findings: r.findings };
};
