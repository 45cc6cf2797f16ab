// Keys Go's encoding/json (runc, runsc) would read as a different field than Bulwark does, the
// field list they are judged against, and the temp-file sweep of an interrupted write.
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPEC_FIELD_NAMES, goFold, goKeyAmbiguities, loadConfigFile, removeStaleTemps } from '../../src/bundle/io.js';
import { stringifyJson } from '../../src/json/lossless.js';
import { runcSpec } from '../fixtures/index.js';

const SCHEMA_DIR = process.env.BULWARK_SPEC_SCHEMA_DIR ?? '/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema';

function schemaFieldNames(dir: string): Set<string> {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) {
        for (const [name, sub] of Object.entries(value)) {
          names.add(name);
          walk(sub);
        }
      } else {
        walk(value);
      }
    }
  };
  for (const file of readdirSync(dir).filter((f) => /^(config|defs).*\.json$/.test(f))) walk(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  return names;
}

t.test('SPEC_FIELD_NAMES is the runtime-spec schemas\' field list', { skip: existsSync(SCHEMA_DIR) ? false : `no runtime-spec schemas at ${SCHEMA_DIR}` }, async (t) => {
  const fromSchema = [...schemaFieldNames(SCHEMA_DIR)].sort();
  t.same([...SPEC_FIELD_NAMES].sort(), fromSchema);
  const folds = new Map<string, string>();
  for (const name of fromSchema) {
    t.notOk(folds.has(goFold(name)), `no two fields fold alike (${name})`);
    folds.set(goFold(name), name);
  }
});

t.test('goFold is Go\'s key matching', async (t) => {
  const CASES: Array<[string, string]> = [
    ['Process', 'process'],
    ['PROCESS', 'process'],
    ['proce\u017f\u017f', 'process'], // long s
    ['\u212aernel', 'kernel'], // Kelvin sign
    ['noNewPrivileges', 'nonewprivileges'],
    ['\u00c9t\u00e9', '\u00c9t\u00e9'], // non-ASCII letters other than the two above are not folded to ASCII
  ];
  for (const [key, folded] of CASES) t.equal(goFold(key), folded, key);
});

t.test('goKeyAmbiguities', async (t) => {
  const CASES: Array<{ name: string; value: unknown; problems: RegExp[] }> = [
    { name: 'runc spec\'s config', value: runcSpec(), problems: [] },
    { name: 'a second process spelled Process', value: { process: {}, Process: { noNewPrivileges: false } }, problems: [/^Process: key "Process" is not the field "process"/] },
    { name: 'Seccomp: null in linux', value: { linux: { seccomp: {}, Seccomp: null } }, problems: [/^linux\.Seccomp: key "Seccomp" is not the field "seccomp"/] },
    { name: 'Path in a namespace entry', value: { linux: { namespaces: [{ type: 'pid' }, { type: 'network', Path: '/proc/1/ns/net' }] } }, problems: [/^linux\.namespaces\[1\]\.Path:/] },
    { name: 'a long s', value: { process: { ['noNewPrivileges'.replace('s', '\u017f')]: false } }, problems: [/is not the field "noNewPrivileges"/] },
    { name: 'unknown fields that fold to no field', value: { 'x-Vendor': { Anything: 1 }, linux: { FutureKnob: true } }, problems: [] },
    { name: 'annotation keys are data', value: { annotations: { Process: 'x', process: 'y' } }, problems: [] },
    { name: 'sysctl keys are data', value: { linux: { sysctl: { Path: '1' } } }, problems: [] },
    { name: 'unified keys are data', value: { linux: { resources: { unified: { Memory: 'max' } } } }, problems: [] },
    { name: 'every problem, in document order, with its path', value: { Process: {}, linux: { namespaces: [{ type: 'pid' }, { Type: 'ipc' }], Devices: [] }, process: { args: ['Env'], Env: [] } }, problems: [/^Process: /, /^linux\.namespaces\[1\]\.Type: key "Type" is not the field "type"/, /^linux\.Devices: /, /^process\.Env: /] },
    { name: 'rdma values are structs', value: { linux: { resources: { rdma: { Limit: { HcaHandles: 1 } } } } }, problems: [/rdma\.Limit\.HcaHandles: key "HcaHandles" is not the field "hcaHandles"/] },
  ];
  for (const c of CASES) {
    const found = goKeyAmbiguities(c.value);
    t.equal(found.length, c.problems.length, `${c.name}: ${JSON.stringify(found)}`);
    c.problems.forEach((re, i) => t.match(found[i], re, c.name));
  }
});

t.test('loadConfigFile refuses an ambiguous config before the schema check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-gokeys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  writeFileSync(path, stringifyJson({ ...runcSpec(), Process: { capabilities: { bounding: ['CAP_SYS_ADMIN'] } } }));
  t.throws(() => loadConfigFile(path, dir), { name: 'BundleError', message: /config\.json: Process: key "Process" is not the field "process", but runc's JSON decoder would read it as that field/ });
  writeFileSync(path, stringifyJson(runcSpec()));
  t.ok(loadConfigFile(path, dir).spec.process, 'the same config without it loads');
});

t.test('removeStaleTemps removes the temp files of dead writers only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-temps-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dead = 2 ** 22 + 12345; // above pid_max's default range: no such process
  const names = [
    `config.json.bulwark-${dead}-0a1b2c3d.tmp`,
    `config.json.orig.bulwark-${dead}-0a1b2c3d.tmp`,
    `config.json.bulwark-${process.pid}-0a1b2c3d.tmp`, // a live writer (us)
    `config.json.other.bulwark-${dead}-0a1b2c3d.tmp`, // not a temp of config.json or its .orig
    `rootfs.bulwark-${dead}-0a1b2c3d.tmp`,
    'config.json',
  ];
  for (const name of names) writeFileSync(join(dir, name), 'x');
  t.same(removeStaleTemps(join(dir, 'config.json')).sort(), names.slice(0, 2).sort());
  t.same(readdirSync(dir).sort(), names.slice(2).sort());
});
