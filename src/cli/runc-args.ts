// runc's command-line grammar as data, plus one pure parser. Bulwark must understand an argv
// exactly as runc 1.1.5 would (urfave/cli v1.22.9 over Go's `flag` package), but never validate
// it: whatever runc would refuse is handed over untouched and runc refuses it.
//
// What runc 1.1.5 does, checked by running it (see test/cli/runc-args.test.ts):
// - `-root x`, `--root x`, `-root=x`, `--root=x`, `-b x`, `--b x`, `-bundle x`, `-b=x` are all
//   accepted: Go's flag package treats one and two dashes alike. `---root` is "bad flag syntax".
// - Global flags stop at the first non-flag (the subcommand); a `--` before it is consumed.
// - A subcommand's flags may follow its positionals (`create cid --bundle /b` works): urfave/cli
//   moves the flags it knows to the front first. runc turns that off for `exec` and `ps`, whose
//   trailing arguments belong to the process or to ps(1).
// - That move treats the argument after ANY known flag, boolean or not, as its value:
//   `kill a/b --all 9` becomes `kill --all 9 a/b`, so the container id is "9".
// - A value flag takes the next argument whatever it looks like: `--bundle --no-pivot` sets
//   the bundle to "--no-pivot". Booleans take a value only as `--flag=value`.
// - `--help`/`--version` anywhere among the global flags print and exit without a subcommand.

export type FlagKind = 'value' | 'bool' | 'list';

export interface FlagSpec {
  /** The long name, which is also the key in `RuncInvocation.options`. */
  readonly name: string;
  readonly alias?: string;
  /** `list` flags repeat (exec --env) and are collected in order. */
  readonly kind: FlagKind;
}

export interface CommandSpec {
  /** The first positional is a container id. */
  readonly takesId: boolean;
  /** urfave/cli moves known flags written after positionals to the front (runc's default). */
  readonly reordersFlags: boolean;
  /** Bulwark's engine must see it; everything else is passed straight to the runtime. */
  readonly needsPolicy: boolean;
  readonly flags: readonly FlagSpec[];
}

export interface RuncGlobalOptions {
  root?: string;
  log?: string;
  logFormat?: 'text' | 'json' | string;
  systemdCgroup: boolean;
  debug: boolean;
  rootless?: string;
  criu?: string;
  /** `--help`/`-h` or `--version`/`-v` among the global flags: runc prints and runs nothing. */
  help: boolean;
  version: boolean;
}

export interface RuncInvocation {
  global: RuncGlobalOptions;
  /** The subcommand (`h` is reported as `help`), an unknown word as written, or null. */
  command: string | null;
  /** Index of the subcommand in argv, -1 if none. */
  commandIndex: number;
  /** The container id: the first positional, for subcommands that take one. */
  id: string | null;
  /** The subcommand's flags by long name: strings, `true`, or arrays for repeatable flags. */
  options: Record<string, string | true | string[]>;
  /** Positionals after the subcommand, in the order runc sees them (id first). */
  positionals: string[];
  /**
   * Flag arguments runc 1.1.5 itself would refuse: not defined there, bad syntax, a bad
   * boolean, a missing value. Bulwark passes them on; a caller that must fail closed can look.
   */
  rejectedFlags: string[];
}

const value = (name: string, alias?: string): FlagSpec => ({ name, alias, kind: 'value' });
const bool = (name: string, alias?: string): FlagSpec => ({ name, alias, kind: 'bool' });
const list = (name: string, alias?: string): FlagSpec => ({ name, alias, kind: 'list' });

// urfave/cli adds these to the app and to every subcommand.
const HELP_FLAG = bool('help', 'h');
const VERSION_FLAG = bool('version', 'v');

/** runc 1.1.5's global flags, in `runc --help` order. */
export const RUNC_GLOBAL_FLAGS: readonly FlagSpec[] = [
  bool('debug'), value('log'), value('log-format'), value('root'), value('criu'),
  bool('systemd-cgroup'), value('rootless'), HELP_FLAG, VERSION_FLAG,
];

const subcommand = (
  flags: readonly FlagSpec[],
  shape: Partial<Pick<CommandSpec, 'takesId' | 'reordersFlags' | 'needsPolicy'>> = {},
): CommandSpec => ({ takesId: true, reordersFlags: true, needsPolicy: false, ...shape, flags });

/** runc 1.1.5's subcommands and their flags, in `runc --help` order (hidden flags included). */
export const RUNC_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  checkpoint: subcommand([
    value('image-path'), value('work-path'), value('parent-path'), bool('leave-running'),
    bool('tcp-established'), bool('ext-unix-sk'), bool('shell-job'), bool('lazy-pages'),
    value('status-fd'), value('page-server'), bool('file-locks'), bool('pre-dump'),
    value('manage-cgroups-mode'), list('empty-ns'), bool('auto-dedup'),
  ]),
  create: subcommand([
    value('bundle', 'b'), value('console-socket'), value('pid-file'), bool('no-pivot'),
    bool('no-new-keyring'), value('preserve-fds'),
  ], { needsPolicy: true }),
  delete: subcommand([bool('force', 'f')]),
  events: subcommand([value('interval'), bool('stats')]),
  exec: subcommand([
    value('console-socket'), value('cwd'), list('env', 'e'), bool('tty', 't'), value('user', 'u'),
    list('additional-gids', 'g'), value('process', 'p'), bool('detach', 'd'), value('pid-file'),
    value('process-label'), value('apparmor'), bool('no-new-privs'), list('cap', 'c'),
    value('preserve-fds'), list('cgroup'), bool('ignore-paused'),
  ], { reordersFlags: false, needsPolicy: true }),
  kill: subcommand([bool('all', 'a')]),
  list: subcommand([value('format', 'f'), bool('quiet', 'q')], { takesId: false }),
  pause: subcommand([]),
  ps: subcommand([value('format', 'f')], { reordersFlags: false }),
  restore: subcommand([
    value('console-socket'), value('image-path'), value('work-path'), bool('tcp-established'),
    bool('ext-unix-sk'), bool('shell-job'), bool('file-locks'), value('manage-cgroups-mode'),
    value('bundle', 'b'), bool('detach', 'd'), value('pid-file'), bool('no-subreaper'),
    bool('no-pivot'), list('empty-ns'), bool('auto-dedup'), bool('lazy-pages'),
    value('lsm-profile'), value('lsm-mount-context'),
  ]),
  resume: subcommand([]),
  run: subcommand([
    value('bundle', 'b'), value('console-socket'), bool('detach', 'd'), bool('keep'),
    value('pid-file'), bool('no-subreaper'), bool('no-pivot'), bool('no-new-keyring'),
    value('preserve-fds'),
  ], { needsPolicy: true }),
  spec: subcommand([value('bundle', 'b'), bool('rootless')], { takesId: false }),
  start: subcommand([]),
  state: subcommand([]),
  update: subcommand([
    value('resources', 'r'), value('blkio-weight'), value('cpu-period'), value('cpu-quota'),
    value('cpu-share'), value('cpu-rt-period'), value('cpu-rt-runtime'), value('cpuset-cpus'),
    value('cpuset-mems'), value('kernel-memory'), value('kernel-memory-tcp'), value('memory'),
    value('memory-reservation'), value('memory-swap'), value('pids-limit'),
    value('l3-cache-schema'), value('mem-bw-schema'),
  ], { needsPolicy: true }),
  features: subcommand([], { takesId: false, needsPolicy: true }),
};

/** Subcommand names as runc lists them (without urfave/cli's own `help`). */
export const RUNC_SUBCOMMANDS: readonly string[] = Object.keys(RUNC_COMMANDS);

/** The subcommands Bulwark's engine handles; the native launcher routes the same set. */
export const POLICY_COMMANDS: readonly string[] =
  RUNC_SUBCOMMANDS.filter((name) => RUNC_COMMANDS[name].needsPolicy);

export function needsPolicy(commandName: string | null): boolean {
  return commandName !== null && Object.hasOwn(RUNC_COMMANDS, commandName) &&
    RUNC_COMMANDS[commandName].needsPolicy;
}

/** The names urfave/cli dispatches on: runc's subcommands plus `help` and its alias `h`. */
function canonicalCommand(word: string): string | null {
  if (word === 'help' || word === 'h') return 'help';
  return Object.hasOwn(RUNC_COMMANDS, word) ? word : null;
}

type Token =
  | { kind: 'terminator' }
  | { kind: 'positional' }
  | { kind: 'malformed' }
  | { kind: 'flag'; name: string; inline: string | undefined };

/** One argument as Go's flag package sees it. */
function classify(arg: string): Token {
  if (arg.length < 2 || arg[0] !== '-') return { kind: 'positional' };
  if (arg === '--') return { kind: 'terminator' };
  const body = arg.slice(arg[1] === '-' ? 2 : 1);
  if (body === '' || body[0] === '-' || body[0] === '=') return { kind: 'malformed' };
  const eq = body.indexOf('=');
  return eq < 0
    ? { kind: 'flag', name: body, inline: undefined }
    : { kind: 'flag', name: body.slice(0, eq), inline: body.slice(eq + 1) };
}

type FlagTable = ReadonlyMap<string, FlagSpec>;

function flagTable(flags: readonly FlagSpec[]): FlagTable {
  const table = new Map<string, FlagSpec>();
  for (const flag of flags) {
    table.set(flag.name, flag);
    if (flag.alias !== undefined) table.set(flag.alias, flag);
  }
  return table;
}

const GLOBAL_TABLE = flagTable(RUNC_GLOBAL_FLAGS);
const COMMAND_TABLES: ReadonlyMap<string, FlagTable> = new Map(
  RUNC_SUBCOMMANDS.map((name) => [name, flagTable([...RUNC_COMMANDS[name].flags, HELP_FLAG])]),
);

/** Go's strconv.ParseBool. */
function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

type Options = Record<string, string | true | string[]>;

interface FlagParse {
  options: Options;
  rejected: string[];
  /** Index of the first argument that is not a flag (after a consumed `--`). */
  rest: number;
}

/** What to assume about a flag runc does not define, to keep going past it. */
type UnknownFlagRule = (args: readonly string[], next: number) => 'takes-next' | 'alone';

/**
 * Go's flag.Parse over `args`, except that it never stops at a problem: a flag runc would
 * refuse is noted in `rejected` and parsing goes on, so the rest of argv is still understood.
 */
function parseFlags(args: readonly string[], table: FlagTable, onUnknown: UnknownFlagRule): FlagParse {
  const options: Options = {};
  const rejected: string[] = [];
  // urfave/cli refuses `-b /x --bundle /y`: "Cannot use two forms of the same flag".
  const spelling = new Map<string, string>();
  let i = 0;
  for (; i < args.length; i++) {
    const token = classify(args[i]);
    if (token.kind === 'terminator') return { options, rejected, rest: i + 1 };
    if (token.kind === 'positional') break;
    const flag = token.kind === 'flag' ? table.get(token.name) : undefined;
    if (token.kind === 'malformed' || flag === undefined) {
      rejected.push(args[i]);
      const inline = token.kind === 'flag' && token.inline !== undefined;
      if (!inline && onUnknown(args, i + 1) === 'takes-next') i++;
      continue;
    }
    if ((spelling.get(flag.name) ?? token.name) !== token.name) rejected.push(args[i]);
    spelling.set(flag.name, token.name);
    if (flag.kind === 'bool') {
      const on = token.inline === undefined ? true : parseGoBool(token.inline);
      if (on === undefined) rejected.push(args[i]);
      else if (on) options[flag.name] = true;
      else delete options[flag.name];
      continue;
    }
    let text = token.inline;
    if (text === undefined) {
      if (i + 1 >= args.length) { rejected.push(args[i]); continue; }
      text = args[++i];
    }
    if (flag.kind === 'list') {
      const previous = options[flag.name];
      options[flag.name] = Array.isArray(previous) ? [...previous, text] : [text];
    } else {
      options[flag.name] = text;
    }
  }
  return { options, rejected, rest: i };
}

/**
 * runc 1.1.5 refuses any global flag it does not know, so there is nothing to mirror; but
 * crun and runsc accept argv meant for runc plus their own globals (podman passes crun's
 * `--cgroup-manager disabled`). An unknown `--x` followed by a word that is not a subcommand
 * is taken to own that word. That errs towards finding the subcommand: the safe way round,
 * since a missed `create` would skip hardening.
 */
const unknownGlobalRule: UnknownFlagRule = (args, next) =>
  next < args.length && classify(args[next]).kind === 'positional' &&
  canonicalCommand(args[next]) === null ? 'takes-next' : 'alone';

// A subcommand given an unknown flag makes runc 1.1.5 fail, so either reading is harmless;
// treating it as a boolean keeps the container id where runc would look for it.
const unknownCommandRule: UnknownFlagRule = () => 'alone';

/** urfave/cli's argIsFlag: is `arg` a flag this subcommand defines, however it is written? */
function isDefinedFlag(arg: string, table: FlagTable): boolean {
  if (arg === '-' || arg === '--' || !arg.startsWith('-')) return false;
  return table.has(arg.replace(/^-{1,3}/, '').split('=')[0]);
}

/**
 * urfave/cli v1.22.9's reorderArgs: defined flags (and the argument after each, unless written
 * `--flag=value` or itself a defined flag) move before everything else; a `--` that is not
 * taken as a value moves to the front of the rest, and what follows it stays in place.
 */
function moveFlagsFirst(args: readonly string[], table: FlagTable): string[] {
  const flags: string[] = [];
  const others: string[] = [];
  let valueMayFollow = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (valueMayFollow && !isDefinedFlag(arg, table)) {
      flags.push(arg);
      valueMayFollow = false;
    } else if (arg === '--') {
      return [...flags, '--', ...others, ...args.slice(i + 1)];
    } else if (isDefinedFlag(arg, table)) {
      flags.push(arg);
      valueMayFollow = !arg.includes('=');
    } else {
      others.push(arg);
    }
  }
  return [...flags, ...others];
}

const TEXT_GLOBALS = [
  ['root', 'root'], ['log', 'log'], ['logFormat', 'log-format'], ['rootless', 'rootless'], ['criu', 'criu'],
] as const;

function globalOptions(options: Options): RuncGlobalOptions {
  const global: RuncGlobalOptions = {
    systemdCgroup: options['systemd-cgroup'] === true,
    debug: options.debug === true,
    help: options.help === true,
    version: options.version === true,
  };
  for (const [field, flag] of TEXT_GLOBALS) {
    const found = options[flag];
    if (typeof found === 'string') global[field] = found;
  }
  return global;
}

/** Parse a runtime argv (without the program name) the way runc 1.1.5 would. Never throws. */
export function parseRuncArgs(argv: readonly string[]): RuncInvocation {
  const globals = parseFlags(argv, GLOBAL_TABLE, unknownGlobalRule);
  const global = globalOptions(globals.options);
  const base = { global, rejectedFlags: globals.rejected };
  // runc prints help or its version before it looks for a subcommand.
  if (global.help || global.version || globals.rest >= argv.length) {
    return { ...base, command: null, commandIndex: -1, id: null, options: {}, positionals: argv.slice(globals.rest) };
  }
  const commandIndex = globals.rest;
  const word = argv[commandIndex];
  const tail = argv.slice(commandIndex + 1);
  const name = canonicalCommand(word);
  const table = name === null ? undefined : COMMAND_TABLES.get(name);
  if (name === null || table === undefined) {
    // `help` and unknown words: runc shows help; nothing here is a flag it would parse.
    return { ...base, command: name ?? word, commandIndex, id: null, options: {}, positionals: tail };
  }
  const spec = RUNC_COMMANDS[name];
  const ordered = spec.reordersFlags ? moveFlagsFirst(tail, table) : tail;
  const parsed = parseFlags(ordered, table, unknownCommandRule);
  const positionals = ordered.slice(parsed.rest);
  return {
    global,
    command: name,
    commandIndex,
    id: spec.takesId ? positionals[0] ?? null : null,
    options: parsed.options,
    positionals,
    rejectedFlags: [...globals.rejected, ...parsed.rejected],
  };
}

const BUNDLE_COMMANDS: readonly string[] = ['create', 'run', 'restore'];

/**
 * The bundle directory runc will chdir into, or null for subcommands without one. A relative
 * `--bundle` is joined to `cwd` as text, never normalised: runc's chdir resolves `link/..`
 * through the symlink, and Bulwark must harden the directory runc will really use.
 */
export function bundleDir(inv: RuncInvocation, cwd: string): string | null {
  if (inv.command === null || !BUNDLE_COMMANDS.includes(inv.command)) return null;
  const bundle = inv.options.bundle;
  // runc skips the chdir for an empty --bundle, so "" means the working directory too.
  if (typeof bundle !== 'string' || bundle === '') return cwd;
  if (bundle.startsWith('/')) return bundle;
  return cwd.endsWith('/') ? cwd + bundle : `${cwd}/${bundle}`;
}
