import type { Rlimit, Spec } from '../../src/spec/index.js';
import { rlimitsPass, LINUX_RLIMITS } from '../../src/passes/rlimits.js';
import { runTable } from './helpers-a.js';
import t from 'tap';

const INFINITY = 18446744073709551615n;
const MAX = 1048576;

function rlimits(...limits: Rlimit[]) {
  return (s: Spec) => {
    s.process!.rlimits = limits;
  };
}
const nofile = (soft: number | bigint, hard: number | bigint): Rlimit => ({ type: 'RLIMIT_NOFILE', soft, hard });
const none = (s: Spec) => void delete s.process!.rlimits;

runTable(rlimitsPass, [
  { name: 'runc default (nofile 1024/1024): nothing to do', findings: [] },
  { name: 'no process: nothing to do', spec: (s) => void delete s.process, findings: [] },
  {
    name: 'no rlimits: the default is added',
    spec: none,
    expect: { 'process.rlimits': [nofile(1024, 4096)] },
    findings: [['rlimits', 'process.rlimits', 'fix', /^did not set RLIMIT_NOFILE; added soft 1024, hard 4096$/]],
  },
  {
    name: "a default is clamped to the host's hard limit",
    spec: none,
    host: { rlimitHard: { RLIMIT_NOFILE: 2048 } },
    expect: { 'process.rlimits': [nofile(1024, 2048)] },
    findings: [['rlimits', 'process.rlimits', 'fix', /added soft 1024, hard 2048$/]],
  },
  {
    name: "a default above the host's hard limit keeps soft <= hard",
    spec: none,
    host: { rlimitHard: { RLIMIT_NOFILE: 512 } },
    expect: { 'process.rlimits': [nofile(512, 512)] },
    findings: [['rlimits', 'process.rlimits', 'fix', /added soft 512, hard 512$/]],
  },
  {
    name: "a default is clamped to the profile's maximum too, and appended after existing limits",
    rules: { rlimits: { defaults: { RLIMIT_NPROC: { soft: 8192, hard: 8192 } }, max: { RLIMIT_NPROC: 4096 } } },
    expect: { 'process.rlimits': [nofile(1024, 1024), { type: 'RLIMIT_NPROC', soft: 4096, hard: 4096 }] },
    findings: [['rlimits', 'process.rlimits', 'fix', /^did not set RLIMIT_NPROC; added soft 4096, hard 4096$/]],
  },
  {
    name: 'a default against an infinite host limit (bigint) stays as the profile says',
    rules: { rlimits: { defaults: { RLIMIT_CORE: { soft: 0, hard: 1024 } }, max: {} } },
    expect: { 'process.rlimits': [nofile(1024, 1024), { type: 'RLIMIT_CORE', soft: 0, hard: 1024 }] },
    findings: [['rlimits', 'process.rlimits', 'fix', /RLIMIT_CORE; added soft 0, hard 1024$/]],
  },
  {
    name: 'a hard limit above the maximum is lowered; soft below it is kept',
    spec: rlimits(nofile(1024, 2_000_000)),
    expect: { 'process.rlimits': [nofile(1024, MAX)] },
    findings: [['rlimits', 'process.rlimits', 'fix', /^set RLIMIT_NOFILE hard 2000000 above the profile's maximum 1048576; lowered to 1048576$/]],
  },
  {
    name: 'soft and hard above the maximum are both lowered',
    spec: rlimits(nofile(2_000_000, 2_000_000)),
    expect: { 'process.rlimits': [nofile(MAX, MAX)] },
    findings: [['rlimits', 'process.rlimits', 'fix', /lowered to 1048576$/]],
  },
  {
    name: 'exactly at the maximum is fine',
    spec: rlimits(nofile(MAX, MAX)),
    findings: [],
  },
  {
    name: 'RLIM_INFINITY (bigint) above the maximum is lowered to it',
    spec: rlimits(nofile(INFINITY, INFINITY)),
    expect: { 'process.rlimits': [nofile(MAX, MAX)] },
    findings: [['rlimits', 'process.rlimits', 'fix', /^set RLIMIT_NOFILE hard 18446744073709551615 above the profile's maximum 1048576; lowered/]],
  },
  {
    name: 'RLIM_INFINITY where the host allows infinity and no maximum applies: fine',
    spec: rlimits(nofile(1024, 1024), { type: 'RLIMIT_CORE', soft: INFINITY, hard: INFINITY }),
    findings: [],
  },
  {
    name: 'above the maximum under deny: refused, and the EPERM risk is noted',
    rules: { rlimits: { action: 'deny' } },
    spec: rlimits(nofile(1024, 2_000_000)),
    findings: [
      ['rlimits', 'process.rlimits', 'deny', /^set RLIMIT_NOFILE hard 2000000 above the profile's maximum 1048576$/],
      ['rlimits', 'process.rlimits', 'warn', /^set RLIMIT_NOFILE hard 2000000 above the runtime's own hard limit 1048576: without CAP_SYS_RESOURCE runc fails with EPERM$/],
    ],
  },
  {
    name: "above the host's hard limit but within the maximum: only a warning, the value is kept",
    spec: rlimits(nofile(1024, 1024), { type: 'RLIMIT_NPROC', soft: 4096, hard: 100_000 }),
    findings: [['rlimits', 'process.rlimits', 'warn', /^set RLIMIT_NPROC hard 100000 above the runtime's own hard limit 96364/]],
  },
  {
    name: 'soft above hard is refused even under fix',
    spec: rlimits(nofile(4096, 1024)),
    findings: [['rlimits', 'process.rlimits', 'deny', /^set RLIMIT_NOFILE soft 4096 above hard 1024$/]],
  },
  {
    name: 'soft above hard across bigint and number',
    spec: rlimits(nofile(INFINITY, 1024)),
    findings: [['rlimits', 'process.rlimits', 'deny', /soft 18446744073709551615 above hard 1024$/]],
  },
  {
    name: 'a type Linux does not know is refused',
    spec: rlimits(nofile(1024, 1024), { type: 'RLIMIT_FOO', soft: 1, hard: 1 }),
    findings: [['rlimits', 'process.rlimits', 'deny', /^names unknown resource "RLIMIT_FOO"$/]],
  },
  {
    name: 'a type outside ^RLIMIT_[A-Z]+$ is refused',
    spec: rlimits(nofile(1024, 1024), { type: 'RLIMIT_nofile', soft: 1, hard: 1 }),
    findings: [['rlimits', 'process.rlimits', 'deny', /^names unknown resource "RLIMIT_nofile"$/]],
  },
  {
    name: 'the same type twice is refused',
    spec: rlimits(nofile(1024, 1024), nofile(2048, 2048)),
    findings: [['rlimits', 'process.rlimits', 'deny', /^set RLIMIT_NOFILE more than once$/]],
  },
  {
    name: 'a missing default under deny',
    rules: { rlimits: { action: 'deny' } },
    spec: none,
    findings: [['rlimits', 'process.rlimits', 'deny', /^does not set RLIMIT_NOFILE$/]],
  },
  {
    name: 'a missing default under warn',
    rules: { rlimits: { action: 'warn' } },
    spec: rlimits(),
    findings: [['rlimits', 'process.rlimits', 'warn', /^does not set RLIMIT_NOFILE$/]],
  },
  {
    name: 'a profile default of an unknown type is refused, not written',
    rules: { rlimits: { defaults: { RLIMIT_BOGUS: { soft: 1, hard: 1 } } } },
    findings: [['rlimits', 'process.rlimits', 'deny', /^cannot get the profile's default for unknown resource "RLIMIT_BOGUS"$/]],
  },
]);

t.test('the rlimit table has the 16 Linux resources', async (t) => {
  t.equal(LINUX_RLIMITS.length, 16);
  t.ok(LINUX_RLIMITS.every((r) => /^RLIMIT_[A-Z]+$/.test(r)));
});
