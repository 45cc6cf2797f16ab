import { pathsPass } from '../../src/passes/paths.js';
import { linux, runTable, type Row } from './helpers-b.js';
import { runcSpec, testProfile } from '../fixtures/index.js';

const { masked: MASKED, readonly: READONLY } = testProfile().rules.paths;
const RUNC_MASKED = runcSpec().linux!.maskedPaths!;
const FIX = { paths: { action: 'fix' as const } };

const rows: Row[] = [
  { name: 'both lists hold the profile minimum', findings: [] },
  {
    name: "fix: runc spec's masked list lacks two; they are appended in profile order",
    spec: linux((l) => (l.maskedPaths = [...RUNC_MASKED])),
    expect: { 'linux.maskedPaths': [...RUNC_MASKED, '/proc/interrupts', '/sys/devices/virtual/powercap'] },
    findings: [['paths', 'linux.maskedPaths', 'fix', /^lacks \/proc\/interrupts, \/sys\/devices\/virtual\/powercap; added$/]],
  },
  {
    name: 'fix: a config without either list gets both',
    spec: linux((l) => {
      delete l.maskedPaths;
      delete l.readonlyPaths;
    }),
    expect: { 'linux.maskedPaths': MASKED, 'linux.readonlyPaths': READONLY },
    findings: [
      ['paths', 'linux.maskedPaths', 'fix', /^lacks \/proc\/acpi, .*; added$/],
      ['paths', 'linux.readonlyPaths', 'fix', /^lacks \/proc\/bus, \/proc\/fs, \/proc\/irq, \/proc\/sys, \/proc\/sysrq-trigger; added$/],
    ],
  },
  {
    name: 'fix: a config without linux at all',
    spec: (s) => void delete s.linux,
    expect: { linux: { maskedPaths: MASKED, readonlyPaths: READONLY } },
    findings: [
      ['paths', 'linux.maskedPaths', 'fix', /added$/],
      ['paths', 'linux.readonlyPaths', 'fix', /added$/],
    ],
  },
  {
    name: 'deny: missing entries are refused, nothing changes',
    spec: linux((l) => (l.readonlyPaths = ['/proc/bus'])),
    rules: { paths: { action: 'deny' } },
    findings: [['paths', 'linux.readonlyPaths', 'deny', /^lacks \/proc\/fs, \/proc\/irq, \/proc\/sys, \/proc\/sysrq-trigger$/]],
  },
  {
    name: 'warn: reported only',
    spec: linux((l) => (l.readonlyPaths = ['/proc/bus'])),
    rules: { paths: { action: 'warn' } },
    findings: [['paths', 'linux.readonlyPaths', 'warn', /^lacks /]],
  },
  {
    name: "the config's own extra entries stay, first",
    spec: linux((l) => (l.readonlyPaths = ['/proc/extra', '/proc/sys'])),
    rules: FIX,
    expect: { 'linux.readonlyPaths': ['/proc/extra', '/proc/sys', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sysrq-trigger'] },
    findings: [['paths', 'linux.readonlyPaths', 'fix', /^lacks \/proc\/bus, \/proc\/fs, \/proc\/irq, \/proc\/sysrq-trigger; added$/]],
  },
  {
    name: 'an entry written with // or a trailing slash counts as present',
    spec: linux((l) => (l.readonlyPaths = ['/proc//bus', '/proc/fs/', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'])),
    findings: [],
  },
  {
    name: 'fix: relative entries are made absolute',
    spec: linux((l) => (l.readonlyPaths = ['/proc/bus', 'proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'])),
    expect: { 'linux.readonlyPaths': READONLY },
    findings: [['paths', 'linux.readonlyPaths', 'fix', /^has relative entries "proc\/fs"; made absolute$/]],
  },
  {
    name: 'deny: relative entries',
    spec: linux((l) => (l.maskedPaths = [...MASKED, 'proc/kallsyms'])),
    rules: { paths: { action: 'deny' } },
    findings: [['paths', 'linux.maskedPaths', 'deny', /^has relative entries "proc\/kallsyms"$/]],
  },
];

runTable(pathsPass, { baseline: linux((l) => (l.maskedPaths = [...MASKED])), rows: rows.map((row) => ({ ...row, rules: row.rules ?? FIX })) });
