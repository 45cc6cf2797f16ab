// Facts about the host a pass may depend on. The I/O shell probes them once per call
// (src/host/probe.ts); the pure passes receive them as a plain object, so tests write a literal.

export interface IdRange {
  /** First host ID of the block. */
  hostID: number;
  size: number;
}

export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface HostFacts {
  /** `uname -m` style: x86_64, aarch64, ... */
  arch: string;
  cgroup: {
    mode: CgroupMode;
    /** v2 controllers available to containers (empty on v1). */
    controllers: string[];
    /** Swap can be limited: memory.memsw.* (v1) or memory.swap.max (v2) exists. */
    swapAccounting: boolean;
  };
  userns: {
    supported: boolean;
    /** mount_setattr(MOUNT_ATTR_IDMAP) works (kernel >= 5.12). */
    idmapMounts: boolean;
  };
  /** The ID block allocated to this container's pod; null when none was allocated. */
  idAllocation: { uid: IdRange; gid: IdRange } | null;
  /** The configured pool that allocations come from. */
  idPool: IdRange | null;
  /** Blocks held by other live pods (a config's own mappings must not overlap them). */
  otherAllocations: IdRange[];
  /** Path of the pod sandbox's user namespace, when this container joins an existing pod. */
  podUserNamespace: string | null;
  /** seccomp return actions this kernel supports (SCMP_ACT_* names). */
  seccompActions: string[];
  /** The runtime's own hard rlimits (RLIMIT_* -> value): runc cannot grant more without CAP_SYS_RESOURCE. */
  rlimitHard: Record<string, number | bigint>;
  /** For each namespace path a config names: is it one of the host's initial namespaces? */
  namespacePaths: Record<string, 'host' | 'other' | 'missing'>;
  /** realpath() of every bind-mount source and hook path in the config (symlinks resolved). */
  realPaths: Record<string, string>;
  lsm: { apparmor: boolean; selinux: boolean };
  /**
   * The low-level runtime that will run this container and its `--version`, when the engine
   * knows it and a pass needs it (how runc joins namespaces changed in 1.3). Absent: unknown.
   */
  runtime?: { name: string; version: string | null };
}
