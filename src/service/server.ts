// The warm policy service: the same engine as the cold path, kept loaded in one long-lived
// process, so a `create` costs the policy work (about a millisecond) instead of a Node start
// (hundreds). The native launcher connects to <stateDir>/engine.sock, sends its argv and cwd,
// and gets back what to do: exec the runtime itself (so containerd's descriptors, pid and
// signals are untouched), exit with Bulwark's error, or run the call cold. The service never
// execs anything and never touches the caller's stdio.
//
// Safety: the socket lives in the root-only state directory with mode 0600, and every peer is
// checked with SO_PEERCRED (root or the service's own uid). A caller whose Bulwark config or
// state directory differs from the service's is sent to the cold path, as is any call that
// needs the caller's stdin or stdout. If the service is down, or dies mid-call, the launcher
// runs the cold engine: slower, never unhardened.
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { canConnect, listenOwnerOnly } from '../net/unix-socket.js';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { dirname } from 'node:path';
import { parseRuncArgs } from '../cli/runc-args.js';
import type { NativeAddon, PeerCredentials } from '../native/index.js';
import { collectForConfig } from '../runtime/gc.js';
import { writeDefaultRuntime } from '../runtime/records.js';
import { chooseRuntime } from '../runtime/select-runtime.js';
import { Engine } from '../runtime/engine.js';
import type { Outcome } from '../runtime/engine.js';
import { cachingLoaders } from './cache.js';
import { UserNamespacePool } from './userns-pool.js';
import { blockMappings } from '../passes/user-namespace.js';
import { blockRange, nodeAllocator } from '../state/ids.js';
import { decodeRequest, encodeReply, serviceSocketPath, takeFrame } from './protocol.js';
import type { ServiceReply, ServiceRequest } from './protocol.js';

/** Subcommands that make a container: the service collects garbage soon after one. */
const CREATES: ReadonlySet<string> = new Set(['create', 'run', 'restore']);

/** A caller that has not sent its request by then is dropped. */
const REQUEST_DEADLINE_MS = 10_000;
/**
 * Garbage collection runs off the hot path: after a create (at most this often), and on this
 * period anyway, since deletes pass straight from the launcher to the runtime and never reach us.
 */
const GC_INTERVAL_MS = 30_000;
/** How long after a create's reply the next pod's user namespace is made (userns-pool.ts). */
const USERNS_PREPARE_DELAY_MS = 100;

export type ServiceNative = Pick<NativeAddon, 'peerCredentials'> & ConstructorParameters<typeof Engine>[0]['native'];

export interface ServiceOptions {
  native: ServiceNative;
  /** The environment the service was started with: its BULWARK_CONFIG and BULWARK_STATE_DIR. */
  env: NodeJS.ProcessEnv;
  /** Default <stateDir>/engine.sock. */
  socketPath?: string;
  /** A listening descriptor handed over by systemd (LISTEN_FDS), instead of binding a path. */
  listenFd?: number;
  /** One line per notable event (start, refused peers, GC problems). */
  log: (line: string) => void;
  now?: () => Date;
}

export interface RunningService {
  socketPath: string | null;
  server: Server;
  stats: { served: number; cold: number; refused: number; errors: number; cacheHits: number; cacheMisses: number; usernsHandedOut: number; usernsMadeOnDemand: number };
  close(): Promise<void>;
}

/** The descriptor behind a connected net.Socket (libuv's pipe handle exposes it on Linux). */
function socketFd(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** Remove a stale socket file from an earlier run; refuse to replace anything else. */
async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new Error(`bulwark: ${path} exists and is not a socket; refusing to replace it`);
  if (await canConnect(path)) throw new Error(`bulwark: a service is already listening on ${path}`);
  unlinkSync(path);
}

export async function startService(opts: ServiceOptions): Promise<RunningService> {
  const now = opts.now ?? (() => new Date());
  const loaders = cachingLoaders();
  // A plain copy: process.env is a native proxy, and reading all of it costs ~0.3 ms per call.
  const env: NodeJS.ProcessEnv = { ...opts.env };
  const config = loaders.config(env); // a broken config stops the service from starting
  const socketPath = opts.listenFd === undefined ? opts.socketPath ?? serviceSocketPath(config.stateDir) : null;
  try {
    // The launcher routes calls for containers it has no record of (list, spec, --version) by
    // this file; without it, they go to the first runc found until the first create.
    writeDefaultRuntime(config.stateDir, chooseRuntime(config, undefined));
  } catch (e) {
    opts.log(`default runtime: ${(e as Error).message}`);
  }
  const stats = { served: 0, cold: 0, refused: 0, errors: 0 };
  const own = { config: env.BULWARK_CONFIG ?? '', stateDir: env.BULWARK_STATE_DIR ?? '' };
  const myUid = process.getuid?.() ?? 0;

  let lastGc = 0;
  let gcTimer: NodeJS.Timeout | null = null;
  const collect = () => {
    gcTimer = null;
    lastGc = Date.now();
    try {
      const current = loaders.config(env);
      const report = collectForConfig(current, opts.native.unmount ? { unmount: opts.native.unmount } : null);
      for (const p of report.problems) opts.log(`gc: ${p}`);
      writeDefaultRuntime(current.stateDir, chooseRuntime(current, undefined)); // served creates leave it to us
    } catch (e) {
      opts.log(`gc: ${(e as Error).message}`);
    }
  };
  // The next new pod's user namespace, made shortly after each create's reply (userns-pool.ts).
  const native = opts.native;
  const userns = native.createUserNamespace && native.closeFd
    ? new UserNamespacePool({ createUserNamespace: (u, g) => native.createUserNamespace!(u, g), closeFd: (fd) => native.closeFd!(fd) })
    : null;
  const engineNative: ServiceNative = userns ? { ...opts.native, createUserNamespace: (uidMap, gidMap) => userns.take(uidMap, gidMap) } : opts.native;
  const prepareNextUserns = () => {
    if (!userns) return;
    try {
      const current = loaders.config(env);
      const allocator = nodeAllocator(current, (configured) => loaders.idPool(configured));
      const next = allocator.nextFree();
      if (next === null) return;
      const map = blockMappings(blockRange(allocator.pool, next)); // what the userNamespace pass will write
      userns.prepare(map, map);
    } catch (e) {
      opts.log(`user namespace pool: ${(e as Error).message}`);
    }
  };

  /**
   * Off the hot path, after a create's reply: empty the young generation (when the service runs
   * with --expose-gc, as bin/bulwark serve and the systemd unit do), so that the next create's
   * allocations (~1 MB) fit in it and no scavenge lands inside a create; then make the next new
   * pod's user namespace.
   */
  let afterCreateTimer: NodeJS.Timeout | null = null;
  const afterCreate = () => {
    afterCreateTimer = null;
    (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc?.({ type: 'minor' });
    prepareNextUserns();
  };

  /** After a create: collect soon, but never more than once per interval, and after replying. */
  const scheduleGc = () => {
    if (gcTimer) return;
    gcTimer = setTimeout(collect, Math.max(0, lastGc + GC_INTERVAL_MS - Date.now()));
    gcTimer.unref();
  };

  async function answer(request: ServiceRequest, peer: PeerCredentials): Promise<ServiceReply> {
    if (request.configEnv !== own.config || request.stateDirEnv !== own.stateDir) {
      return { kind: 'cold', reason: 'the caller uses another Bulwark configuration than the service' };
    }
    const stderr: string[] = [];
    const engine = new Engine({
      native: engineNative,
      env,
      cwd: request.cwd,
      argv0: request.argv0,
      now,
      stderr: (text) => void stderr.push(text),
      stdout: () => {
        throw new Error('a served call cannot write to the caller\'s stdout');
      },
      capture: () => Promise.reject(new Error('a served call cannot run commands')),
      callerPid: peer.pid,
      served: true,
      loaders,
    });
    const outcome: Outcome = await engine.run(request.args);
    if (outcome.kind === 'exec') {
      if (CREATES.has(parseRuncArgs(request.args).command ?? '')) {
        scheduleGc();
        // Later than the reply: while the runtime starts this container, the machine is busy.
        // One pending at a time: a burst of creates gets one run, after its first.
        afterCreateTimer ??= setTimeout(afterCreate, USERNS_PREPARE_DELAY_MS).unref();
      }
      return { kind: 'exec', path: outcome.path, argv: outcome.argv };
    }
    if (outcome.kind === 'exit') return { kind: 'exit', code: outcome.code, message: stderr.join('') };
    return outcome;
  }

  function serve(socket: Socket): void {
    const fd = socketFd(socket);
    let peer: PeerCredentials;
    try {
      if (fd === null) throw new Error('no descriptor');
      peer = opts.native.peerCredentials(fd);
    } catch (e) {
      stats.refused++;
      opts.log(`refused a caller whose credentials cannot be read: ${(e as Error).message}`);
      socket.destroy();
      return;
    }
    // The peer's pid is how GC recognises a create in progress; 0 means it is outside our pid
    // namespace, and such a caller gets the cold path (which knows its own pid).
    if ((peer.uid !== 0 && peer.uid !== myUid) || peer.pid <= 0) {
      stats.refused++;
      opts.log(`refused pid ${peer.pid} uid ${peer.uid}: only root callers in this pid namespace are served`);
      socket.destroy();
      return;
    }
    let buf = Buffer.alloc(0);
    let handled = false;
    const deadline = setTimeout(() => socket.destroy(), REQUEST_DEADLINE_MS);
    socket.on('error', () => undefined); // a caller that went away; nothing to tell it
    socket.on('data', (chunk: Buffer) => {
      if (handled) return;
      buf = Buffer.concat([buf, chunk]);
      let request: ServiceRequest;
      try {
        const frame = takeFrame(buf);
        if (!frame) return; // more bytes to come
        request = decodeRequest(frame.strings);
      } catch (e) {
        handled = true;
        clearTimeout(deadline);
        stats.errors++;
        opts.log(`dropped a malformed request: ${(e as Error).message}`);
        socket.destroy();
        return;
      }
      handled = true;
      clearTimeout(deadline);
      answer(request, peer).then(
        (reply) => {
          if (reply.kind === 'cold') stats.cold++;
          else stats.served++;
          socket.end(encodeReply(reply));
        },
        (e: unknown) => {
          // The engine reports its own failures; reaching here is a bug. Fail closed.
          stats.errors++;
          const message = `bulwark: internal error in the policy service: ${e instanceof Error ? e.message : String(e)}\n`;
          opts.log(message.trim());
          socket.end(encodeReply({ kind: 'exit', code: 1, message }));
        },
      );
    });
  }

  const server = createServer({ allowHalfOpen: true }, serve);
  const periodicGc = setInterval(scheduleGc, GC_INTERVAL_MS);
  periodicGc.unref();
  if (socketPath) {
    mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
    await clearStaleSocket(socketPath);
    await listenOwnerOnly(server, socketPath);
  } else {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd: opts.listenFd! }, () => resolve());
    });
  }
  opts.log(`bulwark policy service listening on ${socketPath ?? `fd ${opts.listenFd}`} (state ${config.stateDir})`);

  return {
    socketPath,
    server,
    get stats() {
      return {
        ...stats, cacheHits: loaders.stats.hits, cacheMisses: loaders.stats.misses,
        usernsHandedOut: userns?.stats.handedOut ?? 0, usernsMadeOnDemand: userns?.stats.madeOnDemand ?? 0,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (gcTimer) clearTimeout(gcTimer);
        if (afterCreateTimer) clearTimeout(afterCreateTimer);
        clearInterval(periodicGc);
        userns?.close();
        server.close(() => resolve());
        if (socketPath) {
          try {
            unlinkSync(socketPath);
          } catch {
            // already gone
          }
        }
      }),
  };
}
