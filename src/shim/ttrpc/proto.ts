// A small protobuf wire codec: just enough to read a few fields of a message and to write the
// message back with some fields replaced and every other field (known or not) kept byte for byte.
// A message is read as a list of fields, each remembering its exact encoded bytes; nothing is
// interpreted until asked for. Groups (wire types 3 and 4) are deprecated and never used by ttrpc
// or containerd: they are refused as malformed.

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export class ProtoError extends Error {
  override name = 'ProtoError';
}

export interface Field {
  /** Field number. */
  readonly num: number;
  readonly wire: number;
  /** The whole field as encoded: tag, length prefix (LEN) and value. */
  readonly raw: Uint8Array;
  /** The value: the payload of a LEN field, the varint's bytes, or the 4/8 fixed bytes. */
  readonly value: Uint8Array;
}

/** Read a varint at `pos`; returns the value (bigint: a varint carries up to 64 bits) and the next position. */
export function readVarint(buf: Uint8Array, pos: number): { value: bigint; next: number } {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= buf.length) throw new ProtoError('truncated varint');
    const byte = buf[pos + i]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) {
      if (i === 9 && byte > 1) throw new ProtoError('varint overflows 64 bits');
      return { value: result, next: pos + i + 1 };
    }
    shift += 7n;
  }
  throw new ProtoError('varint longer than 10 bytes');
}

export function encodeVarint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

/** Split a message into its fields, in wire order. Throws ProtoError on anything malformed. */
export function readFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const tag = readVarint(buf, pos);
    pos = tag.next;
    if (tag.value > 0xffffffffn) throw new ProtoError('tag out of range');
    const num = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    if (num === 0) throw new ProtoError('field number 0');
    let valueStart = pos;
    let valueEnd: number;
    switch (wire) {
      case WIRE_VARINT:
        valueEnd = readVarint(buf, pos).next;
        break;
      case WIRE_I64:
        valueEnd = pos + 8;
        break;
      case WIRE_I32:
        valueEnd = pos + 4;
        break;
      case WIRE_LEN: {
        const len = readVarint(buf, pos);
        if (len.value > BigInt(buf.length - len.next)) throw new ProtoError(`field ${num}: length ${len.value} runs past the message end`);
        valueStart = len.next;
        valueEnd = len.next + Number(len.value);
        break;
      }
      default:
        throw new ProtoError(`field ${num}: unsupported wire type ${wire}`);
    }
    if (valueEnd > buf.length) throw new ProtoError(`field ${num}: truncated`);
    pos = valueEnd;
    fields.push({ num, wire, raw: buf.subarray(start, pos), value: buf.subarray(valueStart, valueEnd) });
  }
  return fields;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** The last occurrence wins for a singular field (protobuf's merge rule). */
function lastField(fields: readonly Field[], num: number, wire: number): Field | undefined {
  let found: Field | undefined;
  for (const f of fields) {
    if (f.num !== num) continue;
    if (f.wire !== wire) throw new ProtoError(`field ${num}: wire type ${f.wire}, expected ${wire}`);
    found = f;
  }
  return found;
}

export function getString(fields: readonly Field[], num: number): string {
  const f = lastField(fields, num, WIRE_LEN);
  if (!f) return '';
  try {
    return utf8.decode(f.value);
  } catch {
    throw new ProtoError(`field ${num}: not valid UTF-8`);
  }
}

export function getBytes(fields: readonly Field[], num: number): Uint8Array | undefined {
  return lastField(fields, num, WIRE_LEN)?.value;
}

export function getVarint(fields: readonly Field[], num: number): bigint {
  const f = lastField(fields, num, WIRE_VARINT);
  return f ? readVarint(f.value, 0).value : 0n;
}

export function getRepeatedBytes(fields: readonly Field[], num: number): Uint8Array[] {
  return fields.filter((f) => f.num === num && f.wire === WIRE_LEN).map((f) => f.value);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function lenField(num: number, value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === 'string' ? utf8Encoder.encode(value) : value;
  return concat([encodeVarint((num << 3) | WIRE_LEN), encodeVarint(bytes.length), bytes]);
}

export function varintField(num: number, value: number | bigint | boolean): Uint8Array {
  return concat([encodeVarint((num << 3) | WIRE_VARINT), encodeVarint(typeof value === 'boolean' ? (value ? 1 : 0) : value)]);
}

/**
 * Write `fields` back with field `num` replaced by `replacement` (already encoded; omitted: the
 * field is dropped). Every occurrence of `num` goes; the replacement takes the place of the first
 * occurrence (or the end). All other fields keep their bytes and order.
 */
export function replaceField(fields: readonly Field[], num: number, replacement?: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let placed = replacement === undefined;
  for (const f of fields) {
    if (f.num !== num) {
      parts.push(f.raw);
    } else if (!placed) {
      parts.push(replacement!);
      placed = true;
    }
  }
  if (!placed) parts.push(replacement!);
  return concat(parts);
}

/** Encode a message from fields in the order given; undefined, '', empty bytes, 0 and false are proto3 defaults and left out. */
export function encodeMessage(fields: ReadonlyArray<readonly [number, 'string' | 'bytes' | 'varint' | 'message', unknown]>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [num, kind, value] of fields) {
    if (value === undefined || value === null) continue;
    switch (kind) {
      case 'string':
        if (value !== '') parts.push(lenField(num, String(value)));
        break;
      case 'bytes':
        if ((value as Uint8Array).length > 0) parts.push(lenField(num, value as Uint8Array));
        break;
      case 'message':
        // A present sub-message is written even when empty: its presence is the information.
        parts.push(lenField(num, value as Uint8Array));
        break;
      case 'varint':
        if (value !== 0 && value !== 0n && value !== false) parts.push(varintField(num, value as number | bigint | boolean));
        break;
    }
  }
  return concat(parts);
}

export { concat as concatBytes };
