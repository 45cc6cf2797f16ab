// Idmapped volumes on real runc and crun, through bin/bulwark-runtime: host directories owned by
// host uid 0 and by host uid 1000, bound into a user-namespaced container, show as owned by 0
// and 1000 inside; the container's root can write into both (CAP_DAC_OVERRIDE over IDs that are
// mapped through the clone), a container running as uid 1000 only into its own; what they
// write is owned on the host by the host IDs they have inside (0, 1000), not by the pod's
// mapped block: that is what an idmapped mount does (the clone translates the writer's mapped
// ID back through the same mapping). The host directories are never chowned, and Bulwark's
// clone is detached once the container is gone. Where a volume cannot be idmapped (an overlay
// mount), `volumes: idmap` binds it as it is with a warning and `idmap-or-refuse` refuses.
import t from 'tap';
import type { Test } from 'tap';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeBundle, tempPrefix, unavailableReason } from '../lib/index.js';
import type { Mount, Spec } from '../../src/spec/index.js';
import { BLOCK, POOL_START, UsernsEnv, mountsUnder } from './env.js';

t.setTimeout(600_000);


const bindAt = (source: string, destination: string): Mount => ({ destination, type: 'bind', source, options: ['rbind', 'rw'] });

/** Capabilities a container's root has under containerd (runc spec's defaults lack them); baseline allows them. */
const ROOT_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

/** A writable rootfs (runc makes the mount points in it) with the given binds, process user and capabilities. */
function withVolumes(mounts: Mount[], uid = 0) {
  return (spec: Spec) => {
    spec.root = { ...spec.root!, readonly: false };
    spec.mounts = [...(spec.mounts ?? []), ...mounts];
    const caps = uid === 0 ? ROOT_CAPS : [];
    spec.process = { ...spec.process!, user: { uid, gid: uid }, capabilities: { bounding: caps, effective: caps, permitted: caps } };
  };
}

interface Owned {
  uid: number;
  gid: number;
  mode: number;
}
const owner = (path: string): Owned => {
  const st = statSync(path);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
};

/** Host directories for one runtime: vol0 (0:0, 0755) and vol1000 (1000:1000, 0755), one file each; and a hosts file. */
function hostVolumes(t: Test) {
  const base = mkdtempSync(`${tempPrefix}volumes-`);
  chmodSync(base, 0o711);
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const vol0 = join(base, 'vol0');
  const vol1000 = join(base, 'vol1000');
  mkdirSync(vol0, { mode: 0o755 });
  mkdirSync(vol1000, { mode: 0o755 });
  writeFileSync(join(vol0, 'root-file'), 'r\n', { mode: 0o644 });
  writeFileSync(join(vol1000, 'user-file'), 'u\n', { mode: 0o644 });
  chownSync(vol0, 0, 0);
  chownSync(join(vol0, 'root-file'), 0, 0);
  chownSync(vol1000, 1000, 1000);
  chownSync(join(vol1000, 'user-file'), 1000, 1000);
  const hosts = join(base, 'hosts');
  writeFileSync(hosts, '10.0.0.1 bulwark-volume-test\n', { mode: 0o644 });
  chownSync(hosts, 0, 0);
  const paths = [vol0, join(vol0, 'root-file'), vol1000, join(vol1000, 'user-file'), hosts];
  const before = paths.map(owner);
  return { base, vol0, vol1000, hosts, unchanged: () => paths.map(owner), before };
}

const ROOT_SCRIPT = [
  'stat -c "%u:%g %n" /vol0 /vol0/root-file /vol1000 /vol1000/user-file', 'echo ---',
  'touch /vol0/by-root && stat -c "%u:%g" /vol0/by-root', 'echo ---',
  'touch /vol1000/by-root && stat -c "%u:%g" /vol1000/by-root', 'echo ---',
  'touch /vol0/given && chown 1000:1000 /vol0/given && stat -c "%u:%g" /vol0/given', 'echo ---',
  'stat -c "%u:%g" /etc/hosts && cat /etc/hosts',
].join('; ');

const USER_SCRIPT = [
  'touch /vol1000/by-user && stat -c "%u:%g" /vol1000/by-user', 'echo ---',
  'touch /vol0/by-user 2>&1 || true',
].join('; ');

const sections = (stdout: string) => stdout.split('---\n').map((s) => s.trim());

function volumeClones(env: UsernsEnv, id: string): string[] {
  return mountsUnder(join(env.stateDir, 'rootfs')).filter((p) => p.includes(`/${id}/volumes/`));
}

for (const name of ['runc', 'crun'] as const) {
  const skip = await unavailableReason(name);
  t.test(name, { skip }, async (t) => {
    const env = new UsernsEnv(name);
    t.teardown(() => env.dispose());
    const host = hostVolumes(t);
    const binds = [bindAt(host.vol0, '/vol0'), bindAt(host.vol1000, '/vol1000'), { ...bindAt(host.hosts, '/etc/hosts'), options: ['rbind', 'ro'] }];

    t.test("root in the container: the volumes' host owners inside, writes stored under the same host IDs", async (t) => {
      const bundle = await makeBundle({ args: ['/bin/sh', '-c', ROOT_SCRIPT], label: `vol-root-${name}`, tweak: withVolumes(binds) });
      t.teardown(() => bundle.destroy());
      const r = await env.run(bundle);
      t.equal(r.exitCode, 0, `container ran: ${r.stderr.slice(-600)}`);
      const [stat = '', byRoot0 = '', byRoot1000 = '', given = '', hostsFile = ''] = sections(r.stdout);
      t.same(stat.split('\n'), ['0:0 /vol0', '0:0 /vol0/root-file', '1000:1000 /vol1000', '1000:1000 /vol1000/user-file'], 'host owners 0 and 1000 show as 0 and 1000');
      t.equal(byRoot0, '0:0', 'root wrote into the root-owned volume');
      t.equal(byRoot1000, '0:0', 'and into the 1000-owned one (CAP_DAC_OVERRIDE: 1000 is mapped through the clone)');
      t.equal(given, '1000:1000', 'and chowned a file to 1000');
      t.equal(hostsFile, '65534:65534\n10.0.0.1 bulwark-volume-test', 'a single-file bind is not idmapped: readable, its host root shows as nobody');

      const start = POOL_START + env.podBlock(bundle.id)! * BLOCK;
      t.ok(start > 0, `the pod's block starts at host ID ${start}`);
      for (const f of [join(host.vol0, 'by-root'), join(host.vol1000, 'by-root')]) {
        t.match(owner(f), { uid: 0, gid: 0 }, `${f}: on the host, owned by host uid 0 (not the mapped ${start})`);
      }
      t.match(owner(join(host.vol0, 'given')), { uid: 1000, gid: 1000 }, 'the chowned file: host uid 1000 (not the mapped ' + (start + 1000) + ')');
      t.same(host.unchanged(), host.before, 'the host directories and their files were never chowned or chmodded');

      const spec = bundle.readSpec();
      const sources = spec.mounts!.filter((m) => m.destination === '/vol0' || m.destination === '/vol1000').map((m) => m.source!);
      t.equal(sources.length, 2, 'both volume binds are still there');
      for (const s of sources) t.match(s, new RegExp(`^${env.stateDir}/rootfs/[^/]+/${bundle.id}/volumes/\\d+$`), `source rewritten to Bulwark's clone: ${s}`);
      t.equal(spec.mounts!.find((m) => m.destination === '/etc/hosts')!.source, host.hosts, 'the file bind keeps its source');
      t.match(env.auditFindings(bundle.id).filter((f) => f.rule === 'userNamespace.volumes'), [{ action: 'fix' }, { action: 'fix' }], 'both audited');

      // runc's `run` deleted the container; pass-through delete never starts Node, so the clone
      // goes at the next create or with `bulwark gc`.
      t.equal(volumeClones(env, bundle.id).length, 2, 'the clones are still mounted after the container is gone');
      const gc = await env.gc();
      t.equal(gc.exitCode, 0, gc.stderr);
      t.same(volumeClones(env, bundle.id), [], 'bulwark gc detached them');
      t.same(readdirSync(host.vol0).sort(), ['by-root', 'given', 'root-file'], 'the volume itself is intact');
    });

    t.test('uid 1000 in the container: writes only where host uid 1000 may, stored as host uid 1000', async (t) => {
      const bundle = await makeBundle({ args: ['/bin/sh', '-c', USER_SCRIPT], label: `vol-user-${name}`, tweak: withVolumes(binds, 1000) });
      t.teardown(() => bundle.destroy());
      const r = await env.run(bundle);
      t.equal(r.exitCode, 0, `container ran: ${r.stderr.slice(-600)}`);
      const [byUser = '', denied = ''] = sections(r.stdout);
      t.equal(byUser, '1000:1000', 'uid 1000 wrote into its own volume');
      t.match(denied, /Permission denied/, 'but not into the root-owned 0755 one');
      t.match(owner(join(host.vol1000, 'by-user')), { uid: 1000, gid: 1000 }, 'on the host, owned by host uid 1000');
      t.same(host.unchanged(), host.before, 'still nothing chowned');
    });
  });
}

const REFUSE_PROFILE = `apiVersion: bulwark/v1
kind: Profile
name: volumes-or-refuse
extends: baseline
description: baseline, but a volume that cannot be idmapped refuses the container.
rules:
  userNamespace:
    volumes: idmap-or-refuse
`;

t.test('a volume that cannot be idmapped (an overlay mount): the profile decides', { skip: await unavailableReason('runc') }, async (t) => {
  const base = mkdtempSync(`${tempPrefix}volumes-ov-`);
  chmodSync(base, 0o711);
  const ov = Object.fromEntries(['lower', 'upper', 'work', 'merged'].map((d) => [d, join(base, d)])) as Record<'lower' | 'upper' | 'work' | 'merged', string>;
  for (const d of Object.values(ov)) mkdirSync(d, { mode: 0o755 });
  writeFileSync(join(ov.lower, 'root-file'), 'r\n');
  await execa('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${ov.lower},upperdir=${ov.upper},workdir=${ov.work}`, ov.merged]);
  t.teardown(async () => {
    await execa('umount', [ov.merged], { reject: false });
    if (mountsUnder(base).length === 0) rmSync(base, { recursive: true, force: true });
  });
  const tweak = withVolumes([bindAt(ov.merged, '/ov')]);
  const script = 'stat -c "%u:%g %n" /ov/root-file';

  t.test('volumes: idmap (baseline): bound as it is, with a warning', async (t) => {
    const env = new UsernsEnv('runc');
    t.teardown(() => env.dispose());
    const bundle = await makeBundle({ args: ['/bin/sh', '-c', script], label: 'vol-ov-warn', tweak });
    t.teardown(() => bundle.destroy());
    const r = await env.run(bundle);
    t.equal(r.exitCode, 0, `container ran: ${r.stderr.slice(-600)}`);
    t.equal(r.stdout.trim(), '65534:65534 /ov/root-file', 'host root shows as nobody: not idmapped');
    t.equal(bundle.readSpec().mounts!.find((m) => m.destination === '/ov')!.source, ov.merged, 'the source is the original');
    t.match(env.auditFindings(bundle.id).filter((f) => f.rule === 'userNamespace.volumes'), [{ action: 'warn', message: /cannot be idmapped \(mount_setattr .*: EINVAL\): bound as it is/ }]);
  });

  t.test('volumes: idmap-or-refuse: the container is refused with a clear error, nothing left mounted', async (t) => {
    const env = new UsernsEnv('runc', { profiles: { 'volumes-or-refuse': REFUSE_PROFILE }, defaultProfile: 'volumes-or-refuse' });
    t.teardown(() => env.dispose());
    const bundle = await makeBundle({ args: ['/bin/sh', '-c', script], label: 'vol-ov-refuse', tweak });
    t.teardown(() => bundle.destroy());
    const r = await env.run(bundle);
    t.not(r.exitCode, 0, 'refused');
    t.match(r.stderr, /bulwark: denied by profile volumes-or-refuse: mounts\[\d+\]\.source bind of .*merged at \/ov cannot be idmapped \(mount_setattr .*EINVAL\), and the profile requires idmap-or-refuse/);
    t.same(env.rootfsMounts(), [], 'no Bulwark mount left behind');
  });
});
