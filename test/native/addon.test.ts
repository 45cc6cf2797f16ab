// The native addon against the real kernel (root, Linux >= 5.12 for the idmap parts). Every
// expectation is computed independently of the addon (mountinfo, stat -L, ulimit, nsenter).
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNativeError, loadNative } from '../../src/native/index.js';
import type { NativeError } from '../../src/native/index.js';

const native = loadNative();
const isRoot = process.getuid?.() === 0;
const INDEX_JS = fileURLToPath(new URL('../../src/native/index.js', import.meta.url));

function thrown(fn: () => unknown): NativeError {
  try {
    fn();
  } catch (e) {
    if (isNativeError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

/** Filesystem type of the mount at exactly `mountPoint` (the last, topmost, entry wins). */
function fstypeAt(mountPoint: string): string | undefined {
  let type: string | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right) continue;
    if (left.split(' ')[4] === mountPoint) type = right.split(' ')[0];
  }
  return type;
}

t.test('cgroupMode agrees with /proc/self/mountinfo', async (t) => {
  const top = fstypeAt('/sys/fs/cgroup');
  const expected = top === 'cgroup2' ? 'v2' : top === 'tmpfs' && fstypeAt('/sys/fs/cgroup/unified') === 'cgroup2' ? 'hybrid' : 'v1';
  t.equal(native.cgroupMode(), expected, `mountinfo says ${expected}`);
  t.equal(native.cgroupMode('/sys/fs/cgroup'), expected);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cg-'));
  t.teardown(() => rmSync(dir, { recursive: true }));
  t.equal(native.cgroupMode(dir), 'v1', 'a directory with no cgroup2 anywhere reads as v1');
  const e = thrown(() => native.cgroupMode(join(dir, 'missing')));
  t.match(e, { code: 'ENOENT', errno: -2, syscall: 'statfs', path: join(dir, 'missing') });
});

t.test('mountAt: the mount a path is on, as mountinfo has it, or null on a kernel that cannot say', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-mnt-'));
  t.teardown(() => rmSync(dir, { recursive: true }));
  const cases: Array<[path: string, mountPoint: string]> = [['/', '/'], ['/dev/shm', '/dev/shm'], [dir, fstypeAt(tmpdir()) ? tmpdir() : '/']];
  for (const [path, mountPoint] of cases) {
    const m = native.mountAt(path);
    if (m === null) {
      t.comment(`${path}: no statmount with options on this kernel (Linux 6.11)`);
      continue;
    }
    t.equal(m.mountPoint, mountPoint, `${path}: on ${mountPoint}`);
    t.equal(m.fstype, fstypeAt(mountPoint), `${path}: the filesystem type mountinfo gives`);
    t.equal(m.root, '/', `${path}: the mount's own root`);
  }
  t.match(thrown(() => native.mountAt(join(dir, 'missing'))), { code: 'ENOENT', syscall: 'statx', path: join(dir, 'missing') });
});

t.test('seccompActions lists OCI action names the kernel has', async (t) => {
  const actions = native.seccompActions();
  t.ok(actions.includes('SCMP_ACT_ERRNO'));
  t.ok(actions.includes('SCMP_ACT_ALLOW'));
  for (const a of actions) t.match(a, /^SCMP_ACT_[A-Z_]+$/);
  t.equal(actions.includes('SCMP_ACT_KILL'), actions.includes('SCMP_ACT_KILL_THREAD'), 'KILL is listed with its alias KILL_THREAD');
  t.equal(new Set(actions).size, actions.length, 'no duplicates');
});

t.test('namespaceId matches stat -L, and errors look like Node fs errors', async (t) => {
  const mine = native.namespaceId('/proc/self/ns/net');
  const statL = (p: string) => spawnSync('stat', ['-L', '-c', '%d %i', p], { encoding: 'utf8' });
  const r = statL(`/proc/${process.pid}/ns/net`);
  t.equal(r.status, 0);
  t.same(mine, { dev: Number(r.stdout.split(' ')[0]), ino: Number(r.stdout.split(' ')[1]) });

  // pid 1's namespaces may be unreadable (ptrace access rules): then both must fail alike.
  const init = statL('/proc/1/ns/net');
  if (init.status === 0) {
    const [dev, ino] = init.stdout.trim().split(' ').map(Number);
    const same = dev === mine.dev && ino === mine.ino;
    t.same(native.namespaceId('/proc/1/ns/net'), { dev, ino });
    t.equal(native.namespaceId('/proc/1/ns/net').ino === mine.ino, same, `same as init's net namespace: ${same}`);
  } else {
    const e = thrown(() => native.namespaceId('/proc/1/ns/net'));
    t.match(e, { syscall: 'stat', path: '/proc/1/ns/net' }, `stat -L failed too: ${init.stderr.trim()}`);
  }

  const e = thrown(() => native.namespaceId('/var/run/netns/bulwark-no-such-ns'));
  t.match(e, { code: 'ENOENT', errno: -2, syscall: 'stat', path: '/var/run/netns/bulwark-no-such-ns' });
  t.match(e.message, /^ENOENT: no such file or directory, stat '\/var\/run\/netns\/bulwark-no-such-ns'$/);
});

t.test('rlimits has every OCI RLIMIT_* and NOFILE matches ulimit -Hn', async (t) => {
  const limits = native.rlimits();
  const names = ['AS', 'CORE', 'CPU', 'DATA', 'FSIZE', 'LOCKS', 'MEMLOCK', 'MSGQUEUE', 'NICE', 'NOFILE', 'NPROC', 'RSS', 'RTPRIO', 'RTTIME', 'SIGPENDING', 'STACK'];
  t.same(Object.keys(limits).sort(), names.map((n) => `RLIMIT_${n}`).sort());
  for (const [name, v] of Object.entries(limits)) {
    t.equal(typeof v.soft, 'bigint', name);
    t.ok(v.soft <= v.hard, `${name} soft <= hard`);
  }
  const hn = execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  t.equal(limits.RLIMIT_NOFILE.hard, hn === 'unlimited' ? 18446744073709551615n : BigInt(hn));
  const hc = execFileSync('/bin/sh', ['-c', 'ulimit -Hc'], { encoding: 'utf8' }).trim();
  if (hc === 'unlimited') t.equal(limits.RLIMIT_CORE.hard, 18446744073709551615n, 'RLIM_INFINITY is 2^64-1');
});

t.test('probeUserNamespaces reflects /proc', async (t) => {
  const p = native.probeUserNamespaces();
  const max = existsSync('/proc/sys/user/max_user_namespaces') ? Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) : 0;
  t.equal(p.supported, existsSync('/proc/self/ns/user') && max > 0);
  const [major, minor] = readFileSync('/proc/sys/kernel/osrelease', 'utf8').split('.').map(Number);
  if (major < 5 || (major === 5 && minor < 12)) t.equal(p.idmapMounts, false, 'mount_setattr needs Linux 5.12');
  else t.type(p.idmapMounts, 'boolean');
});

const userns = native.probeUserNamespaces();
const nsSkip = !isRoot ? 'needs root' : !userns.supported ? 'user namespaces unavailable on this host' : false;

t.test('createUserNamespace returns a pinned namespace with exactly those maps', { skip: nsSkip }, async (t) => {
  const fdsBefore = readdirSync('/proc/self/fd').length;
  const fd = native.createUserNamespace(
    [{ containerID: 0, hostID: 100000, size: 65536 }],
    [{ containerID: 0, hostID: 200000, size: 1000 }, { containerID: 1000, hostID: 300000, size: 10 }],
  );
  t.teardown(() => native.closeFd(fd));
  t.equal(readdirSync('/proc/self/fd').length, fdsBefore + 1, 'only the returned descriptor is new (pipe closed)');
  const link = readlinkSync(`/proc/self/fd/${fd}`);
  t.match(link, /^user:\[\d+\]$/);
  t.not(link, readlinkSync('/proc/self/ns/user'), 'a new namespace, not ours');
  const flags = Number.parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8);
  t.ok(flags & 0o2000000, 'O_CLOEXEC');

  const inside = (file: string) => execFileSync('nsenter', [`--user=/proc/${process.pid}/fd/${fd}`, 'cat', file], { encoding: 'utf8' })
    .trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.same(inside('/proc/self/uid_map'), ['0 100000 65536']);
  t.same(inside('/proc/self/gid_map'), ['0 200000 1000', '1000 300000 10']);

  // The helper child is gone: no child process of ours is left (zombie or not).
  const children = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return / (\d+) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!)![1] === String(process.pid);
    } catch {
      return false;
    }
  });
  t.same(children, [], 'helper child reaped');
});

t.test('createUserNamespace reports a map the kernel refuses', { skip: nsSkip }, async (t) => {
  const fdsBefore = readdirSync('/proc/self/fd').length;
  // Overlapping ranges are refused by the kernel with EINVAL on the uid_map write.
  const e = thrown(() => native.createUserNamespace(
    [{ containerID: 0, hostID: 100000, size: 10 }, { containerID: 5, hostID: 200000, size: 10 }],
    [{ containerID: 0, hostID: 100000, size: 10 }],
  ));
  t.match(e, { code: 'EINVAL', syscall: 'write', path: /^\/proc\/\d+\/uid_map$/ });
  t.equal(readdirSync('/proc/self/fd').length, fdsBefore, 'nothing leaked');
});

const idmapSkip = nsSkip || (!userns.idmapMounts ? 'mount_setattr unavailable (Linux < 5.12)' : false);

t.test('idmapMount shows root-owned files as the mapped IDs', { skip: idmapSkip }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'bulwark-idmap-'));
  const source = join(base, 'source');
  const targets = [join(base, 'plain'), join(base, 'recursive')];
  execFileSync('mkdir', [source, ...targets]);
  writeFileSync(join(source, 'file'), 'x');
  const mounted: string[] = [];
  t.teardown(() => {
    for (const m of mounted.reverse()) spawnSync('umount', [m]);
    rmSync(base, { recursive: true });
  });
  const fd = native.createUserNamespace([{ containerID: 0, hostID: 100000, size: 65536 }], [{ containerID: 0, hostID: 100000, size: 65536 }]);
  t.teardown(() => native.closeFd(fd));

  for (const [i, target] of targets.entries()) {
    try {
      native.idmapMount(source, target, fd, i === 1);
    } catch (e) {
      if (isNativeError(e) && e.code === 'EINVAL' && e.syscall === 'mount_setattr') {
        t.skip(`${tmpdir()} is on a filesystem without idmapped mount support`, () => {});
        return;
      }
      throw e;
    }
    mounted.push(target);
    const st = statSync(join(target, 'file'));
    t.equal(st.uid, 100000, `uid seen through the ${i ? 'recursive' : 'plain'} idmapped mount`);
    t.equal(st.gid, 100000);
    t.equal(statSync(join(source, 'file')).uid, 0, 'the source is unchanged');
  }
});

t.test('idmapMount errors name the syscall and path', { skip: idmapSkip }, async (t) => {
  const e = thrown(() => native.idmapMount('/nonexistent/bulwark-src', '/nonexistent/bulwark-dst', 0, false));
  t.match(e, { code: 'ENOENT', syscall: 'open_tree', path: '/nonexistent/bulwark-src' });
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-idmap-'));
  t.teardown(() => rmSync(dir, { recursive: true }));
  const notNs = openSync(dir, 'r');
  t.teardown(() => closeSync(notNs));
  const e2 = thrown(() => native.idmapMount(dir, dir, notNs, false));
  t.match(e2, { syscall: 'mount_setattr', path: dir }, 'a descriptor that is not a user namespace is refused');
});

t.test('closeFd closes, and reports EBADF', async (t) => {
  const fd = openSync('/dev/null', 'r');
  native.closeFd(fd);
  t.throws(() => closeSync(fd), { code: 'EBADF' });
  t.match(thrown(() => native.closeFd(fd)), { code: 'EBADF', errno: -9, syscall: 'close' });
});

// execve replaces a child Node process; the child prints its pid and the fd it opened first.
function execChild(body: string) {
  const script = `
    import { openSync } from 'node:fs';
    import { loadNative } from ${JSON.stringify(INDEX_JS)};
    const native = loadNative();
    const extra = openSync('/dev/null', 'r');
    process.stdout.write('pid ' + process.pid + ' fd ' + extra + '\\n');
    ${body}
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const [head, ...rest] = r.stdout.split('\n');
  const m = /^pid (\d+) fd (\d+)$/.exec(head!);
  return { status: r.status, stderr: r.stderr, pid: m?.[1], fd: m?.[2], lines: rest.filter((l) => l !== '') };
}

t.test('execve keeps the pid and stdio, and closes every other descriptor', async (t) => {
  const r = execChild(`native.execve('/bin/sh', ['sh', '-c', 'echo $$; ls /proc/self/fd'], ['PATH=/usr/bin:/bin'], []);`);
  t.equal(r.status, 0, r.stderr);
  t.ok(r.pid);
  t.equal(r.lines[0], r.pid, 'same pid after exec');
  // ls itself opens one descriptor (3) to read the directory.
  t.same(r.lines.slice(1).map(Number).filter((fd) => fd > 3), [], `only 0-3 open, the extra fd ${r.fd} is gone`);
  t.same(r.lines.slice(1, 4), ['0', '1', '2'], 'stdio survived (Node marks it close-on-exec)');
});

t.test('execve keeps keepFds, passes env, and the exit status is the new program\'s', async (t) => {
  const r = execChild(`native.execve('/bin/sh', ['sh', '-c', 'echo "$X"; ls /proc/self/fd; exit 7'], ['X=hello'], [extra]);`);
  t.equal(r.status, 7);
  t.equal(r.lines[0], 'hello');
  t.ok(r.lines.includes(r.fd!), `kept fd ${r.fd} survived`);
});

t.test('a failed execve throws and leaves the process working', async (t) => {
  const r = execChild(`
    try { native.execve('/nonexistent/bulwark', ['x'], [], []); }
    catch (e) { console.log(e.code, e.syscall, e.path); }
    try { native.execve('/bin/sh', [], [], []); }
    catch (e) { console.log(e.code); }
    try { native.execve('/bin/true', ['true'], [], [extra, extra, 999]); }
    catch (e) { console.log(e.code, e.syscall); }
    console.log('still here');
  `);
  t.equal(r.status, 0, r.stderr);
  t.same(r.lines, ['ENOENT execve /nonexistent/bulwark', 'ERR_INVALID_ARG_VALUE', 'EBADF fcntl', 'still here']);
});
