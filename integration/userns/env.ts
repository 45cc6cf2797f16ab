// A private Bulwark installation for the user-namespace tests: its own config (BULWARK_CONFIG),
// state directory, audit log, a small ID pool far from anything else (3000000000 + 64 blocks)
// and a private runtime --root. Calls go through bin/bulwark-runtime exactly as containerd makes
// them. dispose() force-deletes what the tests created, runs `bulwark gc` (which detaches
// Bulwark's mounts for them), and only then removes the directory, after checking that nothing
// is mounted below it.
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { crunWrapperPath, findExecutable, repoRoot, tempPrefix } from '../lib/index.js';
import type { Bundle } from '../lib/index.js';
import { blockFilesIn, mountsUnder, podBlockIn } from '../lib/bulwark.js';

export const POOL_START = 3_000_000_000;
export const BLOCK = 65536;
export const POOL_BLOCKS = 64;
export const BULWARK_RUNTIME = join(repoRoot, 'bin', 'bulwark-runtime');
export const BULWARK_CLI = join(repoRoot, 'bin', 'bulwark');

export type Runtime = 'runc' | 'crun';

export interface CallResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export { mountsUnder };

export interface UsernsEnvOptions {
  /** Extra profiles (name -> YAML); the profile directory is then a copy of profiles/ plus these. */
  profiles?: Record<string, string>;
  defaultProfile?: string;
}

export class UsernsEnv {
  readonly dir: string;
  readonly configPath: string;
  readonly stateDir: string;
  readonly auditLog: string;
  /** The runtime's --root, as containerd's /run/containerd/runc/<ns>. */
  readonly root: string;
  private readonly io: string;
  private readonly created = new Set<string>();
  private calls = 0;

  constructor(readonly runtime: Runtime, options: UsernsEnvOptions = {}) {
    this.dir = mkdtempSync(`${tempPrefix}userns-${runtime}-`);
    // The container's mapped root resolves root.path through the state directory.
    chmodSync(this.dir, 0o711);
    this.configPath = join(this.dir, 'config.yaml');
    this.stateDir = join(this.dir, 'state');
    this.auditLog = join(this.dir, 'audit.jsonl');
    this.root = join(this.dir, 'runtime-root');
    this.io = mkdtempSync(join(this.dir, 'io-'));
    const config: Record<string, unknown> = {
      stateDir: this.stateDir,
      auditLog: this.auditLog,
      defaultRuntime: runtime,
      idPool: { start: POOL_START, size: BLOCK * POOL_BLOCKS },
      runtimes: runtime === 'crun' ? { crun: { paths: [crunWrapperPath()] } } : { runc: { paths: [findExecutable('runc') ?? '/usr/sbin/runc'] } },
    };
    if (options.profiles) {
      const profileDir = join(this.dir, 'profiles');
      cpSync(join(repoRoot, 'profiles'), profileDir, { recursive: true });
      for (const [name, text] of Object.entries(options.profiles)) writeFileSync(join(profileDir, `${name}.yaml`), text);
      config.profileDir = profileDir;
    }
    if (options.defaultProfile) config.defaultProfile = options.defaultProfile;
    writeFileSync(this.configPath, stringify(config, { lineWidth: 0 }), { mode: 0o644 });
  }

  private env(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('BULWARK_')) env[k] = v;
    return { ...env, BULWARK_CONFIG: this.configPath };
  }

  /** bin/bulwark-runtime --root <root> argv...; stdout/stderr through files (a container may keep them). */
  async call(argv: string[], cwd?: string): Promise<CallResult> {
    const n = ++this.calls;
    const outPath = join(this.io, `${n}.out`);
    const errPath = join(this.io, `${n}.err`);
    const out = openSync(outPath, 'w', 0o600);
    const err = openSync(errPath, 'w', 0o600);
    try {
      const r = await execa(BULWARK_RUNTIME, ['--root', this.root, ...argv], {
        reject: false, stdin: 'ignore', stdout: out as unknown as 'pipe', stderr: err as unknown as 'pipe', cwd, env: this.env(), extendEnv: false, timeout: 120_000,
      });
      return { exitCode: r.exitCode, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8'), durationMs: r.durationMs };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  /** `run` in the foreground: the container's output, then it is gone. */
  run(bundle: Bundle, id = bundle.id): Promise<CallResult> {
    this.created.add(id);
    return this.call(['run', '--bundle', bundle.dir, id], bundle.dir);
  }

  create(bundle: Bundle, id = bundle.id, pidFile?: string): Promise<CallResult> {
    this.created.add(id);
    return this.call(['create', '--bundle', bundle.dir, ...(pidFile ? ['--pid-file', pidFile] : []), id], bundle.dir);
  }

  start(id: string): Promise<CallResult> {
    return this.call(['start', id]);
  }

  async delete(id: string): Promise<CallResult> {
    const r = await this.call(['delete', '--force', id]);
    if (r.exitCode === 0) this.created.delete(id);
    return r;
  }

  /** `bulwark gc` with this config. */
  gc(): Promise<CallResult & { report: Record<string, unknown> }> {
    return execa(BULWARK_CLI, ['gc', '--json'], { reject: false, stdin: 'ignore', env: this.env(), extendEnv: false, timeout: 60_000 }).then((r) => ({
      exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs,
      report: r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : {},
    }));
  }

  /** The block index a pod holds (ids/pods/<key> -> n). */
  podBlock(key: string): number | undefined {
    return podBlockIn(this.stateDir, key);
  }

  blockFiles(): string[] {
    return blockFilesIn(this.stateDir);
  }

  rootfsMounts(): string[] {
    return mountsUnder(join(this.stateDir, 'rootfs'));
  }

  auditFindings(id: string): Array<{ rule: string; path: string; action: string; message: string }> {
    if (!existsSync(this.auditLog)) return [];
    return readFileSync(this.auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; findings: [] })
      .filter((e) => e.id === id).flatMap((e) => e.findings);
  }

  async dispose(): Promise<void> {
    for (const id of [...this.created]) await this.delete(id);
    await this.gc();
    // Bulwark's own mounts for these containers, should the collector have left any: exact paths.
    for (const p of this.rootfsMounts().reverse()) await execa('umount', ['-l', p], { reject: false });
    const left = mountsUnder(this.dir);
    if (left.length > 0) throw new Error(`mounts left under ${this.dir}: ${left.join(', ')}; not removing it`);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** CRI annotations: a sandbox, or an app container of `sandboxId`. */
export function criAnnotations(type: 'sandbox' | 'container', sandboxId: string): Record<string, string> {
  return { 'io.kubernetes.cri.container-type': type, 'io.kubernetes.cri.sandbox-id': sandboxId };
}
