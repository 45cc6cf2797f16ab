// The shim proxy in front of the REAL containerd-shim-runc-v2 (containerd 1.6.20's), driven over
// ttrpc the way containerd 2.x drives a pod: `start` once through bin/containerd-shim-bulwark-v2,
// then Create/Start/Exec/Wait/Kill/Delete/Shutdown on the address it printed, and further
// containers created over the same connection with no `start` at all (containerd 2.x reads the
// sandbox's bootstrap.json and calls Create on the sandbox's shim).
//
// This is Bulwark's Kata configuration (handler bulwark-kata: profile kata, proxy mode), with one
// substitution, said plainly: Kata cannot run on these machines (no /dev/kvm), so the "Kata shim"
// the launcher finds on PATH as containerd-shim-kata-v2 is a STAND-IN script that records its argv
// and environment and execs containerd's runc shim. That shim then runs real containers with
// plain runc: Bulwark is nowhere on its PATH, so every hardening seen inside a container came
// from the proxy, as it must for Kata, whose shim never calls runc.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeBundle } from '../lib/index.js';
import type { Bundle } from '../lib/index.js';
import { tempPrefix } from '../lib/paths.js';
import { Code } from '../../src/shim/ttrpc/messages.js';
import {
  availability, pidAlive, readIfExists, removeQuietly, RUNC_SHIM, runcShimSocket, SHIM_SCRIPT, shimCommand, shimLogFifo, startEventsEndpoint,
  statusFields, TaskClient, waitFor,
} from './lib.js';
import { hardenerForTests } from './hardener.js';

const skip = availability();
// containerd 1.6's runc shim puts its socket under /run/containerd/s whatever it is told; what of
// that this test created goes again (rmdir: only when empty, so a concurrent user keeps its own).
const runContainerdExisted = existsSync('/run/containerd');
const runContainerdSExisted = existsSync('/run/containerd/s');
const NS = `bulwark-shim-${process.pid}`;
const CAP_NET_RAW = 13;
const capBit = (mask: string, bit: number) => (BigInt(`0x${mask}`) >> BigInt(bit)) & 1n;

t.test('kata configuration: the proxy hardens Create and Exec for a shim that never calls Bulwark', { skip }, async (t) => {
  const dir = mkdtempSync(`${tempPrefix}shim-`);
  chmodSync(dir, 0o711);
  const bin = join(dir, 'bin');
  const socketDir = join(dir, 's');
  const runcRoot = join(dir, 'runc-root');
  mkdirSync(bin);
  const address = join(dir, 'containerd.sock'); // only named: the runc shim hashes it into its socket path
  const events = await startEventsEndpoint(join(dir, 'events.sock'));
  const bundles: Bundle[] = [];
  const pids: number[] = [];
  t.teardown(async () => {
    for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const b of bundles) {
      await execa('/usr/sbin/runc', ['--root', runcRoot, 'delete', '--force', b.id], { reject: false });
      removeQuietly(runcShimSocket(address, NS, b.id));
      try {
        b.destroy();
      } catch (e) {
        t.comment(`bundle ${b.id}: ${(e as Error).message}`);
      }
    }
    await events.close();
    removeQuietly(dir);
    for (const [path, existed] of [['/run/containerd/s', runContainerdSExisted], ['/run/containerd', runContainerdExisted]] as const) {
      if (existed) continue;
      try {
        rmdirSync(path);
      } catch {
        // not empty: someone else uses it
      }
    }
  });

  symlinkSync(SHIM_SCRIPT, join(bin, 'containerd-shim-bulwark-kata-v2'));
  // STAND-IN for Kata's containerd-shim-kata-v2 (see the header): records, then runs the runc shim.
  const standinLog = join(dir, 'kata-standin.log');
  writeFileSync(join(bin, 'containerd-shim-kata-v2'), [
    '#!/bin/sh',
    '# STAND-IN for containerd-shim-kata-v2 (Kata cannot run here: no /dev/kvm). Records what it was given,',
    '# then becomes containerd\'s runc shim.',
    `printf 'argv=%s\\ncwd=%s\\nTTRPC_ADDRESS=%s\\nPATH=%s\\n' "$*" "$(pwd)" "$TTRPC_ADDRESS" "$PATH" >> ${standinLog}`,
    `exec ${RUNC_SHIM} "$@"`,
    '',
  ].join('\n'), { mode: 0o755 });

  const hardener = await hardenerForTests(dir);
  t.comment(hardener.label);
  const env: Record<string, string> = {
    PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    TTRPC_ADDRESS: join(dir, 'events.sock'),
    BULWARK_SHIM_SOCKET_DIR: socketDir,
    BULWARK_SHIM_LOG: join(dir, 'shim.log'),
    ...hardener.env,
  };
  const out = (name: string) => join(dir, `${name}.out`);
  const unhardenedProcess = (args: string[]) => ({
    args, env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 }, noNewPrivileges: false,
    capabilities: Object.fromEntries(['bounding', 'effective', 'permitted'].map((k) => [k, ['CAP_KILL', 'CAP_NET_RAW', 'CAP_CHOWN']])),
  });
  const unharden = (spec: Bundle extends { readSpec(): infer S } ? S : never) => {
    spec.process!.noNewPrivileges = false;
    for (const set of ['bounding', 'effective', 'permitted'] as const) spec.process!.capabilities![set] = ['CAP_KILL', 'CAP_NET_RAW', 'CAP_CHOWN'];
  };

  // The sandbox: `start` first, as containerd does for the first container of a pod.
  const sandbox = await makeBundle({ label: 'sandbox', args: ['/bin/sh', '-c', 'cat /proc/self/status; exec sleep 1000'], tweak: unharden });
  bundles.push(sandbox);
  pids.push(await shimLogFifo(sandbox.dir, join(dir, 'runc-shim.log')));
  const start = await shimCommand({ name: 'containerd-shim-bulwark-kata-v2', dir: bin, ns: NS, address, id: sandbox.id, bundle: sandbox.dir, action: 'start', env });
  t.equal(start.exitCode, 0, `start: ${start.stderr}\n${readIfExists(join(dir, 'shim.log'))}\n${readIfExists(join(dir, 'runc-shim.log'))}`);
  if (start.exitCode !== 0) return;
  const proxyAddress = start.stdout;
  t.match(proxyAddress, new RegExp(`^unix://${socketDir}/[0-9a-f]{32}\\.sock$`), 'the proxy\'s address, in the real shim\'s (plain) format');
  t.match(readIfExists(standinLog), new RegExp(`argv=-namespace ${NS} -address ${address} -publish-binary /usr/bin/containerd -id ${sandbox.id} start`), 'Kata\'s shim (stand-in) was found by its default name and got containerd\'s argv');
  t.notMatch(readIfExists(standinLog), /libexec\/bulwark/, 'no Bulwark runc on the Kata shim\'s PATH');
  t.equal(readFileSync(join(sandbox.dir, 'address'), 'utf8'), proxyAddress, '<bundle>/address (read by containerd 1.x on restart) names the proxy');
  const listen = proxyAddress.slice('unix://'.length);
  t.equal(readFileSync(listen.replace(/\.sock$/, '.json'), 'utf8').includes(`"upstream":"${runcShimSocket(address, NS, sandbox.id)}"`), true, 'the proxy serves the real shim\'s socket');
  const proxyPid = (JSON.parse(readFileSync(listen.replace(/\.sock$/, '.json'), 'utf8')) as { pid: number }).pid;
  pids.push(proxyPid);

  const again = await shimCommand({ name: 'containerd-shim-bulwark-kata-v2', dir: bin, ns: NS, address, id: sandbox.id, bundle: sandbox.dir, action: 'start', env });
  t.equal(again.stdout, proxyAddress, 'a second start for the same shim reuses the live proxy');

  const task = await TaskClient.connect(proxyAddress);
  t.teardown(() => task.close());
  const shimPid = (await task.connect(sandbox.id)).shimPid;
  t.ok(shimPid > 0, 'Connect is answered by the real shim through the proxy');
  pids.push(shimPid);

  await t.test('Create hardens the bundle before the real shim sees it; the container runs hardened', async (t) => {
    const created = await task.create({ id: sandbox.id, bundle: sandbox.dir, stdout: out('sandbox'), stderr: out('sandbox-err'), runcRoot });
    t.equal(created.status.code, Code.OK, created.status.message);
    const spec = sandbox.readSpec();
    t.equal(spec.process?.noNewPrivileges, true, 'config.json: noNewPrivileges');
    t.notOk(spec.process?.capabilities?.bounding?.includes('CAP_NET_RAW'), 'config.json: CAP_NET_RAW dropped');
    pids.push(await task.start(sandbox.id));
    await waitFor('the sandbox\'s status output', () => readIfExists(out('sandbox')).includes('NoNewPrivs'));
    const status = statusFields(readIfExists(out('sandbox')));
    t.equal(status.NoNewPrivs, '1', 'inside: NoNewPrivs 1');
    t.equal(capBit(status.CapBnd ?? '0', CAP_NET_RAW), 0n, 'inside: CAP_NET_RAW not in the bounding set');
    t.equal(status.Seccomp, '2', 'inside: a seccomp filter (the kata profile keeps it)');
    t.match(readIfExists(hardener.auditLog), new RegExp(`"id":"${sandbox.id}".*"profile":"kata".*"decision":"allow"`), 'Bulwark audited the create under profile kata');
  });

  await t.test('Exec: the process spec is hardened before the real shim sees it', async (t) => {
    const r = await task.exec({ id: sandbox.id, execId: 'e1', process: unhardenedProcess(['/bin/cat', '/proc/self/status']), stdout: out('e1'), stderr: out('e1-err') });
    t.equal(r.status.code, Code.OK, r.status.message);
    await task.start(sandbox.id, 'e1');
    t.equal(await task.wait(sandbox.id, 'e1'), 0, 'the exec ran');
    const status = statusFields(readIfExists(out('e1')));
    t.equal(status.NoNewPrivs, '1', 'the exec\'d process has NoNewPrivs 1 (its spec said false)');
    t.equal(capBit(status.CapEff ?? 'ffffffffff', CAP_NET_RAW), 0n, 'the exec\'d process lacks CAP_NET_RAW (its spec asked for it)');
    await task.delete(sandbox.id, 'e1');
  });

  await t.test('containerd 2.x style: an app container created over the same connection, no start', async (t) => {
    const app = await makeBundle({ label: 'app', args: ['/bin/sh', '-c', 'cat /proc/self/status'], tweak: unharden });
    bundles.push(app);
    const created = await task.create({ id: app.id, bundle: app.dir, stdout: out('app'), stderr: out('app-err'), runcRoot });
    t.equal(created.status.code, Code.OK, created.status.message);
    await task.start(app.id);
    t.equal(await task.wait(app.id), 0);
    const status = statusFields(readIfExists(out('app')));
    t.equal(status.NoNewPrivs, '1', 'inside: NoNewPrivs 1');
    t.equal(capBit(status.CapBnd ?? '0', CAP_NET_RAW), 0n, 'inside: no CAP_NET_RAW');
    await task.delete(app.id);
  });

  await t.test('a denied config is refused with Bulwark\'s message and never created', async (t) => {
    const denied = await makeBundle({
      label: 'denied', args: ['/bin/true'],
      tweak: (spec) => void (spec.process!.capabilities!.bounding = [...(spec.process!.capabilities!.bounding ?? []), 'CAP_SYS_ADMIN']),
    });
    bundles.push(denied);
    const before = readFileSync(join(denied.dir, 'config.json'));
    const r = await task.create({ id: denied.id, bundle: denied.dir, stdout: out('denied'), stderr: out('denied-err'), runcRoot });
    t.equal(r.status.code, Code.PERMISSION_DENIED);
    t.match(r.status.message, /^bulwark: denied by profile kata: .*CAP_SYS_ADMIN/, 'Bulwark\'s own message reaches the ttrpc caller');
    t.ok(readFileSync(join(denied.dir, 'config.json')).equals(before), 'config.json untouched');
    const state = await execa('/usr/sbin/runc', ['--root', runcRoot, 'state', denied.id], { reject: false });
    t.not(state.exitCode, 0, 'runc never saw the container');
    t.notOk(existsSync(out('denied')), 'the real shim never opened its stdio');
    t.match(readIfExists(hardener.auditLog), new RegExp(`"id":"${denied.id}".*"decision":"deny"`), 'the refusal is in Bulwark\'s audit log');
  });

  // Memory of the resident proxy after a pod's worth of calls: reported, not asserted (it varies
  // with node's version); the target for long-lived Bulwark processes is under 64 MiB.
  const status = statusFields(readIfExists(`/proc/${proxyPid}/status`));
  const rollup = statusFields(readIfExists(`/proc/${proxyPid}/smaps_rollup`));
  t.comment(`proxy: ${readIfExists(`/proc/${proxyPid}/cmdline`).split("\0").join(" ")}`);
  t.comment(`proxy memory: VmRSS ${status.VmRSS}, VmHWM ${status.VmHWM}, private dirty ${rollup.Private_Dirty}, shared clean ${rollup.Shared_Clean}`);

  await t.test('Kill, Wait, Delete, Shutdown: the real shim exits and the proxy goes with it', async (t) => {
    await task.kill(sandbox.id, 9);
    t.equal(await task.wait(sandbox.id), 137, 'SIGKILLed');
    await task.delete(sandbox.id);
    await task.shutdown(sandbox.id).catch(() => undefined);
    await waitFor('the real shim to exit', () => !pidAlive(shimPid));
    await waitFor('the proxy to exit', () => !pidAlive(proxyPid));
    t.notOk(existsSync(listen), 'proxy socket removed');
    t.notOk(existsSync(listen.replace(/\.sock$/, '.json')), 'proxy record removed');
    // containerd's `delete` action after the fact: whatever the real shim answers comes back unchanged.
    const del = await shimCommand({ name: 'containerd-shim-bulwark-kata-v2', dir: bin, ns: NS, address, id: sandbox.id, bundle: sandbox.dir, action: 'delete', env });
    const direct = await shimCommand({ name: 'containerd-shim-kata-v2', dir: bin, ns: NS, address, id: sandbox.id, bundle: sandbox.dir, action: 'delete', env });
    // The runc shim logs "starting signal loop" (level=info) from a goroutine racing its exit,
    // so two runs of the same action may differ by that line; the answer itself must not.
    const answer = (r: typeof del) => [r.exitCode, r.stdout, r.stderr.split('\n').filter((l) => !/level=info msg="starting signal loop"/.test(l)).join('\n')];
    t.same(answer(del), answer(direct), `delete passes through to the real shim (${direct.exitCode}: ${direct.stderr})`);
    t.ok(events.topics.includes('/tasks/create') && events.topics.includes('/tasks/exit'), `the real shim published task events (${[...new Set(events.topics)].join(' ')})`);
  });
});
