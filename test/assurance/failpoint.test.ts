// failpoint(name): SIGKILL of the calling process when BULWARK_FAILPOINT names that point, and
// nothing otherwise. Run in child processes (the point kills whoever calls it).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FAILPOINTS } from '../../src/runtime/failpoint.js';

const MODULE = fileURLToPath(new URL('../../src/runtime/failpoint.js', import.meta.url));

function callIn(point: string, armed: string | undefined): { signal: NodeJS.Signals | null; status: number | null; stdout: string } {
  const env = { ...process.env };
  delete env.BULWARK_FAILPOINT;
  if (armed !== undefined) env.BULWARK_FAILPOINT = armed;
  const script = `const { failpoint } = await import(${JSON.stringify(MODULE)}); failpoint(${JSON.stringify(point)}); process.stdout.write('survived');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 30_000 });
  return { signal: r.signal, status: r.status, stdout: r.stdout };
}

t.test('every point kills only when armed with its own name', async (t) => {
  t.ok(FAILPOINTS.length >= 5, 'the points create passes through');
  for (const point of FAILPOINTS) {
    const armed = callIn(point, point);
    t.same([armed.signal, armed.stdout], ['SIGKILL', ''], `${point}: SIGKILL when armed`);
    const other = FAILPOINTS.find((p) => p !== point)!;
    t.same([callIn(point, other).status, callIn(point, other).stdout], [0, 'survived'], `${point}: nothing when another point is armed`);
  }
  t.same([callIn(FAILPOINTS[0], undefined).status, callIn(FAILPOINTS[0], '').stdout], [0, 'survived'], 'nothing when unset or empty');
});
