// The service's caching loaders: a cached profile or config is reused only while every file it
// came from reads back the same, so edits apply to the next container as on the cold path:
// whether the check is by stat signature (settled files) or by the bytes (young ones).
import t from 'tap';
import type { Test } from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachingLoaders, KERNEL_FACTS_TTL_MS } from '../../src/service/cache.js';
import type { KernelProbes } from '../../src/host/probe.js';
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

t.test('an edit is seen whether the file is checked by its bytes or by its signature', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  const env = { BULWARK_CONFIG: file };
  const hourLater = () => Date.now() + 3_600_000;
  const cases: Array<{ name: string; clock: () => number }> = [
    { name: 'young file (compared by bytes)', clock: Date.now },
    { name: 'settled file (compared by stat signature)', clock: hourLater },
  ];
  for (const { name, clock } of cases) {
    writeFileSync(file, 'stateDir: /run/a\n');
    const loaders = cachingLoaders(clock);
    const first = loaders.config(env);
    t.equal(loaders.config(env), first, `${name}: a hit while nothing changed`);
    // Same length, same inode, and the modification time put back: only the bytes and the
    // change time (which utimes cannot set) differ.
    const { atime, mtime } = statSync(file);
    writeFileSync(file, 'stateDir: /run/c\n');
    utimesSync(file, atime, mtime);
    t.equal(loaders.config(env).stateDir, '/run/c', `${name}: a same-length edit applies`);
    utimesSync(file, atime, mtime); // touched, bytes unchanged
    const touched = loaders.config(env);
    t.equal(loaders.config(env), touched, `${name}: a touched but unchanged file is still a hit`);
    t.equal(loaders.stats.misses, 2, `${name}: two loads in all`);
  }
});

t.test('kernel facts: probed once per interval, again after it', async (t) => {
  let probes = 0;
  let actions = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO'];
  const fake: KernelProbes = {
    cgroupMode: () => 'v2',
    seccompActions: () => {
      probes++;
      return actions;
    },
    namespaceId: () => ({ dev: 1, ino: 1 }),
    rlimits: () => ({ RLIMIT_NOFILE: { soft: 1024n, hard: 4096n } }),
    probeUserNamespaces: () => ({ supported: true, idmapMounts: true }),
  };
  let now = 1_000_000;
  const loaders = cachingLoaders(() => now);
  const first = loaders.kernel(fake);
  t.same(first.seccompActions, actions);
  t.same(first.rlimitHard, { RLIMIT_NOFILE: 4096 });
  now += KERNEL_FACTS_TTL_MS - 1;
  actions = ['SCMP_ACT_ALLOW'];
  t.equal(loaders.kernel(fake), first, 'reused within the interval');
  t.equal(probes, 1);
  now += 1;
  t.same(loaders.kernel(fake).seccompActions, ['SCMP_ACT_ALLOW'], 'a change is seen once the interval is over');
  t.equal(probes, 2);
  now -= 60_000; // the wall clock stepped back: do not trust the old probe
  loaders.kernel(fake);
  t.equal(probes, 3, 'probed again after a clock step backwards');
});

t.test('ID pool: read from the subuid/subgid files once, again after an edit; config idPool needs neither', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const subuid = join(dir, 'subuid');
  const subgid = join(dir, 'subgid');
  const hourLater = () => Date.now() + 3_600_000;
  for (const [name, clock] of [['young files', Date.now], ['settled files', hourLater]] as const) {
    writeFileSync(subuid, 'bulwark:1000000:655360\n');
    writeFileSync(subgid, 'bulwark:1000000:655360\n');
    const loaders = cachingLoaders(clock, [subuid, subgid]);
    const first = loaders.idPool(null);
    t.match(first, { start: 1_000_000, size: 655_360, source: '/etc/subuid' }, `${name}: from the files`);
    t.equal(loaders.idPool(null), first, `${name}: reused while both files are unchanged`);
    const { atime, mtime } = statSync(subgid);
    writeFileSync(subuid, 'bulwark:2000000:655360\n');
    writeFileSync(subgid, 'bulwark:2000000:655360\n');
    utimesSync(subgid, atime, mtime);
    t.match(loaders.idPool(null), { start: 2_000_000 }, `${name}: a same-length edit applies`);
    writeFileSync(subgid, 'bulwark:3000000:655360\n');
    t.throws(() => loaders.idPool(null), /pool mismatch/, `${name}: a broken edit is an error, not the cached pool`);
    t.throws(() => loaders.idPool(null), /pool mismatch/, `${name}: and stays one`);
    t.match(loaders.idPool({ start: 5_000_000, size: 65_536 }), { start: 5_000_000, source: 'config idPool' }, `${name}: the config's pool wins`);
  }
});
