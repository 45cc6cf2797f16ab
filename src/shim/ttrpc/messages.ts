// ttrpc's envelope messages (containerd/ttrpc request.proto):
//   Request  { string service = 1; string method = 2; bytes payload = 3; int64 timeout_nano = 4;
//              repeated KeyValue metadata = 5; }      KeyValue { string key = 1; string value = 2; }
//   Response { google.rpc.Status status = 1; bytes payload = 2; }
//   google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
// A decoded Request keeps its fields, so the proxy can swap the payload and keep the rest (timeout,
// metadata, anything newer) byte for byte.
import type { Field } from './proto.js';
import { encodeMessage, getBytes, getRepeatedBytes, getString, getVarint, lenField, readFields, replaceField } from './proto.js';

export interface Request {
  service: string;
  method: string;
  payload: Uint8Array;
  timeoutNano: bigint;
  metadata: Array<{ key: string; value: string }>;
}

export interface DecodedRequest extends Request {
  readonly fields: readonly Field[];
}

export interface Status {
  code: number;
  message: string;
}

export interface Response {
  status: Status;
  payload: Uint8Array;
}

/** gRPC status codes used here (google.rpc.Code). */
export const Code = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
} as const;

export function decodeRequest(bytes: Uint8Array): DecodedRequest {
  const fields = readFields(bytes);
  const metadata = getRepeatedBytes(fields, 5).map((kv) => {
    const f = readFields(kv);
    return { key: getString(f, 1), value: getString(f, 2) };
  });
  return {
    fields,
    service: getString(fields, 1),
    method: getString(fields, 2),
    payload: getBytes(fields, 3) ?? new Uint8Array(0),
    timeoutNano: BigInt.asIntN(64, getVarint(fields, 4)),
    metadata,
  };
}

export function encodeRequest(r: Request): Uint8Array {
  return encodeMessage([
    [1, 'string', r.service],
    [2, 'string', r.method],
    [3, 'bytes', r.payload],
    [4, 'varint', r.timeoutNano],
    ...r.metadata.map((kv) => [5, 'message', encodeMessage([[1, 'string', kv.key], [2, 'string', kv.value]])] as const),
  ]);
}

/** The same request with another payload; every other field keeps its bytes. */
export function withPayload(request: DecodedRequest, payload: Uint8Array): Uint8Array {
  return replaceField(request.fields, 3, payload.length > 0 ? lenField(3, payload) : undefined);
}

export function encodeResponse(r: Response): Uint8Array {
  const status = encodeMessage([
    [1, 'varint', BigInt.asUintN(64, BigInt(r.status.code))],
    [2, 'string', r.status.message],
  ]);
  return encodeMessage([
    [1, 'message', status],
    [2, 'bytes', r.payload],
  ]);
}

export function decodeResponse(bytes: Uint8Array): Response {
  const fields = readFields(bytes);
  const status = getBytes(fields, 1);
  const statusFields = status ? readFields(status) : [];
  return {
    status: { code: Number(BigInt.asIntN(32, getVarint(statusFields, 1))), message: getString(statusFields, 2) },
    payload: getBytes(fields, 2) ?? new Uint8Array(0),
  };
}
