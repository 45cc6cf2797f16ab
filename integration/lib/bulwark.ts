// bin/bulwark-runtime under test, with a PRIVATE configuration: every harness instance has its
// own temporary directory holding Bulwark's config file (BULWARK_CONFIG), its state directory
// and audit log, and its own runtime --root. The low-level runtimes in that config are the ones
// this host needs (runtimeDescriptor: runc itself, the crun and runsc wrapper scripts), so the
// runtime Bulwark hands over to is exactly the one the control tests proved working.
//
// Calls go through `env -u BULWARK_STATE_DIR BULWARK_CONFIG=<file> bin/bulwark-runtime ...`, so
// the launcher and the engine both find the state directory from the config file (the launcher
// by its `stateDir:` line scan), never from the caller's environment or /etc/bulwark.
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { repoRoot, tempPrefix } from './paths.js';
import type { CommandResult, LowLevelRuntime } from './runtimes.js';
import { findExecutable, LOW_LEVEL_RUNTIMES, RuntimeClient, runtimeDescriptor } from './runtimes.js';

/** The launcher containerd would call. */
export const BULWARK_RUNTIME = join(repoRoot, 'bin', 'bulwark-runtime');

export interface RuntimeEntryOptions {
  paths: string[];
  args?: string[];
}

export interface BulwarkOptions {
  /** A short word for the temporary directory's name. */
  label?: string;
  /** Omitted: the config file names none (Bulwark's built-in default, runc). */
  defaultRuntime?: string;
  allowedRuntimes?: string[];
  /** Entries that replace the host's (e.g. runc at a path that does not exist). */
  runtimes?: Record<string, RuntimeEntryOptions>;
  /** The user-namespace ID pool; omitted: Bulwark's default (/etc/subuid or its built-in pool). */
  idPool?: { start: number; size: number };
}

/** A `bulwark serve` this harness started (by pid: it stops only what it started). */
export interface ServiceProcess {
  pid: number;
  /** What it wrote to stderr so far. */
  log(): string;
  /** Has it exited (or been killed)? */
  exited(): boolean;
  /** Signal it (default SIGTERM; SIGKILL to simulate a crash) and wait until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** One line of Bulwark's audit log (JSON lines). */
export interface AuditEntry {
  time: string;
  event: string;
  id: string;
  profile: string;
  mode: string;
  runtime: string;
  decision: 'allow' | 'deny';
  findings: Array<{ rule: string; path: string; action: string; message: string }>;
  originalSha256: string;
  hardenedSha256: string;
  [key: string]: unknown;
}

export interface CallOptions {
  cwd?: string;
  timeoutMs?: number;
  /** Extra environment for bin/bulwark-runtime (e.g. BULWARK_NODE). */
  env?: Record<string, string>;
}

/** What this host's low-level runtime is, as Bulwark's config should name it (wrappers included). */
export function lowLevelBinary(name: LowLevelRuntime): string {
  return runtimeDescriptor(name).bin;
}

/** Mount points at or below `dir` in this mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && point !== '')
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  return [...new Set(points.filter((point) => point === dir || point.startsWith(`${dir}/`)))].sort((a, b) => b.length - a.length);
}

/** The block a pod holds in a Bulwark state directory (ids/pods/<key> -> n), if any. */
export function podBlockIn(stateDir: string, key: string): number | undefined {
  try {
    const n = Number(readlinkSync(join(stateDir, 'ids', 'pods', key)));
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The claimed ID block files of a Bulwark state directory, in block order. */
export function blockFilesIn(stateDir: string): string[] {
  const dir = join(stateDir, 'ids', 'blocks');
  return existsSync(dir) ? readdirSync(dir).sort((a, b) => Number(a) - Number(b)) : [];
}

let callCounter = 0;

/**
 * Run `bin argv...` with stdout and stderr going to files (a container started by the call may
 * keep them open long after the call returned; a pipe would hold the call open with it).
 */
async function invoke(ioDir: string, bin: string, argv: string[], options: CallOptions = {}): Promise<CommandResult> {
  const n = ++callCounter;
  const outPath = join(ioDir, `call-${n}.stdout`);
  const errPath = join(ioDir, `call-${n}.stderr`);
  const out = openSync(outPath, 'w', 0o600);
  const err = openSync(errPath, 'w', 0o600);
  try {
    const result = await execa(bin, argv, {
      reject: false,
      stdin: 'ignore',
      stdout: out as unknown as 'pipe',
      stderr: err as unknown as 'pipe',
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 120_000,
      forceKillAfterDelay: 2_000,
    });
    return {
      argv: [bin, ...argv],
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: readFileSync(outPath, 'utf8'),
      stderr: readFileSync(errPath, 'utf8'),
      timedOut: result.timedOut,
      durationMs: result.durationMs,
    };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(outPath, { force: true });
    rmSync(errPath, { force: true });
  }
}

export class BulwarkHarness {
  /** The temporary directory holding everything below. */
  readonly dir: string;
  readonly configPath: string;
  readonly stateDir: string;
  readonly auditLog: string;
  /** Paths the config gives each low-level runtime (the first candidate). */
  readonly runtimePaths: Readonly<Record<string, string>>;
  /** A RuntimeClient driving bin/bulwark-runtime with this config; its --root is `root`. */
  readonly client: RuntimeClient;
  private readonly envArgs: string[];
  private readonly envBin: string;
  private readonly io: string;
  /** Containers created with call(): force-deleted by dispose(). */
  private readonly tracked = new Set<string>();
  private readonly services = new Set<ServiceProcess>();

  constructor(options: BulwarkOptions = {}) {
    const label = (options.label ?? 'bulwark').replace(/[^a-z0-9-]/gi, '-');
    this.dir = mkdtempSync(`${tempPrefix}${label}-`);
    // Like a bundle (HOST-NOTES: user namespaces): the mapped root of a container must be able to
    // traverse to whatever Bulwark keeps for it in the state directory (e.g. its root filesystem).
    chmodSync(this.dir, 0o711);
    this.configPath = join(this.dir, 'config.yaml');
    this.stateDir = join(this.dir, 'state');
    this.auditLog = join(this.dir, 'audit.jsonl');
    this.io = join(this.dir, 'io');
    mkdirSync(this.io, { mode: 0o700 });
    const runtimes: Record<string, RuntimeEntryOptions> = {};
    for (const name of LOW_LEVEL_RUNTIMES) runtimes[name] = { paths: [lowLevelBinary(name)] };
    Object.assign(runtimes, options.runtimes ?? {});
    this.runtimePaths = Object.fromEntries(Object.entries(runtimes).map(([name, entry]) => [name, entry.paths[0]!]));
    const config: Record<string, unknown> = {
      stateDir: this.stateDir,
      auditLog: this.auditLog,
      ...(options.defaultRuntime ? { defaultRuntime: options.defaultRuntime } : {}),
      allowedRuntimes: options.allowedRuntimes ?? [...LOW_LEVEL_RUNTIMES],
      runtimes,
      ...(options.idPool ? { idPool: options.idPool } : {}),
    };
    // Block style, so `stateDir: /...` is a top-level line the launcher's scan finds.
    writeFileSync(this.configPath, stringify(config, { lineWidth: 0 }), { mode: 0o644 });
    this.envBin = findExecutable('env') ?? '/usr/bin/env';
    this.envArgs = ['-u', 'BULWARK_STATE_DIR', '-u', 'BULWARK_ENGINE', `BULWARK_CONFIG=${this.configPath}`, BULWARK_RUNTIME];
    this.client = new RuntimeClient({
      name: `bulwark-${label}`,
      bin: this.envBin,
      globalArgs: this.envArgs,
      requires: [BULWARK_RUNTIME, this.envBin],
      notes: [`${BULWARK_RUNTIME} with BULWARK_CONFIG=${this.configPath}`],
    });
  }

  /** The private --root of this harness's containers. */
  get root(): string {
    return this.client.root;
  }

  /** bin/bulwark-runtime with exactly these arguments (give --root yourself, as containerd does). */
  call(argv: string[], options: CallOptions = {}): Promise<CommandResult> {
    const extra = Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`);
    // env's own arguments end with the last NAME=VALUE; the launcher's path follows.
    const envArgs = [...this.envArgs.slice(0, -1), ...extra, this.envArgs[this.envArgs.length - 1]!];
    return invoke(this.io, this.envBin, [...envArgs, ...argv], options);
  }

  /**
   * A low-level runtime called directly (no Bulwark) with these arguments, the way this host
   * needs it called (lowLevelBinary): what the config points at, unless a test pointed the
   * config somewhere else on purpose (runc at /nonexistent), where this is still the real one.
   */
  direct(name: LowLevelRuntime, argv: string[], options: CallOptions = {}): Promise<CommandResult> {
    return invoke(this.io, lowLevelBinary(name), argv, options);
  }

  /** Remember a container created with call(), for dispose(). */
  track(id: string): void {
    this.tracked.add(id);
  }

  /** Audit log lines, optionally only those of one container. */
  audit(id?: string): AuditEntry[] {
    if (!existsSync(this.auditLog)) return [];
    return readFileSync(this.auditLog, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditEntry)
      .filter((entry) => id === undefined || entry.id === id);
  }

  /**
   * The record Bulwark keeps for a container (state/containers/<root key>/<id>/), found by
   * looking, not by re-implementing the key encoding: runtime.argv split at NULs.
   */
  record(id: string): { dir: string; runtimeArgv: string[]; record: Record<string, unknown> } | undefined {
    const containers = join(this.stateDir, 'containers');
    if (!existsSync(containers)) return undefined;
    const found = readdirSync(containers).map((key) => join(containers, key, id)).filter((dir) => existsSync(dir));
    if (found.length > 1) throw new Error(`container ${id} has records under more than one root key: ${found.join(', ')}`);
    const dir = found[0];
    if (!dir) return undefined;
    const argvText = readFileSync(join(dir, 'runtime.argv'), 'utf8');
    return {
      dir,
      runtimeArgv: argvText.split('\0').slice(0, -1),
      record: JSON.parse(readFileSync(join(dir, 'record.json'), 'utf8')) as Record<string, unknown>,
    };
  }

  /** The ID block the pod `key` holds in this state directory (ids/pods/<key> -> n). */
  podBlock(key: string): number | undefined {
    return podBlockIn(this.stateDir, key);
  }

  /**
   * Force-delete tracked containers (through Bulwark, then each runtime directly), detach the
   * mounts Bulwark made for them inside this directory (idmapped root filesystems under the
   * state directory stay mounted until Bulwark's own garbage collection), remove everything.
   */
  /**
   * Start the warm policy service (`bulwark serve`) for this harness's config: its socket is
   * <stateDir>/engine.sock, where the launcher looks. Resolves once it listens. dispose() stops it.
   */
  async startService(extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv, BULWARK_CONFIG: this.configPath };
    delete env.BULWARK_STATE_DIR;
    delete env.BULWARK_ENGINE;
    const child = spawn(join(repoRoot, 'bin', 'bulwark'), ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bulwark serve did not start in 30 s: ${log}`)), 30_000);
      child.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bulwark serve exited (${code}): ${log}`));
      });
    });
    const service: ServiceProcess = {
      pid: child.pid!,
      exited: () => child.exitCode !== null || child.signalCode !== null,
      log: () => log,
      stop: async (signal = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
        this.services.delete(service);
      },
    };
    this.services.add(service);
    return service;
  }

  async dispose(): Promise<void> {
    for (const service of [...this.services]) await service.stop();
    for (const id of this.tracked) {
      await this.call(['--root', this.root, 'delete', '--force', id], { timeoutMs: 60_000 });
      for (const name of LOW_LEVEL_RUNTIMES) {
        if (!findExecutable(runtimeDescriptor(name).requires[0] ?? name)) continue;
        await this.direct(name, ['--root', this.root, 'delete', '--force', id], { timeoutMs: 60_000 });
      }
    }
    this.tracked.clear();
    await this.client.dispose();
    for (let round = 0; round < 3 && mountsUnder(this.dir).length > 0; round++) {
      for (const point of mountsUnder(this.dir)) await execa('umount', ['--lazy', point], { reject: false, stdin: 'ignore' });
    }
    const left = mountsUnder(this.dir);
    // Never recurse into a mount: that would delete through it.
    if (left.length > 0) throw new Error(`mounts left under ${this.dir}, not removing it: ${left.join(', ')}`);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
