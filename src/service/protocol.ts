// The wire format between the native launcher (native/launcher.c) and the warm policy service.
// Pure: bytes in, values out. Both directions are one frame per connection:
//
//   frame   = length:uint32 little-endian, then `length` bytes of NUL-terminated strings
//   request = "bulwark/1" cwd argv0 BULWARK_CONFIG BULWARK_STATE_DIR runc-arg...
//             (the two env values as the launcher saw them, "" when unset)
//   reply   = "exec" path argv...        execve(path, argv) with the launcher's own environment
//           | "exit" code message        print message (may be "") to stderr, exit with code
//           | "cold" reason              run the call in-process (the cold Node engine)
//
// C can write and read this with a few lines and no parser, which is the point.

export const PROTOCOL = 'bulwark/1';

/** Where the launcher looks for the service (native/launcher.c: "%s/engine.sock"). */
export const SOCKET_NAME = 'engine.sock';
export const serviceSocketPath = (stateDir: string): string => `${stateDir}/${SOCKET_NAME}`;
/** Larger frames are refused: a runc argv is a few hundred bytes. */
export const MAX_FRAME = 1 << 20;

export interface ServiceRequest {
  cwd: string;
  argv0: string;
  /** BULWARK_CONFIG in the launcher's environment ("" when unset). */
  configEnv: string;
  /** BULWARK_STATE_DIR in the launcher's environment ("" when unset). */
  stateDirEnv: string;
  args: string[];
}

export type ServiceReply =
  | { kind: 'exec'; path: string; argv: string[] }
  | { kind: 'exit'; code: number; message: string }
  | { kind: 'cold'; reason: string };

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

function frame(strings: readonly string[]): Buffer {
  for (const s of strings) if (s.includes('\0')) throw new ProtocolError('a string contains a NUL byte');
  const body = Buffer.from(strings.map((s) => s + '\0').join(''), 'utf8');
  if (body.length > MAX_FRAME) throw new ProtocolError(`frame of ${body.length} bytes exceeds ${MAX_FRAME}`);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
}

/** The body's strings; the body must end with a NUL. */
function unframeBody(body: Buffer): string[] {
  if (body.length === 0 || body[body.length - 1] !== 0) throw new ProtocolError('frame does not end with a NUL');
  return body.subarray(0, body.length - 1).toString('utf8').split('\0');
}

/**
 * Split a complete frame off the front of `buf`: its strings and what follows, or null while
 * more bytes are needed. Throws on a length over MAX_FRAME (the connection is dropped).
 */
export function takeFrame(buf: Buffer): { strings: string[]; rest: Buffer } | null {
  if (buf.length < 4) return null;
  const length = buf.readUInt32LE(0);
  if (length > MAX_FRAME) throw new ProtocolError(`frame of ${length} bytes exceeds ${MAX_FRAME}`);
  if (buf.length < 4 + length) return null;
  return { strings: unframeBody(buf.subarray(4, 4 + length)), rest: buf.subarray(4 + length) };
}

export function encodeRequest(r: ServiceRequest): Buffer {
  return frame([PROTOCOL, r.cwd, r.argv0, r.configEnv, r.stateDirEnv, ...r.args]);
}

export function decodeRequest(strings: readonly string[]): ServiceRequest {
  if (strings[0] !== PROTOCOL) throw new ProtocolError(`unknown protocol ${JSON.stringify(strings[0] ?? '')}`);
  if (strings.length < 5) throw new ProtocolError('request is missing fields');
  const [, cwd, argv0, configEnv, stateDirEnv, ...args] = strings as [string, string, string, string, string, ...string[]];
  if (!cwd.startsWith('/')) throw new ProtocolError('request cwd is not absolute');
  return { cwd, argv0, configEnv, stateDirEnv, args };
}

export function encodeReply(r: ServiceReply): Buffer {
  switch (r.kind) {
    case 'exec':
      return frame(['exec', r.path, ...r.argv]);
    case 'exit':
      return frame(['exit', String(r.code), r.message]);
    case 'cold':
      return frame(['cold', r.reason]);
  }
}

export function decodeReply(strings: readonly string[]): ServiceReply {
  const [kind, a, ...rest] = strings;
  if (kind === 'exec' && a?.startsWith('/') && rest.length > 0) return { kind, path: a, argv: rest };
  if (kind === 'exit' && a !== undefined && /^[0-9]{1,3}$/.test(a) && rest.length === 1) return { kind, code: Number(a), message: rest[0]! };
  if (kind === 'cold' && a !== undefined && rest.length === 0) return { kind, reason: a };
  throw new ProtocolError(`malformed reply ${JSON.stringify(kind ?? '')}`);
}
