// The container's root filesystem: never a host system directory, never outside the bundle
// when relative, and read-only when the profile says so.
import type { Pass } from './types.js';
import { reporter } from './util.js';
import { posix } from 'node:path';

type Reporter = ReturnType<typeof reporter>;

/** Host trees that are never a container's root filesystem. */
const SYSTEM_TREES = ['/proc', '/sys', '/dev'];
const SYSTEM_DIRS = ['/', '/etc', '/usr', '/boot', '/root', '/bin', '/sbin', '/lib', '/lib64', '/var', '/run', '/home'];

/**
 * A relative root.path is resolved against the bundle by the runtime, so `..` segments that
 * climb out of it are refused. An absolute one is normal (Docker, Podman and CRI-O pass
 * absolute rootfs paths) unless it is the host's own root or a system tree: a container whose
 * root is the host's `/` is the host. Symlinks are resolved by the bundle loader, which has the
 * files.
 */
function checkPath(path: string, r: Reporter): void {
  const resolved = posix.normalize(path);
  if (path.startsWith('/')) {
    const system = SYSTEM_DIRS.includes(resolved.replace(/\/+$/, '') || '/') || SYSTEM_TREES.some((t) => resolved === t || resolved.startsWith(`${t}/`));
    if (system) r.report('root.path', `is the host directory ${resolved}: a container's root must be its own filesystem`, 'deny');
    return;
  }
  if (resolved === '..' || resolved.startsWith('../')) {
    r.report('root.path', `escapes the bundle: ${path} resolves to ${resolved}`, 'deny');
  }
}

export const rootfsPass: Pass = (spec, profile) => {
  const rule = profile.rules.rootfs;
  const r = reporter('rootfs', rule.action);
  const root = spec.root;
  if (!root) {
    r.report('root', 'is missing: the container has no root filesystem to check', 'deny');
    return { spec, findings: r.findings };
  }
  checkPath(root.path, r);
  if (!rule.readonly || root.readonly === true) return { spec, findings: r.findings };
  const what = `${root.readonly === false ? 'is false' : 'is not set'}, so the root filesystem is writable`;
  r.report('root.readonly', r.changes ? `${what}; made read-only` : what);
  if (!r.changes) return { spec, findings: r.findings };
  return { spec: { ...spec, root: { ...root, readonly: true } }, findings: r.findings };
};
