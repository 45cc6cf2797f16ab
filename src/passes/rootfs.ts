// The container's root filesystem: it must lie inside the bundle, and may be forced read-only.
import type { Pass } from './types.js';
import { reporter } from './util.js';
import { posix } from 'node:path';

type Reporter = ReturnType<typeof reporter>;

/**
 * The pass cannot see the bundle directory, so an absolute root.path cannot be shown to lie
 * inside it and is refused (fail closed); a relative one is resolved against the bundle by the
 * runtime, so `..` segments that climb out of it are refused too. Symlinks inside the bundle are
 * the shell's business (it has the files).
 */
function checkPath(path: string, r: Reporter): void {
  if (path.startsWith('/')) {
    r.report('root.path', `escapes the bundle: ${path} is absolute, so it cannot be shown to lie inside the bundle`, 'deny');
    return;
  }
  const resolved = posix.normalize(path);
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
