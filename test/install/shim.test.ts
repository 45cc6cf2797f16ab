// bin/containerd-shim-bulwark-v2 (native/shim-entry.c) under its per-profile names: which real shim it execs, with
// which `runc` first on PATH (the profile), and the Kata path (Kata's shim; `start` refused
// because nothing would harden the bundle). A fake shim records what it was given; Kata itself
// cannot run on these machines (no /dev/kvm), so this is the part of the Kata path that can.
import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const repo = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const script = join(repo, 'bin', 'containerd-shim-bulwark-v2');
const tmp = mkdtempSync(join(tmpdir(), 'bulwark-shim-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

// A fake shim: prints its name, its args and the `runc` its PATH resolves (and that file's text).
const fakeDir = join(tmp, 'fakebin');
mkdirSync(fakeDir, { recursive: true });
const fake = (name: string) => {
  const path = join(fakeDir, name);
  writeFileSync(path, `#!/bin/sh\nr=$(command -v runc)\necho "shim=${name}"\necho "args=$*"\necho "runc=$r"\n[ -f "$r" ] && [ ! -L "$r" ] && cat "$r"\n[ -L "$r" ] && echo "link=$(readlink "$r")"\nexit 0\n`);
  chmodSync(path, 0o755);
  return path;
};
const fakeRunc = fake('containerd-shim-runc-v2');
writeFileSync(join(fakeDir, 'print-path'), '#!/bin/sh\necho "PATH=$PATH"\n');
chmodSync(join(fakeDir, 'print-path'), 0o755);
fake('containerd-shim-kata-v2');
for (const name of ['containerd-shim-bulwark-v2', 'containerd-shim-bulwark-restricted-v2', 'containerd-shim-bulwark-kata-v2', 'containerd-shim-bulwark-nosuch-v2', 'containerd-shim-other-v2', 'containerd-shim-bulwark--v2', 'containerd-shim-bulwark-Bad-v2']) {
  symlinkSync(script, join(tmp, name));
}
const run = (name: string, args: string[], env: Record<string, string> = {}) =>
  execa(join(tmp, name), args, { reject: false, env: { PATH: `${fakeDir}:/usr/bin:/bin`, ...env }, extendEnv: false });

const START = ['-namespace', 'k8s.io', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'abc', 'start'];

t.test('default name: the runc shim, with libexec/bulwark/runc (bin/bulwark-runtime) first on PATH', async (t) => {
  const r = await run('containerd-shim-bulwark-v2', START, { BULWARK_SHIM: fakeRunc });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^shim=containerd-shim-runc-v2$/m);
  t.match(r.stdout, new RegExp(`^args=${START.join(' ')}$`, 'm'), 'argv unchanged');
  t.match(r.stdout, /^runc=.*\/libexec\/bulwark\/runc$/m);
  t.match(r.stdout, /^link=\.\.\/\.\.\/bin\/bulwark-runtime$/m);
});

t.test('run by its own path, by a relative one or through a link, it finds the same libexec', async (t) => {
  const env = { PATH: `${fakeDir}:/usr/bin:/bin`, BULWARK_SHIM: fakeRunc };
  const want = new RegExp(`^runc=${repo}/libexec/bulwark/runc$`, 'm');
  const direct = await execa(script, START, { reject: false, env, extendEnv: false });
  t.equal(direct.exitCode, 0, direct.stderr);
  t.match(direct.stdout, want);
  const relative = await execa('./containerd-shim-bulwark-v2', START, { cwd: join(repo, 'bin'), reject: false, env, extendEnv: false });
  t.equal(relative.exitCode, 0, relative.stderr);
  t.match(relative.stdout, want);
  const linked = await run('containerd-shim-bulwark-v2', START, { BULWARK_SHIM: fakeRunc });
  t.match(linked.stdout, want, 'a link elsewhere (containerd\'s PATH) resolves to the install root');
});

t.test('PATH: Bulwark\'s runc dir goes first; with no PATH at all, a default one follows it (never the cwd)', async (t) => {
  const withPath = await run('containerd-shim-bulwark-v2', START, { BULWARK_SHIM: join(fakeDir, 'print-path') });
  t.equal(withPath.stdout, `PATH=${repo}/libexec/bulwark:${fakeDir}:/usr/bin:/bin`);
  const noPath = await execa(join(tmp, 'containerd-shim-bulwark-v2'), START, { reject: false, env: { BULWARK_SHIM: join(fakeDir, 'print-path') }, extendEnv: false });
  t.equal(noPath.exitCode, 0, noPath.stderr);
  t.equal(noPath.stdout, `PATH=${repo}/libexec/bulwark:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`);
});

t.test('a bare BULWARK_SHIM name is looked up on PATH, skipping empty entries (the cwd) and non-executables', async (t) => {
  const cwd = join(tmp, 'cwd');
  mkdirSync(cwd, { recursive: true });
  writeFileSync(join(cwd, 'shim-here'), '#!/bin/sh\necho "from the cwd"\n');
  chmodSync(join(cwd, 'shim-here'), 0o755);
  const other = join(tmp, 'other');
  mkdirSync(other, { recursive: true });
  writeFileSync(join(other, 'shim-here'), '#!/bin/sh\necho "not executable"\n');
  const r = await execa(join(tmp, 'containerd-shim-bulwark-v2'), START, { cwd, reject: false, env: { PATH: `:${other}:/usr/bin`, BULWARK_SHIM: 'shim-here' }, extendEnv: false });
  t.equal(r.exitCode, 127);
  t.match(r.stderr, /bulwark: shim shim-here not found on PATH/);
  t.equal(r.stdout, '');
});

t.test('per-profile name: libexec/bulwark/<profile>/runc, a link to the launcher, which takes the profile from that path', async (t) => {
  const r = await run('containerd-shim-bulwark-restricted-v2', START, { BULWARK_SHIM: 'containerd-shim-runc-v2' });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^shim=containerd-shim-runc-v2$/m, 'BULWARK_SHIM by name is looked up on PATH');
  t.match(r.stdout, /^runc=.*\/libexec\/bulwark\/restricted\/runc$/m);
  t.match(r.stdout, /^link=\.\.\/\.\.\/\.\.\/bin\/bulwark-runtime$/m, 'no script in between (test/native/launcher.test.ts has the naming)');
});

t.test('a profile without its runtime fails closed; a foreign name is refused', async (t) => {
  const r = await run('containerd-shim-bulwark-nosuch-v2', START, { BULWARK_SHIM: fakeRunc });
  t.equal(r.exitCode, 1);
  t.match(r.stderr, /bulwark: no runtime for profile "nosuch"/);
  t.equal(r.stdout, '', 'the real shim never ran');
  for (const name of ['containerd-shim-other-v2', 'containerd-shim-bulwark--v2']) {
    const o = await run(name, START, { BULWARK_SHIM: fakeRunc });
    t.equal(o.exitCode, 1, name);
    t.match(o.stderr, /expected containerd-shim-bulwark\[-PROFILE\]-v2/, name);
    t.equal(o.stdout, '', `${name}: the real shim never ran`);
  }
  const bad = await run('containerd-shim-bulwark-Bad-v2', START, { BULWARK_SHIM: fakeRunc });
  t.equal(bad.exitCode, 1);
  t.match(bad.stderr, /bulwark: "Bad" is not a profile name/);
});

t.test('kata: Kata\'s shim by default, `start` in exec mode refused (nothing would harden), other actions pass through', async (t) => {
  // Proxy mode, the Kata default, is tested in test/shim/launcher.test.ts and integration/shim/.
  const start = await run('containerd-shim-bulwark-kata-v2', START, { BULWARK_SHIM_MODE: 'exec' });
  t.equal(start.exitCode, 1);
  t.match(start.stderr, /profile kata: Kata's shim never calls runc, so exec mode cannot harden it; refusing/);
  t.equal(start.stdout, '');
  const del = await run('containerd-shim-bulwark-kata-v2', ['-namespace', 'k8s.io', '-id', 'abc', '-bundle', '/b', 'delete']);
  t.equal(del.exitCode, 0, del.stderr);
  t.match(del.stdout, /^shim=containerd-shim-kata-v2$/m, 'containerd-shim-kata-v2 from PATH');
  const other = await run('containerd-shim-bulwark-kata-v2', ['delete'], { BULWARK_SHIM: fakeRunc });
  t.match(other.stdout, /^shim=containerd-shim-runc-v2$/m, 'BULWARK_SHIM overrides the Kata default');
  const missing = await execa(join(tmp, 'containerd-shim-bulwark-kata-v2'), ['delete'], { reject: false, env: { PATH: '/usr/bin:/bin' }, extendEnv: false });
  t.equal(missing.exitCode, 127);
  t.match(missing.stderr, /shim containerd-shim-kata-v2 not found on PATH/);
});
