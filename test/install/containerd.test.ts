// bulwark install/uninstall containerd: the pure transformation (table rows for config versions
// 2 and 3), then the CLI on real files (backup, --dry-run, idempotence, exact round trip).
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { execa } from 'execa';
import { handlerSpecs, installContainerd, isBulwarkRuntime, uninstallContainerd } from '../../src/install/containerd.js';
import type { ContainerdOptions } from '../../src/install/containerd.js';
import { unifiedDiff } from '../../src/install/files.js';

const ROOT = '/opt/bulwark';
const opts = (over: Partial<ContainerdOptions> = {}): ContainerdOptions => ({ mode: 'binary', handler: 'bulwark', profiles: ['restricted', 'strict'], kata: false, installRoot: ROOT, ...over });

type Table = Record<string, any>;
const runtimesOf = (text: string, version: 2 | 3): Table => {
  const c = parse(text) as Table;
  const plugin = version === 2 ? 'io.containerd.grpc.v1.cri' : 'io.containerd.cri.v1.runtime';
  return c.plugins[plugin].containerd.runtimes;
};

const V2 = `version = 2
root = "/var/lib/containerd"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
        BinaryName = "/usr/sbin/runc"
`;

const V3 = `version = 3
[plugins.'io.containerd.cri.v1.runtime'.containerd]
  default_runtime_name = 'runc'
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
`;

const NO_CRI = `version = 2
root = "/var/lib/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
`;

const rows: Array<{ name: string; text: string | null; version: 2 | 3; systemd: boolean | undefined }> = [
  { name: 'version 2 with SystemdCgroup', text: V2, version: 2, systemd: true },
  { name: 'version 3 with SystemdCgroup', text: V3, version: 3, systemd: true },
  { name: 'version 2 without a CRI section', text: NO_CRI, version: 2, systemd: undefined },
  { name: 'no config file at all', text: null, version: 2, systemd: undefined },
];

for (const row of rows) {
  t.test(`install, binary mode: ${row.name}`, async (t) => {
    const r = installContainerd(row.text, opts());
    t.ok(r.changed);
    t.equal(r.version, row.version);
    const runtimes = runtimesOf(r.text, row.version);
    t.same(Object.keys(runtimes).filter((n) => n.startsWith('bulwark')).sort(), ['bulwark', 'bulwark-restricted', 'bulwark-strict']);
    for (const [name, suffix] of [['bulwark', ''], ['bulwark-restricted', '-restricted'], ['bulwark-strict', '-strict']] as const) {
      const h = runtimes[name];
      t.equal(h.runtime_type, 'io.containerd.runc.v2');
      t.equal(h.options.BinaryName, `${ROOT}/bin/bulwark-runtime${suffix}`);
      t.equal(h.options.SystemdCgroup, row.systemd, 'the default runtime\'s options are copied');
      t.same(h.pod_annotations, ['io.bulwark.*']);
      t.same(h.container_annotations, ['io.bulwark.*']);
    }
    if (row.text !== null) {
      // The rest of the config is intact.
      const before = parse(row.text) as Table;
      const after = parse(r.text) as Table;
      for (const key of Object.keys(before)) if (key !== 'plugins') t.same(after[key], before[key], `top-level ${key} kept`);
      if (runtimesOf(row.text.includes('runtimes.runc') ? row.text : r.text, row.version).runc) {
        t.same(runtimes.runc, runtimesOf(row.text, row.version).runc, 'the runc entry is untouched');
      }
    }
    // Idempotent: a second run changes nothing.
    const again = installContainerd(r.text, opts());
    t.notOk(again.changed);
    t.equal(again.text, r.text);
  });

  t.test(`install then uninstall: ${row.name}`, async (t) => {
    const r = installContainerd(row.text, opts());
    const u = uninstallContainerd(r.text, 'config.toml', [row.text]);
    t.same(u.removed.sort(), ['bulwark', 'bulwark-restricted', 'bulwark-strict']);
    t.ok(u.restoredBackup);
    t.equal(u.text, row.text, 'exactly the original bytes (null: the file goes)');
    // Without a backup: the same content, re-serialized.
    const bare = uninstallContainerd(r.text, 'config.toml', []);
    if (row.text !== null) t.same(parse(bare.text!), parse(row.text));
  });
}

t.test('shim mode: io.containerd.bulwark[-profile].v2, no runc options', async (t) => {
  const r = installContainerd(V2, opts({ mode: 'shim' }));
  const runtimes = runtimesOf(r.text, 2);
  t.equal(runtimes.bulwark.runtime_type, 'io.containerd.bulwark.v2');
  t.equal(runtimes['bulwark-restricted'].runtime_type, 'io.containerd.bulwark-restricted.v2');
  t.equal(runtimes.bulwark.options, undefined, 'containerd 1.6 hands non-runc runtime types a generic options type: none are written');
  t.same(handlerSpecs(opts({ mode: 'shim' })).map((h) => h.shimBinary), ['containerd-shim-bulwark-v2', 'containerd-shim-bulwark-restricted-v2', 'containerd-shim-bulwark-strict-v2']);
  // Switching modes replaces the entries instead of adding more.
  const back = installContainerd(r.text, opts());
  t.equal(runtimesOf(back.text, 2).bulwark.runtime_type, 'io.containerd.runc.v2');
  t.same(parse(uninstallContainerd(back.text).text!), parse(V2));
});

t.test('kata: bulwark-kata is a shim handler whatever the mode, profile kata', async (t) => {
  for (const mode of ['binary', 'shim'] as const) {
    const r = installContainerd(V3, opts({ mode, kata: true }));
    const kata = runtimesOf(r.text, 3)['bulwark-kata'];
    t.equal(kata.runtime_type, 'io.containerd.bulwark-kata.v2');
    t.equal(kata.options, undefined);
    t.same(kata.pod_annotations, ['io.bulwark.*']);
    const spec = handlerSpecs(opts({ mode, kata: true })).find((h) => h.name === 'bulwark-kata')!;
    t.equal(spec.profile, 'kata');
    t.equal(spec.shimBinary, 'containerd-shim-bulwark-kata-v2');
  }
});

t.test('--handler renames every handler; a second install with another name replaces the first', async (t) => {
  const r = installContainerd(V2, opts({ handler: 'hardened' }));
  t.same(Object.keys(runtimesOf(r.text, 2)).sort(), ['hardened', 'hardened-restricted', 'hardened-strict', 'runc']);
  const r2 = installContainerd(r.text, opts());
  t.same(Object.keys(runtimesOf(r2.text, 2)).sort(), ['bulwark', 'bulwark-restricted', 'bulwark-strict', 'runc']);
  t.throws(() => handlerSpecs(opts({ handler: 'Bad Name' })), /not a valid handler name/);
});

t.test('refusals: clear errors, nothing produced', async (t) => {
  t.throws(() => installContainerd('version = 2\n[plugins\nbroken', opts(), '/x/config.toml'), /\/x\/config\.toml: not valid TOML: .*nothing was changed/);
  t.throws(() => installContainerd('root = "/var/lib/containerd"\n', opts()), /no "version" key/);
  t.throws(() => installContainerd('version = 1\n', opts()), /version 1 is not supported/);
  const foreign = V2 + '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.bulwark]\n  runtime_type = "io.containerd.kata.v2"\n';
  t.throws(() => installContainerd(foreign, opts()), /runtime handler "bulwark" already exists and is not Bulwark's/);
  const badTable = 'version = 2\nplugins = 3\n';
  t.throws(() => installContainerd(badTable, opts()), /plugins is not a table/);
  const r = installContainerd(V2, opts());
  const asDefault = r.text.replace('default_runtime_name = "runc"', 'default_runtime_name = "bulwark"');
  t.throws(() => uninstallContainerd(asDefault), /default_runtime_name is the Bulwark handler "bulwark"/);
});

t.test('warnings: a disabled CRI plugin; imported files that could replace the CRI table', async (t) => {
  const r = installContainerd('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n', opts());
  t.match(r.warnings[0], /disabled_plugins/);
  const i = installContainerd('version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n', opts());
  t.match(i.warnings[0], /imports \/etc\/containerd\/conf\.d\/\*\.toml: on containerd up to 1\.7 .* replaces that whole table/);
  t.same((parse(i.text) as Table).imports, ['/etc/containerd/conf.d/*.toml'], 'imports kept');
});

t.test('isBulwarkRuntime', async (t) => {
  t.ok(isBulwarkRuntime({ runtime_type: 'io.containerd.bulwark.v2' }));
  t.ok(isBulwarkRuntime({ runtime_type: 'io.containerd.bulwark-strict.v2' }));
  t.ok(isBulwarkRuntime({ runtime_type: 'io.containerd.runc.v2', options: { BinaryName: '/x/bin/bulwark-runtime-restricted' } }));
  t.notOk(isBulwarkRuntime({ runtime_type: 'io.containerd.runc.v2', options: { BinaryName: '/usr/sbin/runc' } }));
  t.notOk(isBulwarkRuntime({ runtime_type: 'io.containerd.kata.v2' }));
});

t.test('unifiedDiff', async (t) => {
  t.equal(unifiedDiff('a\nb\n', 'a\nb\n', 'x', 'y'), '');
  t.equal(unifiedDiff('a\nb\nc\n', 'a\nB\nc\n', 'x', 'y'), '--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n');
  t.equal(unifiedDiff('', 'a\n', '/dev/null', 'y'), '--- /dev/null\n+++ y\n@@ -0,0 +1,1 @@\n+a\n');
});

// ---- the CLI on real files ----
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bulwark = join(repo, 'bin', 'bulwark');
const tmp = mkdtempSync(join(tmpdir(), 'bulwark-install-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const env = { BULWARK_CONFIG: join(tmp, 'bulwark.yaml') };
writeFileSync(env.BULWARK_CONFIG, '');
const cli = (...args: string[]) => execa(bulwark, args, { reject: false, env });
const backups = (dir: string) => readdirSync(dir).filter((n) => n.includes('.bulwark-backup-'));

t.test('CLI: --dry-run prints a diff and writes nothing; install, again, uninstall', async (t) => {
  const dir = mkdtempSync(join(tmp, 'c-'));
  const file = join(dir, 'config.toml');
  writeFileSync(file, V2);
  const dry = await cli('install', 'containerd', '--config', file, '--profiles', 'restricted,strict', '--dry-run');
  t.equal(dry.exitCode, 0, dry.stderr);
  t.match(dry.stdout, /^--- .*config\.toml \(current\)\n\+\+\+ .*config\.toml \(new\)\n@@ /);
  t.match(dry.stdout, /\+BinaryName = ".*\/bin\/bulwark-runtime-restricted"/);
  t.equal(readFileSync(file, 'utf8'), V2, 'dry run wrote nothing');
  t.same(backups(dir), [], 'and no backup');

  const first = await cli('install', 'containerd', '--config', file, '--profiles', 'restricted,strict');
  t.equal(first.exitCode, 0, first.stderr);
  t.equal(backups(dir).length, 1, 'one backup');
  t.equal(readFileSync(join(dir, backups(dir)[0]!), 'utf8'), V2, 'the backup is the original');
  const installed = readFileSync(file, 'utf8');
  t.match(installed, /BinaryName = ".*\/bin\/bulwark-runtime"/);

  const second = await cli('install', 'containerd', '--config', file, '--profiles', 'restricted,strict');
  t.equal(second.exitCode, 0);
  t.match(second.stdout, /already configured/);
  t.equal(readFileSync(file, 'utf8'), installed, 'idempotent');
  t.equal(backups(dir).length, 1, 'no new backup');

  const un = await cli('uninstall', 'containerd', '--config', file);
  t.equal(un.exitCode, 0, un.stderr);
  t.equal(readFileSync(file, 'utf8'), V2, 'uninstall brings back the exact bytes');
  const un2 = await cli('uninstall', 'containerd', '--config', file);
  t.match(un2.stdout, /nothing changed/);
});

t.test('CLI: malformed TOML: clear error, exit 2, nothing written', async (t) => {
  const dir = mkdtempSync(join(tmp, 'bad-'));
  const file = join(dir, 'config.toml');
  writeFileSync(file, 'version = 2\n[plugins."io.containerd.grpc.v1.cri"\n');
  const r = await cli('install', 'containerd', '--config', file);
  t.equal(r.exitCode, 2);
  t.match(r.stderr, /^bulwark: .*config\.toml: not valid TOML: .*nothing was changed/);
  t.same(readdirSync(dir), ['config.toml']);
});

t.test('CLI: shim mode links the shims into --shim-dir; uninstall removes them', async (t) => {
  const dir = mkdtempSync(join(tmp, 'shim-'));
  const file = join(dir, 'config.toml');
  const r = await cli('install', 'containerd', '--config', file, '--mode', 'shim', '--profiles', 'restricted', '--kata', '--shim-dir', dir);
  t.equal(r.exitCode, 0, r.stderr);
  for (const name of ['containerd-shim-bulwark-v2', 'containerd-shim-bulwark-restricted-v2', 'containerd-shim-bulwark-kata-v2']) {
    t.equal(readlinkSync(join(dir, name)), join(repo, 'bin', 'containerd-shim-bulwark-v2'));
  }
  t.ok(backups(dir)[0]!.endsWith('.absent'), 'a marker records that there was no config file');
  const u = await cli('uninstall', 'containerd', '--config', file, '--shim-dir', dir);
  t.equal(u.exitCode, 0, u.stderr);
  t.notOk(existsSync(file), 'the config install created is gone again');
  t.same(readdirSync(dir).filter((n) => n.startsWith('containerd-shim')), []);
});

t.test('CLI: usage errors', async (t) => {
  const r = await cli('install', 'containerd', '--mode', 'vm');
  t.equal(r.exitCode, 2);
  t.match(r.stderr, /--mode must be binary or shim/);
  const r2 = await cli('install', 'nothing');
  t.match(r2.stderr, /install takes containerd or docker/);
});
