import t from 'tap';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveLeniently } from '../../src/host/probe.js';

t.test('host paths resolve through symlinks, dangling ones included', async (t) => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'bulwark-resolve-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'real'));
  writeFileSync(join(dir, 'real', 'file'), '');
  symlinkSync(join(dir, 'real'), join(dir, 'dirlink'));
  symlinkSync('/var/run/nonexistent-bulwark.sock', join(dir, 'dangling'));
  symlinkSync('dangling', join(dir, 'chain'));
  symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a'));
  symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b'));
  const runDir = realpathSync('/var/run');
  const cases: Array<[string, string | null]> = [
    [join(dir, 'real', 'file'), join(dir, 'real', 'file')],
    [join(dir, 'dirlink', 'file'), join(dir, 'real', 'file')],
    [join(dir, 'dirlink', 'not-yet'), join(dir, 'real', 'not-yet')],
    [join(dir, 'dangling'), join(runDir, 'nonexistent-bulwark.sock')],
    [join(dir, 'chain'), join(runDir, 'nonexistent-bulwark.sock')],
    [join(dir, 'missing', 'deeper'), join(dir, 'missing', 'deeper')],
    [join(dir, 'loop-a'), null],
    ['relative/path', null],
    ['/', '/'],
  ];
  for (const [input, want] of cases) t.equal(resolveLeniently(input), want, input.replace(dir, '<tmp>'));
});
