import t from 'tap';
import { diffConfigs, formatDiff } from '../../src/cli/diff.js';

t.test('diff by path', async (t) => {
  const before = { process: { noNewPrivileges: false, capabilities: { bounding: ['CAP_A', 'CAP_B'] } }, linux: { rlimit: 18446744073709551615n } };
  const after = { process: { noNewPrivileges: true, capabilities: { bounding: ['CAP_A'] } }, linux: { rlimit: 18446744073709551615n, 'odd.key': {} } };
  t.same(diffConfigs(before, after), [
    { op: '~', path: 'process.noNewPrivileges', before: 'false', after: 'true' },
    { op: '-', path: 'process.capabilities.bounding[1]', before: '"CAP_B"' },
    { op: '+', path: 'linux["odd.key"]', after: '{}' },
  ]);
  t.same(diffConfigs(before, before), []);
  t.equal(formatDiff(diffConfigs(before, after)), '~ process.noNewPrivileges: false -> true\n- process.capabilities.bounding[1]: "CAP_B"\n+ linux["odd.key"]: {}');
});
