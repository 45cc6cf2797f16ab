// The typed surface of the native addon (native/addon.cc): the few kernel operations Node cannot
// do itself. The engine takes a NativeAddon by injection (`createRuntime(native)`), so unit tests
// pass a recording fake and only integration tests load the real one with loadNative().
//
// The C++ side holds no policy, defaults or parsing; this module checks arguments (types,
// ranges, NUL bytes) before they cross over, so a mistake surfaces as a Node-style TypeError or
// RangeError here rather than as an odd errno there.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CgroupMode } from '../host/types.js';

export type { CgroupMode };

/** Identity of a namespace: the nsfs inode its file points to. Equal ids mean the same namespace. */
export interface NamespaceId {
  dev: number;
  ino: number;
}

/** One resource limit; RLIM_INFINITY is 18446744073709551615n. */
export interface RlimitValue {
  soft: bigint;
  hard: bigint;
}

/** One line of a uid_map/gid_map (the OCI LinuxIDMapping shape). All values are uint32. */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface UserNamespaceSupport {
  /** /proc/self/ns/user exists and /proc/sys/user/max_user_namespaces > 0. */
  supported: boolean;
  /** mount_setattr(2) exists (Linux >= 5.12), so MOUNT_ATTR_IDMAP can be tried. */
  idmapMounts: boolean;
}

export interface NativeAddon {
  /**
   * Replace this process with `path` (same pid, so containerd's signals and wait status reach
   * the program we become). Returns only by throwing.
   *
   * Descriptors: 0, 1, 2 and `keepFds` are inherited (their close-on-exec flag is cleared:
   * Node marks every descriptor it inherited close-on-exec at start-up, stdio included, so
   * the engine must list e.g. runc's --preserve-fds and LISTEN_FDS descriptors here); every
   * other descriptor is closed by the exec. O_NONBLOCK, which libuv may have set on stdio, is
   * cleared on 0-2; SIGPIPE and SIGXFSZ (ignored by Node) are reset to default and the signal
   * mask emptied. On failure all of that is undone, except that other descriptors stay
   * close-on-exec. Whatever Node still buffers is lost: write final output synchronously
   * (fs.writeSync) before calling.
   */
  execve(path: string, argv: readonly string[], env: readonly string[], keepFds: readonly number[]): never;

  /** statfs() magic of the cgroup mount point (default /sys/fs/cgroup): cgroup2 -> 'v2';
   *  tmpfs with a cgroup2 `<mountPoint>/unified` -> 'hybrid'; anything else -> 'v1'. */
  cgroupMode(mountPoint?: string): CgroupMode;

  /** OCI seccomp action names this kernel supports (seccomp(SECCOMP_GET_ACTION_AVAIL), Linux
   *  4.14; throws where the query itself is unsupported). SCMP_ACT_KILL is listed with
   *  SCMP_ACT_KILL_THREAD, which it is an alias of. */
  seccompActions(): string[];

  /** stat() of a namespace file such as /proc/self/ns/net or /var/run/netns/x. */
  namespaceId(path: string): NamespaceId;

  /** getrlimit() for every RLIMIT_* in the OCI spec, keyed by its OCI name (RLIMIT_NOFILE, ...). */
  rlimits(): Record<string, RlimitValue>;

  probeUserNamespaces(): UserNamespaceSupport;

  /**
   * Create a new user namespace with these maps (written as root of the parent namespace, so
   * setgroups is left alone) and return an O_CLOEXEC descriptor that keeps it alive. Pass it in
   * keepFds to hand it over, and closeFd() it when done.
   */
  createUserNamespace(uidMap: readonly IdMapping[], gidMap: readonly IdMapping[]): number;

  /** Mount an idmapped clone of `source` (through the user namespace `usernsFd`) on `target`:
   *  open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount. Linux 5.12;
   *  fails with EINVAL on filesystems that do not support idmapping (overlayfs itself). */
  idmapMount(source: string, target: string, usernsFd: number, recursive: boolean): void;

  closeFd(fd: number): void;

  /** mount(2): `flags` are MS_* bits (see MOUNT_FLAGS), `data` the filesystem's options ("" for
   *  none). The engine mounts container-private overlays on idmapped layers with it. */
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;

  /** umount2(2): `flags` are MNT_DETACH / UMOUNT_NOFOLLOW (see UNMOUNT_FLAGS). */
  unmount(target: string, flags: number): void;

  /** SO_PEERCRED of a connected unix socket descriptor: who the kernel says the peer is. */
  peerCredentials(fd: number): PeerCredentials;

  /**
   * The topmost mount at or above `path` as statmount(2) describes it (statx's unique mount ID,
   * Linux 6.8; the options string, 6.11), without reading /proc/self/mountinfo; null where the
   * kernel cannot say. Strings are as the kernel has them (mountinfo's octal escapes only in
   * `superOptions`, as there).
   */
  mountAt(path: string): MountFacts | null;
}

/** One mount, as statmount(2) (or a line of /proc/self/mountinfo) describes it. */
export interface MountFacts {
  mountPoint: string;
  /** The mount's root inside its filesystem ('/' unless it is a bind of a subdirectory). */
  root: string;
  fstype: string;
  /** The filesystem's own options (overlayfs: lowerdir=, upperdir=, ...). */
  superOptions: string;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** mount(2) flags (<sys/mount.h>; the same on every architecture). */
export const MOUNT_FLAGS = { MS_RDONLY: 1, MS_NOSUID: 2, MS_NODEV: 4, MS_NOEXEC: 8 } as const;

/** umount2(2) flags: MNT_DETACH (lazy, Linux 2.4.11), UMOUNT_NOFOLLOW (Linux 2.6.34). */
export const UNMOUNT_FLAGS = { MNT_DETACH: 2, UMOUNT_NOFOLLOW: 8 } as const;

/** The shape of errors the addon throws, like Node's own fs errors. */
export interface NativeError extends Error {
  /** errno name: 'ENOENT', 'EPERM', ... */
  code: string;
  /** Negative errno, as in Node's fs errors (-2 for ENOENT). */
  errno: number;
  /** The failing system call: 'stat', 'open_tree', 'mount_setattr', ... */
  syscall: string;
  path?: string;
}

/** One line for a failed native (or fs) call: "syscall path: CODE", else the message. */
export function describeNativeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code && err.syscall) return `${err.syscall}${err.path ? ` ${err.path}` : ''}: ${err.code}`;
  return err.message ?? String(e);
}

export function isNativeError(e: unknown): e is NativeError {
  if (!(e instanceof Error)) return false;
  const x = e as Partial<NativeError>;
  return typeof x.code === 'string' && typeof x.errno === 'number' && typeof x.syscall === 'string';
}

/** Where `make build` puts the addon, relative to this module's compiled location
 *  (dist/src/native/index.js -> <repo>/native/build/Release/). */
export const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/bulwark_native.node', import.meta.url));

let loaded: NativeAddon | undefined;

/** Load the addon once (later calls return the same object). */
export function loadNative(addonPath: string = ADDON_PATH): NativeAddon {
  if (loaded && addonPath === ADDON_PATH) return loaded;
  let raw: NativeAddon;
  try {
    raw = createRequire(import.meta.url)(addonPath) as NativeAddon;
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    const message = code === 'MODULE_NOT_FOUND' || code === 'ENOENT'
      ? `bulwark: native addon not built (run make build): ${addonPath}`
      : `bulwark: cannot load native addon ${addonPath}: ${(cause as Error).message}`;
    throw new Error(message, { cause });
  }
  const addon = checked(raw);
  if (addonPath === ADDON_PATH) loaded = addon;
  return addon;
}

// ---- argument checks ----

function invalid(kind: 'type' | 'value', what: string): never {
  const e = kind === 'type' ? new TypeError(what) : new RangeError(what);
  Object.assign(e, { code: kind === 'type' ? 'ERR_INVALID_ARG_TYPE' : 'ERR_INVALID_ARG_VALUE' });
  throw e;
}

function str(name: string, v: unknown, { nonEmpty = true } = {}): string {
  if (typeof v !== 'string') invalid('type', `${name} must be a string`);
  if (v.includes('\0')) invalid('value', `${name} must not contain NUL bytes`);
  if (nonEmpty && v === '') invalid('value', `${name} must not be empty`);
  return v;
}

function strings(name: string, v: unknown): string[] {
  if (!Array.isArray(v)) invalid('type', `${name} must be an array of strings`);
  return v.map((s, i) => str(`${name}[${i}]`, s, { nonEmpty: false }));
}

function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) invalid('type', `${name} must be an integer`);
  if (v < min || v > max) invalid('value', `${name} must be in [${min}, ${max}], got ${v}`);
  return v;
}

const fd = (name: string, v: unknown): number => int(name, v, 0, 2 ** 31 - 1);

function idMap(name: string, v: unknown): IdMapping[] {
  if (!Array.isArray(v)) invalid('type', `${name} must be an array of {containerID, hostID, size}`);
  if (v.length === 0) invalid('value', `${name} must not be empty`);
  return v.map((m: Partial<IdMapping> | null, i) => {
    if (typeof m !== 'object' || m === null) invalid('type', `${name}[${i}] must be an object`);
    return {
      containerID: int(`${name}[${i}].containerID`, m.containerID, 0, 2 ** 32 - 1),
      hostID: int(`${name}[${i}].hostID`, m.hostID, 0, 2 ** 32 - 1),
      size: int(`${name}[${i}].size`, m.size, 1, 2 ** 32 - 1),
    };
  });
}

function checked(raw: NativeAddon): NativeAddon {
  return {
    execve(path, argv, env, keepFds) {
      const args = strings('argv', argv);
      // An empty argv lets programs misread envp as argv (CVE-2021-4034, pkexec).
      if (args.length === 0) invalid('value', 'argv must have at least one element');
      if (!Array.isArray(keepFds)) invalid('type', 'keepFds must be an array of descriptors');
      return raw.execve(str('path', path), args, strings('env', env), keepFds.map((f, i) => fd(`keepFds[${i}]`, f)));
    },
    cgroupMode: (mountPoint = '/sys/fs/cgroup') => raw.cgroupMode(str('mountPoint', mountPoint)),
    seccompActions: () => raw.seccompActions(),
    namespaceId: (path) => raw.namespaceId(str('path', path)),
    rlimits: () => raw.rlimits(),
    probeUserNamespaces: () => raw.probeUserNamespaces(),
    createUserNamespace: (uidMap, gidMap) => raw.createUserNamespace(idMap('uidMap', uidMap), idMap('gidMap', gidMap)),
    idmapMount: (source, target, usernsFd, recursive) => {
      if (typeof recursive !== 'boolean') invalid('type', 'recursive must be a boolean');
      raw.idmapMount(str('source', source), str('target', target), fd('usernsFd', usernsFd), recursive);
    },
    closeFd: (f) => raw.closeFd(fd('fd', f)),
    mount: (source, target, fstype, flags, data) =>
      raw.mount(str('source', source), str('target', target), str('fstype', fstype), int('flags', flags, 0, 2 ** 32 - 1), str('data', data, { nonEmpty: false })),
    unmount: (target, flags) => raw.unmount(str('target', target), int('flags', flags, 0, 2 ** 31 - 1)),
    peerCredentials: (f) => raw.peerCredentials(fd('fd', f)),
    mountAt: (path) => raw.mountAt(str('path', path)),
  };
}
