// The matrix's columns: the control (bare runc and crun with `runc spec`'s config), and the
// shipped profiles through bin/bulwark-runtime-<profile>, the per-profile handler containerd
// calls (docs/CONTAINERD.md), each on runc and crun. audit (report-only) is a second control;
// kata runs on runc here only to show what its non-VM layers hold (see docs/SECURITY.md).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../../src/spec/index.js';
import { BulwarkHarness } from '../lib/bulwark.js';
import { addNamespace, findExecutable, openRuntime, RuntimeClient, runAs, setCapabilities, setNoNewPrivileges } from '../lib/index.js';
import { repoRoot } from '../lib/paths.js';

export type ColumnKind = 'control' | 'audit' | 'enforce';
export type Runtime = 'runc' | 'crun';

export interface Column {
  key: string;
  kind: ColumnKind;
  runtime: Runtime;
  profile?: string;
  /** Shown in the report: what this column is and is not. */
  note: string;
}

export const COLUMNS: readonly Column[] = [
  { key: 'control/runc', kind: 'control', runtime: 'runc', note: 'bare runc, `runc spec` config' },
  { key: 'control/crun', kind: 'control', runtime: 'crun', note: 'bare crun, `runc spec` config' },
  { key: 'audit/runc', kind: 'audit', runtime: 'runc', profile: 'audit', note: 'Bulwark in report-only mode: the pod spec runs as written' },
  { key: 'baseline/runc', kind: 'enforce', runtime: 'runc', profile: 'baseline', note: 'bulwark-runtime-baseline' },
  { key: 'baseline/crun', kind: 'enforce', runtime: 'crun', profile: 'baseline', note: 'bulwark-runtime-baseline' },
  { key: 'restricted/runc', kind: 'enforce', runtime: 'runc', profile: 'restricted', note: 'bulwark-runtime-restricted' },
  { key: 'restricted/crun', kind: 'enforce', runtime: 'crun', profile: 'restricted', note: 'bulwark-runtime-restricted' },
  { key: 'strict/runc', kind: 'enforce', runtime: 'runc', profile: 'strict', note: 'bulwark-runtime-strict' },
  { key: 'strict/crun', kind: 'enforce', runtime: 'crun', profile: 'strict', note: 'bulwark-runtime-strict' },
  { key: 'kata/runc', kind: 'enforce', runtime: 'runc', profile: 'kata', note: 'bulwark-runtime-kata on runc: no VM, no user namespace (not how kata is deployed)' },
];

/** The capabilities containerd's CRI plugin gives a pod by default (Docker's set). */
export const POD_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** The limits the pod asks for; the bombs must stop at them. */
export const POD_LIMITS = { pids: 128, memoryBytes: 64 * 1024 * 1024 };

/** Profiles that refuse root: the pod runs as this user there, as a pod for them would. */
const NON_ROOT_PROFILES = new Set(['restricted', 'strict']);
export const POD_USER = { uid: 1000, gid: 1000 };

function setLimits(spec: Spec): void {
  // Only memory.limit: the swap on top is Bulwark's to decide (baseline: none).
  spec.linux = { ...spec.linux, resources: { ...spec.linux?.resources, pids: { limit: POD_LIMITS.pids }, memory: { limit: POD_LIMITS.memoryBytes } } };
}

/**
 * The config each column's container starts from. The control gets `runc spec`'s config (the
 * issue's baseline for "what a bare runtime allows") with the pod's limits. Bulwark's columns
 * get what containerd would hand over for a Kubernetes pod: the CRI default capabilities,
 * allowPrivilegeEscalation's default (no_new_privs off), a writable root, the limits; a
 * non-root user and a cgroup namespace where the profile requires them.
 */
export function columnTweak(column: Column): (spec: Spec) => void {
  return (spec) => {
    setLimits(spec);
    if (column.kind === 'control') return;
    setCapabilities(spec, POD_CAPS);
    setNoNewPrivileges(spec, false);
    spec.root = { ...spec.root!, readonly: false };
    if (column.profile && NON_ROOT_PROFILES.has(column.profile)) {
      runAs(spec, POD_USER.uid, POD_USER.gid);
      addNamespace(spec, 'cgroup');
    }
    spec.annotations = { ...spec.annotations, 'io.bulwark.runtime': column.runtime };
  };
}

/** Clients for every column, over two private Bulwark configurations (enforcing and audit). */
export class ColumnClients {
  private readonly enforcing = new BulwarkHarness({ label: 'attacks' });
  private readonly auditing = new BulwarkHarness({ label: 'attacks-audit' });
  private readonly clients = new Map<string, RuntimeClient>();

  constructor() {
    // The operator's way to run every container in report-only mode: defaultProfile in config.yaml.
    appendFileSync(this.auditing.configPath, 'defaultProfile: audit\n');
  }

  client(column: Column): RuntimeClient {
    let client = this.clients.get(column.key);
    if (client) return client;
    if (column.kind === 'control') client = openRuntime(column.runtime);
    else if (column.kind === 'audit') client = this.auditing.client;
    else client = this.handler(column.profile!);
    this.clients.set(column.key, client);
    return client;
  }

  /** bin/bulwark-runtime-<profile> with the private config, the way containerd's binary mode calls it. */
  private handler(profile: string): RuntimeClient {
    const env = findExecutable('env') ?? '/usr/bin/env';
    const bin = join(repoRoot, 'bin', `bulwark-runtime-${profile}`);
    return new RuntimeClient({
      name: `bulwark-${profile}`,
      bin: env,
      globalArgs: ['-u', 'BULWARK_STATE_DIR', '-u', 'BULWARK_ENGINE', `BULWARK_CONFIG=${this.enforcing.configPath}`, bin],
      requires: [bin, env],
      notes: [`${bin} with BULWARK_CONFIG=${this.enforcing.configPath}`],
    });
  }

  async dispose(): Promise<void> {
    for (const client of this.clients.values()) await client.dispose();
    await this.enforcing.dispose();
    await this.auditing.dispose();
  }
}
