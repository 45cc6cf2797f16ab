// What an OCI seccomp filter (the one a runtime was really handed) answers to one system call,
// evaluated the way libseccomp builds it: the native ABI always, other ABIs only when listed
// (an unlisted ABI meets libseccomp's bad-architecture action, which kills: SIGSYS); rules for
// a name whose argument comparisons all match decide, else the default action. This is the
// harness's second opinion on WHY an attack failed: "the filter answers EPERM" versus "the
// filter lets it through, so the EPERM is the kernel's (a missing capability)".
import { constants as osConstants } from 'node:os';
import type { Seccomp } from '../../src/spec/index.js';

export type Abi = 'x86_64' | 'x32' | 'i386';

/** 'allow', 'errno EPERM', 'signal SIGSYS' (the attack programs' own spelling). */
export type FilterAnswer = string;

const ABI_ARCH: Record<Abi, string> = { x86_64: 'SCMP_ARCH_X86_64', x32: 'SCMP_ARCH_X32', i386: 'SCMP_ARCH_X86' };

export function errnoName(n: number): string {
  const entry = Object.entries(osConstants.errno).find(([, value]) => value === n);
  if (!entry) throw new Error(`no errno numbered ${n}`);
  return entry[0];
}

function actionAnswer(action: string, errnoRet: number | undefined): FilterAnswer {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
    case 'SCMP_ACT_LOG':
      return 'allow';
    case 'SCMP_ACT_ERRNO':
      return `errno ${errnoName(errnoRet ?? 1)}`; // runc and crun default an ERRNO action to EPERM
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
    case 'SCMP_ACT_KILL_PROCESS':
    case 'SCMP_ACT_TRAP':
      return 'signal SIGSYS';
    default:
      throw new Error(`the attack suite does not model seccomp action ${action}`);
  }
}

function compare(op: string, arg: bigint, value: bigint, valueTwo: bigint): boolean {
  switch (op) {
    case 'SCMP_CMP_EQ': return arg === value;
    case 'SCMP_CMP_NE': return arg !== value;
    case 'SCMP_CMP_LT': return arg < value;
    case 'SCMP_CMP_LE': return arg <= value;
    case 'SCMP_CMP_GT': return arg > value;
    case 'SCMP_CMP_GE': return arg >= value;
    case 'SCMP_CMP_MASKED_EQ': return (arg & value) === valueTwo;
    default: throw new Error(`unknown seccomp comparison ${op}`);
  }
}

/**
 * The filter's answer to `name(args...)` from `abi`. Arguments the caller does not give are
 * taken as 0. Two matching rules that disagree are refused: libseccomp's choice between them
 * is not something a test should guess.
 */
export function filterAnswer(filter: Seccomp | undefined, abi: Abi, name: string, args: readonly bigint[] = []): FilterAnswer {
  if (!filter) return 'allow';
  if (abi !== 'x86_64' && !(filter.architectures ?? []).includes(ABI_ARCH[abi] as never)) return 'signal SIGSYS';
  const answers = new Set(
    (filter.syscalls ?? [])
      .filter((rule) => rule.names.includes(name))
      .filter((rule) => (rule.args ?? []).every((a) => compare(a.op, args[a.index] ?? 0n, BigInt(a.value), BigInt(a.valueTwo ?? 0))))
      .map((rule) => actionAnswer(rule.action, rule.errnoRet)),
  );
  if (answers.size > 1) throw new Error(`seccomp rules for ${name} disagree: ${[...answers].join(', ')}`);
  return [...answers][0] ?? actionAnswer(filter.defaultAction, filter.defaultErrnoRet);
}
