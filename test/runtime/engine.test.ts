// The engine with a recording fake of the native addon: every path of create, exec, update and
// pass-through, checked on disk (bundle, state, audit log, --log) and in the exec it asks for.
// No root, no real runtime: the integration tests run the real thing.
import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, symlinkSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Engine, inheritedFds } from '../../src/runtime/engine.js';
import type { EngineNative } from '../../src/runtime/engine.js';
import { parseRuncArgs } from '../../src/cli/runc-args.js';
import { parseJson, stringifyJson } from '../../src/json/lossless.js';
import { rootKey } from '../../src/runtime/records.js';
import type { Spec } from '../../src/spec/index.js';
import { readFixture, runcSpec } from '../fixtures/index.js';

interface ExecCall {
  path: string;
  argv: string[];
  keepFds: number[];
}

function fakeNative(): EngineNative {
  return {
    cgroupMode: () => 'v2',
    seccompActions: () => ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_ALLOW', 'SCMP_ACT_NOTIFY'],
    namespaceId: (path: string) => {
      if (path.startsWith('/proc/1/ns/') || path.startsWith('/proc/self/ns/')) return { dev: 4, ino: 4026531840 };
      if (path.startsWith('/var/run/netns/') || path.startsWith('/proc/48213/ns/')) return { dev: 4, ino: 4026532999 };
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    },
    rlimits: () => ({ RLIMIT_NOFILE: { soft: 1024n, hard: 1048576n }, RLIMIT_NPROC: { soft: 4096n, hard: 96364n } }),
    probeUserNamespaces: () => ({ supported: true, idmapMounts: true }),
  };
}

interface World {
  dir: string;
  bundle: string;
  state: string;
  auditLog: string;
  logFile: string;
  calls: ExecCall[];
  stderr: string[];
  stdout: string[];
  engine: Engine;
  run(argv: string[]): Promise<number | undefined>;
  audit(): Array<Record<string, unknown>>;
}

function world(t: Test, spec: Spec = runcSpec(), configExtra = '', argv0 = '/usr/local/bin/bulwark-runtime'): World {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-engine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  writeFileSync(join(bundle, 'config.json'), stringifyJson(spec));
  const state = join(dir, 'state');
  const auditLog = join(dir, 'log', 'bulwark', 'audit.jsonl'); // made by the first create
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `stateDir: ${state}\nauditLog: ${auditLog}\nidPool: { start: 1000000, size: 6553600 }\n${configExtra}`);
  const calls: ExecCall[] = [];
  const stderr: string[] = [];
  const stdout: string[] = [];
  const engine = new Engine({
    native: fakeNative(),
    env: { BULWARK_CONFIG: config, PATH: '/usr/bin:/bin' },
    cwd: dir,
    argv0,
    now: () => new Date('2026-11-23T17:41:50Z'),
    stderr: (text) => stderr.push(text),
    stdout: (text) => stdout.push(text),
    capture: async () => ({ exitCode: 0, stdout: '{"ociVersionMin":"1.0.0","annotations":{"io.github.seccomp.libseccomp.version":"2.5.4"}}', stderr: '' }),
  });
  return {
    dir, bundle, state, auditLog, logFile: join(dir, 'log.json'), calls, stderr, stdout, engine,
    run: async (a) => {
      const outcome = await engine.run(a);
      if (outcome.kind === 'exec') calls.push({ path: outcome.path, argv: outcome.argv, keepFds: outcome.keepFds });
      return outcome.kind === 'exit' ? outcome.code : undefined;
    },
    audit: () => (existsSync(auditLog) ? readFileSync(auditLog, 'utf8').trim().split('\n').map((l) => parseJson(l) as Record<string, unknown>) : []),
  };
}

const bundleConfig = (w: World) => parseJson(readFileSync(join(w.bundle, 'config.json'), 'utf8')) as unknown as Spec;

t.test('create: hardened atomically, original kept, recorded, audited, then exec of runc with the same argv', async (t) => {
  const w = world(t);
  const argv = ['--root', '/run/containerd/runc/k8s.io', '--log', join(w.dir, 'log.json'), '--log-format', 'json', 'create', '--bundle', w.bundle, '--pid-file', join(w.dir, 'init.pid'), 'c1'];
  await w.run(argv);
  t.same(w.stderr, [], 'nothing on stderr');
  t.notOk(existsSync(w.logFile), 'nothing in --log on success');
  t.equal(w.calls.length, 1);
  t.match(w.calls[0]!.path, /\/runc$/);
  t.same(w.calls[0]!.argv, [w.calls[0]!.path, ...argv], 'same argv after the runtime path');
  t.same(w.calls[0]!.keepFds, []);
  const hardened = bundleConfig(w);
  t.equal(hardened.process?.noNewPrivileges, true);
  t.ok(hardened.linux?.namespaces?.some((n) => n.type === 'user'));
  t.same(hardened.linux?.uidMappings, [{ containerID: 0, hostID: 1000000, size: 65536 }], 'first block of the configured pool');
  t.equal(readFileSync(join(w.bundle, 'config.json.orig'), 'utf8'), stringifyJson(runcSpec()), 'original kept');
  const recordDir = join(w.state, 'containers', rootKey('/run/containerd/runc/k8s.io'), 'c1');
  t.equal(readFileSync(join(recordDir, 'runtime.argv'), 'utf8'), `${w.calls[0]!.path}\0`, 'launcher record');
  t.match(JSON.parse(readFileSync(join(recordDir, 'record.json'), 'utf8')), { id: 'c1', profile: 'baseline', bundle: w.bundle, podKey: 'c1' });
  t.ok(existsSync(join(w.state, 'default-runtime.argv')), 'default runtime recorded for the launcher');
  const [entry] = w.audit();
  t.match(entry, { event: 'create', id: 'c1', profile: 'baseline', mode: 'enforce', runtime: 'runc', decision: 'allow', originalSha256: /^[0-9a-f]{64}$/, hardenedSha256: /^[0-9a-f]{64}$/ });
  t.ok((entry!.findings as unknown[]).length > 3, 'findings audited');
  t.equal(statSync(dirname(w.auditLog)).mode & 0o777, 0o700, 'the audit log\'s directory made, root-only');
  await w.run([...argv.slice(0, -1), 'c2']);
  t.same(w.audit().map((e) => e.id), ['c1', 'c2'], 'the next create appends');
});

t.test('create with --preserve-fds and LISTEN_FDS keeps those descriptors for runc', async (t) => {
  const inv = parseRuncArgs(['run', '--preserve-fds', '2', '-b', '/b', 'x']);
  t.same(inheritedFds(inv, {}), [3, 4]);
  t.same(inheritedFds(inv, { LISTEN_FDS: '3' }), [3, 4, 5]);
  t.same(inheritedFds(parseRuncArgs(['create', 'x']), {}), []);
  t.same(inheritedFds(parseRuncArgs(['create', '--preserve-fds', 'lots', 'x']), {}), [], 'garbage is no descriptors');
  const w = world(t);
  await w.run(['create', '--preserve-fds', '1', '--bundle', w.bundle, 'c1']);
  t.same(w.calls[0]!.keepFds, [3]);
});

t.test('a denied create: runc-format line in --log and stderr, nothing written, no exec', async (t) => {
  const w = world(t, readFixture('privileged-pod.json'));
  const before = readFileSync(join(w.bundle, 'config.json'), 'utf8');
  const code = await w.run(['--log', w.logFile, '--log-format', 'json', 'create', '--bundle', w.bundle, 'c1']);
  t.equal(code, 1);
  t.same(w.calls, [], 'runtime never started');
  t.equal(readFileSync(join(w.bundle, 'config.json'), 'utf8'), before, 'config untouched');
  t.notOk(existsSync(join(w.bundle, 'config.json.orig')));
  t.notOk(existsSync(join(w.state, 'containers')), 'no record');
  const line = JSON.parse(readFileSync(w.logFile, 'utf8').trim());
  t.same(Object.keys(line), ['level', 'msg', 'time']);
  t.equal(line.level, 'error');
  t.match(line.msg, /^bulwark: denied by profile baseline: process\.capabilities adds CAP_\w+/);
  t.equal(line.time, '2026-11-23T17:41:50Z');
  t.match(w.stderr.join(''), /^bulwark: denied by profile baseline: /);
  t.match(w.audit()[0], { decision: 'deny' }, 'the denial is audited');
});

t.test('bad input fails closed with one clear line', async (t) => {
  const cases: Array<[string, (w: World) => void, string[] | null, RegExp]> = [
    ['malformed config.json', (w) => writeFileSync(join(w.bundle, 'config.json'), '{"ociVersion":'), null, /config\.json: unexpected end of input/],
    ['symlinked bundle', (w) => {
      rmSync(join(w.bundle, 'config.json'));
      writeFileSync(join(w.dir, 'elsewhere.json'), stringifyJson(runcSpec()));
      symlinkSync(join(w.dir, 'elsewhere.json'), join(w.bundle, 'config.json'));
    }, null, /is a symlink; refusing to follow it/],
    ['unknown profile in config', (w) => writeFileSync(join(w.dir, 'config.yaml'), `stateDir: ${w.state}\nauditLog: ${w.auditLog}\ndefaultProfile: nosuch\n`), null, /unknown profile "nosuch"/],
    ['invalid config file', (w) => writeFileSync(join(w.dir, 'config.yaml'), 'stateDirr: /x\n'), null, /unknown key "stateDirr"/],
    ['missing runtime binary', (w) => writeFileSync(join(w.dir, 'config.yaml'), `stateDir: ${w.state}\nauditLog: ${w.auditLog}\nruntimes:\n  runc: { paths: [/nonexistent/runc] }\n`), null, /low-level runtime runc not found \(looked in \/nonexistent\/runc\)/],
    ['looser profile by annotation', (w) => writeFileSync(join(w.bundle, 'config.json'), stringifyJson({ ...runcSpec(), annotations: { 'io.bulwark.profile': 'audit' } })), null, /io\.bulwark\.profile=audit is not a profile that baseline may switch to/],
    ['runtime not allowed', (w) => writeFileSync(join(w.bundle, 'config.json'), stringifyJson({ ...runcSpec(), annotations: { 'io.bulwark.runtime': 'kata' } })), null, /io\.bulwark\.runtime=kata is not an allowed runtime/],
    ['missing id', () => undefined, ['create'], /missing container id/],
    ['unusable --root', (w) => void w, ['--root', '..', 'create', '--bundle', '.', 'c1'], /unusable --root/],
    ['id with a slash', (w) => void w, ['create', '--bundle', '.', '../c1'], /invalid container id/],
  ];
  for (const [name, setup, argv, message] of cases) {
    const w = world(t);
    setup(w);
    const files = readdirSync(w.bundle).sort();
    const code = await w.run(argv ?? ['--log', w.logFile, 'create', '--bundle', w.bundle, 'c1']);
    t.equal(code, 1, `${name}: exit 1`);
    t.same(w.calls, [], `${name}: no exec`);
    t.match(w.stderr.join(''), message, `${name}: message`);
    t.equal(w.stderr.join('').trim().split('\n').length, 1, `${name}: one line`);
    t.same(readdirSync(w.bundle).sort(), files, `${name}: bundle unchanged`);
    if (!argv) t.match(readFileSync(w.logFile, 'utf8'), /level=error msg="bulwark: /, `${name}: text --log line`);
  }
});

t.test('annotation opt-in to a stricter profile; per-profile handler by name', async (t) => {
  const spec = { ...runcSpec(), process: { ...runcSpec().process!, user: { uid: 1000, gid: 1000 } }, annotations: { 'io.bulwark.profile': 'strict' } };
  spec.linux = { ...spec.linux!, namespaces: [...spec.linux!.namespaces!, { type: 'cgroup' }] };
  const w = world(t, spec);
  await w.run(['create', '--bundle', w.bundle, 'c1']);
  t.equal(w.stderr.join(''), '');
  t.equal(bundleConfig(w).root?.readonly, true, 'strict applied');
  t.match(w.audit()[0], { profile: 'strict' });

  const h = world(t, runcSpec(), '', '/usr/local/bin/bulwark-runtime-restricted');
  const code = await h.run(['create', '--bundle', h.bundle, 'c1']);
  t.equal(code, 1, 'restricted refuses root');
  t.match(h.stderr.join(''), /denied by profile restricted: /);
  t.ok((h.audit()[0]!.findings as Array<{ rule: string; action: string }>).some((f) => f.rule === 'process.runAsNonRoot' && f.action === 'deny'), 'root refused');
});

t.test('pods: the app container shares the sandbox block and joins its user namespace', async (t) => {
  const sandboxSpec = { ...runcSpec(), annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'sb1' } };
  const w = world(t, sandboxSpec);
  const pidFile = join(w.dir, 'sb1.pid');
  await w.run(['create', '--bundle', w.bundle, '--pid-file', pidFile, 'sb1']);
  writeFileSync(pidFile, '4242');
  t.same(bundleConfig(w).linux?.namespaces?.find((n) => n.type === 'user'), { type: 'user' });
  const sandboxMap = bundleConfig(w).linux?.uidMappings;
  const appSpec = { ...runcSpec(), annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'sb1' } };
  writeFileSync(join(w.bundle, 'config.json'), stringifyJson(appSpec));
  rmSync(join(w.bundle, 'config.json.orig'));
  await w.run(['create', '--bundle', w.bundle, 'app1']);
  t.equal(w.stderr.join(''), '');
  t.same(bundleConfig(w).linux?.namespaces?.find((n) => n.type === 'user'), { type: 'user', path: '/proc/4242/ns/user' });
  t.same(bundleConfig(w).linux?.uidMappings, sandboxMap, 'same block as the sandbox');
  const other = world(t);
  await other.run(['create', '--bundle', other.bundle, 'solo']);
  t.not(bundleConfig(other).linux?.uidMappings?.[0]?.hostID, undefined);
});

async function created(t: Test, spec = runcSpec()): Promise<World> {
  const w = world(t, spec);
  await w.run(['create', '--bundle', w.bundle, 'c1']);
  t.equal(w.stderr.join(''), '', 'created');
  w.calls.length = 0;
  return w;
}

t.test('exec: the process file containerd wrote from its unhardened spec is hardened', async (t) => {
  const w = await created(t);
  const processFile = join(w.dir, 'runc-process123');
  const caps = ['CAP_SYS_ADMIN', 'CAP_NET_RAW', 'CAP_KILL'];
  writeFileSync(processFile, stringifyJson({ ...runcSpec().process!, args: ['sh'], noNewPrivileges: false, capabilities: { bounding: caps, effective: caps, permitted: caps } }));
  const code = await w.run(['exec', '--process', processFile, '--detach', '--pid-file', join(w.dir, 'e.pid'), 'c1']);
  t.equal(code, 1, 'SYS_ADMIN in an exec is refused like in a create');
  t.match(w.stderr.join(''), /denied by profile baseline: process\.capabilities adds CAP_SYS_ADMIN/);
  t.same(w.calls, []);

  w.stderr.length = 0;
  writeFileSync(processFile, stringifyJson({ ...runcSpec().process!, args: ['sh'], noNewPrivileges: false, capabilities: { bounding: ['CAP_NET_RAW', 'CAP_KILL'], effective: ['CAP_NET_RAW', 'CAP_KILL'], permitted: ['CAP_NET_RAW'], ambient: ['CAP_KILL'] } }));
  await w.run(['exec', '--process', processFile, 'c1']);
  t.equal(w.stderr.join(''), '');
  const hardened = parseJson(readFileSync(processFile, 'utf8')) as NonNullable<Spec['process']>;
  t.equal(hardened.noNewPrivileges, true, 'no-new-privileges back on');
  t.same(hardened.capabilities, { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: [], ambient: [] }, 'NET_RAW and ambient gone');
  t.equal(w.calls.length, 1);
});

t.test('exec: inline --cap and other flags', async (t) => {
  const w = await created(t);
  await w.run(['exec', '--cap', 'CAP_NET_RAW', '-c', 'CAP_KILL', 'c1', 'sh']);
  t.same(w.calls[0]!.argv.slice(1), ['exec', '-c', 'CAP_KILL', 'c1', 'sh'], 'CAP_NET_RAW dropped, CAP_KILL kept');
  const cases: Array<[string[], RegExp]> = [
    [['exec', '--cap', 'CAP_SYS_ADMIN', 'c1', 'sh'], /adds CAP_SYS_ADMIN/],
    [['exec', '--apparmor', 'unconfined', 'c1', 'sh'], /--apparmor unconfined/],
    [['exec', 'nosuch', 'sh'], /container nosuch was not created by Bulwark/],
  ];
  for (const [argv, message] of cases) {
    w.calls.length = 0;
    w.stderr.length = 0;
    t.equal(await w.run(argv), 1, argv.join(' '));
    t.match(w.stderr.join(''), message);
    t.same(w.calls, []);
  }
});

t.test('update: requests above the profile ceilings are clamped', async (t) => {
  const w = await created(t);
  await w.run(['update', '--memory', '200g', '--pids-limit', '100', 'c1']);
  t.equal(w.stderr.join(''), '');
  const argv = w.calls[0]!.argv;
  const at = argv.indexOf('--resources');
  t.ok(at > 0, 'handed over as a resources file');
  const resources = parseJson(readFileSync(argv[at + 1]!, 'utf8')) as NonNullable<NonNullable<Spec['linux']>['resources']>;
  t.equal(resources.memory?.limit, 64 * 1024 ** 3, 'memory clamped to baseline max');
  t.equal(resources.pids?.limit, 100, 'a lower pids limit is kept');
  t.equal(argv[argv.length - 1], 'c1');

  w.calls.length = 0;
  await w.run(['update', '--pids-limit', '50', 'c1']);
  t.same(w.calls[0]!.argv.slice(1), ['update', '--pids-limit', '50', 'c1'], 'compliant update passes unchanged');
});

t.test('pass-through subcommands go to the runtime recorded at create', async (t) => {
  const w = await created(t, { ...runcSpec(), annotations: { 'io.bulwark.runtime': 'crun' } });
  await w.run(['state', 'c1']);
  t.match(w.calls[0]!.path, /\/crun$/, 'crun, as the annotation chose');
  w.calls.length = 0;
  await w.run(['state', 'other']);
  t.match(w.calls[0]!.path, /\/runc$/, 'unknown containers go to the default');
});

t.test('features: the runtime underneath plus what Bulwark adds', async (t) => {
  const w = world(t);
  t.equal(await w.run(['features']), 0);
  const out = JSON.parse(w.stdout.join(''));
  t.equal(out.ociVersionMin, '1.0.0', "runc's own fields kept");
  t.equal(out.annotations['io.github.seccomp.libseccomp.version'], '2.5.4');
  t.equal(out.annotations['io.bulwark.profile.default'], 'baseline');
  t.match(out.annotations['io.bulwark.annotations'], /io\.bulwark\.profile/);
});

t.test('restore is hardened like create', async (t) => {
  const w = world(t, readFixture('privileged-pod.json'));
  t.equal(await w.run(['restore', '--bundle', w.bundle, '--image-path', '/ckpt', 'c1']), 1);
  t.match(w.stderr.join(''), /denied by profile baseline/);
  t.same(w.calls, []);
});

t.test('state directory permissions', async (t) => {
  const w = await created(t);
  chmodSync(w.state, 0o700);
  t.ok(existsSync(join(w.state, 'ids', 'pods')), 'ID allocation recorded');
});

t.test('audit mode refuses nothing: deny findings are audited, the config runs as it came', async (t) => {
  const spec = { ...runcSpec(), process: { ...runcSpec().process!, cwd: '/proc/self/fd/7' } };
  const w = world(t, spec, 'defaultProfile: audit\n');
  const before = readFileSync(join(w.bundle, 'config.json'), 'utf8');
  t.equal(await w.run(['create', '--bundle', w.bundle, 'c1']), undefined, 'handed over');
  t.equal(w.calls.length, 1);
  t.equal(readFileSync(join(w.bundle, 'config.json'), 'utf8'), before, 'nothing rewritten');
  const [entry] = w.audit();
  t.match(entry, { profile: 'audit', mode: 'audit', decision: 'allow' });
  t.ok((entry!.findings as Array<{ action: string; path: string }>).some((f) => f.action === 'deny' && /process\.cwd/.test(f.path)), 'the would-be denial is in the audit log');
});

t.test('harden-only (shims that run the container themselves): hardened and audited, no record, no runtime needed', async (t) => {
  const w = world(t, runcSpec(), 'runtimes:\n  runc: { paths: [/nonexistent/runc] }\n');
  t.equal(w.engine.hardenBundle(w.bundle, 'k1'), 0);
  t.equal(bundleConfig(w).process?.noNewPrivileges, true, 'hardened in place');
  t.match(w.audit()[0], { event: 'harden', runtime: 'shim', decision: 'allow' });
  t.notOk(existsSync(join(w.state, 'containers')), 'no runtime record');
  const denied = world(t, readFixture('privileged-pod.json'));
  t.equal(denied.engine.hardenBundle(denied.bundle, 'k2'), 1);
  t.match(denied.stderr.join(''), /^bulwark: denied by profile baseline: /);
});

t.test('harden-process: a process is hardened against the bundle container\'s profile', async (t) => {
  const w = world(t);
  const proc = { ...runcSpec().process!, noNewPrivileges: false, capabilities: { bounding: ['CAP_CHOWN', 'CAP_NET_RAW'], effective: ['CAP_CHOWN', 'CAP_NET_RAW'], permitted: ['CAP_CHOWN', 'CAP_NET_RAW'] } };
  const out = w.engine.hardenProcessText(w.bundle, stringifyJson(proc));
  t.equal(out.code, 0);
  const hardened = JSON.parse(out.text!);
  t.equal(hardened.noNewPrivileges, true);
  t.same(hardened.capabilities.bounding, ['CAP_CHOWN'], 'CAP_NET_RAW dropped');
  const bad = w.engine.hardenProcessText(w.bundle, '{"args": [');
  t.equal(bad.code, 1);
  t.equal(bad.text, undefined);
});

t.test('exec and update refuse keys Go would read as another field (smuggled capabilities, limits)', async (t) => {
  const w = await created(t);
  const smuggled = `{"args":["sh"],"cwd":"/","noNewPrivileges":true,"Capabilities":{"bounding":["CAP_SYS_ADMIN"]},"capabilities":{"bounding":["CAP_CHOWN"]}}`;
  writeFileSync(join(w.dir, 'process.json'), smuggled);
  t.equal(await w.run(['exec', '--process', join(w.dir, 'process.json'), 'c1']), 1);
  t.match(w.stderr.join(''), /process\.json: .*Capabilities/);
  writeFileSync(join(w.dir, 'resources.json'), '{"Pids":{"limit":999999},"pids":{"limit":10}}');
  t.equal(await w.run(['update', '--resources', join(w.dir, 'resources.json'), 'c1']), 1);
  t.match(w.stderr.join(''), /resources\.json: .*Pids/);
  t.equal(w.calls.filter((c) => c.argv.includes('exec') || c.argv.includes('update')).length, 0, 'runc never asked');
});

t.test('a directory where the runtime should be is not a runtime', async (t) => {
  const w = world(t, runcSpec(), `runtimes:\n  runc: { paths: [${tmpdir()}] }\n`);
  const before = readFileSync(join(w.bundle, 'config.json'), 'utf8');
  t.equal(await w.run(['create', '--bundle', w.bundle, 'c1']), 1);
  t.match(w.stderr.join(''), /low-level runtime runc not found/);
  t.equal(readFileSync(join(w.bundle, 'config.json'), 'utf8'), before, 'bundle untouched');
});

t.test('a CNI sandbox: refused on a runc that joins the user namespace first, allowed on crun', async (t) => {
  const cni = (runtime?: string): Spec => {
    const spec = runcSpec();
    return {
      ...spec,
      annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'pod1', ...(runtime ? { 'io.bulwark.runtime': runtime } : {}) },
      linux: { ...spec.linux!, namespaces: spec.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: '/var/run/netns/cni-1' } : n)) },
    };
  };
  const runcVersion = /version (\d+)\.(\d+)/.exec(execFileSync('runc', ['--version'], { encoding: 'utf8' }));
  const userFirst = runcVersion !== null && Number(runcVersion[1]) === 1 && Number(runcVersion[2]) < 3;
  const onRunc = world(t, cni());
  const code = await onRunc.run(['create', '--bundle', onRunc.bundle, 'pod1']);
  if (userFirst) {
    t.equal(code, 1, `runc ${runcVersion![0]}: refused at the sandbox`);
    t.match(onRunc.stderr.join(''), /CNI network namespace.*setns EPERM.*crun/);
  } else {
    t.equal(code, undefined, 'runc 1.3+ joins other namespaces first: allowed');
  }
  const onCrun = world(t, cni('crun'));
  t.equal(await onCrun.run(['create', '--bundle', onCrun.bundle, 'pod1']), undefined, 'crun: allowed');
  t.notMatch(JSON.stringify(onCrun.audit()[0]?.findings), /CNI network namespace/, 'and nothing to warn about');
});

t.test('harden-resources: an update is clamped to the profile ceilings, never lifted past them', async (t) => {
  const w = await created(t);
  const out = w.engine.hardenResourcesText(w.bundle, '{"pids":{"limit":99999999},"memory":{"limit":1048576}}');
  t.equal(out.code, 0);
  const clamped = JSON.parse(out.text!);
  t.equal(clamped.pids.limit, 32768, "pids clamped to baseline's ceiling (cgroups.pids.max)");
  t.equal(clamped.memory.limit, 1048576, 'a lower memory limit is kept');
  const smuggled = w.engine.hardenResourcesText(w.bundle, '{"Pids":{"limit":99999999},"pids":{"limit":5}}');
  t.equal(smuggled.code, 1, 'a Go-ambiguous key is refused');
  t.match(w.stderr.join(''), /resources: .*Pids/);
});
