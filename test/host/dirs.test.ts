// makeDir: one mkdir for the usual case, parents when missing, and nothing hidden: an existing
// path of any kind is accepted (callers check what it is), other failures are thrown.
import t from 'tap';
import { closeSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDir, openMakingDir } from '../../src/host/dirs.js';

t.test('makeDir', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-dirs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'file'), '');
  mkdirSync(join(dir, 'there'), { mode: 0o755 });
  symlinkSync(join(dir, 'there'), join(dir, 'link'));
  const cases: Array<[what: string, path: string, expect: 'dir' | 'kept' | RegExp]> = [
    ['a new directory', join(dir, 'new'), 'dir'],
    ['missing parents are made', join(dir, 'a', 'b', 'c'), 'dir'],
    ['an existing directory is left as it is', join(dir, 'there'), 'kept'],
    ['an existing file is accepted (the caller checks)', join(dir, 'file'), 'kept'],
    ['an existing symlink is accepted (the caller checks)', join(dir, 'link'), 'kept'],
    ['a file on the way', join(dir, 'file', 'below'), /ENOTDIR/],
  ];
  for (const [what, path, expect] of cases) {
    if (expect instanceof RegExp) {
      t.throws(() => makeDir(path, 0o700), { message: expect }, what);
      continue;
    }
    const before = expect === 'kept' ? statSync(path).mode : null;
    makeDir(path, 0o700);
    if (expect === 'dir') t.equal(statSync(path).mode & 0o777, 0o700, `${what}: made with the mode`);
    else t.equal(statSync(path).mode, before, `${what}: unchanged`);
  }
});

t.test('openMakingDir: the directory is made (0700, with parents) only when the open needs it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-dirs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'file'), '');
  mkdirSync(join(dir, 'open'), { mode: 0o755 });
  symlinkSync(join(dir, 'file'), join(dir, 'open', 'link'));
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
  const cases: Array<[what: string, path: string, expect: number | RegExp]> = [
    ['in an existing directory, left as it is', join(dir, 'open', 'a.log'), 0o755],
    ['in missing directories', join(dir, 'x', 'y', 'a.log'), 0o700],
    ['a symlink is not followed', join(dir, 'open', 'link'), /ELOOP/],
    ['a file on the way', join(dir, 'file', 'a.log'), /ENOTDIR/],
  ];
  for (const [what, path, expect] of cases) {
    if (expect instanceof RegExp) {
      t.throws(() => openMakingDir(path, flags, 0o600), { message: expect }, what);
      continue;
    }
    for (const line of ['one\n', 'two\n']) {
      const fd = openMakingDir(path, flags, 0o600);
      writeSync(fd, line);
      closeSync(fd);
    }
    t.equal(readFileSync(path, 'utf8'), 'one\ntwo\n', `${what}: opened twice, appended`);
    t.equal(statSync(path).mode & 0o777, 0o600, `${what}: the file's mode`);
    t.equal(statSync(join(path, '..')).mode & 0o777, expect, `${what}: the directory's mode`);
  }
});
