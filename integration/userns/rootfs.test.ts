// User namespaces end to end on real runc and crun, through bin/bulwark-runtime with a private
// config: the container sees its pod's ID block in uid_map, the image's files owned by 0 (an
// idmapped view, nothing chowned), root can write where the image lets it, and on the host what
// it wrote belongs to the mapped ID. Both a plain-directory rootfs and an overlay rootfs (as
// containerd's snapshotter mounts one before create). Pods: two containers of one pod share the
// sandbox's user namespace; two pods get disjoint blocks.
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { makeBundle, nsInode, parseIdMap, parseProbeOutput, tempPrefix, unavailableReason } from '../lib/index.js';
import type { Bundle, SelfReport } from '../lib/index.js';
import type { Spec } from '../../src/spec/index.js';
import { BLOCK, POOL_START, UsernsEnv, criAnnotations, mountsUnder } from './env.js';

t.setTimeout(600_000);

// Everything the container reports, in sections.
const SCRIPT = [
  'cat /proc/self/uid_map', 'echo ---',
  'ls -ln /', 'echo ---',
  'stat -c "%u:%g %n" /bin/busybox /etc/passwd /tmp', 'echo ---',
  'touch /tmp/made-by-root && stat -c "%u:%g" /tmp/made-by-root', 'echo ---',
  'touch /etc/made-by-root && echo etc-writable',
].join('; ');

interface Seen {
  uidMap: string;
  ls: string[];
  stat: string[];
  made: string;
  etcWritable: boolean;
}

function parse(stdout: string): Seen {
  const [uidMap = '', ls = '', stat = '', made = '', etc = ''] = stdout.split('---\n');
  return {
    uidMap: uidMap.trim().replace(/\s+/g, ' '),
    ls: ls.trim().split('\n').filter((l) => !l.startsWith('total')),
    stat: stat.trim().split('\n'),
    made: made.trim(),
    etcWritable: etc.includes('etc-writable'),
  };
}

/** runc spec makes the rootfs read-only; these containers write. */
const writable = (spec: Spec) => void (spec.root = { ...spec.root!, readonly: false });


/** The image's view checked from inside, and the host's view of what the container wrote. */
async function checkRootfs(t: Test, env: UsernsEnv, bundle: Bundle, originalRootfs: string): Promise<void> {
  const r = await env.run(bundle);
  t.equal(r.exitCode, 0, `container ran: ${r.stderr.slice(-600)}`);
  const block = env.podBlock(bundle.id);
  t.type(block, 'number', 'the container is its own pod with a block');
  const start = POOL_START + block! * BLOCK;
  const seen = parse(r.stdout);
  t.equal(seen.uidMap, `0 ${start} ${BLOCK}`, "uid_map is the pod's block");
  t.ok(seen.ls.length >= 5, 'ls -ln / lists the image');
  // /proc and /sys are the kernel's (owned by the host's root, so nobody inside), not the image's.
  for (const line of seen.ls.filter((l) => !/ (proc|sys)$/.test(l))) t.match(line, /^\S+\s+\d+\s+0\s+0\s/, `owned by 0 inside: ${line}`);
  t.same(seen.stat, ['0:0 /bin/busybox', '0:0 /etc/passwd', '0:0 /tmp'], "image files keep the image's owners");
  t.equal(seen.made, '0:0', 'root could write in /tmp (1777 in the image); the file is root-owned inside');
  t.equal(seen.etcWritable, true, 'root owns /etc in the image, so it can write there too');

  const root = bundle.readSpec().root!.path;
  t.equal(dirname(dirname(root)), join(env.stateDir, 'rootfs', readdirSync(join(env.stateDir, 'rootfs'))[0]!), 'root.path is Bulwark\'s mount');
  const written = join(dirname(root), 'private', 'upper', 'tmp', 'made-by-root');
  t.match(statSync(written), { uid: start, gid: start }, 'on the host the new file belongs to the mapped root (block start)');
  t.notOk(existsSync(join(originalRootfs, 'tmp', 'made-by-root')), 'the original rootfs never written');
  t.match(env.auditFindings(bundle.id).filter((f) => f.rule === 'userNamespace.rootfs'), [{ action: 'fix', path: 'root.path' }]);
}

for (const name of ['runc', 'crun'] as const) {
  const skip = await unavailableReason(name);
  t.test(name, { skip }, async (t) => {
    const env = new UsernsEnv(name);
    t.teardown(() => env.dispose());

    t.test('plain directory rootfs', async (t) => {
      const bundle = await makeBundle({ args: ['/bin/sh', '-c', SCRIPT], label: `plain-${name}`, tweak: writable });
      t.teardown(() => bundle.destroy());
      await checkRootfs(t, env, bundle, bundle.rootfs);
    });

    t.test('read-only plain directory rootfs: the idmapped clone itself', async (t) => {
      const bundle = await makeBundle({ args: ['/bin/sh', '-c', SCRIPT], label: `ro-${name}` });
      t.teardown(() => bundle.destroy());
      const r = await env.run(bundle);
      const seen = parse(r.stdout);
      t.same(seen.stat, ['0:0 /bin/busybox', '0:0 /etc/passwd', '0:0 /tmp'], 'owned by 0 inside');
      t.match(r.stderr, /touch: \/tmp\/made-by-root: Read-only file system/, 'and read-only, as the config asks');
      t.match(env.auditFindings(bundle.id).filter((f) => f.rule === 'userNamespace.rootfs'), [{ action: 'fix', message: /idmapped read-only view/ }]);
    });

    t.test('overlay rootfs (mounted like a snapshotter does, before create)', async (t) => {
      const bundle = await makeBundle({ args: ['/bin/sh', '-c', SCRIPT], label: `overlay-${name}`, tweak: writable });
      const layers = mkdtempSync(`${tempPrefix}layers-`);
      const lower = join(layers, 'lower');
      renameSync(bundle.rootfs, lower);
      mkdirSync(bundle.rootfs, { mode: 0o755 });
      mkdirSync(join(layers, 'upper'));
      mkdirSync(join(layers, 'work'));
      await execa('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${join(layers, 'upper')},workdir=${join(layers, 'work')}`, bundle.rootfs]);
      t.teardown(async () => {
        await execa('umount', [bundle.rootfs], { reject: false });
        if (mountsUnder(bundle.rootfs).length === 0) {
          bundle.destroy();
          rmSync(layers, { recursive: true, force: true });
        }
      });
      await checkRootfs(t, env, bundle, lower);
      t.same(readdirSync(join(layers, 'upper')), [], "the snapshotter's upper layer never written");
      t.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(bundle.rootfs), true, 'the original overlay is still mounted, untouched');
    });

    t.test('pods: one user namespace per pod, disjoint blocks between pods', async (t) => {
      const sandboxes: Bundle[] = [];
      const pids: number[] = [];
      t.teardown(async () => {
        for (const b of sandboxes) await env.delete(b.id);
        for (const b of sandboxes) b.destroy();
      });
      for (let i = 0; i < 2; i++) {
        const sb = await makeBundle({ args: ['/bin/sleep', '600'], label: `sandbox-${name}` });
        sb.writeSpec({ ...sb.readSpec(), annotations: criAnnotations('sandbox', sb.id) });
        sandboxes.push(sb);
        const pidFile = join(sb.dir, 'init.pid');
        const c = await env.create(sb, sb.id, pidFile);
        t.equal(c.exitCode, 0, `sandbox ${i} created: ${c.stderr.slice(-400)}`);
        t.equal((await env.start(sb.id)).exitCode, 0, 'started');
        pids.push(Number(readFileSync(pidFile, 'utf8')));
      }
      const blocks = sandboxes.map((b) => env.podBlock(b.id)!);
      t.not(blocks[0], blocks[1], `two pods, two blocks (${blocks.join(', ')})`);
      const ranges = blocks.map((b) => [POOL_START + b * BLOCK, POOL_START + (b + 1) * BLOCK]);
      t.ok(ranges[0]![1]! <= ranges[1]![0]! || ranges[1]![1]! <= ranges[0]![0]!, 'disjoint host ranges');

      const sb = sandboxes[0]!;
      const app = await makeBundle({ args: ['/bin/probe', 'self'], label: `app-${name}`, tweak: (spec) => void (spec.annotations = criAnnotations('container', sb.id)) });
      t.teardown(() => app.destroy());
      const r = await env.run(app);
      t.equal(r.exitCode, 0, `app container ran: ${r.stderr.slice(-600)}`);
      const report = parseProbeOutput<SelfReport>(r.stdout);
      const sandboxUserns = statSync(`/proc/${pids[0]}/ns/user`).ino;
      t.equal(nsInode(report.ns.user), sandboxUserns, "the app container is in the sandbox's user namespace (same inode)");
      t.not(nsInode(report.ns.user), statSync(`/proc/${pids[1]}/ns/user`).ino, "not in the other pod's");
      t.not(nsInode(report.ns.user), statSync('/proc/self/ns/user').ino, "not in the host's");
      t.same(parseIdMap(report.uid_map), [{ containerID: 0, hostID: ranges[0]![0]!, size: BLOCK }], "the pod's block");
      t.equal(env.podBlock(app.id), undefined, 'the app container took no block of its own');
    });
  });
}
