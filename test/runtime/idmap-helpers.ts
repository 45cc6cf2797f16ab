// Shared by the idmap tests: a config in a user namespace, a recording fake of the addon that
// keeps its own mount table (rendered as mountinfo), a private temp "world" and a request.
import type { Test } from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RootfsNative, RootfsRequest } from '../../src/runtime/rootfs-idmap.js';
import type { Spec } from '../../src/spec/index.js';
import { runcSpec, testProfile } from '../fixtures/index.js';

export const B = 3_000_000_000;
export const MAPS = [{ containerID: 0, hostID: B, size: 65536 }];

export function usernsSpec(rootPath = 'rootfs', readonly = false): Spec {
  const spec = runcSpec();
  return {
    ...spec,
    root: { path: rootPath, readonly },
    linux: { ...spec.linux, namespaces: [...(spec.linux?.namespaces ?? []), { type: 'user' }], uidMappings: MAPS, gidMappings: MAPS },
  };
}

export interface Call {
  op: string;
  args: unknown[];
}

/** A fake addon that keeps its own mount table, rendered as mountinfo lines; `fail` makes a call throw that errno (for the paths `failsFor` picks). */
export function fakeNative(base: string[] = [], fail: Partial<Record<keyof RootfsNative, string>> = {}, failsFor: (path: string) => boolean = () => true) {
  const calls: Call[] = [];
  const table: string[] = [...base];
  const boom = (op: keyof RootfsNative, path: string) => {
    if (fail[op] && failsFor(path)) throw Object.assign(new Error(`${fail[op]}: ${op}`), { code: fail[op], syscall: op, path });
  };
  const native: RootfsNative = {
    createUserNamespace: (u, g) => (calls.push({ op: 'userns', args: [u, g] }), 42),
    idmapMount: (source, target, fd, recursive) => {
      calls.push({ op: 'idmap', args: [source, target, fd, recursive] });
      boom('idmapMount', source);
      table.push(`99 1 0:1 / ${target} rw - ext4 /dev/x rw`);
    },
    closeFd: (fd) => void calls.push({ op: 'close', args: [fd] }),
    mount: (source, target, fstype, flags, data) => {
      calls.push({ op: 'mount', args: [source, target, fstype, flags, data, process.cwd()] });
      boom('mount', target);
      table.push(`98 1 0:2 / ${target} rw - ${fstype} ${source} rw,${data}`);
    },
    unmount: (target, flags) => {
      calls.push({ op: 'unmount', args: [target, flags] });
      let i = -1;
      table.forEach((l, n) => { if (l.split(' ')[4] === target) i = n; });
      if (i < 0) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL', syscall: 'umount2' });
      table.splice(i, 1);
    },
  };
  return { native, calls, mountinfo: () => table.join('\n') + '\n', table };
}

export function world(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-rootfs-'));
  chmodSync(dir, 0o711);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'rootfs', 'tmp'), { recursive: true });
  chmodSync(bundle, 0o711);
  return { dir, bundle, stateDir: join(dir, 'state') };
}

export function request(w: ReturnType<typeof world>, spec: Spec, native: Partial<RootfsNative>, mountinfo: () => string, extra: Partial<RootfsRequest> = {}): RootfsRequest {
  return { stateDir: w.stateDir, root: '/run/x', id: 'c1', bundle: w.bundle, spec, profile: testProfile(), native, kernelIdmap: true, mountinfo, ...extra };
}

