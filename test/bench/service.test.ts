// The bench's policy-service starter: a real process and a real unix socket; nothing is timed.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startService } from '../../bench/lib/service.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-svc-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('a service that listens is returned running, and stop() ends exactly that process', async (t) => {
  const socket = join(dir, 'ok.sock');
  const script = `require('node:net').createServer((c) => c.end()).listen(${JSON.stringify(socket)})`;
  const started = await startService(process.execPath, ['-e', script], process.env, socket, join(dir, 'ok.log'));
  if (typeof started === 'string') {
    t.fail(started);
    return;
  }
  t.equal(started.socket, socket);
  t.ok(existsSync(`/proc/${started.pid}`), 'running');
  await started.stop();
  t.notOk(existsSync(`/proc/${started.pid}`), 'gone (and reaped) after stop()');
});

t.test('a service that exits is a reason, with what it printed', async (t) => {
  const socket = join(dir, 'never.sock');
  const started = await startService('/bin/sh', ['-c', 'echo "unknown command serve" >&2; exit 2'], process.env, socket, join(dir, 'exit.log'));
  t.type(started, 'string');
  t.match(started as string, /exited 2: unknown command serve/);
});

t.test('a service that never listens is stopped after the timeout, and says so', async (t) => {
  const socket = join(dir, 'silent.sock');
  const started = await startService('/bin/sleep', ['30'], process.env, socket, join(dir, 'silent.log'), 300);
  t.type(started, 'string');
  t.match(started as string, /did not listen on .*silent\.sock within 0\.3 s/);
});
