// The shapes of the probe's JSON reports (integration/probe/probe.c) and their parsing.

export interface ErrnoReport {
  errno: string;
}

export interface IdsReport {
  uid: number;
  euid: number;
  suid: number;
  gid: number;
  egid: number;
  sgid: number;
  groups: number[];
  /** prctl(PR_GET_NO_NEW_PRIVS): works under gVisor too, unlike the status line. */
  noNewPrivs: number;
}

export type StatusField =
  | 'CapInh' | 'CapPrm' | 'CapEff' | 'CapBnd' | 'CapAmb' | 'NoNewPrivs' | 'Seccomp' | 'Seccomp_filters' | 'Uid' | 'Gid' | 'Groups';
export type NamespaceKind = 'user' | 'net' | 'pid' | 'mnt' | 'ipc' | 'uts' | 'cgroup' | 'time';

export interface MountReport {
  fstype: string;
  source: string;
  /** Per-mount options (ro, nosuid, nodev, noexec, relatime...). */
  options: string;
  /** Per-superblock options. */
  superOptions: string;
}

export interface MaskedReport {
  /** masked: /dev/null or an empty read-only tmpfs on it; absent: the kernel has no such path. */
  state: 'masked' | 'absent' | 'exposed' | 'empty' | 'denied' | 'error';
  how?: 'devnull' | 'ro-tmpfs' | 'empty-dir' | 'dir';
  errno?: string;
}

export interface ReadonlyReport {
  state: 'readonly' | 'writable' | 'absent' | 'error';
  mountReadonly?: boolean;
  /** errno of chmod(path, its own mode): EROFS on a read-only mount. */
  chmod?: string;
  errno?: string;
}

export interface SelfReport extends IdsReport {
  pid: number;
  hostname: string;
  uid_map: string[] | ErrnoReport;
  gid_map: string[] | ErrnoReport;
  status: Partial<Record<StatusField, string>>;
  ns: Record<NamespaceKind, string | null>;
  cgroup: string[] | ErrnoReport;
  mounts: Record<string, MountReport | null>;
  masked: Record<string, MaskedReport>;
  readonly: Record<string, ReadonlyReport>;
}

/** See the table in probe.c for what each verdict means per syscall. */
export type SyscallVerdict = 'allowed' | 'reached' | 'blocked' | 'blocked-or-denied' | 'enosys' | 'other' | 'killed' | 'probe-error';

export interface SyscallOutcome {
  /** The syscall a seccomp rule must name to block this attempt (socket for socket_raw). */
  syscall: string;
  ret?: number;
  errno?: string | null;
  verdict: SyscallVerdict;
  signal?: string;
}

export type SyscallReport = Record<string, SyscallOutcome>;

export interface ForkbombReport {
  requested: number;
  forked: number;
  errno: string | null;
  reaped: number;
}

export interface MembombReport {
  requested: number;
  allocated: number;
  errno: string | null;
}

export interface SetuidReport {
  path: string;
  mode: string | null;
  owner: number | null;
  before: IdsReport;
  after: IdsReport | null;
  execErrno?: string;
}

export class ProbeOutputError extends Error {
  readonly stdout: string;
  constructor(message: string, stdout: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProbeOutputError';
    this.stdout = stdout;
  }
}

/** The probe prints exactly one JSON object on one line; anything else is a harness failure. */
export function parseProbeOutput<T>(stdout: string): T {
  const line = stdout.trim();
  if (!line.startsWith('{')) throw new ProbeOutputError(`the probe printed no report: ${JSON.stringify(stdout.slice(0, 300))}`, stdout);
  try {
    return JSON.parse(line) as T;
  } catch (cause) {
    throw new ProbeOutputError(`the probe's report is not JSON: ${JSON.stringify(stdout.slice(0, 300))}`, stdout, { cause });
  }
}

export function isErrnoReport(value: unknown): value is ErrnoReport {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'errno' in value;
}
