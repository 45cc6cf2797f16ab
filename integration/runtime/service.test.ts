// The warm path, for real: `bulwark serve` running for a private config, bin/bulwark-runtime
// (the native launcher) asking it, and runc running what it was told. Checked from inside the
// container, and against the audit log's `via` field (which path did the work). Then the
// failure modes of the service: killed (SIGKILL), answering garbage, refusing: every one must
// end in the cold engine hardening the container, never in an unhardened container.
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { Spec } from '../../src/spec/index.js';
import { execa } from 'execa';
import { BulwarkHarness } from '../lib/bulwark.js';
import { repoRoot } from '../lib/paths.js';
import { capabilitySets, makeBundle, parseIdMap, parseProbeOutput, setCapabilities, setNoNewPrivileges } from '../lib/index.js';
import type { SelfReport } from '../lib/index.js';

const bulwark = new BulwarkHarness({ label: 'service' });
t.teardown(() => bulwark.dispose());
const socket = join(bulwark.stateDir, 'engine.sock');

/** Run a probe container through the launcher; what came out, and which path hardened it. */
async function runProbe(t: Test, label: string, tweak?: (spec: Spec) => void) {
  const bundle = await makeBundle({
    label,
    args: ['/bin/probe', 'self'],
    tweak: (spec) => {
      setCapabilities(spec, ['CAP_NET_RAW', 'CAP_MKNOD', 'CAP_CHOWN']); // baseline drops the first two
      setNoNewPrivileges(spec, false);
      tweak?.(spec);
    },
  });
  try {
    const result = await bulwark.client.run(bundle, undefined, { timeoutMs: 120_000 });
    const hardened = JSON.parse(readFileSync(join(bundle.dir, 'config.json'), 'utf8')) as Spec;
    let report: SelfReport | undefined;
    try {
      report = parseProbeOutput<SelfReport>(result.stdout);
    } catch {
      report = undefined;
    }
    return { id: bundle.id, result, report, hardened, audit: bulwark.audit(bundle.id) };
  } finally {
    bundle.destroy();
  }
}

function checkHardenedInside(t: Test, run: Awaited<ReturnType<typeof runProbe>>): void {
  t.equal(run.result.exitCode, 0, `container ran (${run.result.stderr.slice(-300)})`);
  const report = run.report;
  if (!report) return void t.fail('no probe report');
  t.equal(report.status.NoNewPrivs, '1', 'NoNewPrivs 1 inside');
  t.equal(report.status.Seccomp, '2', 'seccomp filter mode inside');
  const caps = capabilitySets(report);
  t.same(caps.effective, ['CAP_CHOWN'], 'CAP_NET_RAW and CAP_MKNOD dropped, CAP_CHOWN kept');
  t.notOk(caps.bounding?.includes('CAP_NET_RAW'), 'CAP_NET_RAW not even in the bounding set');
  const uidMap = Array.isArray(report.uid_map) ? parseIdMap(report.uid_map) : [];
  t.ok(uidMap.length === 1 && uidMap[0]!.hostID !== 0, `in a user namespace whose root is not host root (${JSON.stringify(uidMap)})`);
}

t.test('served: the service hardens, the launcher runs runc', async (t) => {
  const service = await bulwark.startService();
  const run = await runProbe(t, 'served');
  checkHardenedInside(t, run);
  t.match(run.audit, [{ event: 'run', via: 'service', decision: 'allow' }], 'the service did the work');
  t.equal(run.hardened.process?.noNewPrivileges, true, 'bundle hardened');

  const denied = await makeBundle({ label: 'served-denied', args: ['/bin/true'], tweak: (spec) => setCapabilities(spec, ['CAP_CHOWN', 'CAP_SYS_MODULE']) });
  const before = readFileSync(join(denied.dir, 'config.json'), 'utf8');
  const log = join(bulwark.dir, 'denied.log');
  const refused = await bulwark.call(['--root', bulwark.root, '--log', log, 'create', '--bundle', denied.dir, denied.id]);
  t.equal(refused.exitCode, 1, 'denied through the service: exit 1');
  t.match(refused.stderr, /^bulwark: denied by profile baseline: .*CAP_SYS_MODULE/, 'Bulwark\'s message on stderr');
  t.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
  t.match(readFileSync(log, 'utf8'), /level=error msg="bulwark: denied by profile baseline/, 'and in --log');
  t.equal(readFileSync(join(denied.dir, 'config.json'), 'utf8'), before, 'config untouched');
  t.equal((await bulwark.direct('runc', ['--root', bulwark.root, 'state', denied.id])).exitCode, 1, 'no container');
  t.match(bulwark.audit(denied.id), [{ via: 'service', decision: 'deny' }]);
  denied.destroy();
  await service.stop();
});

t.test('a killed service: the next create runs cold and is hardened the same', async (t) => {
  const service = await bulwark.startService();
  await service.stop('SIGKILL');
  const run = await runProbe(t, 'after-kill');
  checkHardenedInside(t, run);
  t.match(run.audit, [{ via: 'cold', decision: 'allow' }], 'the cold engine did the work');
});

t.test('the service killed at each point of a create: the launcher finishes it cold, hardened', async (t) => {
  // The service inherits BULWARK_FAILPOINT and SIGKILLs itself there, mid-request; the launcher
  // (without the variable) sees the connection drop and runs the cold engine on the same bundle.
  for (const point of ['ids.after-claim', 'config.before-write', 'config.before-rename', 'config.after-rename', 'record.after-write']) {
    const service = await bulwark.startService({ BULWARK_FAILPOINT: point });
    const run = await runProbe(t, `kill-${point.replace(/\./g, '-')}`);
    t.ok(service.exited(), `${point}: the service died there`);
    await service.stop();
    checkHardenedInside(t, run);
    t.match(run.audit.at(-1), { via: 'cold', decision: 'allow' }, `${point}: the cold engine finished the create`);
    t.equal(run.hardened.process?.noNewPrivileges, true, `${point}: the bundle holds the complete hardened config`);
  }
});

t.test('a service that answers garbage or hangs up: cold path, hardened', async (t) => {
  const behaviours: Array<[string, (c: import('node:net').Socket) => void]> = [
    ['hangs up at once', (c) => c.destroy()],
    ['a malformed frame', (c) => c.end(Buffer.from([3, 0, 0, 0, 0x78, 0x79, 0x7a]))],
    ['an unknown verb', (c) => c.end(Buffer.concat([Buffer.from([5, 0, 0, 0]), Buffer.from('boom\0')]))],
    ['an exec of a relative path', (c) => c.end(Buffer.concat([Buffer.from([15, 0, 0, 0]), Buffer.from('exec\0sh\0sh\0-c\0')]))],
  ];
  for (const [name, behave] of behaviours) {
    rmSync(socket, { force: true });
    let connections = 0;
    const fake = createServer((c) => {
      connections++;
      c.once('data', () => behave(c));
      c.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => fake.listen(socket, resolve));
    const run = await runProbe(t, 'garbage');
    await new Promise<void>((resolve) => fake.close(() => resolve()));
    t.ok(connections >= 1, `${name}: the launcher asked the fake service`);
    t.match(run.audit, [{ via: 'cold', decision: 'allow' }], `${name}: the cold engine did the work`);
    t.equal(run.result.exitCode, 0, `${name}: container ran`);
    t.equal(run.report?.status.NoNewPrivs, '1', `${name}: NoNewPrivs 1 inside`);
  }
});

t.test('bulwark doctor says whether the service answers', async (t) => {
  const doctor = () => execa(join(repoRoot, 'bin', 'bulwark'), ['doctor'], { reject: false, env: { BULWARK_CONFIG: bulwark.configPath }, stdin: 'ignore' });
  t.match((await doctor()).stdout, /^\[warn\]\s+policy service: nothing listens on .*engine\.sock/m, 'down: a warning');
  const service = await bulwark.startService();
  t.match((await doctor()).stdout, /^\[ok\]\s+policy service: listening on .*engine\.sock/m, 'up: ok');
  await service.stop();
});

t.test('BULWARK_SERVICE=off skips a running service', async (t) => {
  const service = await bulwark.startService();
  const bundle = await makeBundle({ label: 'off', args: ['/bin/true'] });
  const r = await bulwark.call(['--root', bulwark.root, 'run', '--bundle', bundle.dir, bundle.id], { env: { BULWARK_SERVICE: 'off' }, timeoutMs: 120_000 });
  t.equal(r.exitCode, 0);
  t.match(bulwark.audit(bundle.id), [{ via: 'cold' }]);
  bundle.destroy();
  await service.stop();
});
