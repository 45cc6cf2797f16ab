// Mounts: what of the host a container can see and how. Bind mounts of sensitive host paths are
// the classic escape (a container runtime socket is root on the node; /etc, /proc, /sys and
// kubelet's directory hold credentials and kernel knobs), so their sources are checked both as
// written and after the shell resolved symlinks. Bind mounts also get nosuid/nodev, shared
// propagation is cut, and sysfs/cgroupfs are forced read-only.
//
// The path helpers at the top are pure string functions, shared with the other path-minded passes.
import type { Pass } from './types.js';
import type { Mount } from '../spec/index.js';
import type { MountsRule } from '../profile/types.js';
import type { HostFacts } from '../host/types.js';
import { reporter } from './util.js';

type Reporter = ReturnType<typeof reporter>;

// ---- path helpers ------------------------------------------------------------------------------

/** Collapses `//`, `.` and `..` the way the kernel walks a path (`..` at `/` stays at `/`). */
export function normalisePath(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') out.push(segment);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (!absolute) out.push('..');
  }
  if (absolute) return `/${out.join('/')}`;
  return out.length === 0 ? '.' : out.join('/');
}

/** `path` is `base` or below it. The root only matches itself: everything is "under" `/`. */
export function isWithin(path: string, base: string): boolean {
  if (base === '/') return path === '/';
  return path === base || path.startsWith(`${base}/`);
}

/** `path` is a strict ancestor of `other` (so mounting `path` exposes `other`). */
function contains(path: string, other: string): boolean {
  if (path === '/') return other !== '/';
  return other.startsWith(`${path}/`);
}

/** One segment of a glob: `*` matches any run of characters other than `/`. */
function segmentMatches(pattern: string, segment: string): boolean {
  if (!pattern.includes('*')) return pattern === segment;
  const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`, 's').test(segment);
}

/**
 * Absolute path glob: `*` stands for one path segment (or part of one), `**` for one or more
 * whole segments. At least one, so `/var/lib/kubelet/pods/**` does not match the pods directory
 * itself (which holds every pod's volumes).
 */
export function matchesPathGlob(pattern: string, path: string): boolean {
  const want = normalisePath(pattern).split('/').filter(Boolean);
  const have = normalisePath(path).split('/').filter(Boolean);
  if (!pattern.startsWith('/') || !path.startsWith('/')) return false;
  const memo = new Map<string, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    let result = memo.get(key);
    if (result !== undefined) return result;
    if (i === want.length) result = j === have.length;
    else if (want[i] === '**') result = j < have.length && (match(i + 1, j + 1) || match(i, j + 1));
    else result = j < have.length && segmentMatches(want[i]!, have[j]!) && match(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return match(0, 0);
}

// ---- sensitive sources -------------------------------------------------------------------------

/** Why a path is sensitive, for the finding text. */
const SENSITIVE_WHY: Record<string, string> = {
  '/': 'the host root filesystem',
  '/etc': 'host configuration, including credentials',
  '/proc': 'host procfs: kernel knobs and every host process',
  '/sys': 'host sysfs: kernel and device knobs',
  '/dev': 'host device nodes',
  '/boot': 'host kernel and boot loader',
  '/root': "host root's home directory",
  '/run/containerd': 'containerd state and sockets',
  '/var/run/docker.sock': 'container runtime socket',
  '/run/docker.sock': 'container runtime socket',
  '/var/lib/kubelet': "kubelet state, including other pods' secrets",
  '/var/lib/containerd': 'containerd images and snapshots',
  '/var/lib/docker': 'docker state and images',
};

interface Exposure {
  entry: string;
  /** The checked path is the entry or below it (`within`), or an ancestor that exposes it. */
  relation: 'within' | 'contains';
}

function describeEntry(entry: string): string {
  return SENSITIVE_WHY[entry] ?? `sensitive host path ${entry}`;
}

/** The sensitive entry `path` exposes, unless an allowed glob covers it. Most specific first. */
function exposure(path: string, rule: MountsRule): Exposure | undefined {
  if (rule.allowedSources.some((glob) => matchesPathGlob(glob, path))) return undefined;
  const entries = rule.sensitiveSources.map(normalisePath);
  const within = entries.filter((e) => isWithin(path, e)).sort((a, b) => b.length - a.length)[0];
  if (within !== undefined) return { entry: within, relation: 'within' };
  const exposed = entries.find((e) => contains(path, e));
  return exposed === undefined ? undefined : { entry: exposed, relation: 'contains' };
}

/** The finding text for a source that exposes a sensitive path, or undefined when it is fine. */
function sourceProblem(source: string, resolved: string, rule: MountsRule): string | undefined {
  const literal = normalisePath(source);
  for (const checked of literal === resolved ? [literal] : [literal, resolved]) {
    const hit = exposure(checked, rule);
    if (hit === undefined) continue;
    const shown = checked === source ? source : `${source}, which resolves to ${checked}`;
    if (hit.relation === 'within') return `bind-mounts ${shown} (${describeEntry(hit.entry)})`;
    return `bind-mounts ${shown}, which contains ${hit.entry} (${describeEntry(hit.entry)})`;
  }
  return undefined;
}

// ---- per-mount checks --------------------------------------------------------------------------

const hasOption = (m: Mount, option: string) => (m.options ?? []).includes(option);

export function isBindMount(m: Mount): boolean {
  return m.type === 'bind' || hasOption(m, 'bind') || hasOption(m, 'rbind');
}

/** The host path a bind mount really shows: the shell's realpath, else the literal, normalised. */
function resolvedSource(source: string, host: HostFacts): string {
  return Object.hasOwn(host.realPaths, source) ? normalisePath(host.realPaths[source]!) : normalisePath(source);
}

/** Options that undo each other; runc applies them in order, so the last one wins. */
const OPPOSITE: Record<string, string> = { nosuid: 'suid', nodev: 'dev', noexec: 'exec', ro: 'rw' };

/** `options` with `option` present and its opposite gone (appended at the end when missing). */
function withOption(options: string[], option: string): string[] {
  const opposite = OPPOSITE[option];
  const kept = options.filter((o) => o !== opposite);
  return kept.includes(option) ? kept : [...kept, option];
}

const satisfied = (options: string[], option: string) => options.includes(option) && !options.includes(OPPOSITE[option] ?? '');

const PROPAGATION = new Set(['private', 'rprivate', 'slave', 'rslave', 'unbindable', 'runbindable']);
const SHARED = new Set(['shared', 'rshared']);

interface MountContext {
  index: number;
  rule: MountsRule;
  host: HostFacts;
  /** Option repairs (bind options, propagation, read-only system mounts): `action`. */
  r: Reporter;
  /** Sensitive sources: `sourcesAction`, else `action`. */
  rs: Reporter;
}

/** Destination problems cannot be repaired by a rewrite: refused unless the rule only warns. */
function checkDestination(m: Mount, ctx: MountContext): void {
  const path = `mounts[${ctx.index}].destination`;
  const as = ctx.rule.action === 'warn' ? 'warn' : 'deny';
  const dest = m.destination;
  if (!dest.startsWith('/')) ctx.r.report(path, `${JSON.stringify(dest)} is not an absolute path`, as);
  else if (dest.split('/').includes('..')) ctx.r.report(path, `${JSON.stringify(dest)} has a ".." segment`, as);
  if (m.type === 'proc' && normalisePath(dest) !== '/proc') {
    // maskedPaths and readonlyPaths only cover /proc: a second procfs elsewhere would show
    // /proc/kcore, /proc/sysrq-trigger and the rest unmasked.
    ctx.r.report(path, `mounts procfs at ${dest}, where maskedPaths and readonlyPaths do not reach`, as);
  }
}

/** Returns false when the mount must go (a sensitive or uncheckable source). */
function checkSource(m: Mount, ctx: MountContext): boolean {
  const path = `mounts[${ctx.index}].source`;
  const source = m.source ?? '';
  const resolved = resolvedSource(source, ctx.host);
  const problem = !resolved.startsWith('/')
    ? `is ${JSON.stringify(source)}, a relative path the host did not resolve, so it cannot be checked`
    : sourceProblem(source, resolved, ctx.rule);
  if (problem === undefined) return true;
  // There is no safe rewrite of a sensitive source: the only fix is to drop the mount.
  ctx.rs.report(path, ctx.rs.changes ? `${problem}; mount removed` : problem);
  return false;
}

/**
 * containerd binds the pod's shared-memory tmpfs (mounted nosuid,nodev,noexec) onto /dev/shm.
 * In a user namespace those flags are locked on the source, so a bind that drops noexec fails
 * with EPERM; and nothing needs to execute from shared memory anyway.
 */
function requiredBindOptions(m: Mount, ctx: MountContext): string[] {
  const shm = normalisePath(m.destination) === '/dev/shm';
  return shm && !ctx.rule.bindOptions.includes('noexec') ? [...ctx.rule.bindOptions, 'noexec'] : ctx.rule.bindOptions;
}

function requireBindOptions(options: string[], m: Mount, ctx: MountContext): string[] {
  // nodev on a bind of a device node (an allowed /dev/null, say) makes open() fail with EACCES.
  const onDevice = isWithin(resolvedSource(m.source ?? '', ctx.host), '/dev');
  const missing = requiredBindOptions(m, ctx).filter((o) => !satisfied(options, o) && !(o === 'nodev' && onDevice));
  if (missing.length === 0) return options;
  const what = `bind mount of ${m.source ?? ''} lacks ${missing.join(', ')}`;
  ctx.r.report(`mounts[${ctx.index}].options`, ctx.r.changes ? `${what}; added` : what);
  return missing.reduce(withOption, options);
}

function cutSharedPropagation(options: string[], ctx: MountContext): string[] {
  const shared = options.filter((o) => SHARED.has(o));
  if (shared.length === 0) return options;
  const what = `asks for ${shared.join(', ')} propagation: mounts made on either side would appear on the other`;
  ctx.r.report(`mounts[${ctx.index}].options`, ctx.r.changes ? `${what}; replaced with rprivate` : what);
  const at = options.findIndex((o) => SHARED.has(o));
  const kept = options.filter((o) => !SHARED.has(o));
  if (kept.some((o) => PROPAGATION.has(o))) return kept;
  return [...kept.slice(0, at), 'rprivate', ...kept.slice(at)];
}

function isSystemMount(m: Mount, host: HostFacts): boolean {
  if (m.type === 'sysfs' || m.type === 'cgroup' || m.type === 'cgroup2') return true;
  return isBindMount(m) && isWithin(resolvedSource(m.source ?? '', host), '/sys');
}

/**
 * A read-only bind of the host's /sys onto /sys is how a container in its own user namespace
 * gets a sysfs when it joins a network namespace owned by the host's user namespace (a CRI pod):
 * mounting a new sysfs there fails with EPERM. The user namespace pass writes exactly this; it
 * is allowed, and always read-only whatever readonlySystemMounts says.
 */
function isSysfsStandIn(m: Mount, ctx: MountContext): boolean {
  return isBindMount(m) && normalisePath(m.destination) === '/sys' && resolvedSource(m.source ?? '', ctx.host) === '/sys';
}

function requireReadonly(options: string[], m: Mount, ctx: MountContext): string[] {
  const required = isSysfsStandIn(m, ctx) || (ctx.rule.readonlySystemMounts && isSystemMount(m, ctx.host));
  if (!required || satisfied(options, 'ro')) return options;
  // A writable sysfs or cgroupfs lets a privileged container change host-wide kernel and cgroup
  // settings; the cgroup v1 release_agent escape (CVE-2022-0492) writes through such a mount.
  const what = `${isBindMount(m) ? `bind mount of ${m.source}` : `${m.type} mount`} at ${m.destination} is writable`;
  ctx.r.report(`mounts[${ctx.index}].options`, ctx.r.changes ? `${what}; made read-only` : what);
  return withOption(options, 'ro');
}

/** The mount as the profile wants it, the same object when nothing changes, or null to drop it. */
function hardenMount(m: Mount, ctx: MountContext): Mount | null {
  checkDestination(m, ctx);
  const bind = isBindMount(m);
  if (bind && !isSysfsStandIn(m, ctx) && !checkSource(m, ctx)) return ctx.rs.changes ? null : m;
  const before = m.options ?? [];
  let options = before;
  if (bind) options = requireBindOptions(options, m, ctx);
  options = cutSharedPropagation(options, ctx);
  options = requireReadonly(options, m, ctx);
  if (!ctx.r.changes || options === before) return m;
  return { ...m, options };
}

// ---- the pass ----------------------------------------------------------------------------------

export const mountsPass: Pass = (spec, profile, host) => {
  const rule = profile.rules.mounts;
  const r = reporter('mounts', rule.action);
  const rs = reporter('mounts', rule.sourcesAction ?? rule.action);
  const before = spec.mounts ?? [];
  const after: Mount[] = [];
  before.forEach((m, index) => {
    const hardened = hardenMount(m, { index, rule, host, r, rs });
    if (hardened !== null) after.push(hardened);
  });
  let next = spec;
  if (after.length !== before.length || after.some((m, i) => m !== before[i])) next = { ...spec, mounts: after };
  if (spec.linux?.rootfsPropagation === 'shared') {
    // A shared root lets mounts made in the container reach the host's mount namespace. The
    // runtime-spec 1.0.2 schema has no "rslave"; left unset, runc uses MS_SLAVE|MS_REC (rslave).
    const what = 'is "shared": mounts made in the container would propagate to the host';
    r.report('linux.rootfsPropagation', r.changes ? `${what}; removed, so the runtime's rslave default applies` : what);
    if (r.changes) {
      const { rootfsPropagation: _, ...linux } = spec.linux;
      next = { ...next, linux };
    }
  }
  return { spec: next, findings: [...rs.findings, ...r.findings] };
};
