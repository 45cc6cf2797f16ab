import { hooksPass } from '../../src/passes/hooks.js';
import type { Hook, Spec } from '../../src/spec/index.js';
import { runTable, type Row } from './helpers-b.js';

const NVIDIA = '/usr/bin/nvidia-container-runtime-hook';
const FIX = { hooks: { action: 'fix' as const } };
const nvidia: Hook = { path: NVIDIA, args: ['nvidia-container-runtime-hook', 'prestart'] };
const sh: Hook = { path: '/bin/sh', args: ['sh', '-c', 'cat /etc/shadow > /tmp/x'] };

const hooks = (h: NonNullable<Spec['hooks']>) => (s: Spec) => void (s.hooks = h);

const rows: Row[] = [
  { name: 'no hooks', findings: [] },
  { name: 'an allowed hook', spec: hooks({ prestart: [nvidia], createRuntime: [nvidia] }), findings: [] },
  {
    name: 'deny: a shell as a prestart hook',
    spec: hooks({ prestart: [nvidia, sh] }),
    findings: [['hooks', 'hooks.prestart[1]', 'deny', /^runs \/bin\/sh, a shell, as root on the host; it is not an allowed hook$/]],
  },
  {
    name: 'fix: the shell is removed, the allowed hook kept',
    spec: hooks({ prestart: [sh, nvidia], poststop: [sh] }),
    rules: FIX,
    expect: { hooks: { prestart: [nvidia], poststop: [] } },
    findings: [
      ['hooks', 'hooks.prestart[0]', 'fix', /^runs \/bin\/sh, a shell, as root on the host; it is not an allowed hook; removed$/],
      ['hooks', 'hooks.poststop[0]', 'fix', /^runs \/bin\/sh, a shell/],
    ],
  },
  {
    name: 'warn: reported, kept',
    spec: hooks({ poststart: [sh] }),
    rules: { hooks: { action: 'warn' } },
    findings: [['hooks', 'hooks.poststart[0]', 'warn', /^runs \/bin\/sh, a shell/]],
  },
  {
    name: 'a symlink to bash is judged by its realpath',
    spec: hooks({ createRuntime: [{ path: '/usr/local/bin/hook' }] }),
    host: { realPaths: { '/usr/local/bin/hook': '/bin/bash' } },
    findings: [['hooks', 'hooks.createRuntime[0]', 'deny', /^runs \/usr\/local\/bin\/hook \(resolves to \/bin\/bash\), a shell, as root on the host/]],
  },
  { name: 'a symlink to an allowed hook is allowed', spec: hooks({ prestart: [{ path: '/opt/hook' }] }), host: { realPaths: { '/opt/hook': NVIDIA } }, findings: [] },
  {
    name: 'an allowed path that resolves elsewhere is not',
    spec: hooks({ prestart: [nvidia] }),
    host: { realPaths: { [NVIDIA]: '/tmp/evil' } },
    findings: [['hooks', 'hooks.prestart[0]', 'deny', /^runs \/usr\/bin\/nvidia-container-runtime-hook \(resolves to \/tmp\/evil\) as root on the host; it is not an allowed hook$/]],
  },
  { name: 'an allowed path written with // and ..', spec: hooks({ prestart: [{ path: '/usr//lib/../bin/nvidia-container-runtime-hook' }] }), findings: [] },
  {
    name: 'a relative path',
    spec: hooks({ prestart: [{ path: 'nvidia-container-runtime-hook' }] }),
    findings: [['hooks', 'hooks.prestart[0]', 'deny', /^runs "nvidia-container-runtime-hook", which is not an absolute path, as root on the host$/]],
  },
  {
    name: 'interpreters, env and busybox are named',
    spec: hooks({ prestart: [{ path: '/usr/bin/env' }, { path: '/usr/bin/python3.11' }, { path: '/bin/busybox' }, { path: '/usr/bin/perl' }, { path: '/usr/bin/node' }, { path: '/bin/dash' }, { path: '/usr/bin/zsh' }, { path: '/usr/libexec/oci/hook' }] }),
    findings: [
      ['hooks', 'hooks.prestart[0]', 'deny', /^runs \/usr\/bin\/env, env, which runs whatever its arguments name, as root/],
      ['hooks', 'hooks.prestart[1]', 'deny', /^runs \/usr\/bin\/python3.11, an interpreter, as root/],
      ['hooks', 'hooks.prestart[2]', 'deny', /^runs \/bin\/busybox, busybox, a shell among other things, as root/],
      ['hooks', 'hooks.prestart[3]', 'deny', /^runs \/usr\/bin\/perl, an interpreter,/],
      ['hooks', 'hooks.prestart[4]', 'deny', /^runs \/usr\/bin\/node, an interpreter,/],
      ['hooks', 'hooks.prestart[5]', 'deny', /^runs \/bin\/dash, a shell,/],
      ['hooks', 'hooks.prestart[6]', 'deny', /^runs \/usr\/bin\/zsh, a shell,/],
      ['hooks', 'hooks.prestart[7]', 'deny', /^runs \/usr\/libexec\/oci\/hook as root on the host; it is not an allowed hook$/],
    ],
  },
  {
    name: 'each list says where its hooks run',
    spec: hooks({ createContainer: [sh], startContainer: [sh] }),
    findings: [
      ['hooks', 'hooks.createContainer[0]', 'deny', /^runs \/bin\/sh, a shell, as root in the container's namespaces before pivot_root; it is not an allowed hook$/],
      ['hooks', 'hooks.startContainer[0]', 'deny', /^runs \/bin\/sh, a shell, in the container just before its process; it is not an allowed hook$/],
    ],
  },
  {
    name: 'fix: every list is checked, untouched lists are carried through',
    spec: hooks({ prestart: [nvidia], createRuntime: [sh, sh], poststart: [nvidia] }),
    rules: FIX,
    expect: { 'hooks.createRuntime': [] },
    findings: [
      ['hooks', 'hooks.createRuntime[0]', 'fix', /removed$/],
      ['hooks', 'hooks.createRuntime[1]', 'fix', /removed$/],
    ],
  },
];

runTable(hooksPass, { rows });
