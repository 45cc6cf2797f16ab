// bin/bulwark-runtime: routing (engine vs pass-through), runtime records, argv grammar, errors.
// Fake runtimes are shell scripts that print their argv; runc itself is used only where the
// output must be identical to runc's.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import type { SpawnSyncOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LAUNCHER = fileURLToPath(new URL('../../../bin/bulwark-runtime', import.meta.url));
if (!existsSync(LAUNCHER)) throw new Error(`${LAUNCHER} not built (run make -C native)`);
const RUNC = ['/usr/local/sbin/runc', '/usr/local/bin/runc', '/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));

const work = mkdtempSync(join(tmpdir(), 'bulwark-launcher-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const STATE = join(work, 'state');
const EMPTY_STATE = join(work, 'empty-state');
mkdirSync(EMPTY_STATE);

function script(name: string, body: string): string {
  const p = join(work, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}
/** Prints its argv one per line, led by a tag so tests see which runtime ran. */
const fake = (tag: string) => script(`fake-${tag}`, `echo ${tag}; for a in "$0" "$@"; do printf '%s\\n' "$a"; done; exit 3`);
const record = (path: string, args: string[]) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, args.map((a) => `${a}\0`).join(''));
};

const FAKE_C1 = fake('c1');
const FAKE_DEFAULT = fake('default');
const FAKE_EVIL = fake('evil');
record(join(STATE, 'containers', 'c1', 'runtime.argv'), [FAKE_C1, '--extra', '--platform=ptrace']);
record(join(STATE, 'default-runtime.argv'), [FAKE_DEFAULT]);
// Records an id like "../x" or ".." would reach if the id were used as a path.
record(join(STATE, 'x', 'runtime.argv'), [FAKE_EVIL]);
record(join(STATE, 'runtime.argv'), [FAKE_EVIL]);
record(join(STATE, 'containers', 'runtime.argv'), [FAKE_EVIL]);

const ENGINE = join(work, 'engine.mjs');
writeFileSync(ENGINE, 'console.log(JSON.stringify({ argv: process.argv.slice(2), argv0: process.env.BULWARK_LAUNCHER_ARGV0, execArgv: process.execArgv }));\n');

/** The environment the launcher sees: ours without any BULWARK_* setting, plus `env`. */
function run(args: string[], env: Record<string, string> = {}, opts: SpawnSyncOptions = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BULWARK_')));
  const r = spawnSync(LAUNCHER, args, { encoding: 'utf8', env: { ...base, BULWARK_CONFIG: '/nonexistent', ...env }, ...opts });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}
const lines = (s: string) => s.split('\n').filter((l) => l !== '');
// runc stamps its errors with the current second; nothing else may differ.
const untimed = (s: string) => s.replace(/time="[^"]*"/g, 'time=T').replace(/"time":"[^"]*"/g, '"time":T');

t.test('pass-through output and exit status are runc\'s own', { skip: RUNC ? false : 'no runc installed' }, async (t) => {
  const root = join(work, 'runc-root');
  mkdirSync(root);
  const cases = [['--version'], ['--root', root, 'list'], ['--root', root, 'state', 'no-such-id'],
    ['--root', root, 'delete', 'no-such-id'], [`--root=${root}`, 'kill', 'no-such-id', 'KILL'], ['--help']];
  for (const args of cases) {
    const ours = run(args, { BULWARK_STATE_DIR: EMPTY_STATE });
    const theirs = spawnSync(RUNC!, args, { encoding: 'utf8' });
    t.equal(ours.status, theirs.status, `${args.join(' ')}: status`);
    t.equal(ours.stdout, theirs.stdout, `${args.join(' ')}: stdout`);
    t.equal(untimed(ours.stderr), untimed(theirs.stderr), `${args.join(' ')}: stderr`);
  }
});

t.test('--log FILE --log-format json before the subcommand reach runc', { skip: RUNC ? false : 'no runc installed' }, async (t) => {
  const root = join(work, 'runc-root-log');
  mkdirSync(root);
  const ourLog = join(work, 'ours.json');
  const theirLog = join(work, 'theirs.json');
  const ours = run(['--root', root, '--log', ourLog, '--log-format', 'json', 'state', 'no-such-id'], { BULWARK_STATE_DIR: EMPTY_STATE });
  const theirs = spawnSync(RUNC!, ['--root', root, '--log', theirLog, '--log-format', 'json', 'state', 'no-such-id'], { encoding: 'utf8' });
  t.equal(ours.status, theirs.status);
  t.equal(untimed(readFileSync(ourLog, 'utf8')), untimed(readFileSync(theirLog, 'utf8')));
  t.match(readFileSync(ourLog, 'utf8'), /"msg":"container does not exist"/);
});

t.test('a container record routes to its runtime with the extra args inserted', async (t) => {
  const r = run(['--root', '/run/x', 'state', 'c1'], { BULWARK_STATE_DIR: STATE });
  t.equal(r.status, 3, 'exit status of the runtime');
  t.same(lines(r.stdout), ['c1', FAKE_C1, '--extra', '--platform=ptrace', '--root', '/run/x', 'state', 'c1']);
});

t.test('global flags of every form are skipped to find the subcommand and id', async (t) => {
  const cases = [
    ['--root=/run/x', 'state', 'c1'],
    ['-root', '/run/x', 'state', 'c1'],
    ['--root', 'create', 'state', 'c1'], // a value that looks like a subcommand
    ['--log', '/tmp/l', '--log-format', 'json', 'start', 'c1'],
    ['--debug', '--systemd-cgroup', 'pause', 'c1'],
    ['--criu', 'criu', '--rootless', 'auto', 'resume', 'c1'],
    ['--unknown=x', 'state', 'c1'],
    ['--', 'state', 'c1'],
  ];
  for (const args of cases) {
    const r = run(args, { BULWARK_STATE_DIR: STATE });
    t.same(lines(r.stdout).slice(0, 4), ['c1', FAKE_C1, '--extra', '--platform=ptrace'], args.join(' '));
    t.same(lines(r.stdout).slice(4), args, `${args.join(' ')}: argv unchanged`);
  }
});

t.test('subcommand flags (before or after the id) are skipped to find the id', async (t) => {
  const cases = [
    ['kill', '--all', 'c1', '9'],
    ['kill', 'c1', 'KILL'],
    ['delete', '--force', 'c1'],
    ['delete', '-f', 'c1'],
    ['ps', '--format', 'json', 'c1'],
    ['ps', '-f', 'json', 'c1'],
    ['ps', '--format=json', 'c1'],
    ['events', '--interval', '1s', '--stats', 'c1'],
    ['state', '--', 'c1'],
    ['checkpoint', '--image-path', '/img', '--leave-running', 'c1'],
    ['restore', '-b', '/bundle', '--detach', 'c1'],
  ];
  for (const args of cases) {
    const r = run(args, { BULWARK_STATE_DIR: STATE });
    t.equal(lines(r.stdout)[0], 'c1', args.join(' '));
  }
  // urfave/cli moves a known flag written after a positional to the front together with the
  // argument after it, boolean or not: runc 1.1.5 reads `kill x --all c1` as container c1.
  t.equal(lines(run(['kill', 'other', '--all', 'c1'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'c1', 'kill other --all c1');
  t.equal(lines(run(['kill', 'c1', '--all', 'other'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'default', 'kill c1 --all other');
  t.equal(lines(run(['delete', 'c1', '--force'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'c1', 'delete c1 --force');
  t.equal(lines(run(['state', 'other', '--help=false', 'c1'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'default', 'flag=value moves alone');
  t.equal(lines(run(['ps', 'c1', '--format', 'other'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'c1', 'ps does not reorder');
  t.equal(lines(run(['kill', 'other', '--', '--all', 'c1'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'default', 'nothing moves past --');
  // A value flag's value is not the id: "json" is not a container with a record.
  t.equal(lines(run(['ps', '--format', 'c1'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'default', 'ps --format c1: no id');
  t.equal(lines(run(['list', 'c1'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'default', 'list takes no id');
  t.equal(lines(run(['spec', '--bundle', 'c1'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'default', 'spec takes no id');
});

t.test('without a container record the default record is used', async (t) => {
  const r = run(['--root', '/run/x', 'delete', 'other'], { BULWARK_STATE_DIR: STATE });
  t.same(lines(r.stdout), ['default', FAKE_DEFAULT, '--root', '/run/x', 'delete', 'other']);
  t.equal(lines(run(['--version'], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'default', 'no subcommand');
  t.equal(lines(run([], { BULWARK_STATE_DIR: STATE }).stdout)[0], 'default', 'no arguments');
});

t.test('ids that are not one path component never reach outside the state dir', async (t) => {
  for (const id of ['../x', '..', '.', 'a/../../x', '']) {
    const r = run(['state', id], { BULWARK_STATE_DIR: STATE });
    t.equal(lines(r.stdout)[0], 'default', `id ${JSON.stringify(id)}`);
  }
});

t.test('the state dir comes from the config file when the env does not set it', async (t) => {
  const cfg = join(work, 'config.yaml');
  writeFileSync(cfg, `# bulwark\ndefaultProfile: restricted\nstateDir: "${STATE}"   # comment\nshim:\n  stateDir: /elsewhere\n`);
  t.equal(lines(run(['state', 'c1'], { BULWARK_CONFIG: cfg }).stdout)[0], 'c1');
  writeFileSync(cfg, `stateDir: ${STATE}\n`);
  t.equal(lines(run(['state', 'c1'], { BULWARK_CONFIG: cfg }).stdout)[0], 'c1', 'unquoted');
  writeFileSync(cfg, `stateDir:\t'${STATE}'\r\n`);
  t.equal(lines(run(['state', 'c1'], { BULWARK_CONFIG: cfg }).stdout)[0], 'c1', 'single-quoted, CRLF');
  const other = join(work, 'state-other');
  record(join(other, 'default-runtime.argv'), [fake('other')]);
  t.equal(lines(run(['state', 'c1'], { BULWARK_CONFIG: cfg, BULWARK_STATE_DIR: other }).stdout)[0], 'other', 'the env wins');
});

t.test('create, run, exec, update and features go to the engine with argv unchanged', async (t) => {
  const handler = join(work, 'bulwark-runtime-restricted');
  symlinkSync(LAUNCHER, handler);
  const cases = [
    ['--root', '/run/containerd/runc/k8s.io', '--log', '/b/log.json', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/b/init.pid', 'c9'],
    ['run', '-d', 'c9'],
    ['exec', '--process', '/tmp/p.json', '--detach', 'c1'],
    ['update', '--resources', '-', 'c1'],
    ['features'],
    ['--debug', 'create', 'c1'],
  ];
  for (const args of cases) {
    const r = spawnSync(handler, args, { encoding: 'utf8', env: { ...process.env, BULWARK_ENGINE: ENGINE, BULWARK_STATE_DIR: STATE } });
    t.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { argv: string[]; argv0: string; execArgv: string[] };
    t.same(out.argv, args, args.join(' '));
    t.equal(out.argv0, handler, 'BULWARK_LAUNCHER_ARGV0 is the name it was called by');
    t.same(out.execArgv, ['--no-warnings']);
  }
  // --help/--version are answered by the runtime (here c1's) even with an engine subcommand.
  t.equal(lines(run(['--version', 'create', 'c1'], { BULWARK_STATE_DIR: STATE, BULWARK_ENGINE: ENGINE }).stdout)[0], 'c1');
  t.equal(lines(run(['-h', 'exec', 'c2'], { BULWARK_STATE_DIR: STATE, BULWARK_ENGINE: ENGINE }).stdout)[0], 'default');
  const notVersion = run(['--version=false', 'features'], { BULWARK_STATE_DIR: STATE, BULWARK_ENGINE: ENGINE });
  t.same((JSON.parse(notVersion.stdout) as { argv: string[] }).argv, ['--version=false', 'features'], '--version=false is not --version');
});

t.test('an engine that is not there fails closed, in the log containerd reads', async (t) => {
  const log = join(work, 'engine-missing.json');
  const r = run(['--log', log, '--log-format', 'json', 'create', '--bundle', '/b', 'c1'], { BULWARK_ENGINE: join(work, 'nope.mjs') });
  t.equal(r.status, 1);
  t.match(r.stderr, /^bulwark: engine .*nope\.mjs is not readable/);
  const entry = JSON.parse(readFileSync(log, 'utf8')) as Record<string, string>;
  t.equal(entry.level, 'error');
  t.match(entry.msg, /engine .*not readable/);
});

t.test('a missing runtime exits 127 with runc\'s JSON log line', async (t) => {
  const state = join(work, 'state-missing');
  record(join(state, 'default-runtime.argv'), ['/nonexistent/runc', '--x']);
  const log = join(work, 'missing.json');
  writeFileSync(log, '{"level":"info","msg":"earlier","time":"2020-01-01T00:00:00Z"}\n');
  const r = run(['--log', log, '--log-format', 'json', 'state', 'c1'], { BULWARK_STATE_DIR: state });
  t.equal(r.status, 127);
  t.equal(r.stdout, '');
  t.match(r.stderr, /^bulwark: no low-level runtime found \(looked in \/nonexistent\/runc/);
  const entries = lines(readFileSync(log, 'utf8'));
  t.equal(entries.length, 2, 'appended, not truncated');
  const entry = JSON.parse(entries[1]!) as Record<string, string>;
  t.same(Object.keys(entry), ['level', 'msg', 'time']);
  t.equal(entry.level, 'error');
  t.equal(entry.msg, r.stderr.trim());
  t.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  const textLog = join(work, 'missing.log');
  run(['--log', textLog, 'state', 'c1'], { BULWARK_STATE_DIR: state });
  t.match(readFileSync(textLog, 'utf8'), /^time="[^"]+" level=error msg="bulwark: no low-level runtime found/, 'text format otherwise');
});

t.test('a malformed record fails instead of guessing another runtime', async (t) => {
  const state = join(work, 'state-bad');
  mkdirSync(join(state, 'containers', 'c1'), { recursive: true });
  writeFileSync(join(state, 'containers', 'c1', 'runtime.argv'), 'relative/runc\0');
  record(join(state, 'default-runtime.argv'), [FAKE_DEFAULT]);
  const r = run(['state', 'c1'], { BULWARK_STATE_DIR: state });
  t.equal(r.status, 1);
  t.match(r.stderr, /cannot use runtime record .*malformed/);
  writeFileSync(join(state, 'containers', 'c1', 'runtime.argv'), `${FAKE_C1}`); // no NUL terminator
  t.equal(run(['state', 'c1'], { BULWARK_STATE_DIR: state }).status, 1);
});

t.test('no descriptor of the launcher reaches the runtime; the caller\'s do', async (t) => {
  const state = join(work, 'state-fds');
  // The record's extra args make sh list its own descriptors; the argv follows as $1...
  record(join(state, 'default-runtime.argv'), ['/bin/sh', '-c', 'ls /proc/$$/fd; echo "$@"', 'sh']);
  const cfg = join(work, 'config-fds.yaml');
  writeFileSync(cfg, `stateDir: ${state}\n`);
  const extra = openSync('/dev/null', 'r');
  t.teardown(() => closeSync(extra));
  const stdio: SpawnSyncOptions['stdio'] = ['pipe', 'pipe', 'pipe', extra];
  const r = run(['--log', join(work, 'fds.log'), 'state', 'c1'], { BULWARK_CONFIG: cfg }, { stdio });
  // The same shell started directly shows what the caller passes (test runners may leak more).
  const direct = spawnSync('/bin/sh', ['-c', 'ls /proc/$$/fd'], { encoding: 'utf8', stdio });
  t.ok(lines(direct.stdout).includes('3'), 'the caller passes fd 3');
  t.same(lines(r.stdout), [...lines(direct.stdout), `--log ${join(work, 'fds.log')} state c1`]);
});
