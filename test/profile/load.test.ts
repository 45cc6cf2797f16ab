import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { directorySource, loadProfile, parseSize, ProfileError } from '../../src/profile/load.js';
import type { ProfileSource } from '../../src/profile/load.js';

const shippedDir = fileURLToPath(new URL('../../../profiles/', import.meta.url));
const shipped = directorySource(shippedDir);

/** Profiles from a map; seccomp filters fall back to the shipped ones. */
function mapSource(files: Record<string, string>): ProfileSource {
  return {
    where: 'mem',
    read: (p) => files[p] ?? (p.startsWith('seccomp/') ? shipped.read(p) : null),
    list: () => Object.keys(files).filter((f) => !f.includes('/')).map((f) => f.replace(/\.(ya?ml|json)$/, '')),
  };
}

const baselineText = readFileSync(shippedDir + 'baseline.yaml', 'utf8');
const child = (body: string, name = 'child') => `apiVersion: bulwark/v1\nkind: Profile\nname: ${name}\nextends: baseline\n${body}`;

t.test('every shipped profile loads, complete and resolved', async (t) => {
  const names = shipped.list();
  t.same(names, ['audit', 'baseline', 'kata', 'restricted', 'strict']);
  for (const name of names) {
    const p = loadProfile(shipped, name);
    t.equal(p.name, name);
    t.ok(p.rules.seccomp.filter.syscalls.flatMap((r) => r.names).length > 50, `${name}: seccomp filter resolved`);
    t.type(p.rules.cgroups.memory.max, 'number', `${name}: sizes converted`);
  }
  const restricted = loadProfile(shipped, 'restricted');
  t.same(restricted.sources.map((s) => s.replace(shippedDir, '')), ['baseline.yaml', 'restricted.yaml']);
  t.same(restricted.rules.capabilities.allow, ['CAP_NET_BIND_SERVICE'], 'child list replaces parent list');
  t.same(restricted.rules.capabilities.deny, loadProfile(shipped, 'baseline').rules.capabilities.deny, 'unset fields inherit');
  t.equal(restricted.rules.cgroups.memory.default, 1024 ** 3);
  t.same(restricted.optIn, ['strict'], 'optIn is not inherited');
  t.equal(loadProfile(shipped, 'audit').mode, 'audit');
  t.equal(loadProfile(shipped, 'strict').mode, 'enforce', 'mode inherited from baseline');
});

const bad: Array<[string, Record<string, string>, string, RegExp]> = [
  ['unknown rule key', { 'child.yaml': child('rules:\n  cgroups:\n    memroy: { max: 1Gi }\n') }, 'child', /child\.yaml: rules\.cgroups: unknown key "memroy"/],
  ['unknown pass name', { 'child.yaml': child('rules:\n  bogus: { action: fix }\n') }, 'child', /rules: unknown key "bogus"/],
  ['unknown top-level key', { 'child.yaml': child('rulez: {}\n') }, 'child', /\(top level\): unknown key "rulez"/],
  ['bad action', { 'child.yaml': child('rules:\n  seccomp: { action: block }\n') }, 'child', /rules\.seccomp\.action: expected one of "fix", "deny", "warn", "off"/],
  ['bad size', { 'child.yaml': child('rules:\n  cgroups:\n    memory: { max: 1GB }\n') }, 'child', /rules\.cgroups\.memory\.max/],
  ['bad capability name', { 'child.yaml': child('rules:\n  capabilities: { allow: [sys_admin] }\n') }, 'child', /rules\.capabilities\.allow\[0\]/],
  ['wrong apiVersion', { 'child.yaml': 'apiVersion: v2\nkind: Profile\nname: child\n' }, 'child', /apiVersion: expected one of "bulwark\/v1"/],
  ['missing name', { 'child.yaml': 'apiVersion: bulwark/v1\nkind: Profile\n' }, 'child', /missing "name"/],
  ['name differs from file', { 'child.yaml': child('', 'other') }, 'child', /name: "other" does not match the file name "child"/],
  ['unknown profile', {}, 'nope', /unknown profile "nope" in mem/],
  ['unknown parent', { 'child.yaml': child('').replace('extends: baseline', 'extends: ghost') }, 'child', /unknown profile "ghost"/],
  ['extends cycle', { 'a.yaml': 'apiVersion: bulwark/v1\nkind: Profile\nname: a\nextends: b\n', 'b.yaml': 'apiVersion: bulwark/v1\nkind: Profile\nname: b\nextends: a\n' }, 'a', /extends cycle through "a"/],
  ['incomplete without a parent', { 'solo.yaml': 'apiVersion: bulwark/v1\nkind: Profile\nname: solo\nrules:\n  noNewPrivileges: { action: fix }\n' }, 'solo', /solo\.yaml: rules\.userNamespace: missing/],
  ['duplicate YAML key', { 'child.yaml': child('mode: audit\nmode: enforce\n') }, 'child', /child\.yaml(:\d+)?: .*(duplicate|unique)/i],
  ['not YAML', { 'child.yaml': 'apiVersion: [unclosed\n' }, 'child', /child\.yaml/],
  ['default above max', { 'child.yaml': child('rules:\n  cgroups:\n    pids: { default: 100, max: 10 }\n') }, 'child', /pids: default above max/],
  ['missing seccomp filter', { 'child.yaml': child('rules:\n  seccomp: { profile: nosuch }\n') }, 'child', /no filter file mem\/seccomp\/nosuch\.yaml/],
  ['path-like profile name', {}, '../etc/passwd', /invalid profile name/],
  ['alias bomb', { 'child.yaml': child('description: &a "x"\n' + Array.from({ length: 60 }, (_, i) => `x${i}: *a`).join('\n') + '\n') }, 'child', /child\.yaml/],
];

t.test('bad profiles fail with the file, the field and what was expected', async (t) => {
  for (const [name, files, profile, message] of bad) {
    const source = mapSource({ 'baseline.yaml': baselineText, ...files });
    t.throws(() => loadProfile(source, profile), message, name);
    t.throws(() => loadProfile(source, profile), ProfileError, `${name}: a ProfileError`);
  }
});

t.test('a child that only changes one field gets everything else from its parent', async (t) => {
  const source = mapSource({ 'baseline.yaml': baselineText, 'child.yaml': child('rules:\n  cgroups:\n    pids: { default: 100 }\n') });
  const p = loadProfile(source, 'child');
  t.equal(p.rules.cgroups.pids.default, 100);
  t.equal(p.rules.cgroups.pids.max, 32768, 'sibling field from the parent');
  t.equal(p.rules.cgroups.memory.default, 2 * 1024 ** 3, 'sibling object from the parent');
});

t.test('sizes', async (t) => {
  const cases: Array<[number | string, number]> = [[0, 0], [4096, 4096], ['4096', 4096], ['1Ki', 1024], ['512Mi', 512 * 1024 ** 2], ['2Gi', 2 * 1024 ** 3], ['1Ti', 1024 ** 4]];
  for (const [input, bytes] of cases) t.equal(parseSize(input), bytes, String(input));
  t.throws(() => parseSize('1GB'), ProfileError);
});
