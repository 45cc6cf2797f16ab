// A unary ttrpc server on a unix socket, with the rules ttrpc's own server applies: client stream
// ids must be odd and increase, an oversized or undecodable request gets an error on its stream
// and the connection lives on, an unknown method is UNIMPLEMENTED. Enough for containerd's events
// endpoint in tests and for stand-in shims.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { encodeFrame, FrameReader, isOversized, MAX_MESSAGE_LENGTH, TYPE_REQUEST, TYPE_RESPONSE } from './frame.js';
import { Code, decodeRequest, encodeResponse } from './messages.js';
import type { Request, Status } from './messages.js';

export type Handler = (payload: Uint8Array, request: Request) => Uint8Array | Promise<Uint8Array>;

/** Throw this from a handler to answer with a given status. */
export class StatusError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export function errorResponseFrame(streamId: number, status: Status): Uint8Array {
  return encodeFrame(streamId, TYPE_RESPONSE, 0, encodeResponse({ status, payload: new Uint8Array(0) }));
}

export class TtrpcServer {
  private readonly handlers = new Map<string, Handler>();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((socket) => this.serve(socket));
  }

  register(service: string, method: string, handler: Handler): this {
    this.handlers.set(`${service}/${method}`, handler);
    return this;
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new FrameReader();
    let lastStream = 0;
    const fail = (id: number, code: number, message: string) => socket.write(errorResponseFrame(id, { code, message }));
    socket.on('data', (chunk: Buffer) => {
      for (const event of reader.push(chunk)) {
        if (isOversized(event)) {
          fail(event.streamId, Code.RESOURCE_EXHAUSTED, `message length ${event.length} exceed maximum message size of ${MAX_MESSAGE_LENGTH}`);
          continue;
        }
        if (event.streamId % 2 !== 1) {
          fail(event.streamId, Code.INVALID_ARGUMENT, 'StreamID must be odd for client initiated streams');
          continue;
        }
        if (event.type !== TYPE_REQUEST) continue;
        if (event.streamId <= lastStream) {
          fail(event.streamId, Code.INVALID_ARGUMENT, 'StreamID cannot be re-used and must increment');
          continue;
        }
        lastStream = event.streamId;
        let request: Request;
        try {
          request = decodeRequest(event.payload);
        } catch (e) {
          fail(event.streamId, Code.INVALID_ARGUMENT, `unmarshal request error: ${(e as Error).message}`);
          continue;
        }
        const handler = this.handlers.get(`${request.service}/${request.method}`);
        if (!handler) {
          fail(event.streamId, Code.UNIMPLEMENTED, `${request.service}/${request.method} not implemented`);
          continue;
        }
        const id = event.streamId;
        Promise.resolve()
          .then(() => handler(request.payload, request))
          .then(
            (payload) => socket.write(encodeFrame(id, TYPE_RESPONSE, 0, encodeResponse({ status: { code: Code.OK, message: '' }, payload }))),
            (err: unknown) => fail(id, err instanceof StatusError ? err.code : Code.UNKNOWN, (err as Error).message),
          )
          .catch(() => socket.destroy());
      }
    });
  }
}
