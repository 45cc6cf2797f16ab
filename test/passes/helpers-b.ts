// Table runner for the cgroups, mounts, devices, paths, hooks and sysctls pass tests. Each row
// edits a fresh `runc spec` config (on top of a per-file compliant baseline), profile and host;
// the pass runs on deep-frozen inputs; the whole output spec is compared (the row names only
// the objects that change), then every finding, schema validity, and idempotence after a fix.
import t from 'tap';
import { createRequire } from 'node:module';
import type { Spec } from '../../src/spec/index.js';
import type { Finding, FindingAction, Pass } from '../../src/passes/types.js';
import type { HostFacts } from '../../src/host/types.js';
import { deepFreeze, runcSpec, testHost, testProfile } from '../fixtures/index.js';

// The generated validators call require() for ajv runtime helpers from an ES module; give this
// process one so the schema check can run.
const scope = globalThis as { require?: unknown };
scope.require ??= createRequire(import.meta.url);
const { specProblems } = await import('../../src/spec/index.js');

export type ExpectedFinding = readonly [rule: string, path: string, action: FindingAction, message: RegExp];
type Rules = Parameters<typeof testProfile>[0];

export interface Row {
  name: string;
  /** Edits the config (already carrying the file's baseline) before it is frozen. */
  spec?: (s: Spec) => Spec | void;
  rules?: Rules;
  host?: Partial<HostFacts>;
  /** Output values that differ from the input, by path (`a.b[2].c`; `undefined`: removed). */
  expect?: Record<string, unknown>;
  findings: ExpectedFinding[];
}

export interface Table {
  /** Makes the fresh config compliant with the pass, so rows show one problem each. */
  baseline?: (s: Spec) => void;
  rows: Row[];
}

type Node = Record<string, unknown>;

function pathKeys(path: string): string[] {
  return path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '');
}

/** Sets (or, for `undefined`, deletes) a path in a plain copy, creating objects on the way. */
function setPath(target: Node, path: string, value: unknown): void {
  const keys = pathKeys(path);
  let node: Node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Node;
  }
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = structuredClone(value);
}

function show(findings: Finding[]): string {
  return findings.map((f) => `  ${f.rule} ${f.action} ${f.path} ${f.message}`).join('\n');
}

export function buildInputs(row: Pick<Row, 'spec' | 'rules' | 'host'>, baseline?: (s: Spec) => void) {
  const fresh = runcSpec();
  baseline?.(fresh);
  const spec = deepFreeze(row.spec?.(fresh) ?? fresh);
  const profile = deepFreeze(testProfile(row.rules ?? {}));
  const host = deepFreeze(testHost(row.host ?? {}));
  return { spec, profile, host };
}

export function runTable(pass: Pass, table: Table): void {
  for (const row of table.rows) {
    t.test(row.name, async (t) => {
      const { spec, profile, host } = buildInputs(row, table.baseline);
      const result = pass(spec, profile, host);

      const expected = structuredClone(spec) as unknown as Node;
      for (const [path, value] of Object.entries(row.expect ?? {})) setPath(expected, path, value);
      t.strictSame(result.spec, expected, 'output spec');

      t.equal(result.findings.length, row.findings.length, `finding count; got:\n${show(result.findings)}`);
      row.findings.forEach(([rule, path, action, message], i) => {
        const got = result.findings[i];
        if (!t.ok(got, `finding ${i} exists`) || !got) return;
        t.strictSame({ rule: got.rule, path: got.path, action: got.action }, { rule, path, action }, `finding ${i}: ${got.message}`);
        t.match(got.message, message, `finding ${i} message`);
      });

      const fixed = result.findings.some((f) => f.action === 'fix');
      if (!fixed) t.equal(result.spec, spec, 'no fix finding: the input object is returned');
      t.strictSame(specProblems(result.spec), [], 'output is a valid runtime-spec config');

      if (fixed) {
        const again = pass(deepFreeze(result.spec), profile, host);
        t.strictSame(again.spec, result.spec, 'idempotent: a second run changes nothing');
        t.strictSame(again.findings.filter((f) => f.action === 'fix'), [], 'idempotent: a second run fixes nothing');
      }
    });
  }
}

/** Shorthand for an edit of `linux`. */
export function linux(edit: (l: NonNullable<Spec['linux']>) => void) {
  return (s: Spec) => {
    s.linux ??= {};
    edit(s.linux);
  };
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
