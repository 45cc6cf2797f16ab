// bulwark doctor's pure parts: kubelet's user-namespace range against Bulwark's pool, and
// /etc/subuid clashes. The whole report is exercised on the real node once (it must not throw).
import t from 'tap';
import { doctor, kubeletCheck, subordinateRange, subuidClashes } from '../../src/cli/doctor.js';

const pool = { start: 2 ** 31, size: 65536 * 4096 };

t.test('subordinate ranges are read by name', async (t) => {
  t.same(subordinateRange('alice:100000:65536\nkubelet:65536:131072\n', 'kubelet'), { start: 65536, size: 131072 });
  t.equal(subordinateRange('alice:100000:65536\n', 'kubelet'), null);
  t.equal(subordinateRange(null, 'kubelet'), null);
});

t.test("kubelet's range: disjoint ok, overlap fails, absent warns with the entries to add", async (t) => {
  t.match(kubeletCheck(pool, 'kubelet:65536:2147418112\n'), { level: 'ok', message: /disjoint/ });
  t.match(kubeletCheck(pool, 'kubelet:65536:4294836224\n'), { level: 'FAIL', message: /overlaps Bulwark's pool 2147483648-2415919103/ });
  const absent = kubeletCheck(pool, 'alice:100000:65536\n');
  t.equal(absent.level, 'warn');
  t.match(absent.message, /anywhere from 65536 to 2\^32/);
  t.match(absent.message, /"kubelet:65536:2147418112"/, 'a kubelet entry that ends below the pool');
  t.match(absent.message, /"bulwark:2147483648:268435456"/);
});

t.test('other subordinate ranges overlapping the pool are named', async (t) => {
  t.same(subuidClashes(pool, 'alice:100000:65536\npodman:2147500000:65536\nbulwark:2147483648:65536\n'), ['podman:2147500000-2147565535']);
});

t.test('the report on this node', async (t) => {
  const report = await doctor();
  t.ok(report.lines.length >= 6);
  for (const line of report.lines) t.match(line, /^\[(ok|warn|FAIL)\]\s+\S/);
  t.ok(report.lines.some((l) => /kubelet user namespaces:/.test(l)));
  t.ok(report.lines.some((l) => /^\[\w+\]\s+ID pool: /.test(l)));
});
