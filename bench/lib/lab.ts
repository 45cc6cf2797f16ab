// The measuring bench for the lifecycle scenarios: runs commands and times them, remembers every
// container still alive so it can be force-deleted, and the small helpers around containers
// (wait for exit, per-container cgroup, ids). Everything it creates lives in one private work
// directory; a container is only ever force-deleted by the id we gave it, under our --root.
import { chmodSync, closeSync, mkdtempSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeCgroupTree } from '../../integration/containerd/lib.js';
import { repoRoot } from '../../integration/lib/paths.js';
import { parseJson, stringifyJson } from '../../src/json/lossless.js';
import type { Spec } from '../../src/spec/index.js';
import { checkpoint } from './abort.js';

export interface ArmInfo {
  key: string;
  label: string;
  /** The command line, for the report (paths shortened). */
  command: string;
}

/** How to call one side of a comparison. */
export interface Arm extends ArmInfo {
  bin: string;
  /** Global flags before the subcommand, --root included when the arm has one. */
  global: string[];
  env: NodeJS.ProcessEnv;
  /** How to force-delete what this arm created: the bare runtime under the same --root. */
  cleanup: { bin: string; global: string[] };
}


export const LAUNCHER = join(repoRoot, 'bin', 'bulwark-runtime');

/**
 * The cgroup parent of the benchmark's containers: /bulwark-bench/<id>. Not the tests'
 * /bulwark-test: tests running in parallel remove that parent when they end, and a runtime
 * creating a child under it at that moment fails with ENOENT. The parent stays for the whole run
 * and is removed, when empty, at the end.
 */
export const CGROUP_PARENT = 'bulwark-bench';
export const NODE = process.execPath;

/** Runs commands, times them, and remembers every container still alive. */
export class Lab {
  readonly work: string;
  private readonly errFile: string;
  private readonly live = new Map<string, { bin: string; global: string[]; env: NodeJS.ProcessEnv }>();

  constructor() {
    this.work = mkdtempSync(join(tmpdir(), 'bulwark-bench-'));
    // Traversable like /run/bulwark on a node: the container's mapped root must reach the
    // idmapped rootfs Bulwark mounts under its state directory (else the engine falls back).
    chmodSync(this.work, 0o711);
    mkdirSync(join(this.work, 'pids'));
    this.errFile = join(this.work, 'stderr.txt');
  }

  /** Run `bin global... args...` and return its wall time in ms; throws with its stderr on failure. */
  time(arm: Arm, args: string[], cwd?: string): number {
    const errFd = openSync(this.errFile, 'w', 0o600);
    let result: ReturnType<typeof spawnSync>;
    let ms: number;
    try {
      const t0 = process.hrtime.bigint();
      result = spawnSync(arm.bin, [...arm.global, ...args], { cwd: cwd ?? this.work, env: arm.env, stdio: ['ignore', 'ignore', errFd] });
      ms = Number(process.hrtime.bigint() - t0) / 1e6;
    } finally {
      closeSync(errFd);
    }
    if (result.error || result.status !== 0) {
      const stderr = readFileSync(this.errFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
      const how = result.error ? result.error.message : result.signal ? `signal ${result.signal}` : `exit ${result.status}`;
      throw new Error(`${arm.label}: ${[arm.bin, ...arm.global, ...args].join(' ')}: ${how}${stderr ? `: ${stderr}` : ''}`);
    }
    return ms;
  }

  track(id: string, arm: Arm): void {
    this.live.set(id, { bin: arm.cleanup.bin, global: arm.cleanup.global, env: arm.env });
  }

  untrack(id: string): void {
    this.live.delete(id);
  }

  /** Force-delete one container we created (quiet when it is already gone) and its cgroups. */
  forceDelete(id: string): void {
    const owner = this.live.get(id);
    if (owner) {
      spawnSync(owner.bin, [...owner.global, 'delete', '--force', id], { env: owner.env, stdio: 'ignore', timeout: 30_000 });
      this.live.delete(id);
    }
    removeCgroups(id);
  }

  cleanupAll(): void {
    for (const id of [...this.live.keys()]) this.forceDelete(id);
    unmountUnder(this.work);
    rmSync(this.work, { recursive: true, force: true });
    removeCgroupParent();
  }

  /** Between samples: stop here (throwing Aborted) if the user asked to. */
  checkpoint(): Promise<void> {
    return checkpoint();
  }
}

/**
 * Bulwark's engine may mount an idmapped view of a container's rootfs under its state directory
 * (which is ours: inside the work directory). Unmount whatever is still mounted below `dir`,
 * deepest first, before removing it; nothing outside `dir` is touched.
 */
export function unmountUnder(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p): p is string => p !== undefined && p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) spawnSync('umount', ['--lazy', point], { stdio: 'ignore' });
}

/** Remove /bulwark-bench/<id> (and anything empty below it) in every hierarchy; throws if busy. */
export function removeCgroups(id: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(id) || id === '.' || id === '..') throw new Error(`refusing to remove cgroups of ${JSON.stringify(id)}`);
  const leftovers = removeCgroupTree(`/${CGROUP_PARENT}/${id}`);
  if (leftovers.length > 0) throw new Error(`cgroups of ${id} are still busy: ${leftovers.join(', ')}`);
}

/** Remove the empty parent /bulwark-bench of every hierarchy (another run's containers keep it). */
function removeCgroupParent(): void {
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    try {
      rmdirSync(join('/sys/fs/cgroup', hierarchy, CGROUP_PARENT));
    } catch {
      // absent, or not empty
    }
  }
}

const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number) => Atomics.wait(sleepBuffer, 0, 0, ms);

/** Wait until a process has exited (gone, or a zombie nobody reaped yet); returns ms waited. */
export function waitExit(pid: number, timeoutMs = 20_000): number {
  const t0 = performance.now();
  for (;;) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return performance.now() - t0;
    }
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`container init ${pid} still running after ${timeoutMs} ms`);
    sleepMs(0.2);
  }
}

export function readPid(file: string): number {
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`bad pid in ${file}`);
  return pid;
}

/** The config text with this container's own cgroup; the container id is the cgroup's name. */
export function withCgroup(text: string, id: string): string {
  const spec = parseJson(text) as unknown as Spec;
  return stringifyJson({ ...spec, linux: { ...spec.linux, cgroupsPath: `/${CGROUP_PARENT}/${id}` } }) + '\n';
}

/**
 * Bulwark may point root.path at an idmapped view of the rootfs it mounted for one container
 * (under its state directory). Other containers made from that hardened config get their own
 * bundle's rootfs back; everything else stays as Bulwark wrote it. Returns the text and whether
 * root.path was changed.
 */
export function withOwnRootfs(text: string): { text: string; changed: boolean } {
  const spec = parseJson(text) as unknown as Spec;
  if (!spec.root || spec.root.path === 'rootfs') return { text, changed: false };
  return { text: stringifyJson({ ...spec, root: { ...spec.root, path: 'rootfs' } }) + '\n', changed: true };
}

/**
 * The order of the arms in one round. Two arms alternate (A B, B A, ...). With more, each round
 * gets its own pseudo-random order, seeded by the round number (the same in every run): a plain
 * rotation (A B C, B C A, ...) would always run A right after C, and what one arm leaves behind
 * (a freed address space, a cold cache) would land on the same neighbour every time.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (items.length <= 2) return round % 2 === 0 ? [...items] : [...items].reverse();
  let seed = (round + 1) * 0x9e3779b1;
  const next = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function version(bin: string, args: string[] = ['--version']): string {
  const r = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return (r.stdout || r.stderr || '').trim().split('\n').slice(0, 1).join(' ') || 'unknown';
}

export function short(path: string): string {
  return path.startsWith(`${repoRoot}/`) ? path.slice(repoRoot.length + 1) : path;
}

let idCounter = 0;
export function newId(scenario: string, arm: string): string {
  return `bwb-${process.pid}-${scenario}-${arm}-${++idCounter}`.replace(/[^A-Za-z0-9_.-]/g, '-');
}

export function emptySamples(arms: readonly ArmInfo[], steps: readonly string[]): Record<string, Record<string, number[]>> {
  return Object.fromEntries(arms.map((a) => [a.key, Object.fromEntries(steps.map((s) => [s, [] as number[]]))]));
}

export function armInfo(arm: Arm): ArmInfo {
  return { key: arm.key, label: arm.label, command: arm.command };
}

