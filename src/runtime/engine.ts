// The runtime engine: what the native launcher hands over to for the subcommands that need
// policy (create, run, exec, update, features). It is a thin shell around the pure pipeline:
// load -> harden -> atomic write -> hand over to the low-level runtime. It decides and does the
// policy work; it does not exec: `run` returns an Outcome, and whoever called it (the cold entry
// src/runtime/main.ts, or the warm service for the launcher) performs the exec. Any failure
// means no write and no exec: one clear line in runc's log format, and a non-zero exit. It never
// runs a container unhardened, and on success it prints nothing (stdio belongs to the container).
import { closeSync, constants, existsSync, readFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { parseRuncArgs, bundleDir } from '../cli/runc-args.js';
import type { RuncInvocation } from '../cli/runc-args.js';
import { appendLogLine, denialMessage, formatLogLine } from '../cli/runc-log.js';
import { goKeyAmbiguities, loadConfig as loadBundle, writeFileAtomic, writeHardenedConfig } from '../bundle/io.js';
import { parseJson, stringifyJson } from '../json/lossless.js';
import { loadConfig as loadBulwarkConfig } from '../host/config.js';
import { openMakingDir } from '../host/dirs.js';
import type { BulwarkConfig } from '../host/config.js';
import { probeHost, probeKernel } from '../host/probe.js';
import type { KernelFacts, KernelProbes, IdFacts } from '../host/probe.js';
import { directorySource, loadProfile } from '../profile/load.js';
import { chooseProfile } from '../profile/select.js';
import type { ResolvedProfile, RuleName } from '../profile/types.js';
import { harden, PASSES } from '../pipeline.js';
import type { HardenResult } from '../pipeline.js';
import { joinsPodNetwork } from '../passes/user-namespace.js';
import type { Spec } from '../spec/index.js';
import { nodeAllocator, nodePool } from '../state/ids.js';
import type { IdAllocator, Pool } from '../state/ids.js';
import { chooseRuntime, RUNTIME_ANNOTATION } from './select-runtime.js';
import type { ResolvedRuntime } from './select-runtime.js';
import { podIdentity } from './pod.js';
import { readRecord, recordDir, writeDefaultRuntime, writeRecord } from './records.js';
import type { ContainerRecord } from './records.js';
import { collectForConfig, containerPresence, markCreating, processIdentity } from './gc.js';
import type { GcRecord } from './gc.js';
import { containerRootfsDir, prepareRootfs, removeContainerRootfs } from './rootfs-idmap.js';
import type { RootfsNative } from './rootfs-idmap.js';

/**
 * What the engine needs from the native addon: the kernel probes, and the mount calls for
 * idmapped root filesystems (a native without them makes the rootfs step fall back or refuse as
 * the profile says).
 */
export type EngineNative = KernelProbes & Partial<RootfsNative>;

/** What the caller of `Engine.run` must do next. */
export type Outcome =
  /** Hand over: execve(path, argv, env) keeping `keepFds` open; same pid, stdio and exit code. */
  | { kind: 'exec'; path: string; argv: string[]; env: string[]; keepFds: number[] }
  /** Done here (an error already reported, or `features` printed): exit with this code. */
  | { kind: 'exit'; code: number }
  /** The warm service cannot serve this call (it needs the caller's stdin/stdout): run it cold. */
  | { kind: 'cold'; reason: string };

/** Loaders the warm service replaces with caching ones; the cold path reads files every time. */
export interface EngineLoaders {
  config(env: NodeJS.ProcessEnv): BulwarkConfig;
  profile(profileDir: string, name: string): ResolvedProfile;
  /** `<runtime> --version`'s version number, or null when it cannot be read. */
  runtimeVersion(runtime: ResolvedRuntime): string | null;
  /** The container-independent host facts (kernel features, our limits). */
  kernel(probes: KernelProbes): KernelFacts;
  /** The node's ID pool: config's idPool, else the `bulwark` entries of /etc/subuid and /etc/subgid. */
  idPool(configured: BulwarkConfig['idPool']): Pool;
}

/** "runc version 1.1.5" / "crun version 1.8.1" -> "1.1.5" / "1.8.1". */
export function readRuntimeVersion(runtime: ResolvedRuntime): string | null {
  const r = spawnSync(runtime.path, [...runtime.args, '--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  return /\bversion\s+v?(\d+\.\d+[^\s]*)/.exec(r.stdout ?? '')?.[1] ?? null;
}

const readEveryTime: EngineLoaders = {
  config: (env) => loadBulwarkConfig(env),
  profile: (dir, name) => loadProfile(directorySource(dir), name),
  runtimeVersion: readRuntimeVersion,
  kernel: probeKernel,
  idPool: nodePool,
};

export interface EngineContext {
  native: EngineNative;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The name the runtime was called by (per-profile handlers are links named bulwark-runtime-<profile>). */
  argv0: string;
  now: () => Date;
  /** Write to the caller's stderr (failure only). */
  stderr: (text: string) => void;
  /** Write to stdout (`features` only: during create and exec stdout is the container's). */
  stdout: (text: string) => void;
  /** Run a command and capture its output (features, state lookups). */
  capture: (file: string, args: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /**
   * The process that will become the runtime (the launcher, when the warm service serves it);
   * default this process. GC trusts a create in progress while this process lives.
   */
  callerPid?: number;
  /** Served by the warm service: calls that read stdin or write stdout come back as `cold`. */
  served?: boolean;
  /** A profile forced by the caller (`bulwark harden --profile`), instead of the handler name's. */
  profile?: string;
  loaders?: EngineLoaders;
}

/** A refusal or failure to report in runc's format; `exitCode` 1 like runc's own errors. */
export class EngineFailure extends Error {
  override name = 'EngineFailure';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

type Resources = NonNullable<NonNullable<Spec['linux']>['resources']>;

/** Passes that concern the process alone: what `exec` must re-apply to containerd's process file. */
const PROCESS_RULES: ReadonlySet<RuleName> = new Set(['capabilities', 'noNewPrivileges', 'process', 'rlimits', 'lsm']);
/** Passes that bound an `update`'s resources. */
const RESOURCE_RULES: ReadonlySet<RuleName> = new Set(['cgroups', 'devices']);

/** The profile with every rule but `names` turned off, for re-checking one part of a container. */
function onlyRules(profile: ResolvedProfile, names: ReadonlySet<RuleName>): ResolvedProfile {
  const rules = Object.fromEntries(PASSES.map(([name]) => [name, names.has(name) ? profile.rules[name] : { ...profile.rules[name], action: 'off' }]));
  return { ...profile, rules: rules as unknown as ResolvedProfile['rules'] };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function profileFromArgv0(argv0: string): string | null {
  const base = argv0.slice(argv0.lastIndexOf('/') + 1);
  const m = /^(?:bulwark-runtime|runc)-([a-z0-9][a-z0-9-]*)$/.exec(base);
  return m ? m[1]! : null;
}


/** Append one JSON line to the audit log; a create that cannot be audited does not run. */
function audit(config: BulwarkConfig, entry: Record<string, unknown>): void {
  const fd = openMakingDir(config.auditLog, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, stringifyJson(entry, 0) + '\n');
  } finally {
    closeSync(fd);
  }
}

function runtimeArgv(runtime: ResolvedRuntime, argv: readonly string[]): string[] {
  return [runtime.path, ...runtime.args, ...argv];
}

export class Engine {
  private readonly loaders: EngineLoaders;

  constructor(private readonly ctx: EngineContext) {
    this.loaders = ctx.loaders ?? readEveryTime;
  }

  /** Entry point: what the caller must do next (exec the runtime, exit, or run the call cold). */
  async run(argv: string[]): Promise<Outcome> {
    const inv = parseRuncArgs(argv);
    try {
      switch (inv.command) {
        case 'create':
        case 'run':
        case 'restore': // restore builds a container from the bundle's config.json too
          return this.create(inv, argv);
        case 'exec':
          return this.exec(inv, argv);
        case 'update':
          return this.update(inv, argv);
        case 'features':
          if (this.ctx.served) return { kind: 'cold', reason: 'features writes to the caller\'s stdout' };
          return { kind: 'exit', code: await this.features(argv) };
        default:
          return this.passThrough(argv, inv);
      }
    } catch (err) {
      return { kind: 'exit', code: this.fail(inv, err) };
    }
  }

  /**
   * Harden a bundle in place and hand over to nobody: for shims that create the container
   * themselves (Kata's, through the shim proxy). Same load, policy, audit and atomic write as
   * `create`; no runtime record, no idmapped rootfs (the container does not run on this host's
   * kernel). Returns the exit code; a refusal is reported like create's.
   */
  hardenBundle(bundle: string, id: string): number {
    const inv = parseRuncArgs(['create', '--bundle', bundle, id]);
    try {
      this.prepareCreate(inv, false);
      return 0;
    } catch (err) {
      return this.fail(inv, err);
    }
  }

  /**
   * Harden one process (JSON of a runtime-spec Process) against the profile of the bundle's
   * container, for an exec the shim proxy forwards. Returns the hardened JSON text.
   */
  hardenProcessText(bundle: string, processText: string): { code: number; text?: string } {
    const inv = parseRuncArgs(['exec', 'x']);
    try {
      const { spec, profile } = this.bundleContext(bundle);
      const proc = parseRunnerJson(processText, 'process') as unknown as NonNullable<Spec['process']>;
      const result = this.hardenProcess({ ...spec, process: proc }, profile);
      if (result.decision === 'deny') throw new EngineFailure(denialMessage(profile.name, result.findings));
      return { code: 0, text: stringifyJson(result.spec.process) + '\n' };
    } catch (err) {
      return { code: this.fail(inv, err) };
    }
  }

  /** A bundle's (hardened) config and the profile that applies to it, for the harden-only entries. */
  private bundleContext(bundle: string): { spec: Spec; profile: ResolvedProfile } {
    const { spec } = loadBundle(bundle);
    const config = this.config();
    return { spec, profile: this.selectProfile(config, this.baseProfile(config), spec) };
  }

  private baseProfile(config: BulwarkConfig): ResolvedProfile {
    return this.loaders.profile(config.profileDir, this.ctx.profile ?? profileFromArgv0(this.ctx.argv0) ?? config.defaultProfile);
  }

  private selectProfile(config: BulwarkConfig, base: ResolvedProfile, spec: Spec): ResolvedProfile {
    const choice = chooseProfile(base.name, base.optIn, spec.annotations);
    if (!choice.ok) throw new EngineFailure(`bulwark: denied by profile ${base.name}: ${choice.reason}`);
    return choice.viaAnnotation ? this.loaders.profile(config.profileDir, choice.name) : base;
  }

  /** Paths in argv are relative to the caller's directory, which is not ours when served. */
  private resolvePath(path: string): string {
    return isAbsolute(path) ? path : resolvePath(this.ctx.cwd, path);
  }

  private fail(inv: RuncInvocation, err: unknown): number {
    const raw = err instanceof Error ? err.message : String(err);
    const message = raw.startsWith('bulwark: ') ? raw : `bulwark: ${raw}`;
    const line = message.replace(/\s*\n\s*/g, ' ');
    if (inv.global.log) {
      const format = inv.global.logFormat === 'json' ? 'json' : 'text';
      try {
        appendLogLine(this.resolvePath(inv.global.log), formatLogLine('error', line, format, this.ctx.now()));
      } catch {
        // The log is best effort; stderr below still carries the message.
      }
    }
    this.ctx.stderr(line + '\n');
    return err instanceof EngineFailure ? err.exitCode : 1;
  }

  private config(): BulwarkConfig {
    return this.loaders.config(this.ctx.env);
  }

  private handOver(runtime: ResolvedRuntime, argv: readonly string[], inv: RuncInvocation): Outcome {
    const env = Object.entries(this.ctx.env)
      .filter(([k]) => !k.startsWith('BULWARK_LAUNCHER') && !k.startsWith('NODE_'))
      .map(([k, v]) => `${k}=${v}`);
    return { kind: 'exec', path: runtime.path, argv: runtimeArgv(runtime, argv), env, keepFds: inheritedFds(inv, this.ctx.env) };
  }

  private passThrough(argv: string[], inv: RuncInvocation): Outcome {
    const config = this.config();
    const record = inv.id ? readRecord(config.stateDir, inv.global.root, inv.id) : null;
    const runtime = record?.runtime ?? chooseRuntime(config, undefined);
    return this.handOver(runtime, argv, inv);
  }

  private idFacts(config: BulwarkConfig, root: string | undefined, spec: Spec, containerId: string): { ids: IdFacts; podKey: string; allocation: number; allocator: IdAllocator } {
    const pod = podIdentity(spec.annotations, containerId);
    const allocator = nodeAllocator(config, (configured) => this.loaders.idPool(configured));
    const allocation = allocator.acquire(pod.key);
    let podUserNamespace: string | null = null;
    if (!pod.isSandbox) {
      // Containers of a pod join the sandbox's user namespace.
      const sandbox = readRecord(config.stateDir, root, pod.sandboxId!);
      if (sandbox?.initPid) podUserNamespace = `/proc/${sandbox.initPid}/ns/user`;
    }
    return {
      podKey: pod.key,
      allocation: allocation.index,
      allocator,
      ids: {
        idAllocation: { uid: allocation.range, gid: allocation.range },
        idPool: { hostID: allocator.pool.start, size: allocator.pool.size },
        otherAllocations: allocation.others,
        podUserNamespace,
      },
    };
  }

  /** Best effort: a create never fails because old state could not be cleaned up. */
  private collectGarbage(config: BulwarkConfig): void {
    try {
      collectForConfig(config, this.ctx.native.unmount ? { unmount: this.ctx.native.unmount } : null, this.ctx.now().getTime());
    } catch {
      // reported by `bulwark gc`, which runs the same collector
    }
  }

  private create(inv: RuncInvocation, argv: string[]): Outcome {
    const runtime = this.prepareCreate(inv, true)!;
    return this.handOver(runtime, argv, inv);
  }

  /**
   * Everything `create` does before the hand-over. `forRuntime` false (harden-only): no
   * runtime-side state (id check, idmapped rootfs, record), since no runtime of ours runs it.
   */
  private prepareCreate(inv: RuncInvocation, forRuntime: boolean): ResolvedRuntime | null {
    if (!inv.id) throw new EngineFailure(`bulwark: ${inv.command}: missing container id`);
    recordDir('/', inv.global.root, inv.id); // an unusable --root or id fails before anything is read
    const config = this.config();
    if (!this.ctx.served) this.collectGarbage(config); // the service collects off the hot path
    const loaded = loadBundle(bundleDir(inv, this.ctx.cwd) ?? this.ctx.cwd);
    const profile = this.selectProfile(config, this.baseProfile(config), loaded.spec);
    // Harden-only: the shim that asked runs the container, whatever runtimes this host has.
    const runtime = forRuntime ? chooseRuntime(config, loaded.spec.annotations) : null;
    const creating = markCreating(config.stateDir, podIdentity(loaded.spec.annotations, inv.id).key);
    let mountDir: string | null = null;
    try {
      const { ids, podKey, allocation, allocator } = this.idFacts(config, inv.global.root, loaded.spec, inv.id);
      const probed = probeHost(this.ctx.native, loaded.spec, ids, this.loaders.kernel(this.ctx.native));
      // Only a CNI sandbox needs the runtime's version (it costs a `--version` run when cold).
      const host = runtime && joinsPodNetwork(loaded.spec) ? { ...probed, runtime: { name: runtime.name, version: this.loaders.runtimeVersion(runtime) } } : probed;
      let result = harden(loaded.spec, profile, host);
      if (result.decision === 'allow' && forRuntime) {
        this.checkIdFree(config, runtime!, inv.global.root, inv.id);
        // After hardening (the mappings are final), before the audit and the write: the new
        // root.path is part of the hardened config the audit and `explain`-style diffs show.
        const rootfs = prepareRootfs({
          stateDir: config.stateDir, root: inv.global.root, id: inv.id, bundle: loaded.bundle, spec: result.spec, profile,
          native: this.ctx.native, kernelIdmap: host.userns.idmapMounts,
        });
        mountDir = rootfs.mountDir;
        const findings = [...result.findings, ...rootfs.findings];
        // Audit mode reports and refuses nothing, the rootfs step's findings included.
        const refused = profile.mode !== 'audit' && rootfs.findings.some((f) => f.action === 'deny');
        result = { ...result, spec: rootfs.spec, findings, decision: refused ? 'deny' : result.decision };
      }
      const hardenedText = stringifyJson(result.spec) + '\n';
      audit(config, {
        time: this.ctx.now().toISOString(),
        event: forRuntime ? inv.command : 'harden',
        via: this.ctx.served ? 'service' : 'cold',
        id: inv.id,
        pod: podIdentityForAudit(loaded.spec.annotations),
        profile: profile.name,
        mode: profile.mode,
        runtime: runtime?.name ?? 'shim',
        decision: result.decision,
        findings: result.findings,
        originalSha256: sha256(loaded.text),
        hardenedSha256: sha256(hardenedText),
      });
      if (result.decision === 'deny') throw new EngineFailure(denialMessage(profile.name, result.findings));
      // Audit mode hands the input back as it came: leave the file (and its bytes) alone.
      if (result.spec !== loaded.spec) writeHardenedConfig(loaded, hardenedText);
      if (!runtime) return null;
      const record: GcRecord = {
        id: inv.id, profile: profile.name, runtime, bundle: loaded.bundle, podKey, initPid: null, createdAt: this.ctx.now().toISOString(),
        // The caller becomes the runtime by execve: same pid, same start time.
        creator: processIdentity(this.ctx.callerPid ?? process.pid),
      };
      writeRecord(config.stateDir, inv.global.root, record, inv.options['pid-file'] as string | undefined, this.ctx.cwd);
      // A collector that judged this pod dead just before our mark could have released the block.
      if (allocator.lookup(podKey) !== allocation) {
        throw new EngineFailure(`bulwark: the ID block of pod ${podKey} was released while container ${inv.id} was being created; retry`);
      }
      // The warm service keeps this file current itself (at start and with each collection).
      if (!this.ctx.served) writeDefaultRuntime(config.stateDir, chooseRuntime(config, undefined));
    } catch (err) {
      if (mountDir) removeContainerRootfs(mountDir, this.ctx.native.unmount ? { unmount: this.ctx.native.unmount } : null);
      throw err;
    } finally {
      creating.done();
    }
    return runtime;
  }

  /**
   * Bulwark's mounts for a container id are replaced on create, so an id the runtime still has
   * must not get that far (runc would refuse it anyway, after we had unmounted its rootfs).
   */
  private checkIdFree(config: BulwarkConfig, runtime: ResolvedRuntime, root: string | undefined, id: string): void {
    if (!existsSync(containerRootfsDir(config.stateDir, root, id))) return;
    const presence = containerPresence(runtime, root, id);
    if (presence === 'present') throw new EngineFailure(`bulwark: container ${id} already exists`);
    if (presence === 'unknown') throw new EngineFailure(`bulwark: cannot tell whether container ${id} still exists in ${runtime.name}; refusing to replace its root filesystem mounts (run bulwark gc)`);
  }

  /** The container's record and hardened config, for exec and update. */
  private containerContext(inv: RuncInvocation): { config: BulwarkConfig; record: ContainerRecord; spec: Spec; profile: ResolvedProfile } {
    const id = inv.id;
    if (!id) throw new EngineFailure('bulwark: missing container id');
    const config = this.config();
    const record = readRecord(config.stateDir, inv.global.root, id);
    if (!record) throw new EngineFailure(`bulwark: container ${id} was not created by Bulwark (no record in ${config.stateDir}); refusing to run it unhardened`);
    const spec = loadBundle(record.bundle).spec;
    const profile = this.loaders.profile(config.profileDir, record.profile);
    return { config, record, spec, profile };
  }

  private hostFactsFor(spec: Spec): ReturnType<typeof probeHost> {
    const own = spec.linux?.uidMappings?.[0];
    const gid = spec.linux?.gidMappings?.[0];
    const ids: IdFacts = {
      idAllocation: own && gid ? { uid: { hostID: own.hostID, size: own.size }, gid: { hostID: gid.hostID, size: gid.size } } : null,
      idPool: null,
      otherAllocations: [],
      podUserNamespace: null,
    };
    return probeHost(this.ctx.native, spec, ids, this.loaders.kernel(this.ctx.native));
  }

  /** Re-apply the process rules to an exec'd process, as the profile would on create. */
  private hardenProcess(spec: Spec, profile: ResolvedProfile): HardenResult {
    return harden(spec, onlyRules(profile, PROCESS_RULES), this.hostFactsFor(spec));
  }

  private exec(inv: RuncInvocation, argv: string[]): Outcome {
    const { spec, profile, record } = this.containerContext(inv);
    const newArgv = [...argv];
    const processFile = inv.options.process as string | undefined;
    if (processFile) {
      const text = readFileSync(this.resolvePath(processFile), 'utf8');
      const proc = parseRunnerJson(text, processFile) as unknown as NonNullable<Spec['process']>;
      const result = this.hardenProcess({ ...spec, process: proc }, profile);
      if (result.decision === 'deny') throw new EngineFailure(denialMessage(profile.name, result.findings));
      if (result.findings.some((f) => f.action === 'fix')) writeFileAtomic(this.resolvePath(processFile), stringifyJson(result.spec.process) + '\n', 0o600);
    }
    // Inline flags runc applies on top of the container's (hardened) process.
    const caps = inv.options.cap;
    const requested = Array.isArray(caps) ? caps : typeof caps === 'string' ? [caps] : [];
    if (requested.length > 0) {
      const asProcess = { ...spec.process!, capabilities: { bounding: requested, effective: requested, permitted: requested } };
      const result = this.hardenProcess({ ...spec, process: asProcess }, profile);
      if (result.decision === 'deny') throw new EngineFailure(denialMessage(profile.name, result.findings));
      const kept = new Set(result.spec.process?.capabilities?.bounding ?? []);
      removeFlagValues(newArgv, inv.commandIndex, ['--cap', '-c'], (v) => !kept.has(v));
    }
    const apparmor = inv.options.apparmor;
    if (apparmor === 'unconfined') throw new EngineFailure(`bulwark: denied by profile ${profile.name}: exec --apparmor unconfined`);
    if (inv.options['process-label'] && /:(spc_t|unconfined_t):/.test(String(inv.options['process-label']))) {
      throw new EngineFailure(`bulwark: denied by profile ${profile.name}: exec --process-label ${String(inv.options['process-label'])}`);
    }
    if (inv.options.user !== undefined && profile.rules.process.runAsNonRoot.action === 'deny' && /^0(:|$)/.test(String(inv.options.user))) {
      throw new EngineFailure(`bulwark: denied by profile ${profile.name}: exec --user 0 (runAsNonRoot)`);
    }
    return this.handOver(record.runtime, newArgv, inv);
  }

  /**
   * Requested resources merged onto the container's hardened ones and run through the cgroups
   * and devices rules: an update may lower limits, never lift one above the profile's ceiling.
   */
  private clampResources(spec: Spec, profile: ResolvedProfile, requested: Resources): HardenResult {
    const current = spec.linux?.resources ?? {};
    const merged = {
      ...current,
      ...requested,
      memory: { ...current.memory, ...requested.memory },
      cpu: { ...current.cpu, ...requested.cpu },
      ...(requested.pids ? { pids: requested.pids } : current.pids ? { pids: current.pids } : {}),
    };
    const result = harden({ ...spec, linux: { ...spec.linux, resources: merged } }, onlyRules(profile, RESOURCE_RULES), this.hostFactsFor(spec));
    if (result.decision === 'deny') throw new EngineFailure(denialMessage(profile.name, result.findings));
    return result;
  }

  /**
   * Clamp a LinuxResources update (JSON) for the container of `bundle`, for shims that apply
   * updates themselves (Kata's, through the shim proxy). Returns the resources to apply.
   */
  hardenResourcesText(bundle: string, resourcesText: string): { code: number; text?: string } {
    const inv = parseRuncArgs(['update', 'x']);
    try {
      const { spec, profile } = this.bundleContext(bundle);
      const requested = parseRunnerJson(resourcesText, 'resources') as Resources;
      const result = this.clampResources(spec, profile, requested);
      return { code: 0, text: stringifyJson(result.spec.linux?.resources ?? {}) + '\n' };
    } catch (err) {
      return { code: this.fail(inv, err) };
    }
  }

  private update(inv: RuncInvocation, argv: string[]): Outcome {
    const resourcesFile = inv.options.resources as string | undefined;
    if (resourcesFile === '-' && this.ctx.served) return { kind: 'cold', reason: 'update -r - reads the caller\'s stdin' };
    const { config, spec, profile, record } = this.containerContext(inv);
    const newArgv = [...argv];
    let requested: Resources = {};
    if (resourcesFile) {
      const text = resourcesFile === '-' ? readFileSync(0, 'utf8') : readFileSync(this.resolvePath(resourcesFile), 'utf8');
      requested = parseRunnerJson(text, resourcesFile) as typeof requested;
    }
    const num = (flag: string) => (typeof inv.options[flag] === 'string' ? parseUpdateNumber(inv.options[flag] as string) : undefined);
    const memory = { ...requested.memory };
    if (num('memory') !== undefined) memory.limit = num('memory');
    if (num('memory-swap') !== undefined) memory.swap = num('memory-swap');
    const pids = num('pids-limit') !== undefined ? { limit: num('pids-limit')! } : requested.pids;
    const cpu = { ...requested.cpu };
    if (num('cpu-quota') !== undefined) cpu.quota = num('cpu-quota');
    if (num('cpu-period') !== undefined) cpu.period = num('cpu-period');
    const result = this.clampResources(spec, profile, { ...requested, memory, cpu, ...(pids ? { pids } : {}) });
    // Stdin read here is gone for runc, so a `-r -` request is always handed over as a file.
    if (result.findings.some((f) => f.action === 'fix') || resourcesFile === '-') {
      // Hand runc one resources file holding the clamped values instead of the flags.
      const fixed = result.spec.linux?.resources ?? {};
      const file = join(recordDir(config.stateDir, inv.global.root, record.id), `update-${process.pid}.json`);
      writeFileAtomic(file, stringifyJson(fixed) + '\n', 0o600);
      const idIndex = newArgv.lastIndexOf(record.id);
      const kept = newArgv.slice(0, inv.commandIndex + 1);
      newArgv.splice(0, newArgv.length, ...kept, '--resources', file, ...argv.slice(idIndex));
    }
    return this.handOver(record.runtime, newArgv, inv);
  }

  /** runc's features, plus what Bulwark adds (its annotations) and enforces. */
  private async features(argv: string[]): Promise<number> {
    const config = this.config();
    const runtime = chooseRuntime(config, undefined);
    const out = await this.ctx.capture(runtime.path, [...runtime.args, ...argv]);
    if (out.exitCode !== 0) {
      this.ctx.stderr(out.stderr);
      return out.exitCode;
    }
    const features = parseJson(out.stdout) as Record<string, unknown>;
    const annotations = { ...(features.annotations as Record<string, string> | undefined) };
    annotations['io.bulwark.version'] = BULWARK_VERSION;
    annotations['io.bulwark.runtime'] = runtime.name;
    annotations['io.bulwark.profile.default'] = config.defaultProfile;
    annotations['io.bulwark.annotations'] = ['io.bulwark.profile', RUNTIME_ANNOTATION].join(',');
    this.ctx.stdout(stringifyJson({ ...features, annotations }) + '\n');
    return 0;
  }
}

export const BULWARK_VERSION = '0.1.0';

/**
 * Descriptors the caller hands to the runtime: `--preserve-fds N` (3..3+N-1) and socket
 * activation's LISTEN_FDS. Node marks everything it inherited close-on-exec, so these must be
 * named or runc would not receive them.
 */
export function inheritedFds(inv: RuncInvocation, env: NodeJS.ProcessEnv): number[] {
  const count = (v: unknown) => {
    const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : 0;
    return Math.min(n, 1 << 16);
  };
  const n = Math.max(count(inv.options['preserve-fds']), count(env.LISTEN_FDS));
  return Array.from({ length: n }, (_, i) => 3 + i);
}

function podIdentityForAudit(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!annotations) return undefined;
  const keys = ['io.kubernetes.cri.container-type', 'io.kubernetes.cri.sandbox-id', 'io.kubernetes.cri.sandbox-name', 'io.kubernetes.cri.sandbox-namespace', 'io.kubernetes.cri.container-name'];
  const out: Record<string, string> = {};
  for (const k of keys) if (annotations[k] !== undefined) out[k.replace('io.kubernetes.cri.', '')] = annotations[k]!;
  return Object.keys(out).length ? out : undefined;
}

/**
 * Parse a JSON document the runtime will read too (exec's process, update's resources): a key
 * that Go's case-insensitive decoder would take for a field other than the one we checked is
 * refused, exactly as in config.json (src/bundle/io.ts).
 */
function parseRunnerJson(text: string, what: string): unknown {
  const value = parseJson(text);
  const ambiguous = goKeyAmbiguities(value);
  if (ambiguous.length > 0) throw new EngineFailure(`bulwark: ${what}: ${ambiguous[0]}`);
  return value;
}

/** runc update accepts sizes like 512m; the engine needs bytes to compare with ceilings. */
export function parseUpdateNumber(value: string): number | bigint {
  const m = /^(-?[0-9]+)([kKmMgGtT])?[bB]?$/.exec(value.trim());
  if (!m) throw new EngineFailure(`bulwark: update: cannot read "${value}"`);
  const mult: Record<string, bigint> = { k: 1024n, m: 1024n ** 2n, g: 1024n ** 3n, t: 1024n ** 4n };
  const n = BigInt(m[1]!) * (m[2] ? mult[m[2].toLowerCase()]! : 1n);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;
}

/** Drop `--flag value` / `--flag=value` pairs (after the subcommand) whose value matches. */
function removeFlagValues(argv: string[], from: number, names: string[], drop: (value: string) => boolean): void {
  for (let i = from + 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!names.includes(name)) {
      if (!arg.startsWith('-')) return; // the id: flags end here
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[i + 1];
    if (value !== undefined && drop(value)) {
      argv.splice(i, eq > 0 ? 1 : 2);
      i--;
    } else if (eq < 0) {
      i++;
    }
  }
}

