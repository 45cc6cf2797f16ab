// Facts about the kernel the containers share with the host, read at run time so the model
// (model.ts) predicts this machine's answers and not some other's.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { execa } from 'execa';

export interface HostFacts {
  kernel: string;
  unprivilegedBpfDisabled: number;
  ioUringDisabled: number;
  perfEventParanoid: number;
  yamaPtraceScope: number | undefined;
  sysrqTrigger: boolean;
  modprobeSysctl: boolean;
  /** AF_ALG registered (it lists itself as "ALG" in /proc/net/protocols). */
  afAlg: boolean;
  /** int 0x80 reaches the i386 system-call table. */
  i386: boolean;
  /** The x32 ABI answers (not ENOSYS). */
  x32: boolean;
  /** The host's root filesystem device, MAJOR:MINOR: the disk mknod_dev tries to reach. */
  rootDisk: string;
}

function readNumber(path: string, fallback: number): number {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return fallback;
  }
}

/** Linux's dev_t split (new_decode_dev). */
export function majorMinor(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

interface AttackLine {
  routes: Record<string, string>;
}

/**
 * The ABI probes run on the host itself: their only effect is a child process that enters a new
 * user namespace of its own and exits.
 */
async function abiRoutes(program: string, attack: 'abi_i386' | 'abi_x32'): Promise<Record<string, string>> {
  const result = await execa(program, [attack], { reject: false, stdin: 'ignore', timeout: 30_000 });
  if (result.exitCode !== 0) throw new Error(`${program} ${attack} on the host failed: ${result.stderr}`);
  return (JSON.parse(String(result.stdout).trim()) as AttackLine).routes;
}

export async function hostFacts(program: string): Promise<HostFacts> {
  const protocols = existsSync('/proc/net/protocols') ? readFileSync('/proc/net/protocols', 'utf8') : '';
  const i386 = await abiRoutes(program, 'abi_i386');
  const x32 = await abiRoutes(program, 'abi_x32');
  return {
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    unprivilegedBpfDisabled: readNumber('/proc/sys/kernel/unprivileged_bpf_disabled', 0),
    ioUringDisabled: readNumber('/proc/sys/kernel/io_uring_disabled', 0),
    perfEventParanoid: readNumber('/proc/sys/kernel/perf_event_paranoid', 2),
    yamaPtraceScope: existsSync('/proc/sys/kernel/yama/ptrace_scope') ? readNumber('/proc/sys/kernel/yama/ptrace_scope', 0) : undefined,
    sysrqTrigger: existsSync('/proc/sysrq-trigger'),
    modprobeSysctl: existsSync('/proc/sys/kernel/modprobe'),
    afAlg: /^ALG\s/m.test(protocols),
    i386: i386.getpid === 'ok',
    x32: x32.getpid === 'ok',
    rootDisk: majorMinor(statSync('/').dev),
  };
}
