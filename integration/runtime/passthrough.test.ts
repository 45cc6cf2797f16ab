// Pass-through: after a container is created through bin/bulwark-runtime, every other call
// containerd makes must behave exactly as if it had called the low-level runtime itself with the
// same --root: same stdout, same exit code (and same stderr for errors, time stamps aside).
// One container on runc and one on crun (chosen by annotation, so pass-through must follow the
// record Bulwark wrote at create, not the default runtime). `exec` is not a pass-through: its
// process is hardened with the container's profile, checked here from inside with the probe.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { Spec } from '../../src/spec/index.js';
import { BulwarkHarness } from '../lib/bulwark.js';
import { capabilitySets, hostCgroupMode, makeBundle, openRuntime, parseProbeOutput, sortCaps } from '../lib/index.js';
import type { Bundle, CommandResult, LowLevelRuntime, SelfReport } from '../lib/index.js';
import { ID_BLOCK, allowedCaps, chooseRuntime, refusedCaps, shippedProfile, withoutTimestamps } from './expect.js';

const started = Date.now();
const profile = shippedProfile('baseline');
/** The harness config names no defaultRuntime: Bulwark's built-in default applies. */
const DEFAULT_RUNTIME: LowLevelRuntime = 'runc';
const RUNTIMES: LowLevelRuntime[] = ['runc', 'crun'];

const availability = Object.fromEntries(await Promise.all(RUNTIMES.map(async (name) => {
  const client = openRuntime(name);
  try {
    return [name, await client.availability()] as const;
  } finally {
    await client.dispose();
  }
})));
t.teardown(() => {
  t.comment(`integration/runtime/passthrough: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

// cgroup v2 has a freezer in every cgroup (Linux 5.2+); v1 needs the freezer hierarchy.
const freezer = hostCgroupMode() === 'v2' || existsSync('/sys/fs/cgroup/freezer');

/** Same exit code and stdout; stderr too, with runc's second-precision time stamps blanked. */
function sameOutcome(t: Test, got: CommandResult, want: CommandResult, what: string): void {
  t.same(
    { exitCode: got.exitCode, stdout: got.stdout, stderr: withoutTimestamps(got.stderr) },
    { exitCode: want.exitCode, stdout: want.stdout, stderr: withoutTimestamps(want.stderr) },
    `${what}: exit ${want.exitCode}, the same stdout${want.stderr ? ' and stderr' : ''} as the runtime itself`,
  );
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function processFile(bundle: Bundle, name: string, edit: (process: NonNullable<Spec['process']>) => void): { path: string; text: string; process: NonNullable<Spec['process']> } {
  // containerd builds exec's process from its own, unhardened copy of the spec: the original.
  const original = JSON.parse(readFileSync(join(bundle.dir, 'config.json.orig'), 'utf8')) as Spec;
  const process = structuredClone(original.process!);
  edit(process);
  const path = join(bundle.dir, name);
  const text = `${JSON.stringify(process)}\n`;
  writeFileSync(path, text, { mode: 0o600 });
  return { path, text, process };
}

for (const runtime of RUNTIMES) {
  const skip = availability[runtime]!.available ? false : `${runtime} is not usable here: ${availability[runtime]!.reason}`;
  t.test(`${runtime}: a container created through Bulwark`, { skip }, async (t) => {
    const h = new BulwarkHarness({ label: `passthrough-${runtime}` });
    const bundle = await makeBundle({ label: `pt-${runtime}`, args: ['/bin/sleep', '600'], tweak: (spec) => chooseRuntime(spec, runtime) });
    const id = bundle.id;
    const R = h.root;
    h.track(id);
    t.teardown(async () => {
      await h.call(['--root', R, 'delete', '--force', id]);
      bundle.destroy();
      await h.dispose();
    });
    const bw = (args: string[], env?: Record<string, string>) => h.call(['--root', R, ...args], { env });
    const ll = (args: string[], name: LowLevelRuntime = runtime) => h.direct(name, ['--root', R, ...args]);
    const stateOf = async (name: LowLevelRuntime = runtime) => {
      const r = await ll(['state', id], name);
      return r.exitCode === 0 ? (JSON.parse(r.stdout) as { status: string; pid: number }) : undefined;
    };

    // As containerd calls it.
    const log = join(bundle.dir, 'log.json');
    const create = await h.call(['--root', R, '--log', log, '--log-format', 'json', 'create', '--bundle', bundle.dir, '--pid-file', join(bundle.dir, 'init.pid'), id], { cwd: bundle.dir });
    t.same([create.exitCode, create.stdout, create.stderr], [0, '', ''], 'create succeeds silently');
    t.equal(existsSync(log) ? readFileSync(log, 'utf8') : '', '', 'and writes nothing to --log');
    t.same(h.record(id)?.runtimeArgv, [h.runtimePaths[runtime]], `Bulwark recorded ${runtime} for it`);
    t.same([(await bw(['start', id])).exitCode], [0], 'start');
    const initPid = Number(readFileSync(join(bundle.dir, 'init.pid'), 'utf8'));

    t.test('state', async (t) => {
      const [got, want] = [await bw(['state', id]), await ll(['state', id])];
      sameOutcome(t, got, want, 'state');
      t.same(JSON.parse(got.stdout), JSON.parse(want.stdout), 'the parsed state is equal');
      t.hasStrict(JSON.parse(got.stdout), { id, status: 'running', pid: initPid, bundle: bundle.dir }, 'running, with the pid of --pid-file');
      if (runtime !== DEFAULT_RUNTIME) t.not((await ll(['state', id], DEFAULT_RUNTIME)).exitCode, 0, `${DEFAULT_RUNTIME} (the default) does not know it: the call followed the record`);
    });

    t.test('ps --format json', async (t) => {
      const [got, want] = [await bw(['ps', '--format', 'json', id]), await ll(['ps', '--format', 'json', id])];
      sameOutcome(t, got, want, 'ps');
      t.same(JSON.parse(got.stdout), [initPid], 'one process, the init');
    });

    t.test('list, list --format json', async (t) => {
      // No id: the launcher has no record to follow and uses the default runtime.
      for (const args of [['list'], ['list', '--format', 'json']]) {
        const [got, want] = [await bw(args), await ll(args, DEFAULT_RUNTIME)];
        sameOutcome(t, got, want, `${args.join(' ')} (to ${DEFAULT_RUNTIME}, the default)`);
      }
      const listed = await bw(['list', '--format', 'json']);
      const ids = ((JSON.parse(listed.stdout) as Array<{ id: string }> | null) ?? []).map((c) => c.id);
      t.same(ids, [id], 'the container is listed', runtime === DEFAULT_RUNTIME ? {} : {
        todo: `\`list\` names no container, so it goes to the default runtime (${DEFAULT_RUNTIME}), which cannot read ${runtime}'s state in the same --root: a ${runtime} container is missing from \`bulwark-runtime list\``,
      });
    });

    t.test('events --stats', async (t) => {
      const [got, want] = [await bw(['events', '--stats', id]), await ll(['events', '--stats', id])];
      t.equal(got.exitCode, want.exitCode, `the same exit code (${want.exitCode})`);
      if (want.exitCode !== 0) {
        sameOutcome(t, got, want, `events (${runtime} has none)`);
        return;
      }
      // Statistics move between two calls; their shape does not.
      type StatsEvent = { type: string; id: string; data: Record<string, unknown> };
      const [a, b] = [JSON.parse(got.stdout) as StatsEvent, JSON.parse(want.stdout) as StatsEvent];
      t.same([a.type, a.id], ['stats', id], 'one stats event for the container');
      t.same(Object.keys(a.data).sort(), Object.keys(b.data).sort(), 'with the same sections as the runtime\'s own');
    });

    t.test('--version', async (t) => {
      sameOutcome(t, await bw(['--version']), await ll(['--version'], DEFAULT_RUNTIME), `--version (${DEFAULT_RUNTIME}, the default)`);
    });

    t.test('kill <id> 0', async (t) => {
      sameOutcome(t, await bw(['kill', id, '0']), await ll(['kill', id, '0']), 'kill 0');
    });

    t.test('exec of a short command', async (t) => {
      sameOutcome(t, await bw(['exec', id, '/bin/echo', 'hello']), await ll(['exec', id, '/bin/echo', 'hello']), 'exec echo');
      const script = ['exec', id, '/bin/sh', '-c', 'echo out; echo err >&2; exit 3'];
      const [got, want] = [await bw(script), await ll(script)];
      sameOutcome(t, got, want, 'exec sh -c "...; exit 3"');
      t.same([got.exitCode, got.stdout, got.stderr], [3, 'out\n', 'err\n'], 'its exit code, stdout and stderr');
    });

    t.test('pause and resume', { skip: freezer ? false : 'no cgroup freezer on this host' }, async (t) => {
      const pause = await bw(['pause', id]);
      t.same([pause.exitCode, pause.stdout, pause.stderr], [0, '', ''], 'pause through Bulwark');
      t.equal((await stateOf())?.status, 'paused', `${runtime} says paused`);
      sameOutcome(t, await bw(['state', id]), await ll(['state', id]), 'state while paused');
      const resume = await bw(['resume', id]);
      t.same([resume.exitCode, resume.stdout, resume.stderr], [0, '', ''], 'resume through Bulwark');
      t.equal((await stateOf())?.status, 'running', 'running again');
      sameOutcome(t, pause, await ll(['pause', id]), 'pause, compared with the runtime\'s own');
      sameOutcome(t, resume, await ll(['resume', id]), 'resume, likewise');
    });

    t.test('pass-through never starts Node (BULWARK_NODE=/nonexistent/node)', async (t) => {
      const noNode = { BULWARK_NODE: '/nonexistent/node' };
      sameOutcome(t, await bw(['state', id], noNode), await ll(['state', id]), 'state still works');
      sameOutcome(t, await bw(['ps', '--format', 'json', id], noNode), await ll(['ps', '--format', 'json', id]), 'ps still works');
      const exec = await bw(['exec', id, '/bin/touch', '/tmp/exec-without-node'], noNode);
      t.equal(exec.exitCode, 127, 'exec needs the engine: it fails closed');
      t.equal(exec.stderr, 'bulwark: cannot execute node /nonexistent/node: No such file or directory\n', 'with one clear line');
      t.equal((await ll(['exec', id, '/bin/test', '-e', '/tmp/exec-without-node'])).exitCode, 1, 'and nothing ran');
    });

    t.test('exec --process asking for CAP_SYS_ADMIN is refused (containerd\'s form)', async (t) => {
      const marker = '/tmp/bulwark-exec-marker';
      const file = processFile(bundle, 'process-admin.json', (p) => {
        p.args = ['/bin/touch', marker];
        const caps = [...(p.capabilities?.bounding ?? []), 'CAP_SYS_ADMIN'];
        p.capabilities = { bounding: caps, effective: caps, permitted: caps };
      });
      const execLog = join(bundle.dir, 'exec-log.json');
      const result = await h.call(['--root', R, '--log', execLog, '--log-format', 'json', 'exec', '--process', file.path, '--detach', '--pid-file', join(bundle.dir, 'exec.pid'), id], { cwd: bundle.dir });
      const refused = refusedCaps(profile, file.process.capabilities!.bounding!);
      t.same(refused, ['CAP_SYS_ADMIN'], 'the profile refuses CAP_SYS_ADMIN, and nothing else of this process');
      const message = `bulwark: denied by profile ${profile.name}: process.capabilities adds ${refused[0]}`;
      t.same([result.exitCode, result.stdout, result.stderr], [1, '', `${message}\n`], 'exit 1, one line on stderr');
      const logLine = JSON.parse(readFileSync(execLog, 'utf8').trim().split('\n').pop() ?? '{}') as Record<string, string>;
      t.same([logLine.level, logLine.msg], ['error', message], 'and the same line, runc-style, in --log');
      t.equal(readFileSync(file.path, 'utf8'), file.text, 'the process file is untouched');
      t.notOk(existsSync(join(bundle.dir, 'exec.pid')), 'no exec pid file');
      t.equal((await ll(['exec', id, '/bin/test', '-e', '/bin/probe'])).exitCode, 0, 'control: test -e finds a file that exists');
      t.equal((await ll(['exec', id, '/bin/test', '-e', marker])).exitCode, 1, 'the refused process never ran (no marker)');
    });

    t.test('exec --process with CAP_NET_RAW and noNewPrivileges false: NET_RAW dropped, no_new_privs on', async (t) => {
      const asked = ['CAP_NET_RAW', 'CAP_CHOWN', 'CAP_KILL'];
      const edit = (p: NonNullable<Spec['process']>) => {
        p.args = ['/bin/probe', 'self'];
        p.noNewPrivileges = false;
        p.capabilities = { bounding: asked, effective: asked, permitted: asked, inheritable: asked, ambient: asked };
      };
      const file = processFile(bundle, 'process-netraw.json', edit);
      const control = processFile(bundle, 'process-netraw-control.json', edit);
      const result = await bw(['exec', '--process', file.path, id]);
      t.equal(result.exitCode, 0, `exec ran (${result.stderr.trim()})`);
      const report = parseProbeOutput<SelfReport>(result.stdout);
      const expected = allowedCaps(profile, { ociVersion: '1.0.2', process: file.process }, 'bounding');
      t.same(expected, sortCaps(['CAP_CHOWN', 'CAP_KILL']), 'the profile keeps CHOWN and KILL of what was asked');
      const caps = capabilitySets(report);
      for (const set of ['bounding', 'permitted', 'effective'] as const) t.same(caps[set], expected, `${set}: ${expected.join(' ')}, no NET_RAW`);
      t.same([caps.inheritable, caps.ambient], [[], []], 'inheritable and ambient empty');
      t.same([report.status.NoNewPrivs, report.noNewPrivs], ['1', 1], 'NoNewPrivs 1');
      const rewritten = JSON.parse(readFileSync(file.path, 'utf8')) as NonNullable<Spec['process']>;
      t.equal(rewritten.noNewPrivileges, true, 'the process file was rewritten with noNewPrivileges true');
      t.same(sortCaps(rewritten.capabilities?.bounding ?? []), expected, 'and the capabilities cut');

      // Control: the same file given to the runtime directly shows what the probe would have seen.
      const bare = parseProbeOutput<SelfReport>((await ll(['exec', '--process', control.path, id])).stdout);
      t.ok(capabilitySets(bare).effective?.includes('CAP_NET_RAW'), 'control: without Bulwark, the process has CAP_NET_RAW');
      t.equal(bare.noNewPrivs, 0, 'control: and no_new_privs off');
    });

    t.test('errors for an unknown container are the runtime\'s own', async (t) => {
      // No record for the id: the default runtime answers.
      for (const args of [['state', 'no-such-id'], ['delete', 'no-such-id']]) {
        const [got, want] = [await bw(args), await ll(args, DEFAULT_RUNTIME)];
        t.not(want.exitCode, 0, `${DEFAULT_RUNTIME} ${args.join(' ')} fails (${want.stderr.trim()})`);
        sameOutcome(t, got, want, args.join(' '));
      }
    });

    t.test('kill SIGKILL, then delete', async (t) => {
      const kill = await bw(['kill', id, 'SIGKILL']);
      t.same([kill.exitCode, kill.stdout, kill.stderr], [0, '', ''], 'kill SIGKILL');
      await until('the container is stopped', async () => (await stateOf())?.status === 'stopped');
      sameOutcome(t, await bw(['state', id]), await ll(['state', id]), 'state of the stopped container');
      const del = await bw(['delete', id]);
      t.same([del.exitCode, del.stdout, del.stderr], [0, '', ''], 'delete');
      const [got, want] = [await bw(['state', id]), await ll(['state', id])];
      t.not(want.exitCode, 0, `${runtime} no longer knows it`);
      sameOutcome(t, got, want, 'state after delete');
    });
  });
}

t.test('deleted containers give their ID block back (a pool of 2 blocks runs 3 containers in turn)', { skip: availability.runc!.available ? false : 'runc is not usable here' }, async (t) => {
  const h = new BulwarkHarness({ label: 'passthrough-pool', idPool: { start: 1_000_000_000, size: 2 * ID_BLOCK } });
  t.teardown(() => h.dispose());
  for (let i = 1; i <= 3; i++) {
    const bundle = await makeBundle({ label: `pool-${i}`, args: ['/bin/true'] });
    try {
      const result = await h.client.run(bundle, undefined, { timeoutMs: 60_000 });
      t.equal(result.exitCode, 0, `container ${i} ran and was deleted (${result.stderr.trim() || 'no error'})`);
    } finally {
      bundle.destroy();
    }
  }
});
