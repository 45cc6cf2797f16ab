import type { Spec } from '../../src/spec/index.js';
import { processPass } from '../../src/passes/process.js';
import { runTable } from './helpers-a.js';
import type { Row } from './helpers-a.js';

function cwd(path: string) {
  return (s: Spec) => {
    s.process!.cwd = path;
  };
}
const CVE = /is under \/proc, a known container escape route \(CVE-2024-21626\)$/;

/** A row whose cwd must be refused under /proc, whatever the rule's action. */
function procCwd(path: string, message: RegExp, action: 'fix' | 'deny' | 'warn' = 'deny'): Row {
  return {
    name: `cwd ${JSON.stringify(path)} under ${action} is refused`,
    rules: { process: { action } },
    spec: cwd(path),
    findings: [['process', 'process.cwd', 'deny', message]],
  };
}

runTable(processPass, [
  { name: 'runc default: nothing to report', findings: [] },
  { name: 'no process: nothing to check', spec: (s) => void delete s.process, findings: [] },
  procCwd('/proc', new RegExp(`^/proc ${CVE.source}`)),
  procCwd('/proc/self/fd/7', new RegExp(`^/proc/self/fd/7 ${CVE.source}`)),
  procCwd('/proc', CVE, 'fix'),
  procCwd('/proc/1/cwd', CVE, 'warn'),
  procCwd('/a/../proc/self/fd', /^\/a\/\.\.\/proc\/self\/fd \(resolves to \/proc\/self\/fd\) is under \/proc/),
  procCwd('/../proc', /\(resolves to \/proc\) is under/),
  procCwd('//proc/', /^\/\/proc\/ \(resolves to \/proc\) is under/),
  procCwd('/./proc/./self', /\(resolves to \/proc\/self\)/),
  { name: 'cwd /procfoo is fine', spec: cwd('/procfoo'), findings: [] },
  { name: 'cwd /srv/proc is fine', spec: cwd('/srv/proc'), findings: [] },
  { name: 'cwd /proc/../srv is fine', spec: cwd('/proc/../srv'), findings: [] },
  {
    name: 'a relative cwd is refused',
    spec: cwd('proc'),
    findings: [['process', 'process.cwd', 'deny', /^"proc" is not an absolute path$/]],
  },
  {
    name: 'an empty cwd is refused',
    rules: { process: { action: 'fix' } },
    spec: cwd(''),
    findings: [['process', 'process.cwd', 'deny', /^"" is not an absolute path$/]],
  },
  {
    name: 'runAsNonRoot deny: uid 0 is refused',
    rules: { process: { runAsNonRoot: { action: 'deny' } } },
    findings: [['process.runAsNonRoot', 'process.user.uid', 'deny', /^is 0: the process runs as root$/]],
  },
  {
    name: 'runAsNonRoot fix cannot pick a uid: refused instead',
    rules: { process: { action: 'fix', runAsNonRoot: { action: 'fix' } } },
    findings: [['process.runAsNonRoot', 'process.user.uid', 'deny', /^is 0/]],
  },
  {
    name: 'runAsNonRoot warn',
    rules: { process: { runAsNonRoot: { action: 'warn' } } },
    findings: [['process.runAsNonRoot', 'process.user.uid', 'warn', /^is 0/]],
  },
  {
    name: 'runAsNonRoot deny: no user at all means root',
    rules: { process: { runAsNonRoot: { action: 'deny' } } },
    spec: (s) => void delete s.process!.user,
    findings: [['process.runAsNonRoot', 'process.user.uid', 'deny', /^sets no uid, so the process runs as root$/]],
  },
  {
    name: 'runAsNonRoot deny: uid 1000 is fine',
    rules: { process: { runAsNonRoot: { action: 'deny' } } },
    spec: (s) => void (s.process!.user = { uid: 1000, gid: 1000 }),
    findings: [],
  },
  {
    name: 'oomScoreAdj below the minimum under fix: raised',
    rules: { process: { action: 'fix' } },
    spec: (s) => void (s.process!.oomScoreAdj = -999),
    expect: { 'process.oomScoreAdj': -997 },
    findings: [['process', 'process.oomScoreAdj', 'fix', /^is -999, below the profile's minimum -997; raised to -997$/]],
  },
  {
    name: 'oomScoreAdj one below the minimum under deny',
    spec: (s) => void (s.process!.oomScoreAdj = -998),
    findings: [['process', 'process.oomScoreAdj', 'deny', /^is -998, below the profile's minimum -997$/]],
  },
  {
    name: 'oomScoreAdj at the minimum is fine',
    rules: { process: { action: 'fix' } },
    spec: (s) => void (s.process!.oomScoreAdj = -997),
    findings: [],
  },
  {
    name: 'oomScoreAdj below the minimum under warn',
    rules: { process: { action: 'warn' } },
    spec: (s) => void (s.process!.oomScoreAdj = -1000),
    findings: [['process', 'process.oomScoreAdj', 'warn', /^is -1000/]],
  },
  {
    name: 'no oomScoreAdj: left to what the process inherits',
    rules: { process: { action: 'fix', oomScoreAdjMin: 500 } },
    findings: [],
  },
  {
    name: 'additional gid 0 is a warning whatever the action',
    rules: { process: { action: 'fix' } },
    spec: (s) => void (s.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 0] }),
    findings: [['process', 'process.user.additionalGids', 'warn', /^include gid 0 \(root group\)/]],
  },
  {
    name: 'several problems at once, each reported',
    rules: { process: { action: 'fix', runAsNonRoot: { action: 'deny' } } },
    spec: (s) => {
      s.process!.cwd = '/proc/self/cwd';
      s.process!.oomScoreAdj = -999;
      s.process!.user = { uid: 0, gid: 0, additionalGids: [0] };
    },
    expect: { 'process.oomScoreAdj': -997 },
    findings: [
      ['process', 'process.cwd', 'deny', CVE],
      ['process.runAsNonRoot', 'process.user.uid', 'deny', /^is 0/],
      ['process', 'process.user.additionalGids', 'warn', /gid 0/],
      ['process', 'process.oomScoreAdj', 'fix', /raised to -997/],
    ],
  },
]);
