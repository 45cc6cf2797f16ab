// A policy service for the warm variants (lib/variants.ts): started here, in the foreground of its
// own process, stopped by its pid. Its output goes to a file, not a pipe: the benchmark blocks its
// event loop in spawnSync for every sample, and a service writing into a full pipe would stall.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunningService {
  pid: number;
  socket: string;
  stop(): Promise<void>;
}

const isSocket = (path: string): boolean => {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
};

const accepts = (socket: string): Promise<boolean> => new Promise((resolve) => {
  const conn = createConnection(socket);
  conn.once('connect', () => {
    conn.destroy();
    resolve(true);
  });
  conn.once('error', () => resolve(false));
});

const tail = (file: string): string => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '';
  }
};

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  return Promise.race([exited, sleep(ms).then(() => false)]);
}

/**
 * Start `bin argv...` and wait until it accepts connections on `socket`. Returns the service, or
 * the reason it is not there (it exited, or did not listen within `timeoutMs`; then it is stopped).
 */
export async function startService(bin: string, argv: string[], env: NodeJS.ProcessEnv, socket: string, logFile: string, timeoutMs = 20_000): Promise<RunningService | string> {
  const log = openSync(logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(bin, argv, { env, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  const failed = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code, signal) => resolve(`exited ${signal ?? code}`));
  });
  const stop = async () => {
    if (child.pid === undefined) return;
    child.kill('SIGTERM');
    if (!(await waitExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const early = await Promise.race([failed, sleep(50).then(() => null)]);
    if (early !== null) return `\`${[bin, ...argv].join(' ')}\` ${early}${tail(logFile) ? `: ${tail(logFile)}` : ''}`;
    if (isSocket(socket) && (await accepts(socket))) return { pid: child.pid!, socket, stop };
    if (Date.now() > deadline) {
      await stop();
      return `\`${[bin, ...argv].join(' ')}\` did not listen on ${socket} within ${timeoutMs / 1000} s${tail(logFile) ? `: ${tail(logFile)}` : ''}`;
    }
  }
}
