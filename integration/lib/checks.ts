// Turning probe reports into facts a test can compare with `t.same`. Everything here is pure
// and written independently of Bulwark's own tables (src/): the harness is the second opinion,
// so it must not share the code it is meant to check.
import { readlinkSync } from 'node:fs';
import type {
  NamespaceKind, SelfReport, StatusField, SyscallOutcome, SyscallReport, SyscallVerdict,
} from './report.js';
import { isErrnoReport } from './report.js';

/** Capability names by bit number (include/uapi/linux/capability.h, up to Linux 5.9's 40). */
export const CAPABILITY_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Names of the bits set in a /proc status mask such as "00000000a80425fb", in bit order. */
export function capsFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) names.push(CAPABILITY_NAMES[bit] ?? `CAP_BIT_${bit}`);
  }
  return names;
}

export function maskFromCaps(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = CAPABILITY_NAMES.indexOf(name);
    if (bit < 0) throw new Error(`unknown capability ${name}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** The mask as /proc/<pid>/status prints it: 16 hex digits. */
export function maskHex(names: readonly string[]): string {
  return maskFromCaps(names).toString(16).padStart(16, '0');
}

/** Names in bit order, for comparing with capsFromMask(). */
export function sortCaps(names: readonly string[]): string[] {
  return [...new Set(names)].sort((a, b) => CAPABILITY_NAMES.indexOf(a) - CAPABILITY_NAMES.indexOf(b));
}

/** A status field (as a string) or an error naming what is missing, e.g. under gVisor. */
export function statusField(report: SelfReport, field: StatusField): string {
  const value = report.status[field];
  if (value === undefined) throw new Error(`/proc/self/status in the container has no ${field} line`);
  return value;
}

/** The five capability sets by name. */
export function capabilitySets(report: SelfReport): Record<'inheritable' | 'permitted' | 'effective' | 'bounding' | 'ambient', string[] | undefined> {
  const names = (field: StatusField) => (report.status[field] === undefined ? undefined : capsFromMask(report.status[field]!));
  return {
    inheritable: names('CapInh'),
    permitted: names('CapPrm'),
    effective: names('CapEff'),
    bounding: names('CapBnd'),
    ambient: names('CapAmb'),
  };
}

export interface IdMapEntry {
  containerID: number;
  hostID: number;
  size: number;
}

/** Lines of /proc/self/uid_map ("0 100000 65536") as runtime-spec style mappings. */
export function parseIdMap(lines: SelfReport['uid_map']): IdMapEntry[] {
  if (isErrnoReport(lines)) throw new Error(`the probe could not read the ID map: ${lines.errno}`);
  return lines.map((line) => {
    const [containerID, hostID, size] = line.trim().split(/\s+/).map(Number);
    if (containerID === undefined || hostID === undefined || size === undefined || [containerID, hostID, size].some(Number.isNaN)) {
      throw new Error(`not an ID map line: ${JSON.stringify(line)}`);
    }
    return { containerID, hostID, size };
  });
}

/** The initial user namespace's map: every ID maps to itself. */
export const IDENTITY_MAP: readonly IdMapEntry[] = [{ containerID: 0, hostID: 0, size: 4294967295 }];

export function isIdentityMap(map: readonly IdMapEntry[]): boolean {
  return map.length === 1 && map[0]!.containerID === 0 && map[0]!.hostID === 0 && map[0]!.size === 4294967295;
}

/** Where container ID `id` lives on the host, or undefined when it is not mapped. */
export function hostIdOf(map: readonly IdMapEntry[], id: number): number | undefined {
  const entry = map.find((e) => id >= e.containerID && id < e.containerID + e.size);
  return entry && entry.hostID + (id - entry.containerID);
}

/** "net:[4026531833]" -> 4026531833. */
export function nsInode(link: string | null | undefined): number | undefined {
  const match = link ? /\[(\d+)\]$/.exec(link) : null;
  return match ? Number(match[1]) : undefined;
}

const NAMESPACE_KINDS: readonly NamespaceKind[] = ['user', 'net', 'pid', 'mnt', 'ipc', 'uts', 'cgroup', 'time'];

/** The test process's own namespaces: on the host that runs the tests, the host's. */
export function hostNamespaces(): Record<NamespaceKind, string | null> {
  const out = {} as Record<NamespaceKind, string | null>;
  for (const kind of NAMESPACE_KINDS) {
    try {
      out[kind] = readlinkSync(`/proc/self/ns/${kind}`);
    } catch {
      out[kind] = null;
    }
  }
  return out;
}

/** Namespace kinds the container shares with the test process (i.e. the host). */
export function sharedNamespaces(report: SelfReport, host = hostNamespaces()): NamespaceKind[] {
  return NAMESPACE_KINDS.filter((kind) => report.ns[kind] !== null && report.ns[kind] !== undefined && report.ns[kind] === host[kind]);
}

/** /proc/self/cgroup lines as controller -> path ("" is the v2 hierarchy, "name=systemd" kept). */
export function cgroupPaths(report: SelfReport): Map<string, string> {
  if (isErrnoReport(report.cgroup)) throw new Error(`the probe could not read /proc/self/cgroup: ${report.cgroup.errno}`);
  const paths = new Map<string, string>();
  for (const line of report.cgroup) {
    const [, controllers, ...rest] = line.split(':');
    if (controllers === undefined) continue;
    const path = rest.join(':');
    for (const controller of controllers === '' ? [''] : controllers.split(',')) paths.set(controller, path);
  }
  return paths;
}

/** Per-mount options of the topmost mount at `target` inside the container. */
export function mountOptions(report: SelfReport, target: string): Set<string> {
  const mount = report.mounts[target];
  if (!mount) throw new Error(`the container has no mount at ${target}`);
  return new Set(mount.options.split(','));
}

/**
 * Masked-path problems: "path: state" for each path that is neither masked nor absent (with
 * allowAbsent; a path the kernel does not have cannot leak). [] means all masked.
 */
export function maskedProblems(report: SelfReport, paths = Object.keys(report.masked), allowAbsent = true): string[] {
  return paths.flatMap((path) => {
    const entry = report.masked[path];
    if (!entry) return [`${path}: not probed`];
    if (entry.state === 'masked' || (allowAbsent && entry.state === 'absent')) return [];
    return [`${path}: ${entry.state}${entry.how ? ` (${entry.how})` : ''}${entry.errno ? ` ${entry.errno}` : ''}`];
  });
}

/** Read-only-path problems, same convention as maskedProblems. */
export function readonlyProblems(report: SelfReport, paths = Object.keys(report.readonly), allowAbsent = true): string[] {
  return paths.flatMap((path) => {
    const entry = report.readonly[path];
    if (!entry) return [`${path}: not probed`];
    if (entry.state === 'readonly' || (allowAbsent && entry.state === 'absent')) return [];
    return [`${path}: ${entry.state}${entry.chmod ? ` (chmod: ${entry.chmod})` : ''}`];
  });
}

export type SyscallExpectation = SyscallVerdict | readonly SyscallVerdict[] | { errno: string };

function matches(outcome: SyscallOutcome, expected: SyscallExpectation): boolean {
  if (typeof expected === 'string') return outcome.verdict === expected;
  if (Array.isArray(expected)) return expected.includes(outcome.verdict);
  return outcome.errno === (expected as { errno: string }).errno;
}

function describe(outcome: SyscallOutcome | undefined): string {
  if (!outcome) return 'not tried';
  if (outcome.verdict === 'killed') return `killed by ${outcome.signal}`;
  return `${outcome.verdict} (${outcome.errno ?? `ret ${outcome.ret}`})`;
}

/** "name: got X, expected Y" for each syscall whose outcome differs. [] means all as expected. */
export function syscallProblems(report: SyscallReport, expected: Record<string, SyscallExpectation>): string[] {
  return Object.entries(expected).flatMap(([name, want]) => {
    const outcome = report[name];
    if (outcome && matches(outcome, want)) return [];
    return [`${name}: got ${describe(outcome)}, expected ${typeof want === 'object' && !Array.isArray(want) ? (want as { errno: string }).errno : String(want)}`];
  });
}
