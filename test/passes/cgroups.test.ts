import { cgroupsPass } from '../../src/passes/cgroups.js';
import { parseCgroupSize } from '../../src/passes/cgroups.js';
import t from 'tap';
import { GiB, MiB, linux, runTable, type Row } from './helpers-b.js';

const MAX = 16 * GiB;
const INT64_MAX = 2n ** 63n - 1n;
const HYBRID = { cgroup: { mode: 'hybrid' as const, controllers: [], swapAccounting: true } };
const HYBRID_NO_SWAP = { cgroup: { mode: 'hybrid' as const, controllers: [], swapAccounting: false } };
const V1 = { cgroup: { mode: 'v1' as const, controllers: [], swapAccounting: true } };
const V2_NO_SWAP = { cgroup: { mode: 'v2' as const, controllers: ['cpu', 'memory', 'pids'], swapAccounting: false } };

/** What the profile's defaults produce for a config without any memory settings. */
const DEFAULT_MEMORY = { limit: GiB, swap: GiB };
const UNIFIED_BASE = { 'memory.oom.group': '1' };

const memory = (m: Record<string, unknown>) => linux((l) => (l.resources!.memory = m as never));
const unified = (u: Record<string, string>) => linux((l) => (l.resources!.unified = { ...UNIFIED_BASE, ...u }));

const rows: Row[] = [
  { name: 'a compliant config is left alone', findings: [] },
  {
    name: 'no memory settings: default limit, swap capped at the limit, memory.swap.max added (v2)',
    spec: linux((l) => delete l.resources!.memory),
    expect: { 'linux.resources.memory': DEFAULT_MEMORY, 'linux.resources.unified': { ...UNIFIED_BASE, 'memory.swap.max': '0' } },
    findings: [
      ['cgroups', 'linux.resources.memory.limit', 'fix', /^is not set: the container could take all of the host's memory; set to 1073741824 \(1 GiB\)$/],
      ['cgroups', 'linux.resources.memory.swap', 'fix', /^is not set: memory\+swap is unbounded; set to 1073741824 \(1 GiB\) and unified memory.swap.max to "0"$/],
    ],
  },
  {
    name: 'limit -1 (unlimited) gets the default; a swap total equal to it stays',
    spec: memory({ limit: -1, swap: GiB }),
    expect: { 'linux.resources.memory': DEFAULT_MEMORY },
    findings: [['cgroups', 'linux.resources.memory.limit', 'fix', /^is -1 \(no limit\): .*; set to 1073741824/]],
  },
  {
    name: 'limit 0 means unset in OCI',
    spec: memory({ limit: 0, swap: GiB }),
    expect: { 'linux.resources.memory': DEFAULT_MEMORY },
    findings: [['cgroups', 'linux.resources.memory.limit', 'fix', /^is 0 \(no limit\)/]],
  },
  { name: 'limit exactly at the maximum is kept', spec: memory({ limit: MAX, swap: MAX }), findings: [] },
  {
    name: 'limit one byte above the maximum is lowered, and swap with it',
    spec: memory({ limit: MAX + 1, swap: MAX + 1 }),
    expect: { 'linux.resources.memory': { limit: MAX, swap: MAX }, 'linux.resources.unified': { ...UNIFIED_BASE, 'memory.swap.max': '0' } },
    findings: [
      ['cgroups', 'linux.resources.memory.limit', 'fix', /^is 17179869185, above the profile's maximum 17179869184 \(16 GiB\); lowered to 17179869184/],
      ['cgroups', 'linux.resources.memory.swap', 'fix', /^is 17179869185, above memory.limit plus the profile's swap allowance \(17179869184 \(16 GiB\)\); set to/],
    ],
  },
  {
    name: 'bigint limit (2^63-1) is compared exactly and lowered',
    spec: memory({ limit: INT64_MAX, swap: INT64_MAX }),
    expect: { 'linux.resources.memory': { limit: MAX, swap: MAX }, 'linux.resources.unified': { ...UNIFIED_BASE, 'memory.swap.max': '0' } },
    findings: [
      ['cgroups', 'linux.resources.memory.limit', 'fix', /^is 9223372036854775807, above/],
      ['cgroups', 'linux.resources.memory.swap', 'fix', /^is 9223372036854775807, above/],
    ],
  },
  {
    name: 'a bigint swap just above 2^53 on top of a small limit is capped',
    spec: memory({ limit: GiB, swap: 2n ** 53n + 1n }),
    expect: { 'linux.resources.memory': DEFAULT_MEMORY, 'linux.resources.unified': { ...UNIFIED_BASE, 'memory.swap.max': '0' } },
    findings: [['cgroups', 'linux.resources.memory.swap', 'fix', /^is 9007199254740993, above/]],
  },
  {
    name: 'swap -1 (unlimited) is capped at the limit',
    spec: memory({ limit: 512 * MiB, swap: -1 }),
    expect: { 'linux.resources.memory': { limit: 512 * MiB, swap: 512 * MiB }, 'linux.resources.unified': { ...UNIFIED_BASE, 'memory.swap.max': '0' } },
    findings: [['cgroups', 'linux.resources.memory.swap', 'fix', /^is -1 \(no limit\): memory\+swap is unbounded; set to 536870912 \(512 MiB\)/]],
  },
  {
    name: 'a swap allowance is added on top of the limit (OCI swap is memory+swap)',
    spec: memory({ limit: GiB }),
    rules: { cgroups: { memory: { default: GiB, max: MAX, swap: 512 * MiB } } },
    expect: { 'linux.resources.memory': { limit: GiB, swap: GiB + 512 * MiB }, 'linux.resources.unified': { ...UNIFIED_BASE, 'memory.swap.max': '536870912' } },
    findings: [['cgroups', 'linux.resources.memory.swap', 'fix', /set to 1610612736 \(1536 MiB\) and unified memory.swap.max to "536870912"$/]],
  },
  {
    name: 'swap within the allowance is kept',
    spec: memory({ limit: GiB, swap: GiB + 256 * MiB }),
    rules: { cgroups: { memory: { default: GiB, max: MAX, swap: 512 * MiB } } },
    findings: [],
  },
  {
    name: 'a swap total below the limit is left to runc, which refuses it',
    spec: memory({ limit: GiB, swap: 512 * MiB }),
    findings: [],
  },
  {
    name: 'disableOOMKiller is turned off',
    spec: memory({ limit: GiB, swap: GiB, disableOOMKiller: true }),
    expect: { 'linux.resources.memory': { ...DEFAULT_MEMORY, disableOOMKiller: false } },
    findings: [['cgroups', 'linux.resources.memory.disableOOMKiller', 'fix', /^is true: a container over its memory limit would hang instead of being killed; set to false$/]],
  },
  {
    name: 'no pids limit gets the default',
    spec: linux((l) => delete l.resources!.pids),
    expect: { 'linux.resources.pids': { limit: 1024 } },
    findings: [['cgroups', 'linux.resources.pids.limit', 'fix', /^is not set: a fork bomb could exhaust the host's process table; set to 1024$/]],
  },
  {
    name: 'pids -1 gets the default',
    spec: linux((l) => (l.resources!.pids = { limit: -1 })),
    expect: { 'linux.resources.pids': { limit: 1024 } },
    findings: [['cgroups', 'linux.resources.pids.limit', 'fix', /^is -1 \(no limit\)/]],
  },
  { name: 'pids exactly at the maximum is kept', spec: linux((l) => (l.resources!.pids = { limit: 32768 })), findings: [] },
  {
    name: 'pids above the maximum is lowered (bigint too)',
    spec: linux((l) => (l.resources!.pids = { limit: INT64_MAX })),
    expect: { 'linux.resources.pids': { limit: 32768 } },
    findings: [['cgroups', 'linux.resources.pids.limit', 'fix', /^is 9223372036854775807, above the profile's maximum 32768; lowered to 32768$/]],
  },
  {
    name: 'maxCpus: no quota gets one, with the default period',
    rules: { cgroups: { cpu: { maxCpus: 2 } } },
    expect: { 'linux.resources.cpu': { quota: 200000, period: 100000 } },
    findings: [['cgroups', 'linux.resources.cpu.quota', 'fix', /^is not set: no CPU ceiling, the profile allows at most 2 CPUs; set to 200000 per 100000 µs period$/]],
  },
  {
    name: 'maxCpus: quota -1 on a config with its own period and cpuset',
    spec: linux((l) => (l.resources!.cpu = { quota: -1, period: 50000, cpus: '0-1' })),
    rules: { cgroups: { cpu: { maxCpus: 1.5 } } },
    expect: { 'linux.resources.cpu': { quota: 75000, period: 50000, cpus: '0-1' } },
    findings: [['cgroups', 'linux.resources.cpu.quota', 'fix', /^is -1 \(no limit\)/]],
  },
  {
    name: 'maxCpus: a quota above the ceiling is lowered',
    spec: linux((l) => (l.resources!.cpu = { quota: 300000, period: 100000 })),
    rules: { cgroups: { cpu: { maxCpus: 2 } } },
    expect: { 'linux.resources.cpu': { quota: 200000, period: 100000 } },
    findings: [['cgroups', 'linux.resources.cpu.quota', 'fix', /^is 300000 per 100000 µs period, above the profile's 2 CPUs; lowered to 200000$/]],
  },
  { name: 'maxCpus: a quota at the ceiling is kept', spec: linux((l) => (l.resources!.cpu = { quota: 200000, period: 100000 })), rules: { cgroups: { cpu: { maxCpus: 2 } } }, findings: [] },
  { name: 'maxCpus 0: no CPU ceiling at all', spec: linux((l) => (l.resources!.cpu = { quota: -1 })), findings: [] },
  {
    name: 'v1 host: typed fields only, no unified keys',
    spec: linux((l) => {
      delete l.resources!.memory;
      delete l.resources!.unified;
    }),
    host: V1,
    expect: { 'linux.resources.memory': DEFAULT_MEMORY },
    findings: [
      ['cgroups', 'linux.resources.memory.limit', 'fix', /^is not set/],
      ['cgroups', 'linux.resources.memory.swap', 'fix', /^is not set: memory\+swap is unbounded; set to 1073741824 \(1 GiB\)$/],
    ],
  },
  {
    name: 'hybrid host with swap accounting: same as v1',
    spec: linux((l) => {
      delete l.resources!.memory;
      delete l.resources!.unified;
    }),
    host: HYBRID,
    expect: { 'linux.resources.memory': DEFAULT_MEMORY },
    findings: [
      ['cgroups', 'linux.resources.memory.limit', 'fix', /^is not set/],
      ['cgroups', 'linux.resources.memory.swap', 'fix', /^is not set/],
    ],
  },
  {
    name: 'hybrid host without swap accounting: swap is not set (runc would fail) and a warning says so',
    spec: linux((l) => {
      delete l.resources!.memory;
      delete l.resources!.unified;
    }),
    host: HYBRID_NO_SWAP,
    expect: { 'linux.resources.memory': { limit: GiB } },
    findings: [
      ['cgroups', 'linux.resources.memory.limit', 'fix', /^is not set/],
      ['cgroups', 'linux.resources.memory.swap', 'warn', /^is not set: memory\+swap is unbounded; left as is: this host has no swap accounting/],
    ],
  },
  {
    name: 'hybrid host: existing unified keys are not touched (runc refuses them there anyway)',
    spec: unified({ 'memory.max': 'max' }),
    host: HYBRID,
    findings: [],
  },
  {
    name: 'v2 without swap accounting: memory.swap is set (runc tolerates a missing swap file for it), the unified key is not',
    spec: linux((l) => delete l.resources!.memory),
    host: V2_NO_SWAP,
    expect: { 'linux.resources.memory': DEFAULT_MEMORY },
    findings: [
      ['cgroups', 'linux.resources.memory.limit', 'fix', /^is not set/],
      ['cgroups', 'linux.resources.memory.swap', 'fix', /set to 1073741824 \(1 GiB\)$/],
    ],
  },
  {
    name: 'v2: memory.oom.group is added',
    spec: linux((l) => delete l.resources!.unified),
    expect: { 'linux.resources.unified': UNIFIED_BASE },
    findings: [['cgroups', 'linux.resources.unified["memory.oom.group"]', 'fix', /^is not set: an OOM kill would take one process and leave the rest running; set to "1"$/]],
  },
  {
    name: 'v2: memory.oom.group "0" is raised to "1"',
    spec: unified({ 'memory.oom.group': '0' }),
    expect: { 'linux.resources.unified': UNIFIED_BASE },
    findings: [['cgroups', 'linux.resources.unified["memory.oom.group"]', 'fix', /^is "0"/]],
  },
  { name: 'v2: oomGroup off adds nothing', spec: linux((l) => delete l.resources!.unified), rules: { cgroups: { oomGroup: false } }, findings: [] },
  {
    name: 'v2 without the memory controller: no memory.* keys',
    spec: linux((l) => delete l.resources!.unified),
    host: { cgroup: { mode: 'v2', controllers: ['pids'], swapAccounting: true } },
    findings: [],
  },
  {
    name: 'v2: unified keys that undo the limits are set to them',
    spec: unified({ 'memory.max': 'max', 'memory.swap.max': 'max', 'pids.max': 'max', 'memory.high': '100M' }),
    expect: {
      'linux.resources.unified': { ...UNIFIED_BASE, 'memory.max': '1073741824', 'memory.swap.max': '0', 'pids.max': '1024', 'memory.high': '100M' },
    },
    findings: [
      ['cgroups', 'linux.resources.unified["memory.max"]', 'fix', /^is "max", which removes the limit \(1073741824\) the typed field sets; set to "1073741824"$/],
      ['cgroups', 'linux.resources.unified["memory.swap.max"]', 'fix', /^is "max"/],
      ['cgroups', 'linux.resources.unified["pids.max"]', 'fix', /^is "max"/],
    ],
  },
  {
    name: 'v2: swap unset and an existing memory.swap.max "max": both capped, each with its finding',
    spec: linux((l) => {
      l.resources!.memory = { limit: GiB };
      l.resources!.unified = { ...UNIFIED_BASE, 'memory.swap.max': 'max' };
    }),
    expect: { 'linux.resources.memory': DEFAULT_MEMORY, 'linux.resources.unified': { ...UNIFIED_BASE, 'memory.swap.max': '0' } },
    findings: [
      ['cgroups', 'linux.resources.memory.swap', 'fix', /^is not set: memory\+swap is unbounded; set to 1073741824 \(1 GiB\)$/],
      ['cgroups', 'linux.resources.unified["memory.swap.max"]', 'fix', /^is "max", which removes the limit \(0\)/],
    ],
  },
  {
    name: 'v2: sizes are read as the kernel reads them (suffixes, hex, octal)',
    spec: unified({ 'memory.max': '2G', 'pids.max': '0x8000' }),
    expect: { 'linux.resources.unified': { ...UNIFIED_BASE, 'memory.max': '1073741824', 'pids.max': '1024' } },
    findings: [
      ['cgroups', 'linux.resources.unified["memory.max"]', 'fix', /^is "2G", which is above the limit/],
      ['cgroups', 'linux.resources.unified["pids.max"]', 'fix', /^is "0x8000", which is above the limit/],
    ],
  },
  { name: 'v2: unified values tighter than the limits are kept', spec: unified({ 'memory.max': '512M', 'pids.max': '0100', 'memory.swap.max': '0' }), findings: [] },
  {
    name: 'v2: a unified value the kernel would not parse is replaced',
    spec: unified({ 'memory.max': 'lots' }),
    expect: { 'linux.resources.unified': { ...UNIFIED_BASE, 'memory.max': '1073741824' } },
    findings: [['cgroups', 'linux.resources.unified["memory.max"]', 'fix', /^is "lots", which is not a value the kernel accepts/]],
  },
  {
    name: 'v2: cpu.max above maxCpus is lowered',
    spec: linux((l) => {
      l.resources!.cpu = { quota: 100000, period: 100000 };
      l.resources!.unified = { ...UNIFIED_BASE, 'cpu.max': 'max 100000' };
    }),
    rules: { cgroups: { cpu: { maxCpus: 2 } } },
    expect: { 'linux.resources.unified': { ...UNIFIED_BASE, 'cpu.max': '200000 100000' } },
    findings: [['cgroups', 'linux.resources.unified["cpu.max"]', 'fix', /^is "max 100000", more than the profile's 2 CPUs; set to "200000 100000"$/]],
  },
  {
    name: 'linux.cgroupsPath is not policy and is carried through',
    spec: linux((l) => {
      l.cgroupsPath = 'relative/path';
      delete l.resources!.pids;
    }),
    expect: { 'linux.resources.pids': { limit: 1024 } },
    findings: [['cgroups', 'linux.resources.pids.limit', 'fix', /^is not set/]],
  },
  {
    name: 'deny: every problem is reported, nothing changes',
    spec: linux((l) => {
      l.resources!.memory = { limit: MAX * 2, disableOOMKiller: true };
      delete l.resources!.pids;
      l.resources!.unified = { 'memory.max': 'max' };
    }),
    rules: { cgroups: { action: 'deny' } },
    findings: [
      ['cgroups', 'linux.resources.memory.limit', 'deny', /^is 34359738368 \(32 GiB\), above the profile's maximum 17179869184 \(16 GiB\)$/],
      ['cgroups', 'linux.resources.memory.swap', 'deny', /^is not set: memory\+swap is unbounded$/],
      ['cgroups', 'linux.resources.memory.disableOOMKiller', 'deny', /^is true: a container over its memory limit would hang instead of being killed$/],
      ['cgroups', 'linux.resources.pids.limit', 'deny', /^is not set: a fork bomb could exhaust the host's process table$/],
      ['cgroups', 'linux.resources.unified["memory.oom.group"]', 'deny', /^is not set/],
      ['cgroups', 'linux.resources.unified["memory.max"]', 'deny', /^is "max", which removes the limit \(17179869184\)/],
    ],
  },
  {
    name: 'warn: reported as warnings, nothing changes',
    spec: linux((l) => delete l.resources!.pids),
    rules: { cgroups: { action: 'warn' } },
    findings: [['cgroups', 'linux.resources.pids.limit', 'warn', /^is not set: a fork bomb could exhaust the host's process table$/]],
  },
  {
    name: 'a config without linux at all gets a resources section',
    spec: (s) => {
      delete s.linux;
    },
    expect: {
      linux: { resources: { memory: DEFAULT_MEMORY, pids: { limit: 1024 }, unified: { ...UNIFIED_BASE, 'memory.swap.max': '0' } } },
    },
    findings: [
      ['cgroups', 'linux.resources.memory.limit', 'fix', /^is not set/],
      ['cgroups', 'linux.resources.memory.swap', 'fix', /^is not set/],
      ['cgroups', 'linux.resources.pids.limit', 'fix', /^is not set/],
      ['cgroups', 'linux.resources.unified["memory.oom.group"]', 'fix', /^is not set/],
    ],
  },
];

runTable(cgroupsPass, {
  baseline: linux((l) => {
    l.resources = { ...l.resources, memory: { ...DEFAULT_MEMORY }, pids: { limit: 1024 }, unified: { ...UNIFIED_BASE } };
  }),
  rows,
});

t.test('parseCgroupSize reads sizes as the kernel does', async (t) => {
  const cases: Array<[string, bigint | 'max' | null]> = [
    ['max', 'max'], [' max\n', 'max'], ['0', 0n], ['1024', 1024n], ['1k', 1024n], ['1K', 1024n], ['2M', 2n * 1024n * 1024n],
    ['3g', 3n << 30n], ['1E', 1n << 60n], ['0x10', 16n], ['010', 8n], ['-1', null], ['1.5G', null], ['', null], ['1 G', null], ['08', null],
  ];
  for (const [input, expected] of cases) t.equal(parseCgroupSize(input), expected, JSON.stringify(input));
});
