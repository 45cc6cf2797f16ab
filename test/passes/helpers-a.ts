// Table runner for pass tests: each row edits a fresh `runc spec` config, profile and host, runs
// the pass on deep-frozen inputs and checks the whole output spec, every finding, the output's
// validity against the runtime-spec schema, and idempotence whenever the pass fixed something.
import t from 'tap';
import type { Spec } from '../../src/spec/index.js';
import { specProblems } from '../../src/spec/index.js';
import type { Finding, FindingAction, Pass } from '../../src/passes/types.js';
import type { HostFacts } from '../../src/host/types.js';
import { deepFreeze, runcSpec, testHost, testProfile } from '../fixtures/index.js';

export type ExpectedFinding = readonly [rule: string, path: string, action: FindingAction, message: RegExp];

export interface Row {
  name: string;
  /** Edits a fresh `runc spec` config (before it is frozen); may return a replacement. */
  spec?: (s: Spec) => Spec | void;
  rules?: Parameters<typeof testProfile>[0];
  host?: Partial<HostFacts>;
  /** Output values that differ from the input, by dotted path (`undefined`: removed). Everything else must be unchanged. */
  expect?: Record<string, unknown>;
  findings: ExpectedFinding[];
}

type Container = Record<string, unknown> | unknown[];

/** Sets (or, for `undefined`, deletes) a dotted path in a plain copy. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: Container = target;
  for (const key of keys.slice(0, -1)) {
    const slot = (node as Record<string, unknown>)[key];
    if (slot === undefined) (node as Record<string, unknown>)[key] = {};
    node = (node as Record<string, unknown>)[key] as Container;
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete (node as Record<string, unknown>)[last];
  else (node as Record<string, unknown>)[last] = structuredClone(value);
}

function show(findings: Finding[]): string {
  return findings.map((f) => `${f.rule} ${f.action} ${f.path}: ${f.message}`).join('\n');
}

export function buildInputs(row: Pick<Row, 'spec' | 'rules' | 'host'>) {
  const fresh = runcSpec();
  const spec = deepFreeze(row.spec?.(fresh) ?? fresh);
  const profile = deepFreeze(testProfile(row.rules ?? {}));
  const host = deepFreeze(testHost(row.host ?? {}));
  return { spec, profile, host };
}

export function runTable(pass: Pass, rows: Row[]): void {
  for (const row of rows) {
    t.test(row.name, async (t) => {
      const { spec, profile, host } = buildInputs(row);
      const result = pass(spec, profile, host);

      const expected = structuredClone(spec) as unknown as Record<string, unknown>;
      for (const [path, value] of Object.entries(row.expect ?? {})) setPath(expected, path, value);
      t.strictSame(result.spec, expected, 'output spec');

      t.equal(result.findings.length, row.findings.length, `finding count; got:\n${show(result.findings)}`);
      row.findings.forEach(([rule, path, action, message], i) => {
        const got = result.findings[i];
        t.ok(got, `finding ${i} exists`);
        if (!got) return;
        t.strictSame({ rule: got.rule, path: got.path, action: got.action }, { rule, path, action }, `finding ${i}: ${got.message}`);
        t.match(got.message, message, `finding ${i} message`);
      });

      const hasFix = result.findings.some((f) => f.action === 'fix');
      if (!hasFix) t.equal(result.spec, spec, 'no fix finding: the input is returned as is');
      if (specProblems(spec).length === 0) t.strictSame(specProblems(result.spec), [], 'output is a valid runtime-spec config');

      if (hasFix) {
        const again = pass(deepFreeze(result.spec), profile, host);
        t.strictSame(again.spec, result.spec, 'idempotent: a second run changes nothing');
        t.strictSame(again.findings.filter((f) => f.action === 'fix'), [], 'idempotent: a second run fixes nothing');
      }
    });
  }
}

/** Shorthand for a spec edit on linux. */
export function withLinux(edit: (linux: NonNullable<Spec['linux']>) => void) {
  return (s: Spec) => {
    s.linux ??= {};
    edit(s.linux);
  };
}
