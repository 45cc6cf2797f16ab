// bulwark install/uninstall docker: daemon.json "runtimes" entries.
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { installDocker, uninstallDocker } from '../../src/install/docker.js';

const opts = { handler: 'bulwark', profiles: ['restricted', 'strict'], installRoot: '/opt/bulwark' };
const EXISTING = '{\n  "log-driver": "journald",\n  "runtimes": {\n    "nvidia": { "path": "nvidia-container-runtime" }\n  }\n}\n';

const rows: Array<{ name: string; text: string | null }> = [
  { name: 'no file', text: null },
  { name: 'empty file', text: '' },
  { name: 'other settings and runtimes', text: EXISTING },
];

for (const row of rows) {
  t.test(`install and uninstall: ${row.name}`, async (t) => {
    const r = installDocker(row.text, opts);
    t.ok(r.changed);
    const c = JSON.parse(r.text);
    t.same(c.runtimes.bulwark, { path: '/opt/bulwark/bin/bulwark-runtime' });
    t.same(c.runtimes['bulwark-restricted'], { path: '/opt/bulwark/bin/bulwark-runtime-restricted' });
    if (row.text === EXISTING) {
      t.equal(c['log-driver'], 'journald');
      t.same(c.runtimes.nvidia, { path: 'nvidia-container-runtime' });
    }
    const again = installDocker(r.text, opts);
    t.notOk(again.changed, 'idempotent');
    t.equal(again.text, r.text);
    const u = uninstallDocker(r.text, 'daemon.json', [row.text]);
    t.same(u.removed.sort(), ['bulwark', 'bulwark-restricted', 'bulwark-strict']);
    t.equal(u.text, row.text === '' ? '' : row.text, 'exactly what was there before');
  });
}

t.test('refusals', async (t) => {
  t.throws(() => installDocker('{ "runtimes": ', opts, '/etc/docker/daemon.json'), /daemon\.json: not valid JSON.*nothing was changed/);
  t.throws(() => installDocker('[]', opts), /top level is not an object/);
  t.throws(() => installDocker('{"runtimes": {"bulwark": {"path": "/usr/bin/runc"}}}', opts), /"bulwark" already exists and is not Bulwark's/);
  const r = installDocker('{}', opts);
  const asDefault = JSON.stringify({ ...JSON.parse(r.text), 'default-runtime': 'bulwark' });
  t.throws(() => uninstallDocker(asDefault), /default-runtime/);
});

t.test('CLI: --dry-run, install, uninstall on a real file', async (t) => {
  const repo = fileURLToPath(new URL('../../../', import.meta.url));
  const tmp = mkdtempSync(join(tmpdir(), 'bulwark-docker-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const env = { BULWARK_CONFIG: join(tmp, 'bulwark.yaml') };
  writeFileSync(env.BULWARK_CONFIG, '');
  const file = join(tmp, 'daemon.json');
  writeFileSync(file, EXISTING);
  const cli = (...args: string[]) => execa(join(repo, 'bin', 'bulwark'), args, { reject: false, env });
  const dry = await cli('install', 'docker', '--config', file, '--dry-run');
  t.equal(dry.exitCode, 0, dry.stderr);
  t.match(dry.stdout, /\+.*"bulwark": \{/);
  t.equal(readFileSync(file, 'utf8'), EXISTING);
  t.equal((await cli('install', 'docker', '--config', file)).exitCode, 0);
  t.match(JSON.parse(readFileSync(file, 'utf8')).runtimes.bulwark.path, /\/bin\/bulwark-runtime$/);
  t.equal(readdirSync(tmp).filter((n) => n.includes('bulwark-backup')).length, 1);
  t.equal((await cli('uninstall', 'docker', '--config', file)).exitCode, 0);
  t.equal(readFileSync(file, 'utf8'), EXISTING);
});
