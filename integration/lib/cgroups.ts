// Host cgroup facts and the cleanup of the cgroup directories test containers leave behind.
// Only `<hierarchy>/bulwark-test/<name>` (and what is below it) and then the `bulwark-test`
// parent when it is empty are ever removed: the host's other cgroups, including the one the
// test itself runs in, are never touched (HOST-NOTES: cgroups).
import { readdirSync, realpathSync, rmdirSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupParent } from './paths.js';

const CGROUP_ROOT = '/sys/fs/cgroup';
const CGROUP2_SUPER_MAGIC = 0x63677270;

export type CgroupMode = 'v1' | 'hybrid' | 'v2' | 'none';

function isCgroup2(path: string): boolean {
  try {
    return statfsSync(path).type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** v2: one unified hierarchy; hybrid: v1 controllers plus a v2 mount at unified/; v1: only v1. */
export function hostCgroupMode(): CgroupMode {
  if (!isDirectory(CGROUP_ROOT)) return 'none';
  if (isCgroup2(CGROUP_ROOT)) return 'v2';
  return isCgroup2(join(CGROUP_ROOT, 'unified')) ? 'hybrid' : 'v1';
}

/** The hierarchy roots: /sys/fs/cgroup itself on v2, each mounted controller directory on v1. */
function hierarchyRoots(): string[] {
  if (hostCgroupMode() === 'v2') return [CGROUP_ROOT];
  const roots = new Set<string>();
  let entries: string[] = [];
  try {
    entries = readdirSync(CGROUP_ROOT);
  } catch {
    return [];
  }
  for (const entry of entries) {
    const path = join(CGROUP_ROOT, entry);
    if (!isDirectory(path)) continue;
    try {
      roots.add(realpathSync(path)); // cpu -> cpu,cpuacct style symlinks name one hierarchy twice
    } catch {
      // vanished while we looked: nothing of ours can be there
    }
  }
  return [...roots];
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** rmdir a cgroup directory, children first; returns what could not be removed and why. */
function removeTree(dir: string): string[] {
  let children: string[];
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch (error) {
    return errorCode(error) === 'ENOENT' ? [] : [`${dir}: ${errorCode(error) ?? String(error)}`];
  }
  const problems = children.flatMap(removeTree);
  try {
    rmdirSync(dir);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') problems.push(`${dir}: ${errorCode(error) ?? String(error)}`);
  }
  return problems;
}

/**
 * Remove the cgroup directories of one test container (`/bulwark-test/<name>` in every
 * hierarchy), then each `bulwark-test` parent that is now empty. Returns the directories that
 * could not be removed (EBUSY: a process of that container still lives).
 */
export function removeTestCgroups(name: string): string[] {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new Error(`refusing to remove cgroups for a suspicious name: ${JSON.stringify(name)}`);
  }
  const problems: string[] = [];
  for (const root of hierarchyRoots()) {
    problems.push(...removeTree(join(root, cgroupParent, name)));
    try {
      rmdirSync(join(root, cgroupParent));
    } catch {
      // not empty (another test's container is there) or never created: leave it
    }
  }
  return problems;
}

/** Directories of a test cgroup that exist now, e.g. to check that a runtime created them. */
export function existingTestCgroups(name: string): string[] {
  return hierarchyRoots().map((root) => join(root, cgroupParent, name)).filter(isDirectory);
}
