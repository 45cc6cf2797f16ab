// A real, private containerd (Debian's 1.6.20, integration/containerd/lib.ts) with Bulwark's shim
// handlers in proxy mode (BULWARK_SHIM_MODE=proxy in containerd's environment, inherited by the
// shims): containerd itself speaks ttrpc to the proxy, the runc shim behind it still has Bulwark's
// runc on its PATH, so each container is hardened twice (by the proxy on Create, then by
// bulwark-runtime on `runc create`): this proves the two agree (hardening is idempotent) and that
// a denial now comes from the proxy, before the runc shim sees the container.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseProbeOutput } from '../lib/index.js';
import type { SelfReport } from '../lib/index.js';
import { availability, hardened, IMAGE, importImage, startContainerd } from '../containerd/lib.js';
import { tempPrefix } from '../lib/paths.js';
import { readIfExists } from './lib.js';

const NS = 'bulwark-shim-proxy';
const skip = availability();

t.test('containerd 1.6 through the shim proxy (runc shim, PATH trick kept)', { skip }, async (t) => {
  const saved = { mode: process.env.BULWARK_SHIM_MODE, log: process.env.BULWARK_SHIM_LOG };
  const logDir = mkdtempSync(`${tempPrefix}shim-log-`);
  t.teardown(() => rmSync(logDir, { recursive: true, force: true }));
  const shimLog = join(logDir, 'proxy.log');
  const c = await (async () => {
    // startContainerd hands this process's environment to containerd, and containerd to its shims.
    process.env.BULWARK_SHIM_MODE = 'proxy';
    process.env.BULWARK_SHIM_LOG = shimLog;
    try {
      const started = await startContainerd({ installArgs: ['--mode', 'shim'] });
      return started;
    } finally {
      for (const [k, v] of [['BULWARK_SHIM_MODE', saved.mode], ['BULWARK_SHIM_LOG', saved.log]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  })();
  t.teardown(async () => {
    const left = await c.stop();
    if (left.length) t.fail(`left behind: ${left.join(', ')}`);
  });
  await importImage(c, NS);
  let seq = 0;
  const run = async (runtime: string, args: string[]) => {
    const id = `proxy-${process.pid}-${++seq}`;
    c.track(NS, id);
    const fifo = join(c.dir, 'fifo');
    mkdirSync(fifo, { recursive: true });
    const r = await c.ctr(['-n', NS, 'run', '--rm', '--fifo-dir', fifo, '--cgroup', `/bulwark-test/${id}`, '--runtime', runtime, IMAGE, id, ...args]);
    return { ...r, id };
  };

  await t.test('the container is hardened', async (t) => {
    const r = await run('io.containerd.bulwark.v2', ['/bin/probe', 'self']);
    if (r.exitCode !== 0) t.fail(`ctr run failed: ${r.stderr}\n${c.log().slice(-2000)}`);
    if (r.exitCode !== 0) return;
    hardened(t, parseProbeOutput<SelfReport>(r.stdout));
    t.match(readIfExists(shimLog), /serving .*\.sock -> \/run\/containerd\/s\//, 'containerd talked to a proxy in front of the runc shim');
  });

  await t.test('a denial comes back from the proxy with Bulwark\'s message', async (t) => {
    const r = await run('io.containerd.bulwark-restricted.v2', ['/bin/true']);
    t.not(r.exitCode, 0);
    t.match(r.stderr, /bulwark: denied by profile restricted/);
    t.match(readIfExists(shimLog), new RegExp(`create ${r.id}: refused: bulwark: denied by profile restricted`), 'refused by the proxy, before the runc shim saw it');
  });
});
