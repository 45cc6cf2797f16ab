// `bulwark install docker` / `uninstall docker`: `runtimes` entries in /etc/docker/daemon.json
// (`docker run --runtime bulwark ...`). Docker hands `path` to containerd's runc shim as its
// BinaryName, so this is the binary mode. Pure: text in, text out.
import { deepEqual } from './containerd.js';
import { InstallError } from './files.js';

export interface DockerOptions {
  handler: string;
  profiles: string[];
  installRoot: string;
}

const OUR_PATH = /(^|\/)bulwark-runtime(-[a-z0-9][a-z0-9-]*)?$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseDaemonJson(text: string | null, file: string): Obj {
  if (text === null || text.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InstallError(`${file}: not valid JSON: ${(err as Error).message}; nothing was changed`);
  }
  if (!isObj(data)) throw new InstallError(`${file}: the top level is not an object; nothing was changed`);
  return data;
}

export function dockerRuntimes(opts: DockerOptions): Record<string, { path: string }> {
  const out: Record<string, { path: string }> = { [opts.handler]: { path: `${opts.installRoot}/bin/bulwark-runtime` } };
  for (const p of opts.profiles) if (p !== 'kata') out[`${opts.handler}-${p}`] = { path: `${opts.installRoot}/bin/bulwark-runtime-${p}` };
  return out;
}

const isOurs = (v: unknown) => isObj(v) && typeof v.path === 'string' && OUR_PATH.test(v.path);

export function installDocker(text: string | null, opts: DockerOptions, file = 'daemon.json'): { text: string; changed: boolean } {
  const original = parseDaemonJson(text, file);
  const config: Obj = JSON.parse(JSON.stringify(original));
  if (config.runtimes !== undefined && !isObj(config.runtimes)) throw new InstallError(`${file}: "runtimes" is not an object; nothing was changed`);
  const runtimes: Obj = (config.runtimes as Obj | undefined) ?? {};
  const wanted = dockerRuntimes(opts);
  for (const [name, entry] of Object.entries(runtimes)) if (!(name in wanted) && isOurs(entry)) delete runtimes[name];
  for (const [name, entry] of Object.entries(wanted)) {
    if (runtimes[name] !== undefined && !isOurs(runtimes[name])) throw new InstallError(`${file}: runtime "${name}" already exists and is not Bulwark's; nothing was changed`);
    runtimes[name] = entry;
  }
  config.runtimes = runtimes;
  if (text !== null && deepEqual(config, original)) return { text, changed: false };
  return { text: JSON.stringify(config, null, 2) + '\n', changed: true };
}

/** Remove Bulwark's runtimes; a backup whose content equals the result (newest first) comes back byte for byte; a null backup = no file before. */
export function uninstallDocker(text: string | null, file = 'daemon.json', backups: Array<string | null> = []): { text: string | null; changed: boolean; removed: string[] } {
  if (text === null) return { text: null, changed: false, removed: [] };
  const config = parseDaemonJson(text, file);
  const removed: string[] = [];
  if (isObj(config.runtimes)) {
    for (const [name, entry] of Object.entries(config.runtimes)) {
      if (isOurs(entry)) {
        delete config.runtimes[name];
        removed.push(name);
      }
    }
    if (config['default-runtime'] !== undefined && removed.includes(String(config['default-runtime']))) {
      throw new InstallError(`${file}: "default-runtime" is the Bulwark runtime "${String(config['default-runtime'])}"; change it first; nothing was changed`);
    }
    if (Object.keys(config.runtimes).length === 0) delete config.runtimes;
  }
  if (removed.length === 0) return { text, changed: false, removed };
  for (const backup of backups) {
    if (backup === null) {
      if (Object.keys(config).length === 0) return { text: null, changed: true, removed };
      continue;
    }
    try {
      if (deepEqual(parseDaemonJson(backup, file), config)) return { text: backup, changed: true, removed };
    } catch {
      // an unreadable backup: try the next
    }
  }
  return { text: JSON.stringify(config, null, 2) + '\n', changed: true, removed };
}
