// The service's caching loaders: a cached profile or config is reused only while every file it
// came from reads back the same, so edits apply to the next container as on the cold path.
import t from 'tap';
import type { Test } from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachingLoaders } from '../../src/service/cache.js';
import { INSTALL_ROOT } from '../../src/host/config.js';

function profilesDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(INSTALL_ROOT, 'profiles'), dir, { recursive: true });
  return dir;
}

t.test('profiles: hits while unchanged, reloads on an edit anywhere in the extends chain', async (t) => {
  const dir = profilesDir(t);
  const loaders = cachingLoaders();
  const first = loaders.profile(dir, 'restricted');
  t.equal(loaders.profile(dir, 'restricted'), first, 'same object while nothing changed');
  t.same(loaders.stats, { hits: 1, misses: 1 });

  // restricted extends baseline: editing the parent must show.
  const baseline = join(dir, 'baseline.yaml');
  writeFileSync(baseline, readFileSync(baseline, 'utf8').replace(/^description: .*$/m, 'description: edited parent'));
  const second = loaders.profile(dir, 'restricted');
  t.not(second, first, 'reloaded after the parent changed');
  t.equal(loaders.stats.misses, 2);

  // The seccomp filter file is part of the profile too.
  const filter = join(dir, 'seccomp', 'default.yaml');
  writeFileSync(filter, readFileSync(filter, 'utf8') + '\n# edited\n');
  t.not(loaders.profile(dir, 'restricted'), second, 'reloaded after the filter changed');
});

t.test('profiles: a broken edit is an error, not the stale cached profile', async (t) => {
  const dir = profilesDir(t);
  const loaders = cachingLoaders();
  loaders.profile(dir, 'baseline');
  writeFileSync(join(dir, 'baseline.yaml'), 'apiVersion: bulwark/v1\nkind: Profile\nname: baseline\nrules: { bogus: 1 }\n');
  t.throws(() => loaders.profile(dir, 'baseline'), /bogus|unknown|rules/);
  rmSync(join(dir, 'baseline.yaml'));
  t.throws(() => loaders.profile(dir, 'baseline'), /baseline/, 'a deleted profile is gone');
});

t.test('config: reused while the file is unchanged; BULWARK_STATE_DIR is part of the key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'stateDir: /run/a\n');
  const loaders = cachingLoaders();
  const env = { BULWARK_CONFIG: file };
  const a = loaders.config(env);
  t.equal(a.stateDir, '/run/a');
  t.equal(loaders.config(env), a, 'cached');
  t.equal(loaders.config({ ...env, BULWARK_STATE_DIR: '/run/b' }).stateDir, '/run/b', 'override applies');
  writeFileSync(file, 'stateDir: /run/c\n');
  t.equal(loaders.config(env).stateDir, '/run/c', 'edit applies');
  writeFileSync(file, 'stateDirr: /run/c\n');
  t.throws(() => loaders.config(env), /unknown key "stateDirr"/, 'an invalid edit fails closed');
});
