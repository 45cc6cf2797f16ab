// End to end through containerd's CRI plugin, the way kubelet drives it: a pod sandbox with
// runtime_handler "bulwark" (registered by `bulwark install containerd`), a container in it that
// runs the probe, a control pod on the default runc handler, and refusals that must reach the
// CRI caller carrying Bulwark's message.
//
// Host network (no CNI here): containerd then leaves the network and UTS namespaces out of the
// sandbox's spec (and names the sandbox's, i.e. the host's, by path in each app container's),
// and the hostname must be empty. baseline refuses exactly that (a missing namespace entry
// is a host namespace), so this test's Bulwark config points at a profile directory with one
// more profile, `e2e` = baseline without network/uts in namespaces.required, and makes it the
// default, so the `bulwark` handler (bin/bulwark-runtime, the default profile) uses it. Every
// other guarantee is baseline's. (It also adds noexec to binds: see the profile below.) The
// shipped restricted and strict handlers must refuse such a pod.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { capsFromMask, isIdentityMap, nsInode, parseIdMap, parseProbeOutput } from '../lib/index.js';
import type { SelfReport } from '../lib/index.js';
import { criClient } from './cri/client.js';
import { availability, hardened, hostView, IMAGE, importImage, startContainerd } from './lib.js';

const E2E_PROFILE = `apiVersion: bulwark/v1
kind: Profile
name: e2e
extends: baseline
description: baseline for host-network test pods (no CNI on the test hosts).
optIn: [restricted, strict]
rules:
  namespaces:
    required: [pid, ipc, mount]
  mounts:
    # containerd 1.6.20 binds the sandbox's /dev/shm with [rbind, ro] only; its source (a tmpfs
    # containerd mounted nosuid,nodev,noexec) has those flags locked inside a user namespace, so
    # runc's read-only remount without noexec fails with EPERM. baseline adds nosuid,nodev but
    # not noexec (reported as a bug); this profile adds noexec to binds too.
    bindOptions: [nosuid, nodev, noexec]
`;

const NS = 'k8s.io';
const skip = availability();

/** The findings the audit log holds for one container id. */
function auditFindings(log: string, id: string): Array<{ rule: string; action: string; message: string }> {
  return readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; findings: Array<{ rule: string; action: string; message: string }> })
    .filter((e) => e.id === id).flatMap((e) => e.findings);
}

/** Content of a CRI log file (`<time> <stream> <P|F> <text>` lines), stdout only. */
function criLogStdout(text: string): string {
  let out = '';
  for (const line of text.split('\n')) {
    const m = /^\S+ (stdout|stderr) ([PF]) (.*)$/.exec(line);
    if (!m || m[1] !== 'stdout') continue;
    out += m[3] + (m[2] === 'F' ? '\n' : '');
  }
  return out;
}

t.test('CRI: RuntimeClass handler "bulwark"', { skip }, async (t) => {
  const c = await startContainerd({ profiles: { e2e: E2E_PROFILE }, bulwarkConfig: 'defaultProfile: e2e\n' });
  const cri = criClient(c.address);
  const sandboxes: string[] = [];
  t.teardown(async () => {
    for (const id of sandboxes) {
      await cri.call('runtime', 'StopPodSandbox', { pod_sandbox_id: id }).catch((e: Error) => t.comment(`StopPodSandbox ${id}: ${e.message}`));
      await cri.call('runtime', 'RemovePodSandbox', { pod_sandbox_id: id }).catch((e: Error) => t.comment(`RemovePodSandbox ${id}: ${e.message}`));
    }
    cri.close();
    const left = await c.stop();
    if (left.length) t.fail(`left behind: ${left.join(', ')}`);
  });
  t.match(c.configText, /runtimes\.bulwark\.options\]\n(.*\n)*BinaryName = ".*\/bin\/bulwark-runtime"/);
  await importImage(c, NS);
  const version = await cri.call('runtime', 'Version', { version: 'v1' });
  t.equal(version.runtime_name, 'containerd');
  // CRI learns about imported images asynchronously.
  for (let i = 0; i < 50; i++) {
    const st = await cri.call('image', 'ImageStatus', { image: { image: IMAGE } });
    if (st.image) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  let podSeq = 0;
  const podConfig = (name: string, privileged = false) => {
    const n = ++podSeq;
    const logDir = join(c.dir, 'logs', name);
    mkdirSync(logDir, { recursive: true });
    return {
      metadata: { name, uid: `uid-${process.pid}-${n}`, namespace: 'bulwark-e2e', attempt: 0 },
      hostname: '',
      log_directory: logDir,
      linux: {
        cgroup_parent: `/bulwark-e2e-pods/${name}-${n}`,
        security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' }, privileged },
      },
    };
  };
  const runPod = async (name: string, handler: string, privileged = false) => {
    const config = podConfig(name, privileged);
    const r = await cri.call('runtime', 'RunPodSandbox', { config, runtime_handler: handler }).catch((e: Error) => {
      throw new Error(`RunPodSandbox (${handler || 'default'}): ${e.message}`);
    });
    sandboxes.push(r.pod_sandbox_id);
    c.track(NS, r.pod_sandbox_id);
    return { id: r.pod_sandbox_id as string, config };
  };
  const runProbe = async (pod: { id: string; config: ReturnType<typeof podConfig> }, extra: object = {}) => {
    const config = {
      metadata: { name: 'probe', attempt: 0 },
      image: { image: IMAGE },
      command: ['/bin/sh', '-c', '/bin/probe self; exec sleep 100000'],
      log_path: 'probe.log',
      linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' }, ...extra } },
    };
    const created = await cri.call('runtime', 'CreateContainer', { pod_sandbox_id: pod.id, config, sandbox_config: pod.config }).catch((e: Error) => {
      throw new Error(`CreateContainer: ${e.message}`);
    });
    c.track(NS, created.container_id);
    await cri.call('runtime', 'StartContainer', { container_id: created.container_id }).catch((e: Error) => {
      throw new Error(`StartContainer: ${e.message}`);
    });
    const log = join(pod.config.log_directory, 'probe.log');
    for (let i = 0; i < 100; i++) {
      if (existsSync(log) && criLogStdout(readFileSync(log, 'utf8')).trim().endsWith('}')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const report = parseProbeOutput<SelfReport>(criLogStdout(readFileSync(log, 'utf8')));
    return { id: created.container_id as string, report };
  };

  await t.test('a pod on the bulwark handler: the sandbox is hardened', async (t) => {
    const started = Date.now();
    const pod = await runPod('hardened', 'bulwark');
    t.comment(`RunPodSandbox (bulwark): ${Date.now() - started} ms`);
    const pid = await c.taskPid(NS, pod.id);
    t.ok(pid, 'the sandbox runs');
    if (pid) hardened(t, hostView(pid));
    t.match(readFileSync(c.auditLog, 'utf8'), new RegExp(`"id":"${pod.id}".*"profile":"e2e"`), 'audited under the e2e profile');
  });

  // containerd 1.6 names the sandbox's namespaces by /proc/<pid>/ns path for every app
  // container, and in a host-network pod the network and UTS ones are the host's. From the pod's
  // user namespace runc cannot setns into those (EPERM); Bulwark leaves such entries out when
  // the profile allows host namespaces, so the container inherits them, as its sandbox did.
  await t.test('a host-network pod on the bulwark handler: its container shares the sandbox\'s namespaces and is hardened, exec too', async (t) => {
    const pod = await runPod('app', 'bulwark');
    const sandboxPid = await c.taskPid(NS, pod.id);
    t.ok(sandboxPid, 'the sandbox runs');
    const t1 = Date.now();
    const { id, report } = await runProbe(pod);
    t.comment(`CreateContainer+StartContainer (bulwark) until the probe reported: ${Date.now() - t1} ms`);
    hardened(t, report);
    const inode = (path: string) => statSync(path).ino;
    const sandboxNs = (kind: string) => inode(`/proc/${sandboxPid}/ns/${kind}`);
    t.equal(nsInode(report.ns.user), sandboxNs('user'), "the sandbox's user namespace (same inode)");
    t.not(nsInode(report.ns.user), inode('/proc/self/ns/user'), "not the host's user namespace");
    t.equal(nsInode(report.ns.net), inode('/proc/self/ns/net'), "the host's network namespace (host network)");
    t.equal(nsInode(report.ns.net), sandboxNs('net'), "the sandbox's network namespace");
    t.equal(nsInode(report.ns.uts), sandboxNs('uts'), "the sandbox's UTS namespace (the host's)");
    t.equal(report.hostname, hostname(), "the node's hostname");
    t.equal(nsInode(report.ns.ipc), sandboxNs('ipc'), "the pod's own IPC namespace, shared with the sandbox");
    t.not(nsInode(report.ns.ipc), inode('/proc/self/ns/ipc'), "not the host's IPC namespace");
    const findings = auditFindings(c.auditLog, id);
    t.match(findings.filter((f) => f.rule === 'userNamespace' && /by path/.test(f.message)).map((f) => f.message), [
      /^joins the host's UTS namespace by path \(\/proc\/\d+\/ns\/uts\).*left the entry out/,
      /^joins the host's network namespace by path \(\/proc\/\d+\/ns\/net\).*left the entry out/,
    ], 'the audit log says which entries were left out and why');
    // kubectl exec: ExecSync goes through the runtime's `exec`, which Bulwark hardens as well.
    const ex = await cri.call('runtime', 'ExecSync', { container_id: id, cmd: ['/bin/probe', 'self'], timeout: 60 });
    t.equal(ex.exit_code, 0, Buffer.from(ex.stderr).toString());
    const exReport = parseProbeOutput<SelfReport>(Buffer.from(ex.stdout).toString());
    t.equal(exReport.status.NoNewPrivs, '1', 'exec: no_new_privs');
    t.equal(exReport.status.Seccomp, '2', 'exec: seccomp');
    t.notOk(capsFromMask(exReport.status.CapEff ?? '0').includes('CAP_SYS_ADMIN'), 'exec: no CAP_SYS_ADMIN');
    t.same(exReport.uid_map, report.uid_map, 'exec: the container\'s user namespace');
    t.equal(nsInode(exReport.ns.user), sandboxNs('user'), "exec: the sandbox's user namespace");
  });

  // restricted and strict keep baseline's rule: host network, IPC and UTS are refused.
  await t.test('restricted and strict handlers refuse a host-network pod, with Bulwark\'s message', async (t) => {
    for (const profile of ['restricted', 'strict']) {
      const err = await runPod(`hostnet-${profile}`, `bulwark-${profile}`).then(() => null, (e: Error) => e);
      t.ok(err, `${profile}: the sandbox does not start`);
      t.match(err?.message ?? '', new RegExp(`bulwark: denied by profile ${profile}: linux\\.namespaces shares the host's network namespace`), `${profile}: the CRI error names the rule`);
    }
  });

  await t.test('control: a pod on the default runc handler is not hardened', async (t) => {
    const pod = await runPod('control', '');
    const pid = await c.taskPid(NS, pod.id);
    t.ok(pid, 'the sandbox runs');
    if (pid) t.ok(isIdentityMap(parseIdMap(hostView(pid).uid_map)), 'sandbox: identity uid map');
    const { report } = await runProbe(pod);
    t.ok(isIdentityMap(parseIdMap(report.uid_map)), 'container: identity uid map');
    t.not(report.status.Seccomp, '2', 'container: no seccomp filter');
  });

  await t.test('refusals reach the CRI caller with Bulwark\'s message', async (t) => {
    const pod = await runPod('refusals', 'bulwark');
    const err = await runProbe(pod, { capabilities: { add_capabilities: ['SYS_ADMIN'], drop_capabilities: [] } }).then(
      () => null,
      (e: Error) => e,
    );
    t.ok(err, 'a container adding CAP_SYS_ADMIN does not start');
    t.match(err?.message ?? '', /StartContainer: .*bulwark: denied by profile e2e: process\.capabilities.* adds CAP_SYS_ADMIN/);

    // A privileged container needs a privileged sandbox (containerd's rule); containerd 1.6 runs
    // that sandbox without extra privileges, so Bulwark lets it start and refuses the container.
    const privPod = await runPod('privileged', 'bulwark', true);
    const priv = await runProbe(privPod, { privileged: true }).then(() => null, (e: Error) => e);
    t.ok(priv, 'a privileged container does not start');
    t.match(priv?.message ?? '', /StartContainer: .*bulwark: denied by profile e2e: /);
  });
});
