// The harness's pure helpers and the probe binary itself, without any container: if these are
// wrong, every integration test that uses them is wrong too.
import t from 'tap';
import { execa } from 'execa';
import {
  capsFromMask, cgroupPaths, ensureProbe, hostIdOf, isIdentityMap, maskHex, maskedProblems, nsInode, parseIdMap,
  parseProbeOutput, ProbeOutputError, readonlyProblems, syscallProblems,
} from '../lib/index.js';
import type { ForkbombReport, IdsReport, SelfReport, SyscallReport } from '../lib/index.js';

function selfReport(overrides: Partial<SelfReport>): SelfReport {
  return {
    pid: 1, uid: 0, euid: 0, suid: 0, gid: 0, egid: 0, sgid: 0, groups: [], noNewPrivs: 1, hostname: 'h',
    uid_map: ['0 0 4294967295'], gid_map: ['0 0 4294967295'], status: {},
    ns: { user: null, net: null, pid: null, mnt: null, ipc: null, uts: null, cgroup: null, time: null },
    cgroup: [], mounts: {}, masked: {}, readonly: {},
    ...overrides,
  };
}

t.test('capability masks and names', async (t) => {
  t.same(capsFromMask('0000000020000420'), ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'], 'runc spec\'s default mask');
  t.equal(maskHex(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']), '0000000020000420', 'and back');
  t.equal(capsFromMask('000001ffffffffff').length, 41, 'all 41 capabilities of Linux 5.9+');
  t.same(capsFromMask('0000020000000000'), ['CAP_BIT_41'], 'an unknown bit is named, not dropped');
  t.same(capsFromMask('0000000000000000'), [], 'empty mask');
  t.throws(() => maskHex(['CAP_NOPE']), /unknown capability/);
});

t.test('ID maps', async (t) => {
  const map = parseIdMap(['0 100000 65536', '65536 300000 1']);
  t.same(map, [{ containerID: 0, hostID: 100000, size: 65536 }, { containerID: 65536, hostID: 300000, size: 1 }]);
  t.equal(hostIdOf(map, 0), 100000);
  t.equal(hostIdOf(map, 65535), 165535);
  t.equal(hostIdOf(map, 65536), 300000);
  t.equal(hostIdOf(map, 65537), undefined, 'unmapped');
  t.ok(isIdentityMap(parseIdMap(['0 0 4294967295'])));
  t.notOk(isIdentityMap(map));
  t.throws(() => parseIdMap(['garbage']), /not an ID map line/);
  t.throws(() => parseIdMap({ errno: 'EACCES' }), /EACCES/);
});

t.test('namespaces and cgroups', async (t) => {
  t.equal(nsInode('net:[4026531833]'), 4026531833);
  t.equal(nsInode(null), undefined);
  const paths = cgroupPaths(selfReport({ cgroup: ['4:memory:/a', '2:cpu,cpuacct:/b', '9:name=systemd:/c', '0::/d'] }));
  t.equal(paths.get('memory'), '/a');
  t.equal(paths.get('cpuacct'), '/b', 'joint controllers are split');
  t.equal(paths.get('name=systemd'), '/c');
  t.equal(paths.get(''), '/d', 'the v2 line');
});

t.test('masked, read-only and syscall problems are listed, not hidden', async (t) => {
  const report = selfReport({
    masked: {
      '/proc/kcore': { state: 'absent', errno: 'ENOENT' },
      '/proc/keys': { state: 'masked', how: 'devnull' },
      '/proc/acpi': { state: 'exposed', how: 'dir' },
      '/proc/timer_list': { state: 'denied', errno: 'EACCES' },
    },
    readonly: {
      '/proc/sys': { state: 'readonly', mountReadonly: true, chmod: 'EROFS' },
      '/proc/irq': { state: 'writable', mountReadonly: false, chmod: 'OK' },
    },
  });
  t.same(maskedProblems(report), ['/proc/acpi: exposed (dir)', '/proc/timer_list: denied EACCES']);
  t.same(maskedProblems(report, ['/proc/kcore'], false), ['/proc/kcore: absent ENOENT'], 'absence can be refused');
  t.same(maskedProblems(report, ['/proc/nothing']), ['/proc/nothing: not probed']);
  t.same(readonlyProblems(report), ['/proc/irq: writable (chmod: OK)']);
  const syscalls: SyscallReport = {
    bpf: { syscall: 'bpf', ret: -1, errno: 'EPERM', verdict: 'blocked' },
    setns: { syscall: 'setns', ret: -1, errno: 'EBADF', verdict: 'reached' },
    ptrace: { syscall: 'ptrace', verdict: 'killed', signal: 'SIGSYS' },
  };
  t.same(syscallProblems(syscalls, { bpf: 'blocked', setns: ['blocked', 'killed'], ptrace: 'blocked', keyctl: 'blocked' }), [
    'setns: got reached (EBADF), expected blocked,killed',
    'ptrace: got killed by SIGSYS, expected blocked',
    'keyctl: got not tried, expected blocked',
  ]);
  t.same(syscallProblems(syscalls, { bpf: { errno: 'EPERM' } }), []);
});

t.test('probe output parsing fails loudly', async (t) => {
  t.same(parseProbeOutput('{"a":1}\n'), { a: 1 });
  t.throws(() => parseProbeOutput(''), ProbeOutputError);
  t.throws(() => parseProbeOutput('{"a":'), /not JSON/);
});

t.test('the probe builds and reports on the host', async (t) => {
  const probe = await ensureProbe();
  t.equal(await ensureProbe(), probe, 'built once per source');
  const ids = parseProbeOutput<IdsReport>((await execa(probe, ['ids'])).stdout);
  t.equal(ids.uid, process.getuid?.(), 'ids: the caller\'s uid');
  const self = parseProbeOutput<SelfReport>((await execa(probe, ['self', '--masked=/proc/kcore', '--readonly=/proc/sys'])).stdout);
  t.same(Object.keys(self.masked), ['/proc/kcore'], 'a masked-path list from the command line replaces the default');
  t.same(Object.keys(self.readonly), ['/proc/sys']);
  t.equal(self.pid > 1, true, 'not pid 1 on the host');
  const bomb = parseProbeOutput<ForkbombReport>((await execa(probe, ['forkbomb', '5'])).stdout);
  t.same(bomb, { requested: 5, forked: 5, errno: null, reaped: 5 }, 'a small fork bomb forks and reaps');
  const unknown = await execa(probe, ['syscall', 'no_such_call'], { reject: false });
  t.equal(unknown.exitCode, 2, 'an unknown syscall name is a usage error');
  t.match(unknown.stderr, /no test named no_such_call/);
});
