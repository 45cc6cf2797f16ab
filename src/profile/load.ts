// Profiles from files: parse (YAML or JSON), validate each file against the profile schema,
// follow `extends`, merge, check the result is complete, convert sizes and resolve the seccomp
// filter. Errors name the file, the field and what was expected; nothing is guessed.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { validateProfile } from '../generated/validators.js';
import type { ValidationError } from '../generated/validators.js';
import { seccompFilterFromDocument } from './seccomp-filter.js';
import type { ProfileRules, ResolvedProfile, RuleName } from './types.js';

export class ProfileError extends Error {
  override name = 'ProfileError';
}

/** Where profile files come from; the default reads a directory, tests pass a map. */
export interface ProfileSource {
  /** Display name of the source, e.g. the directory. */
  readonly where: string;
  /** Text of a file relative to the source (`baseline.yaml`, `seccomp/default.yaml`), or null. */
  read(relativePath: string): string | null;
  /** Names of the profiles available (file names without extension). */
  list(): string[];
}

export function directorySource(dir: string): ProfileSource {
  return {
    where: dir,
    read(relativePath) {
      try {
        return readFileSync(join(dir, relativePath), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new ProfileError(`${join(dir, relativePath)}: ${(err as Error).message}`);
      }
    },
    list() {
      try {
        return readdirSync(dir)
          .filter((f) => /^[a-z0-9][a-z0-9-]*\.(ya?ml|json)$/.test(f))
          .map((f) => f.replace(/\.(ya?ml|json)$/, ''))
          .sort();
      } catch {
        return [];
      }
    },
  };
}

/** Every rule and the fields a complete profile must give it. */
const REQUIRED_FIELDS: { [K in RuleName]: ReadonlyArray<keyof ProfileRules[K]> } = {
  userNamespace: ['action', 'existingMappings', 'allowMappingsOutsidePool', 'rootfs', 'volumes'],
  namespaces: ['action', 'required'],
  capabilities: ['action', 'allow', 'deny'],
  noNewPrivileges: ['action'],
  seccomp: ['action', 'profile', 'deny', 'denyErrno', 'customFilters'],
  cgroups: ['action', 'memory', 'pids', 'cpu', 'oomGroup'],
  mounts: ['action', 'sensitiveSources', 'allowedSources', 'bindOptions', 'readonlySystemMounts'],
  process: ['action', 'runAsNonRoot', 'oomScoreAdjMin'],
  devices: ['action', 'allowNodes'],
  paths: ['action', 'masked', 'readonly'],
  hooks: ['action', 'allow'],
  sysctls: ['action', 'allow'],
  rlimits: ['action', 'defaults', 'max'],
  lsm: ['action', 'apparmorProfile', 'selinuxType'],
  rootfs: ['action', 'readonly'],
};

export const RULE_NAMES = Object.keys(REQUIRED_FIELDS) as RuleName[];

const MAX_EXTENDS_DEPTH = 8;
const MAX_PROFILE_BYTES = 1 << 20;

interface ProfileFile {
  apiVersion: string;
  kind: string;
  name: string;
  description?: string;
  extends?: string;
  mode?: 'enforce' | 'audit';
  optIn?: string[];
  rules?: Record<string, Record<string, unknown>>;
}

/** Parse YAML or JSON text into plain data, refusing YAML features a profile never needs. */
export function parseDataFile(text: string, file: string): unknown {
  if (text.length > MAX_PROFILE_BYTES) throw new ProfileError(`${file}: larger than ${MAX_PROFILE_BYTES} bytes`);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const line = problem.linePos?.[0]?.line;
    throw new ProfileError(`${file}${line ? `:${line}` : ''}: ${problem.message.split('\n')[0]}`);
  }
  try {
    // maxAliasCount guards against "billion laughs" alias expansion.
    return doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    throw new ProfileError(`${file}: ${(err as Error).message}`);
  }
}

function describeSchemaError(e: ValidationError): string {
  const where = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replace(/\/(\d+)(?=\/|$)/g, '[$1]').replaceAll('/', '.');
  switch (e.keyword) {
    case 'additionalProperties':
      return `${where}: unknown key "${String(e.params.additionalProperty)}"`;
    case 'enum':
      return `${where}: expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'required':
      return `${where}: missing "${String(e.params.missingProperty)}"`;
    default:
      return `${where}: ${e.message ?? e.keyword}`;
  }
}

function readProfileFile(source: ProfileSource, name: string): { file: string; data: ProfileFile } {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new ProfileError(`invalid profile name "${name}"`);
  for (const ext of ['yaml', 'yml', 'json']) {
    const file = `${name}.${ext}`;
    const text = source.read(file);
    if (text === null) continue;
    const shown = join(source.where, file);
    const data = parseDataFile(text, shown);
    if (!validateProfile(data)) {
      const errors = validateProfile.errors ?? [];
      // oneOf/anyOf produce one error per branch; the most specific one is the deepest.
      const best = [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
      throw new ProfileError(`${shown}: ${best ? describeSchemaError(best) : 'invalid profile'}`);
    }
    const profile = data as ProfileFile;
    if (profile.name !== name) throw new ProfileError(`${shown}: name: "${profile.name}" does not match the file name "${name}"`);
    return { file: shown, data: profile };
  }
  const known = source.list();
  throw new ProfileError(`unknown profile "${name}" in ${source.where} (known: ${known.join(', ') || 'none'})`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars from the child replace the parent's. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

const SIZE_UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** "512Mi" -> 536870912. The schema already restricted the form. */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti)?$/.exec(value);
  if (!m) throw new ProfileError(`invalid size "${value}"`);
  return Number(m[1]) * SIZE_UNITS[m[2] ?? '']!;
}

export function loadProfile(source: ProfileSource, name: string): ResolvedProfile {
  const chain: Array<{ file: string; data: ProfileFile }> = [];
  const seen = new Set<string>();
  for (let next: string | undefined = name; next !== undefined; ) {
    if (seen.has(next)) throw new ProfileError(`profile "${name}": extends cycle through "${next}"`);
    if (chain.length >= MAX_EXTENDS_DEPTH) throw new ProfileError(`profile "${name}": extends chain deeper than ${MAX_EXTENDS_DEPTH}`);
    seen.add(next);
    const entry = readProfileFile(source, next);
    chain.unshift(entry);
    next = entry.data.extends;
  }
  const leaf = chain[chain.length - 1]!;
  let rules: Record<string, unknown> = {};
  for (const { data } of chain) rules = deepMerge(rules, data.rules ?? {}) as Record<string, unknown>;

  for (const rule of RULE_NAMES) {
    const body = rules[rule];
    if (!isPlainObject(body)) throw new ProfileError(`${leaf.file}: rules.${rule}: missing (no file in the extends chain sets it)`);
    for (const field of REQUIRED_FIELDS[rule] as readonly string[]) {
      if (!(field in body)) throw new ProfileError(`${leaf.file}: rules.${rule}.${field}: missing (no file in the extends chain sets it)`);
    }
  }
  const complete = rules as unknown as ProfileRules;
  const memory = complete.cgroups.memory as unknown as Record<'default' | 'max' | 'swap', number | string>;
  const cgroups = {
    ...complete.cgroups,
    memory: { default: parseSize(memory.default), max: parseSize(memory.max), swap: parseSize(memory.swap) },
  };
  if (cgroups.memory.default > cgroups.memory.max) throw new ProfileError(`${leaf.file}: rules.cgroups.memory: default above max`);
  if (cgroups.pids.default > cgroups.pids.max) throw new ProfileError(`${leaf.file}: rules.cgroups.pids: default above max`);

  const seccomp = { ...complete.seccomp };
  if (seccomp.action !== 'off') {
    const file = `seccomp/${seccomp.profile}.yaml`;
    const text = source.read(file);
    if (text === null) throw new ProfileError(`${leaf.file}: rules.seccomp.profile: no filter file ${join(source.where, file)}`);
    seccomp.filter = seccompFilterFromDocument(parseDataFile(text, join(source.where, file)), join(source.where, file));
  }

  return {
    name,
    description: chain.map((c) => c.data.description).filter(Boolean).pop() ?? '',
    mode: chain.map((c) => c.data.mode).filter(Boolean).pop() ?? 'enforce',
    optIn: leaf.data.optIn ?? [],
    sources: chain.map((c) => c.file),
    rules: { ...complete, cgroups, seccomp },
  };
}
