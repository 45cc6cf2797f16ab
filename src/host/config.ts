// Bulwark's own configuration file (default /etc/bulwark/config.yaml, or $BULWARK_CONFIG).
// A missing file means the built-in defaults; an invalid one is an error and no container starts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validateBulwarkConfig } from '../generated/validators.js';
import { parseDataFile } from '../profile/load.js';

export const DEFAULT_CONFIG_PATH = '/etc/bulwark/config.yaml';

/** The installation root (the directory holding bin/, dist/, profiles/). */
export const INSTALL_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

export interface RuntimeEntry {
  /** Candidate absolute paths, first existing wins (like nvidia-container-runtime's `runtimes`). */
  paths: string[];
  /** Arguments inserted right after the binary, e.g. runsc's --platform. */
  args: string[];
}

export interface BulwarkConfig {
  file: string | null;
  defaultProfile: string;
  profileDir: string;
  stateDir: string;
  auditLog: string;
  defaultRuntime: string;
  allowedRuntimes: string[];
  runtimes: Record<string, RuntimeEntry>;
  idPool: { start: number; size: number } | null;
  shim: { binary: string | null };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function defaultConfig(): BulwarkConfig {
  return {
    file: null,
    defaultProfile: 'baseline',
    profileDir: `${INSTALL_ROOT}/profiles`,
    stateDir: '/run/bulwark',
    auditLog: '/var/log/bulwark/audit.jsonl',
    defaultRuntime: 'runc',
    allowedRuntimes: ['runc', 'crun', 'runsc'],
    runtimes: {
      runc: { paths: ['/usr/local/sbin/runc', '/usr/local/bin/runc', '/usr/sbin/runc', '/usr/bin/runc'], args: [] },
      crun: { paths: ['/usr/local/bin/crun', '/usr/bin/crun'], args: [] },
      runsc: { paths: ['/usr/local/bin/runsc', '/usr/bin/runsc'], args: [] },
    },
    idPool: null,
    shim: { binary: null },
  };
}

interface ConfigFile {
  defaultProfile?: string;
  profileDir?: string;
  stateDir?: string;
  auditLog?: string;
  defaultRuntime?: string;
  allowedRuntimes?: string[];
  runtimes?: Record<string, { paths: string[]; args?: string[] }>;
  idPool?: { start: number; size: number };
  shim?: { binary?: string };
}

/** Parse and validate a config file's text; pure apart from the defaults' install root. */
export function parseConfig(text: string, file: string): BulwarkConfig {
  let data: unknown;
  try {
    data = parseDataFile(text, file);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (data === null || data === undefined) data = {};
  if (!validateBulwarkConfig(data)) {
    const e = validateBulwarkConfig.errors?.[0];
    const where = e?.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
    const what = e?.keyword === 'additionalProperties' ? `unknown key "${String(e.params.additionalProperty)}"` : e?.message ?? 'invalid';
    throw new ConfigError(`${file}: ${where}: ${what}`);
  }
  const c = data as ConfigFile;
  const base = defaultConfig();
  const runtimes = { ...base.runtimes };
  for (const [name, entry] of Object.entries(c.runtimes ?? {})) runtimes[name] = { paths: entry.paths, args: entry.args ?? [] };
  const config: BulwarkConfig = {
    file,
    defaultProfile: c.defaultProfile ?? base.defaultProfile,
    profileDir: c.profileDir ?? base.profileDir,
    stateDir: c.stateDir ?? base.stateDir,
    auditLog: c.auditLog ?? base.auditLog,
    defaultRuntime: c.defaultRuntime ?? base.defaultRuntime,
    allowedRuntimes: c.allowedRuntimes ?? base.allowedRuntimes,
    runtimes,
    idPool: c.idPool ?? null,
    shim: { binary: c.shim?.binary ?? null },
  };
  if (!config.runtimes[config.defaultRuntime]) throw new ConfigError(`${file}: defaultRuntime: no runtime "${config.defaultRuntime}" in runtimes`);
  for (const name of config.allowedRuntimes) {
    if (!config.runtimes[name]) throw new ConfigError(`${file}: allowedRuntimes: no runtime "${name}" in runtimes`);
  }
  return config;
}

/** BULWARK_STATE_DIR overrides the file's stateDir, as it does for the native launcher. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BulwarkConfig {
  const config = readConfigFile(env);
  return env.BULWARK_STATE_DIR ? { ...config, stateDir: env.BULWARK_STATE_DIR } : config;
}

function readConfigFile(env: NodeJS.ProcessEnv): BulwarkConfig {
  const file = env.BULWARK_CONFIG || DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Only a missing default file means "defaults"; a missing file named explicitly is an error.
    if (code === 'ENOENT' && !env.BULWARK_CONFIG) return defaultConfig();
    throw new ConfigError(`${file}: cannot read (${code ?? (err as Error).message})`);
  }
  return parseConfig(text, file);
}
