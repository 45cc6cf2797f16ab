// Bundle I/O: read config.json without following symlinks, and replace it atomically (temp
// file + rename) so a crash of Bulwark at any instant leaves either the original or the complete
// hardened config. The first original is kept as config.json.orig.
//
// No fsync: rename is atomic for every process on the machine, which is the crash that matters
// here. A power loss takes the container down with it, and its bundle (on a node: containerd's
// tmpfs under /run) is rebuilt by the engine that recreates it. An fsync pair cost 15-30 ms per
// create on this disk, several times Bulwark's whole budget.
import {
  closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, readdirSync, readSync, realpathSync,
  renameSync, unlinkSync, writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import { parseJson } from '../json/lossless.js';
import { lstatOrNull } from '../host/read.js';
import { assertSpec } from '../spec/index.js';
import type { Spec } from '../spec/index.js';
import { failpoint } from '../runtime/failpoint.js';
import type { FailpointName } from '../runtime/failpoint.js';

export class BundleError extends Error {
  override name = 'BundleError';
}

/** A config.json larger than this is refused before parsing (runc's own configs are a few KiB). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface LoadedConfig {
  /** The bundle directory, symlinks in its parents resolved. */
  bundle: string;
  path: string;
  text: string;
  spec: Spec;
  mode: number;
}

/** The bundle directory itself must be a real directory, not a symlink to one. */
export function resolveBundleDir(dir: string): string {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    throw new BundleError(`bundle ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (st.isSymbolicLink()) throw new BundleError(`bundle ${dir}: is a symlink; refusing to follow it`);
  if (!st.isDirectory()) throw new BundleError(`bundle ${dir}: not a directory`);
  return realpathSync(dir);
}

function readRegularFile(path: string, limit: number): { text: string; mode: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new BundleError(`${path}: is a symlink; refusing to follow it`);
    throw new BundleError(`${path}: cannot open (${code ?? (err as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new BundleError(`${path}: not a regular file`);
    if (st.size > limit) throw new BundleError(`${path}: ${st.size} bytes, larger than the ${limit} byte limit`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return { text: buf.subarray(0, off).toString('utf8'), mode: st.mode & 0o7777 };
  } finally {
    closeSync(fd);
  }
}

/** Read and validate `<bundle>/config.json`. Throws BundleError. */
export function loadConfig(bundleDir: string): LoadedConfig {
  const bundle = resolveBundleDir(bundleDir);
  return loadConfigFile(join(bundle, 'config.json'), bundle);
}

/** Read and validate a config file whose rootfs is relative to `bundle`. Throws BundleError. */
export function loadConfigFile(path: string, bundle: string): LoadedConfig {
  const { text, mode } = readRegularFile(path, MAX_CONFIG_BYTES);
  let parsed;
  try {
    parsed = parseJson(text);
  } catch (err) {
    throw new BundleError(`${path}: ${(err as Error).message}`);
  }
  const ambiguous = goKeyAmbiguities(parsed);
  if (ambiguous.length > 0) throw new BundleError(`${path}: ${ambiguous[0]}`);
  let spec: Spec;
  try {
    spec = assertSpec(parsed);
  } catch (err) {
    throw new BundleError(`${path}: ${(err as Error).message}`);
  }
  checkRootfsLocation(bundle, path, spec);
  return { bundle, path, text, spec, mode };
}

/**
 * Field names of the runtime-spec's JSON Schemas (config*.json, defs*.json), all structs together.
 * test/assurance/go-keys.test.ts checks this list against the schemas the build uses.
 */
export const SPEC_FIELD_NAMES: ReadonlySet<string> = new Set(`
  DNSSearchList access action additionalGids allow allowUnqualifiedDNSQuery allowedAddress ambient anet annotations
  apparmorProfile architectures args blockIO bounding bps burst capabilities cappedCPU cappedMemory cgroupsPath
  checkBeforeUpdate classID closID commandLine configureAllowedAddress consoleSize containerID count cpu cpus
  createContainer createRuntime credentialSpec cwd defaultAction defaultErrnoRet defrouter destination devices
  disableOOMKiller domain domainname effective enableCMT enableMBM endpointList env errnoRet fileMode flags format gid
  gidMappings hard hcaHandles hcaObjects height hooks hostID hostname hugepageLimits hyperv hypervisor id idType idle
  ignoreFlushesDuringBoot image index inheritable initrd intelRdt iops kernel kernelTCP l3CacheSchema layerFolders
  leafWeight limit limitpriv linkProtection linkname linux listenerMetadata listenerPath lowerLink macAddress major
  maskedPaths maxShmMemory maximum memBwSchema memory mems milestone minor mountLabel mounts name names namespaces ncpus
  network networkNamespace networkSharedContainerName noNewPrivileges ociVersion oomScoreAdj op options pageSize
  parameters path period permitted personality physical pids poststart poststop prestart priorities priority process
  quota rate rdma readonly readonlyPaths realtimePeriod realtimeRuntime reservation resources rlimits root
  rootfsPropagation sandboxSize seccomp selinuxLabel servicing shares size soft solaris source startContainer
  storage swap swappiness syscalls sysctl terminal throttleReadBpsDevice throttleReadIOPSDevice throttleWriteBpsDevice
  throttleWriteIOPSDevice timeout type uid uidMappings umask unified useHierarchy user username utilityVMPath value
  valueTwo vm weight weightDevice width windows zos
`.trim().split(/\s+/));

/**
 * How Go's encoding/json (runc, runsc) matches an object key to a struct field: exact match
 * first, else ASCII case-insensitively, with U+017F (long s) matching s and U+212A (Kelvin sign)
 * matching k.
 */
export function goFold(key: string): string {
  return key.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

const FOLDED_FIELDS: ReadonlyMap<string, string> = new Map([...SPEC_FIELD_NAMES].map((name) => [goFold(name), name]));

/** Objects whose keys are data (Go maps), not field names: `annotations`, `sysctl`, `unified`, `rdma`. */
const MAP_FIELDS: ReadonlySet<string> = new Set(['annotations', 'sysctl', 'unified', 'rdma']);

/**
 * Keys that Go's decoder would read as a different field than we do. Bulwark reads `process`
 * exactly, but runc also decodes `"Process"` (or `"proceſſ"`) into the same field, after or
 * instead of ours: a config with `"process": {...}, "Process": {"capabilities": ...}` would be
 * hardened in one copy and run with the other. So a key that is not a field name but folds to
 * one is refused. (Keys that fold to no known field are ignored by runc and by every pass alike.)
 * Map keys (annotations, sysctls, ...) are data and may differ only in case.
 */
export function goKeyAmbiguities(value: unknown): string[] {
  const problems: string[] = [];
  // Path segments of the node being visited, joined only when a problem is found: the walk
  // visits every key of every config (~0.1 ms when building each path eagerly).
  const trail: string[] = [];
  const visit = (node: unknown, isMap: boolean): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        if (item === null || typeof item !== 'object') continue;
        trail.push(`[${i}]`);
        visit(item, false);
        trail.pop();
      }
      return;
    }
    for (const [key, child] of Object.entries(node)) {
      trail.push(trail.length === 0 ? key : `.${key}`);
      // A field's own name folds to no other field (the names have no case-folding twins).
      const field = isMap || SPEC_FIELD_NAMES.has(key) ? undefined : FOLDED_FIELDS.get(goFold(key));
      if (field !== undefined && field !== key) {
        problems.push(`${trail.join('')}: key "${key}" is not the field "${field}", but runc's JSON decoder would read it as that field; refusing the ambiguous config`);
      }
      visit(child, MAP_FIELDS.has(key));
      trail.pop();
    }
  };
  visit(value, false);
  return problems;
}

const SYSTEM_DIRS = new Set(['/etc', '/usr', '/boot', '/root', '/bin', '/sbin', '/lib', '/lib64', '/var', '/run', '/home']);
const SYSTEM_TREES = ['/proc', '/sys', '/dev'];

/** /dev/shm is a plain tmpfs for anyone's files (bundles included), not a device tree. */
const USER_TREES = ['/dev/shm/'];

function isHostSystemDir(real: string): boolean {
  if (USER_TREES.some((t) => real.startsWith(t))) return false;
  return SYSTEM_DIRS.has(real) || SYSTEM_TREES.some((t) => real === t || real.startsWith(`${t}/`));
}

/**
 * A relative rootfs must stay inside the bundle once symlinks are resolved (a `rootfs` that is
 * a symlink to `/` would give the container the host's root), and no rootfs may be the host's
 * `/`. A rootfs that does not exist yet is left to the runtime to report.
 */
function checkRootfsLocation(bundle: string, configPath: string, spec: Spec): void {
  const rootPath = spec.root?.path;
  if (!rootPath) return;
  let real: string;
  try {
    real = realpathSync(isAbsolute(rootPath) ? rootPath : join(bundle, rootPath));
  } catch {
    return;
  }
  if (real === '/') throw new BundleError(`${configPath}: root.path ${rootPath} resolves to the host's /`);
  // The rootfs pass refuses these as literal paths; a symlink to one is the same directory.
  if (real !== rootPath && isHostSystemDir(real)) throw new BundleError(`${configPath}: root.path ${rootPath} resolves to the host directory ${real}`);
  if (!isAbsolute(rootPath) && real !== bundle && !real.startsWith(`${bundle}/`)) {
    throw new BundleError(`${configPath}: root.path ${rootPath} resolves to ${real}, outside the bundle`);
  }
}

/** Test crash points around the rename (src/runtime/failpoint.ts). */
export interface RenameFailpoints {
  beforeRename: FailpointName;
  afterRename: FailpointName;
}

export interface AtomicWriteOptions {
  failpoints?: RenameFailpoints;
  /**
   * Also survive a power loss: fsync the file before the rename and its directory after. For
   * files that outlive the machine's uptime (containerd's and Docker's configs), not for
   * bundles and state, which a reboot discards anyway (see the top of this file).
   */
  durable?: boolean;
}

/** Write `text` to `path` atomically; never follows a symlink at `path` (rename replaces it). */
export function writeFileAtomic(path: string, text: string, mode = 0o600, options: AtomicWriteOptions = {}): void {
  const points = options.failpoints;
  const tmp = `${path}.bulwark-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (options.durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  if (points) failpoint(points.beforeRename);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  if (points) failpoint(points.afterRename);
  if (options.durable) {
    const dir = openSync(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Temp files a create killed between write and rename left beside config.json (complete but
 * never renamed: config.json itself was not touched). Only those of processes that are gone.
 */
export function removeStaleTemps(configPath: string): string[] {
  const dir = configPath.slice(0, configPath.lastIndexOf('/')) || '/';
  const base = configPath.slice(configPath.lastIndexOf('/') + 1);
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(`${base}.`) || !name.endsWith('.tmp')) continue;
    const m = /\.bulwark-([0-9]+)-[0-9a-f]{8}\.tmp$/.exec(name);
    if (!m || !/^(orig)?$/.test(name.slice(base.length + 1, m.index)) || !processGone(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // raced with another create of this bundle
    }
  }
  return removed;
}

/**
 * Replace the bundle's config with the hardened one (`hardenedText`, the serialised config the
 * audit line's hash was taken of). The original text is kept (once: a retried create must not
 * overwrite the true original with an already hardened config) as config.json.orig.
 */
export function writeHardenedConfig(loaded: LoadedConfig, hardenedText: string): void {
  const orig = `${loaded.path}.orig`;
  removeStaleTemps(loaded.path);
  if (!lstatOrNull(orig)) writeFileAtomic(orig, loaded.text, 0o600);
  failpoint('config.before-write');
  writeFileAtomic(loaded.path, hardenedText, loaded.mode || 0o600, { failpoints: { beforeRename: 'config.before-rename', afterRename: 'config.after-rename' } });
}
