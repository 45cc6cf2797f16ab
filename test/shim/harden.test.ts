// The proxy's hardener runs `bulwark harden` / `bulwark harden-process`: argv, stdin, and how
// exit codes and stderr become verdicts. A recording fake stands in for the command here;
// integration/shim/ runs the real one.
import t from 'tap';
import { cliHardener, refusalMessage, runCommand } from '../../src/shim/harden.js';
import type { CommandResult, RunCommand } from '../../src/shim/harden.js';

const result = (over: Partial<CommandResult>): CommandResult => ({ code: 0, signal: null, stdout: Buffer.alloc(0), stderr: '', ...over });

t.test('refusal messages', async (t) => {
  const rows: Array<[string, Partial<CommandResult>, string]> = [
    ['Bulwark\'s own line wins', { code: 1, stderr: 'noise\nbulwark: denied by profile baseline: process.capabilities.bounding adds CAP_SYS_ADMIN\n' }, 'bulwark: denied by profile baseline: process.capabilities.bounding adds CAP_SYS_ADMIN'],
    ['other stderr: the last line', { code: 3, stderr: 'first\nlast\n' }, 'bulwark: harden c1 failed (exit 3): last'],
    ['silent failure', { code: 1 }, 'bulwark: harden c1 failed (exit 1)'],
    ['killed (timeout)', { code: null, signal: 'SIGKILL' }, 'bulwark: harden c1 was killed by SIGKILL (timed out?)'],
    ['cannot run', { code: null, error: new Error('spawn /x ENOENT') }, 'bulwark: harden c1: spawn /x ENOENT'],
  ];
  for (const [name, r, want] of rows) t.equal(refusalMessage('harden c1', result(r)), want, name);
});

t.test('cliHardener: argv, stdin, verdicts', async (t) => {
  const calls: Array<{ file: string; args: string[]; stdin: string | null }> = [];
  let next: Partial<CommandResult> = {};
  const run: RunCommand = async (file, args, stdin) => {
    calls.push({ file, args, stdin: stdin ? Buffer.from(stdin).toString() : null });
    return result(next);
  };
  const h = cliHardener({ bulwark: '/opt/bulwark/bin/bulwark', profile: 'kata', run });
  t.same(await h.create('c1', '/b/c1'), { ok: true, value: undefined });
  t.same(calls.at(-1), { file: '/opt/bulwark/bin/bulwark', args: ['harden', '--bundle', '/b/c1', '--id', 'c1', '--profile', 'kata'], stdin: null });

  next = { stdout: Buffer.from('{"args":["sh"],"noNewPrivileges":true}') };
  const e = await h.exec('c1', '/b/c1', new TextEncoder().encode('{"args":["sh"]}'));
  t.same(calls.at(-1), { file: '/opt/bulwark/bin/bulwark', args: ['harden-process', '--bundle', '/b/c1', '--profile', 'kata'], stdin: '{"args":["sh"]}' });
  t.ok(e.ok && Buffer.from(e.value).toString() === '{"args":["sh"],"noNewPrivileges":true}', 'hardened JSON from stdout');

  next = { code: 1, stderr: 'bulwark: denied by profile kata: x\n' };
  t.same(await h.create('c2', '/b/c2'), { ok: false, message: 'bulwark: denied by profile kata: x' });
  t.same(await h.exec('c2', '/b/c2', new Uint8Array(0)), { ok: false, message: 'bulwark: denied by profile kata: x' });
  next = {};
  t.same(await h.exec('c3', '/b/c3', new Uint8Array(0)), { ok: false, message: 'bulwark: harden-process c3 printed no process' }, 'exit 0 but no output is refused');

  const dflt = cliHardener({ bulwark: '/b', profile: null, run });
  await dflt.create('c4', '/b/c4');
  t.same(calls.at(-1)!.args, ['harden', '--bundle', '/b/c4', '--id', 'c4'], 'the default profile: no --profile');
});

t.test('runCommand: real processes, stdin, exit codes, timeouts, missing binaries', async (t) => {
  const cat = await runCommand('/bin/sh', ['-c', 'cat; echo err >&2; exit 4'], new TextEncoder().encode('in'), 5000);
  t.equal(cat.stdout.toString(), 'in');
  t.equal(cat.stderr, 'err\n');
  t.equal(cat.code, 4);
  const slow = await runCommand('/bin/sleep', ['5'], null, 100);
  t.equal(slow.signal, 'SIGKILL');
  const missing = await runCommand('/nonexistent/bulwark', [], null, 1000);
  t.match(missing.error?.message ?? '', /ENOENT/);
});
