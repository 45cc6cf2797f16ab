import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, loadConfig, defaultConfig, ConfigError } from '../../src/host/config.js';

t.test('valid configs override the defaults', async (t) => {
  const c = parseConfig('defaultProfile: restricted\nstateDir: /var/run/bw\nruntimes:\n  runsc:\n    paths: [/opt/runsc]\n    args: [--platform=ptrace]\ndefaultRuntime: runsc\n', 'c.yaml');
  t.equal(c.defaultProfile, 'restricted');
  t.equal(c.stateDir, '/var/run/bw');
  t.same(c.runtimes.runsc, { paths: ['/opt/runsc'], args: ['--platform=ptrace'] });
  t.same(c.runtimes.runc, defaultConfig().runtimes.runc, 'other runtimes keep their defaults');
  t.equal(c.auditLog, defaultConfig().auditLog);
  t.same(parseConfig('', 'empty.yaml').defaultProfile, 'baseline', 'an empty file is the defaults');
});

const bad: Array<[string, string, RegExp]> = [
  ['unknown key', 'defaultProfil: x\n', /c\.yaml: \(top level\): unknown key "defaultProfil"/],
  ['relative state dir', 'stateDir: run/bw\n', /c\.yaml: stateDir: must match/],
  ['default runtime undefined', 'defaultRuntime: kata\n', /defaultRuntime: no runtime "kata"/],
  ['allowed runtime undefined', 'allowedRuntimes: [runc, youki]\n', /allowedRuntimes: no runtime "youki"/],
  ['pool smaller than a block', 'idPool: { start: 100000, size: 1000 }\n', /idPool\.size/],
  ['not YAML', 'a: [\n', /c\.yaml/],
  ['wrong type', 'runtimes: { runc: { paths: /usr/bin/runc } }\n', /runtimes\.runc\.paths: must be array/],
];

t.test('invalid configs are errors (fail closed)', async (t) => {
  for (const [name, text, message] of bad) t.throws(() => parseConfig(text, 'c.yaml'), message, name);
  for (const [name, text] of bad) t.throws(() => parseConfig(text, 'c.yaml'), ConfigError, name);
});

t.test('file lookup: missing default file = defaults; missing explicit file = error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.throws(() => loadConfig({ BULWARK_CONFIG: join(dir, 'nope.yaml') }), /nope\.yaml: cannot read \(ENOENT\)/);
  writeFileSync(join(dir, 'c.yaml'), 'defaultProfile: strict\n');
  t.equal(loadConfig({ BULWARK_CONFIG: join(dir, 'c.yaml') }).defaultProfile, 'strict');
  t.equal(loadConfig({ BULWARK_CONFIG: join(dir, 'c.yaml') }).file, join(dir, 'c.yaml'));
});
