// bin/bulwark end to end: the real executable on real files, exit codes and output shapes.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bulwark = join(root, 'bin', 'bulwark');
const fixture = (name: string) => join(root, 'test', 'fixtures', name);
const tmp = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const env = { BULWARK_CONFIG: join(tmp, 'none.yaml') };
writeFileSync(env.BULWARK_CONFIG, '');

const run = (...args: string[]) => execa(bulwark, args, { reject: false, env });

t.test('explain --json: allowed config, exit 0, the documented shape', async (t) => {
  const r = await run('explain', '--json', fixture('runc-spec.json'));
  t.equal(r.exitCode, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.same(Object.keys(out), ['profile', 'decision', 'findings', 'config']);
  t.equal(out.profile, 'baseline');
  t.equal(out.decision, 'allow');
  t.equal(out.config.process.noNewPrivileges, true);
  for (const f of out.findings) t.same(Object.keys(f), ['rule', 'path', 'action', 'message']);
  t.ok(out.findings.some((f: { rule: string }) => f.rule === 'seccomp'));
});

t.test('explain --json: privileged config, exit 3, the capability named', async (t) => {
  const r = await run('explain', '--json', fixture('privileged-pod.json'));
  t.equal(r.exitCode, 3);
  const out = JSON.parse(r.stdout);
  t.equal(out.decision, 'deny');
  t.ok(out.findings.some((f: { rule: string; path: string; action: string; message: string }) =>
    f.rule === 'capabilities.deny' && f.path === 'process.capabilities' && f.action === 'deny' && f.message === 'adds CAP_SYS_ADMIN'));
});

t.test('explain: a bundle directory and --profile', async (t) => {
  const bundle = join(tmp, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  copyFileSync(fixture('runc-spec.json'), join(bundle, 'config.json'));
  const r = await run('explain', '--profile', 'strict', '--json', bundle);
  t.equal(r.exitCode, 3, 'strict refuses a root process');
  t.equal(JSON.parse(r.stdout).profile, 'strict');
  const human = await run('explain', bundle);
  t.equal(human.exitCode, 0);
  t.match(human.stdout, /^profile: baseline \(enforce; from .*baseline\.yaml\)$/m);
  t.match(human.stdout, /^decision: ALLOW$/m);
  t.match(human.stdout, /^ACTION +RULE +FIELD +WHY$/m);
  t.match(human.stdout, /^fix +noNewPrivileges|^fix +seccomp +linux\.seccomp +no seccomp filter/m);
  t.match(human.stdout, /^config diff \(\d+ changes\):$/m);
  t.match(human.stdout, /^\+ linux\.uidMappings\[0\]\.hostID: \d+$/m);
});

t.test('bad input: exit 2 with one line naming the file and the problem', async (t) => {
  writeFileSync(join(tmp, 'broken.json'), '{"ociVersion": "1.0.2",');
  writeFileSync(join(tmp, 'invalid.json'), '{"ociVersion": 1}');
  writeFileSync(join(tmp, 'bad-profile.yaml'), 'apiVersion: bulwark/v1\nkind: Profile\nname: bad-profile\nextends: baseline\nrules:\n  seccomp: { action: sometimes }\n');
  const cases: Array<[string[], RegExp]> = [
    [['explain', join(tmp, 'missing.json')], /^bulwark: .*missing\.json: cannot open \(ENOENT\)$/],
    [['explain', join(tmp, 'broken.json')], /^bulwark: .*broken\.json: expected a key, found end of input at line 1 column 24$/],
    [['explain', join(tmp, 'invalid.json')], /^bulwark: .*invalid\.json: not a valid OCI runtime config: ociVersion: must be string$/],
    [['explain', '--profile', 'nope', fixture('runc-spec.json')], /^bulwark: unknown profile "nope" in .* \(known: audit, baseline, kata, restricted, strict\)$/],
    [['explain'], /^bulwark: explain takes one config\.json or bundle directory$/],
    [['check', join(tmp, 'bad-profile.yaml')], /^bulwark: .*bad-profile\.yaml: unknown profile "baseline"|^bulwark: .*bad-profile\.yaml: rules\.seccomp\.action: expected one of/],
    [['frobnicate'], /^bulwark: unknown command "frobnicate"$/],
  ];
  for (const [args, message] of cases) {
    const r = await run(...args);
    t.equal(r.exitCode, 2, args.join(' '));
    t.match(r.stderr.split('\n')[0], message, args.join(' '));
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
  }
});

t.test('profiles and check', async (t) => {
  const list = await run('profiles');
  t.equal(list.exitCode, 0);
  t.same(list.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]), ['audit', 'baseline', 'kata', 'restricted', 'strict']);
  t.match(list.stdout, /^baseline .*\[default\]$/m);
  const ok = await run('check', join(root, 'profiles', 'restricted.yaml'));
  t.equal(ok.exitCode, 0);
  t.match(ok.stdout, /restricted\.yaml: ok \(profile restricted, enforce, from .*baseline\.yaml <- .*restricted\.yaml\)/);
});
