// The I/O side of `bulwark install|uninstall containerd|docker`: flags, backups, atomic writes,
// --dry-run diffs and the shim links containerd finds on its PATH.
import { existsSync, lstatSync, readdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { INSTALL_ROOT, loadConfig as loadBulwarkConfig } from '../host/config.js';
import { handlerSpecs, installContainerd, uninstallContainerd } from './containerd.js';
import type { ContainerdOptions, Mode } from './containerd.js';
import { installDocker, uninstallDocker } from './docker.js';
import { takeFlag, takeValue, UsageError } from '../cli/flags.js';
import { InstallError, listBackups, readOptional, unifiedDiff, writeAtomic, writeBackup } from './files.js';

export interface InstallIo {
  out: (text: string) => void;
  err: (text: string) => void;
  now: () => Date;
}


/** Profiles that get their own handler: every profile file but the default, audit and kata. */
function defaultProfiles(): string[] {
  const config = loadBulwarkConfig();
  let names: string[] = [];
  try {
    names = readdirSync(config.profileDir).filter((n) => /\.ya?ml$/.test(n)).map((n) => n.replace(/\.ya?ml$/, ''));
  } catch (err) {
    throw new InstallError(`${config.profileDir}: cannot list profiles (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return names.filter((n) => n !== config.defaultProfile && n !== 'audit' && n !== 'kata').sort();
}

interface Common {
  dryRun: boolean;
  handler: string;
  profiles: string[];
  installRoot: string;
}

function common(args: string[]): Common {
  const dryRun = takeFlag(args, '--dry-run');
  const handler = takeValue(args, '--handler') ?? 'bulwark';
  const profilesArg = takeValue(args, '--profiles');
  const installRoot = resolve(takeValue(args, '--root') ?? INSTALL_ROOT);
  const profiles = profilesArg === undefined ? defaultProfiles() : profilesArg.split(',').map((s) => s.trim()).filter(Boolean);
  return { dryRun, handler, profiles, installRoot };
}

function finish(args: string[]): void {
  if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
}

/** Write `next` over `file` (null: delete), after a backup when `backup` is set; or print the diff. */
function apply(io: InstallIo, file: string, before: string | null, next: string | null, dryRun: boolean, backup: boolean): void {
  if (dryRun) {
    const diff = unifiedDiff(before ?? '', next ?? '', before === null ? '/dev/null' : `${file} (current)`, next === null ? '/dev/null' : `${file} (new)`);
    io.out(diff || `${file}: no change\n`);
    return;
  }
  if (backup) io.out(`backup: ${writeBackup(file, before, io.now())}\n`);
  if (next === null) {
    unlinkSync(file);
    io.out(`removed ${file} (it did not exist before install)\n`);
  } else {
    writeAtomic(file, next);
    io.out(`wrote ${file}\n`);
  }
}

const shimScript = (root: string) => `${root}/bin/containerd-shim-bulwark-v2`;

function linkShims(io: InstallIo, dir: string, root: string, names: string[], dryRun: boolean): void {
  for (const name of names) {
    const link = `${dir}/${name}`;
    const target = shimScript(root);
    let current: string | null = null;
    try {
      current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : '(not a symlink)';
    } catch {
      current = null;
    }
    if (current === target) continue;
    if (current !== null && !/containerd-shim-bulwark-v2$/.test(current)) throw new InstallError(`${link} exists and is not Bulwark's shim link; nothing was linked`);
    if (dryRun) {
      io.out(`would link ${link} -> ${target}\n`);
      continue;
    }
    if (current !== null) unlinkSync(link);
    symlinkSync(target, link);
    io.out(`linked ${link} -> ${target}\n`);
  }
}

function unlinkShims(io: InstallIo, dir: string, dryRun: boolean): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => /^containerd-shim-bulwark(-[a-z0-9-]+)?-v2$/.test(n));
  } catch {
    return;
  }
  for (const name of names) {
    const link = `${dir}/${name}`;
    try {
      if (!lstatSync(link).isSymbolicLink() || !/containerd-shim-bulwark-v2$/.test(readlinkSync(link))) continue;
    } catch {
      continue;
    }
    if (dryRun) io.out(`would remove ${link}\n`);
    else {
      unlinkSync(link);
      io.out(`removed ${link}\n`);
    }
  }
}

export function installContainerdCommand(args: string[], io: InstallIo): number {
  const file = resolve(takeValue(args, '--config') ?? '/etc/containerd/config.toml');
  const mode = (takeValue(args, '--mode') ?? 'binary') as Mode;
  if (mode !== 'binary' && mode !== 'shim') throw new UsageError(`--mode must be binary or shim, not "${mode}"`);
  const kata = takeFlag(args, '--kata');
  const shimDir = resolve(takeValue(args, '--shim-dir') ?? '/usr/local/bin');
  const c = common(args);
  finish(args);
  const opts: ContainerdOptions = { mode, handler: c.handler, profiles: c.profiles, kata, installRoot: c.installRoot };
  const before = readOptional(file);
  const result = installContainerd(before, opts, file);
  for (const w of result.warnings) io.err(`bulwark: warning: ${w}\n`);
  for (const h of result.handlers) {
    if (h.binaryName && !existsSync(h.binaryName)) io.err(`bulwark: warning: ${h.binaryName} does not exist (run make build)\n`);
  }
  if (result.changed) apply(io, file, before, result.text, c.dryRun, true);
  else io.out(`${file}: already configured (${result.handlers.map((h) => h.name).join(', ')}); nothing changed\n`);
  const shims = [...new Set(result.handlers.map((h) => h.shimBinary).filter((s): s is string => s !== null))];
  if (shims.length) linkShims(io, shimDir, c.installRoot, shims, c.dryRun);
  if (!c.dryRun && result.changed) io.out(`handlers (config version ${result.version}, mode ${mode}): ${result.handlers.map((h) => h.name).join(', ')}\nrestart containerd to use them (systemctl restart containerd)\n`);
  return 0;
}

export function uninstallContainerdCommand(args: string[], io: InstallIo): number {
  const file = resolve(takeValue(args, '--config') ?? '/etc/containerd/config.toml');
  const shimDir = resolve(takeValue(args, '--shim-dir') ?? '/usr/local/bin');
  const dryRun = takeFlag(args, '--dry-run');
  takeValue(args, '--mode'); // accepted for symmetry with install: uninstall removes both modes
  takeValue(args, '--handler');
  takeFlag(args, '--kata');
  finish(args);
  const before = readOptional(file);
  const backups = listBackups(file);
  const result = uninstallContainerd(before, file, backups.map((b) => b.text));
  if (result.changed) {
    apply(io, file, before, result.text, dryRun, true);
    if (result.restoredBackup && !dryRun) io.out('restored the content from before install (backup)\n');
  } else io.out(`${file}: no Bulwark handlers; nothing changed\n`);
  unlinkShims(io, shimDir, dryRun);
  return 0;
}

export function installDockerCommand(args: string[], io: InstallIo): number {
  const file = resolve(takeValue(args, '--config') ?? '/etc/docker/daemon.json');
  const c = common(args);
  finish(args);
  const before = readOptional(file);
  const result = installDocker(before, { handler: c.handler, profiles: c.profiles, installRoot: c.installRoot }, file);
  if (result.changed) apply(io, file, before, result.text, c.dryRun, true);
  else io.out(`${file}: already configured; nothing changed\n`);
  if (!c.dryRun && result.changed) io.out('restart dockerd to use it (systemctl restart docker); then docker run --runtime bulwark ...\n');
  return 0;
}

export function uninstallDockerCommand(args: string[], io: InstallIo): number {
  const file = resolve(takeValue(args, '--config') ?? '/etc/docker/daemon.json');
  const dryRun = takeFlag(args, '--dry-run');
  takeValue(args, '--handler');
  finish(args);
  const before = readOptional(file);
  const result = uninstallDocker(before, file, listBackups(file).map((b) => b.text));
  if (result.changed) apply(io, file, before, result.text, dryRun, true);
  else io.out(`${file}: no Bulwark runtimes; nothing changed\n`);
  return 0;
}

export { handlerSpecs };
