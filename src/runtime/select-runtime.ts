// Which low-level runtime runs a container: the config's default, or one the container names in
// the io.bulwark.runtime annotation if the config allows it. Each runtime is found by an ordered
// list of candidate paths; a missing binary is a clear error, never a crash.
import { accessSync, constants, statSync } from 'node:fs';
import type { BulwarkConfig } from '../host/config.js';

export const RUNTIME_ANNOTATION = 'io.bulwark.runtime';

export interface ResolvedRuntime {
  name: string;
  path: string;
  args: string[];
}

export class RuntimeSelectionError extends Error {
  override name = 'RuntimeSelectionError';
}

export type Executable = (path: string) => boolean;

const isExecutable: Executable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile(); // a directory passes X_OK too
  } catch {
    return false;
  }
};

export function chooseRuntime(config: BulwarkConfig, annotations: Record<string, string> | undefined, executable: Executable = isExecutable): ResolvedRuntime {
  const requested = annotations?.[RUNTIME_ANNOTATION];
  const name = requested || config.defaultRuntime;
  if (requested && !config.allowedRuntimes.includes(requested)) {
    throw new RuntimeSelectionError(`bulwark: annotation ${RUNTIME_ANNOTATION}=${requested} is not an allowed runtime (allowed: ${config.allowedRuntimes.join(', ')})`);
  }
  const entry = config.runtimes[name];
  if (!entry) throw new RuntimeSelectionError(`bulwark: unknown runtime "${name}"`);
  const path = entry.paths.find(executable);
  if (!path) throw new RuntimeSelectionError(`bulwark: low-level runtime ${name} not found (looked in ${entry.paths.join(', ')})`);
  return { name, path, args: entry.args };
}
