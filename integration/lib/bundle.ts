// Test bundles: a temporary directory with a tiny rootfs (static busybox, the probe, the files a
// runtime mounts over) and a config.json from `runc spec`, adjusted so that every container is
// safe to run on a shared host: no terminal, and an absolute cgroupsPath under /bulwark-test/
// that destroy() removes again.
import { randomBytes } from 'node:crypto';
import {
  chmodSync, copyFileSync, constants as fsConstants, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync,
  readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parseJson, stringifyJson } from '../../src/json/lossless.js';
import type { Spec } from '../../src/spec/index.js';
import { removeTestCgroups } from './cgroups.js';
import { cacheDir, cgroupParent, repoRoot, tempPrefix } from './paths.js';
import { ensureProbe } from './probe.js';

export interface BundleOptions {
  /** process.args of the container, e.g. ['/bin/probe', 'self']. */
  args: string[];
  /** A short word that goes into the container id and the directory name. */
  label?: string;
  /** Edits the config after the harness defaults are in place (user namespaces, limits, ...). */
  tweak?: (spec: Spec) => void;
  /** Owner of the whole rootfs, e.g. the host ID container root maps to. Default: the caller. */
  rootfsOwner?: { uid: number; gid: number };
  /** Extra files for the rootfs: path inside the rootfs -> content. */
  files?: Record<string, string>;
}

export interface Bundle {
  readonly dir: string;
  readonly rootfs: string;
  /** Unique per bundle: use it as the container id; it is also the cgroup leaf name. */
  readonly id: string;
  readonly cgroupsPath: string;
  readSpec(): Spec;
  writeSpec(spec: Spec): void;
  /** Remove the bundle and the container's cgroup directories; throws if a cgroup stays busy. */
  destroy(): void;
}

/** Applets linked into /bin; the probe does the real work, these are for ad-hoc shell checks. */
const APPLETS = [
  'sh', 'ls', 'cat', 'echo', 'id', 'sleep', 'true', 'false', 'grep', 'ps', 'hostname', 'wc', 'head', 'tail',
  'env', 'touch', 'mkdir', 'rm', 'stat', 'chmod', 'mount', 'umount', 'test', '[', 'whoami', 'readlink', 'sed',
  'printf', 'kill', 'dd',
];

const ETC_FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  'etc/group': 'root:x:0:\ntty:x:5:\nuser:x:1000:\nnogroup:x:65534:\n',
  // Runtimes and CRI bind these over; they must exist as mount targets (HOST-NOTES: user namespaces).
  'etc/hosts': '127.0.0.1\tlocalhost\n::1\tlocalhost\n',
  'etc/hostname': 'bulwark-test\n',
  'etc/resolv.conf': '',
};

/** Bundle directory -> container id, for the exit handler. */
const live = new Map<string, string>();
let counter = 0;

function busyboxPath(): string {
  const path = process.env.BULWARK_TEST_BUSYBOX ?? '/bin/busybox';
  if (!existsSync(path)) throw new Error(`no busybox at ${path}: install busybox-static (or set BULWARK_TEST_BUSYBOX)`);
  return path;
}

function uniqueId(label: string): string {
  const word = label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'c';
  return `bw-${word}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;
}

let baseSpecText: Promise<string> | undefined;

/**
 * `runc spec` output, generated once per runc binary and cached on disk. On a host without runc
 * the checked-in copy of runc 1.1.5's output is used instead.
 */
function runcSpecText(): Promise<string> {
  baseSpecText ??= (async () => {
    const runc = process.env.BULWARK_TEST_RUNC ?? '/usr/sbin/runc';
    if (!existsSync(runc)) return readFileSync(join(repoRoot, 'test', 'fixtures', 'runc-spec.json'), 'utf8');
    const { size, mtimeMs } = statSync(runc);
    const cached = join(cacheDir(), `runc-spec-${size}-${Math.trunc(mtimeMs)}.json`);
    if (existsSync(cached)) return readFileSync(cached, 'utf8');
    const scratch = mkdtempSync(`${tempPrefix}spec-`);
    try {
      await execa(runc, ['spec'], { cwd: scratch, stdin: 'ignore' });
      const text = readFileSync(join(scratch, 'config.json'), 'utf8');
      writeFileSync(`${cached}.${process.pid}.tmp`, text);
      renameSync(`${cached}.${process.pid}.tmp`, cached);
      return text;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  })();
  return baseSpecText;
}

/** A fresh copy of `runc spec`'s default config, untouched. */
export async function runcDefaultSpec(): Promise<Spec> {
  return parseJson(await runcSpecText()) as unknown as Spec;
}

function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  if (!lstatSync(path).isDirectory()) return; // never follow a symlink out of the rootfs
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

async function buildRootfs(rootfs: string, options: BundleOptions): Promise<void> {
  for (const dir of ['bin', 'etc', 'proc', 'dev', 'sys', 'tmp', 'mnt', 'root', 'run']) mkdirSync(join(rootfs, dir), { recursive: true, mode: 0o755 });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  // Copies, never hard links: a chown of the rootfs must not reach the host's files.
  copyFileSync(busyboxPath(), join(rootfs, 'bin', 'busybox'), fsConstants.COPYFILE_FICLONE);
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  const probe = await ensureProbe();
  copyFileSync(probe, join(rootfs, 'bin', 'probe'));
  chmodSync(join(rootfs, 'bin', 'probe'), 0o755);
  copyFileSync(probe, join(rootfs, 'bin', 'probe-suid'));
  for (const [path, content] of Object.entries({ ...ETC_FILES, ...options.files })) {
    const target = join(rootfs, path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, content, { mode: 0o644 });
  }
  if (options.rootfsOwner) chownTree(rootfs, options.rootfsOwner.uid, options.rootfsOwner.gid);
  // After any chown, which clears set-user-ID bits: owned by container root, mode 4755.
  chmodSync(join(rootfs, 'bin', 'probe-suid'), 0o4755);
}

export async function makeBundle(options: BundleOptions): Promise<Bundle> {
  const id = uniqueId(options.label ?? 'c');
  const dir = mkdtempSync(`${tempPrefix}${id}-`);
  live.set(dir, id);
  try {
    // 0711: a container root mapped to an unprivileged host ID must still reach rootfs/.
    chmodSync(dir, 0o711);
    const rootfs = join(dir, 'rootfs');
    mkdirSync(rootfs, { mode: 0o755 });
    await buildRootfs(rootfs, options);

    const cgroupsPath = `/${cgroupParent}/${id}`;
    const spec = await runcDefaultSpec();
    spec.process = { ...spec.process!, args: options.args, terminal: false };
    spec.linux = { ...spec.linux, cgroupsPath };
    options.tweak?.(spec);
    // A relative or empty path would nest the container in the test runner's own cgroup
    // (HOST-NOTES: cgroups), and destroy() could not find it: never let a tweak change it.
    if (spec.linux?.cgroupsPath !== cgroupsPath) {
      throw new Error(`a tweak changed linux.cgroupsPath to ${JSON.stringify(spec.linux?.cgroupsPath)}; test containers keep ${cgroupsPath}`);
    }
    const configPath = join(dir, 'config.json');
    const bundle: Bundle = {
      dir,
      rootfs,
      id,
      cgroupsPath,
      readSpec: () => parseJson(readFileSync(configPath, 'utf8')) as unknown as Spec,
      writeSpec: (next) => writeFileSync(configPath, stringifyJson(next) + '\n', { mode: 0o644 }),
      destroy: () => destroyBundle(dir, id),
    };
    bundle.writeSpec(spec);
    return bundle;
  } catch (error) {
    destroyBundle(dir, id);
    throw error;
  }
}

/**
 * A runtime under test (Bulwark) may rewrite config.json; if its cgroupsPath is still a
 * /bulwark-test/<name> path but another name, that container's cgroups are ours to remove too.
 */
function rewrittenCgroupName(dir: string, id: string): string | undefined {
  try {
    const spec = parseJson(readFileSync(join(dir, 'config.json'), 'utf8')) as unknown as Spec;
    const match = new RegExp(`^/${cgroupParent}/([A-Za-z0-9_.-]+)$`).exec(spec.linux?.cgroupsPath ?? '');
    return match && match[1] !== id ? match[1] : undefined;
  } catch {
    return undefined;
  }
}

function destroyBundle(dir: string, id: string): void {
  live.delete(dir);
  const rewritten = rewrittenCgroupName(dir, id);
  rmSync(dir, { recursive: true, force: true });
  const leftovers = [...removeTestCgroups(id), ...(rewritten ? removeTestCgroups(rewritten) : [])];
  if (leftovers.length > 0) throw new Error(`cgroups of ${id} could not be removed: ${leftovers.join(', ')}`);
}

// A test that ends without destroy() must not leave bundles behind; cgroups of a container that
// still runs stay busy (a runtime's cleanup() must come first) and are left alone.
process.once('exit', () => {
  for (const [dir, id] of live) {
    rmSync(dir, { recursive: true, force: true });
    removeTestCgroups(id);
  }
});
