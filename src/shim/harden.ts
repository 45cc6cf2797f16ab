// The proxy's Hardener: runs Bulwark's own CLI, which owns all policy.
//   bulwark harden --bundle DIR --id ID [--profile P]            config.json hardened in place
//   bulwark harden-process --bundle DIR [--profile P]            process JSON on stdin -> hardened JSON on stdout
//   bulwark harden-resources --bundle DIR [--profile P]          LinuxResources JSON on stdin -> clamped JSON on stdout
// Exit 0 means done; anything else is a refusal whose message is the `bulwark: ...` line on
// stderr. A command that cannot be run, hangs or dies by a signal is a refusal too (fail closed).
import { spawn } from 'node:child_process';
import type { Hardener, Verdict } from './proxy.js';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  error?: Error;
}

export type RunCommand = (file: string, args: string[], stdin: Uint8Array | null, timeoutMs: number) => Promise<CommandResult>;

/** Run a command, collecting its output; never rejects. */
export const runCommand: RunCommand = (file, args, stdin, timeoutMs) =>
  new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? undefined);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), ...(spawnError ? { error: spawnError } : {}) }));
  });

/** The refusal message of a failed run: Bulwark's own line when there is one. */
export function refusalMessage(what: string, r: CommandResult): string {
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const own = lines.find((l) => l.startsWith('bulwark: '));
  if (own) return own;
  if (r.error) return `bulwark: ${what}: ${r.error.message}`;
  if (r.signal) return `bulwark: ${what} was killed by ${r.signal}${r.signal === 'SIGKILL' ? ' (timed out?)' : ''}`;
  const detail = lines.at(-1);
  return `bulwark: ${what} failed (exit ${r.code})${detail ? `: ${detail}` : ''}`;
}

export interface CliHardenerOptions {
  /** bin/bulwark. */
  bulwark: string;
  /** Profile from the shim's name; null: the node's default (no --profile). */
  profile: string | null;
  timeoutMs?: number;
  run?: RunCommand;
}

export function cliHardener(o: CliHardenerOptions): Hardener {
  const run = o.run ?? runCommand;
  const timeout = o.timeoutMs ?? 60_000;
  const profileArgs = o.profile ? ['--profile', o.profile] : [];
  return {
    async create(id, bundle): Promise<Verdict> {
      const r = await run(o.bulwark, ['harden', '--bundle', bundle, '--id', id, ...profileArgs], null, timeout);
      if (r.code === 0 && !r.error) return { ok: true, value: undefined };
      return { ok: false, message: refusalMessage(`harden ${id}`, r) };
    },
    async exec(id, bundle, processJson): Promise<Verdict<Uint8Array>> {
      const r = await run(o.bulwark, ['harden-process', '--bundle', bundle, ...profileArgs], processJson, timeout);
      if (r.code !== 0 || r.error) return { ok: false, message: refusalMessage(`harden-process ${id}`, r) };
      if (r.stdout.length === 0) return { ok: false, message: `bulwark: harden-process ${id} printed no process` };
      return { ok: true, value: new Uint8Array(r.stdout) };
    },
    async update(id, bundle, resourcesJson): Promise<Verdict<Uint8Array>> {
      const r = await run(o.bulwark, ['harden-resources', '--bundle', bundle, ...profileArgs], resourcesJson, timeout);
      if (r.code !== 0 || r.error) return { ok: false, message: refusalMessage(`harden-resources ${id}`, r) };
      if (r.stdout.length === 0) return { ok: false, message: `bulwark: harden-resources ${id} printed no resources` };
      return { ok: true, value: new Uint8Array(r.stdout) };
    },
  };
}
