// Flag helpers for the admin CLI's subcommands: take `--name`, `--name value` or `--name=value`
// out of an argument list, so what remains are the positionals.

/** A mistake in how a command was called; the CLI adds a pointer to `bulwark help`. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function takeFlag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

export function takeValue(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const arg = args[i]!;
  if (arg.startsWith(`${name}=`)) {
    args.splice(i, 1);
    return arg.slice(name.length + 1);
  }
  const value = args[i + 1];
  if (value === undefined) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}
