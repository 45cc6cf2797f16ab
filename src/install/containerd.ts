// `bulwark install containerd` / `bulwark uninstall containerd`: register Bulwark's runtime
// handlers in containerd's CRI configuration (config versions 2 and 3), the way
// `nvidia-ctk runtime configure` does it.
//
// The main config file is edited in place (parsed and re-serialized with smol-toml, never string
// edits), after a timestamped backup. A drop-in under conf.d was the other option, but
// containerd up to 1.7 replaces a whole plugin table from an imported file, so a drop-in would
// have to carry a frozen copy of the user's entire CRI table and would silently shadow any later
// edit of the main file. docs/CONTAINERD.md explains the choice.
//
// The transformation is pure (text in, text out); the CLI layer (install/cli.ts) does the I/O.
import { parse, stringify, TomlDate } from 'smol-toml';
import { InstallError } from './files.js';

export type Mode = 'binary' | 'shim';

export interface ContainerdOptions {
  mode: Mode;
  /** Base handler name: `bulwark`, then `bulwark-<profile>` for every other profile. */
  handler: string;
  /** Profiles that get their own handler besides the default one (e.g. restricted, strict). */
  profiles: string[];
  /** Add `<handler>-kata`: Kata's shim behind Bulwark's shim wrapper, profile `kata`. */
  kata: boolean;
  /** Absolute installation root (holds bin/bulwark-runtime and bin/containerd-shim-bulwark-v2). */
  installRoot: string;
}

export interface HandlerSpec {
  name: string;
  /** null: the node's default profile (bin/bulwark-runtime). */
  profile: string | null;
  runtimeType: string;
  /** Mode binary only: the runc shim's BinaryName. */
  binaryName: string | null;
  /** Shim mode (and Kata): the shim binary containerd looks up on its PATH. */
  shimBinary: string | null;
}

export const CRI_PLUGIN = { 2: 'io.containerd.grpc.v1.cri', 3: 'io.containerd.cri.v1.runtime' } as const;
export const ANNOTATIONS = ['io.bulwark.*'];
const RUNC_TYPE = 'io.containerd.runc.v2';
const OUR_RUNTIME_TYPE = /^io\.containerd\.bulwark(-[a-z0-9][a-z0-9-]*)?\.v2$/;
const OUR_BINARY = /(^|\/)bulwark-runtime(-[a-z0-9][a-z0-9-]*)?$/;
const NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

type Table = Record<string, unknown>;

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof TomlDate) && !(v instanceof Date);

/** The shim binary name containerd derives from a runtime_type `io.containerd.<name>.v2`. */
export function shimBinaryFor(runtimeType: string): string {
  const m = /^io\.containerd\.([^.]+)\.v2$/.exec(runtimeType);
  if (!m) throw new InstallError(`not a shim v2 runtime type: ${runtimeType}`);
  return `containerd-shim-${m[1]}-v2`;
}

export function handlerSpecs(opts: ContainerdOptions): HandlerSpec[] {
  if (!NAME_RE.test(opts.handler)) throw new InstallError(`--handler: "${opts.handler}" is not a valid handler name (lower-case letters, digits, '-')`);
  const specs: HandlerSpec[] = [];
  const add = (name: string, profile: string | null, kata = false) => {
    const suffix = profile === null ? '' : `-${profile}`;
    if (kata || opts.mode === 'shim') {
      const runtimeType = `io.containerd.bulwark${suffix}.v2`;
      specs.push({ name, profile, runtimeType, binaryName: null, shimBinary: shimBinaryFor(runtimeType) });
    } else {
      specs.push({ name, profile, runtimeType: RUNC_TYPE, binaryName: `${opts.installRoot}/bin/bulwark-runtime${suffix}`, shimBinary: null });
    }
  };
  add(opts.handler, null);
  for (const p of opts.profiles) {
    if (!NAME_RE.test(p)) throw new InstallError(`profile name "${p}" cannot name a handler`);
    if (p === 'kata') continue;
    add(`${opts.handler}-${p}`, p);
  }
  if (opts.kata) add(`${opts.handler}-kata`, 'kata', true);
  return specs;
}

/** Is this runtimes entry one Bulwark wrote? (runtime_type io.containerd.bulwark*.v2, or a BinaryName of bulwark-runtime*.) */
export function isBulwarkRuntime(entry: unknown): boolean {
  if (!isTable(entry)) return false;
  if (typeof entry.runtime_type === 'string' && OUR_RUNTIME_TYPE.test(entry.runtime_type)) return true;
  const options = entry.options;
  return isTable(options) && typeof options.BinaryName === 'string' && OUR_BINARY.test(options.BinaryName);
}

export function parseContainerdConfig(text: string, file: string): Table {
  try {
    return parse(text) as Table;
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    throw new InstallError(`${file}: not valid TOML: ${msg}; nothing was changed`);
  }
}

/** The config version: 2 or 3. A missing version in a non-empty file is containerd 1.x's version 1, which we refuse. */
function configVersion(config: Table, file: string): 2 | 3 {
  const v = config.version;
  if (v === undefined) {
    if (Object.keys(config).length === 0) return 2;
    throw new InstallError(`${file}: no "version" key (containerd reads that as config version 1); migrate it first with \`containerd config migrate\` or add version = 2`);
  }
  if (v === 2 || v === 3) return v;
  throw new InstallError(`${file}: config version ${String(v)} is not supported (2 and 3 are)`);
}

function child(parent: Table, key: string, file: string, path: string): Table {
  const v = parent[key];
  if (v === undefined) {
    const t: Table = {};
    parent[key] = t;
    return t;
  }
  if (!isTable(v)) throw new InstallError(`${file}: ${path}.${key} is not a table`);
  return v;
}

const clone = <T>(v: T): T => structuredCloneToml(v) as T;

function structuredCloneToml(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(structuredCloneToml);
  if (isTable(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structuredCloneToml(x)]));
  return v; // primitives, TomlDate (immutable in practice)
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.toISOString() === b.toISOString();
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isTable(a) || isTable(b)) {
    if (!isTable(a) || !isTable(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return Object.is(a, b);
}

export interface InstallResult {
  text: string;
  changed: boolean;
  version: 2 | 3;
  handlers: HandlerSpec[];
  warnings: string[];
}

/** Register the handlers in a config's text (null: no file yet). Pure. */
export function installContainerd(text: string | null, opts: ContainerdOptions, file = 'config.toml'): InstallResult {
  const original = text === null ? {} : parseContainerdConfig(text, file);
  const version = configVersion(original, file);
  const config = clone(original);
  if (config.version === undefined) config.version = version;
  const warnings: string[] = [];
  const pluginName = CRI_PLUGIN[version];
  const disabled = config.disabled_plugins;
  if (Array.isArray(disabled) && (disabled.includes(pluginName) || disabled.includes('cri'))) {
    warnings.push(`the CRI plugin (${pluginName}) is listed in disabled_plugins: Kubernetes cannot use these handlers until it is enabled`);
  }
  if (Array.isArray(config.imports) && config.imports.length > 0) {
    warnings.push(`the config imports ${config.imports.map(String).join(', ')}: on containerd up to 1.7 an imported file that sets plugins."${pluginName}" replaces that whole table, Bulwark's handlers included; check those files`);
  }
  const plugins = child(config, 'plugins', file, '');
  const cri = child(plugins, pluginName, file, 'plugins');
  const containerd = child(cri, 'containerd', file, `plugins."${pluginName}"`);
  const runtimes = child(containerd, 'runtimes', file, `plugins."${pluginName}".containerd`);

  const defaultName = typeof containerd.default_runtime_name === 'string' ? containerd.default_runtime_name : 'runc';
  const defaultRuntime = runtimes[defaultName];
  let defaultOptions: Table = {};
  if (isTable(defaultRuntime) && !isBulwarkRuntime(defaultRuntime) && (defaultRuntime.runtime_type ?? RUNC_TYPE) === RUNC_TYPE && isTable(defaultRuntime.options)) {
    defaultOptions = clone(defaultRuntime.options);
    delete defaultOptions.BinaryName;
  } else if (isTable(defaultRuntime) && isBulwarkRuntime(defaultRuntime)) {
    warnings.push(`default_runtime_name "${defaultName}" is a Bulwark handler: its options were not copied`);
  }

  const handlers = handlerSpecs(opts);
  const wanted = new Set(handlers.map((h) => h.name));
  // Entries of an earlier install under other names (another --handler, a profile since removed,
  // the other mode) are replaced, so running install again converges on one set of handlers.
  for (const [name, entry] of Object.entries(runtimes)) {
    if (!wanted.has(name) && isBulwarkRuntime(entry) && name !== defaultName) delete runtimes[name];
  }
  for (const h of handlers) {
    const existing = runtimes[h.name];
    if (existing !== undefined && !isBulwarkRuntime(existing)) {
      throw new InstallError(`${file}: runtime handler "${h.name}" already exists and is not Bulwark's; choose another name with --handler; nothing was changed`);
    }
    const entry: Table = { runtime_type: h.runtimeType, pod_annotations: [...ANNOTATIONS], container_annotations: [...ANNOTATIONS] };
    if (h.binaryName !== null) entry.options = { ...clone(defaultOptions), BinaryName: h.binaryName };
    runtimes[h.name] = entry;
  }
  if (deepEqual(config, original) && text !== null) return { text, changed: false, version, handlers, warnings };
  const out = serialize(config, file);
  return { text: out, changed: true, version, handlers, warnings };
}

export interface UninstallResult {
  /** null: delete the file (install created it). */
  text: string | null;
  changed: boolean;
  removed: string[];
  restoredBackup: boolean;
}

/**
 * Remove every Bulwark handler. When what is left equals a backup's content (`backups`, newest
 * first), that backup's exact bytes come back (comments and layout included); a `null` backup
 * records that the file did not exist before install, and then the file goes.
 */
export function uninstallContainerd(text: string | null, file = 'config.toml', backups: Array<string | null> = []): UninstallResult {
  if (text === null) return { text: null, changed: false, removed: [], restoredBackup: false };
  const original = parseContainerdConfig(text, file);
  const version = configVersion(original, file);
  const config = clone(original);
  const removed: string[] = [];
  const pluginName = CRI_PLUGIN[version];
  const plugins = config.plugins;
  const cri = isTable(plugins) ? plugins[pluginName] : undefined;
  const containerd = isTable(cri) ? cri.containerd : undefined;
  const runtimes = isTable(containerd) ? containerd.runtimes : undefined;
  if (isTable(runtimes) && isTable(containerd) && isTable(cri) && isTable(plugins)) {
    const defaultName = typeof containerd.default_runtime_name === 'string' ? containerd.default_runtime_name : 'runc';
    for (const [name, entry] of Object.entries(runtimes)) {
      if (!isBulwarkRuntime(entry)) continue;
      if (name === defaultName) throw new InstallError(`${file}: default_runtime_name is the Bulwark handler "${name}"; point it at another runtime first; nothing was changed`);
      delete runtimes[name];
      removed.push(name);
    }
    // Tables install created and left empty go too.
    if (Object.keys(runtimes).length === 0) delete containerd.runtimes;
    if (Object.keys(containerd).length === 0) delete cri.containerd;
    if (Object.keys(cri).length === 0) delete plugins[pluginName];
    if (Object.keys(plugins).length === 0) delete config.plugins;
  }
  if (removed.length === 0) return { text, changed: false, removed, restoredBackup: false };
  for (const backup of backups) {
    if (backup === null) {
      if (Object.keys(config).every((k) => k === 'version')) return { text: null, changed: true, removed, restoredBackup: true };
      continue;
    }
    let parsed: Table | null = null;
    try {
      parsed = parse(backup) as Table;
    } catch {
      parsed = null;
    }
    if (parsed && deepEqual(parsed, config)) return { text: backup, changed: backup !== text, removed, restoredBackup: true };
  }
  return { text: serialize(config, file), changed: true, removed, restoredBackup: false };
}

function serialize(config: Table, file: string): string {
  // version first, as containerd's own `config default` writes it.
  const ordered: Table = {};
  if (config.version !== undefined) ordered.version = config.version;
  for (const [k, v] of Object.entries(config)) if (k !== 'version') ordered[k] = v;
  const out = stringify(ordered).replace(/^\n+/, '') + '\n';
  // Belt and braces: what we write must read back as exactly what we meant.
  if (!deepEqual(parse(out), ordered)) throw new InstallError(`${file}: internal error: the new config does not read back identically; nothing was changed`);
  return out.replace(/\n{3,}/g, '\n\n');
}
