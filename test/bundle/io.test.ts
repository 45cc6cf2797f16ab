import t from 'tap';
import { existsSync, mkdtempSync, writeFileSync, readFileSync, symlinkSync, mkdirSync, readdirSync, statSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, writeHardenedConfig, writeFileAtomic, BundleError, MAX_CONFIG_BYTES } from '../../src/bundle/io.js';
import { stringifyJson } from '../../src/json/lossless.js';

function bundleWith(text: string | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bundle-'));
  if (text !== null) writeFileSync(join(dir, 'config.json'), text, { mode: 0o640 });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const runcSpecText = readFileSync(new URL('../../../test/fixtures/runc-spec.json', import.meta.url), 'utf8');

t.test('reads a valid config and keeps uint64 values exact', async (t) => {
  const text = runcSpecText.replace('"hard": 1024', '"hard": 18446744073709551615');
  const dir = bundleWith(text);
  const loaded = loadConfig(dir);
  t.equal(loaded.spec.process?.rlimits?.[0]?.hard, 18446744073709551615n);
  t.equal(loaded.text, text);
  t.equal(loaded.mode, 0o640);
});

t.test('bad bundles and configs: a clear error naming the file, nothing written', async (t) => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['missing config', () => bundleWith(null), /config\.json: cannot open \(ENOENT\)/],
    ['not JSON', () => bundleWith('{"ociVersion": '), /config\.json: unexpected end of input/],
    ['duplicate key', () => bundleWith('{"ociVersion":"1.0.2","ociVersion":"1.0.0"}'), /duplicate key "ociVersion"/],
    ['wrong type', () => bundleWith('{"ociVersion": 1}'), /not a valid OCI runtime config: ociVersion: must be string/],
    ['not an object', () => bundleWith('[]'), /not a valid OCI runtime config/],
    ['missing ociVersion', () => bundleWith('{"process": {"cwd": "/"}}'), /must have required property 'ociVersion'/],
    ['config.json is a symlink', () => {
      const dir = bundleWith(null);
      writeFileSync(join(dir, 'elsewhere.json'), runcSpecText);
      symlinkSync(join(dir, 'elsewhere.json'), join(dir, 'config.json'));
      return dir;
    }, /config\.json: is a symlink; refusing to follow it/],
    ['bundle is a symlink', () => {
      const dir = bundleWith(runcSpecText);
      const link = `${dir}-link`;
      symlinkSync(dir, link);
      t.teardown(() => rmSync(link, { force: true }));
      return link;
    }, /bundle .*-link: is a symlink/],
    ['config.json is a directory', () => {
      const dir = bundleWith(null);
      mkdirSync(join(dir, 'config.json'));
      return dir;
    }, /not a regular file/],
    ['config too large', () => bundleWith(' '.repeat(MAX_CONFIG_BYTES + 1)), /larger than the \d+ byte limit/],
    ['rootfs symlink to /', () => {
      const dir = bundleWith(runcSpecText);
      symlinkSync('/', join(dir, 'rootfs'));
      return dir;
    }, /root\.path rootfs resolves to the host's \//],
    ['rootfs symlink out of the bundle', () => {
      const dir = bundleWith(runcSpecText);
      symlinkSync(tmpdir(), join(dir, 'rootfs'));
      return dir;
    }, /root\.path rootfs resolves to .*, outside the bundle/],
    ['nesting bomb', () => bundleWith('{"a":' + '['.repeat(10000) + ']'.repeat(10000) + '}'), /nesting deeper than/],
  ];
  for (const [name, make, message] of cases) {
    const dir = make();
    const before = readdirSync(dir).sort();
    t.throws(() => loadConfig(dir), message, name);
    t.throws(() => loadConfig(dir), BundleError, `${name}: BundleError`);
    t.same(readdirSync(dir).sort(), before, `${name}: nothing written`);
  }
});

t.test('a rootfs inside the bundle, or absolute elsewhere, is fine', async (t) => {
  const dir = bundleWith(runcSpecText);
  mkdirSync(join(dir, 'rootfs'));
  t.equal(loadConfig(dir).spec.root?.path, 'rootfs');
  const abs = bundleWith(runcSpecText.replace('"path": "rootfs"', `"path": "${dir}/rootfs"`));
  t.equal(loadConfig(abs).spec.root?.path, `${dir}/rootfs`);
  // /dev/shm is an ordinary tmpfs (benchmarks keep bundles there); /dev itself is not.
  if (existsSync('/dev/shm')) {
    const shm = mkdtempSync('/dev/shm/bulwark-io-');
    t.teardown(() => rmSync(shm, { recursive: true, force: true }));
    mkdirSync(join(shm, 'rootfs'));
    writeFileSync(join(shm, 'config.json'), runcSpecText);
    symlinkSync(join(shm, 'rootfs'), join(dir, 'shm-rootfs'));
    const viaLink = bundleWith(runcSpecText.replace('"path": "rootfs"', `"path": "${dir}/shm-rootfs"`));
    t.equal(loadConfig(viaLink).spec.root?.path, `${dir}/shm-rootfs`, 'a symlink to a rootfs under /dev/shm is fine');
    symlinkSync('/dev/pts', join(dir, 'dev-rootfs'));
    const devLink = bundleWith(runcSpecText.replace('"path": "rootfs"', `"path": "${dir}/dev-rootfs"`));
    t.throws(() => loadConfig(devLink), /resolves to the host directory \/dev\/pts/, 'a symlink into /dev is not');
  }
});

t.test('hardened write: atomic replace, original kept once, mode kept', async (t) => {
  const dir = bundleWith(runcSpecText);
  const loaded = loadConfig(dir);
  const hardened = { ...loaded.spec, process: { ...loaded.spec.process!, noNewPrivileges: true } };
  writeHardenedConfig(loaded, stringifyJson(hardened) + '\n');
  t.equal(readFileSync(join(dir, 'config.json.orig'), 'utf8'), runcSpecText, 'original kept byte for byte');
  t.equal(readFileSync(join(dir, 'config.json'), 'utf8'), stringifyJson(hardened) + '\n');
  t.equal(statSync(join(dir, 'config.json')).mode & 0o777, 0o640);
  t.same(readdirSync(dir).sort(), ['config.json', 'config.json.orig'], 'no temp files left');
  // A retried create re-reads the hardened file; the true original must survive.
  const again = loadConfig(dir);
  writeHardenedConfig(again, stringifyJson(again.spec) + '\n');
  t.equal(readFileSync(join(dir, 'config.json.orig'), 'utf8'), runcSpecText, 'original not overwritten on retry');
});

t.test('atomic write replaces a symlink instead of writing through it', async (t) => {
  const dir = bundleWith(null);
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious');
  symlinkSync(victim, join(dir, 'config.json'));
  writeFileAtomic(join(dir, 'config.json'), 'new');
  t.equal(readFileSync(victim, 'utf8'), 'precious', 'symlink target untouched');
  t.equal(readFileSync(join(dir, 'config.json'), 'utf8'), 'new');
});

t.test('a failed write leaves the old file and no temp file', async (t) => {
  const dir = bundleWith(runcSpecText);
  chmodSync(dir, 0o500);
  t.teardown(() => chmodSync(dir, 0o700));
  // root ignores directory permissions, so make the write fail another way: target is a directory.
  chmodSync(dir, 0o700);
  mkdirSync(join(dir, 'sub'));
  t.throws(() => writeFileAtomic(join(dir, 'sub'), 'x'));
  t.same(readdirSync(dir).sort(), ['config.json', 'sub']);
  t.equal(readFileSync(join(dir, 'config.json'), 'utf8'), runcSpecText);
});
