// bin/bulwark: the admin CLI. `explain` shows what a profile does to a config and why;
// `profiles` lists the profiles; `check` validates a profile file.
// Exit codes: 0 allowed / ok, 3 denied, 2 bad input.
import { statSync, writeSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadConfig as loadBundle, loadConfigFile } from '../bundle/io.js';
import { loadConfig as loadBulwarkConfig } from '../host/config.js';
import { probeHost } from '../host/probe.js';
import type { KernelProbes } from '../host/probe.js';
import type { HostFacts } from '../host/types.js';
import { stringifyJson } from '../json/lossless.js';
import { directorySource, loadProfile } from '../profile/load.js';
import { chooseProfile } from '../profile/select.js';
import { harden } from '../pipeline.js';
import { blockRange, resolvePool } from '../state/ids.js';
import { diffConfigs, formatDiff } from './diff.js';
import { formatFindings, pad } from './report.js';
import { takeFlag, takeValue, UsageError } from './flags.js';
import { readFileSync } from 'node:fs';
import type { Engine } from '../runtime/engine.js';

const EXIT_OK = 0;
const EXIT_BAD_INPUT = 2;
const EXIT_DENIED = 3;

const out = (text: string) => writeSync(1, text);
const err = (text: string) => writeSync(2, text);


const USAGE = `usage: bulwark <command> [options]

commands:
  explain [--profile NAME] [--json] <config.json | bundle-dir>
                      show the findings and the diff a profile makes to a config
  profiles            list the available profiles
  check PROFILE_FILE  validate a profile file (and the profiles it extends)
  doctor              what this node has: cgroups, user namespaces, idmapped mounts, seccomp,
                      runtimes, the ID pool (and kubelet's range), containerd registration
  gc [--json]         remove state of containers the low-level runtime no longer has (records,
                      idmapped rootfs mounts, ID blocks); exit 1 when something had to stay
  install containerd [--config PATH] [--mode binary|shim] [--handler NAME] [--profiles a,b]
                     [--kata] [--shim-dir DIR] [--dry-run]
                      register Bulwark's runtime handlers (one per profile) in containerd's CRI
                      config (versions 2 and 3), after a backup; --dry-run prints the diff
  uninstall containerd [--config PATH] [--shim-dir DIR] [--dry-run]
                      remove them again (the backup's exact bytes come back when nothing else changed)
  install docker [--config PATH] [--handler NAME] [--dry-run]
  uninstall docker [--config PATH] [--dry-run]
                      the same for /etc/docker/daemon.json "runtimes"
  serve [--socket PATH]
                      run the warm policy service the runtime launcher calls for create and exec
                      (default socket <stateDir>/engine.sock; systemd socket activation works)
  harden --bundle DIR --id ID [--profile NAME]
                      harden a bundle's config.json in place, as create would, without running
                      it (for shims that create the container themselves, e.g. Kata's)
  harden-process --bundle DIR [--profile NAME]
                      harden the runtime-spec Process JSON on stdin for an exec into the bundle's
                      container; the hardened JSON goes to stdout
  harden-resources --bundle DIR [--profile NAME]
                      clamp the runtime-spec LinuxResources JSON on stdin (an update of the bundle's
                      container) to the profile's ceilings; the resources to apply go to stdout
  help                this text

environment: BULWARK_CONFIG (default /etc/bulwark/config.yaml)
`;

/** Kernel probes for `explain`: the native addon when built, else a plain cgroup v2 host. */
async function kernelProbes(): Promise<KernelProbes | null> {
  try {
    const { loadNative } = await import('../native/index.js');
    return loadNative();
  } catch {
    return null;
  }
}

function fallbackHost(): HostFacts {
  return {
    arch: 'x86_64',
    cgroup: { mode: 'v2', controllers: ['cpu', 'memory', 'pids', 'io'], swapAccounting: true },
    userns: { supported: true, idmapMounts: true },
    idAllocation: null,
    idPool: null,
    otherAllocations: [],
    podUserNamespace: null,
    seccompActions: ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_ALLOW', 'SCMP_ACT_NOTIFY'],
    rlimitHard: {},
    namespacePaths: {},
    realPaths: {},
    lsm: { apparmor: false, selinux: false },
  };
}


async function explain(args: string[]): Promise<number> {
  const json = takeFlag(args, '--json');
  const profileName = takeValue(args, '--profile');
  if (args.length !== 1) throw new UsageError('explain takes one config.json or bundle directory');
  const target = resolve(args[0]!);
  let isDir = false;
  try {
    isDir = statSync(target).isDirectory();
  } catch {
    // a missing file is reported by the loader, with its errno
  }
  const loaded = isDir ? loadBundle(target) : loadConfigFile(target, dirname(target));
  const config = loadBulwarkConfig();
  const source = directorySource(config.profileDir);
  const base = loadProfile(source, profileName ?? config.defaultProfile);
  const choice = chooseProfile(base.name, base.optIn, loaded.spec.annotations);
  const profile = choice.ok && choice.viaAnnotation ? loadProfile(source, choice.name) : base;

  const pool = resolvePool(config.idPool, null, null);
  const ids = {
    // explain reserves nothing: it shows the pool's first block as a stand-in.
    idAllocation: { uid: blockRange(pool, 0), gid: blockRange(pool, 0) },
    idPool: { hostID: pool.start, size: pool.size },
    otherAllocations: [],
    podUserNamespace: null,
  };
  const probes = await kernelProbes();
  const host = probes ? probeHost(probes, loaded.spec, ids) : { ...fallbackHost(), ...ids };
  const result = harden(loaded.spec, profile, host);
  const findings = choice.ok ? result.findings : [{ rule: 'profile', path: 'annotations', action: 'deny' as const, message: choice.reason }, ...result.findings];
  const decision = choice.ok ? result.decision : 'deny';

  if (json) {
    out(stringifyJson({ profile: profile.name, decision, findings, config: result.spec }) + '\n');
  } else {
    out(`profile: ${profile.name} (${profile.mode}; from ${profile.sources.join(' <- ')})\n`);
    out(`host: ${probes ? 'probed' : 'assumed cgroup v2 (native addon not built)'}; cgroup ${host.cgroup.mode}; user ID block ${ids.idAllocation.uid.hostID}+${ids.idAllocation.uid.size} (example, not reserved)\n`);
    out(`decision: ${decision.toUpperCase()}${profile.mode === 'audit' ? ' (audit mode: nothing changed)' : ''}\n\n`);
    out(formatFindings(findings));
    const diff = diffConfigs(loaded.spec, result.spec);
    out(`\nconfig diff (${diff.length} change${diff.length === 1 ? '' : 's'}):\n${diff.length ? formatDiff(diff) + '\n' : '(none)\n'}`);
  }
  return decision === 'deny' ? EXIT_DENIED : EXIT_OK;
}

function profiles(): number {
  const config = loadBulwarkConfig();
  const source = directorySource(config.profileDir);
  for (const name of source.list()) {
    try {
      const p = loadProfile(source, name);
      out(`${pad(name, 12)} ${pad(p.mode, 8)} ${p.description}${name === config.defaultProfile ? ' [default]' : ''}\n`);
    } catch (e) {
      out(`${pad(name, 12)} INVALID  ${(e as Error).message}\n`);
    }
  }
  return EXIT_OK;
}

function check(args: string[]): number {
  if (args.length !== 1) throw new UsageError('check takes one profile file');
  const file = resolve(args[0]!);
  readFileSync(file); // a clear ENOENT before anything else
  const name = basename(file).replace(/\.(ya?ml|json)$/, '');
  const p = loadProfile(directorySource(dirname(file)), name);
  out(`${file}: ok (profile ${p.name}, ${p.mode}, from ${p.sources.join(' <- ')})\n`);
  return EXIT_OK;
}

async function runDoctor(args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError('doctor takes no arguments');
  const { doctor } = await import('./doctor.js');
  const report = await doctor();
  out(report.lines.join('\n') + '\n');
  return report.ok ? EXIT_OK : 1;
}

async function gc(args: string[]): Promise<number> {
  const json = takeFlag(args, '--json');
  if (args.length > 0) throw new UsageError('gc takes only --json');
  const { collectForConfig } = await import('../runtime/gc.js');
  const config = loadBulwarkConfig();
  const probes = await kernelProbes();
  const native = probes && 'unmount' in probes ? (probes as { unmount(target: string, flags: number): void }) : null;
  const report = collectForConfig(config, native);
  if (json) {
    out(JSON.stringify(report) + '\n');
  } else {
    out(`state: ${config.stateDir}\n`);
    if (report.skipped) out(`skipped: ${report.skipped}\n`);
    out(`containers kept: ${report.kept}; removed: ${report.removed.length}${report.removed.length ? ` (${report.removed.join(', ')})` : ''}\n`);
    out(`mounts detached: ${report.unmounted.length}${report.unmounted.length ? ` (${report.unmounted.join(', ')})` : ''}\n`);
    out(`pods released: ${report.released.length}${report.released.length ? ` (${report.released.join(', ')})` : ''}; other blocks reclaimed: ${report.reclaimed.length}\n`);
    for (const p of report.problems) out(`problem: ${p}\n`);
  }
  return report.problems.length > 0 ? 1 : EXIT_OK;
}

async function install(verb: 'install' | 'uninstall', args: string[]): Promise<number> {
  const [target, ...rest] = args;
  const cli = await import('../install/cli.js');
  const io = { out, err, now: () => new Date() };
  try {
    if (target === 'containerd') return verb === 'install' ? cli.installContainerdCommand(rest, io) : cli.uninstallContainerdCommand(rest, io);
    if (target === 'docker') return verb === 'install' ? cli.installDockerCommand(rest, io) : cli.uninstallDockerCommand(rest, io);
  } catch (e) {
    throw e;
  }
  throw new UsageError(`${verb} takes containerd or docker`);
}

/** An engine for the harden commands: the same one the runtime runs, minus the hand-over. */
async function hardenEngine(profile: string | undefined) {
  const { Engine } = await import('../runtime/engine.js');
  const { loadNative } = await import('../native/index.js');
  return new Engine({
    native: loadNative(),
    env: process.env,
    cwd: process.cwd(),
    argv0: 'bulwark',
    now: () => new Date(),
    stderr: err,
    stdout: out,
    capture: () => Promise.reject(new Error('not available')),
    ...(profile ? { profile } : {}),
  });
}

async function hardenCommand(args: string[]): Promise<number> {
  const bundle = takeValue(args, '--bundle');
  const id = takeValue(args, '--id');
  const profile = takeValue(args, '--profile');
  if (!bundle || !id || args.length > 0) throw new UsageError('harden takes --bundle DIR --id ID [--profile NAME]');
  return (await hardenEngine(profile)).hardenBundle(resolve(bundle), id);
}

/** harden-process / harden-resources: a JSON document on stdin, its hardened form on stdout. */
async function hardenStdinCommand(command: string, args: string[], harden: (engine: Engine, bundle: string, text: string) => { code: number; text?: string }): Promise<number> {
  const bundle = takeValue(args, '--bundle');
  const profile = takeValue(args, '--profile');
  if (!bundle || args.length > 0) throw new UsageError(`${command} takes --bundle DIR [--profile NAME]`);
  const result = harden(await hardenEngine(profile), resolve(bundle), readFileSync(0, 'utf8'));
  if (result.text !== undefined) out(result.text);
  return result.code;
}

async function serve(args: string[]): Promise<number> {
  const socketPath = takeValue(args, '--socket');
  if (args.length > 0) throw new UsageError('serve takes only --socket PATH');
  const { startService } = await import('../service/server.js');
  const { loadNative } = await import('../native/index.js');
  // systemd socket activation: one listening descriptor at 3, meant for this process.
  const activated = process.env.LISTEN_FDS === '1' && process.env.LISTEN_PID === String(process.pid);
  const service = await startService({
    native: loadNative(),
    env: process.env,
    ...(socketPath ? { socketPath: resolve(socketPath) } : {}),
    ...(activated && !socketPath ? { listenFd: 3 } : {}),
    log: (line) => err(`${new Date().toISOString()} ${line}\n`),
  });
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      err(`${new Date().toISOString()} ${signal}: stopping (${JSON.stringify(service.stats)})\n`);
      void service.close().then(done);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return EXIT_OK;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'explain':
        return await explain(rest);
      case 'profiles':
        return profiles();
      case 'check':
        return check(rest);
      case 'doctor':
        return await runDoctor(rest);
      case 'gc':
        return await gc(rest);
      case 'serve':
        return await serve(rest);
      case 'harden':
        return await hardenCommand(rest);
      case 'harden-process':
        return await hardenStdinCommand(command, rest, (engine, bundle, text) => engine.hardenProcessText(bundle, text));
      case 'harden-resources':
        return await hardenStdinCommand(command, rest, (engine, bundle, text) => engine.hardenResourcesText(bundle, text));
      case 'install':
      case 'uninstall':
        return await install(command, rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return command === undefined ? EXIT_BAD_INPUT : EXIT_OK;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    const message = (e as Error).message.replace(/^bulwark: /, '');
    err(`bulwark: ${message}\n`);
    if (e instanceof UsageError) err(`run 'bulwark help' for usage\n`);
    return EXIT_BAD_INPUT;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
