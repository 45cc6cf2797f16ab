// ttrpc framing (containerd/ttrpc PROTOCOL.md): every message is a 10-byte header — data length
// (uint32 big-endian, header excluded), stream id (uint32 big-endian; odd for client-initiated
// streams), message type (1 request, 2 response, 3 data), flags — followed by the data, at most
// 4 MiB. Like ttrpc's own reader, an oversized message is skipped (its bytes are read and thrown
// away, never buffered) and reported for its stream, so the connection survives it.

export const HEADER_LENGTH = 10;
export const MAX_MESSAGE_LENGTH = 4 << 20;

export const TYPE_REQUEST = 1;
export const TYPE_RESPONSE = 2;
export const TYPE_DATA = 3;

export const FLAG_REMOTE_CLOSED = 0x1;
export const FLAG_REMOTE_OPEN = 0x2;
export const FLAG_NO_DATA = 0x4;

export interface Frame {
  readonly streamId: number;
  readonly type: number;
  readonly flags: number;
  readonly payload: Uint8Array;
  /** Header and payload exactly as read, for forwarding unchanged. */
  readonly raw: Uint8Array;
}

/** A message the reader skipped because its length exceeds the maximum. */
export interface Oversized {
  readonly oversized: true;
  readonly streamId: number;
  readonly type: number;
  readonly length: number;
}

export type ReadEvent = Frame | Oversized;

export function isOversized(e: ReadEvent): e is Oversized {
  return 'oversized' in e;
}

export function encodeFrame(streamId: number, type: number, flags: number, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_MESSAGE_LENGTH) throw new RangeError(`ttrpc message of ${payload.length} bytes exceeds the maximum of ${MAX_MESSAGE_LENGTH}`);
  const out = new Uint8Array(HEADER_LENGTH + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, streamId >>> 0);
  out[8] = type;
  out[9] = flags;
  out.set(payload, HEADER_LENGTH);
  return out;
}

/**
 * Incremental frame reader: push() bytes as they arrive, get back every complete frame (and every
 * skipped oversized message) in order. Buffers at most one frame.
 */
export class FrameReader {
  private buffered: Uint8Array = new Uint8Array(0);
  /** Bytes of an oversized message still to be skipped. */
  private skipping = 0;

  constructor(private readonly maxLength: number = MAX_MESSAGE_LENGTH) {}

  push(chunk: Uint8Array): ReadEvent[] {
    const events: ReadEvent[] = [];
    let data = chunk;
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, data.length);
      this.skipping -= n;
      data = data.subarray(n);
    }
    if (this.buffered.length > 0) {
      const joined = new Uint8Array(this.buffered.length + data.length);
      joined.set(this.buffered);
      joined.set(data, this.buffered.length);
      data = joined;
    }
    let pos = 0;
    while (data.length - pos >= HEADER_LENGTH) {
      const view = new DataView(data.buffer, data.byteOffset + pos, HEADER_LENGTH);
      const length = view.getUint32(0);
      const streamId = view.getUint32(4);
      const type = data[pos + 8]!;
      const flags = data[pos + 9]!;
      if (length > this.maxLength) {
        events.push({ oversized: true, streamId, type, length });
        const available = data.length - pos - HEADER_LENGTH;
        const n = Math.min(length, available);
        pos += HEADER_LENGTH + n;
        this.skipping = length - n;
        continue;
      }
      if (data.length - pos - HEADER_LENGTH < length) break;
      // Copy: the caller may keep frames after the socket reuses its buffers.
      const raw = data.slice(pos, pos + HEADER_LENGTH + length);
      events.push({ streamId, type, flags, payload: raw.subarray(HEADER_LENGTH), raw });
      pos += HEADER_LENGTH + length;
    }
    this.buffered = pos === data.length ? new Uint8Array(0) : data.slice(pos);
    return events;
  }

  /** Bytes of an incomplete frame held back (for end-of-stream checks). */
  get pending(): number {
    return this.buffered.length + this.skipping;
  }
}
