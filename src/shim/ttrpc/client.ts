// A unary ttrpc client over a unix socket: what containerd does when it talks to a shim. Stream
// ids are odd and increase per connection (a ttrpc server refuses a reused or lower id).
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { encodeFrame, FrameReader, isOversized, TYPE_REQUEST, TYPE_RESPONSE } from './frame.js';
import { decodeResponse, encodeRequest } from './messages.js';
import type { Response } from './messages.js';

export class TtrpcError extends Error {
  override name = 'TtrpcError';
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** `unix:///path` or a plain path -> the socket path. */
export function socketPath(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}

export class TtrpcClient {
  private nextStream = 1;
  private readonly pending = new Map<number, { resolve: (r: Response) => void; reject: (e: Error) => void }>();
  private readonly reader = new FrameReader();
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const event of this.reader.push(chunk)) {
        if (isOversized(event) || event.type !== TYPE_RESPONSE) continue;
        const waiter = this.pending.get(event.streamId);
        if (!waiter) continue;
        this.pending.delete(event.streamId);
        try {
          waiter.resolve(decodeResponse(event.payload));
        } catch (e) {
          waiter.reject(e as Error);
        }
      }
    });
    const fail = (err: Error) => {
      this.closedError ??= err;
      for (const w of this.pending.values()) w.reject(this.closedError);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('ttrpc: connection closed')));
  }

  static connect(address: string): Promise<TtrpcClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath(address));
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new TtrpcClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** One unary call; resolves with the whole Response (a non-OK status included). */
  send(service: string, method: string, payload: Uint8Array, timeoutNano = 0n): Promise<Response> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextStream;
    this.nextStream += 2;
    const frame = encodeFrame(id, TYPE_REQUEST, 0, encodeRequest({ service, method, payload, timeoutNano, metadata: [] }));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(frame);
    });
  }

  /** One unary call; a non-OK status becomes a TtrpcError. */
  async call(service: string, method: string, payload: Uint8Array, timeoutNano = 0n): Promise<Uint8Array> {
    const r = await this.send(service, method, payload, timeoutNano);
    if (r.status.code !== 0) throw new TtrpcError(r.status.code, r.status.message);
    return r.payload;
  }

  /** Write raw bytes (tests: malformed and hand-made frames). */
  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Wait for the response on a stream the caller opened with writeRaw. */
  expect(streamId: number): Promise<Response> {
    return new Promise((resolve, reject) => this.pending.set(streamId, { resolve, reject }));
  }

  close(): void {
    this.socket.destroy();
  }

  get closed(): boolean {
    return this.closedError !== null;
  }
}
