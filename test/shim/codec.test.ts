// The ttrpc frame reader and the small protobuf codec: table tests on hand-made bytes, including
// malformed and oversized input, and the promise that re-encoding keeps unknown fields byte for byte.
import t from 'tap';
import { encodeFrame, FrameReader, HEADER_LENGTH, isOversized, MAX_MESSAGE_LENGTH, TYPE_DATA, TYPE_REQUEST } from '../../src/shim/ttrpc/frame.js';
import type { ReadEvent } from '../../src/shim/ttrpc/frame.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, withPayload } from '../../src/shim/ttrpc/messages.js';
import { encodeMessage, encodeVarint, getString, lenField, ProtoError, readFields, readVarint, replaceField } from '../../src/shim/ttrpc/proto.js';
import { decodeCreateTask, decodeExecProcess, PROCESS_TYPE_URL, withProcessSpec } from '../../src/shim/task.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

t.test('varints: known encodings both ways', async (t) => {
  const rows: Array<[bigint, string]> = [
    [0n, '00'], [1n, '01'], [127n, '7f'], [128n, '8001'], [300n, 'ac02'], [16384n, '808001'],
    [2n ** 32n, '8080808010'], [2n ** 64n - 1n, 'ffffffffffffffffff01'],
  ];
  for (const [value, enc] of rows) {
    t.equal(hex(encodeVarint(value)), enc, `encode ${value}`);
    t.same(readVarint(bytes(enc), 0), { value, next: enc.length / 2 }, `decode ${enc}`);
  }
  t.equal(hex(encodeVarint(-1n)), 'ffffffffffffffffff01', 'negative int64 is its two\'s complement');
});

t.test('malformed messages are refused with ProtoError, never a crash', async (t) => {
  const rows: Array<[string, string, RegExp]> = [
    ['truncated varint', '08', /truncated varint/],
    ['varint of 11 bytes', '08ffffffffffffffffffff01', /longer than 10 bytes/],
    ['varint overflowing 64 bits', '08ffffffffffffffffff02', /overflows 64 bits/],
    ['length past the end', '0a05616263', /runs past the message end/],
    ['huge length', '0affffffff0f', /runs past the message end/],
    ['field number 0', '0001', /field number 0/],
    ['group wire type', '0b', /unsupported wire type 3/],
    ['wire type 7', '0f', /unsupported wire type 7/],
    ['truncated fixed64', '0901020304', /truncated/],
    ['truncated fixed32', '0d0102', /truncated/],
  ];
  for (const [name, input, message] of rows) {
    t.throws(() => readFields(bytes(input)), { name: 'ProtoError', message }, name);
  }
  t.throws(() => getString(readFields(bytes('0a02c328')), 1), ProtoError, 'invalid UTF-8 in a string field');
  t.throws(() => getString(readFields(bytes('0801')), 1), /wire type 0, expected 2/, 'a string field sent as a varint');
});

t.test('request envelope: round trip, and a payload swap keeps every other field byte for byte', async (t) => {
  const req = { service: 'containerd.task.v2.Task', method: 'Exec', payload: bytes('0a0161'), timeoutNano: 5_000_000_000n, metadata: [{ key: 'k', value: 'v' }] };
  const encoded = encodeRequest(req);
  const decoded = decodeRequest(encoded);
  t.same({ ...decoded, fields: undefined }, { ...req, fields: undefined });

  // Unknown fields (99: varint, 100: string, 101: fixed32) and a second metadata entry around the payload.
  const unknown = [bytes('98060f'), lenField(100, 'future'), bytes('ad0601020304')];
  const withUnknown = new Uint8Array(Buffer.concat([...unknown.slice(0, 1), encoded, ...unknown.slice(1)]));
  const swapped = withPayload(decodeRequest(withUnknown), bytes('0a0162'));
  const fields = readFields(swapped);
  t.same(fields.map((f) => f.num), [99, 1, 2, 3, 4, 5, 100, 101], 'field order kept, payload in place');
  for (const u of unknown) t.ok(Buffer.from(swapped).includes(Buffer.from(u)), `unknown field ${hex(u)} kept byte for byte`);
  t.equal(hex(decodeRequest(swapped).payload), '0a0162');
  t.equal(decodeRequest(swapped).timeoutNano, 5_000_000_000n);
});

t.test('response: status code and message, negative codes, empty payload', async (t) => {
  for (const status of [{ code: 0, message: '' }, { code: 7, message: 'bulwark: denied' }, { code: -1, message: 'odd' }]) {
    const r = decodeResponse(encodeResponse({ status, payload: new Uint8Array(0) }));
    t.same(r.status, status);
    t.equal(r.payload.length, 0);
  }
  t.same(decodeResponse(new Uint8Array(0)).status, { code: 0, message: '' }, 'an empty response is OK');
});

t.test('replaceField: every occurrence goes, the replacement takes the first place', async (t) => {
  const msg = new Uint8Array(Buffer.concat([lenField(1, 'a'), lenField(7, 'x'), lenField(2, 'b'), lenField(7, 'y')]));
  const out = readFields(replaceField(readFields(msg), 7, lenField(7, 'z')));
  t.same(out.map((f) => [f.num, Buffer.from(f.value).toString()]), [[1, 'a'], [7, 'z'], [2, 'b']]);
  t.same(readFields(replaceField(readFields(msg), 7)).map((f) => f.num), [1, 2], 'dropped');
  t.same(readFields(replaceField(readFields(lenField(1, 'a')), 7, lenField(7, 'n'))).map((f) => f.num), [1, 7], 'appended');
});

t.test('task messages: Create fields, Exec spec swap with unknown fields kept', async (t) => {
  const create = encodeMessage([[1, 'string', 'c1'], [2, 'string', '/run/b/c1'], [4, 'varint', true], [10, 'message', bytes('0a0178')]]);
  t.same(decodeCreateTask(create), { id: 'c1', bundle: '/run/b/c1' });

  const typeUrl = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
  const any = new Uint8Array(Buffer.concat([lenField(1, typeUrl), lenField(2, '{"args":["sh"]}'), lenField(9, 'any-extra')]));
  const exec = new Uint8Array(Buffer.concat([lenField(1, 'c1'), lenField(2, 'e1'), bytes('1801'), lenField(7, any), lenField(42, 'exec-extra')]));
  const decoded = decodeExecProcess(exec);
  t.equal(decoded.id, 'c1');
  t.equal(decoded.execId, 'e1');
  t.equal(decoded.spec?.typeUrl, typeUrl);
  t.equal(Buffer.from(decoded.spec!.value).toString(), '{"args":["sh"]}');
  const out = withProcessSpec(decoded, new TextEncoder().encode('{"args":["sh"],"noNewPrivileges":true}'));
  const again = decodeExecProcess(out);
  t.equal(Buffer.from(again.spec!.value).toString(), '{"args":["sh"],"noNewPrivileges":true}');
  t.ok(Buffer.from(out).includes(Buffer.from(lenField(42, 'exec-extra'))), 'unknown exec field kept');
  t.ok(Buffer.from(out).includes(Buffer.from(lenField(9, 'any-extra'))), 'unknown Any field kept');
  t.ok(Buffer.from(out).includes(Buffer.from(bytes('1801'))), 'terminal kept');
  t.equal(decodeExecProcess(lenField(1, 'c1')).spec, undefined, 'no spec');

  for (const [url, ok] of [[typeUrl, true], ['opencontainers/runtime-spec/1/Process', true], ['types.containerd.io/opencontainers/runtime-spec/1/Spec', false], ['evil/opencontainers/runtime-spec/1/Process', false]] as const) {
    t.equal(PROCESS_TYPE_URL.test(url), ok, url);
  }
});

t.test('frames: header layout', async (t) => {
  const f = encodeFrame(0x01020304, TYPE_REQUEST, 0x05, bytes('aabb'));
  t.equal(hex(f), '00000002' + '01020304' + '01' + '05' + 'aabb');
  t.throws(() => encodeFrame(1, TYPE_REQUEST, 0, new Uint8Array(MAX_MESSAGE_LENGTH + 1)), RangeError, 'refuses to send an oversized message');
});

function feed(reader: FrameReader, chunks: Uint8Array[]): ReadEvent[] {
  return chunks.flatMap((c) => reader.push(c));
}

t.test('frame reader: frames split anywhere, several per chunk, empty payloads', async (t) => {
  const frames = [encodeFrame(1, TYPE_REQUEST, 0, bytes('0102')), encodeFrame(3, TYPE_DATA, 4, new Uint8Array(0)), encodeFrame(5, TYPE_REQUEST, 0, new Uint8Array(300).fill(7))];
  const all = new Uint8Array(Buffer.concat(frames));
  for (const size of [1, 3, 10, 11, 64, all.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += size) chunks.push(all.slice(i, i + size));
    const events = feed(new FrameReader(), chunks);
    t.same(events.map((e) => (isOversized(e) ? 'oversized' : [e.streamId, e.type, e.flags, e.payload.length])), [[1, 1, 0, 2], [3, 3, 4, 0], [5, 1, 0, 300]], `chunks of ${size}`);
    t.same(events.map((e) => (isOversized(e) ? '' : hex(e.raw))), frames.map(hex), `raw bytes kept (chunks of ${size})`);
  }
  const partial = new FrameReader();
  t.same(partial.push(all.slice(0, 11)), []);
  t.equal(partial.pending, 11, 'an incomplete frame is held');
});

t.test('frame reader: an oversized message is skipped and reported, the next frame still reads', async (t) => {
  const limit = 16;
  const big = encodeFrame(7, TYPE_REQUEST, 0, new Uint8Array(40).fill(9));
  const next = encodeFrame(9, TYPE_REQUEST, 0, bytes('0a00'));
  const rows: Array<[string, Uint8Array[]]> = [
    ['one chunk', [new Uint8Array(Buffer.concat([big, next]))]],
    ['header, then body in pieces', [big.slice(0, HEADER_LENGTH), big.slice(HEADER_LENGTH, 20), big.slice(20), next]],
    ['body and next frame together', [big.slice(0, 25), new Uint8Array(Buffer.concat([big.slice(25), next]))]],
  ];
  for (const [name, chunks] of rows) {
    const events = feed(new FrameReader(limit), chunks);
    t.same(events.map((e) => (isOversized(e) ? ['oversized', e.streamId, e.length] : ['frame', e.streamId])), [['oversized', 7, 40], ['frame', 9]], name);
  }
  // The real limit: a header announcing 4 MiB + 1 is skipped without buffering 4 MiB first.
  const reader = new FrameReader();
  const header = encodeFrame(11, TYPE_REQUEST, 0, new Uint8Array(0));
  new DataView(header.buffer).setUint32(0, MAX_MESSAGE_LENGTH + 1);
  const events = reader.push(header);
  t.same(events, [{ oversized: true, streamId: 11, type: TYPE_REQUEST, length: MAX_MESSAGE_LENGTH + 1 }]);
  t.equal(reader.pending, MAX_MESSAGE_LENGTH + 1, 'the body is being skipped, not stored');
});
