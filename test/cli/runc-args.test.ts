import t from 'tap';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import {
  POLICY_COMMANDS, RUNC_COMMANDS, RUNC_GLOBAL_FLAGS, RUNC_SUBCOMMANDS, bundleDir, needsPolicy,
  parseRuncArgs,
} from '../../src/cli/runc-args.js';
import type { RuncGlobalOptions, RuncInvocation } from '../../src/cli/runc-args.js';

interface Expected {
  global?: Partial<RuncGlobalOptions>;
  command?: string | null;
  /** Defaults to the first occurrence of `command` in argv. */
  at?: number;
  id?: string | null;
  options?: RuncInvocation['options'];
  positionals?: string[];
  rejected?: string[];
}

function expected(argv: readonly string[], e: Expected): RuncInvocation {
  const command = e.command ?? null;
  return {
    global: { systemdCgroup: false, debug: false, help: false, version: false, ...e.global },
    command,
    commandIndex: e.at ?? (command === null ? -1 : argv.indexOf(command)),
    id: e.id ?? null,
    options: e.options ?? {},
    positionals: e.positionals ?? [],
    rejectedFlags: e.rejected ?? [],
  };
}

type Row = [title: string, argv: string[], want: Expected];

type Same = (found: unknown, wanted: unknown, message: string) => boolean;

function check(same: Same, rows: readonly Row[]): void {
  for (const [title, argv, want] of rows) {
    same(parseRuncArgs(argv), expected(argv, want), `${title}: ${JSON.stringify(argv)}`);
  }
}

// Exactly what containerd 1.6's runc shim passed, seen through a logging pass-through.
const NS_ROOT = '/run/containerd/runc/k8s.io';
const BUNDLE = '/run/containerd/io.containerd.runtime.v2.task/k8s.io/4f1c';
const CONTAINERD_GLOBALS = ['--root', NS_ROOT, '--log', `${BUNDLE}/log.json`, '--log-format', 'json'];
const containerdGlobal = { root: NS_ROOT, log: `${BUNDLE}/log.json`, logFormat: 'json' };

t.test('containerd 1.6 (go-runc) argv', async (t) => {
  const cd = (...rest: string[]) => [...CONTAINERD_GLOBALS, ...rest];
  check(t.same.bind(t), [
    ['create', cd('create', '--bundle', BUNDLE, '--pid-file', `${BUNDLE}/init.pid`, '4f1c'), {
      global: containerdGlobal, command: 'create', at: 6, id: '4f1c',
      options: { bundle: BUNDLE, 'pid-file': `${BUNDLE}/init.pid` }, positionals: ['4f1c'],
    }],
    ['create with a terminal', cd('create', '--bundle', BUNDLE, '--console-socket', '/tmp/pty1/pty.sock', '--pid-file', 'init.pid', '4f1c'), {
      global: containerdGlobal, command: 'create', id: '4f1c',
      options: { bundle: BUNDLE, 'console-socket': '/tmp/pty1/pty.sock', 'pid-file': 'init.pid' }, positionals: ['4f1c'],
    }],
    ['systemd cgroups, rootless=false', [...CONTAINERD_GLOBALS, '--systemd-cgroup', '--rootless=false', 'create', '--bundle', BUNDLE, '4f1c'], {
      global: { ...containerdGlobal, systemdCgroup: true, rootless: 'false' }, command: 'create', at: 8, id: '4f1c',
      options: { bundle: BUNDLE }, positionals: ['4f1c'],
    }],
    ['start', cd('start', '4f1c'), { global: containerdGlobal, command: 'start', id: '4f1c', positionals: ['4f1c'] }],
    ['state', cd('state', '4f1c'), { global: containerdGlobal, command: 'state', id: '4f1c', positionals: ['4f1c'] }],
    ['exec', cd('exec', '--process', '/tmp/runc-process123', '--detach', '--pid-file', '/x', '4f1c'), {
      global: containerdGlobal, command: 'exec', id: '4f1c',
      options: { process: '/tmp/runc-process123', detach: true, 'pid-file': '/x' }, positionals: ['4f1c'],
    }],
    ['ps', cd('ps', '--format', 'json', '4f1c'), {
      global: containerdGlobal, command: 'ps', id: '4f1c', options: { format: 'json' }, positionals: ['4f1c'],
    }],
    ['CRI kill --all', cd('kill', '--all', '4f1c', '9'), {
      global: containerdGlobal, command: 'kill', id: '4f1c', options: { all: true }, positionals: ['4f1c', '9'],
    }],
    ['kill with a signal', cd('kill', '4f1c', '15'), {
      global: containerdGlobal, command: 'kill', id: '4f1c', positionals: ['4f1c', '15'],
    }],
    ['delete', cd('delete', '4f1c'), { global: containerdGlobal, command: 'delete', id: '4f1c', positionals: ['4f1c'] }],
    ['delete --force (cleanup process)', cd('delete', '--force', '4f1c'), {
      global: containerdGlobal, command: 'delete', id: '4f1c', options: { force: true }, positionals: ['4f1c'],
    }],
    ['pause', cd('pause', '4f1c'), { global: containerdGlobal, command: 'pause', id: '4f1c', positionals: ['4f1c'] }],
    ['resume', cd('resume', '4f1c'), { global: containerdGlobal, command: 'resume', id: '4f1c', positionals: ['4f1c'] }],
    ['update from stdin', cd('update', '--resources', '-', '4f1c'), {
      global: containerdGlobal, command: 'update', id: '4f1c', options: { resources: '-' }, positionals: ['4f1c'],
    }],
    ['events --stats', cd('events', '--stats', '4f1c'), {
      global: containerdGlobal, command: 'events', id: '4f1c', options: { stats: true }, positionals: ['4f1c'],
    }],
    ['events --interval=', cd('events', '--interval=5s', '4f1c'), {
      global: containerdGlobal, command: 'events', id: '4f1c', options: { interval: '5s' }, positionals: ['4f1c'],
    }],
    ['checkpoint', cd('checkpoint', '--image-path', '/ck', '--work-path', '/wk', '--leave-running', '4f1c'), {
      global: containerdGlobal, command: 'checkpoint', id: '4f1c',
      options: { 'image-path': '/ck', 'work-path': '/wk', 'leave-running': true }, positionals: ['4f1c'],
    }],
  ]);
});

// podman 4.3 and conmon: no --root, no --log; `--flag=value` runtime flags; crun's own globals.
t.test('podman and conmon argv', async (t) => {
  const UD = '/var/lib/containers/storage/overlay-containers/ab12/userdata';
  check(t.same.bind(t), [
    ['conmon create', ['--systemd-cgroup', 'create', '--bundle', UD, '--pid-file', `${UD}/pidfile`, '--console-socket', '/run/cs.sock', 'ab12'], {
      global: { systemdCgroup: true }, command: 'create', id: 'ab12',
      options: { bundle: UD, 'pid-file': `${UD}/pidfile`, 'console-socket': '/run/cs.sock' }, positionals: ['ab12'],
    }],
    ['--flag=value runtime flags', ['--log-format=json', '--debug', 'create', '--bundle=/b', '--pid-file=/b/pid', 'ab12'], {
      global: { logFormat: 'json', debug: true }, command: 'create', id: 'ab12',
      options: { bundle: '/b', 'pid-file': '/b/pid' }, positionals: ['ab12'],
    }],
    ['crun --cgroup-manager disabled (podman --cgroups=disabled)', ['--cgroup-manager', 'disabled', 'create', '--bundle', UD, '--pid-file', 'p', '--no-pivot', 'ab12'], {
      command: 'create', at: 2, id: 'ab12', options: { bundle: UD, 'pid-file': 'p', 'no-pivot': true },
      positionals: ['ab12'], rejected: ['--cgroup-manager'],
    }],
    ['conmon exec', ['exec', '--pid-file', '/e/pid', '--process', '/e/spec', '--detach', '--console-socket', '/e/cs', 'ab12'], {
      command: 'exec', id: 'ab12', options: { 'pid-file': '/e/pid', process: '/e/spec', detach: true, 'console-socket': '/e/cs' },
      positionals: ['ab12'],
    }],
    ['conmon restore', ['restore', '--bundle', UD, '--pid-file', 'p', '--detach', '--image-path', '/ck', '--work-path', UD, 'ab12'], {
      command: 'restore', id: 'ab12', options: { bundle: UD, 'pid-file': 'p', detach: true, 'image-path': '/ck', 'work-path': UD },
      positionals: ['ab12'],
    }],
    ['start', ['start', 'ab12'], { command: 'start', id: 'ab12', positionals: ['ab12'] }],
    ['kill --all', ['kill', '--all', 'ab12', '9'], { command: 'kill', id: 'ab12', options: { all: true }, positionals: ['ab12', '9'] }],
    ['delete --force', ['delete', '--force', 'ab12'], { command: 'delete', id: 'ab12', options: { force: true }, positionals: ['ab12'] }],
    ['update --resources=', ['update', '--resources=/tmp/res1', 'ab12'], {
      command: 'update', id: 'ab12', options: { resources: '/tmp/res1' }, positionals: ['ab12'],
    }],
  ]);
});

t.test('global flags', async (t) => {
  check(t.same.bind(t), [
    ['single dash long name (Go flag)', ['-root', '/r', 'state', 'c'], { global: { root: '/r' }, command: 'state', id: 'c', positionals: ['c'] }],
    ['--x=v', ['--root=/r', '--log=/l', '--criu=/c', 'state', 'c'], {
      global: { root: '/r', log: '/l', criu: '/c' }, command: 'state', id: 'c', positionals: ['c'],
    }],
    ['-x=v', ['-root=/r', '-log-format=text', 'state', 'c'], {
      global: { root: '/r', logFormat: 'text' }, command: 'state', id: 'c', positionals: ['c'],
    }],
    ['values that look like flags', ['--root', '--debug', 'state', 'c'], { global: { root: '--debug' }, command: 'state', id: 'c', positionals: ['c'] }],
    ['a flag value named like a subcommand', ['--root', 'create', 'create', 'c'], {
      global: { root: 'create' }, command: 'create', at: 2, id: 'c', positionals: ['c'],
    }],
    ['--debug=true', ['--debug=true', 'state', 'c'], { global: { debug: true }, command: 'state', id: 'c', positionals: ['c'] }],
    ['--debug=false', ['--debug=false', 'state', 'c'], { command: 'state', id: 'c', positionals: ['c'] }],
    ['--debug then --debug=0', ['--debug', '--debug=0', 'state', 'c'], { command: 'state', id: 'c', positionals: ['c'] }],
    ['--systemd-cgroup=T', ['--systemd-cgroup=T', 'state', 'c'], { global: { systemdCgroup: true }, command: 'state', id: 'c', positionals: ['c'] }],
    ['a boolean never takes the next word', ['--debug', 'true', 'state', 'c'], {
      global: { debug: true }, command: 'true', positionals: ['state', 'c'],
    }],
    ['a bad boolean', ['--debug=yes', 'state', 'c'], { command: 'state', id: 'c', positionals: ['c'], rejected: ['--debug=yes'] }],
    ['--rootless and --criu take values', ['--rootless', 'true', '--criu', '/usr/sbin/criu', 'state', 'c'], {
      global: { rootless: 'true', criu: '/usr/sbin/criu' }, command: 'state', id: 'c', positionals: ['c'],
    }],
    ['last value wins', ['--root', '/a', '--root', '/b', 'state', 'c'], { global: { root: '/b' }, command: 'state', id: 'c', positionals: ['c'] }],
    ['-- ends the global flags', ['--root', '/r', '--', 'state', 'c'], { global: { root: '/r' }, command: 'state', at: 3, id: 'c', positionals: ['c'] }],
    ['missing value at the end', ['--root'], { rejected: ['--root'] }],
    ['missing value after another flag', ['--root', '/r', '--log'], { global: { root: '/r' }, rejected: ['--log'] }],
    ['three dashes are bad syntax', ['---root', '/r', 'state', 'c'], { command: 'state', id: 'c', positionals: ['c'], rejected: ['---root'] }],
    ['-= is bad syntax', ['-=x', 'state', 'c'], { command: 'state', id: 'c', positionals: ['c'], rejected: ['-=x'] }],
    ['unknown --x=v (runsc)', ['--platform=ptrace', 'create', 'c'], { command: 'create', id: 'c', positionals: ['c'], rejected: ['--platform=ptrace'] }],
    ['unknown boolean before a subcommand', ['--newbool', 'create', 'c'], { command: 'create', id: 'c', positionals: ['c'], rejected: ['--newbool'] }],
    ['unknown flag owns a non-subcommand word', ['--new', 'val', 'create', 'c'], { command: 'create', id: 'c', positionals: ['c'], rejected: ['--new'] }],
    ['unknown flag never owns a subcommand', ['--new', 'create', 'create', 'c'], {
      command: 'create', at: 1, id: 'create', positionals: ['create', 'c'], rejected: ['--new'],
    }],
  ]);
});

t.test('help, version, nothing, unknown', async (t) => {
  check(t.same.bind(t), [
    ['empty argv', [], {}],
    ['--version', ['--version'], { global: { version: true } }],
    ['-v', ['-v'], { global: { version: true } }],
    ['--help', ['--help'], { global: { help: true } }],
    ['-h', ['-h'], { global: { help: true } }],
    ['--version before a subcommand runs nothing', ['--version', 'create', 'c'], { global: { version: true }, positionals: ['create', 'c'] }],
    ['--help before a subcommand runs nothing', ['--root', '/r', '--help', 'create', 'c'], {
      global: { root: '/r', help: true }, positionals: ['create', 'c'],
    }],
    ['--help=false runs the subcommand', ['--help=false', 'create', 'c'], { command: 'create', id: 'c', positionals: ['c'] }],
    ['only global flags', ['--root', '/r', '--debug'], { global: { root: '/r', debug: true } }],
    ['help', ['help'], { command: 'help' }],
    ['help create', ['help', 'create'], { command: 'help', positionals: ['create'] }],
    ['h is help', ['h', 'create'], { command: 'help', at: 0, positionals: ['create'] }],
    ['unknown subcommand passes through', ['--root', '/r', 'frobnicate', '--x', 'c'], {
      global: { root: '/r' }, command: 'frobnicate', positionals: ['--x', 'c'],
    }],
    ['a lone dash is a word', ['-', 'c'], { command: '-', positionals: ['c'] }],
    ['an empty word', ['--root', '/r', ''], { global: { root: '/r' }, command: '', at: 2 }],
  ]);
});

t.test('create and run', async (t) => {
  check(t.same.bind(t), [
    ['-b create create', ['create', '-b', 'create', 'create'], { command: 'create', id: 'create', options: { bundle: 'create' }, positionals: ['create'] }],
    ['flags after the id are moved first', ['create', 'c', '--bundle', '/x'], { command: 'create', id: 'c', options: { bundle: '/x' }, positionals: ['c'] }],
    ['-b=/x after the id', ['create', 'c', '-b=/x'], { command: 'create', id: 'c', options: { bundle: '/x' }, positionals: ['c'] }],
    ['-b=/x', ['create', '-b=/x', 'c'], { command: 'create', id: 'c', options: { bundle: '/x' }, positionals: ['c'] }],
    ['--bundle=/x', ['create', '--bundle=/x', 'c'], { command: 'create', id: 'c', options: { bundle: '/x' }, positionals: ['c'] }],
    ['--b /x', ['create', '--b', '/x', 'c'], { command: 'create', id: 'c', options: { bundle: '/x' }, positionals: ['c'] }],
    ['-bundle /x', ['create', '-bundle', '/x', 'c'], { command: 'create', id: 'c', options: { bundle: '/x' }, positionals: ['c'] }],
    ['--bundle= (empty)', ['create', '--bundle=', 'c'], { command: 'create', id: 'c', options: { bundle: '' }, positionals: ['c'] }],
    ['a value may contain =', ['create', '--pid-file=/a=b', 'c'], { command: 'create', id: 'c', options: { 'pid-file': '/a=b' }, positionals: ['c'] }],
    ['all create flags', ['create', '-b', '/b', '--console-socket', '/s', '--pid-file', '/p', '--no-pivot', '--no-new-keyring', '--preserve-fds', '2', 'c'], {
      command: 'create', id: 'c', positionals: ['c'],
      options: { bundle: '/b', 'console-socket': '/s', 'pid-file': '/p', 'no-pivot': true, 'no-new-keyring': true, 'preserve-fds': '2' },
    }],
    ['-- before the id', ['create', '-b', '/x', '--', 'c'], { command: 'create', id: 'c', options: { bundle: '/x' }, positionals: ['c'] }],
    ['-- after the id is dropped', ['create', '-b', '/x', 'c', '--'], { command: 'create', id: 'c', options: { bundle: '/x' }, positionals: ['c'] }],
    ['flags after -- are positionals', ['create', 'c', '--', '-b', '/x'], { command: 'create', id: 'c', positionals: ['c', '-b', '/x'] }],
    ['a boolean swallows -- as its "value" when reordered', ['create', '-b', '/x', 'c', '--no-pivot', '--', '-b', '/y'], {
      command: 'create', id: '-b', options: { bundle: '/x', 'no-pivot': true }, positionals: ['-b', '/y', 'c'],
    }],
    ['a value flag takes the next flag as its value', ['create', 'c', '--bundle', '--no-pivot'], {
      command: 'create', id: 'c', options: { bundle: '--no-pivot' }, positionals: ['c'],
    }],
    ['missing value at the end', ['create', '--bundle'], { command: 'create', rejected: ['--bundle'] }],
    ['missing id', ['create', '-b', '/x'], { command: 'create', options: { bundle: '/x' } }],
    ['no arguments', ['create'], { command: 'create' }],
    ['two ids (runc refuses)', ['create', 'a', 'b'], { command: 'create', id: 'a', positionals: ['a', 'b'] }],
    ['unknown flag before the id', ['create', '--unknown', 'c'], { command: 'create', id: 'c', positionals: ['c'], rejected: ['--unknown'] }],
    ['unknown flag after the id stays a positional', ['create', '-b', '/x', 'c', '--unknown'], {
      command: 'create', id: 'c', options: { bundle: '/x' }, positionals: ['c', '--unknown'],
    }],
    ['run has no --no-subreaper on create', ['create', '--no-subreaper', 'c'], { command: 'create', id: 'c', positionals: ['c'], rejected: ['--no-subreaper'] }],
    ['a bad boolean', ['create', '--no-pivot=maybe', 'c'], { command: 'create', id: 'c', positionals: ['c'], rejected: ['--no-pivot=maybe'] }],
    ['--no-pivot=false', ['create', '--no-pivot=false', 'c'], { command: 'create', id: 'c', positionals: ['c'] }],
    ['repeated -b: last wins', ['create', '-b', '/x', '-b', '/y', 'c'], { command: 'create', id: 'c', options: { bundle: '/y' }, positionals: ['c'] }],
    ['-b and --bundle together are refused', ['create', '-b', '/x', '--bundle', '/y', 'c'], {
      command: 'create', id: 'c', options: { bundle: '/y' }, positionals: ['c'], rejected: ['--bundle'],
    }],
    ['-b and --b are one spelling', ['create', '-b', '/x', '--b', '/y', 'c'], { command: 'create', id: 'c', options: { bundle: '/y' }, positionals: ['c'] }],
    ['three dashes: moved, then bad syntax', ['create', '---bundle', '/x', 'c'], { command: 'create', id: '/x', positionals: ['/x', 'c'], rejected: ['---bundle'] }],
    ['run: flags after the id', ['run', 'c', '-d', '-b', '/x'], { command: 'run', id: 'c', options: { detach: true, bundle: '/x' }, positionals: ['c'] }],
    ['run: a boolean pulls the next word forward', ['run', 'c', '-d', 'other'], { command: 'run', id: 'other', options: { detach: true }, positionals: ['other', 'c'] }],
    ['run: all flags', ['run', '--bundle=/b', '--detach=true', '--keep', '--no-subreaper', '--no-pivot', '--no-new-keyring', '--pid-file', 'p', '--console-socket', 's', '--preserve-fds=1', 'c'], {
      command: 'run', id: 'c', positionals: ['c'],
      options: { bundle: '/b', detach: true, keep: true, 'no-subreaper': true, 'no-pivot': true, 'no-new-keyring': true, 'pid-file': 'p', 'console-socket': 's', 'preserve-fds': '1' },
    }],
    ['create --help', ['create', '--help', 'c'], { command: 'create', id: 'c', options: { help: true }, positionals: ['c'] }],
    ['create c -h', ['create', 'c', '-h'], { command: 'create', id: 'c', options: { help: true }, positionals: ['c'] }],
  ]);
});

t.test('exec: flags end at the id, the command keeps its own', async (t) => {
  check(t.same.bind(t), [
    ["exec -t id sh -c 'x'", ['exec', '-t', 'c', 'sh', '-c', 'x'], { command: 'exec', id: 'c', options: { tty: true }, positionals: ['c', 'sh', '-c', 'x'] }],
    ['flags after the id are not parsed', ['exec', 'c', '--tty', '-p', '/x'], { command: 'exec', id: 'c', positionals: ['c', '--tty', '-p', '/x'] }],
    ['repeated -e', ['exec', '-e', 'A=1', '-e', 'B=2', '-e=C=3', 'c', 'env'], {
      command: 'exec', id: 'c', options: { env: ['A=1', 'B=2', 'C=3'] }, positionals: ['c', 'env'],
    }],
    ['repeated --cap, --additional-gids, --cgroup', ['exec', '--cap', 'CAP_NET_ADMIN', '--cap', 'CAP_SYS_ADMIN', '-g', '10', '-g', '20', '--cgroup', 'cpu:a', '--cgroup', 'b', 'c', 'true'], {
      command: 'exec', id: 'c', positionals: ['c', 'true'],
      options: { cap: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'], 'additional-gids': ['10', '20'], cgroup: ['cpu:a', 'b'] },
    }],
    ['-e and --env together are refused', ['exec', '-e', 'A=1', '--env', 'B=2', 'c', 'env'], {
      command: 'exec', id: 'c', options: { env: ['A=1', 'B=2'] }, positionals: ['c', 'env'], rejected: ['--env'],
    }],
    ['all value flags', ['exec', '--console-socket', 's', '--cwd', '/w', '-u', '1000:1000', '--pid-file', 'p', '--process-label', 'l', '--apparmor', 'a', '--preserve-fds', '3', 'c', 'x'], {
      command: 'exec', id: 'c', positionals: ['c', 'x'],
      options: { 'console-socket': 's', cwd: '/w', user: '1000:1000', 'pid-file': 'p', 'process-label': 'l', apparmor: 'a', 'preserve-fds': '3' },
    }],
    ['all boolean flags', ['exec', '-t', '-d', '--no-new-privs', '--ignore-paused', 'c', 'x'], {
      command: 'exec', id: 'c', options: { tty: true, detach: true, 'no-new-privs': true, 'ignore-paused': true }, positionals: ['c', 'x'],
    }],
    ['--detach=false', ['exec', '--detach=false', '-p', '/p', 'c'], { command: 'exec', id: 'c', options: { process: '/p' }, positionals: ['c'] }],
    ['-- before the id', ['exec', '-t', '--', 'c', '-x'], { command: 'exec', id: 'c', options: { tty: true }, positionals: ['c', '-x'] }],
    ['-- after the id is the process argument', ['exec', 'c', '--', 'ls'], { command: 'exec', id: 'c', positionals: ['c', '--', 'ls'] }],
    ['missing id', ['exec', '-p', '/x'], { command: 'exec', options: { process: '/x' } }],
    ['missing value', ['exec', '-p'], { command: 'exec', rejected: ['-p'] }],
    ['combined short flags are not split', ['exec', '-td', 'c', 'sh'], { command: 'exec', id: 'c', positionals: ['c', 'sh'], rejected: ['-td'] }],
  ]);
});

t.test('kill, delete, ps, state and friends', async (t) => {
  check(t.same.bind(t), [
    ['kill: --all after the id takes the signal along', ['kill', 'a/b', '--all', '9'], {
      command: 'kill', id: '9', options: { all: true }, positionals: ['9', 'a/b'],
    }],
    ['kill --all id signal', ['kill', '--all', 'a/b', '9'], { command: 'kill', id: 'a/b', options: { all: true }, positionals: ['a/b', '9'] }],
    ['kill id -a', ['kill', 'c', '-a'], { command: 'kill', id: 'c', options: { all: true }, positionals: ['c'] }],
    ['kill -all (single dash long)', ['kill', '-all', 'c'], { command: 'kill', id: 'c', options: { all: true }, positionals: ['c'] }],
    ['kill -af is not split', ['kill', '-af', 'c'], { command: 'kill', id: 'c', positionals: ['c'], rejected: ['-af'] }],
    ['kill id KILL', ['kill', 'c', 'KILL'], { command: 'kill', id: 'c', positionals: ['c', 'KILL'] }],
    ['delete id --force', ['delete', 'c', '--force'], { command: 'delete', id: 'c', options: { force: true }, positionals: ['c'] }],
    ['delete -f true: a boolean leaves the next word', ['delete', '-f', 'true'], { command: 'delete', id: 'true', options: { force: true }, positionals: ['true'] }],
    ['delete -f=false', ['delete', '-f=false', 'c'], { command: 'delete', id: 'c', positionals: ['c'] }],
    ['delete --force=1', ['delete', '--force=1', 'c'], { command: 'delete', id: 'c', options: { force: true }, positionals: ['c'] }],
    ['ps: options after the id belong to ps(1)', ['ps', 'c', '--format', 'json'], { command: 'ps', id: 'c', positionals: ['c', '--format', 'json'] }],
    ['ps -f json id aux', ['ps', '-f', 'json', 'c', 'aux'], { command: 'ps', id: 'c', options: { format: 'json' }, positionals: ['c', 'aux'] }],
    ['ps id -- x', ['ps', 'c', '--', 'x'], { command: 'ps', id: 'c', positionals: ['c', '--', 'x'] }],
    ['state id --', ['state', 'c', '--'], { command: 'state', id: 'c', positionals: ['c'] }],
    ['state -- id', ['state', '--', 'c'], { command: 'state', id: 'c', positionals: ['c'] }],
    ['state -h id', ['state', '-h', 'c'], { command: 'state', id: 'c', options: { help: true }, positionals: ['c'] }],
    ['a global flag after the subcommand is no flag there', ['state', 'c', '--root', '/r'], { command: 'state', id: 'c', positionals: ['c', '--root', '/r'] }],
    ['a global flag right after the subcommand is refused', ['state', '--root', '/r', 'c'], {
      command: 'state', id: '/r', positionals: ['/r', 'c'], rejected: ['--root'],
    }],
    ['pause', ['pause', 'c'], { command: 'pause', id: 'c', positionals: ['c'] }],
    ['resume', ['resume', 'c'], { command: 'resume', id: 'c', positionals: ['c'] }],
    ['start without id', ['start'], { command: 'start' }],
    ['list -f json -q', ['list', '-f', 'json', '-q'], { command: 'list', options: { format: 'json', quiet: true } }],
    ['list takes no id', ['list', 'x'], { command: 'list', positionals: ['x'] }],
    ['spec --rootless -b /x', ['spec', '--rootless', '-b', '/x'], { command: 'spec', options: { rootless: true, bundle: '/x' } }],
    ['features', ['features'], { command: 'features' }],
    ['events --interval 1s --stats', ['events', 'c', '--interval', '1s', '--stats'], {
      command: 'events', id: 'c', options: { interval: '1s', stats: true }, positionals: ['c'],
    }],
  ]);
});

t.test('update, checkpoint, restore', async (t) => {
  check(t.same.bind(t), [
    ['update -r file', ['update', '-r', '/res.json', 'c'], { command: 'update', id: 'c', options: { resources: '/res.json' }, positionals: ['c'] }],
    ['every resource flag', ['update',
      '--blkio-weight', '500', '--cpu-period', '100000', '--cpu-quota', '50000', '--cpu-share', '512',
      '--cpu-rt-period', '1000', '--cpu-rt-runtime', '500', '--cpuset-cpus', '0-1', '--cpuset-mems', '0',
      '--kernel-memory', '1', '--kernel-memory-tcp', '2', '--memory', '1G', '--memory-reservation', '512M',
      '--memory-swap', '-1', '--pids-limit', '100', '--l3-cache-schema', 'L3:0=f', '--mem-bw-schema', 'MB:0=50', 'c'], {
      command: 'update', id: 'c', positionals: ['c'], options: {
        'blkio-weight': '500', 'cpu-period': '100000', 'cpu-quota': '50000', 'cpu-share': '512',
        'cpu-rt-period': '1000', 'cpu-rt-runtime': '500', 'cpuset-cpus': '0-1', 'cpuset-mems': '0',
        'kernel-memory': '1', 'kernel-memory-tcp': '2', memory: '1G', 'memory-reservation': '512M',
        'memory-swap': '-1', 'pids-limit': '100', 'l3-cache-schema': 'L3:0=f', 'mem-bw-schema': 'MB:0=50',
      },
    }],
    ['update: flags after the id', ['update', 'c', '--memory=1G', '--pids-limit', '10'], {
      command: 'update', id: 'c', options: { memory: '1G', 'pids-limit': '10' }, positionals: ['c'],
    }],
    ['update --cpu-burst is not in runc 1.1', ['update', '--cpu-burst', '1', 'c'], {
      command: 'update', id: '1', positionals: ['1', 'c'], rejected: ['--cpu-burst'],
    }],
    ['checkpoint: every flag', ['checkpoint', '--image-path', '/i', '--work-path', '/w', '--parent-path', '../p',
      '--leave-running', '--tcp-established', '--ext-unix-sk', '--shell-job', '--lazy-pages', '--status-fd', '3',
      '--page-server', '10.0.0.1:27', '--file-locks', '--pre-dump', '--manage-cgroups-mode', 'soft',
      '--empty-ns', 'network', '--empty-ns', 'ipc', '--auto-dedup', 'c'], {
      command: 'checkpoint', id: 'c', positionals: ['c'], options: {
        'image-path': '/i', 'work-path': '/w', 'parent-path': '../p', 'leave-running': true, 'tcp-established': true,
        'ext-unix-sk': true, 'shell-job': true, 'lazy-pages': true, 'status-fd': '3', 'page-server': '10.0.0.1:27',
        'file-locks': true, 'pre-dump': true, 'manage-cgroups-mode': 'soft', 'empty-ns': ['network', 'ipc'], 'auto-dedup': true,
      },
    }],
    ['checkpoint has no --bundle', ['checkpoint', '--bundle', '/x', 'c'], { command: 'checkpoint', id: '/x', positionals: ['/x', 'c'], rejected: ['--bundle'] }],
    ['restore: every flag', ['restore', '--console-socket', 's', '--image-path', '/i', '--work-path', '/w',
      '--tcp-established', '--ext-unix-sk', '--shell-job', '--file-locks', '--manage-cgroups-mode', 'full', '-b', '/b',
      '-d', '--pid-file', 'p', '--no-subreaper', '--no-pivot', '--empty-ns', 'net', '--auto-dedup', '--lazy-pages',
      '--lsm-profile', 'apparmor:x', '--lsm-mount-context', 'ctx', 'c'], {
      command: 'restore', id: 'c', positionals: ['c'], options: {
        'console-socket': 's', 'image-path': '/i', 'work-path': '/w', 'tcp-established': true, 'ext-unix-sk': true,
        'shell-job': true, 'file-locks': true, 'manage-cgroups-mode': 'full', bundle: '/b', detach: true, 'pid-file': 'p',
        'no-subreaper': true, 'no-pivot': true, 'empty-ns': ['net'], 'auto-dedup': true, 'lazy-pages': true,
        'lsm-profile': 'apparmor:x', 'lsm-mount-context': 'ctx',
      },
    }],
  ]);
});

t.test('bundleDir: where runc will chdir', async (t) => {
  const rows: Array<[string[], string, string | null]> = [
    [['create', 'c'], '/run/b', '/run/b'],
    [['create', '--bundle', '/abs', 'c'], '/cwd', '/abs'],
    [['create', '-b', 'rel/dir', 'c'], '/cwd', '/cwd/rel/dir'],
    [['create', '-b', 'rel', 'c'], '/cwd/', '/cwd/rel'],
    [['create', '-b', './x', 'c'], '/cwd', '/cwd/./x'],
    // Never normalised: runc's chdir resolves `link/..` through the symlink.
    [['create', '-b', 'link/../b', 'c'], '/cwd', '/cwd/link/../b'],
    [['create', '-b', '/a/link/../b', 'c'], '/cwd', '/a/link/../b'],
    [['create', '--bundle=', 'c'], '/cwd', '/cwd'],
    [['run', 'c', '-b', '/r'], '/cwd', '/r'],
    [['restore', '-b', 'rb', 'c'], '/cwd', '/cwd/rb'],
    [['--root', '/x', 'create', 'c'], '/cwd', '/cwd'],
    [['exec', '-p', '/p', 'c'], '/cwd', null],
    [['spec', '-b', '/x'], '/cwd', null],
    [['start', 'c'], '/cwd', null],
    [['--version'], '/cwd', null],
    [[], '/cwd', null],
  ];
  for (const [argv, cwd, want] of rows) {
    t.equal(bundleDir(parseRuncArgs(argv), cwd), want, `${JSON.stringify(argv)} in ${cwd}`);
  }
});

t.test('needsPolicy: one table for the engine and the native launcher', async (t) => {
  const rows: Array<[string | null, boolean]> = [
    ['create', true], ['run', true], ['exec', true], ['update', true], ['features', true],
    ['start', false], ['state', false], ['kill', false], ['delete', false], ['ps', false],
    ['events', false], ['pause', false], ['resume', false], ['list', false], ['spec', false],
    ['checkpoint', false], ['restore', false], ['help', false], ['frobnicate', false], ['', false],
    [null, false], ['toString', false], ['__proto__', false], ['constructor', false],
  ];
  for (const [name, want] of rows) t.equal(needsPolicy(name), want, String(name));
  t.same([...POLICY_COMMANDS].sort(), ['create', 'exec', 'features', 'run', 'update']);
});

t.test('the subcommand list is runc 1.1.5\'s', async (t) => {
  t.same(RUNC_SUBCOMMANDS, [
    'checkpoint', 'create', 'delete', 'events', 'exec', 'kill', 'list', 'pause', 'ps', 'restore',
    'resume', 'run', 'spec', 'start', 'state', 'update', 'features',
  ]);
});

t.test('parsing never throws and keeps its invariants', async (t) => {
  const word = fc.oneof(
    fc.constantFrom('create', 'run', 'exec', 'kill', 'h', 'help', '--', '-', '', '-b', '--bundle', '--root',
      '--debug', '--debug=false', '-h', '--version', '--all', '-e', '--env=A', '---x', '-=', '--x', 'c', '__proto__'),
    fc.string(),
  );
  fc.assert(fc.property(fc.array(word, { maxLength: 12 }), (argv) => {
    const inv = parseRuncArgs(argv);
    if ((inv.command === null) !== (inv.commandIndex === -1)) return false;
    if (inv.command !== null) {
      const written = argv[inv.commandIndex];
      if (written !== inv.command && !(written === 'h' && inv.command === 'help')) return false;
    }
    if (inv.id !== null && inv.id !== inv.positionals[0]) return false;
    return Object.getPrototypeOf(inv.options) === Object.prototype;
  }), { numRuns: 3000 });
  t.pass('3000 random argv parsed');
});

// A guard against a typo in the tables: compare them with what `runc --help` prints, when the
// runc on this machine is the 1.1 series the tables describe.
const runcVersion = spawnSync('runc', ['--version'], { encoding: 'utf8' });
const noRunc11 = runcVersion.error === undefined && /^runc version 1\.1\./.test(runcVersion.stdout ?? '')
  ? false
  : 'needs runc 1.1.x on PATH to compare against';

t.test('flag tables match runc --help', { skip: noRunc11 }, async (t) => {
  const HIDDEN = new Set(['kernel-memory', 'kernel-memory-tcp']); // update's Hidden: true flags
  const listed = (args: string[], section: string): string[] => {
    const out = spawnSync('runc', args, { encoding: 'utf8' }).stdout;
    const lines = out.slice(out.indexOf(section)).split('\n');
    return lines.flatMap((line) => {
      const m = /^ {3}--([a-z0-9-]+)( value)?(?:, ?-([a-z]))?/.exec(line);
      return m === null ? [] : [`${m[1]}${m[3] ? `/${m[3]}` : ''}:${m[2] ? 'value' : 'bool'}`];
    });
  };
  const ours = (flags: readonly { name: string; alias?: string; kind: string }[]) => flags
    .filter((f) => !HIDDEN.has(f.name))
    .map((f) => `${f.name}${f.alias ? `/${f.alias}` : ''}:${f.kind === 'bool' ? 'bool' : 'value'}`);
  t.same(ours(RUNC_GLOBAL_FLAGS), listed(['--help'], 'GLOBAL OPTIONS:'), 'global flags');
  for (const name of RUNC_SUBCOMMANDS) {
    const theirs = listed([name, '--help'], 'OPTIONS:');
    t.same(ours(RUNC_COMMANDS[name].flags), theirs, `${name} flags`);
  }
});
