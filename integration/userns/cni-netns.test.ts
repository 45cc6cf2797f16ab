// CNI pods on real runc and crun, through bin/bulwark-runtime: the CRI (containerd 1.6, and 1.7+
// for pods that are not hostUsers: false) creates the pod's network namespace before the sandbox,
// owned by the host's user namespace, and names it by path. Here a network namespace pinned the
// same way (`unshare --net=<file>`, a bind mount in a private temp dir) stands in for
// /var/run/netns/cni-*. Bulwark gives the sandbox a new user namespace; the sandbox joins the
// network namespace before creating it, on both runtimes. An app container joins the pod's user
// namespace and that network namespace by path: crun joins the network namespace first and the
// pod stays one unit; runc before 1.3 joins the user namespace first and its setns fails (EPERM),
// so Bulwark refuses such a sandbox on runc before 1.3 (it reads the runtime's version) with a
// message naming the cure (crun, or runc 1.3+).
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { findExecutable, makeBundle, nsInode, parseIdMap, parseProbeOutput, tempPrefix, unavailableReason } from '../lib/index.js';
import type { Bundle, SelfReport } from '../lib/index.js';
import type { NamespaceReference, Spec } from '../../src/spec/index.js';
import { BLOCK, POOL_START, UsernsEnv, criAnnotations, mountsUnder } from './env.js';

t.setTimeout(300_000);


/** runc joins the user namespace first before 1.3.0 (its two-stage join came with 1.3.0). */
async function runcJoinsUserFirst(): Promise<{ userFirst: boolean; version: string }> {
  const r = await execa(findExecutable('runc') ?? 'runc', ['--version'], { reject: false });
  const m = /runc version (\d+)\.(\d+)\S*/.exec(r.stdout);
  if (!m) throw new Error(`cannot read runc's version: ${r.stdout} ${r.stderr}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return { userFirst: major < 1 || (major === 1 && minor < 3), version: m[0] };
}

/** A network namespace owned by the host's user namespace, pinned at a file of our own. */
async function pinNetns(): Promise<{ file: string; release: () => Promise<void> }> {
  const dir = mkdtempSync(`${tempPrefix}cni-netns-`);
  const file = join(dir, 'cni-netns');
  writeFileSync(file, '');
  const release = async () => {
    // Only our own bind mount, by its exact path; never remove a directory with a mount below.
    if (mountsUnder(dir).includes(file)) await execa('umount', [file], { reject: false });
    if (mountsUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  };
  const r = await execa('unshare', [`--net=${file}`, 'true'], { reject: false });
  if (r.exitCode !== 0) {
    await release();
    throw new Error(`cannot pin a network namespace: ${r.stderr}`);
  }
  return { file, release };
}

/** The namespace entries containerd 1.6's CRI gives an app container: the sandbox's, by path. */
function appNamespaces(sandboxPid: number, network: string): NamespaceReference[] {
  return [
    { type: 'pid' }, { type: 'ipc', path: `/proc/${sandboxPid}/ns/ipc` }, { type: 'uts', path: `/proc/${sandboxPid}/ns/uts` },
    { type: 'mount' }, { type: 'network', path: network },
  ];
}

const CNI_WARNING = /^joins network namespace .*, which existed before the pod's user namespace and is not owned by it \(a CNI network namespace\).*on runc before 1\.3 they fail \(setns EPERM\)/;

for (const name of ['runc', 'crun'] as const) {
  const skip = await unavailableReason(name);
  t.test(name, { skip }, async (t) => {
    const { file: netns, release } = await pinNetns();
    const netnsInode = statSync(netns).ino;
    const env = new UsernsEnv(name);
    const made: Bundle[] = [];
    t.teardown(async () => {
      await env.dispose();
      for (const b of made) b.destroy();
      await release();
    });
    // The crun pod is routed by annotation (containerd passes pod_annotations to every container
    // of the pod); the runc pod leaves the runtime to the config's default.
    const routed = (a: Record<string, string>) => (name === 'crun' ? { ...a, 'io.bulwark.runtime': 'crun' } : a);

    const sb = await makeBundle({ args: ['/bin/sleep', '600'], label: `cni-sandbox-${name}` });
    made.push(sb);
    const sbSpec = sb.readSpec();
    sb.writeSpec({
      ...sbSpec,
      annotations: routed(criAnnotations('sandbox', sb.id)),
      linux: { ...sbSpec.linux, namespaces: sbSpec.linux!.namespaces!.map((e) => (e.type === 'network' ? { type: 'network', path: netns } : e)) },
    } as Spec);
    const pidFile = join(sb.dir, 'init.pid');
    const runc = name === 'runc' ? await runcJoinsUserFirst() : null;
    if (runc?.userFirst) {
      // Bulwark knows this runc cannot join the pod's network namespace from the pod's user
      // namespace, so it refuses the sandbox rather than let every app container fail later.
      const before = readFileSync(join(sb.dir, 'config.json'), 'utf8');
      const refused = await env.create(sb, sb.id, pidFile);
      t.equal(refused.exitCode, 1, `${runc.version}: the sandbox is refused`);
      t.match(refused.stderr, /^bulwark: denied by profile baseline: .*CNI network namespace.*setns EPERM.*crun/, 'with the reason and the cure');
      t.equal(readFileSync(join(sb.dir, 'config.json'), 'utf8'), before, 'its bundle untouched');
      return;
    }
    const created = await env.create(sb, sb.id, pidFile);
    t.equal(created.exitCode, 0, `the sandbox is created: ${created.stderr.slice(-400)}`);
    t.equal((await env.start(sb.id)).exitCode, 0, 'and started');
    const sandboxPid = Number(readFileSync(pidFile, 'utf8'));
    t.equal(statSync(`/proc/${sandboxPid}/ns/net`).ino, netnsInode, 'the sandbox is in the CNI network namespace (joined before its user namespace was made)');
    const sandboxUserns = statSync(`/proc/${sandboxPid}/ns/user`).ino;
    t.not(sandboxUserns, statSync('/proc/self/ns/user').ino, 'in a user namespace of its own');
    const warned = env.auditFindings(sb.id).filter((f) => f.rule === 'userNamespace' && CNI_WARNING.test(f.message));
    t.same(warned, [], 'a runtime that joins the network namespace first: nothing to warn about');

    const ways = [['the sandbox\'s /proc path (as containerd does)', `/proc/${sandboxPid}/ns/net`], ['the CNI path', netns]] as const;
    for (const [way, network] of ways) {
      t.test(`an app container joins the pod's network namespace by ${way}`, async (t) => {
        const app = await makeBundle({
          args: ['/bin/probe', 'self'], label: `cni-app-${name}`,
          tweak: (spec) => {
            spec.annotations = routed(criAnnotations('container', sb.id));
            spec.linux!.namespaces = appNamespaces(sandboxPid, network);
          },
        });
        made.push(app);
        const r = await env.run(app);
        t.equal(r.exitCode, 0, `the app container ran: ${r.stderr.slice(-600)}`);
        const report = parseProbeOutput<SelfReport>(r.stdout);
        t.equal(nsInode(report.ns.net), netnsInode, 'in the CNI network namespace');
        t.equal(nsInode(report.ns.user), sandboxUserns, "in the sandbox's user namespace: the pod is one unit");
        const block = env.podBlock(sb.id)!;
        t.same(parseIdMap(report.uid_map), [{ containerID: 0, hostID: POOL_START + block * BLOCK, size: BLOCK }], "the pod's block");
      });
    }
  });
}
