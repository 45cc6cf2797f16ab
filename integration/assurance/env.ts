// A private Bulwark installation for the assurance tests: its own config file (BULWARK_CONFIG)
// with a state directory, audit log, profile directory and ID pool of its own, and a private
// runtime --root. Calls go through bin/bulwark-runtime exactly as containerd makes them; the
// caller's BULWARK_* variables never leak in. Unlike integration/lib/bulwark.ts this one can
// point Bulwark at a profile directory, default profile and audit log of the test's choosing.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { findExecutable, repoRoot, tempPrefix } from '../lib/index.js';
import { blockFilesIn, mountsUnder, podBlockIn } from '../lib/bulwark.js';
import { lstatOrNull } from '../../src/host/read.js';

export const BULWARK_RUNTIME = join(repoRoot, 'bin', 'bulwark-runtime');
export const BULWARK_CLI = join(repoRoot, 'bin', 'bulwark');
export const RUNC = findExecutable('runc') ?? '/usr/sbin/runc';
export const BLOCK = 65536;

export interface EnvOptions {
  label: string;
  /** The ID pool: a private range per test file, so tests never share blocks. */
  poolStart: number;
  poolBlocks?: number;
  /** Extra keys for Bulwark's config file (profileDir, defaultProfile, auditLog, runtimes, ...). */
  config?: Record<string, unknown>;
}

export interface CallResult {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

export interface CallOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** SIGKILL the call after this many milliseconds (the crash tests' external kill -9). */
  killAfterMs?: number;
  /** Keep stdout in this file (a created container writes there after the call returned). */
  stdoutFile?: string;
}

export class AssuranceEnv {
  readonly dir: string;
  readonly configPath: string;
  readonly stateDir: string;
  readonly auditLog: string;
  readonly root: string;
  private readonly io: string;
  private calls = 0;

  constructor(options: EnvOptions) {
    this.dir = mkdtempSync(`${tempPrefix}assurance-${options.label}-`);
    // The container's mapped root resolves root.path through the state directory (USERNS.md).
    chmodSync(this.dir, 0o711);
    this.configPath = join(this.dir, 'config.yaml');
    this.stateDir = join(this.dir, 'state');
    this.auditLog = join(this.dir, 'audit.jsonl');
    this.root = join(this.dir, 'runtime-root');
    this.io = join(this.dir, 'io');
    mkdirSync(this.io, { mode: 0o700 });
    this.writeConfig({
      stateDir: this.stateDir,
      auditLog: this.auditLog,
      defaultRuntime: 'runc',
      runtimes: { runc: { paths: [RUNC] } },
      idPool: { start: options.poolStart, size: BLOCK * (options.poolBlocks ?? 64) },
      ...options.config,
    });
  }

  /** Rewrite Bulwark's config file (block style: the launcher scans for a `stateDir:` line). */
  writeConfig(config: Record<string, unknown>): void {
    writeFileSync(this.configPath, stringify(config, { lineWidth: 0 }), { mode: 0o644 });
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('BULWARK_')) env[k] = v;
    return { ...env, BULWARK_CONFIG: this.configPath, ...extra };
  }

  /** `bin/bulwark-runtime --root <root> argv...`, stdout and stderr through files (a container may keep them). */
  async call(argv: string[], options: CallOptions = {}): Promise<CallResult> {
    const n = ++this.calls;
    const outPath = options.stdoutFile ?? join(this.io, `${n}.out`);
    const errPath = join(this.io, `${n}.err`);
    const out = openSync(outPath, 'w', 0o600);
    const err = openSync(errPath, 'w', 0o600);
    try {
      const child = execa(BULWARK_RUNTIME, ['--root', this.root, ...argv], {
        reject: false, stdin: 'ignore', stdout: out as unknown as 'pipe', stderr: err as unknown as 'pipe',
        cwd: options.cwd, env: this.env(options.env), extendEnv: false, timeout: options.timeoutMs ?? 120_000,
      });
      // Our own child, by its pid: the crash tests' kill -9 at a random instant.
      const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
      const r = await child;
      if (timer) clearTimeout(timer);
      return { exitCode: r.exitCode, signal: r.signal, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') };
    } finally {
      closeSync(out);
      closeSync(err);
      if (!options.stdoutFile) rmSync(outPath, { force: true });
      rmSync(errPath, { force: true });
    }
  }

  /** runc itself with this env's --root. */
  async runc(argv: string[]): Promise<CallResult> {
    const r = await execa(RUNC, ['--root', this.root, ...argv], { reject: false, stdin: 'ignore', timeout: 60_000 });
    return { exitCode: r.exitCode, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** `bulwark gc --json` with this config. */
  async gc(): Promise<CallResult & { report: Record<string, unknown> }> {
    const r = await execa(BULWARK_CLI, ['gc', '--json'], { reject: false, stdin: 'ignore', env: this.env(), extendEnv: false, timeout: 60_000 });
    let report: Record<string, unknown> = {};
    try {
      report = JSON.parse(String(r.stdout)) as Record<string, unknown>;
    } catch {
      // reported through exitCode and stdout by the caller
    }
    return { exitCode: r.exitCode, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr), report };
  }

  /** Container ids runc has under this env's --root. */
  runcIds(): string[] {
    return existsSync(this.root) ? readdirSync(this.root).sort() : [];
  }

  /** Record directories (`containers/<root key>/<id>`) for `id`, found by looking. */
  recordDirs(id: string): string[] {
    const containers = join(this.stateDir, 'containers');
    if (!existsSync(containers)) return [];
    return readdirSync(containers).map((key) => join(containers, key, id)).filter((dir) => existsSync(dir));
  }

  /** Everything the state directory holds about container (and pod) `id`. */
  traces(id: string): string[] {
    const found = this.recordDirs(id).map((d) => d.slice(this.stateDir.length + 1));
    const rootfs = join(this.stateDir, 'rootfs');
    if (existsSync(rootfs)) for (const key of readdirSync(rootfs)) if (existsSync(join(rootfs, key, id))) found.push(`rootfs/${key}/${id}`);
    if (lstatOrNull(join(this.stateDir, 'ids', 'pods', id))) found.push(`ids/pods/${id}`); // a link, dangling or not
    return found;
  }

  /** The pod's block (ids/pods/<key> -> n), if it holds one. */
  podBlock(key: string): number | undefined {
    return podBlockIn(this.stateDir, key);
  }

  blockFiles(): string[] {
    return blockFilesIn(this.stateDir);
  }

  /** Mount points at or below this env's directory. */
  mounts(): string[] {
    return mountsUnder(this.dir);
  }

  /** Force-delete what runc still has here, collect Bulwark's state, then remove everything. */
  async dispose(): Promise<void> {
    for (const id of this.runcIds()) await this.runc(['delete', '--force', id]);
    await this.gc();
    // Bulwark's own idmapped rootfs mounts, should the collector have kept any: exact paths, deepest first.
    for (const p of this.mounts().sort((a, b) => b.length - a.length)) await execa('umount', ['-l', p], { reject: false });
    const left = this.mounts();
    if (left.length > 0) throw new Error(`mounts left under ${this.dir}: ${left.join(', ')}; not removing it`);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A bundle's files, recursively: path -> type, mode, size and (for regular files) sha256. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const abs = rel ? join(dir, rel) : dir;
    const st = lstatSync(abs);
    const kind = st.isSymbolicLink() ? `link->${readlinkSync(abs)}` : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    const hash = st.isFile() && st.size < 64 * 1024 * 1024 ? createHash('sha256').update(readFileSync(abs)).digest('hex') : `size ${st.size}`;
    out[rel || '.'] = `${kind} ${(st.mode & 0o7777).toString(8)} ${st.isFile() ? hash : ''}`.trim();
    if (st.isDirectory()) for (const name of readdirSync(abs)) walk(rel ? join(rel, name) : name);
  };
  walk('');
  return out;
}
