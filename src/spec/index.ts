// The OCI runtime-spec as TypeScript sees it (types generated from the spec's JSON Schemas at
// build time) plus schema validation with the validators ajv compiled ahead of time.
import { validateConfig } from '../generated/validators.js';
import type { ValidationError } from '../generated/validators.js';
import { containsBigint, toApproximateNumbers } from '../json/lossless.js';

export type {
  Spec,
  Linux,
  Mount,
  Hook,
  IDMapping,
  Device,
  DeviceCgroup,
  NamespaceReference,
  Syscall,
  SyscallArg,
} from '../generated/spec.js';
import type { Spec } from '../generated/spec.js';

export type Process = NonNullable<Spec['process']>;
export type Capabilities = NonNullable<Process['capabilities']>;
export type Rlimit = NonNullable<Process['rlimits']>[number];
export type Resources = NonNullable<NonNullable<Spec['linux']>['resources']>;
export type Seccomp = NonNullable<NonNullable<Spec['linux']>['seccomp']>;
export type NamespaceType = 'mount' | 'pid' | 'network' | 'uts' | 'ipc' | 'user' | 'cgroup';

export class SpecValidationError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`not a valid OCI runtime config: ${problems.join('; ')}`);
    this.name = 'SpecValidationError';
    this.problems = problems;
  }
}

function describeError(e: ValidationError): string {
  const where = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replaceAll('/', '.');
  const extra = e.keyword === 'enum' ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : '';
  return `${where}: ${e.message ?? e.keyword}${extra}`;
}

/** The first schema problems of a parsed config, or [] when it is a valid runtime-spec config. */
export function specProblems(value: unknown): string[] {
  // The validators know numbers only; most configs hold no bigint and need no rounded copy.
  if (validateConfig(containsBigint(value) ? toApproximateNumbers(value) : value)) return [];
  return (validateConfig.errors ?? []).slice(0, 5).map(describeError);
}

/** Narrow a parsed document to Spec or throw SpecValidationError. */
export function assertSpec(value: unknown): Spec {
  const problems = specProblems(value);
  if (problems.length > 0) throw new SpecValidationError(problems);
  return value as Spec;
}
