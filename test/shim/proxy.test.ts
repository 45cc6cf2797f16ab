// The proxy between a ttrpc client (as containerd) and a ttrpc server (as the real shim), both
// real unix sockets; the hardener is a recording fake, so these tests need no root and no Bulwark
// CLI. integration/shim/ runs the real runc shim and the real `bulwark harden` behind it.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShimProxy } from '../../src/shim/proxy.js';
import type { Hardener, Verdict } from '../../src/shim/proxy.js';
import { decodeCreateTask, decodeExecProcess, decodeUpdateTask } from '../../src/shim/task.js';
import { TtrpcClient } from '../../src/shim/ttrpc/client.js';
import { encodeFrame, MAX_MESSAGE_LENGTH, TYPE_DATA, TYPE_REQUEST } from '../../src/shim/ttrpc/frame.js';
import { Code, encodeRequest } from '../../src/shim/ttrpc/messages.js';
import { encodeMessage, lenField } from '../../src/shim/ttrpc/proto.js';
import { TtrpcServer } from '../../src/shim/ttrpc/server.js';

const V2 = 'containerd.task.v2.Task';
const V3 = 'containerd.task.v3.Task';
const PROCESS_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const utf8 = (s: string) => new TextEncoder().encode(s);

const createReq = (id: string, bundle: string) => encodeMessage([[1, 'string', id], [2, 'string', bundle], [5, 'string', '/fifo/in']]);
const execReq = (id: string, execId: string, json: string, typeUrl = PROCESS_URL) =>
  new Uint8Array(Buffer.concat([lenField(1, id), lenField(2, execId), lenField(7, encodeMessage([[1, 'string', typeUrl], [2, 'bytes', utf8(json)]])), lenField(50, 'keep-me')]));

const RESOURCES_URL = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';
const updateReq = (id: string, json: string | null, typeUrl = RESOURCES_URL) =>
  new Uint8Array(Buffer.concat([
    lenField(1, id),
    ...(json === null ? [] : [lenField(2, encodeMessage([[1, 'string', typeUrl], [2, 'bytes', utf8(json)]]))]),
    lenField(3, encodeMessage([[1, 'string', 'io.kubernetes.cri.x'], [2, 'string', 'y']])),
  ]));

interface Calls {
  creates: Array<[string, string]>;
  execs: Array<[string, string, string]>;
  updates?: Array<[string, string, string]>;
}

/** A hardener that refuses ids starting with "deny" and marks exec'd processes. */
function fakeHardener(calls: Calls, delayMs = 0): Hardener {
  const wait = () => new Promise((r) => setTimeout(r, delayMs));
  return {
    async create(id, bundle): Promise<Verdict> {
      await wait();
      calls.creates.push([id, bundle]);
      return id.startsWith('deny') ? { ok: false, message: `bulwark: denied by profile test: ${id}` } : { ok: true, value: undefined };
    },
    async exec(id, bundle, json): Promise<Verdict<Uint8Array>> {
      await wait();
      calls.execs.push([id, bundle, text(json)]);
      if (id.startsWith('deny')) return { ok: false, message: `bulwark: exec denied in ${id}` };
      const p = JSON.parse(text(json)) as Record<string, unknown>;
      return { ok: true, value: utf8(JSON.stringify({ ...p, noNewPrivileges: true })) };
    },
    async update(id, bundle, json): Promise<Verdict<Uint8Array>> {
      await wait();
      (calls.updates ??= []).push([id, bundle, text(json)]);
      if (id.startsWith('deny')) return { ok: false, message: `bulwark: update denied in ${id}` };
      return { ok: true, value: utf8(JSON.stringify({ pids: { limit: 10 } })) };
    },
  };
}

async function setup(t: Test, delayMs = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-proxy-'));
  const upstreamPath = join(dir, 'real.sock');
  const listenPath = join(dir, 'proxy.sock');
  const seen: Array<{ service: string; method: string; payload: Uint8Array }> = [];
  const upstream = new TtrpcServer();
  for (const svc of [V2, V3]) {
    for (const method of ['Create', 'Exec', 'Update', 'State', 'Shutdown']) {
      upstream.register(svc, method, (payload, req) => {
        seen.push({ service: req.service, method: req.method, payload });
        return method === 'Create' ? encodeMessage([[1, 'varint', 4242]]) : new Uint8Array(0);
      });
    }
  }
  upstream.register('other.Service', 'Echo', (payload, req) => {
    seen.push({ service: req.service, method: req.method, payload });
    return payload;
  });
  await upstream.listen(upstreamPath);
  const calls: Calls = { creates: [], execs: [] };
  const proxy = new ShimProxy({ listenPath, upstreamPath, hardener: fakeHardener(calls, delayMs), bundleFor: (id) => `/guessed/${id}` });
  await proxy.start();
  const client = await TtrpcClient.connect(`unix://${listenPath}`);
  t.teardown(async () => {
    client.close();
    await proxy.stop();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, upstream, upstreamPath, listenPath, proxy, client, seen, calls };
}

t.test('the proxy socket is 0600; other services pass through unchanged', async (t) => {
  const s = await setup(t);
  t.equal(statSync(s.listenPath).mode & 0o777, 0o600);
  const payload = new Uint8Array([0, 1, 2, 255]);
  t.same([...(await s.client.call('other.Service', 'Echo', payload))], [...payload]);
  t.same([...(await s.client.call(V2, 'State', payload))], []);
  t.same(s.seen.map((x) => [x.method, [...x.payload]]), [['Echo', [...payload]], ['State', [...payload]]]);
  t.same(s.calls, { creates: [], execs: [] }, 'nothing hardened');
  const missing = await s.client.send('other.Service', 'Nope', new Uint8Array(0));
  t.equal(missing.status.code, Code.UNIMPLEMENTED, 'the real shim\'s own errors come back');
});

for (const service of [V2, V3]) {
  t.test(`${service}/Create: hardened before the real shim sees it; a refusal never reaches it`, async (t) => {
    const s = await setup(t);
    const reply = await s.client.call(service, 'Create', createReq('c1', '/b/c1'));
    t.same(s.calls.creates, [['c1', '/b/c1']]);
    t.same(s.seen.map((x) => [x.service, x.method, decodeCreateTask(x.payload)]), [[service, 'Create', { id: 'c1', bundle: '/b/c1' }]]);
    t.ok(reply.length > 0, 'the real shim\'s response (pid) comes back');

    const denied = await s.client.send(service, 'Create', createReq('deny-1', '/b/deny-1'));
    t.equal(denied.status.code, Code.PERMISSION_DENIED);
    t.equal(denied.status.message, 'bulwark: denied by profile test: deny-1');
    t.equal(s.seen.length, 1, 'the refused Create was not forwarded');

    const bad = await s.client.send(service, 'Create', createReq('c2', 'relative/bundle'));
    t.equal(bad.status.code, Code.INVALID_ARGUMENT, 'a relative bundle is refused');
    const after = await s.client.send(service, 'State', new Uint8Array(0));
    t.equal(after.status.code, Code.OK, 'the connection still works, and later stream ids still increase for the real shim');
  });
}

t.test('Exec: the process spec is replaced by its hardened form, everything else kept', async (t) => {
  const s = await setup(t);
  await s.client.call(V2, 'Create', createReq('c1', '/b/c1'));
  await s.client.call(V3, 'Exec', execReq('c1', 'e1', '{"args":["sh"],"noNewPrivileges":false}'));
  t.same(s.calls.execs, [['c1', '/b/c1', '{"args":["sh"],"noNewPrivileges":false}']], 'bundle known from the Create');
  const forwarded = s.seen.find((x) => x.method === 'Exec')!;
  const exec = decodeExecProcess(forwarded.payload);
  t.same(JSON.parse(text(exec.spec!.value)), { args: ['sh'], noNewPrivileges: true });
  t.equal(exec.spec!.typeUrl, PROCESS_URL);
  t.ok(Buffer.from(forwarded.payload).includes(Buffer.from(lenField(50, 'keep-me'))), 'unknown field kept');

  await s.client.call(V2, 'Exec', execReq('other', 'e2', '{"args":["id"]}'));
  t.equal(s.calls.execs[1]![1], '/guessed/other', 'a container whose Create was not seen: bundle from bundleFor');

  const rows: Array<[string, Uint8Array, number, RegExp]> = [
    ['refused by the hardener', execReq('deny-x', 'e3', '{}'), Code.PERMISSION_DENIED, /^bulwark: exec denied in deny-x$/],
    ['no spec', new Uint8Array(Buffer.concat([lenField(1, 'c1'), lenField(2, 'e4')])), Code.INVALID_ARGUMENT, /has no process spec/],
    ['a spec of another type', execReq('c1', 'e5', '{}', 'types.containerd.io/opencontainers/runtime-spec/1/Spec'), Code.INVALID_ARGUMENT, /unknown type/],
    ['an undecodable payload', new Uint8Array([0x0a, 0x09, 0x01]), Code.INVALID_ARGUMENT, /cannot decode containerd.task.v2.Task\/Exec/],
  ];
  for (const [name, payload, code, message] of rows) {
    const r = await s.client.send(V2, 'Exec', payload);
    t.equal(r.status.code, code, name);
    t.match(r.status.message, message, name);
  }
  t.equal(s.seen.filter((x) => x.method === 'Exec').length, 2, 'no refused Exec was forwarded');
});

t.test('malformed and oversized frames get an error on their stream; the connection lives on', async (t) => {
  const s = await setup(t);
  // Stream 1: a request envelope that is not protobuf.
  s.client.writeRaw(encodeFrame(1, TYPE_REQUEST, 0, new Uint8Array([0x0a, 0xff])));
  const malformed = await s.client.expect(1);
  t.equal(malformed.status.code, Code.INVALID_ARGUMENT);
  t.match(malformed.status.message, /cannot decode the request/);
  // Stream 3: announces more than 4 MiB; the proxy skips it like ttrpc does.
  const header = encodeFrame(3, TYPE_REQUEST, 0, new Uint8Array(0));
  new DataView(header.buffer).setUint32(0, MAX_MESSAGE_LENGTH + 100);
  s.client.writeRaw(header);
  s.client.writeRaw(new Uint8Array(MAX_MESSAGE_LENGTH + 100));
  const oversized = await s.client.expect(3);
  t.equal(oversized.status.code, Code.RESOURCE_EXHAUSTED);
  t.match(oversized.status.message, /exceed maximum message size of 4194304/);
  // Stream 5 onwards: normal calls (the client's own counter starts at 1, so jump past the raw ids).
  s.client.writeRaw(encodeFrame(5, TYPE_REQUEST, 0, encodeRequest({ service: 'other.Service', method: 'Echo', payload: utf8('hi'), timeoutNano: 0n, metadata: [] })));
  t.equal(text((await s.client.expect(5)).payload), 'hi');
  t.same(s.seen.map((x) => x.method), ['Echo'], 'neither bad frame reached the real shim');
});

t.test('requests behind a slow Create keep their order (the real shim needs increasing stream ids)', async (t) => {
  const s = await setup(t, 150);
  const results = await Promise.all([
    s.client.send(V2, 'Create', createReq('c1', '/b/c1')),
    s.client.send(V2, 'State', new Uint8Array(0)),
    s.client.send(V2, 'Create', createReq('deny-2', '/b/deny-2')),
    s.client.send(V2, 'State', new Uint8Array(0)),
  ]);
  t.same(results.map((r) => r.status.code), [Code.OK, Code.OK, Code.PERMISSION_DENIED, Code.OK], 'no "StreamID cannot be re-used" from the real shim');
  t.same(s.seen.map((x) => x.method), ['Create', 'State', 'State']);
});

t.test('data frames and unknown message types pass through byte for byte', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-proxy-raw-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const upstreamPath = join(dir, 'real.sock');
  const received: Buffer[] = [];
  const conns = new Set<Socket>();
  const raw = createServer((c) => {
    conns.add(c);
    c.on('data', (d) => received.push(d));
  });
  await new Promise<void>((r) => raw.listen(upstreamPath, r));
  const proxy = new ShimProxy({ listenPath: join(dir, 'p.sock'), upstreamPath, hardener: fakeHardener({ creates: [], execs: [] }), bundleFor: (id) => id });
  await proxy.start();
  const client = await TtrpcClient.connect(join(dir, 'p.sock'));
  const frames = [encodeFrame(1, TYPE_DATA, 0x1, utf8('stream data')), encodeFrame(3, 9, 0x80, utf8('future type'))];
  for (const f of frames) client.writeRaw(f);
  const want = Buffer.concat(frames);
  for (let i = 0; i < 100 && Buffer.concat(received).length < want.length; i++) await new Promise((r) => setTimeout(r, 20));
  // The first connection is the proxy's watch connection (silent); frames arrive on the relay's.
  t.same(Buffer.concat(received).toString('hex'), want.toString('hex'));
  client.close();
  for (const c of conns) c.destroy();
  raw.close();
  await proxy.done;
  t.notOk(existsSync(join(dir, 'p.sock')), 'when the real shim goes away the proxy stops and removes its socket');
});

t.test('the proxy stops when the real shim closes its socket', async (t) => {
  const s = await setup(t);
  await s.upstream.close();
  await s.proxy.done;
  t.notOk(existsSync(s.listenPath), 'socket removed');
  const r = await s.client.send(V2, 'State', new Uint8Array(0)).catch((e: Error) => e);
  t.type(r, Error, 'open connections end with the real shim');
});

t.test('a proxy whose real shim is not there does not start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-proxy-none-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const proxy = new ShimProxy({ listenPath: join(dir, 'p.sock'), upstreamPath: join(dir, 'absent.sock'), hardener: fakeHardener({ creates: [], execs: [] }), bundleFor: (id) => id });
  await t.rejects(proxy.start(), /ENOENT/);
  t.notOk(existsSync(join(dir, 'p.sock')));
});

t.test('Update: resources clamped by the hardener before the real shim (Kata applies them itself)', async (t) => {
  const s = await setup(t);
  await s.client.call(V2, 'Create', createReq('c1', '/b/c1'));
  await s.client.call(V3, 'Update', updateReq('c1', '{"pids":{"limit":999999}}'));
  t.same(s.calls.updates, [['c1', '/b/c1', '{"pids":{"limit":999999}}']], 'the hardener saw the request, with the bundle from the Create');
  const forwarded = s.seen.find((x) => x.method === 'Update')!;
  const update = decodeUpdateTask(forwarded.payload);
  t.same(JSON.parse(text(update.resources!.value)), { pids: { limit: 10 } }, 'the clamped resources went on');
  t.equal(update.resources!.typeUrl, RESOURCES_URL);
  t.ok(Buffer.from(forwarded.payload).includes(Buffer.from(lenField(3, encodeMessage([[1, 'string', 'io.kubernetes.cri.x'], [2, 'string', 'y']])))), 'annotations kept');

  await s.client.call(V2, 'Update', updateReq('c1', null));
  t.equal(s.calls.updates!.length, 1, 'an annotations-only update needs no check');
  t.equal(s.seen.filter((x) => x.method === 'Update').length, 2, 'and is forwarded');

  const rows: Array<[string, Uint8Array, number, RegExp]> = [
    ['refused by the hardener', updateReq('deny-x', '{}'), Code.PERMISSION_DENIED, /^bulwark: update denied in deny-x$/],
    ['resources of another type', updateReq('c1', '{}', 'types.containerd.io/opencontainers/runtime-spec/1/WindowsResources'), Code.INVALID_ARGUMENT, /unknown type/],
  ];
  for (const [name, payload, code, message] of rows) {
    const r = await s.client.send(V2, 'Update', payload);
    t.equal(r.status.code, code, name);
    t.match(r.status.message, message, name);
  }
  t.equal(s.seen.filter((x) => x.method === 'Update').length, 2, 'no refused Update was forwarded');
});
