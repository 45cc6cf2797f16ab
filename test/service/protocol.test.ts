// The launcher ⇄ service frame format: what the C launcher writes and reads, byte for byte.
import t from 'tap';
import { decodeReply, decodeRequest, encodeReply, encodeRequest, MAX_FRAME, PROTOCOL, ProtocolError, takeFrame } from '../../src/service/protocol.js';
import type { ServiceReply } from '../../src/service/protocol.js';

const bytes = (...strings: string[]) => {
  const body = Buffer.from(strings.map((s) => s + '\0').join(''));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
};

t.test('a request is a length-prefixed list of NUL-terminated strings, in launcher order', async (t) => {
  const request = { cwd: '/run/containerd/b', argv0: '/usr/bin/bulwark-runtime-strict', configEnv: '', stateDirEnv: '/run/x', args: ['--root', '/r', 'create', 'c1'] };
  const wire = encodeRequest(request);
  t.same(wire, bytes(PROTOCOL, '/run/containerd/b', '/usr/bin/bulwark-runtime-strict', '', '/run/x', '--root', '/r', 'create', 'c1'));
  const frame = takeFrame(wire)!;
  t.same(frame.rest.length, 0);
  t.same(decodeRequest(frame.strings), request, 'round trip');
  t.same(decodeRequest(takeFrame(encodeRequest({ ...request, args: [] }))!.strings).args, [], 'no runc arguments at all');
  t.same(decodeRequest(takeFrame(encodeRequest({ ...request, args: [''] }))!.strings).args, [''], 'an empty argument survives');
});

t.test('replies round-trip', async (t) => {
  const replies: ServiceReply[] = [
    { kind: 'exec', path: '/usr/sbin/runc', argv: ['/usr/sbin/runc', '--root', '/r', 'create', 'c1'] },
    { kind: 'exit', code: 1, message: 'bulwark: denied by profile baseline: x\n' },
    { kind: 'exit', code: 0, message: '' },
    { kind: 'cold', reason: 'features writes to the caller\'s stdout' },
  ];
  for (const r of replies) t.same(decodeReply(takeFrame(encodeReply(r))!.strings), r, r.kind);
  t.same(encodeReply(replies[0]!), bytes('exec', '/usr/sbin/runc', '/usr/sbin/runc', '--root', '/r', 'create', 'c1'), 'exec wire form');
});

t.test('takeFrame waits for whole frames and leaves what follows', async (t) => {
  const wire = Buffer.concat([bytes('a', 'b'), bytes('c')]);
  for (let cut = 0; cut < 8; cut++) t.equal(takeFrame(wire.subarray(0, cut)), null, `${cut} bytes: not yet`);
  const first = takeFrame(wire)!;
  t.same(first.strings, ['a', 'b']);
  t.same(takeFrame(first.rest)!.strings, ['c']);
});

t.test('malformed input is an error, never a guess', async (t) => {
  const huge = Buffer.alloc(4);
  huge.writeUInt32LE(MAX_FRAME + 1);
  const noNul = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('abc')]);
  const empty = Buffer.from([0, 0, 0, 0]);
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['length over the cap', () => takeFrame(huge), /exceeds/],
    ['body without a final NUL', () => takeFrame(noNul), /does not end with a NUL/],
    ['empty body', () => takeFrame(empty), /does not end with a NUL/],
    ['other protocol', () => decodeRequest(['bulwark/2', '/', 'a', '', '']), /unknown protocol/],
    ['missing fields', () => decodeRequest([PROTOCOL, '/', 'a']), /missing fields/],
    ['relative cwd', () => decodeRequest([PROTOCOL, 'tmp', 'a', '', '']), /not absolute/],
    ['NUL inside a string', () => encodeRequest({ cwd: '/', argv0: 'a\0b', configEnv: '', stateDirEnv: '', args: [] }), /NUL byte/],
    ['exec without argv', () => decodeReply(['exec', '/usr/sbin/runc']), /malformed reply/],
    ['exec of a relative path', () => decodeReply(['exec', 'runc', 'runc']), /malformed reply/],
    ['exit code not a number', () => decodeReply(['exit', 'one', 'x']), /malformed reply/],
    ['exit without message', () => decodeReply(['exit', '1']), /malformed reply/],
    ['unknown kind', () => decodeReply(['run', 'x']), /malformed reply/],
  ];
  for (const [name, fn, message] of cases) t.throws(fn, { name: ProtocolError.name, message }, name);
});
