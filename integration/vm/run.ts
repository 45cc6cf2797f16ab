// Run a shell command inside a throw-away pure-cgroup-v2 guest: Debian's own 6.1 kernel under
// qemu-system-x86_64 (software emulation), the host's root filesystem shared read-only over
// virtio-9p with a tmpfs overlay on top (so the guest sees the same node, runc, crun, busybox and
// repo at the same paths, and can write anywhere without touching the host).
// See integration/vm/README.md. CLI: node dist/integration/vm/run.js [--timeout S] [--keep] -- <command>
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface GuestRunOptions {
  /** Whole run (boot + command + power-off) limit; qemu is killed by pid after it. Default 600 s. */
  timeoutMs?: number;
  /** Exported in the guest before the command runs. */
  env?: Record<string, string>;
  /** Keep the run directory (console.log, results/) even on success. Also BULWARK_VM_KEEP=1. */
  keep?: boolean;
  /** Progress lines (prepare steps, boot, timing). */
  log?: (line: string) => void;
}

export interface GuestRunResult {
  /** The command's exit status inside the guest. */
  exitCode: number;
  /** The command's stdout and stderr, interleaved. */
  output: string;
  /** The guest's serial console (init's messages, kernel errors). */
  consoleLog: string;
  /** Files the command wrote into $BULWARK_VM_RESULTS (name -> content), plus dmesg.log. */
  files: Record<string, string>;
  /** The host directory of this run; already deleted unless kept. */
  runDir: string;
  /** Wall-clock time of the boot-to-poweroff in milliseconds. */
  elapsedMs: number;
  /** What qemu itself printed (warnings). */
  qemuOutput: string;
}

export class GuestRunError extends Error {
  constructor(message: string, readonly runDir?: string, readonly consoleLog?: string) {
    super(message);
    this.name = 'GuestRunError';
  }
}

/** Where the guest sees the writable results share. */
export const GUEST_RESULTS_DIR = '/run/bulwark-vm/results';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The repository root: the nearest ancestor holding integration/vm/prepare.sh (works from src and dist). */
export function repoRoot(): string {
  let dir = HERE;
  for (;;) {
    if (existsSync(join(dir, 'integration', 'vm', 'prepare.sh')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new GuestRunError(`cannot find integration/vm/prepare.sh above ${HERE}`);
    dir = up;
  }
}

interface Prepared { kernel: string; initrd: string; kver: string }
let prepared: Promise<Prepared> | undefined;

/** Runs prepare.sh once per process (it is cached and cheap when the cache is warm). */
export function prepareGuest(log?: (line: string) => void): Promise<Prepared> {
  prepared ??= new Promise<Prepared>((resolvePrep, reject) => {
    const script = join(repoRoot(), 'integration', 'vm', 'prepare.sh');
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (log) for (const l of d.split('\n')) if (l.startsWith('prepare: ')) log(l);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.on('error', (e) => reject(new GuestRunError(`cannot run ${script}: ${e.message}`)));
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new GuestRunError(`VM prepare failed (exit ${code}): ${err.trim() || out.trim()}`));
        return;
      }
      const v = (k: string) => out.split('\n').find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1).trim() ?? '';
      const p = { kernel: v('BULWARK_VM_KERNEL'), initrd: v('BULWARK_VM_INITRD'), kver: v('BULWARK_VM_KVER') };
      if (!p.kernel || !p.initrd) reject(new GuestRunError(`prepare.sh printed no kernel/initrd:\n${out}${err}`));
      else resolvePrep(p);
    });
  });
  prepared.catch(() => { prepared = undefined; });
  return prepared;
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** qemu's option syntax: a comma inside a value is written twice. */
const qopt = (s: string) => s.replace(/,/g, ',,');

function qemuArgs(p: Prepared, runDir: string, resultsDir: string): string[] {
  const env = process.env;
  const repo = repoRoot();
  // The guest's init keeps the repo visible when it lives under /tmp or /run, which get fresh
  // tmpfs mounts there (a CI checkout may well be in /tmp).
  if (/\s/.test(repo)) throw new GuestRunError(`the repository path ${JSON.stringify(repo)} contains white space`);
  const append = ['console=ttyS0', 'panic=-1', 'quiet', 'cgroup_no_v1=all', 'mitigations=off', `bulwark.repo=${repo}`, env.BULWARK_VM_APPEND ?? '']
    .filter(Boolean).join(' ');
  return [
    '-nodefaults', '-no-user-config',
    '-accel', env.BULWARK_VM_ACCEL ?? 'tcg',
    // x86-64-v2 plus RDRAND (instant crng init): TCG runs this conservative model at least as fast
    // as `max` (AVX2 emulation, 5-level paging) and with less exotic emulation paths.
    '-cpu', env.BULWARK_VM_CPU ?? 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+rdrand',
    '-smp', env.BULWARK_VM_SMP ?? '2',
    '-m', env.BULWARK_VM_MEM ?? '1536M',
    '-no-reboot', '-display', 'none', '-nic', 'none',
    '-kernel', p.kernel, '-initrd', p.initrd, '-append', append,
    '-chardev', `file,id=con,path=${qopt(join(runDir, 'console.log'))}`, '-serial', 'chardev:con',
    '-fsdev', 'local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev', `local,id=results,path=${qopt(resultsDir)},security_model=none`,
    '-device', 'virtio-9p-pci,fsdev=results,mount_tag=results',
  ];
}

/**
 * Boots a fresh pure-cgroup-v2 guest, runs `command` with /bin/sh there (cwd = the repo; the
 * variables of `opts.env` and BULWARK_VM_RESULTS exported), powers it off and returns.
 * Throws GuestRunError if the guest cannot be prepared or booted, or dies before reporting.
 */
export async function runInCgroupV2Guest(command: string, opts: GuestRunOptions = {}): Promise<GuestRunResult> {
  const log = opts.log;
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const keep = opts.keep || process.env.BULWARK_VM_KEEP === '1';
  const p = await prepareGuest(log);
  const repo = repoRoot();

  const env: Record<string, string> = { ...opts.env, BULWARK_VM_RESULTS: GUEST_RESULTS_DIR };
  const script = [
    ...Object.entries(env).map(([k, val]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new GuestRunError(`bad environment variable name ${JSON.stringify(k)}`);
      return `export ${k}=${shQuote(val)}`;
    }),
    `cd ${shQuote(repo)} || exit 125`,
    command,
    '',
  ].join('\n');
  const runDir = await mkdtemp(join(tmpdir(), 'bulwark-vm-'));
  const resultsDir = join(runDir, 'results');
  await mkdir(resultsDir, { mode: 0o755 });
  await writeFile(join(resultsDir, 'run.sh'), script);

  const consolePath = join(runDir, 'console.log');
  const readConsole = async () => (await readFile(consolePath, 'utf8').catch(() => ''));
  const started = Date.now();
  log?.(`vm: booting ${p.kver} (run dir ${runDir})`);
  const child = spawn('qemu-system-x86_64', qemuArgs(p, runDir, resultsDir), { stdio: ['ignore', 'pipe', 'pipe'] });
  let qemuOut = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { qemuOut += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { qemuOut += d; });

  let timedOut = false;
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((res) => {
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      const pid = child.pid;
      if (pid !== undefined) {
        try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
        killTimer = setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      }
    }, timeoutMs);
    child.on('error', (error) => { clearTimeout(timer); res({ code: null, signal: null, error }); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      res({ code, signal });
    });
  });
  const elapsedMs = Date.now() - started;
  const consoleLog = await readConsole();
  const fail = (why: string): never => {
    const tail = consoleLog.split('\n').slice(-40).join('\n');
    throw new GuestRunError(
      `${why}\nqemu: ${qemuOut.trim() || '(no output)'}\nconsole log ${consolePath} (kept), last lines:\n${tail}`,
      runDir, consoleLog);
  };
  if (exit.error) {
    const hint = (exit.error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (run integration/vm/prepare.sh: it installs qemu-system-x86)' : '';
    fail(`cannot start qemu-system-x86_64: ${exit.error.message}${hint}`);
  }
  if (timedOut) fail(`guest timed out after ${Math.round(timeoutMs / 1000)} s; qemu (pid ${child.pid}) killed`);
  if (exit.code !== 0) fail(`qemu exited with ${exit.code ?? exit.signal}`);

  const exitText = await readFile(join(resultsDir, 'exit-code'), 'utf8').catch(() => undefined);
  if (exitText === undefined || !/^\d+\s*$/.test(exitText)) {
    const initError = await readFile(join(resultsDir, 'init-error'), 'utf8').catch(() => '');
    fail(`guest powered off without reporting an exit code${initError ? `: ${initError.trim()}` : ''}`);
  }
  const files: Record<string, string> = {};
  for (const name of await readdir(resultsDir)) {
    if (['run.sh', 'exit-code', 'output.log'].includes(name)) continue;
    files[name] = await readFile(join(resultsDir, name), 'utf8').catch(() => '');
  }
  const result: GuestRunResult = {
    exitCode: Number(exitText!.trim()),
    output: await readFile(join(resultsDir, 'output.log'), 'utf8').catch(() => ''),
    consoleLog,
    files,
    runDir,
    elapsedMs,
    qemuOutput: qemuOut,
  };
  log?.(`vm: guest command exited ${result.exitCode} after ${(elapsedMs / 1000).toFixed(1)} s`);
  if (!keep) await rm(runDir, { recursive: true, force: true });
  return result;
}

async function main(argv: string[]): Promise<number> {
  let timeoutMs: number | undefined;
  let keep = false;
  let showConsole = false;
  let i = 0;
  for (; i < argv.length && argv[i] !== '--'; i++) {
    const a = argv[i];
    if (a === '--timeout') timeoutMs = Number(argv[++i]) * 1000;
    else if (a === '--keep') keep = true;
    else if (a === '--console') showConsole = true;
    else {
      process.stderr.write(`usage: run.js [--timeout SECONDS] [--keep] [--console] -- <command...>\n`);
      return 2;
    }
  }
  const command = argv.slice(i + 1).join(' ');
  if (!command) {
    process.stderr.write('run.js: no command after --\n');
    return 2;
  }
  try {
    const r = await runInCgroupV2Guest(command, { timeoutMs, keep, log: (l) => process.stderr.write(`${l}\n`) });
    process.stdout.write(r.output);
    if (showConsole) process.stderr.write(`${r.qemuOutput}${r.consoleLog}`);
    if (keep) process.stderr.write(`vm: kept ${r.runDir}\n`);
    return r.exitCode;
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 125;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
