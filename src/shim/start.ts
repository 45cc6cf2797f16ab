// `containerd-shim-bulwark[-<profile>]-v2 ... start` and `... delete` in proxy mode.
//
// start: run the real shim's own `start` (same argv, cwd = bundle, stdin = containerd's runtime
// options), read the address it prints, make sure a proxy serves that address, and print the
// proxy's address in the same format. Several containers of one pod share one real shim (the
// runc shim groups them by sandbox and prints the same address), so they share one proxy too: its
// socket is named by a hash of the real shim's address, and a live proxy there is reused.
// containerd 1.x also reads `<bundle>/address` when it reconnects after a restart; the real shim
// wrote its own address there, so the proxy's replaces it.
//
// delete: the real shim's `delete` (its stdout is containerd's DeleteResponse, passed through
// untouched); then a proxy whose real shim is gone is stopped, should it still run.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatStartOutput, parseStartOutput, unixPath } from './bootstrap.js';
import { canConnect } from '../net/unix-socket.js';
import { CONNECT_TIMEOUT_MS, recordPath } from './socket.js';
import type { ProxyRecord } from './socket.js';

/** Longest unix socket path (sun_path is 108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * Node flags for the resident proxy: small heaps (it holds a few frames at a time) and no optimizing
 * compiler (--lite-mode; it forwards a handful of calls per second at most). Measured on this host:
 * VmRSS about 46 MB, of which about 10 MB private; the rest is node's shared text and data.
 */
export const PROXY_NODE_FLAGS = ['--max-old-space-size=16', '--max-semi-space-size=1', '--lite-mode', '--no-expose-wasm'];

export class ShimError extends Error {
  override name = 'ShimError';
}

/** The proxy's socket for a real shim address: <dir>/<first 32 hex digits of sha256(address)>.sock. */
export function proxySocketPath(dir: string, upstreamAddress: string): string {
  const path = join(dir, `${createHash('sha256').update(upstreamAddress).digest('hex').slice(0, 32)}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new ShimError(`proxy socket path too long for a unix socket (${Buffer.byteLength(path)} > ${MAX_SOCKET_PATH} bytes): ${path}`);
  return path;
}

export interface StartContext {
  argv: string[];
  /** The real shim binary (absolute). */
  realShim: string;
  profile: string | null;
  /** Where proxy sockets go (created 0700). */
  socketDir: string;
  /** The bundle: start runs in it. */
  cwd: string;
  /** dist/src/shim/main.js, started as `node ... main.js serve ...`. */
  entry: string;
  node: string;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Run the real shim with containerd's stdin and stderr; collect its stdout. */
function runRealShim(ctx: StartContext): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ctx.realShim, ctx.argv, { cwd: ctx.cwd, env: ctx.env, stdio: ['inherit', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8') }));
  });
}

/** Start a detached proxy and wait until it listens (it says "ready" on fd 3) or fails. */
function spawnProxy(ctx: StartContext, listen: string, upstream: string): Promise<void> {
  const args = [...PROXY_NODE_FLAGS, ctx.entry, 'serve', '--listen', listen, '--upstream', upstream, '--bundle-root', dirname(ctx.cwd)];
  if (ctx.profile) args.push('--profile', ctx.profile);
  return new Promise((resolve, reject) => {
    const child = spawn(ctx.node, args, { detached: true, cwd: '/', env: ctx.env, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    let said = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    const timer = setTimeout(() => finish(new ShimError('the proxy did not come up within 10 s')), 10_000);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      child.removeAllListeners();
      (pipe as unknown as { destroy(): void }).destroy();
      child.unref();
      if (err) reject(err);
      else resolve();
    };
    pipe.on('data', (c: Buffer) => {
      said += c.toString('utf8');
      if (said.includes('\n')) {
        const line = said.split('\n')[0]!;
        if (line === 'ready') finish();
        else finish(new ShimError(line.replace(/^error: /, '')));
      }
    });
    child.on('error', (e) => finish(e));
    child.on('exit', (code, signal) => finish(new ShimError(`the proxy exited before it was ready (${signal ?? `exit ${code}`})${said ? `: ${said.trim()}` : ''}`)));
  });
}

/** containerd 1.x reconnects through <bundle>/address after a restart: point it at the proxy. */
function rewriteAddressFile(bundle: string, realAddress: string, proxyAddress: string): void {
  const file = join(bundle, 'address');
  let current: string;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    return;
  }
  if (current.trim() !== realAddress) return;
  const tmp = `${file}.bulwark-tmp`;
  writeFileSync(tmp, proxyAddress, { mode: 0o644 });
  renameSync(tmp, file);
}

export async function runStart(ctx: StartContext): Promise<number> {
  const real = await runRealShim(ctx);
  if (real.code !== 0) {
    // The real shim's own failure; its stderr already went to containerd.
    ctx.stdout(real.stdout);
    return real.code;
  }
  try {
    const output = parseStartOutput(real.stdout);
    if (output.protocol !== 'ttrpc') throw new ShimError(`the real shim speaks ${output.protocol}; the proxy serves ttrpc only`);
    const upstream = unixPath(output.address);
    if (!upstream) throw new ShimError(`the real shim's address is not a unix socket: ${output.address}`);
    mkdirSync(ctx.socketDir, { recursive: true, mode: 0o700 });
    const listen = proxySocketPath(ctx.socketDir, output.address);
    if (!(await canConnect(listen, CONNECT_TIMEOUT_MS))) await spawnProxy(ctx, listen, upstream);
    const proxyAddress = `unix://${listen}`;
    rewriteAddressFile(ctx.cwd, output.address, proxyAddress);
    ctx.stdout(formatStartOutput(output, proxyAddress));
    return 0;
  } catch (e) {
    // The real shim runs but containerd never learns its address: containerd answers a failed
    // start with `delete`, which cleans it up. No container runs unhardened.
    ctx.stderr(`bulwark: shim proxy: ${(e as Error).message}\n`);
    return 1;
  }
}

/** Stop the proxy named in <bundle>/address if its real shim is gone; returns what was done. */
export async function reapProxy(bundle: string, socketDir: string): Promise<string | null> {
  let address: string;
  try {
    address = readFileSync(join(bundle, 'address'), 'utf8').trim();
  } catch {
    return null;
  }
  const listen = unixPath(address);
  if (!listen || dirname(listen) !== socketDir || !existsSync(recordPath(listen))) return null;
  let record: ProxyRecord;
  try {
    record = JSON.parse(readFileSync(recordPath(listen), 'utf8')) as ProxyRecord;
  } catch {
    return null;
  }
  if (record.listen !== listen || !Number.isInteger(record.pid) || record.pid <= 1) return null;
  if (await canConnect(record.upstream, CONNECT_TIMEOUT_MS)) return null; // the real shim still serves other containers
  // Signal only our own proxy: its command line names this socket.
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
  } catch {
    return null;
  }
  if (!cmdline.split('\0').includes(listen) || !cmdline.includes('serve')) return null;
  process.kill(record.pid, 'SIGTERM');
  return `stopped proxy ${record.pid} (${listen})`;
}

export function runDelete(ctx: StartContext, bundle: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(ctx.realShim, ctx.argv, { cwd: ctx.cwd, env: ctx.env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      reapProxy(bundle, ctx.socketDir)
        .catch(() => null)
        .then(() => resolve(code ?? (signal ? 128 : 1)));
    });
  });
}
