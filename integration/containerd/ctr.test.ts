// End to end through a real, private containerd 1.6 with `ctr run`: binary mode (the runc shim
// with BinaryName = bin/bulwark-runtime, as `ctr run --runc-binary` sets it) and shim mode
// (`--runtime io.containerd.bulwark.v2`, found on containerd's PATH through the link that
// `bulwark install containerd --mode shim --shim-dir` made). The container checks itself with
// the probe; a plain runc container in the same containerd is the control.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { isIdentityMap, parseIdMap, parseProbeOutput } from '../lib/index.js';
import type { SelfReport } from '../lib/index.js';
import { availability, bulwarkRuntime, hardened, IMAGE, importImage, startContainerd } from './lib.js';
import type { Containerd } from './lib.js';

const NS = 'bulwark-e2e';
const skip = availability();
let seq = 0;

async function run(c: Containerd, flags: string[], args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string; id: string }> {
  const id = `ctr-${process.pid}-${++seq}`;
  c.track(NS, id);
  const fifo = join(c.dir, 'fifo');
  mkdirSync(fifo, { recursive: true });
  const r = await c.ctr(['-n', NS, 'run', '--rm', '--fifo-dir', fifo, '--cgroup', `/bulwark-test/${id}`, ...flags, IMAGE, id, ...args]);
  return { ...r, id };
}

t.test('binary mode: ctr run --runc-binary bin/bulwark-runtime', { skip }, async (t) => {
  const c = await startContainerd();
  t.teardown(async () => {
    const left = await c.stop();
    if (left.length) t.fail(`left behind: ${left.join(', ')}`);
  });
  await importImage(c, NS);

  await t.test('the container is hardened', async (t) => {
    const started = Date.now();
    const r = await run(c, ['--runc-binary', bulwarkRuntime], ['/bin/probe', 'self']);
    if (r.exitCode !== 0) t.fail(`ctr run failed: ${r.stderr}\n${c.log().slice(-2000)}`);
    if (r.exitCode !== 0) return;
    hardened(t, parseProbeOutput<SelfReport>(r.stdout));
    t.comment(`ctr run --rm (bulwark, binary mode): ${Date.now() - started} ms`);
  });

  await t.test('control: plain runc in the same containerd is not hardened', async (t) => {
    const r = await run(c, [], ['/bin/probe', 'self']);
    t.equal(r.exitCode, 0, r.stderr);
    if (r.exitCode !== 0) return;
    const report = parseProbeOutput<SelfReport>(r.stdout);
    t.ok(isIdentityMap(parseIdMap(report.uid_map)), 'identity uid map');
    t.not(report.status.Seccomp, '2', 'no seccomp filter');
  });

  await t.test('a per-profile executable: bulwark-runtime-restricted refuses root', async (t) => {
    const r = await run(c, ['--runc-binary', `${bulwarkRuntime}-restricted`], ['/bin/true']);
    t.not(r.exitCode, 0);
    t.match(r.stderr, /bulwark: denied by profile restricted/, 'Bulwark\'s message reaches ctr');
  });
});

t.test('shim mode: ctr run --runtime io.containerd.bulwark.v2', { skip }, async (t) => {
  const c = await startContainerd({ installArgs: ['--mode', 'shim'] });
  t.teardown(async () => {
    const left = await c.stop();
    if (left.length) t.fail(`left behind: ${left.join(', ')}`);
  });
  t.match(c.configText, /runtime_type = "io\.containerd\.bulwark\.v2"/);
  await importImage(c, NS);

  await t.test('the container is hardened', async (t) => {
    const started = Date.now();
    const r = await run(c, ['--runtime', 'io.containerd.bulwark.v2'], ['/bin/probe', 'self']);
    if (r.exitCode !== 0) t.fail(`ctr run failed: ${r.stderr}\n${c.log().slice(-2000)}`);
    if (r.exitCode !== 0) return;
    hardened(t, parseProbeOutput<SelfReport>(r.stdout));
    t.comment(`ctr run --rm (bulwark, shim mode): ${Date.now() - started} ms`);
  });

  await t.test('the per-profile shim picks its profile from its name', async (t) => {
    const r = await run(c, ['--runtime', 'io.containerd.bulwark-restricted.v2'], ['/bin/true']);
    t.not(r.exitCode, 0);
    t.match(r.stderr, /bulwark: denied by profile restricted/);
  });
});
