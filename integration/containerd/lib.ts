// A private containerd (Debian's 1.6.20) for end-to-end tests: its own config.toml (a minimal
// base, then `bulwark install containerd --config <that file>`), root, state and sockets in one
// temp dir, started with setsid and stopped by its pid. Also: a busybox OCI image built here
// (static busybox + the harness's probe), imported offline with `ctr image import`.
//
// Clean-up touches only what this process created: its temp dir, its containerd (by pid), the
// shim sockets of the ids it used under /run/containerd/s (containerd 1.6 puts them there
// whatever the config), /run/containerd itself when it did not exist before, and the cgroups
// of its containers (absolute /bulwark-test/<id> paths, plus CRI's /bulwark-e2e-pods/...).
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import type { Test } from 'tap';
import { capsFromMask, isIdentityMap, parseIdMap } from '../lib/checks.js';
import type { SelfReport } from '../lib/report.js';
import { ensureProbe } from '../lib/probe.js';
import { repoRoot } from '../lib/paths.js';

export const bulwarkBin = join(repoRoot, 'bin', 'bulwark');
export const bulwarkRuntime = join(repoRoot, 'bin', 'bulwark-runtime');
export const IMAGE = 'bulwark.test/busybox:1';

export function availability(): string | false {
  for (const bin of ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/containerd-shim-runc-v2', '/bin/busybox', '/usr/sbin/runc']) {
    if (!existsSync(bin)) return `${bin} missing (apt-get install containerd busybox-static runc)`;
  }
  if (!existsSync(bulwarkRuntime)) return 'bin/bulwark-runtime missing: run make build';
  if (process.getuid?.() !== 0) return 'needs root';
  return false;
}

const APPLETS = ['sh', 'sleep', 'cat', 'ls', 'id', 'echo', 'true', 'false', 'mkdir', 'hostname'];

/** The image layer as a directory, then as an uncompressed tar. */
async function buildLayer(dir: string): Promise<string> {
  const root = join(dir, 'layer-root');
  for (const d of ['bin', 'etc', 'proc', 'dev', 'sys', 'tmp', 'run', 'root', 'mnt']) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
  copyFileSync(await ensureProbe(), join(root, 'bin', 'probe'));
  chmodSync(join(root, 'bin', 'probe'), 0o755);
  const etc: Record<string, string> = {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
    'etc/group': 'root:x:0:\nnobody:x:65534:\n',
    'etc/hosts': '127.0.0.1 localhost\n',
    'etc/hostname': 'probe\n',
    'etc/resolv.conf': '',
  };
  for (const [p, text] of Object.entries(etc)) writeFileSync(join(root, p), text, { mode: 0o644 });
  const tar = join(dir, 'layer.tar');
  await execa('tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '-C', root, '-cf', tar, '.']);
  return tar;
}

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** An OCI image layout tar holding IMAGE (Cmd: sleep), with both name annotations ctr reads. */
export async function buildImage(dir: string): Promise<string> {
  const layout = join(dir, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layer = readFileSync(await buildLayer(dir));
  const layerDigest = sha(layer);
  writeFileSync(join(blobs, layerDigest), layer);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/sleep', '100000'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
  }));
  writeFileSync(join(blobs, sha(config)), config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerDigest}`, size: layer.length }],
  }));
  writeFileSync(join(blobs, sha(manifest)), manifest);
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${sha(manifest)}`,
      size: manifest.length,
      annotations: { 'org.opencontainers.image.ref.name': '1', 'io.containerd.image.name': IMAGE },
    }],
  }));
  const tar = join(dir, 'image.tar');
  await execa('tar', ['-C', layout, '-cf', tar, '.']);
  return tar;
}

export interface ContainerdOptions {
  /** Extra `bulwark install containerd` flags (e.g. --mode shim). */
  installArgs?: string[];
  /** Extra lines for Bulwark's own config (YAML). */
  bulwarkConfig?: string;
  /** Write profiles here first (name -> YAML); profileDir then is a copy of profiles/ plus these. */
  profiles?: Record<string, string>;
  /** Extra environment for containerd (and so for its shims and the runtimes they call). */
  env?: Record<string, string>;
}

export interface Containerd {
  dir: string;
  address: string;
  ttrpcAddress: string;
  configText: string;
  /** Bulwark's config file, the BULWARK_CONFIG of containerd and everything it starts. */
  bulwarkConfig: string;
  auditLog: string;
  pid: number;
  ctr(args: string[], opts?: { timeout?: number }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Remember an id whose shim socket and cgroups must go at stop(). */
  track(ns: string, id: string): void;
  log(): string;
  /** The host pid of a running task (`ctr task ls`). */
  taskPid(ns: string, id: string): Promise<number | null>;
  stop(): Promise<string[]>;
}

const cgroupRoot = '/sys/fs/cgroup';

/** Remove empty cgroup dirs `rel` (absolute cgroup path) in every v1 hierarchy and the v2 mount, deepest first; returns leftovers. */
export function removeCgroupTree(rel: string): string[] {
  const left: string[] = [];
  let controllers: string[] = [];
  try {
    controllers = readdirSync(cgroupRoot);
  } catch {
    return left;
  }
  for (const c of controllers) {
    const base = join(cgroupRoot, c);
    const top = join(base, rel);
    if (!existsSync(top)) continue;
    const walk = (d: string) => {
      let entries: string[] = [];
      try {
        entries = readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
      } catch {
        return;
      }
      for (const e of entries) walk(join(d, e));
      try {
        rmdirSync(d);
      } catch {
        left.push(d);
      }
    };
    walk(top);
  }
  return left;
}

const runContainerdExisted = existsSync('/run/containerd');

export async function startContainerd(options: ContainerdOptions = {}): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ctd-'));
  chmodSync(dir, 0o711);
  const address = join(dir, 'containerd.sock');
  const ttrpcAddress = `${address}.ttrpc`;
  const configFile = join(dir, 'config.toml');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(configFile, [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
    '',
    '[grpc]',
    `  address = "${address}"`,
    '[ttrpc]',
    `  address = "${ttrpcAddress}"`,
    '[metrics]',
    '  address = ""',
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    '  restrict_oom_score_adj = true',
    `  sandbox_image = "${IMAGE}"`,
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    '[plugins."io.containerd.grpc.v1.cri".cni]',
    `  bin_dir = "${dir}/cni/bin"`,
    `  conf_dir = "${dir}/cni/conf"`,
    '[plugins."io.containerd.grpc.v1.cri".containerd]',
    '  default_runtime_name = "runc"',
    '  snapshotter = "overlayfs"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '  runtime_type = "io.containerd.runc.v2"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '  SystemdCgroup = false',
    '',
  ].join('\n'));

  let profileDir = join(repoRoot, 'profiles');
  if (options.profiles) {
    profileDir = join(dir, 'profiles');
    cpSync(join(repoRoot, 'profiles'), profileDir, { recursive: true });
    for (const [name, text] of Object.entries(options.profiles)) writeFileSync(join(profileDir, `${name}.yaml`), text);
  }
  const auditLog = join(dir, 'audit.jsonl');
  const bulwarkConfig = join(dir, 'bulwark.yaml');
  writeFileSync(bulwarkConfig, `stateDir: ${dir}/bulwark-state\nauditLog: ${auditLog}\nprofileDir: ${profileDir}\n${options.bulwarkConfig ?? ''}`);
  const env = { ...process.env, ...options.env, BULWARK_CONFIG: bulwarkConfig, PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
  delete (env as Record<string, unknown>).BULWARK_STATE_DIR;

  const install = await execa(bulwarkBin, ['install', 'containerd', '--config', configFile, '--shim-dir', bin, ...(options.installArgs ?? [])], { env, reject: false });
  if (install.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`bulwark install containerd failed: ${install.stderr}\n${install.stdout}`);
  }
  const configText = readFileSync(configFile, 'utf8');

  const logFile = join(dir, 'containerd.log');
  const child: ResultPromise = execa('setsid', ['/usr/bin/containerd', '--config', configFile, '--log-level', 'debug'], {
    env,
    cwd: dir,
    stdin: 'ignore',
    stdout: { file: logFile },
    stderr: { file: logFile },
    reject: false,
    cleanup: false,
  });
  child.catch(() => undefined);
  const pid = child.pid!;
  const tracked: Array<[string, string]> = [];
  const ctr = async (args: string[], opts: { timeout?: number } = {}) => {
    const r = await execa('/usr/bin/ctr', ['--address', address, ...args], { env, reject: false, timeout: opts.timeout ?? 120_000, stdin: 'ignore' });
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  const stop = async (): Promise<string[]> => {
    const problems: string[] = [];
    // Whatever still runs in our namespaces goes first, through containerd (so the runtime's
    // delete runs and Bulwark releases its mounts and ID blocks).
    for (const ns of new Set(tracked.map(([n]) => n))) {
      const tasks = await ctr(['-n', ns, 'task', 'ls', '-q'], { timeout: 20_000 });
      for (const id of tasks.stdout.split('\n').filter(Boolean)) {
        await ctr(['-n', ns, 'task', 'kill', '-a', '-s', 'SIGKILL', id], { timeout: 20_000 });
        await ctr(['-n', ns, 'task', 'rm', '-f', id], { timeout: 30_000 });
        problems.push(`task ${ns}/${id} was still running at stop()`);
      }
    }
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')) await new Promise((r) => setTimeout(r, 100));
    if (existsSync(`/proc/${pid}`)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await child;
    // Shims of our containers (their sockets are named by a hash of address, namespace and id).
    for (const [ns, id] of tracked) {
      for (const a of [address, ttrpcAddress]) {
        const sock = join('/run/containerd/s', sha(join(a, ns, id)));
        if (existsSync(sock)) rmSync(sock, { force: true });
      }
      problems.push(...removeCgroupTree(`/bulwark-test/${id}`));
    }
    for (const ns of new Set(tracked.map(([ns]) => ns))) problems.push(...removeCgroupTree(`/${ns}`));
    problems.push(...removeCgroupTree('/bulwark-e2e-pods'));
    // CRI's and ctr's runtime dirs under /run/containerd: ours only when it did not exist before.
    if (!runContainerdExisted && existsSync('/run/containerd')) {
      const prune = (d: string) => {
        try {
          for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) prune(join(d, e.name));
          rmdirSync(d);
        } catch {
          // not empty or absent: reported below
        }
      };
      for (const sub of readdirSync('/run/containerd', { withFileTypes: true })) if (sub.isDirectory()) prune(join('/run/containerd', sub.name));
      try {
        rmdirSync('/run/containerd');
      } catch (e) {
        problems.push(`/run/containerd not empty: ${readdirSync('/run/containerd').join(', ')} (${(e as Error).message})`);
      }
    }
    // Bulwark's own collector releases what deleted containers left (idmapped rootfs mounts, ID blocks).
    const gc = await execa(bulwarkBin, ['gc'], { env, reject: false });
    if (gc.exitCode !== 0) problems.push(`bulwark gc: ${gc.stdout} ${gc.stderr}`);
    // Mounts left under our dir (a runtime that failed to clean up) would make rmSync fail.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && m.startsWith(`${dir}/`));
    for (const m of mounts.sort((a, b) => b.length - a.length)) {
      problems.push(`mount left behind: ${m}`);
      await execa('umount', ['-l', m], { reject: false });
    }
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      problems.push(`${dir}: ${(e as Error).message}`);
    }
    return problems;
  };

  // Wait for the socket (containerd is up when ctr version answers).
  const started = Date.now();
  for (;;) {
    if (existsSync(address)) {
      const v = await ctr(['version'], { timeout: 5000 });
      if (v.exitCode === 0) break;
    }
    if (Date.now() - started > 30_000 || !existsSync(`/proc/${pid}`)) {
      const text = log();
      await stop();
      throw new Error(`containerd did not start:\n${text.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const taskPid = async (ns: string, id: string): Promise<number | null> => {
    const r = await ctr(['-n', ns, 'task', 'ls']);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${id} `));
    const pid = line ? Number(line.trim().split(/\s+/)[1]) : NaN;
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  };
  return { dir, address, ttrpcAddress, configText, bulwarkConfig, auditLog, pid, ctr, taskPid, track: (ns, id) => void tracked.push([ns, id]), log, stop };
}

/** Import IMAGE into namespace `ns`. */
export async function importImage(c: Containerd, ns: string): Promise<void> {
  const tar = await buildImage(c.dir);
  const r = await c.ctr(['-n', ns, 'image', 'import', tar]);
  if (r.exitCode !== 0) throw new Error(`ctr image import: ${r.stderr}`);
}

/** What the probe must see in a container Bulwark hardened with baseline (or e2e). */
export function hardened(t: Test, report: SelfReport): void {
  const uidMap = parseIdMap(report.uid_map);
  t.notOk(isIdentityMap(uidMap), `uid map is not the identity: ${JSON.stringify(report.uid_map)}`);
  t.ok(uidMap.every((m) => m.hostID !== 0), 'host root is not mapped');
  const eff = capsFromMask(report.status.CapEff ?? '0');
  t.notOk(eff.includes('CAP_SYS_ADMIN'), 'no CAP_SYS_ADMIN');
  t.notOk(eff.includes('CAP_NET_RAW'), 'no CAP_NET_RAW (baseline drops it)');
  t.equal(report.status.NoNewPrivs, '1', 'no_new_privs');
  t.equal(report.status.Seccomp, '2', 'seccomp filter mode');
}


/** What the host sees of a process: enough of the probe's report for `hardened()`. */
export function hostView(pid: number): SelfReport {
  const status: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) status[m[1]!] = m[2]!.trim();
  }
  const uidMap = readFileSync(`/proc/${pid}/uid_map`, 'utf8').split('\n').filter((l) => l.trim());
  return { uid_map: uidMap, status } as unknown as SelfReport;
}
