// A profile is data: which hardening rules apply and how strictly. Files under profiles/ are
// partial (they may `extends` another); `ResolvedProfile` is the merged, complete, validated form
// that the pure passes receive. Sizes arrive here already converted to bytes.

/** What a rule does when a config breaks it. `off` skips the rule entirely. */
export type RuleAction = 'fix' | 'deny' | 'warn' | 'off';

/** `enforce` applies fixes and denials; `audit` reports them and changes nothing. */
export type ProfileMode = 'enforce' | 'audit';

export interface Rule {
  action: RuleAction;
}

export interface UserNamespaceRule extends Rule {
  /** A config that already brings mappings: keep them when safe (`respect`) or always replace. */
  existingMappings: 'respect' | 'replace';
  /** Existing mappings outside the allocated pool are allowed only with this set. */
  allowMappingsOutsidePool: boolean;
  /** How the root filesystem is made to look owned by the image's IDs inside the namespace. */
  rootfs: 'idmap' | 'idmap-or-refuse' | 'none';
  /**
   * How bind-mounted host directories (volumes) are made to show their host owners inside the
   * namespace: an idmapped clone (`idmap`: bound as they are, with a warning, where that is
   * impossible; `idmap-or-refuse`: the container is refused), or never (`none`).
   */
  volumes: 'idmap' | 'idmap-or-refuse' | 'none';
}

export interface CgroupsRule extends Rule {
  memory: { default: number; max: number; /** bytes of swap allowed on top of memory */ swap: number };
  pids: { default: number; max: number };
  /** CPU ceiling in whole-CPU units (quota/period); 0 = no ceiling. */
  cpu: { maxCpus: number };
  /** cgroup v2 only: kill the whole container when one process is OOM-killed. */
  oomGroup: boolean;
}

export interface SeccompRuleConfig {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number | bigint; valueTwo?: number | bigint; op: string }>;
  /** Only emitted when the final bounding set holds all of these capabilities. */
  requiresCapabilities?: string[];
  comment?: string;
}

export interface SeccompFilter {
  defaultAction: string;
  defaultErrnoRet?: number;
  syscalls: SeccompRuleConfig[];
}

export interface SeccompRule extends Rule {
  /** Name of the filter under profiles/seccomp/ (resolved into `filter` by the loader). */
  profile: string;
  filter: SeccompFilter;
  /** Syscalls blocked whatever the config's own filter says. */
  deny: string[];
  /** errno returned for denied syscalls (EPERM = 1). */
  denyErrno: number;
  /** A config with its own filter: `merge` keeps it and adds the deny list; `replace` swaps ours in. */
  customFilters: 'merge' | 'replace';
}

export interface CapabilitiesRule extends Rule {
  /** The only capabilities a container may hold (all five sets). */
  allow: string[];
  /** Capabilities whose request is itself a finding with its own action (e.g. deny SYS_ADMIN). */
  deny: { action: RuleAction; names: string[] };
}

export interface NamespacesRule extends Rule {
  /** Namespaces every container must have its own of. A missing entry means "share the host's". */
  required: Array<'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup'>;
}

export interface MountsRule extends Rule {
  /**
   * Action for binds of sensitive sources; `action` then governs the repairable option rules
   * (bind options, propagation, read-only system mounts). Defaults to `action`.
   */
  sourcesAction?: RuleAction;
  /** Host paths that may not be bind-mounted (the path itself and everything under it). */
  sensitiveSources: string[];
  /** Glob exceptions (`*` one segment, `**` any depth) for sources under a sensitive path. */
  allowedSources: string[];
  /** Options every bind mount must carry. */
  bindOptions: string[];
  /** sysfs and cgroup mounts forced read-only. */
  readonlySystemMounts: boolean;
}

export interface ProcessRule extends Rule {
  runAsNonRoot: { action: RuleAction };
  /** Lowest oom_score_adj a container may ask for. */
  oomScoreAdjMin: number;
}

export interface DevicesRule extends Rule {
  /** Device nodes (container paths) a config may create, besides runc's defaults. */
  allowNodes: string[];
}

export interface PathsRule extends Rule {
  masked: string[];
  readonly: string[];
}

export interface HooksRule extends Rule {
  /** Absolute host paths of hook binaries that may run (as host root). */
  allow: string[];
}

export interface SysctlsRule extends Rule {
  /** Glob patterns of namespaced sysctls a container may set. */
  allow: string[];
}

export interface RlimitsRule extends Rule {
  /** Limits added when the config sets none (clamped to the host's hard limits). */
  defaults: Record<string, { soft: number; hard: number }>;
  /** Ceilings: a config above one is lowered (fix) or refused (deny). */
  max: Record<string, number>;
}

export interface LsmRule extends Rule {
  apparmorProfile: string;
  selinuxType: string;
}

export interface RootfsRule extends Rule {
  readonly: boolean;
}

export interface ProfileRules {
  userNamespace: UserNamespaceRule;
  namespaces: NamespacesRule;
  capabilities: CapabilitiesRule;
  noNewPrivileges: Rule;
  seccomp: SeccompRule;
  cgroups: CgroupsRule;
  mounts: MountsRule;
  process: ProcessRule;
  devices: DevicesRule;
  paths: PathsRule;
  hooks: HooksRule;
  sysctls: SysctlsRule;
  rlimits: RlimitsRule;
  lsm: LsmRule;
  rootfs: RootfsRule;
}

export type RuleName = keyof ProfileRules;

export interface ResolvedProfile {
  name: string;
  description: string;
  mode: ProfileMode;
  /** Profiles a container may switch to with the io.bulwark.profile annotation. */
  optIn: string[];
  /** The chain of files this profile was merged from, base first (for explanations). */
  sources: string[];
  rules: ProfileRules;
}
