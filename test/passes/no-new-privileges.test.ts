import { noNewPrivilegesPass } from '../../src/passes/no-new-privileges.js';
import { runTable } from './helpers-a.js';

runTable(noNewPrivilegesPass, [
  { name: 'already true: untouched', findings: [] },
  {
    name: 'not set: fixed to true',
    spec: (s) => {
      delete s.process!.noNewPrivileges;
    },
    expect: { 'process.noNewPrivileges': true },
    findings: [['noNewPrivileges', 'process.noNewPrivileges', 'fix', /^is not set; set to true/]],
  },
  {
    name: 'explicit false: fixed to true',
    spec: (s) => {
      s.process!.noNewPrivileges = false;
    },
    expect: { 'process.noNewPrivileges': true },
    findings: [['noNewPrivileges', 'process.noNewPrivileges', 'fix', /^is false; set to true/]],
  },
  {
    name: 'deny: reported, unchanged',
    rules: { noNewPrivileges: { action: 'deny' } },
    spec: (s) => {
      s.process!.noNewPrivileges = false;
    },
    findings: [['noNewPrivileges', 'process.noNewPrivileges', 'deny', /^is false: setuid binaries/]],
  },
  {
    name: 'warn: reported, unchanged',
    rules: { noNewPrivileges: { action: 'warn' } },
    spec: (s) => {
      delete s.process!.noNewPrivileges;
    },
    findings: [['noNewPrivileges', 'process.noNewPrivileges', 'warn', /^is not set/]],
  },
  {
    name: 'no process: nothing to run, nothing to set',
    spec: (s) => {
      delete s.process;
    },
    findings: [],
  },
]);
