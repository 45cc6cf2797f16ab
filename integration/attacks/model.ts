// Why each attack route should fail (or work) in a given container: the filter the runtime was
// handed decides first; where it lets the call through, the kernel decides, from the process's
// identity and the host's own settings. Every expectation is computed from the config the
// runtime really received (Bulwark's hardened config.json, or the control's untouched one) and
// from host facts read at run time, never typed in per profile. The same model must explain the
// control's answers, which is how the suite knows the model itself is right.
import type { Seccomp } from '../../src/spec/index.js';
import type { HostFacts } from './host.js';
import type { Abi } from './seccomp.js';
import { filterAnswer } from './seccomp.js';

/** The process an attack runs as, as far as the kernel's checks are concerned. */
export interface Attacker {
  filter: Seccomp | undefined;
  /** Effective capabilities (CAP_*), in the attacker's own user namespace. */
  caps: ReadonlySet<string>;
  uid: number;
  /** In a user namespace of its own: capabilities never count for the host (capable() checks). */
  userns: boolean;
  readonlyRoot: boolean;
  noNewPrivs: boolean;
  host: HostFacts;
}

export interface Expected {
  how: string;
  why: string;
}

type Call = readonly [name: string, args?: readonly bigint[]];

interface Route {
  /** The system calls the route makes in order; the first one the filter refuses is the answer. */
  calls: readonly Call[];
  abi?: Abi;
  kernel: (a: Attacker) => Expected;
  /** Only present when this holds (e.g. a second step after a first that worked). */
  when?: (a: Attacker) => boolean;
}

const CLONE_NEWUSER = 0x10000000n;
const CLONE_NEWNS = 0x20000n;
const CLONE_NEWCGROUP = 0x2000000n;
const SIGCHLD = 17n;
const AF_INET = 2n;
const AF_PACKET = 17n;
const AF_ALG = 38n;
const SOCK_RAW = 3n;
const SOCK_SEQPACKET = 5n;
const PTRACE_SEIZE = 0x4206n;
const PTRACE_ATTACH = 16n;
const KEYCTL_JOIN_SESSION_KEYRING = 1n;
const BPF_MAP_CREATE = 0n;

const ok = (why: string): Expected => ({ how: 'ok', why });
const fails = (errno: string, why: string): Expected => ({ how: `errno ${errno}`, why });

/** A capability that counts for host-wide checks (capable() in the initial user namespace). */
const hostCap = (a: Attacker, cap: string) => !a.userns && a.caps.has(cap);

const noSysAdmin = (): Expected => fails('EPERM', 'kernel: no CAP_SYS_ADMIN');

function rawSocket(a: Attacker): Expected {
  // CAP_NET_RAW counts in the user namespace owning the container's network namespace.
  return a.caps.has('CAP_NET_RAW') ? ok('kernel: CAP_NET_RAW held') : fails('EPERM', 'kernel: no CAP_NET_RAW');
}

function mknodBlock(a: Attacker): Expected {
  if (a.userns) return fails('EPERM', 'kernel: no device nodes from a user namespace');
  if (!a.caps.has('CAP_MKNOD')) return fails('EPERM', 'kernel: no CAP_MKNOD');
  return ok('kernel: CAP_MKNOD held');
}

export const ROUTES: Record<string, Record<string, Route>> = {
  userns: {
    unshare: { calls: [['unshare', [CLONE_NEWUSER]]], kernel: () => ok('kernel: unprivileged user namespaces are on') },
    clone: { calls: [['clone', [CLONE_NEWUSER | SIGCHLD]]], kernel: () => ok('kernel: unprivileged user namespaces are on') },
    unshare_then_mount_tmpfs: {
      calls: [['unshare', [CLONE_NEWUSER]], ['unshare', [CLONE_NEWNS]], ['mount']],
      kernel: () => ok('kernel: tmpfs is mountable by the owner of a user namespace'),
    },
  },
  mount: {
    proc: { calls: [['mount']], kernel: noSysAdmin },
    sysfs: { calls: [['mount']], kernel: noSysAdmin },
    tmpfs: { calls: [['mount']], kernel: noSysAdmin },
    fsopen_tmpfs: { calls: [['fsopen']], kernel: noSysAdmin },
  },
  keyring: {
    add_key: { calls: [['add_key']], kernel: () => ok('kernel: any process may add keys to its own keyrings') },
    keyctl_join_session: { calls: [['keyctl', [KEYCTL_JOIN_SESSION_KEYRING]]], kernel: () => ok('kernel: any process may join a session keyring') },
  },
  bpf: {
    map_create: {
      calls: [['bpf', [BPF_MAP_CREATE]]],
      kernel: (a) => (a.host.unprivilegedBpfDisabled !== 0 && !hostCap(a, 'CAP_BPF') && !hostCap(a, 'CAP_SYS_ADMIN')
        ? fails('EPERM', `kernel: kernel.unprivileged_bpf_disabled=${a.host.unprivilegedBpfDisabled} and no CAP_BPF`)
        : ok('kernel: bpf allowed')),
    },
  },
  userfaultfd: {
    userfaultfd: { calls: [['userfaultfd']], kernel: () => ok('kernel: UFFD_USER_MODE_ONLY is open to everyone') },
  },
  io_uring: {
    io_uring_setup: {
      calls: [['io_uring_setup']],
      kernel: (a) => (a.host.ioUringDisabled === 0 ? ok('kernel: kernel.io_uring_disabled=0')
        : fails('EPERM', `kernel: kernel.io_uring_disabled=${a.host.ioUringDisabled}`)),
    },
  },
  perf_event: {
    perf_event_open: {
      calls: [['perf_event_open']],
      kernel: (a) => (a.host.perfEventParanoid <= 2 ? ok(`kernel: perf_event_paranoid=${a.host.perfEventParanoid} allows self-monitoring`)
        : fails('EACCES', `kernel: perf_event_paranoid=${a.host.perfEventParanoid}`)),
    },
  },
  ptrace: {
    seize_sibling: { calls: [['ptrace', [PTRACE_SEIZE]]], kernel: (a) => ptraceSibling(a) },
    attach_sibling: { calls: [['ptrace', [PTRACE_ATTACH]]], kernel: (a) => ptraceSibling(a) },
  },
  raw_socket: {
    inet_raw: { calls: [['socket', [AF_INET, SOCK_RAW]]], kernel: rawSocket },
    packet_raw: { calls: [['socket', [AF_PACKET, SOCK_RAW]]], kernel: rawSocket },
  },
  sysrq: {
    open_write: {
      calls: [['openat']],
      kernel: (a) => (a.host.sysrqTrigger ? fails('EROFS', 'read-only bind of /proc/sysrq-trigger')
        : fails('ENOENT', 'kernel: no magic SysRq (CONFIG_MAGIC_SYSRQ off)')),
    },
  },
  proc_sys: {
    core_pattern: { calls: [['openat']], kernel: sysctlWrite },
    modprobe: {
      calls: [['openat']],
      kernel: (a) => (a.host.modprobeSysctl ? sysctlWrite(a) : fails('ENOENT', 'kernel: no kernel.modprobe (modules compiled out)')),
    },
  },
  release_agent: {
    mount_v1: { calls: [['mount']], kernel: noSysAdmin },
    nested_mount_v1: {
      calls: [['unshare', [CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP]], ['mount'], ['mount']],
      kernel: () => ok('kernel: the owner of a cgroup namespace may mount a v1 hierarchy in it'),
    },
    nested_mount_v1_release_agent: {
      calls: [['unshare', [CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP]], ['mount'], ['mount'], ['openat']],
      kernel: () => fails('ENOENT', 'kernel: release_agent exists only at a hierarchy\'s root, never in a cgroup-namespace mount'),
      when: (a) => expectRoute(a, 'release_agent', 'nested_mount_v1').how === 'ok',
    },
  },
  mknod_dev: {
    mknod: { calls: [['mknodat']], kernel: mknodBlock },
    extra_dev_nodes: { calls: [], kernel: () => ({ how: 'none', why: 'only the standard device nodes in /dev' }) },
    open_node: {
      calls: [['mknodat'], ['openat']],
      kernel: () => fails('EPERM', 'device cgroup: the host disk is not an allowed device'),
      when: (a) => expectRoute(a, 'mknod_dev', 'mknod').how === 'ok',
    },
  },
  open_by_handle: {
    name_to_handle_at: { calls: [['name_to_handle_at']], kernel: () => ok('kernel: anyone may ask for a handle') },
    open_by_handle_at: { calls: [['open_by_handle_at']], kernel: (a) => (hostCap(a, 'CAP_DAC_READ_SEARCH') ? ok('kernel: CAP_DAC_READ_SEARCH') : fails('EPERM', 'kernel: no CAP_DAC_READ_SEARCH')) },
  },
  af_alg: {
    socket: { calls: [['socket', [AF_ALG, SOCK_SEQPACKET]]], kernel: afAlg },
    socket_high_bits: { calls: [['socket', [0x100000000n | AF_ALG, SOCK_SEQPACKET]]], kernel: afAlg },
  },
  abi_i386: {
    getpid: { abi: 'i386', calls: [['getpid']], kernel: (a) => (a.host.i386 ? ok('kernel: the i386 ABI is on') : { how: 'signal SIGSEGV', why: 'kernel: no i386 ABI' }) },
    unshare_newuser: { abi: 'i386', calls: [['unshare', [CLONE_NEWUSER]]], kernel: (a) => (a.host.i386 ? ok('kernel: unprivileged user namespaces are on') : { how: 'signal SIGSEGV', why: 'kernel: no i386 ABI' }) },
  },
  abi_x32: {
    getpid: { abi: 'x32', calls: [['getpid']], kernel: (a) => (a.host.x32 ? ok('kernel: the x32 ABI is on') : fails('ENOSYS', 'kernel: no x32 ABI (CONFIG_X86_X32_ABI off)')) },
    unshare_newuser: { abi: 'x32', calls: [['unshare', [CLONE_NEWUSER]]], kernel: (a) => (a.host.x32 ? ok('kernel: unprivileged user namespaces are on') : fails('ENOSYS', 'kernel: no x32 ABI (CONFIG_X86_X32_ABI off)')) },
  },
  clone3: {
    clone3_newuser: { calls: [['clone3']], kernel: () => ok('kernel: unprivileged user namespaces are on') },
  },
};

/**
 * Sysctl files answer by identity, not capability: only the host's uid 0 gets the owner's
 * write bit (fs/proc/proc_sysctl.c test_perm). Past that, the read-only /proc/sys mount refuses.
 */
function sysctlWrite(a: Attacker): Expected {
  if (a.userns || a.uid !== 0) return fails('EACCES', 'kernel: sysctls are writable by host uid 0 only');
  return fails('EROFS', '/proc/sys is mounted read-only');
}

function ptraceSibling(a: Attacker): Expected {
  if (a.host.yamaPtraceScope !== undefined && a.host.yamaPtraceScope >= 1) return fails('EPERM', `kernel: Yama ptrace_scope=${a.host.yamaPtraceScope}`);
  return ok('kernel: same user, no Yama');
}

function afAlg(a: Attacker): Expected {
  return a.host.afAlg ? ok('kernel: AF_ALG available') : fails('EAFNOSUPPORT', 'kernel: built without AF_ALG');
}

/** One route's expected answer: the filter's, where it refuses one of the route's calls, else the kernel's. */
export function expectRoute(a: Attacker, attack: string, name: string): Expected {
  const route = ROUTES[attack]?.[name];
  if (!route) throw new Error(`no model for ${attack}.${name}`);
  for (const [call, args] of route.calls) {
    const answer = filterAnswer(a.filter, route.abi ?? 'x86_64', call, args ?? []);
    if (answer !== 'allow') return { how: answer, why: `seccomp: the filter answers ${call}${route.abi && route.abi !== 'x86_64' ? ` (${route.abi})` : ''} with ${answer}` };
  }
  return route.kernel(a);
}

/** Every route the attack program should report, with its expected answer. */
export function expectRoutes(a: Attacker, attack: string): Record<string, Expected> {
  const routes = ROUTES[attack];
  if (!routes) throw new Error(`no model for ${attack}`);
  const out: Record<string, Expected> = {};
  for (const [name, route] of Object.entries(routes)) {
    if (route.when && !route.when(a)) continue;
    out[name] = expectRoute(a, attack, name);
  }
  return out;
}

/** Whether a modelled attack should succeed at all (some route that is an escape works). */
export const ESCAPE_ROUTES: Record<string, readonly string[]> = {
  userns: ['unshare', 'clone'],
  mount: ['proc', 'sysfs', 'tmpfs', 'fsopen_tmpfs'],
  keyring: ['add_key', 'keyctl_join_session'],
  bpf: ['map_create'],
  userfaultfd: ['userfaultfd'],
  io_uring: ['io_uring_setup'],
  perf_event: ['perf_event_open'],
  ptrace: ['seize_sibling', 'attach_sibling'],
  raw_socket: ['inet_raw', 'packet_raw'],
  sysrq: ['open_write'],
  proc_sys: ['core_pattern', 'modprobe'],
  release_agent: ['mount_v1_release_agent', 'nested_mount_v1_release_agent'],
  mknod_dev: ['open_node'],
  open_by_handle: ['open_by_handle_at'],
  af_alg: ['socket', 'socket_high_bits'],
  abi_i386: ['unshare_newuser'],
  abi_x32: ['unshare_newuser'],
  clone3: ['clone3_newuser'],
};
