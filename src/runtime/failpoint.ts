// Crash points for tests (integration/assurance/crashes.test.ts): `failpoint(name)` kills the
// calling process with SIGKILL when the environment variable BULWARK_FAILPOINT equals `name`,
// so a test can stop `create` at an exact instant (between a temp file's write and its rename,
// between claiming an ID block and linking it, ...) and check what a power cut or an OOM kill
// there would leave on disk. SIGKILL, not an exception: no `finally`, no cleanup, no exit code
// of our choosing, just as a real kill -9.
//
// A test hook only, with no cost otherwise: the variable is read once, when this module loads,
// and an unset variable makes every call a comparison with undefined. A process that inherits
// the variable by accident gains nothing: it can only kill itself.

/** Every failpoint in the code, in the order `create` reaches them. */
export const FAILPOINTS = [
  /** ids.ts: a block file claimed with O_EXCL, no pods/<key> link to it yet. */
  'ids.after-claim',
  /** io.ts: config.json.orig kept, the hardened config not yet written. */
  'config.before-write',
  /** io.ts: the hardened config written to its temp file, not yet renamed. */
  'config.before-rename',
  /** io.ts: the hardened config renamed over config.json. */
  'config.after-rename',
  /** records.ts: record.json and runtime.argv written; the runtime not yet exec'd. */
  'record.after-write',
] as const;

export type FailpointName = (typeof FAILPOINTS)[number];

const armed: string | undefined = process.env.BULWARK_FAILPOINT || undefined;

export function failpoint(name: FailpointName): void {
  if (armed === name) process.kill(process.pid, 'SIGKILL');
}
