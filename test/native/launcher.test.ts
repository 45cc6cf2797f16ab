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

/**
 * The records directory for a global --root (src/runtime/records.ts encodes the same way):
 * [A-Za-z0-9.-] kept, any other byte `_` + two lowercase hex digits, no --root `_none`.
 * The encoding itself is checked against literal keys below, not against this helper.
 */
function rootKey(root: string | null): string {
  if (root === null) return '_none';
  return [...Buffer.from(root)].map((b) =>
    /[A-Za-z0-9.-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `_${b.toString(16).padStart(2, '0')}`).join('');
}
const recordPath = (state: string, root: string | null, id: string) => join(state, 'containers', rootKey(root), id, 'runtime.argv');

const FAKE_C1 = fake('c1');
const FAKE_DEFAULT = fake('default');
const FAKE_EVIL = fake('evil');
// c1 under every --root the tests below give it.
for (const root of [null, '/run/x', '/r', 'create', '--debug']) {
  record(recordPath(STATE, root, 'c1'), [FAKE_C1, '--extra', '--platform=ptrace']);
}
record(join(STATE, 'default-runtime.argv'), [FAKE_DEFAULT]);
// Records an id like "../x", "..", "." or a --root of "." / ".." would reach if used as a path,
// and the layout before records were keyed by --root.
for (const p of ['x', '', 'containers', 'containers/x', 'containers/_none', 'containers/c1', 'c1']) {
  record(join(STATE, p, 'runtime.argv'), [FAKE_EVIL]);
}

const ENGINE = join(work, 'engine.mjs');
writeFileSync(ENGINE, 'console.log(JSON.stringify({ argv: process.argv.slice(2), argv0: process.env.BULWARK_LAUNCHER_ARGV0, execArgv: process.execArgv }));\n');

/** The environment the launcher sees: ours without any BULWARK_* setting, plus `env`. */
function run(args: string[], env: Record<string, string> = {}, opts: SpawnSyncOptions = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BULWARK_')));
  const r = spawnSync(LAUNCHER, args, { encoding: 'utf8', env: { ...base, BULWARK_CONFIG: '/nonexistent', ...env }, ...opts });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

/** Where a call went: 'engine', or the tag of the fake runtime that ran. */
function route(args: string[], state = STATE): string {
  const r = run(args, { BULWARK_STATE_DIR: state, BULWARK_ENGINE: ENGINE });
  if (r.stdout.startsWith('{')) {
    const out = JSON.parse(r.stdout) as { argv: string[] };
    return JSON.stringify(out.argv) === JSON.stringify(args) ? 'engine' : `engine, argv changed: ${r.stdout}`;
  }
  return lines(r.stdout)[0] ?? `nothing ran: ${r.status} ${r.stderr}`;
}
type RouteRow = [args: string[], want: string];
function routes(t: { equal: (found: unknown, wanted: unknown, message: string) => boolean }, rows: readonly RouteRow[]): void {
  for (const [args, want] of rows) t.equal(route(args), want, JSON.stringify(args));
}
// runc stamps its errors with the current second; nothing else may differ.
const untimed = (s: string) => s.replace(/time="[^"]*"/g, 'time=T').replace(/"time":"[^"]*"/g, '"time":T');

t.test('pass-through output and exit status are runc\'s own', { skip: RUNC ? false : 'no runc installed' }, async (t) => {
  const root = join(work, 'runc-root');
  mkdirSync(root);
  const cases = [['--version'], ['--root', root, 'list'], ['--root', root, 'state', 'no-such-id'],
    ['--root', root, 'delete', 'no-such-id'], [`--root=${root}`, 'kill', 'no-such-id', 'KILL'], ['--help'],
    ['-root', root, 'state', 'no-such-id'], ['--debug', '--root', root, 'list'], ['--root', root, '--'], ['help', 'state']];
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
    ['--criu=criu', '-rootless=auto', '-log', '/tmp/l', '-log-format=text', 'resume', 'c1'],
    ['-debug', '-systemd-cgroup', 'start', 'c1'],
    ['--root', '--debug', 'state', 'c1'], // a value flag takes the next argument, whatever it is
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

t.test('ids that are not one path component of printable ASCII are never looked up', async (t) => {
  // Records where these ids would lead if they were used: the launcher must not read them.
  const odd = ['a\tb', 'é', 'x\x7f', 'c1\n', 'l'.repeat(256)];
  for (const id of odd.slice(0, -1)) record(recordPath(STATE, null, id), [FAKE_EVIL]);
  for (const id of ['../x', '..', '.', 'a/../../x', '', ...odd]) {
    const r = run(['state', id], { BULWARK_STATE_DIR: STATE });
    t.equal(r.status, 3, `id ${JSON.stringify(id)}: no error`);
    t.equal(lines(r.stdout)[0], 'default', `id ${JSON.stringify(id)}`);
  }
});

t.test('records are keyed by the encoded --root', async (t) => {
  const state = join(work, 'state-roots');
  record(join(state, 'default-runtime.argv'), [FAKE_DEFAULT]);
  // Literal keys: the encoding is a contract with the engine, not whatever rootKey() does.
  const keyed: [root: string | null, key: string, tag: string][] = [
    ['/a', '_2fa', 'root-a'],
    ['/run/containerd/runc/k8s.io', '_2frun_2fcontainerd_2frunc_2fk8s.io', 'k8s'],
    ['/run/containerd/runc/default', '_2frun_2fcontainerd_2frunc_2fdefault', 'ns-default'],
    ['/x y_z/\u00e9~', '_2fx_20y_5fz_2f_c3_a9_7e', 'odd-bytes'],
    ['Rel-1.2', 'Rel-1.2', 'relative'],
    [null, '_none', 'no-root'],
  ];
  for (const [root, key, tag] of keyed) {
    t.equal(rootKey(root), key, `test helper agrees: ${String(root)}`);
    record(join(state, 'containers', key, 'c9', 'runtime.argv'), [fake(tag)]);
  }
  const at = (args: string[]) => lines(run(args, { BULWARK_STATE_DIR: state }).stdout)[0];
  for (const [root, , tag] of keyed) {
    const g = root === null ? [] : ['--root', root];
    t.equal(at([...g, 'state', 'c9']), tag, `--root ${String(root)}`);
    t.equal(at([...g, 'kill', '--all', 'c9', '9']), tag, `--root ${String(root)}: kill`);
    if (root !== null) {
      t.equal(at([`--root=${root}`, 'delete', 'c9']), tag, `--root=${root}`);
      t.equal(at(['-root', root, 'pause', 'c9']), tag, `-root ${root}`);
    }
  }
  t.equal(at(['--root', '/b', 'state', 'c9']), 'default', '--root /b does not see /a\'s container');
  t.equal(at(['--root', '/a/', 'state', 'c9']), 'default', 'the root is encoded as written');
  t.equal(at(['--root', '/a', '--root', '/b', 'state', 'c9']), 'default', 'the last --root counts, as in Go');
  t.equal(at(['--root', '/b', '--root', '/a', 'state', 'c9']), 'root-a', 'the last --root counts (2)');
  t.equal(at(['--root', '/a', 'state', 'c1']), 'default', 'another id under the same root');
});

t.test('a --root whose key names no record directory of its own is not looked up', async (t) => {
  // "." and ".." are kept by the encoding: containers/./c1 is the old layout, containers/../c1 the state dir.
  for (const root of ['', '.', '..', `/${'a'.repeat(300)}`, '/'.repeat(90)]) {
    const r = run(['--root', root, 'state', 'c1'], { BULWARK_STATE_DIR: STATE });
    t.equal(r.status, 3, `--root ${JSON.stringify(root.slice(0, 12))}: no error`);
    t.equal(lines(r.stdout)[0], 'default', `--root ${JSON.stringify(root.slice(0, 12))}`);
  }
});

t.test('only certain calls pass through; anything else goes to the engine', async (t) => {
  routes(t, [
    // Bypass (a): urfave/cli reads --help=false / --version=0 as not help, and runc runs create.
    [['--help=false', 'create', 'x'], 'engine'],
    [['--version=0', 'create', 'x'], 'engine'],
    [['-h=false', 'run', 'x'], 'engine'],
    [['--help=true', 'create', 'x'], 'engine'],
    [['--debug=true', 'state', 'c1'], 'engine'],
    [['--systemd-cgroup=false', 'state', 'c1'], 'engine'],
    [['-debug=1', 'state', 'c1'], 'engine'],
    // Bypass (b): an unknown global may take a value (crun's --cgroup-manager, sent by podman).
    [['--cgroup-manager', 'disabled', 'create', 'x'], 'engine'],
    [['--cgroup-manager', 'disabled', '--root', '/run/crun', 'create', '--bundle', '/b', 'x'], 'engine'],
    [['--cgroup-manager=disabled', 'state', 'c1'], 'engine'],
    [['--unknown', 'state', 'c1'], 'engine'],
    [['--unknown=x', 'state', 'c1'], 'engine'],
    [['--debug', '--root', '/r', '--systemd-cgroup', '--nope', 'state', 'c1'], 'engine'],
    // Malformed flags and a value flag without its value.
    [['---root', '/r', 'state', 'c1'], 'engine'],
    [['-=x', 'state', 'c1'], 'engine'],
    [['--=x', 'state', 'c1'], 'engine'],
    [['--root'], 'engine'],
    [['--log'], 'engine'],
    // Subcommands that need policy, or that are not runc's.
    [['create', 'x'], 'engine'],
    [['run', '-d', 'x'], 'engine'],
    [['exec', 'c1', 'sh'], 'engine'],
    [['update', '--memory', '1G', 'c1'], 'engine'],
    [['features'], 'engine'],
    [['restore', 'x'], 'engine'],
    [['restore', '-b', '/bundle', '--detach', 'c1'], 'engine'],
    [['--root', '/r', 'restore', '--image-path', '/img', 'c1'], 'engine'],
    [['frobnicate', 'c1'], 'engine'],
    [['Create', 'x'], 'engine'],
    [['-', 'state', 'c1'], 'engine'],
    [['', 'c1'], 'engine'],
    [['--', 'create', 'x'], 'engine'],
    // help/version do not make a policy subcommand certain: the engine sees them.
    [['--version', 'create', 'c1'], 'engine'],
    [['-h', 'exec', 'c2'], 'engine'],
    [['--help', 'restore', 'c1'], 'engine'],
    // Certain: known globals in every form runc accepts, then a pass-through subcommand.
    [['-root', '/r', 'state', 'c1'], 'c1'],
    [['-root=/r', 'state', 'c1'], 'c1'],
    [['--root', '/r', '--log', '/tmp/l', '--log-format', 'json', '--systemd-cgroup', 'start', 'c1'], 'c1'],
    [['--debug', 'kill', 'c1', 'KILL'], 'c1'],
    [['--root', 'create', 'state', 'c1'], 'c1'],
    [['checkpoint', '--image-path', '/img', 'c1'], 'c1'],
    [['events', '--stats', 'c1'], 'c1'],
    [['ps', 'c1'], 'c1'],
    [['list'], 'default'],
    [['spec', '--rootless'], 'default'],
    [['help'], 'default'],
    [['help', 'create'], 'default'],
    [['h', 'run'], 'default'],
    [['--help'], 'default'],
    [['-h'], 'default'],
    [['--version'], 'default'],
    [['-v'], 'default'],
    [['--root', '/r', '--version'], 'default'],
    [['--help', 'state', 'c1'], 'c1'],
    [[], 'default'],
    [['--'], 'default'],
  ]);
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

t.test('create, run, exec, update, features and restore go to the engine with argv unchanged', async (t) => {
  const handler = join(work, 'bulwark-runtime-restricted');
  symlinkSync(LAUNCHER, handler);
  const cases = [
    ['--root', '/run/containerd/runc/k8s.io', '--log', '/b/log.json', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/b/init.pid', 'c9'],
    ['run', '-d', 'c9'],
    ['exec', '--process', '/tmp/p.json', '--detach', 'c1'],
    ['update', '--resources', '-', 'c1'],
    ['features'],
    ['--debug', 'create', 'c1'],
    ['restore', '--bundle', '/b', '--image-path', '/img', 'c1'],
    ['--cgroup-manager', 'disabled', '--log', '/b/log.json', 'create', 'c1'],
  ];
  for (const args of cases) {
    const r = spawnSync(handler, args, { encoding: 'utf8', env: { ...process.env, BULWARK_ENGINE: ENGINE, BULWARK_STATE_DIR: STATE } });
    t.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { argv: string[]; argv0: string; execArgv: string[] };
    t.same(out.argv, args, args.join(' '));
    t.equal(out.argv0, handler, 'BULWARK_LAUNCHER_ARGV0 is the name it was called by');
    t.same(out.execArgv, ['--no-warnings']);
  }
  t.equal(route(['--version=false', 'features']), 'engine', '--version=false is not --version');
});

t.test('called as "runc" through libexec/bulwark/<profile>/runc (shim mode), it names itself bulwark-runtime-<profile>', async (t) => {
  const tree = join(work, 'shim-tree');
  const link = (rel: string) => {
    mkdirSync(join(tree, rel, '..'), { recursive: true });
    symlinkSync(LAUNCHER, join(tree, rel));
    return join(tree, rel);
  };
  const cases: Array<[path: string, cwd: string | undefined, argv0: string]> = [
    [link('libexec/bulwark/restricted/runc'), undefined, 'bulwark-runtime-restricted'],
    [join(tree, 'bin/../libexec/bulwark/restricted/runc'), undefined, 'bulwark-runtime-restricted'],
    ['libexec/bulwark/strict/runc', (link('libexec/bulwark/strict/runc'), tree), 'bulwark-runtime-strict'],
    [link('libexec/bulwark/runc'), undefined, 'runc'], // the default profile's entry
    [link('libexec/bulwark/Bad/runc'), undefined, 'runc'],
    [link('libexec/bulwark/-x/runc'), undefined, 'runc'],
    [link('libexec/bulwark/restricted/crun'), undefined, 'runc'],
    [link('xlibexec/bulwark/restricted/runc'), undefined, 'runc'],
    [link('other/restricted/runc'), undefined, 'runc'],
  ];
  mkdirSync(join(tree, 'bin'), { recursive: true });
  for (const [path, cwd, argv0] of cases) {
    const r = spawnSync(path, ['create', 'c9'], { argv0: 'runc', cwd, encoding: 'utf8', env: { ...process.env, BULWARK_ENGINE: ENGINE, BULWARK_STATE_DIR: STATE } });
    t.equal(r.status, 0, r.stderr);
    t.equal((JSON.parse(r.stdout) as { argv0: string }).argv0, argv0, path);
  }
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
  mkdirSync(join(state, 'containers', '_none', 'c1'), { recursive: true });
  writeFileSync(recordPath(state, null, 'c1'), 'relative/runc\0');
  record(join(state, 'default-runtime.argv'), [FAKE_DEFAULT]);
  const r = run(['state', 'c1'], { BULWARK_STATE_DIR: state });
  t.equal(r.status, 1);
  t.match(r.stderr, /cannot use runtime record .*malformed/);
  writeFileSync(recordPath(state, null, 'c1'), `${FAKE_C1}`); // no NUL terminator
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
