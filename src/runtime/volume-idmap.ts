// Bind-mounted volumes seen through the container's user namespace. A host directory owned by
// host uid 0 (or 1000) shows as nobody (65534) inside a user namespace whose root is host ID B,
// and the container's root cannot write where only the owner may. Worse for persistent volumes:
// what the container writes belongs to B, and B changes whenever the pod is recreated with
// another ID block, so the next pod cannot write its own files. Instead of chowning (slow, and
// it changes the host's files for everyone), Bulwark binds an idmapped clone of the directory
// (open_tree + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount, Linux 5.12; the filesystem must
// support it) under the container's state directory and points the mount's source there:
//
//   <stateDir>/rootfs/<rootKey>/<id>/volumes/<mount index>
//
// Through the clone, host ID n shows as container ID n and a file the container creates as its
// uid n is stored as host ID n: on disk the volume keeps the IDs a container without a user
// namespace would have written (as Kubernetes' own idmapped volumes for `hostUsers: false` pods
// do). The container's root therefore acts as host root on its own volumes, and nowhere else;
// the mounts rule keeps refusing binds of sensitive host paths and adds nosuid,nodev to binds.
//
// Which binds (planVolumes, pure):
// - directories: yes (volumes: emptyDir, hostPath, persistent volumes, ConfigMaps, Secrets);
// - single files: no. They are the runtime's per-pod files (/etc/hosts, /etc/hostname,
//   /etc/resolv.conf) or kubelet's termination log (0666): readable, and writable where meant
//   to be, as they are; idmapped, the container's root would write the runtime's files as host
//   root;
// - /dev/shm: no. A 1777 tmpfs works as it is, and shared memory is not a volume;
// - anything from /proc, /sys or /dev (the read-only /sys stand-in for sysfs among them): no.
//   proc, sysfs and devtmpfs cannot be idmapped, and these must stay the host's, unmapped.
//
// Where a volume cannot be idmapped (a kernel or filesystem without support: overlayfs, older
// tmpfs, NFS; an addon without the calls), the profile decides: `volumes: idmap` binds it as it
// is, with a warning (files show with their host owners, nobody where unmapped; what the
// container writes belongs to the pod's mapped IDs; nothing is chowned); `idmap-or-refuse`
// refuses the container.
import { lstatSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';
import { describeNativeError } from '../native/index.js';
import { isBindMount, isWithin, normalisePath } from '../passes/mounts.js';
import type { Finding } from '../passes/types.js';
import type { ResolvedProfile } from '../profile/types.js';
import type { Spec } from '../spec/index.js';
import { parseJson } from '../json/lossless.js';
import type { RootfsNative } from './rootfs-idmap.js';

/** The addon calls this module needs (a subset of RootfsNative). */
export type VolumeNative = Pick<RootfsNative, 'createUserNamespace' | 'idmapMount' | 'closeFd'>;

const RULE = 'userNamespace.volumes';

// ---- which binds (pure) ----

/** What the host has at a bind's source (after symlinks): the shell stats it, tests write it. */
export type SourceKind = 'directory' | 'file' | 'other' | 'missing';

export type IdmapDecision = { index: number; destination: string; source: string; action: 'idmap'; recursive: boolean };
export type VolumeDecision = IdmapDecision | { index: number; destination: string; source: string; action: 'keep'; reason: string };


const SYSTEM_TREES = ['/proc', '/sys', '/dev'];

/**
 * For every bind mount of the config: idmap it, or keep it as it is and why. `kindOf` answers
 * for the source as given; `realOf` (optional) gives its real path, which decides the system
 * trees. Mounts that are not binds are not listed.
 */
export function planVolumes(spec: Spec, kindOf: (source: string) => SourceKind, realOf: (source: string) => string = (s) => s): VolumeDecision[] {
  const out: VolumeDecision[] = [];
  (spec.mounts ?? []).forEach((m, index) => {
    if (!isBindMount(m) || !m.source) return;
    const base = { index, destination: m.destination, source: m.source };
    const keep = (reason: string) => out.push({ ...base, action: 'keep', reason });
    if (!isAbsolute(m.source)) return keep('a relative source (resolved by the runtime in the bundle)');
    if (normalisePath(m.destination) === '/dev/shm') return keep('shared memory: a 1777 tmpfs that works as it is');
    const real = normalisePath(realOf(m.source));
    const tree = SYSTEM_TREES.find((d) => isWithin(real, d));
    if (tree) return keep(`from ${tree}, which must stay the host's (and cannot be idmapped)`);
    const kind = kindOf(m.source);
    if (kind === 'file') return keep("a single file (the runtime's hosts, hostname, resolv.conf, a termination log): usable as it is, and not to be written as host root");
    if (kind === 'missing') return keep('does not exist (the runtime reports it)');
    if (kind === 'other') return keep('not a directory');
    out.push({ ...base, action: 'idmap', recursive: (m.options ?? []).includes('rbind') });
  });
  return out;
}

/** Should volumes be idmapped at all? Only when a user namespace with mappings is being set up. */
export function wantsVolumeIdmap(spec: Spec, profile: ResolvedProfile): boolean {
  const rule = profile.rules.userNamespace;
  if (profile.mode === 'audit' || rule.action === 'off' || rule.volumes === 'none') return false;
  const linux = spec.linux;
  return Boolean(linux?.namespaces?.some((n) => n.type === 'user') && linux.uidMappings?.length && linux.gidMappings?.length && spec.mounts?.some(isBindMount));
}

// ---- mounting (the shell) ----

export function volumesDir(containerDir: string): string {
  return join(containerDir, 'volumes');
}

export function sourceKind(path: string): SourceKind {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

export interface VolumeRequest {
  /** The hardened config (root.path possibly already rewritten). */
  spec: Spec;
  profile: ResolvedProfile;
  bundle: string;
  /** Bulwark's directory for this container (0711, already made; empty of volumes). */
  containerDir: string;
  /** Set when the container directory could not be prepared: every volume falls back. */
  setupProblem: string | null;
  native: Partial<VolumeNative>;
  kernelIdmap: boolean;
  /** Inject for tests: what is at a source, and where it really leads. */
  kindOf?: (source: string) => SourceKind;
  realOf?: (source: string) => string;
}

export interface VolumeResult {
  spec: Spec;
  findings: Finding[];
  /** Mount points made under volumesDir (the caller's cleanup detaches them). */
  mounted: string[];
  refused: boolean;
}

function hasAll(native: Partial<VolumeNative>): native is VolumeNative {
  return ['createUserNamespace', 'idmapMount', 'closeFd'].every((k) => typeof native[k as keyof VolumeNative] === 'function');
}

/**
 * A retried create of an already hardened bundle names Bulwark's old clones as sources (gone
 * by now, or about to be replaced): the original config says what they were clones of.
 */
function originalSources(req: VolumeRequest): (index: number, source: string) => string {
  const ours = volumesDir(req.containerDir) + sep;
  let orig: Spec | null | undefined;
  return (index, source) => {
    if (!source.startsWith(ours)) return source;
    if (orig === undefined) {
      try {
        orig = parseJson(readFileSync(join(req.bundle, 'config.json.orig'), 'utf8')) as unknown as Spec;
      } catch {
        orig = null;
      }
    }
    const before = orig?.mounts?.[index];
    const mine = req.spec.mounts?.[index];
    if (!before?.source || !mine || normalisePath(before.destination) !== normalisePath(mine.destination)) {
      throw new Error(`mounts[${index}].source ${source} points into Bulwark's own mounts and the original source is unknown`);
    }
    return before.source;
  };
}

/**
 * Bind an idmapped clone of every volume directory under the container's state directory and
 * point the mount's source at it. Never chowns, never writes to a volume.
 */
export function prepareVolumes(req: VolumeRequest): VolumeResult {
  const { spec, profile } = req;
  const none: VolumeResult = { spec, findings: [], mounted: [], refused: false };
  if (!wantsVolumeIdmap(spec, profile)) return none;
  const refuse = profile.rules.userNamespace.volumes === 'idmap-or-refuse';
  const kindOf = req.kindOf ?? sourceKind;
  const realOf = req.realOf ?? realOrSelf;
  const findings: Finding[] = [];
  const mounts = [...(spec.mounts ?? [])];
  const mounted: string[] = [];

  let original: (index: number, source: string) => string;
  let plan: IdmapDecision[];
  try {
    original = originalSources(req);
    // Decide on what the sources really are (a retried create's clones stand for their originals).
    const sources = new Map((spec.mounts ?? []).map((m, i) => [i, m.source ? original(i, m.source) : '']));
    const traced: Spec = { ...spec, mounts: (spec.mounts ?? []).map((m, i) => (m.source ? { ...m, source: sources.get(i)! } : m)) };
    plan = planVolumes(traced, kindOf, realOf).filter((d): d is IdmapDecision => d.action === 'idmap');
  } catch (e) {
    return { spec, findings: [{ rule: RULE, path: 'mounts', action: refuse ? 'deny' : 'warn', message: describeNativeError(e) }], mounted, refused: refuse };
  }
  if (plan.length === 0) return none;

  const linux = spec.linux!;
  let common: string | null = req.setupProblem;
  if (!common && !req.kernelIdmap) common = 'this kernel has no idmapped mounts (mount_setattr, Linux 5.12)';
  if (!common && !hasAll(req.native)) common = 'the native addon in use has no idmapped-mount calls';
  let fd: number | null = null;
  if (!common) {
    try {
      fd = (req.native as VolumeNative).createUserNamespace(linux.uidMappings!, linux.gidMappings!);
      mkdirSync(volumesDir(req.containerDir), { recursive: true, mode: 0o711 });
    } catch (e) {
      common = describeNativeError(e);
    }
  }
  try {
    for (const d of plan) {
      const path = `mounts[${d.index}].source`;
      const what = `bind of ${d.source} at ${d.destination}`;
      let problem = common;
      let target: string | null = null;
      if (!problem) {
        try {
          const real = realpathSync(d.source);
          target = join(volumesDir(req.containerDir), String(d.index));
          mkdirSync(target, { mode: 0o700 });
          if (!lstatSync(target).isDirectory()) throw new Error(`${target} is not a directory`);
          (req.native as VolumeNative).idmapMount(real, target, fd!, d.recursive);
          mounted.push(target);
        } catch (e) {
          problem = describeNativeError(e);
        }
      }
      if (problem === null && target) {
        mounts[d.index] = { ...mounts[d.index]!, source: target };
        findings.push({
          rule: RULE, path, action: 'fix',
          message: `${what}: its files would show as nobody in the user namespace and what the container writes would belong to the pod's mapped IDs; bound through an idmapped clone at ${target} instead (host ID n shows as n inside, and the container's uid n writes as host ID n; nothing chowned)`,
        });
      } else if (refuse) {
        findings.push({ rule: RULE, path, action: 'deny', message: `${what} cannot be idmapped (${problem}), and the profile requires idmap-or-refuse` });
      } else {
        if (d.source !== spec.mounts![d.index]!.source) mounts[d.index] = { ...mounts[d.index]!, source: d.source };
        findings.push({
          rule: RULE, path, action: 'warn',
          message: `${what} cannot be idmapped (${problem}): bound as it is, so files show with their host owners (nobody where unmapped) and what the container writes belongs to the pod's mapped IDs; nothing is chowned`,
        });
      }
    }
  } finally {
    if (fd !== null) (req.native as VolumeNative).closeFd(fd);
  }
  const refused = findings.some((f) => f.action === 'deny');
  const changed = mounts.some((m, i) => m !== spec.mounts![i]);
  return { spec: changed && !refused ? { ...spec, mounts } : spec, findings, mounted, refused };
}
