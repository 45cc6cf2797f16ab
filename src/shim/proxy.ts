// The resident shim proxy: containerd connects here instead of to the real shim's socket. Every
// connection gets its own connection to the real shim and frames go across unchanged, stream ids
// included, except two task requests (containerd.task.v2.Task and v3):
//   Create — the bundle's config.json is hardened in place before the real shim sees the request;
//            a refusal is answered here with Bulwark's message and never forwarded.
//   Exec   — the runtime-spec Process in ExecProcessRequest.spec is replaced by its hardened form;
//   Update — the LinuxResources in UpdateTaskRequest.resources are clamped to the profile's ceilings.
// Requests from one connection are forwarded in arrival order, so a request that waits for
// hardening holds back the ones behind it: ttrpc servers refuse a stream id lower than one they
// have seen, and reordering would break that. Anything the proxy cannot decode where it must
// decide (the request envelope, a Create or Exec) is refused, never forwarded: fail closed.
// The proxy lives as long as the real shim: a watch connection to it closing ends the proxy.
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { listenOwnerOnly } from '../net/unix-socket.js';
import { encodeFrame, FrameReader, isOversized, MAX_MESSAGE_LENGTH, TYPE_REQUEST } from './ttrpc/frame.js';
import type { Frame } from './ttrpc/frame.js';
import { Code, decodeRequest, withPayload } from './ttrpc/messages.js';
import type { Status } from './ttrpc/messages.js';
import { errorResponseFrame } from './ttrpc/server.js';
import { decodeCreateTask, decodeExecProcess, decodeUpdateTask, PROCESS_TYPE_URL, RESOURCES_TYPE_URL, TASK_SERVICES, withProcessSpec, withResources } from './task.js';

export type Verdict<T = void> = { ok: true; value: T } | { ok: false; message: string };

export interface Hardener {
  /** Harden <bundle>/config.json in place. */
  create(id: string, bundle: string): Promise<Verdict>;
  /** Harden one runtime-spec Process (JSON) for an exec into container `id`. */
  exec(id: string, bundle: string, processJson: Uint8Array): Promise<Verdict<Uint8Array>>;
  /** Clamp a LinuxResources update (JSON) of container `id`; absent: such updates are refused. */
  update?(id: string, bundle: string, resourcesJson: Uint8Array): Promise<Verdict<Uint8Array>>;
}

export interface ProxyOptions {
  /** Where the proxy listens (a unix socket path; created with mode 0600). */
  listenPath: string;
  /** The real shim's socket path. */
  upstreamPath: string;
  hardener: Hardener;
  /** The bundle of a container whose Create this proxy did not see (e.g. created before a restart). */
  bundleFor: (id: string) => string;
  log?: (line: string) => void;
}

/** What to do with one request frame: forward these bytes, or answer with this status. */
export type Decision = { forward: Uint8Array } | { refuse: Status };

/** The part of the proxy that looks into requests: pure apart from the hardener it is given. */
export class RequestGate {
  /** Container id -> bundle, learnt from the Creates seen. */
  private readonly bundles = new Map<string, string>();

  constructor(private readonly hardener: Hardener, private readonly bundleFor: (id: string) => string, private readonly log: (line: string) => void = () => {}) {}

  async decide(frame: Frame): Promise<Decision> {
    if (frame.type !== TYPE_REQUEST) return { forward: frame.raw };
    let request;
    try {
      request = decodeRequest(frame.payload);
    } catch (e) {
      return { refuse: { code: Code.INVALID_ARGUMENT, message: `bulwark: shim proxy cannot decode the request: ${(e as Error).message}` } };
    }
    if (!TASK_SERVICES.has(request.service)) return { forward: frame.raw };
    try {
      if (request.method === 'Create') return await this.create(frame, request.payload);
      if (request.method === 'Exec' || request.method === 'Update') {
        const payload = request.method === 'Exec' ? await this.exec(request.payload) : await this.update(request.payload);
        if ('refuse' in payload) return payload;
        if (payload.forward === request.payload) return { forward: frame.raw };
        return { forward: encodeFrame(frame.streamId, frame.type, frame.flags, withPayload(request, payload.forward)) };
      }
    } catch (e) {
      return { refuse: { code: Code.INVALID_ARGUMENT, message: `bulwark: shim proxy cannot decode ${request.service}/${request.method}: ${(e as Error).message}` } };
    }
    return { forward: frame.raw };
  }

  private async create(frame: Frame, payload: Uint8Array): Promise<Decision> {
    const { id, bundle } = decodeCreateTask(payload);
    if (!id || !bundle.startsWith('/')) return { refuse: { code: Code.INVALID_ARGUMENT, message: `bulwark: Create needs an id and an absolute bundle path (id "${id}", bundle "${bundle}")` } };
    const verdict = await this.hardener.create(id, bundle);
    if (!verdict.ok) {
      this.log(`create ${id}: refused: ${verdict.message}`);
      return { refuse: { code: Code.PERMISSION_DENIED, message: verdict.message } };
    }
    this.bundles.set(id, bundle);
    return { forward: frame.raw };
  }

  /** Returns the new ExecProcessRequest payload as `forward`. */
  private async exec(payload: Uint8Array): Promise<Decision> {
    const exec = decodeExecProcess(payload);
    if (!exec.spec) return { refuse: { code: Code.INVALID_ARGUMENT, message: `bulwark: Exec ${exec.execId} in ${exec.id} has no process spec` } };
    if (!PROCESS_TYPE_URL.test(exec.spec.typeUrl)) {
      return { refuse: { code: Code.INVALID_ARGUMENT, message: `bulwark: Exec ${exec.execId} in ${exec.id}: process spec of unknown type "${exec.spec.typeUrl}"` } };
    }
    const bundle = this.bundles.get(exec.id) ?? this.bundleFor(exec.id);
    const verdict = await this.hardener.exec(exec.id, bundle, exec.spec.value);
    if (!verdict.ok) {
      this.log(`exec ${exec.execId} in ${exec.id}: refused: ${verdict.message}`);
      return { refuse: { code: Code.PERMISSION_DENIED, message: verdict.message } };
    }
    return { forward: withProcessSpec(exec, verdict.value) };
  }

  /**
   * Returns the new UpdateTaskRequest payload as `forward`: the resources clamped to the
   * profile's ceilings. runc under the runc shim is clamped again by Bulwark's `runc update`;
   * Kata applies updates itself, so this is the only check it gets.
   */
  private async update(payload: Uint8Array): Promise<Decision> {
    const update = decodeUpdateTask(payload);
    if (!update.resources) return { forward: payload }; // annotations only
    if (!RESOURCES_TYPE_URL.test(update.resources.typeUrl)) {
      return { refuse: { code: Code.INVALID_ARGUMENT, message: `bulwark: Update of ${update.id}: resources of unknown type "${update.resources.typeUrl}"` } };
    }
    if (!this.hardener.update) return { refuse: { code: Code.PERMISSION_DENIED, message: `bulwark: Update of ${update.id}: this proxy cannot check resource updates` } };
    const bundle = this.bundles.get(update.id) ?? this.bundleFor(update.id);
    const verdict = await this.hardener.update(update.id, bundle, update.resources.value);
    if (!verdict.ok) {
      this.log(`update ${update.id}: refused: ${verdict.message}`);
      return { refuse: { code: Code.PERMISSION_DENIED, message: verdict.message } };
    }
    return { forward: withResources(update, verdict.value) };
  }

  forget(id: string): void {
    this.bundles.delete(id);
  }
}

/** Relay one accepted connection to the real shim through the gate. */
export function relay(client: Socket, upstreamPath: string, gate: RequestGate, log: (line: string) => void): void {
  const upstream = connect(upstreamPath);
  const fromClient = new FrameReader();
  const fromUpstream = new FrameReader();
  let queue: Promise<void> = Promise.resolve();
  const closeBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  // Backpressure both ways: stop reading a side while the other cannot take more.
  const pipe = (from: Socket, to: Socket, bytes: Uint8Array) => {
    if (!to.write(bytes)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  };

  client.on('data', (chunk: Buffer) => {
    for (const event of fromClient.push(chunk)) {
      if (isOversized(event)) {
        // ttrpc's own answer to an oversized message, on its stream; the bytes were skipped.
        const status = { code: Code.RESOURCE_EXHAUSTED, message: `message length ${event.length} exceed maximum message size of ${MAX_MESSAGE_LENGTH}` };
        queue = queue.then(() => void client.write(errorResponseFrame(event.streamId, status)));
        continue;
      }
      queue = queue.then(async () => {
        const decision = await gate.decide(event);
        if ('forward' in decision) pipe(client, upstream, decision.forward);
        else if (!client.destroyed) client.write(errorResponseFrame(event.streamId, decision.refuse));
      }).catch((e: unknown) => {
        log(`relay: ${(e as Error).message}`);
        closeBoth();
      });
    }
  });
  upstream.on('data', (chunk: Buffer) => {
    for (const event of fromUpstream.push(chunk)) {
      if (isOversized(event)) {
        log(`relay: the real shim sent an oversized message (${event.length} bytes); closing the connection`);
        closeBoth();
        return;
      }
      pipe(upstream, client, event.raw);
    }
  });
  client.on('error', closeBoth);
  upstream.on('error', (e) => {
    log(`relay: real shim connection: ${e.message}`);
    closeBoth();
  });
  // Half-close travels on once every queued request has gone out.
  client.on('end', () => void queue.then(() => upstream.end()));
  upstream.on('end', () => client.end());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
}

export class ShimProxy {
  private server: Server | null = null;
  private watch: Socket | null = null;
  private readonly gate: RequestGate;
  private readonly log: (line: string) => void;
  private stopped = false;
  /** Resolves when the proxy has stopped (the real shim went away, or stop()). */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly options: ProxyOptions) {
    this.log = options.log ?? (() => {});
    this.gate = new RequestGate(options.hardener, options.bundleFor, this.log);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Connect the watch connection to the real shim, then listen. */
  async start(): Promise<void> {
    this.watch = await new Promise<Socket>((resolve, reject) => {
      const s = connect(this.options.upstreamPath);
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    // The real shim never writes on an idle connection; its end means the shim exited.
    this.watch.on('data', () => {});
    this.watch.on('error', () => {});
    this.watch.on('close', () => {
      this.log('the real shim closed its socket; stopping');
      void this.stop();
    });
    const server = createServer((client) => relay(client, this.options.upstreamPath, this.gate, this.log));
    this.server = server;
    // Nobody but root may ever reach the real shim through us.
    await listenOwnerOnly(server, this.options.listenPath);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.watch?.destroy();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // close() waits for open connections; they end with the real shim anyway.
        setTimeout(resolve, 2000).unref();
      });
    }
    rmSync(this.options.listenPath, { force: true });
    this.resolveDone();
  }
}
