// Helpers for driving a shim over ttrpc the way containerd does: containerd's events endpoint
// (the real shim forwards task events to TTRPC_ADDRESS), the task API calls containerd makes, and
// the shim's `start` through bin/containerd-shim-bulwark-v2.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { TtrpcClient } from '../../src/shim/ttrpc/client.js';
import { encodeMessage, getBytes, getString, getVarint, readFields } from '../../src/shim/ttrpc/proto.js';
import { TtrpcServer } from '../../src/shim/ttrpc/server.js';
import { repoRoot } from '../lib/paths.js';

export const SHIM_SCRIPT = join(repoRoot, 'bin', 'containerd-shim-bulwark-v2');
export const RUNC_SHIM = '/usr/bin/containerd-shim-runc-v2';
export const TASK_V2 = 'containerd.task.v2.Task';
export const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';

export function availability(): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const bin of [RUNC_SHIM, '/usr/sbin/runc', '/bin/busybox']) if (!existsSync(bin)) return `${bin} missing (apt-get install containerd runc busybox-static)`;
  if (!existsSync(join(repoRoot, 'dist', 'src', 'shim', 'main.js'))) return 'dist/ missing: run make build';
  return false;
}

/**
 * containerd's ttrpc events endpoint, as far as a shim needs it:
 * containerd.services.events.ttrpc.v1.Events/Forward(ForwardRequest { Envelope envelope = 1 }),
 * Envelope { Timestamp timestamp = 1; string namespace = 2; string topic = 3; Any event = 4 }.
 */
export async function startEventsEndpoint(path: string): Promise<{ topics: string[]; close: () => Promise<void> }> {
  const topics: string[] = [];
  const server = new TtrpcServer().register('containerd.services.events.ttrpc.v1.Events', 'Forward', (payload) => {
    const envelope = getBytes(readFields(payload), 1);
    if (envelope) topics.push(getString(readFields(envelope), 3));
    return new Uint8Array(0);
  });
  await server.listen(path);
  return { topics, close: () => server.close() };
}

const any = (typeUrl: string, value: Uint8Array) => encodeMessage([[1, 'string', typeUrl], [2, 'bytes', value]]);

/** The task calls containerd makes, on one connection (as containerd keeps one per shim). */
export class TaskClient {
  private constructor(readonly conn: TtrpcClient) {}

  static async connect(address: string): Promise<TaskClient> {
    return new TaskClient(await TtrpcClient.connect(address));
  }

  /** Create with file:// stdio and runc options { root = 7 } (a private runc root). */
  create(o: { id: string; bundle: string; stdout: string; stderr: string; runcRoot: string }) {
    const options = any('containerd.runc.v1.Options', encodeMessage([[7, 'string', o.runcRoot]]));
    return this.conn.send(TASK_V2, 'Create', encodeMessage([
      [1, 'string', o.id], [2, 'string', o.bundle], [6, 'string', `file://${o.stdout}`], [7, 'string', `file://${o.stderr}`], [10, 'message', options],
    ]));
  }

  async start(id: string, execId = ''): Promise<number> {
    return Number(getVarint(readFields(await this.conn.call(TASK_V2, 'Start', encodeMessage([[1, 'string', id], [2, 'string', execId]]))), 1));
  }

  exec(o: { id: string; execId: string; process: unknown; stdout: string; stderr: string }) {
    return this.conn.send(TASK_V2, 'Exec', encodeMessage([
      [1, 'string', o.id], [2, 'string', o.execId], [5, 'string', `file://${o.stdout}`], [6, 'string', `file://${o.stderr}`],
      [7, 'message', any(PROCESS_TYPE_URL, new TextEncoder().encode(JSON.stringify(o.process)))],
    ]));
  }

  async wait(id: string, execId = ''): Promise<number> {
    return Number(getVarint(readFields(await this.conn.call(TASK_V2, 'Wait', encodeMessage([[1, 'string', id], [2, 'string', execId]]))), 1));
  }

  async kill(id: string, signal: number, execId = ''): Promise<void> {
    await this.conn.call(TASK_V2, 'Kill', encodeMessage([[1, 'string', id], [2, 'string', execId], [3, 'varint', signal], [4, 'varint', execId === '']]));
  }

  async delete(id: string, execId = ''): Promise<number> {
    return Number(getVarint(readFields(await this.conn.call(TASK_V2, 'Delete', encodeMessage([[1, 'string', id], [2, 'string', execId]]))), 2));
  }

  /** ConnectResponse { uint32 shim_pid = 1; uint32 task_pid = 2; string version = 3; } */
  async connect(id: string): Promise<{ shimPid: number; version: string }> {
    const f = readFields(await this.conn.call(TASK_V2, 'Connect', encodeMessage([[1, 'string', id]])));
    return { shimPid: Number(getVarint(f, 1)), version: getString(f, 3) };
  }

  shutdown(id: string) {
    return this.conn.send(TASK_V2, 'Shutdown', encodeMessage([[1, 'string', id], [2, 'varint', true]]));
  }

  close(): void {
    this.conn.close();
  }
}

/**
 * containerd makes a fifo `log` in the bundle before it starts a shim and reads the shim's log
 * from it; the runc shim's long-lived process opens it and exits when it cannot. Same here: the
 * fifo, and a `cat` copying it to `file` (it ends when the shim closes the fifo).
 */
export async function shimLogFifo(bundle: string, file: string): Promise<number> {
  await execa('mkfifo', [join(bundle, 'log')]);
  const cat = execa('sh', ['-c', `exec cat "$1" > "$2"`, 'sh', join(bundle, 'log'), file], { reject: false, cleanup: true, stdin: 'ignore' });
  void cat.catch(() => undefined);
  return cat.pid!;
}

/** `<name> -namespace NS -address A -publish-binary /usr/bin/containerd -id ID <action>` in the bundle, as containerd runs a shim. */
export function shimCommand(o: { name: string; dir: string; ns: string; address: string; id: string; bundle: string; action: 'start' | 'delete'; env: Record<string, string> }) {
  const args = ['-namespace', o.ns, '-address', o.address, '-publish-binary', '/usr/bin/containerd', '-id', o.id];
  if (o.action === 'delete') args.push('-bundle', o.bundle);
  args.push(o.action);
  return execa(join(o.dir, o.name), args, { cwd: o.bundle, env: o.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 60_000 });
}

/** containerd 1.6's runc shim socket, whatever the config: /run/containerd/s/sha256(address/ns/id). */
export function runcShimSocket(address: string, ns: string, id: string): string {
  return join('/run/containerd/s', createHash('sha256').update(join(address, ns, id)).digest('hex'));
}

/** /proc/<pid>/status of a process, as name -> value. */
export function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

export function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function removeQuietly(path: string): void {
  rmSync(path, { recursive: true, force: true });
}
