// The proxy in these tests runs the real `bin/bulwark harden` / `harden-process` (found next to
// dist/ by the proxy), with a PRIVATE Bulwark configuration: its own state directory, audit log
// and the repository's profiles, never /etc/bulwark or /run/bulwark.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/paths.js';

export async function hardenerForTests(dir: string): Promise<{ label: string; env: Record<string, string>; auditLog: string }> {
  const config = join(dir, 'bulwark.yaml');
  const auditLog = join(dir, 'audit.jsonl');
  writeFileSync(config, `stateDir: ${join(dir, 'bulwark-state')}\nauditLog: ${auditLog}\nprofileDir: ${join(repoRoot, 'profiles')}\n`);
  return { label: `the real bin/bulwark harden, config ${config}`, env: { BULWARK_CONFIG: config }, auditLog };
}
