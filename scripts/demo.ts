// `make demo`: run a real busybox container through bin/bulwark-runtime on runc with the
// embedded default profile (baseline), then show what Bulwark changed and what the container
// sees of itself. Everything it creates (bundle, state, cgroups) is removed at the end.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeBundle } from '../integration/lib/bundle.js';
import { repoRoot } from '../integration/lib/paths.js';
import { capsFromMask } from '../integration/lib/checks.js';
import { parseJson } from '../src/json/lossless.js';
import { diffConfigs, formatDiff } from '../src/cli/diff.js';
import { formatFindings } from '../src/cli/report.js';
import type { Finding } from '../src/passes/types.js';

const INSIDE = [
  'echo "uid_map:     $(cat /proc/self/uid_map)"',
  'echo "gid_map:     $(cat /proc/self/gid_map)"',
  "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
  'for f in /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max; do [ -r $f ] && echo "pids.max:    $(cat $f)"; done',
  'for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max; do [ -r $f ] && echo "memory max:  $(cat $f)"; done',
  'echo "whoami:      $(id)"',
  'echo "blocked syscalls (errno the container gets):"',
  '/bin/probe syscall unshare_user mount bpf keyctl io_uring_setup clone3 socket_alg',
].join('; ');

function heading(text: string): void {
  process.stdout.write(`\n== ${text} ${'='.repeat(Math.max(0, 76 - text.length))}\n`);
}

function syscallTable(json: string): string {
  const report = JSON.parse(json) as { syscalls?: Record<string, { ret: number; errno: string | null; verdict?: string }> };
  const rows = Object.entries(report.syscalls ?? report);
  return rows.map(([name, r]) => `  ${name.padEnd(16)} ${r.errno ?? `ret ${r.ret}`}`).join('\n');
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'bulwark-demo-'));
  const auditLog = join(work, 'audit.jsonl');
  const configFile = join(work, 'config.yaml');
  writeFileSync(configFile, `stateDir: ${join(work, 'state')}\nauditLog: ${auditLog}\n`);
  const bundle = await makeBundle({ label: 'demo', args: ['/bin/sh', '-c', INSIDE] });
  const runtime = join(repoRoot, 'bin', 'bulwark-runtime');
  try {
    heading('bulwark-runtime run (profile: baseline, low-level runtime: runc)');
    process.stdout.write(`$ ${runtime} --root ${join(work, 'runc')} run --bundle ${bundle.dir} ${bundle.id}\n`);
    const run = await execa(runtime, ['--root', join(work, 'runc'), 'run', '--bundle', bundle.dir, bundle.id], {
      env: { BULWARK_CONFIG: configFile },
      reject: false,
      stdin: 'ignore',
    });
    const audit = readFileSync(auditLog, 'utf8').trim().split('\n').map((l) => parseJson(l) as unknown as { id: string; profile: string; decision: string; findings: Finding[] });
    const entry = audit.find((a) => a.id === bundle.id);
    if (!entry) throw new Error('no audit entry for the demo container');

    heading(`What Bulwark changed (decision: ${entry.decision}, ${entry.findings.length} findings)`);
    process.stdout.write(formatFindings(entry.findings));
    const before = parseJson(readFileSync(join(bundle.dir, 'config.json.orig'), 'utf8'));
    const after = parseJson(readFileSync(join(bundle.dir, 'config.json'), 'utf8'));
    const diff = diffConfigs(before, after);
    heading(`config.json diff (${diff.length} changes; the original is kept as config.json.orig)`);
    process.stdout.write(formatDiff(diff.filter((d) => !d.path.startsWith('linux.seccomp.syscalls')), 110) + '\n');
    const seccompLines = diff.filter((d) => d.path.startsWith('linux.seccomp.syscalls')).length;
    if (seccompLines) process.stdout.write(`  ... and ${seccompLines} lines of the seccomp filter (linux.seccomp.syscalls)\n`);

    heading('What the container sees of itself');
    const [beforeJson, jsonLine, ...rest] = splitProbe(run.stdout);
    process.stdout.write(withCapabilityNames(beforeJson!) + '\n');
    if (jsonLine) process.stdout.write(syscallTable(jsonLine) + '\n' + rest.join('\n'));
    if (run.stderr.trim()) process.stdout.write(`\nstderr: ${run.stderr.trim()}\n`);
    process.stdout.write(`\ncontainer exit code: ${run.exitCode}\n`);
    return run.exitCode === 0 ? 0 : 1;
  } finally {
    await execa('runc', ['--root', join(work, 'runc'), 'delete', '--force', bundle.id], { reject: false });
    bundle.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

/** `CapEff:\t00000000a80425fb` -> the same line plus the capability names. */
function withCapabilityNames(text: string): string {
  return text.replace(/^(Cap\w+:\s+)([0-9a-f]{16})$/gm, (_, label: string, hex: string) => {
    const names = capsFromMask(hex).map((c) => c.replace(/^CAP_/, ''));
    return `${label}${hex}  ${names.length ? names.join(' ') : '(none)'}`;
  });
}

/** The shell lines before the probe's JSON line, the JSON line, and anything after. */
function splitProbe(stdout: string): string[] {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.trimStart().startsWith('{'));
  if (at < 0) return [stdout];
  return [lines.slice(0, at).join('\n'), lines[at]!, ...lines.slice(at + 1)];
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
