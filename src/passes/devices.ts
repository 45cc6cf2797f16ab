// Devices: which device numbers the container may open (the device cgroup, linux.resources.devices)
// and which nodes the runtime creates in its /dev (linux.devices). An allow-all rule is what
// `--privileged` produces: with it, a container that can mknod reaches host disks and /dev/mem.
// Bind mounts of host device nodes are the mounts pass's concern.
import type { Pass } from './types.js';
import type { Device, DeviceCgroup } from '../spec/index.js';
import type { DevicesRule } from '../profile/types.js';
import { reporter } from './util.js';
import { normalisePath } from './mounts.js';

type Reporter = ReturnType<typeof reporter>;
type Int = number | bigint;

/**
 * The nodes runc creates by default, with their fixed numbers (Linux
 * Documentation/admin-guide/devices.txt: char 1 is mem/null/zero/..., char 5 tty/console/ptmx).
 */
const DEFAULT_NODES: Record<string, readonly [number, number]> = {
  '/dev/null': [1, 3],
  '/dev/zero': [1, 5],
  '/dev/full': [1, 7],
  '/dev/random': [1, 8],
  '/dev/urandom': [1, 9],
  '/dev/tty': [5, 0],
  '/dev/console': [5, 1],
  '/dev/ptmx': [5, 2],
};

/** Unix98 pty slaves (/dev/pts/N): runc itself always allows `c 136:* rwm`. */
const PTY_SLAVE_MAJOR = 136;

const DENY_ALL: DeviceCgroup = { allow: false, access: 'rwm' };

/** Absent or -1 means "any" for a device cgroup major/minor. */
const isWildcard = (v: Int | undefined) => v === undefined || v < 0;
const number = (v: Int | undefined) => (isWildcard(v) ? '*' : `${v}`);
/** Absent access is read as everything: runc refuses it, other runtimes may not. */
const access = (rule: DeviceCgroup) => rule.access ?? 'rwm';
const opens = (rule: DeviceCgroup) => /[rw]/.test(access(rule));
/** The kernel ignores major, minor and access for type `a`: it means every device. */
const everyType = (rule: DeviceCgroup) => rule.type === undefined || rule.type === 'a';

function describeRule(rule: DeviceCgroup): string {
  return `${rule.type ?? 'a'} ${number(rule.major)}:${number(rule.minor)} ${access(rule)}`;
}

/** Why an allow rule is too broad, or undefined when it is fine. */
function allowProblem(rule: DeviceCgroup): string | undefined {
  if (!rule.allow) return undefined;
  if (everyType(rule)) return `allows every device (${describeRule(rule)}), as a privileged container would`;
  // mknod alone (`m`, as in runc's own `c *:* m` and `b *:* m`) creates a node nobody may open.
  if (!opens(rule)) return undefined;
  if (rule.type === 'b') return `allows opening block devices (${describeRule(rule)}): raw access to host disks`;
  // `==` on purpose here and below: major and minor may arrive as bigint.
  const ptys = rule.type === 'c' && rule.major == PTY_SLAVE_MAJOR && isWildcard(rule.minor);
  if ((isWildcard(rule.major) || isWildcard(rule.minor)) && !ptys) {
    return `allows opening a whole range of devices (${describeRule(rule)})`;
  }
  return undefined;
}

const isDenyAll = (rule: DeviceCgroup | undefined) => rule !== undefined && !rule.allow && everyType(rule);

/** The device cgroup list with broad allows gone and a deny-all first; undefined if unchanged. */
function hardenDeviceCgroup(rules: DeviceCgroup[], r: Reporter): DeviceCgroup[] | undefined {
  const kept: DeviceCgroup[] = [];
  rules.forEach((rule, i) => {
    const problem = allowProblem(rule);
    if (problem === undefined) kept.push(rule);
    else r.report(`linux.resources.devices[${i}]`, r.changes ? `${problem}; removed` : problem);
  });
  let next = kept;
  if (!isDenyAll(kept[0])) {
    const what = 'does not start with a deny-all rule, so what is reachable depends on the runtime\'s default';
    r.report('linux.resources.devices', r.changes ? `${what}; prepended {allow: false, access: "rwm"}` : what);
    next = [DENY_ALL, ...kept];
  }
  return next.length === rules.length && next.every((rule, i) => rule === rules[i]) ? undefined : next;
}

/** Why a device node may not be created, or undefined when it may. */
function nodeProblem(device: Device, rule: DevicesRule): string | undefined {
  const path = normalisePath(device.path);
  const numbers = `${device.type} ${number(device.major)}:${number(device.minor)}`;
  if (device.type === 'b') return `creates block device ${device.path} (${numbers}): raw access to a host disk`;
  const standard = Object.hasOwn(DEFAULT_NODES, path) ? DEFAULT_NODES[path] : undefined;
  if (standard !== undefined) {
    const [major, minor] = standard;
    if (device.type === 'c' && device.major == major && device.minor == minor) return undefined;
    return `creates ${device.path} as ${numbers}, not the standard c ${major}:${minor}`;
  }
  if (rule.allowNodes.map(normalisePath).includes(path) && path.startsWith('/')) return undefined;
  return `creates device node ${device.path} (${numbers}), which is neither a runtime default nor allowed by the profile`;
}

function hardenNodes(devices: Device[], rule: DevicesRule, r: Reporter): Device[] | undefined {
  const kept = devices.filter((device, i) => {
    const problem = nodeProblem(device, rule);
    if (problem !== undefined) r.report(`linux.devices[${i}]`, r.changes ? `${problem}; removed` : problem);
    return problem === undefined;
  });
  return kept.length === devices.length ? undefined : kept;
}

export const devicesPass: Pass = (spec, profile) => {
  const rule = profile.rules.devices;
  const r = reporter('devices', rule.action);
  const linux = spec.linux ?? {};
  const cgroup = hardenDeviceCgroup(linux.resources?.devices ?? [], r);
  const nodes = hardenNodes(linux.devices ?? [], rule, r);
  if (!r.changes || (cgroup === undefined && nodes === undefined)) return { spec, findings: r.findings };
  const next = { ...linux };
  if (cgroup !== undefined) next.resources = { ...linux.resources, devices: cgroup };
  if (nodes !== undefined) next.devices = nodes;
  return { spec: { ...spec, linux: next }, findings: r.findings };
};
