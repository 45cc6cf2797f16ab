// `bulwark doctor`: what this node offers Bulwark, and what to fix before relying on it. Each
// line is `[ok]`, `[warn]` or `[FAIL]`; `ok` is false when any line failed. Read-only apart from
// the idmap probe, which mounts and detaches one idmapped clone of an empty temporary directory.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { loadConfig } from '../host/config.js';
import { readTextOrNull } from '../host/read.js';
import { canConnect } from '../net/unix-socket.js';
import { serviceSocketPath } from '../service/protocol.js';
import type { BulwarkConfig } from '../host/config.js';
import { BLOCK_SIZE, nodePool, resolvePool } from '../state/ids.js';
import type { Pool } from '../state/ids.js';
import type { NativeAddon } from '../native/index.js';

type Level = 'ok' | 'warn' | 'FAIL';

/** Kubernetes' kubelet (1.30+) allocates 65536-ID blocks for hostUsers: false pods from here... */
export const KUBELET_DEFAULT_FIRST = 65536;
/** ...up to 2^32, unless a `kubelet` entry in /etc/subuid confines it. */
export const KUBELET_DEFAULT_END = 2 ** 32;

export interface Range {
  start: number;
  size: number;
}

/** The `name:start:size` entry of an /etc/subuid-style file. */
export function subordinateRange(text: string | null, name: string): Range | null {
  for (const line of (text ?? '').split('\n')) {
    const [n, start, size] = line.trim().split(':');
    if (n === name && /^[0-9]+$/.test(start ?? '') && /^[0-9]+$/.test(size ?? '')) return { start: Number(start), size: Number(size) };
  }
  return null;
}

const overlaps = (a: Range, b: Range) => a.start < b.start + b.size && b.start < a.start + a.size;
const span = (r: Range) => `${r.start}-${r.start + r.size - 1}`;

/** Does Bulwark's pool collide with kubelet's user-namespace range? */
export function kubeletCheck(pool: Range, subuidText: string | null): { level: Level; message: string } {
  const kubelet = subordinateRange(subuidText, 'kubelet');
  const blocks = Math.floor(Math.max(0, pool.start - KUBELET_DEFAULT_FIRST) / BLOCK_SIZE);
  const advice = blocks > 0
    ? `confine kubelet below the pool: add "kubelet:${KUBELET_DEFAULT_FIRST}:${blocks * BLOCK_SIZE}" to /etc/subuid and /etc/subgid (restart kubelet), and keep Bulwark's "bulwark:${pool.start}:${pool.size}" entry disjoint from it`
    : `move Bulwark's pool ("bulwark:<start>:<size>" in /etc/subuid and /etc/subgid, or idPool in the config) and give kubelet a disjoint "kubelet:${KUBELET_DEFAULT_FIRST}:<n>" entry`;
  if (kubelet) {
    if (overlaps(pool, kubelet)) return { level: 'FAIL', message: `kubelet's range ${span(kubelet)} (/etc/subuid kubelet) overlaps Bulwark's pool ${span(pool)}: ${advice}` };
    return { level: 'ok', message: `kubelet's range ${span(kubelet)} (/etc/subuid kubelet) is disjoint from Bulwark's pool ${span(pool)}` };
  }
  const kubeletDefault = { start: KUBELET_DEFAULT_FIRST, size: KUBELET_DEFAULT_END - KUBELET_DEFAULT_FIRST };
  if (!overlaps(pool, kubeletDefault)) return { level: 'ok', message: `Bulwark's pool ${span(pool)} is below kubelet's default range` };
  return {
    level: 'warn',
    message: `no kubelet entry in /etc/subuid: kubelet may allocate user-namespace blocks (hostUsers: false pods) anywhere from ${KUBELET_DEFAULT_FIRST} to 2^32, including Bulwark's pool ${span(pool)}; ${advice}`,
  };
}

/** Other /etc/subuid entries (rootless users, podman) that overlap the pool. */
export function subuidClashes(pool: Range, subuidText: string | null): string[] {
  const clashes: string[] = [];
  for (const line of (subuidText ?? '').split('\n')) {
    const [name, start, size] = line.trim().split(':');
    if (!name || name === 'bulwark' || name === 'kubelet' || !/^[0-9]+$/.test(start ?? '') || !/^[0-9]+$/.test(size ?? '')) continue;
    const r = { start: Number(start), size: Number(size) };
    if (overlaps(pool, r)) clashes.push(`${name}:${span(r)}`);
  }
  return clashes;
}

/** containerd's config and the files its `imports` name (relative globs resolve against `/`). */
export function containerdFiles(main = '/etc/containerd/config.toml'): string[] {
  const text = readTextOrNull(main);
  if (text === null) return [];
  const files = [main];
  const list = /^\s*imports\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1] ?? '';
  for (const m of list.matchAll(/"([^"]+)"|'([^']+)'/g)) {
    const pattern = m[1] ?? m[2]!;
    const abs = pattern.startsWith('/') ? pattern : join('/', pattern);
    if (!abs.includes('*')) {
      files.push(abs);
      continue;
    }
    // Only a glob in the last component, as containerd's own examples use.
    const re = new RegExp(`^${basename(abs).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    try {
      for (const name of readdirSync(dirname(abs)).sort()) if (re.test(name)) files.push(join(dirname(abs), name));
    } catch {
      // no such directory
    }
  }
  return files;
}

async function runtimeVersion(path: string): Promise<string> {
  const r = await execa(path, ['--version'], { reject: false, stdin: 'ignore', timeout: 10_000 });
  return (r.stdout || r.stderr || '').split('\n')[0]?.trim() || `exit ${r.exitCode ?? r.signal}`;
}

/** Mount an idmapped clone of an empty directory and look at it: the kernel's real answer. */
function idmapProbe(native: NativeAddon, pool: Pool): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-doctor-'));
  const src = join(dir, 'src');
  const dst = join(dir, 'dst');
  mkdirSync(src);
  mkdirSync(dst);
  let fd = -1;
  let mounted = false;
  try {
    const map = [{ containerID: 0, hostID: pool.start, size: BLOCK_SIZE }];
    fd = native.createUserNamespace(map, map);
    native.idmapMount(src, dst, fd, false);
    mounted = true;
    const uid = statSync(dst).uid;
    return uid === pool.start ? null : `an idmapped clone showed uid ${uid}, not ${pool.start}`;
  } catch (e) {
    return (e as Error).message;
  } finally {
    if (mounted) native.unmount(dst, 2 | 8);
    if (fd >= 0) native.closeFd(fd);
    if (!mounted || !readTextOrNull('/proc/self/mountinfo')?.includes(dst)) rmSync(dir, { recursive: true, force: true });
  }
}

export async function doctor(): Promise<{ lines: string[]; ok: boolean }> {
  const lines: string[] = [];
  let ok = true;
  const say = (level: Level, message: string) => {
    if (level === 'FAIL') ok = false;
    lines.push(`[${level}]${' '.repeat(5 - level.length)} ${message}`);
  };

  let config: BulwarkConfig;
  try {
    config = loadConfig();
    say('ok', `config: ${config.file ?? 'built-in defaults (no /etc/bulwark/config.yaml)'}; profile ${config.defaultProfile}; state ${config.stateDir}`);
  } catch (e) {
    say('FAIL', `config: ${(e as Error).message}`);
    return { lines, ok };
  }

  let native: NativeAddon | null = null;
  try {
    const { loadNative } = await import('../native/index.js');
    native = loadNative();
  } catch (e) {
    say('FAIL', `native addon: ${(e as Error).message}`);
  }

  if (native) {
    const mode = native.cgroupMode();
    const controllersFile = mode === 'v2' ? '/sys/fs/cgroup/cgroup.controllers' : mode === 'hybrid' ? '/sys/fs/cgroup/unified/cgroup.controllers' : null;
    const controllers = controllersFile ? (readTextOrNull(controllersFile) ?? '').trim() || '(none)' : null;
    const label = mode === 'v2' ? 'cgroup v2' : mode === 'hybrid' ? 'cgroup v1/v2 hybrid' : 'cgroup v1';
    say(mode === 'v2' ? 'ok' : 'warn', `cgroups: ${label}${controllers !== null ? `; v2 controllers: ${controllers}` : ''}${mode === 'hybrid' ? ' (crun 1.x refuses hybrid hosts; runc uses v1)' : ''}`);

    const userns = native.probeUserNamespaces();
    say(userns.supported ? 'ok' : 'FAIL', `user namespaces: ${userns.supported ? 'supported' : 'not supported (every profile but audit needs them)'}`);
    try {
      say('ok', `seccomp actions: ${native.seccompActions().join(' ')}`);
    } catch (e) {
      say('FAIL', `seccomp: ${(e as Error).message}`);
    }
    if (!userns.idmapMounts) {
      say('warn', 'idmapped mounts: this kernel has no mount_setattr (Linux 5.12): root filesystems fall back to read-only with files shown as nobody (profiles with idmap-or-refuse refuse)');
    } else if (process.getuid?.() !== 0) {
      say('warn', 'idmapped mounts: mount_setattr exists; run doctor as root to try one');
    } else {
      let pool: Pool | null = null;
      try {
        pool = nodePool(config.idPool);
      } catch {
        // reported below
      }
      const problem = pool ? idmapProbe(native, pool) : 'no usable ID pool to probe with';
      say(problem ? 'warn' : 'ok', problem ? `idmapped mounts: a probe failed (${problem}); root filesystems will fall back` : 'idmapped mounts: work (an idmapped clone showed the mapped owner)');
    }
  }

  for (const [name, entry] of Object.entries(config.runtimes)) {
    const path = entry.paths.find((p) => existsSync(p));
    const used = name === config.defaultRuntime || config.allowedRuntimes.includes(name);
    if (!path) {
      say(name === config.defaultRuntime ? 'FAIL' : used ? 'warn' : 'ok', `runtime ${name}: not found (looked in ${entry.paths.join(', ')})`);
      continue;
    }
    say('ok', `runtime ${name}${name === config.defaultRuntime ? ' (default)' : ''}: ${path} ${[...entry.args].join(' ')}${entry.args.length ? ' ' : ''}— ${await runtimeVersion(path)}`);
  }

  const subuid = readTextOrNull('/etc/subuid');
  try {
    const pool = resolvePool(config.idPool, subuid, readTextOrNull('/etc/subgid'));
    const range = { start: pool.start, size: pool.size };
    say('ok', `ID pool: ${span(range)} (${Math.floor(pool.size / BLOCK_SIZE)} pod blocks of ${BLOCK_SIZE}) from ${pool.source}`);
    const k = kubeletCheck(range, subuid);
    say(k.level, `kubelet user namespaces: ${k.message}`);
    const clashes = subuidClashes(range, subuid);
    if (clashes.length > 0) say('FAIL', `ID pool overlaps /etc/subuid entries: ${clashes.join(', ')}`);
  } catch (e) {
    say('FAIL', `ID pool: ${(e as Error).message}`);
  }

  const socket = serviceSocketPath(config.stateDir);
  const served = await canConnect(socket);
  say(served ? 'ok' : 'warn', served
    ? `policy service: listening on ${socket} (creates and execs are served warm)`
    : `policy service: nothing listens on ${socket}; every create starts the engine cold (~0.4 s). Start \`bulwark serve\` or deploy/systemd/bulwark.socket`);

  const files = containerdFiles();
  if (files.length === 0) {
    say('warn', 'containerd: no /etc/containerd/config.toml (Bulwark is not registered as a runtime handler)');
  } else {
    const hit = files.find((f) => /bulwark/.test(readTextOrNull(f) ?? ''));
    say(hit ? 'ok' : 'warn', hit ? `containerd: a bulwark runtime is configured in ${hit}` : `containerd: no bulwark runtime in ${files.join(', ')}`);
  }
  return { lines, ok };
}
