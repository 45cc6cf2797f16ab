// bin/containerd-shim-bulwark-v2's modes (exec | proxy) with recording fake shims, no root needed.
// The proxy-mode start is driven end to end against a fake "containerd 2.x" shim that prints JSON
// bootstrap parameters (version 3) and serves containerd.task.v3.Task on a real socket; the
// hardener is a STAND-IN script (contract only). The real runc shim: integration/shim/.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { TtrpcClient } from '../../src/shim/ttrpc/client.js';
import { Code } from '../../src/shim/ttrpc/messages.js';
import { encodeMessage } from '../../src/shim/ttrpc/proto.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const script = join(repo, 'bin', 'containerd-shim-bulwark-v2');
const tmp = mkdtempSync(join(tmpdir(), 'bulwark-launcher-'));
const pids: number[] = [];
t.teardown(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

const bin = join(tmp, 'bin');
mkdirSync(bin);
for (const name of ['containerd-shim-bulwark-v2', 'containerd-shim-bulwark-kata-v2']) symlinkSync(script, join(bin, name));
const fake = (name: string, body: string) => {
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
  return join(bin, name);
};
const noise = fake('shim-noise', 'echo "shim started"');
const failing = fake('shim-fails', 'echo "real shim: no such bundle" >&2; exit 3');
const dead = fake('shim-dead-address', `echo "unix://${tmp}/nobody-listens.sock"`);
const recorder = fake('containerd-shim-kata-v2', `echo "kata-standin $*"`);

// A fake containerd 2.x shim: on start, launches a detached ttrpc server (v3 task API) and prints
// JSON bootstrap parameters for it.
const serverJs = join(tmp, 'fake-v3-shim.mjs');
writeFileSync(serverJs, `
import { writeFileSync, appendFileSync } from 'node:fs';
import { TtrpcServer } from '${repo}/dist/src/shim/ttrpc/server.js';
const [sock, log] = process.argv.slice(2);
const s = new TtrpcServer();
for (const m of ['Create', 'Shutdown']) s.register('containerd.task.v3.Task', m, (p) => { appendFileSync(log, m + '\\n'); if (m === 'Shutdown') setTimeout(() => process.exit(0), 50); return new Uint8Array(0); });
await s.listen(sock);
writeFileSync(sock + '.pid', String(process.pid));
process.stdout.write('ok');
`);
const v3 = fake('shim-v3', `sock=${tmp}/v3.sock; node ${serverJs} "$sock" ${tmp}/v3.log > ${tmp}/v3.ready 2>&1 &
while [ ! -s ${tmp}/v3.ready ]; do sleep 0.05; done
printf '{"version":3,"address":"unix://%s","protocol":"ttrpc","extra":[1]}' "$sock"`);

const standin = fake('bulwark-STAND-IN', [
  '# STAND-IN for `bulwark harden` (contract only): refuses bundles whose path contains "deny".',
  'echo "$*" >> ' + join(tmp, 'harden.log'),
  'case "$*" in *deny*) echo "bulwark: denied by profile kata: stand-in" >&2; exit 1;; esac',
].join('\n'));

const START = ['-namespace', 'k8s.io', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'abc', 'start'];
const run = (name: string, args: string[], env: Record<string, string> = {}, cwd = tmp) =>
  execa(join(bin, name), args, {
    cwd, reject: false, stdin: 'ignore', timeout: 30_000, extendEnv: false,
    env: { PATH: `${bin}:/usr/bin:/bin`, BULWARK_SHIM_SOCKET_DIR: join(tmp, 's'), BULWARK_SHIM_CLI: standin, ...env },
  });

t.test('mode selection', async (t) => {
  const bad = await run('containerd-shim-bulwark-v2', START, { BULWARK_SHIM_MODE: 'sideways', BULWARK_SHIM: noise });
  t.equal(bad.exitCode, 1);
  t.match(bad.stderr, /BULWARK_SHIM_MODE must be exec or proxy, not "sideways"/);
  const exec = await run('containerd-shim-bulwark-v2', START, { BULWARK_SHIM: noise });
  t.equal(exec.stdout, 'shim started', 'runc profiles default to exec: the real shim\'s output, untouched');
  const kataExec = await run('containerd-shim-bulwark-kata-v2', START, { BULWARK_SHIM_MODE: 'exec' });
  t.equal(kataExec.exitCode, 1);
  t.match(kataExec.stderr, /profile kata: Kata's shim never calls runc, so exec mode cannot harden it; refusing/);
  t.equal(kataExec.stdout, '', 'Kata\'s shim never ran');
  const kataOther = await run('containerd-shim-bulwark-kata-v2', ['-id', 'abc', 'state']);
  t.equal(kataOther.stdout, 'kata-standin -id abc state', 'other actions go straight to Kata\'s shim (stand-in)');
  t.ok(existsSync(recorder));
});

t.test('proxy mode fails closed when the real shim\'s start cannot be proxied', async (t) => {
  const rows: Array<[string, string, number, RegExp]> = [
    ['the real shim fails', failing, 3, /real shim: no such bundle/],
    ['it prints no address', noise, 1, /bulwark: shim proxy: the real shim printed no unix socket address/],
    ['nobody listens at its address', dead, 1, /bulwark: shim proxy: .*cannot serve .*(ECONNREFUSED|ENOENT)/],
  ];
  for (const [name, shim, code, message] of rows) {
    const r = await run('containerd-shim-bulwark-v2', START, { BULWARK_SHIM_MODE: 'proxy', BULWARK_SHIM: shim });
    t.equal(r.exitCode, code, name);
    t.match(r.stderr, message, name);
    t.equal(r.stdout, '', `${name}: containerd is given no address`);
  }
});

t.test('proxy mode with JSON bootstrap parameters (containerd 2.x, task v3)', async (t) => {
  const bundle = join(tmp, 'bundle');
  mkdirSync(bundle);
  const r = await run('containerd-shim-bulwark-kata-v2', START, { BULWARK_SHIM: v3 }, bundle);
  const serverPid = Number(readFileSync(join(tmp, 'v3.sock.pid'), 'utf8'));
  pids.push(serverPid);
  t.equal(r.exitCode, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as { version: number; address: string; protocol: string; extra: number[] };
  t.match(printed, { version: 3, protocol: 'ttrpc', extra: [1] }, 'the real shim\'s fields, kept');
  t.match(printed.address, new RegExp(`^unix://${tmp}/s/[0-9a-f]{32}\\.sock$`), 'the proxy\'s address');
  const record = JSON.parse(readFileSync(printed.address.slice(7).replace(/\.sock$/, '.json'), 'utf8')) as { pid: number };
  pids.push(record.pid);

  const client = await TtrpcClient.connect(printed.address);
  t.teardown(() => client.close());
  const ok = await client.send('containerd.task.v3.Task', 'Create', encodeMessage([[1, 'string', 'c1'], [2, 'string', `${bundle}/c1`]]));
  t.equal(ok.status.code, Code.OK, ok.status.message);
  const denied = await client.send('containerd.task.v3.Task', 'Create', encodeMessage([[1, 'string', 'c2'], [2, 'string', `${bundle}/deny`]]));
  t.equal(denied.status.code, Code.PERMISSION_DENIED);
  t.equal(denied.status.message, 'bulwark: denied by profile kata: stand-in');
  t.equal(readFileSync(join(tmp, 'v3.log'), 'utf8'), 'Create\n', 'the real shim saw only the allowed Create');
  t.match(readFileSync(join(tmp, 'harden.log'), 'utf8'), `harden --bundle ${bundle}/c1 --id c1 --profile kata`);

  await client.send('containerd.task.v3.Task', 'Shutdown', encodeMessage([[1, 'string', 'c1']]));
  for (let i = 0; i < 100 && existsSync(`/proc/${record.pid}`); i++) await new Promise((r) => setTimeout(r, 50));
  t.notOk(existsSync(`/proc/${record.pid}`), 'the proxy exited after the real shim\'s Shutdown');
  t.notOk(existsSync(printed.address.slice(7)), 'and removed its socket');
});
