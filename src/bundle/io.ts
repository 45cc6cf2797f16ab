// Bundle I/O: read config.json without following symlinks, and replace it atomically (temp
// file + rename) so a crash of Bulwark at any instant leaves either the original or the complete
// hardened config. The first original is kept as config.json.orig.
//
// No fsync: rename is atomic for every process on the machine, which is the crash that matters
// here. A power loss takes the container down with it, and its bundle (on a node: containerd's
// tmpfs under /run) is rebuilt by the engine that recreates it. An fsync pair cost 15-30 ms per
// create on this disk, several times Bulwark's whole budget.
import {
  closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync,
  renameSync, unlinkSync, writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { parseJson, stringifyJson } from '../json/lossless.js';
import { assertSpec } from '../spec/index.js';
import type { Spec } from '../spec/index.js';

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
  if (!isAbsolute(rootPath) && real !== bundle && !real.startsWith(`${bundle}/`)) {
    throw new BundleError(`${configPath}: root.path ${rootPath} resolves to ${real}, outside the bundle`);
  }
}

/** Write `text` to `path` atomically; never follows a symlink at `path` (rename replaces it). */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.bulwark-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Replace the bundle's config with the hardened one. The original text is kept (once: a retried
 * create must not overwrite the true original with an already hardened config) as config.json.orig.
 */
export function writeHardenedConfig(loaded: LoadedConfig, spec: Spec): void {
  const orig = `${loaded.path}.orig`;
  if (!exists(orig)) writeFileAtomic(orig, loaded.text, 0o600);
  writeFileAtomic(loaded.path, stringifyJson(spec) + '\n', loaded.mode || 0o600);
}
