// Which names are system calls on which seccomp ABI, from the generated table (./syscall-table.ts).
// Each ABI's lookup is built on first use and kept: the pass asks for one or two ABIs per create.
import { SYSCALL_NAMES, SYSCALL_NUMBERS } from './syscall-table.js';

const NAMES: readonly string[] = SYSCALL_NAMES.trim().split(' ');
if (NAMES.length > 1024) throw new Error('syscall-table: more than 1024 names');
const KNOWN: ReadonlySet<string> = new Set(NAMES);
const byArch = new Map<string, Row>();
const byArchList = new Map<string, AbiOrder>();

/** One ABI's row of the table: each name's number minus the ABI's base (-1: no such call), by NAMES index. */
interface Row {
  readonly offsets: Int32Array;
  readonly base: number;
  readonly numbers: ReadonlyMap<string, number>;
}

function row(arch: string): Row | undefined {
  const cached = byArch.get(arch);
  if (cached) return cached;
  const entry = Object.hasOwn(SYSCALL_NUMBERS, arch) ? SYSCALL_NUMBERS[arch] : undefined;
  if (!entry) return undefined;
  const fields = entry.numbers.split(',');
  const offsets = new Int32Array(NAMES.length);
  const numbers = new Map<string, number>();
  for (let i = 0; i < NAMES.length; i++) {
    offsets[i] = fields[i] ? Number(fields[i]) : -1;
    if (offsets[i] >= 0) numbers.set(NAMES[i], entry.base + offsets[i]);
  }
  const parsed = { offsets, base: entry.base, numbers };
  byArch.set(arch, parsed);
  return parsed;
}

/** True when the table knows the name on some ABI (libseccomp 2.5.4 knows it). */
export function isKnownSyscall(name: string): boolean {
  return KNOWN.has(name);
}

/**
 * Name -> number of every system call on a seccomp ABI (`SCMP_ARCH_X86_64`, ...), names reached
 * through socketcall(2)/ipc(2) included; undefined for an ABI the table lacks.
 */
export function syscallNumbers(arch: string): ReadonlyMap<string, number> | undefined {
  return row(arch)?.numbers;
}

/**
 * For a filter's list of ABIs, native first: `rank` gives every name the table knows its place in
 * libseccomp's cheapest insertion order (descending number on the first ABI, then descending on the
 * next for the names the first lacks, ...), or -1 when the call exists on none of them. `size` is
 * one more than the highest rank.
 */
export interface AbiOrder {
  readonly rank: ReadonlyMap<string, number>;
  readonly size: number;
}

/** The order for a list of ABIs; undefined for an empty list or one with an ABI the table lacks. Built once per list. */
export function abiOrder(archs: readonly string[]): AbiOrder | undefined {
  if (archs.length === 0) return undefined;
  const key = archs.join(' ');
  const cached = byArchList.get(key);
  if (cached) return cached;
  const rows: Row[] = [];
  for (const arch of archs) {
    const r = row(arch);
    if (!r) return undefined;
    rows.push(r);
  }
  const rank = new Map<string, number>();
  for (const { offsets } of rows) {
    // Sorted natively as one number per call: offset, then name index (NAMES is sorted, so calls
    // sharing a number, the multiplexed ones, come in name order).
    const keys = new Float64Array(NAMES.length);
    let count = 0;
    for (let i = 0; i < NAMES.length; i++) if (offsets[i] >= 0) keys[count++] = offsets[i] * 1024 + (1023 - i);
    const sorted = keys.subarray(0, count).sort();
    for (let k = count - 1; k >= 0; k--) {
      const name = NAMES[1023 - (sorted[k] % 1024)];
      if (!rank.has(name)) rank.set(name, rank.size);
    }
  }
  const size = rank.size;
  for (const n of NAMES) if (!rank.has(n)) rank.set(n, -1);
  const order = { rank, size };
  byArchList.set(key, order);
  return order;
}
