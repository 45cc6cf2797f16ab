// Entry of the shim proxy (bin/containerd-shim-bulwark-v2 execs it in proxy mode):
//   main.js <shim argv...> start|delete     containerd's shim actions (see start.ts)
//   main.js serve --listen P --upstream P --bundle-root D [--profile P]   the resident proxy
// The script has already chosen the real shim (BULWARK_SHIM_REAL) and the profile
// (BULWARK_SHIM_PROFILE, empty for the node's default). `serve` imports only the proxy, the
// ttrpc codec and node's own modules, to stay small for its whole life.
import { appendFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const installRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

function logger(env: NodeJS.ProcessEnv): (line: string) => void {
  const file = env.BULWARK_SHIM_LOG;
  if (!file) return () => {};
  return (line) => {
    try {
      appendFileSync(file, `${new Date().toISOString()} bulwark-shim[${process.pid}] ${line}\n`);
    } catch {
      // logging must never take the proxy down
    }
  };
}

function option(args: string[], name: string): string | null {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : null;
}

async function serve(args: string[]): Promise<number> {
  const log = logger(process.env);
  // fd 3 is the pipe `start` waits on: one line, "ready" or "error: ...".
  const say = (line: string) => {
    try {
      writeSync(3, `${line}\n`);
      closeSync(3);
    } catch {
      // started by hand, without the pipe
    }
  };
  const listen = option(args, '--listen');
  const upstream = option(args, '--upstream');
  const bundleRoot = option(args, '--bundle-root');
  if (!listen || !upstream || !bundleRoot) {
    say('error: serve needs --listen, --upstream and --bundle-root');
    return 2;
  }
  const { ShimProxy } = await import('./proxy.js');
  const { cliHardener } = await import('./harden.js');
  const { recordPath, CONNECT_TIMEOUT_MS } = await import('./socket.js');
  const { canConnect } = await import('../net/unix-socket.js');
  const hardener = cliHardener({ bulwark: process.env.BULWARK_SHIM_CLI || join(installRoot, 'bin', 'bulwark'), profile: option(args, '--profile') });
  const proxy = new ShimProxy({ listenPath: listen, upstreamPath: upstream, hardener, bundleFor: (id) => join(bundleRoot, id), log });
  // A socket file nobody answers on is a dead proxy's: take its place. A live one wins.
  if (await canConnect(listen, CONNECT_TIMEOUT_MS)) {
    say('ready');
    return 0;
  }
  rmSync(listen, { force: true });
  try {
    await proxy.start();
  } catch (e) {
    say(`error: cannot serve ${listen} for ${upstream}: ${(e as Error).message}`);
    return 1;
  }
  writeFileSync(recordPath(listen), JSON.stringify({ pid: process.pid, listen, upstream }), { mode: 0o600 });
  log(`serving ${listen} -> ${upstream}`);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void proxy.stop());
  process.on('SIGPIPE', () => {});
  say('ready');
  await proxy.done;
  rmSync(recordPath(listen), { force: true });
  log('stopped');
  return 0;
}

async function shimAction(argv: string[]): Promise<number> {
  const env = process.env;
  const realShim = env.BULWARK_SHIM_REAL;
  if (!realShim) {
    process.stderr.write('bulwark: BULWARK_SHIM_REAL is not set (run through bin/containerd-shim-bulwark-v2)\n');
    return 1;
  }
  const { parseShimArgs } = await import('./bootstrap.js');
  const { runStart, runDelete } = await import('./start.js');
  let socketDir = env.BULWARK_SHIM_SOCKET_DIR;
  if (!socketDir) {
    try {
      const { loadConfig } = await import('../host/config.js');
      socketDir = join(loadConfig(env).stateDir, 'shim');
    } catch (e) {
      process.stderr.write(`bulwark: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const parsed = parseShimArgs(argv);
  const ctx = {
    argv,
    realShim,
    profile: env.BULWARK_SHIM_PROFILE || null,
    socketDir,
    cwd: process.cwd(),
    entry: fileURLToPath(import.meta.url),
    node: process.execPath,
    env,
    stdout: (text: string) => void process.stdout.write(text),
    stderr: (text: string) => void process.stderr.write(text),
  };
  if (parsed.action === 'start') return runStart(ctx);
  if (parsed.action === 'delete') return runDelete(ctx, parsed.flags.get('bundle') || process.cwd());
  process.stderr.write(`bulwark: shim proxy: unexpected action "${parsed.action}"\n`);
  return 1;
}

const argv = process.argv.slice(2);
const run = argv[0] === 'serve' ? serve(argv.slice(1)) : shimAction(argv);
run.then(
  (code) => {
    process.exitCode = code;
    // stdout may be a pipe containerd reads to its end: let it drain, then go.
    if (argv[0] !== 'serve') process.stdout.write('', () => process.exit(code));
    else process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`bulwark: shim: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
