// The container's root filesystem seen through its user namespace. Image files are owned by
// host IDs (usually 0); in a user namespace whose root is host ID B they would show as nobody
// (65534) and root could not write them. Instead of chowning (slow, and it modifies layers other
// containers share), Bulwark mounts an idmapped view of the rootfs and points root.path at it:
//
//   <stateDir>/rootfs/<rootKey>/<id>/root           what root.path becomes (0711 path to it)
//   <stateDir>/rootfs/<rootKey>/<id>/private/upper  container-private upper dir, owned by B
//   <stateDir>/rootfs/<rootKey>/<id>/private/work   overlay work dir
//   <stateDir>/rootfs/<rootKey>/<id>/private/l/<n>  idmapped layer clones, detached once the
//                                                    overlay holds them
//   <stateDir>/rootfs/<rootKey>/<id>/volumes/<i>    idmapped clones of bind-mounted volume
//                                                    directories (volume-idmap.ts)
//
// - read-only plain directory: an idmapped clone of it (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)
//   + move_mount; Linux 5.12) is the root.
// - writable plain directory, or an overlay (containerd's snapshotter mounts one on
//   <bundle>/rootfs before create): a NEW overlay whose lower layers are idmapped clones of the
//   original layers (overlayfs accepts idmapped lower layers since Linux 5.19), with a private,
//   non-idmapped upper owned by B. An overlay mount itself cannot be idmapped (EINVAL), and an
//   idmapped upper fails (the mounter's root has no mapping in it: EOVERFLOW creating work/).
//   Writes then land in the private upper owned by B on the host: the container never creates
//   host-root-owned (or set-user-ID root) files, and the original directory or overlay is never
//   written to. A plain directory goes through an overlay too for exactly that reason: an
//   idmapped clone written through would store the container root's files as host uid 0.
//
// Where that is impossible (old kernel, a filesystem without idmap support, an addon without the
// calls, an overlay we cannot read back), the profile decides: `idmap` keeps the rootfs as it is
// but read-only, with a warning (files show as nobody); `idmap-or-refuse` refuses the container.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, rmdirSync, statSync, statfsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { makeDir } from '../host/dirs.js';
import type { Finding } from '../passes/types.js';
import type { ResolvedProfile } from '../profile/types.js';
import type { IDMapping, Spec } from '../spec/index.js';
import { parseJson } from '../json/lossless.js';
import { describeNativeError } from '../native/index.js';
import type { MountFacts } from '../native/index.js';
import { rootKey } from './records.js';
import { prepareVolumes, volumesDir, wantsVolumeIdmap } from './volume-idmap.js';

/** The addon calls this module needs (src/native/index.ts). */
export interface RootfsNative {
  createUserNamespace(uidMap: readonly IDMapping[], gidMap: readonly IDMapping[]): number;
  idmapMount(source: string, target: string, usernsFd: number, recursive: boolean): void;
  closeFd(fd: number): void;
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  unmount(target: string, flags: number): void;
  /** statmount(2) of the mount at a path; absent or null: read /proc/self/mountinfo instead. */
  mountAt?(path: string): MountFacts | null;
}

const MNT_DETACH = 2;
const UMOUNT_NOFOLLOW = 8;
const RULE = 'userNamespace.rootfs';

// ---- /proc/self/mountinfo ----

/** A line of /proc/self/mountinfo. */
export interface MountEntry extends MountFacts {
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash (and overlay also ',' '=' ':') as \ooo. */
export function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const right = line.slice(dash + 3).split(' ');
    if (left.length < 6 || right.length < 3) continue;
    entries.push({
      mountPoint: unescapeOctal(left[4]!),
      root: unescapeOctal(left[3]!),
      fstype: right[0]!,
      source: unescapeOctal(right[1]!),
      superOptions: right.slice(2).join(' '),
    });
  }
  return entries;
}

/** `path` as mountinfo writes a mount point: space, tab, newline and backslash as \ooo. */
function escapeMountPoint(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * The topmost mount exactly at `path` in mountinfo text (later lines are mounted on top of
 * earlier ones), parsing only the lines that name `path` (a node's table has a few lines per
 * container; parsing all of it per create cost more than reading it).
 */
export function mountAtIn(text: string, path: string): MountEntry | undefined {
  const needle = ` ${escapeMountPoint(path)} `;
  let found: MountEntry | undefined;
  for (let at = text.indexOf(needle); at !== -1;) {
    const start = text.lastIndexOf('\n', at) + 1;
    const newline = text.indexOf('\n', at);
    const end = newline === -1 ? text.length : newline;
    const entry = parseMountinfo(text.slice(start, end))[0];
    if (entry?.mountPoint === path) found = entry; // not the same text in the root field
    at = text.indexOf(needle, end);
  }
  return found;
}

/** Mount points at or below `dir`. */
export function mountsUnder(entries: readonly MountEntry[], dir: string): string[] {
  return entries.map((e) => e.mountPoint).filter((p) => p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/'));
}

export interface OverlayLayers {
  /** Lower layers, topmost first (data-only layers are not included). */
  lower: string[];
  /** Data-only lower layers (after `::`, Linux 6.5): only reachable through metacopy redirects. */
  dataOnly: string[];
  upper: string | null;
  work: string | null;
  /** Options that change how the layers' contents are read, carried over to the new overlay. */
  carried: string[];
}

/**
 * Layers of an overlay from its mountinfo super options. Kernels since 6.5 print each layer
 * \ooo-escaped and joined by ':' ('::' before data-only layers); older ones print the option as
 * given, where a literal ':' in a path was written '\:'. Relative paths (containerd's trick for
 * option strings over a page) cannot be resolved here: null.
 */
export function overlayLayers(superOptions: string): OverlayLayers | null {
  const out: OverlayLayers = { lower: [], dataOnly: [], upper: null, work: null, carried: [] };
  for (const option of superOptions.split(',')) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = eq < 0 ? '' : option.slice(eq + 1);
    if (key === 'lowerdir') {
      const [main, data] = splitDataOnly(value);
      out.lower = splitLayers(main);
      out.dataOnly = data === null ? [] : splitLayers(data);
    } else if (key === 'lowerdir+') {
      out.lower.push(unescapeOctal(value));
    } else if (key === 'datadir+') {
      out.dataOnly.push(unescapeOctal(value));
    } else if (key === 'upperdir') {
      out.upper = unescapeOctal(value);
    } else if (key === 'workdir') {
      out.work = unescapeOctal(value);
    } else if (key === 'userxattr' || key === 'redirect_dir' || key === 'metacopy') {
      out.carried.push(option);
    }
  }
  const all = [...out.lower, ...out.dataOnly, ...(out.upper ? [out.upper] : [])];
  if (out.lower.length === 0 || all.some((p) => !isAbsolute(p))) return null;
  return out;
}

function splitDataOnly(value: string): [string, string | null] {
  const at = value.search(/(?<!\\)::/);
  return at < 0 ? [value, null] : [value.slice(0, at), value.slice(at + 2)];
}

function splitLayers(value: string): string[] {
  return value
    .split(/(?<!\\):/)
    .filter((p) => p !== '')
    .map((p) => unescapeOctal(p.replace(/\\:/g, ':')));
}

// ---- where Bulwark's mounts live ----

export function rootfsBase(stateDir: string): string {
  return join(stateDir, 'rootfs');
}

export function containerRootfsDir(stateDir: string, root: string | undefined, id: string): string {
  return join(rootfsBase(stateDir), rootKey(root), id);
}

type RemoveResult = { ok: boolean; unmounted: string[]; problem?: string };

function childrenOf(dir: string): string[] {
  try {
    return readdirSync(dir).map((n) => join(dir, n));
  } catch {
    return []; // no such directory
  }
}

/** One tree to remove and the mount points in it to detach first. */
interface RemoveJob {
  tree: string;
  candidates: readonly string[];
}

/**
 * Detach the given mount points (exact paths, lazily, never following a symlink), then remove
 * each `tree` only when mountinfo shows nothing mounted at or below it, so a recursive removal can
 * never reach into a container's, an image's or a volume's files. Many trees share each read of
 * the mount table (a collection on a busy node removes tens of containers, and the table lists
 * every one of them): one read, then one per round of unmounts (stacked mounts take one call per
 * layer), and the last read always follows the last unmount.
 */
function detachAndRemoveAll(jobs: readonly RemoveJob[], native: Pick<RootfsNative, 'unmount'> | null, mountinfo: () => string): RemoveResult[] {
  const results: Array<RemoveResult | null> = jobs.map((job) => (existsSync(job.tree) ? null : { ok: true, unmounted: [] }));
  const unmounted = jobs.map(() => [] as string[]);
  let entries = parseMountinfo(mountinfo());
  for (let round = 0; round < 8; round++) {
    const mounted = new Set(entries.map((e) => e.mountPoint));
    let detached = false;
    jobs.forEach((job, i) => {
      if (results[i]) return;
      for (const target of job.candidates) {
        if (!mounted.has(target)) continue;
        if (!native) {
          results[i] = { ok: false, unmounted: unmounted[i]!, problem: `${target} is mounted and the native addon is not available to unmount it` };
          return;
        }
        try {
          native.unmount(target, MNT_DETACH | UMOUNT_NOFOLLOW);
          unmounted[i]!.push(target);
          detached = true;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'EINVAL' && code !== 'ENOENT') {
            results[i] = { ok: false, unmounted: unmounted[i]!, problem: `umount ${target}: ${(e as Error).message}` };
            return;
          }
        }
      }
    });
    if (!detached) break;
    entries = parseMountinfo(mountinfo());
  }
  return jobs.map((job, i) => {
    const done = results[i];
    if (done) return done;
    const mounted = mountsUnder(entries, job.tree);
    if (mounted.length > 0) return { ok: false, unmounted: unmounted[i]!, problem: `still mounted under ${job.tree}: ${mounted.join(', ')}` };
    rmSync(job.tree, { recursive: true, force: true });
    return { ok: true, unmounted: unmounted[i]! };
  });
}

function detachAndRemove(tree: string, candidates: readonly string[], native: Pick<RootfsNative, 'unmount'> | null, mountinfo: () => string): RemoveResult {
  return detachAndRemoveAll([{ tree, candidates }], native, mountinfo)[0]!;
}

/** Bulwark's rootfs mount points in a container directory: `root` and the layer clones. */
function rootfsMountPoints(dir: string): string[] {
  return [join(dir, 'root'), ...childrenOf(join(dir, 'private', 'l'))];
}

/**
 * Detach every mount Bulwark made for one container (the rootfs at `dir/root`, layer clones at
 * `dir/private/l/*`, idmapped volumes at `dir/volumes/*`) and remove its directory, only when
 * nothing is left mounted at or below it.
 */
export function removeContainerRootfs(dir: string, native: Pick<RootfsNative, 'unmount'> | null, mountinfo: () => string = readMountinfo): RemoveResult {
  return removeContainerRootfsAll([dir], native, mountinfo)[0]!;
}

/** removeContainerRootfs for many containers at once, sharing the reads of the mount table. */
export function removeContainerRootfsAll(dirs: readonly string[], native: Pick<RootfsNative, 'unmount'> | null, mountinfo: () => string = readMountinfo): RemoveResult[] {
  return detachAndRemoveAll(dirs.map((dir) => ({ tree: dir, candidates: [...rootfsMountPoints(dir), ...childrenOf(volumesDir(dir))] })), native, mountinfo);
}

/** Undo the rootfs part only (`root`, `private`), leaving the directory and any volumes. */
function removeRootfsMounts(dir: string, native: Pick<RootfsNative, 'unmount'> | null, mountinfo: () => string): RemoveResult {
  const root = detachAndRemove(join(dir, 'root'), [join(dir, 'root')], native, mountinfo);
  if (!root.ok) return root;
  const priv = detachAndRemove(join(dir, 'private'), childrenOf(join(dir, 'private', 'l')), native, mountinfo);
  return { ...priv, unmounted: [...root.unmounted, ...priv.unmounted] };
}

export function readMountinfo(): string {
  return readFileSync('/proc/self/mountinfo', 'utf8');
}

// ---- preparing a container's rootfs ----

export interface RootfsRequest {
  stateDir: string;
  /** The runtime's --root (records and mounts are keyed by it). */
  root: string | undefined;
  id: string;
  bundle: string;
  /** The hardened config. */
  spec: Spec;
  profile: ResolvedProfile;
  /** The addon; calls it lacks mean "cannot idmap" (unit tests pass a fake without them). */
  native: Partial<RootfsNative>;
  /** The kernel has mount_setattr (host.userns.idmapMounts). */
  kernelIdmap: boolean;
  mountinfo?: () => string;
}

export type RootfsStrategy = 'none' | 'idmap' | 'overlay' | 'read-only fallback' | 'refused';

export interface RootfsResult {
  spec: Spec;
  findings: Finding[];
  strategy: RootfsStrategy;
  /** The directory holding Bulwark's mounts for this container, or null when it made none. */
  mountDir: string | null;
}

class CannotIdmap extends Error {}

/** Should the rootfs be idmapped? Only when a user namespace with mappings is being set up. */
export function wantsIdmap(spec: Spec, profile: ResolvedProfile): boolean {
  const rule = profile.rules.userNamespace;
  if (profile.mode === 'audit' || rule.action === 'off' || rule.rootfs === 'none') return false;
  const linux = spec.linux;
  return Boolean(linux?.namespaces?.some((n) => n.type === 'user') && linux.uidMappings?.length && linux.gidMappings?.length && spec.root);
}

function hostIdOf(maps: readonly IDMapping[], id: number): number | null {
  const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
  return m ? m.hostID + (id - m.containerID) : null;
}

/** Every directory from `/` down to `path` must let the mapped root (an unrelated host ID) pass. */
function untraversable(path: string): string | null {
  let dir = path;
  for (;;) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) return `${dir} (mode ${(mode & 0o777).toString(8).padStart(4, '0')})`;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function ensureDir(path: string, mode: number): void {
  makeDir(path, mode);
  checkDir(path, mode);
}

/** `path` is a directory (not a symlink to one) with exactly `mode`, which a umask may have narrowed. */
function checkDir(path: string, mode: number): void {
  const st = lstatSync(path);
  if (!st.isDirectory()) throw new CannotIdmap(`${path} is not a directory`);
  if ((st.mode & 0o777) !== mode) chmodSync(path, mode);
}

/** root.path as the runtime would resolve it; a path into our own mounts (a retried create of an
 *  already hardened bundle) is traced back to the original config's root. */
function sourceRootfs(req: RootfsRequest): string {
  const path = req.spec.root!.path;
  const abs = isAbsolute(path) ? path : resolve(req.bundle, path);
  if (!abs.startsWith(rootfsBase(req.stateDir) + sep)) return abs;
  try {
    const orig = parseJson(readFileSync(join(req.bundle, 'config.json.orig'), 'utf8')) as unknown as Spec;
    if (orig.root?.path) return isAbsolute(orig.root.path) ? orig.root.path : resolve(req.bundle, orig.root.path);
  } catch {
    // fall through
  }
  throw new CannotIdmap(`root.path ${path} points into Bulwark's own mounts and the original root is unknown`);
}

interface Plan {
  kind: 'idmap' | 'overlay';
  source: string;
  layers: string[];
  carried: string[];
  what: string;
}

/** statfs(2) f_type of an overlayfs mount. */
const OVERLAYFS_SUPER_MAGIC = 0x794c7630;

/**
 * The mount exactly at `path` when it may be an overlay: only when statfs says `path` is on an
 * overlay (the topmost mount at a path is the one statfs reports), or when a test hands in a
 * table. The kernel describes that one mount (statmount) where it can; otherwise the whole mount
 * table is read, which grows with every container on the node.
 */
function overlayMountAt(path: string, mountinfo: (() => string) | undefined, native: Partial<RootfsNative>): MountFacts | undefined {
  if (mountinfo) return mountAtIn(mountinfo(), path);
  if (statfsSync(path).type !== OVERLAYFS_SUPER_MAGIC) return undefined;
  let mount: MountFacts | null = null;
  try {
    mount = native.mountAt?.(path) ?? null;
  } catch {
    // The table below has the answer too; the kernel's one-mount view is only the faster way.
  }
  if (mount) return mount.mountPoint === path ? mount : undefined; // inside an overlay, not its root
  return mountAtIn(readMountinfo(), path);
}

function plan(req: RootfsRequest, source: string): Plan {
  let real: string;
  try {
    real = realpathSync(source);
  } catch (e) {
    throw new CannotIdmap(`root.path ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!statSync(real).isDirectory()) throw new CannotIdmap(`root.path ${real} is not a directory`);
  const mount = overlayMountAt(real, req.mountinfo, req.native);
  if (mount?.fstype === 'overlay') {
    if (mount.root !== '/') throw new CannotIdmap(`${real} is a bind of ${mount.root} inside an overlay, whose layers cannot be traced`);
    const layers = overlayLayers(mount.superOptions);
    if (!layers) throw new CannotIdmap(`the overlay at ${real} has layers that cannot be read back from mountinfo (relative or missing lowerdir)`);
    if (layers.dataOnly.length > 0) throw new CannotIdmap(`the overlay at ${real} has data-only layers (metacopy), which Bulwark does not rebuild`);
    // The original upper holds what the container wrote before (a restart on the same snapshot):
    // keep it visible as the topmost lower; it is never written to again.
    const upper = layers.upper && readdirSync(layers.upper).length > 0 ? [layers.upper] : [];
    const all = [...upper, ...layers.lower];
    return { kind: 'overlay', source: real, layers: all, carried: layers.carried, what: `an overlay of ${all.length} idmapped layer${all.length === 1 ? '' : 's'} of the overlay at ${real}` };
  }
  if (req.spec.root!.readonly === true) return { kind: 'idmap', source: real, layers: [real], carried: [], what: `an idmapped read-only view of ${real}` };
  return { kind: 'overlay', source: real, layers: [real], carried: [], what: `an overlay of an idmapped view of ${real} with a private upper layer` };
}

function mountView(req: RootfsRequest, p: Plan, dir: string, native: RootfsNative): void {
  const linux = req.spec.linux!;
  const uidRoot = hostIdOf(linux.uidMappings!, 0);
  const gidRoot = hostIdOf(linux.gidMappings!, 0);
  if (uidRoot === null || gidRoot === null) throw new CannotIdmap('the mappings do not map container root');
  const target = join(dir, 'root');
  ensureDir(target, 0o755);
  const fd = native.createUserNamespace(linux.uidMappings!, linux.gidMappings!);
  try {
    if (p.kind === 'idmap') {
      native.idmapMount(p.source, target, fd, false);
      return;
    }
    const priv = join(dir, 'private');
    ensureDir(join(priv, 'l'), 0o700);
    const names: string[] = [];
    p.layers.forEach((layer, i) => {
      const at = join(priv, 'l', String(i));
      ensureDir(at, 0o700);
      native.idmapMount(layer, at, fd, false);
      names.push(`private/l/${i}`);
    });
    // The overlay's root directory takes the upper's owner and mode: those of the image's root
    // as the container sees it (read through the idmapped top layer).
    const top = statSync(join(priv, 'l', '0'));
    const upper = join(priv, 'upper');
    const work = join(priv, 'work');
    ensureDir(upper, top.mode & 0o7777);
    chownSync(upper, top.uid, top.gid);
    ensureDir(work, 0o700);
    chownSync(work, uidRoot, gidRoot);
    // Relative layer paths keep the option string short (mount(2) takes one page).
    const data = [`lowerdir=${names.join(':')}`, 'upperdir=private/upper', 'workdir=private/work', ...p.carried].join(',');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      native.mount('overlay', target, 'overlay', 0, data);
    } finally {
      process.chdir(cwd);
    }
    // The overlay holds private clones of its layers, so ours can go (one mount per container).
    for (let i = 0; i < names.length; i++) {
      const at = join(priv, 'l', String(i));
      native.unmount(at, MNT_DETACH | UMOUNT_NOFOLLOW);
      rmdirSync(at);
    }
  } finally {
    native.closeFd(fd);
  }
}

function hasAll(native: Partial<RootfsNative>): native is RootfsNative {
  return ['createUserNamespace', 'idmapMount', 'closeFd', 'mount', 'unmount'].every((k) => typeof native[k as keyof RootfsNative] === 'function');
}

/**
 * Parents of container directories (under <stateDir>/rootfs) made and checked within the last
 * PARENT_CHECK_TTL_MS: the warm service making containers one after another skips the dozen
 * system calls of the check. A parent removed meanwhile sends the create back to the full check;
 * one made untraversable meanwhile (by root) makes the runtime fail to reach the rootfs, for as
 * long as the interval, instead of getting Bulwark's own refusal.
 */
const checkedParents = new Map<string, number>();
const PARENT_CHECK_TTL_MS = 5_000;

/** The state directory and the container directory's parent exist and are traversable from `/` down. */
function checkParents(req: RootfsRequest, parent: string): void {
  // The runtime resolves root.path and volume sources as the container's root, an unrelated
  // host ID: every directory on the way must be traversable (0711), as the bundle's must be.
  makeDir(req.stateDir, 0o711);
  const stateMode = statSync(req.stateDir).mode & 0o7777;
  if ((stateMode & 0o001) === 0) chmodSync(req.stateDir, stateMode | 0o011);
  ensureDir(rootfsBase(req.stateDir), 0o711);
  ensureDir(parent, 0o711);
  const blocked = untraversable(req.stateDir);
  if (blocked) throw new CannotIdmap(`${blocked} on the way to Bulwark's state directory is not traversable by the container's mapped root`);
}

/**
 * The container's directory under the state directory, ready for mounts: every directory on the
 * way traversable by the mapped root, anything an earlier container of this id left removed.
 */
function prepareContainerDir(req: RootfsRequest, dir: string, native: Partial<RootfsNative>, mountinfo: () => string): void {
  const parent = dirname(dir);
  const age = Date.now() - (checkedParents.get(parent) ?? Number.NEGATIVE_INFINITY);
  const recent = age >= 0 && age < PARENT_CHECK_TTL_MS;
  if (!recent) {
    checkParents(req, parent);
    checkedParents.set(parent, Date.now());
  }
  if (existsSync(dir)) {
    // Left by an earlier container of this id (the engine checked that it is gone).
    const old = removeContainerRootfs(dir, native.unmount ? (native as RootfsNative) : null, mountinfo);
    if (!old.ok) throw new CannotIdmap(old.problem ?? `cannot clear ${dir}`);
  }
  try {
    mkdirSync(dir, { mode: 0o711 }); // never recursive: a missing parent means the check is stale
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && recent) {
      checkedParents.delete(parent);
      prepareContainerDir(req, dir, native, mountinfo);
      return;
    }
    if (code !== 'EEXIST') throw e;
  }
  checkDir(dir, 0o711);
}

type RootfsStep = Omit<RootfsResult, 'mountDir'> & { mounted: boolean };

function idmapRootfs(req: RootfsRequest, dir: string, setupProblem: string | null, mountinfo: () => string): RootfsStep {
  const { spec, profile } = req;
  const rule = profile.rules.userNamespace;
  let mounted = false;
  try {
    if (setupProblem) throw new CannotIdmap(setupProblem);
    if (!req.kernelIdmap) throw new CannotIdmap('this kernel has no idmapped mounts (mount_setattr, Linux 5.12)');
    const native = req.native;
    if (!hasAll(native)) throw new CannotIdmap('the native addon in use has no idmapped-mount calls');
    const p = plan(req, sourceRootfs(req));
    mounted = true;
    mountView(req, p, dir, native);
    const path = join(dir, 'root');
    return {
      spec: { ...spec, root: { ...spec.root!, path } },
      findings: [{
        rule: RULE,
        path: 'root.path',
        action: 'fix',
        message: `image files owned by host IDs would show as nobody in the user namespace; the container's root is ${p.what}, mounted at ${path} (nothing chowned, the original never written)`,
      }],
      strategy: p.kind,
      mounted: true,
    };
  } catch (e) {
    let cleanup = '';
    if (mounted) {
      const undone = removeRootfsMounts(dir, req.native.unmount ? (req.native as RootfsNative) : null, mountinfo);
      if (!undone.ok) cleanup = `; ${undone.problem}`;
    }
    const reason = describeNativeError(e) + cleanup;
    if (rule.rootfs === 'idmap-or-refuse') {
      return {
        spec,
        findings: [{ rule: RULE, path: 'root.path', action: 'deny', message: `cannot be idmapped (${reason}), and the profile requires idmap-or-refuse` }],
        strategy: 'refused',
        mounted: false,
      };
    }
    const findings: Finding[] = [{
      rule: RULE,
      path: 'root.path',
      action: 'warn',
      message: `cannot be idmapped (${reason}): files owned by host IDs show as nobody (65534) in the user namespace and root cannot write them; the root filesystem is kept as it is, read-only, so no shared layer is ever modified`,
    }];
    return { spec: { ...spec, root: { ...spec.root!, readonly: true } }, findings, strategy: 'read-only fallback', mounted: false };
  }
}

/**
 * Make the container's root filesystem and its bind-mounted volumes look owned by their host
 * IDs inside its user namespace (volume-idmap.ts has the volumes). Never modifies the original
 * rootfs, its layers or a volume's directory, never chowns.
 */
export function prepareRootfs(req: RootfsRequest): RootfsResult {
  const { spec, profile } = req;
  const rootfsWanted = wantsIdmap(spec, profile);
  const volumesWanted = wantsVolumeIdmap(spec, profile);
  if (!rootfsWanted && !volumesWanted) return { spec, findings: [], strategy: 'none', mountDir: null };
  const mountinfo = req.mountinfo ?? readMountinfo;
  const dir = containerRootfsDir(req.stateDir, req.root, req.id);
  let setupProblem: string | null = null;
  try {
    prepareContainerDir(req, dir, req.native, mountinfo);
  } catch (e) {
    setupProblem = describeNativeError(e);
  }

  const rootfs: RootfsStep = rootfsWanted ? idmapRootfs(req, dir, setupProblem, mountinfo) : { spec, findings: [], strategy: 'none', mounted: false };
  const volumes = prepareVolumes({
    spec: rootfs.spec, profile, bundle: req.bundle, containerDir: dir, setupProblem, native: req.native, kernelIdmap: req.kernelIdmap,
  });
  const findings = [...rootfs.findings, ...volumes.findings];
  const unmount = req.native.unmount ? (req.native as RootfsNative) : null;
  if (volumes.refused || rootfs.strategy === 'refused') {
    // Refused: nothing of ours stays mounted (the engine will not start the container).
    if (setupProblem === null) {
      const undone = removeContainerRootfs(dir, unmount, mountinfo);
      if (!undone.ok) findings.push({ rule: 'userNamespace.volumes', path: 'mounts', action: 'deny', message: `cleaning up after the refusal: ${undone.problem}` });
    }
    return { spec: rootfs.spec, findings, strategy: rootfs.strategy, mountDir: null };
  }
  const mounted = rootfs.mounted || volumes.mounted.length > 0;
  if (!mounted && setupProblem === null) removeContainerRootfs(dir, unmount, mountinfo); // an empty directory
  return { spec: volumes.spec, findings, strategy: rootfs.strategy, mountDir: mounted ? dir : null };
}
