// OCI hooks: programs the runtime runs around the container's life. prestart, createRuntime,
// poststart and poststop run on the host as root with the runtime's full privileges, and
// createContainer runs as root in the container's namespaces before pivot_root, so a config
// that names /bin/sh with `-c ...` as a hook owns the node. Only binaries the profile lists run.
import type { Pass } from './types.js';
import type { Hook, Spec } from '../spec/index.js';
import type { HostFacts } from '../host/types.js';
import { reporter } from './util.js';
import { normalisePath } from './mounts.js';

type Reporter = ReturnType<typeof reporter>;
type Hooks = NonNullable<Spec['hooks']>;
type HookList = keyof Hooks;

const HOOK_LISTS: readonly HookList[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** Where each list runs, for the finding text. */
const RUNS_WHERE: Record<HookList, string> = {
  prestart: 'as root on the host',
  createRuntime: 'as root on the host',
  createContainer: "as root in the container's namespaces before pivot_root",
  startContainer: 'in the container just before its process',
  poststart: 'as root on the host',
  poststop: 'as root on the host',
};

const SHELLS = new Set(['sh', 'bash', 'rbash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'csh', 'tcsh', 'fish']);
const INTERPRETER = /^(python[0-9.]*|perl[0-9.]*|node|nodejs|ruby[0-9.]*|php[0-9.]*|lua[0-9.]*|tclsh[0-9.]*)$/;

/** Names a program that runs whatever its arguments say, so the argument list is the real hook. */
function kindOf(path: string): string | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (SHELLS.has(name)) return 'a shell';
  if (name === 'busybox') return 'busybox, a shell among other things';
  if (name === 'env') return 'env, which runs whatever its arguments name';
  if (INTERPRETER.test(name)) return 'an interpreter';
  return undefined;
}

/** The binary that really runs: the shell's realpath when it has one, else the literal, normalised. */
function resolvedPath(path: string, host: HostFacts): string {
  return Object.hasOwn(host.realPaths, path) ? normalisePath(host.realPaths[path]!) : normalisePath(path);
}

/** Why this hook may not run, or undefined when it may. */
function hookProblem(hook: Hook, list: HookList, allow: string[], host: HostFacts): string | undefined {
  const where = RUNS_WHERE[list];
  if (!hook.path.startsWith('/')) return `runs ${JSON.stringify(hook.path)}, which is not an absolute path, ${where}`;
  const resolved = resolvedPath(hook.path, host);
  if (allow.includes(resolved)) return undefined;
  const shown = resolved === hook.path ? hook.path : `${hook.path} (resolves to ${resolved})`;
  const kind = kindOf(resolved) ?? kindOf(hook.path);
  return `runs ${shown}${kind ? `, ${kind},` : ''} ${where}; it is not an allowed hook`;
}

function hardenList(list: HookList, hooks: Hook[], allow: string[], host: HostFacts, r: Reporter): Hook[] | undefined {
  const kept = hooks.filter((hook, i) => {
    const problem = hookProblem(hook, list, allow, host);
    if (problem !== undefined) r.report(`hooks.${list}[${i}]`, r.changes ? `${problem}; removed` : problem);
    return problem === undefined;
  });
  return kept.length === hooks.length ? undefined : kept;
}

export const hooksPass: Pass = (spec, profile, host) => {
  const rule = profile.rules.hooks;
  const r = reporter('hooks', rule.action);
  if (spec.hooks === undefined) return { spec, findings: [] };
  const allow = rule.allow.map(normalisePath);
  const changed: Partial<Hooks> = {};
  for (const list of HOOK_LISTS) {
    const kept = hardenList(list, spec.hooks[list] ?? [], allow, host, r);
    if (kept !== undefined) changed[list] = kept;
  }
  if (!r.changes || Object.keys(changed).length === 0) return { spec, findings: r.findings };
  return { spec: { ...spec, hooks: { ...spec.hooks, ...changed } }, findings: r.findings };
};
