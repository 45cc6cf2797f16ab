// The warm service in-process, driven over its real unix socket by a client that speaks the
// launcher's frames. The native addon is a fake (no root needed): the launcher ⇄ service path
// with real runc is in integration/runtime/service.test.ts.
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../../src/service/server.js';
import type { ServiceNative } from '../../src/service/server.js';
import { decodeReply, encodeRequest, takeFrame } from '../../src/service/protocol.js';
import type { ServiceReply, ServiceRequest } from '../../src/service/protocol.js';
import { parseJson, stringifyJson } from '../../src/json/lossless.js';
import type { Spec } from '../../src/spec/index.js';
import { readFixture, runcSpec } from '../fixtures/index.js';

function fakeNative(peer: { pid: number; uid: number }): ServiceNative {
  return {
    cgroupMode: () => 'v2',
    seccompActions: () => ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_ALLOW', 'SCMP_ACT_NOTIFY'],
    namespaceId: () => ({ dev: 4, ino: 4026531840 }),
    rlimits: () => ({ RLIMIT_NOFILE: { soft: 1024n, hard: 1048576n } }),
    probeUserNamespaces: () => ({ supported: true, idmapMounts: true }),
    peerCredentials: () => ({ ...peer, gid: 0 }),
  };
}

interface World {
  dir: string;
  bundle: string;
  config: string;
  state: string;
  socket: string;
  logs: string[];
  peer: { pid: number; uid: number };
  request(args: string[], over?: Partial<ServiceRequest>): Promise<ServiceReply | null>;
  raw(bytes: Buffer): Promise<Buffer>;
  audit(): Array<Record<string, unknown>>;
}

async function world(t: Test, spec: Spec = runcSpec()): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-service-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  writeFileSync(join(bundle, 'config.json'), stringifyJson(spec));
  const state = join(dir, 'state');
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `stateDir: ${state}\nauditLog: ${join(dir, 'audit.jsonl')}\nidPool: { start: 1000000, size: 6553600 }\n`);
  const logs: string[] = [];
  const peer = { pid: process.pid, uid: 0 };
  const service = await startService({ native: fakeNative(peer), env: { BULWARK_CONFIG: config }, log: (l) => void logs.push(l), now: () => new Date('2026-11-23T17:41:50Z') });
  t.teardown(() => service.close());
  const socket = join(state, 'engine.sock');
  const raw = (bytes: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const c = createConnection(socket, () => c.end(bytes));
      c.on('data', (d: Buffer) => chunks.push(d));
      c.on('close', () => resolve(Buffer.concat(chunks)));
      // The service hangs up on callers it refuses: the write may fail, the read ends.
      c.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    });
  return {
    dir, bundle, config, state, socket, logs, peer, raw,
    request: async (args, over = {}) => {
      const reply = await raw(encodeRequest({ cwd: dir, argv0: '/usr/local/bin/bulwark-runtime', configEnv: config, stateDirEnv: '', args, ...over }));
      const frame = takeFrame(reply);
      return frame ? decodeReply(frame.strings) : null;
    },
    audit: () => readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const bundleSpec = (w: World) => parseJson(readFileSync(join(w.bundle, 'config.json'), 'utf8')) as unknown as Spec;

t.test('create is hardened by the service, which answers with the runtime argv to exec', async (t) => {
  const w = await world(t);
  t.equal(statSync(w.socket).mode & 0o777, 0o600, 'socket is root-only');
  t.match(readFileSync(join(w.state, 'default-runtime.argv'), 'utf8'), /\/runc\0$/, 'the default runtime is recorded at start, for the launcher\'s pass-through');
  const reply = await w.request(['--root', '/run/r', 'create', '--bundle', 'bundle', 'c1']);
  t.match(reply, { kind: 'exec', path: /\/runc$/ });
  if (reply?.kind !== 'exec') return;
  t.same(reply.argv, [reply.path, '--root', '/run/r', 'create', '--bundle', 'bundle', 'c1'], 'argv unchanged after the runtime');
  t.equal(bundleSpec(w).process?.noNewPrivileges, true, 'relative --bundle resolved against the caller\'s cwd');
  t.match(w.audit()[0], { event: 'create', via: 'service', decision: 'allow' });
  const record = JSON.parse(readFileSync(join(w.state, 'containers', '_2frun_2fr', 'c1', 'record.json'), 'utf8'));
  t.equal(record.creator.pid, w.peer.pid, 'the caller (who becomes runc) is the creator GC watches');
});

t.test('after a create\'s reply, not before it, the young generation is emptied (with --expose-gc)', async (t) => {
  const calls: unknown[] = [];
  const holder = globalThis as { gc?: unknown };
  const had = Object.prototype.hasOwnProperty.call(holder, 'gc');
  const saved = holder.gc;
  holder.gc = (options: unknown) => void calls.push(options);
  t.teardown(() => {
    if (had) holder.gc = saved;
    else delete holder.gc;
  });
  const w = await world(t);
  const reply = await w.request(['--root', '/run/r', 'create', '--bundle', 'bundle', 'c1']);
  t.match(reply, { kind: 'exec' });
  t.same(calls, [], 'nothing by the time the reply is read');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.same(calls, [{ type: 'minor' }], 'one minor collection after the create');
  await w.request(['--root', '/run/r', 'state', 'c1']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(calls.length, 1, 'none after a call that made no container');
});

t.test('exec through the service: the relative --process file is hardened in the caller\'s directory', async (t) => {
  const w = await world(t);
  await w.request(['create', '--bundle', w.bundle, 'c1']);
  const proc = { ...runcSpec().process!, args: ['sh'], noNewPrivileges: false, capabilities: { bounding: ['CAP_SYS_ADMIN'], effective: ['CAP_SYS_ADMIN'], permitted: ['CAP_SYS_ADMIN'] } };
  writeFileSync(join(w.dir, 'process.json'), stringifyJson(proc));
  const reply = await w.request(['exec', '--process', 'process.json', 'c1']);
  // CAP_SYS_ADMIN is refused by baseline rather than dropped; either way nothing runs with it.
  if (reply?.kind === 'exec') {
    const hardened = JSON.parse(readFileSync(join(w.dir, 'process.json'), 'utf8'));
    t.equal(hardened.noNewPrivileges, true);
    t.notMatch(JSON.stringify(hardened.capabilities), /CAP_SYS_ADMIN/);
  } else {
    t.match(reply, { kind: 'exit', code: 1, message: /^bulwark: denied by profile baseline: .*CAP_SYS_ADMIN/ });
  }
});

t.test('a denial comes back as exit 1 with the message; the --log line is written where the caller meant', async (t) => {
  const w = await world(t, readFixture('privileged-pod.json'));
  const before = readFileSync(join(w.bundle, 'config.json'), 'utf8');
  const reply = await w.request(['--log', 'runc.log', 'create', '--bundle', w.bundle, 'c1']);
  t.match(reply, { kind: 'exit', code: 1, message: /^bulwark: denied by profile baseline: .*\n$/ });
  t.match(readFileSync(join(w.dir, 'runc.log'), 'utf8'), /level=error msg="bulwark: denied by profile baseline/);
  t.equal(readFileSync(join(w.bundle, 'config.json'), 'utf8'), before, 'config untouched');
});

t.test('calls the service must not serve are sent to the cold path', async (t) => {
  const w = await world(t);
  const cases: Array<[string, string[], Partial<ServiceRequest>, RegExp]> = [
    ['features writes to stdout', ['features'], {}, /stdout/],
    ['update -r - reads stdin', ['update', '-r', '-', 'c1'], {}, /stdin/],
    ['another BULWARK_CONFIG', ['create', '--bundle', w.bundle, 'c1'], { configEnv: '/etc/other.yaml' }, /another Bulwark configuration/],
    ['a BULWARK_STATE_DIR override', ['create', '--bundle', w.bundle, 'c1'], { stateDirEnv: '/run/other' }, /another Bulwark configuration/],
  ];
  for (const [name, args, over, reason] of cases) t.match(await w.request(args, over), { kind: 'cold', reason }, name);
  t.notOk(existsSync(join(w.dir, 'audit.jsonl')), 'nothing was created on the way');
});

t.test('peers other than root in our pid namespace get no answer', async (t) => {
  const w = await world(t);
  for (const peer of [{ pid: process.pid, uid: 1000 }, { pid: 0, uid: 0 }]) {
    Object.assign(w.peer, peer);
    t.equal(await w.request(['create', '--bundle', w.bundle, 'c1']), null, `pid ${peer.pid} uid ${peer.uid}: connection closed`);
  }
  t.match(w.logs.join('\n'), /refused pid 0 uid 0/);
  t.notOk(existsSync(join(w.dir, 'audit.jsonl')), 'nothing done for them');
});

t.test('malformed frames are dropped and the service keeps serving', async (t) => {
  const w = await world(t);
  const huge = Buffer.alloc(4);
  huge.writeUInt32LE(0xffffffff);
  t.equal((await w.raw(huge)).length, 0, 'oversized length: closed without reply');
  t.equal((await w.raw(Buffer.concat([Buffer.from([5, 0, 0, 0]), Buffer.from('hello')]))).length, 0, 'no final NUL');
  t.equal((await w.raw(Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.from('x\0y\0')]))).length, 0, 'wrong protocol');
  t.match(await w.request(['create', '--bundle', w.bundle, 'c1']), { kind: 'exec' }, 'still serving');
});

t.test('the socket path: a stale socket is replaced; a live service or another file is not', async (t) => {
  const w = await world(t);
  const again = startService({ native: fakeNative(w.peer), env: { BULWARK_CONFIG: w.config }, log: () => undefined });
  await t.rejects(again, /a service is already listening/);

  const other = join(w.dir, 'not-a-socket');
  writeFileSync(other, 'keep me');
  await t.rejects(startService({ native: fakeNative(w.peer), env: { BULWARK_CONFIG: w.config }, socketPath: other, log: () => undefined }), /exists and is not a socket/);
  t.equal(readFileSync(other, 'utf8'), 'keep me');

  // A socket file nobody listens on any more (its service was killed) is taken over.
  const stale = join(w.dir, 'stale.sock');
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((r) => child.on('exit', r));
  t.ok(statSync(stale).isSocket(), 'the killed listener left its socket file');
  const taken = await startService({ native: fakeNative(w.peer), env: { BULWARK_CONFIG: w.config }, socketPath: stale, log: () => undefined });
  t.teardown(() => taken.close());
  t.match(await new Promise((resolve) => {
    const c = createConnection(stale, () => c.end(encodeRequest({ cwd: w.dir, argv0: 'bulwark-runtime', configEnv: w.config, stateDirEnv: '', args: ['create', '--bundle', w.bundle, 'c9'] })));
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('close', () => resolve(decodeReply(takeFrame(Buffer.concat(chunks))!.strings)));
  }), { kind: 'exec' }, 'the new service answers there');
});
