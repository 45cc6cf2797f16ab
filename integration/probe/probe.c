/*
 * probe: runs INSIDE a test container and reports, as one JSON object on stdout, what the
 * container really got (namespaces, ID maps, capabilities, seccomp, masked and read-only paths,
 * limits). Integration tests compare that report with what Bulwark promised.
 *
 * Built static (gcc -static -O2) so it needs nothing from the container's rootfs.
 *
 *   probe self [--masked=P,P...] [--readonly=P,P...]   identity, namespaces, mounts, paths
 *   probe ids                                            uid/gid triple, groups, NoNewPrivs
 *   probe syscall NAME... | all                          try syscalls harmlessly, see table below
 *   probe forkbomb N                                     fork until failure or N children
 *   probe membomb MIB                                    allocate and touch MIB MiB
 *   probe setuid [PATH]                                  exec a setuid-root copy, report its euid
 *
 * Exit status: 0 when the report was printed, 2 on usage errors, 1 when a step failed (the JSON
 * still says which).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef BPF_PROG_LOAD
#define BPF_PROG_LOAD 5
#endif
#define PER_LINUX32_VALUE 0x0008
#define ADDR_NO_RANDOMIZE_VALUE 0x0040000

/* ------------------------------------------------------------------------------------------ */
/* A tiny JSON writer: enough for objects, arrays, strings, integers and booleans.            */

static int json_depth;
static int json_need_comma[64];
static int json_after_key;

static void json_sep(void) {
  if (json_after_key) {
    json_after_key = 0;
    return;
  }
  if (json_need_comma[json_depth]) putchar(',');
  json_need_comma[json_depth] = 1;
}

static void json_string_body(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p == '\n') fputs("\\n", stdout);
    else if (*p == '\t') fputs("\\t", stdout);
    else if (*p < 0x20 || *p >= 0x7f) printf("\\u%04x", *p); /* keep output ASCII and valid */
    else putchar(*p);
  }
  putchar('"');
}

static void json_open(char c) {
  json_sep();
  putchar(c);
  json_need_comma[++json_depth] = 0;
}
static void json_close(char c) {
  putchar(c);
  json_depth--;
}
static void json_key(const char *k) {
  json_sep();
  json_string_body(k);
  putchar(':');
  json_after_key = 1;
}
static void json_str(const char *s) {
  json_sep();
  if (s) json_string_body(s);
  else fputs("null", stdout);
}
static void json_int(long long v) {
  json_sep();
  printf("%lld", v);
}
static void json_bool(int v) {
  json_sep();
  fputs(v ? "true" : "false", stdout);
}
static void json_null(void) {
  json_sep();
  fputs("null", stdout);
}
static void json_raw(const char *text) {
  json_sep();
  fputs(text, stdout);
}
static void json_end(void) {
  putchar('\n');
  fflush(stdout);
}

/* ------------------------------------------------------------------------------------------ */
/* Names for errno and signal values, so reports say "EPERM" rather than 1.                    */

static const char *errno_name(int e) {
  static char unknown[16];
  switch (e) {
  case 0: return "OK";
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case ESRCH: return "ESRCH";
  case EINTR: return "EINTR";
  case EIO: return "EIO";
  case ENXIO: return "ENXIO";
  case E2BIG: return "E2BIG";
  case ENOEXEC: return "ENOEXEC";
  case EBADF: return "EBADF";
  case ECHILD: return "ECHILD";
  case EAGAIN: return "EAGAIN";
  case ENOMEM: return "ENOMEM";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case EBUSY: return "EBUSY";
  case EEXIST: return "EEXIST";
  case ENODEV: return "ENODEV";
  case ENOTDIR: return "ENOTDIR";
  case EISDIR: return "EISDIR";
  case EINVAL: return "EINVAL";
  case ENFILE: return "ENFILE";
  case EMFILE: return "EMFILE";
  case ENOSPC: return "ENOSPC";
  case EROFS: return "EROFS";
  case ENOSYS: return "ENOSYS";
  case ENOKEY: return "ENOKEY";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case EAFNOSUPPORT: return "EAFNOSUPPORT";
  case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
  case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
  case EUSERS: return "EUSERS";
  }
  snprintf(unknown, sizeof unknown, "E%d", e);
  return unknown;
}

static const char *signal_name(int s) {
  static char unknown[16];
  switch (s) {
  case SIGKILL: return "SIGKILL";
  case SIGSYS: return "SIGSYS";
  case SIGSEGV: return "SIGSEGV";
  case SIGABRT: return "SIGABRT";
  case SIGALRM: return "SIGALRM";
  case SIGTERM: return "SIGTERM";
  case SIGBUS: return "SIGBUS";
  }
  snprintf(unknown, sizeof unknown, "SIG%d", s);
  return unknown;
}

/* ------------------------------------------------------------------------------------------ */
/* Small file helpers.                                                                         */

/* Read a whole (small, /proc) file into a static-size buffer; returns bytes or -1 with errno. */
static ssize_t read_small_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t used = 0;
  for (;;) {
    ssize_t n = read(fd, buf + used, size - 1 - used);
    if (n < 0) {
      int saved = errno;
      close(fd);
      errno = saved;
      return -1;
    }
    if (n == 0 || used + (size_t)n >= size - 1) {
      used += (size_t)n;
      break;
    }
    used += (size_t)n;
  }
  close(fd);
  buf[used] = '\0';
  return (ssize_t)used;
}

/* Emit each line of a file as a JSON string with runs of blanks squeezed to one space. */
static void emit_file_lines(const char *key, const char *path) {
  static char buf[65536];
  json_key(key);
  if (read_small_file(path, buf, sizeof buf) < 0) {
    json_open('{');
    json_key("errno");
    json_str(errno_name(errno));
    json_close('}');
    return;
  }
  json_open('[');
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char squeezed[512];
    size_t o = 0;
    int in_blank = 1; /* also drops leading blanks */
    for (char *p = line; *p && o < sizeof squeezed - 1; p++) {
      if (*p == ' ' || *p == '\t') {
        if (!in_blank) squeezed[o++] = ' ';
        in_blank = 1;
      } else {
        squeezed[o++] = *p;
        in_blank = 0;
      }
    }
    while (o > 0 && squeezed[o - 1] == ' ') o--;
    squeezed[o] = '\0';
    json_str(squeezed);
  }
  json_close(']');
}

/* ------------------------------------------------------------------------------------------ */
/* probe self                                                                                  */

static const char *const status_fields[] = {
    "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters",
    "Uid", "Gid", "Groups", NULL};

static void emit_status(void) {
  static char buf[16384];
  json_key("status");
  if (read_small_file("/proc/self/status", buf, sizeof buf) < 0) {
    json_open('{');
    json_key("errno");
    json_str(errno_name(errno));
    json_close('}');
    return;
  }
  json_open('{');
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    *colon = '\0';
    for (int i = 0; status_fields[i]; i++) {
      if (strcmp(line, status_fields[i]) != 0) continue;
      char *value = colon + 1;
      while (*value == ' ' || *value == '\t') value++;
      for (char *p = value; *p; p++) if (*p == '\t') *p = ' ';
      json_key(line);
      json_str(value);
    }
  }
  json_close('}');
}

static void emit_namespaces(void) {
  static const char *const kinds[] = {"user", "net", "pid", "mnt", "ipc", "uts", "cgroup", "time", NULL};
  json_key("ns");
  json_open('{');
  for (int i = 0; kinds[i]; i++) {
    char path[64], target[128];
    snprintf(path, sizeof path, "/proc/self/ns/%s", kinds[i]);
    ssize_t n = readlink(path, target, sizeof target - 1);
    json_key(kinds[i]);
    if (n < 0) {
      json_null();
      continue;
    }
    target[n] = '\0';
    json_str(target);
  }
  json_close('}');
}

/* One mountinfo line, split into the fields tests care about. */
struct mount_entry {
  char mount_point[256];
  char options[256];
  char fstype[64];
  char source[256];
  char super_options[512];
  int found;
};

/* Undo mountinfo's octal escapes (\040 for a blank) in place. */
static void unescape_octal(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
      *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 3;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
}

/* The topmost mount at `target` is the last mountinfo line naming it. */
static void find_mount(const char *target, struct mount_entry *out) {
  static char buf[262144];
  memset(out, 0, sizeof *out);
  if (read_small_file("/proc/self/mountinfo", buf, sizeof buf) < 0) return;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *fields[32];
    int count = 0;
    char *fsave = NULL;
    for (char *f = strtok_r(line, " ", &fsave); f && count < 32; f = strtok_r(NULL, " ", &fsave)) fields[count++] = f;
    if (count < 7) continue;
    int dash = -1;
    for (int i = 6; i < count; i++) if (strcmp(fields[i], "-") == 0) { dash = i; break; }
    if (dash < 0) continue;
    unescape_octal(fields[4]);
    if (strcmp(fields[4], target) != 0) continue;
    out->found = 1;
    snprintf(out->mount_point, sizeof out->mount_point, "%s", fields[4]);
    snprintf(out->options, sizeof out->options, "%s", fields[5]);
    snprintf(out->fstype, sizeof out->fstype, "%s", dash + 1 < count ? fields[dash + 1] : "");
    snprintf(out->source, sizeof out->source, "%s", dash + 2 < count ? fields[dash + 2] : "");
    snprintf(out->super_options, sizeof out->super_options, "%s", dash + 3 < count ? fields[dash + 3] : "");
  }
}

static void emit_mounts(void) {
  static const char *const targets[] = {"/", "/proc", "/sys", "/dev", "/tmp", NULL};
  json_key("mounts");
  json_open('{');
  for (int i = 0; targets[i]; i++) {
    struct mount_entry m;
    find_mount(targets[i], &m);
    json_key(targets[i]);
    if (!m.found) {
      json_null();
      continue;
    }
    json_open('{');
    json_key("fstype");
    json_str(m.fstype);
    json_key("source");
    json_str(m.source);
    json_key("options");
    json_str(m.options);
    json_key("superOptions");
    json_str(m.super_options);
    json_close('}');
  }
  json_close('}');
}

static int dir_is_empty(const char *path) {
  DIR *d = opendir(path);
  if (!d) return 0;
  struct dirent *e;
  int empty = 1;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      empty = 0;
      break;
    }
  }
  closedir(d);
  return empty;
}

/*
 * A path counts as masked when runtimes' two masking tricks are visible: a file with /dev/null
 * bound over it (char device 1:3), or a directory with an empty read-only tmpfs on it.
 * "absent" (the kernel has no such file) is reported apart; tests decide whether it is enough.
 */
static void emit_masked_path(const char *path) {
  struct stat st;
  json_key(path);
  json_open('{');
  if (lstat(path, &st) < 0) {
    int e = errno;
    json_key("state");
    json_str(e == ENOENT ? "absent" : "error");
    json_key("errno");
    json_str(errno_name(e));
    json_close('}');
    return;
  }
  if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3) {
    json_key("state");
    json_str("masked");
    json_key("how");
    json_str("devnull");
  } else if (S_ISDIR(st.st_mode)) {
    struct statfs fs;
    struct statvfs vfs;
    int tmpfs = statfs(path, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
    int readonly = statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
    int empty = dir_is_empty(path);
    json_key("state");
    json_str(tmpfs && readonly && empty ? "masked" : "exposed");
    json_key("how");
    json_str(tmpfs && readonly && empty ? "ro-tmpfs" : empty ? "empty-dir" : "dir");
  } else {
    /* One byte is enough: /proc/kcore would otherwise read for ever. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      int e = errno;
      json_key("state");
      json_str("denied");
      json_key("errno");
      json_str(errno_name(e));
    } else {
      char c;
      ssize_t n = read(fd, &c, 1);
      int e = errno;
      close(fd);
      json_key("state");
      json_str(n > 0 ? "exposed" : n == 0 ? "empty" : "denied");
      if (n < 0) {
        json_key("errno");
        json_str(errno_name(e));
      }
    }
  }
  json_close('}');
}

/*
 * A read-only path: the mount flag (statvfs ST_RDONLY) and a harmless write, chmod to the mode
 * the path already has. The kernel asks the mount for write access (EROFS) before it looks at
 * permissions, so this works for files and directories, as root or not, in a user namespace or
 * not; an open(O_WRONLY) would hit permission checks first, and procfs answers ENOENT to any
 * attempt to create a name in its directories. On a writable mount the mode stays as it was
 * (only the ctime moves): fine in the throw-away containers this probe is made for.
 */
static void emit_readonly_path(const char *path) {
  struct stat st;
  json_key(path);
  json_open('{');
  if (stat(path, &st) < 0) {
    int e = errno;
    json_key("state");
    json_str(e == ENOENT ? "absent" : "error");
    json_key("errno");
    json_str(errno_name(e));
    json_close('}');
    return;
  }
  struct statvfs vfs;
  int mount_ro = statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
  int chmod_errno = chmod(path, st.st_mode & 07777) == 0 ? 0 : errno;
  json_key("state");
  json_str(mount_ro || chmod_errno == EROFS ? "readonly" : "writable");
  json_key("mountReadonly");
  json_bool(mount_ro);
  json_key("chmod");
  json_str(errno_name(chmod_errno));
  json_close('}');
}

static void emit_path_list(const char *key, const char *list, void (*emit)(const char *)) {
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", list);
  json_key(key);
  json_open('{');
  char *save = NULL;
  for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) emit(p);
  json_close('}');
}

static void emit_ids(void) {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  json_key("uid");
  json_int(ruid);
  json_key("euid");
  json_int(euid);
  json_key("suid");
  json_int(suid);
  json_key("gid");
  json_int(rgid);
  json_key("egid");
  json_int(egid);
  json_key("sgid");
  json_int(sgid);
  gid_t groups[64];
  int n = getgroups(64, groups);
  json_key("groups");
  json_open('[');
  for (int i = 0; i < n; i++) json_int(groups[i]);
  json_close(']');
  json_key("noNewPrivs");
  json_int(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
}

static const char default_masked[] =
    "/proc/kcore,/proc/keys,/proc/timer_list,/proc/sched_debug,/proc/acpi,/proc/scsi,/sys/firmware,/proc/interrupts";
static const char default_readonly[] = "/proc/sys,/proc/sysrq-trigger,/proc/irq,/proc/bus";

static int cmd_self(int argc, char **argv) {
  const char *masked = default_masked, *readonly = default_readonly;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "--masked=", 9) == 0) masked = argv[i] + 9;
    else if (strncmp(argv[i], "--readonly=", 11) == 0) readonly = argv[i] + 11;
    else {
      fprintf(stderr, "probe self: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  char hostname[256] = "";
  gethostname(hostname, sizeof hostname - 1);
  json_open('{');
  json_key("pid");
  json_int(getpid());
  emit_ids();
  json_key("hostname");
  json_str(hostname);
  emit_file_lines("uid_map", "/proc/self/uid_map");
  emit_file_lines("gid_map", "/proc/self/gid_map");
  emit_status();
  emit_namespaces();
  emit_file_lines("cgroup", "/proc/self/cgroup");
  emit_mounts();
  emit_path_list("masked", masked, emit_masked_path);
  emit_path_list("readonly", readonly, emit_readonly_path);
  json_close('}');
  json_end();
  return 0;
}

static int cmd_ids(void) {
  json_open('{');
  emit_ids();
  json_close('}');
  json_end();
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* probe syscall                                                                               */

/*
 * Each attempt returns the raw syscall result (-1 with errno set on failure). Arguments are
 * chosen so that nothing changes outside the throw-away child process the attempt runs in, and
 * so that a call which gets past seccomp AND the capability checks fails on its arguments with
 * an errno other than EPERM. Seccomp filters (Docker's default, Bulwark's) answer EPERM.
 *
 * | name              | call                                          | reached kernel     | EPERM means         |
 * |-------------------|-----------------------------------------------|--------------------|---------------------|
 * | unshare           | unshare(0x1) (not a CLONE_* flag)            | EINVAL             | filter              |
 * | unshare_user      | unshare(CLONE_NEWUSER)                        | 0 (child only)     | filter or kernel*   |
 * | unshare_mount     | unshare(CLONE_NEWNS)                          | 0 (child only)     | filter or no SYS_ADMIN |
 * | setns             | setns(-1, 0)                                  | EBADF              | filter              |
 * | keyctl            | keyctl(GET_KEYRING_ID, THREAD_KEYRING, 0)     | ENOKEY (or an id)  | filter              |
 * | add_key           | add_key("user", "bulwark-probe", NULL, 0, 0)  | EINVAL (keyring 0) | filter              |
 * | bpf               | bpf(BPF_PROG_LOAD, NULL, 8)                   | EFAULT (>= 5.8)    | filter (older kernels: also unprivileged_bpf_disabled) |
 * | userfaultfd       | userfaultfd(UFFD_USER_MODE_ONLY | 0x2)       | EINVAL             | filter              |
 * | io_uring_setup    | io_uring_setup(1, NULL)                       | EFAULT             | filter or io_uring_disabled=2 |
 * | perf_event_open   | perf_event_open(NULL, 0, -1, -1, 0)           | EFAULT             | filter              |
 * | open_by_handle_at | open_by_handle_at(-1, NULL, 0)                | EFAULT (6.18)      | filter or no DAC_READ_SEARCH (older kernels check it first) |
 * | mount             | mount("none", "/mnt", "tmpfs", MS_NOUSER, 0)  | EINVAL             | filter              |
 * | mount_tmpfs       | mount("none", "/mnt", "tmpfs", 0, 0), umount  | 0                  | filter or no SYS_ADMIN |
 * |                   |   (in a private mount namespace when allowed) |                    |                     |
 * | clone3            | clone3(NULL, 0)                               | EINVAL             | filter (Docker's profile: ENOSYS) |
 * | clone_newuser     | clone(SIGCHLD|CLONE_NEWUSER), child exits     | 0 (a child pid)    | filter or kernel*   |
 * | socket_alg        | socket(AF_ALG, SOCK_SEQPACKET, 0)             | fd / EAFNOSUPPORT  | filter              |
 * | socket_vsock      | socket(AF_VSOCK, SOCK_STREAM, 0)              | fd / EAFNOSUPPORT  | filter              |
 * | socket_raw        | socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)       | fd                 | filter or no NET_RAW |
 * | ptrace            | ptrace(PTRACE_ATTACH, <no such pid>)          | ESRCH              | filter              |
 * | init_module       | init_module(NULL, 0, "")                      | ENOEXEC / ENOSYS   | filter or no SYS_MODULE |
 * | kexec_load        | kexec_load(0, 1000 segments, NULL, 0)         | EINVAL / ENOSYS    | filter or no SYS_BOOT |
 * | personality       | personality(PER_LINUX32)                      | old persona        | filter              |
 * | personality_noaslr| personality(ADDR_NO_RANDOMIZE)                | old persona        | filter              |
 * | chroot            | chroot("/nonexistent-bulwark-probe")          | ENOENT             | filter              |
 * | reboot            | reboot(bad magic, ...)                        | EINVAL             | filter or no SYS_BOOT |
 *
 * Each result also names the syscall a seccomp rule has to match ("syscall"), e.g. socket, and
 * a verdict: "allowed" (it succeeded), "reached" (the errno of the third column), "blocked"
 * (EPERM where only a filter answers EPERM), "blocked-or-denied" (EPERM where a missing
 * capability or a sysctl answers EPERM too), "enosys", "killed" (a signal, e.g. SIGSYS from
 * SCMP_ACT_KILL_PROCESS), "other". The table describes Linux (checked on 6.18); under gVisor the
 * answers are gVisor's own and it does not hold (unshare(0x1) even succeeds there).
 *
 * (*) unshare/clone of a user namespace also fails with EPERM in a chroot, ENOSPC at
 * user.max_user_namespaces, EUSERS at the nesting limit.
 * ENOSYS means the kernel (or gVisor) lacks the call, or a filter chose ENOSYS on purpose
 * (clone3, so that glibc falls back to clone). A filter with SCMP_ACT_KILL shows as a signal.
 */

static long try_unshare(void) { return syscall(SYS_unshare, 0x1); }
static long try_unshare_user(void) { return syscall(SYS_unshare, CLONE_NEWUSER); }
static long try_unshare_mount(void) { return syscall(SYS_unshare, CLONE_NEWNS); }
static long try_setns(void) { return syscall(SYS_setns, -1, 0); }
static long try_keyctl(void) { return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 0); }
static long try_add_key(void) { return syscall(SYS_add_key, "user", "bulwark-probe", NULL, 0, 0); }
static long try_bpf(void) { return syscall(SYS_bpf, BPF_PROG_LOAD, NULL, 8); }
static long try_userfaultfd(void) {
  long fd = syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY | 0x2);
  if (fd >= 0) close((int)fd);
  return fd;
}
static long try_io_uring_setup(void) { return syscall(SYS_io_uring_setup, 1, NULL); }
static long try_perf_event_open(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long try_open_by_handle_at(void) { return syscall(SYS_open_by_handle_at, -1, NULL, 0); }
static long try_mount(void) { return syscall(SYS_mount, "none", "/mnt", "tmpfs", (unsigned long)MS_NOUSER, NULL); }
/* When it can, the child first takes a private copy of the mount table, so a mount that
 * succeeds is seen by nobody else (not even when the probe is run on a host by hand). */
static long try_mount_tmpfs(void) {
  if (unshare(CLONE_NEWNS) == 0) mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  long r = syscall(SYS_mount, "none", "/mnt", "tmpfs", 0UL, NULL);
  if (r == 0) umount2("/mnt", MNT_DETACH);
  return r;
}
static long try_clone3(void) { return syscall(SYS_clone3, NULL, 0); }
static long try_clone_newuser(void) {
  long pid = syscall(SYS_clone, (unsigned long)(SIGCHLD | CLONE_NEWUSER), 0, 0, 0, 0);
  if (pid == 0) syscall(SYS_exit_group, 0); /* the new child: leave at once, touch nothing */
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}
static long socket_and_close(int domain, int type, int protocol) {
  int fd = socket(domain, type, protocol);
  if (fd >= 0) close(fd);
  return fd;
}
static long try_socket_alg(void) { return socket_and_close(AF_ALG, SOCK_SEQPACKET, 0); }
static long try_socket_vsock(void) { return socket_and_close(AF_VSOCK, SOCK_STREAM, 0); }
static long try_socket_raw(void) { return socket_and_close(AF_INET, SOCK_RAW, 1 /* IPPROTO_ICMP */); }
static long try_ptrace(void) { return syscall(SYS_ptrace, PTRACE_ATTACH, 0x3ffffff0, NULL, NULL); }
static long try_init_module(void) { return syscall(SYS_init_module, NULL, 0, ""); }
static long try_kexec_load(void) { return syscall(SYS_kexec_load, 0UL, 1000UL, NULL, 0UL); }
static long try_personality(void) { return syscall(SYS_personality, PER_LINUX32_VALUE); }
static long try_personality_noaslr(void) { return syscall(SYS_personality, ADDR_NO_RANDOMIZE_VALUE); }
static long try_chroot(void) { return syscall(SYS_chroot, "/nonexistent-bulwark-probe"); }
static long try_reboot(void) { return syscall(SYS_reboot, 0x1, 0x2, 0, NULL); }

enum eperm_meaning { EPERM_FILTER, EPERM_FILTER_OR_KERNEL };

struct syscall_test {
  const char *name;
  const char *syscall; /* the syscall a seccomp rule must name to block this attempt */
  long (*attempt)(void);
  int reached_errno; /* errno when the call got through; 0 when it should simply succeed */
  enum eperm_meaning eperm;
};

static const struct syscall_test syscall_tests[] = {
    {"unshare", "unshare", try_unshare, EINVAL, EPERM_FILTER},
    {"unshare_user", "unshare", try_unshare_user, 0, EPERM_FILTER_OR_KERNEL},
    {"unshare_mount", "unshare", try_unshare_mount, 0, EPERM_FILTER_OR_KERNEL},
    {"setns", "setns", try_setns, EBADF, EPERM_FILTER},
    {"keyctl", "keyctl", try_keyctl, ENOKEY, EPERM_FILTER},
    {"add_key", "add_key", try_add_key, EINVAL, EPERM_FILTER},
    {"bpf", "bpf", try_bpf, EFAULT, EPERM_FILTER},
    {"userfaultfd", "userfaultfd", try_userfaultfd, EINVAL, EPERM_FILTER},
    {"io_uring_setup", "io_uring_setup", try_io_uring_setup, EFAULT, EPERM_FILTER_OR_KERNEL},
    {"perf_event_open", "perf_event_open", try_perf_event_open, EFAULT, EPERM_FILTER},
    {"open_by_handle_at", "open_by_handle_at", try_open_by_handle_at, EFAULT, EPERM_FILTER_OR_KERNEL},
    {"mount", "mount", try_mount, EINVAL, EPERM_FILTER},
    {"mount_tmpfs", "mount", try_mount_tmpfs, 0, EPERM_FILTER_OR_KERNEL},
    {"clone3", "clone3", try_clone3, EINVAL, EPERM_FILTER},
    {"clone_newuser", "clone", try_clone_newuser, 0, EPERM_FILTER_OR_KERNEL},
    {"socket_alg", "socket", try_socket_alg, EAFNOSUPPORT, EPERM_FILTER},
    {"socket_vsock", "socket", try_socket_vsock, EAFNOSUPPORT, EPERM_FILTER},
    {"socket_raw", "socket", try_socket_raw, 0, EPERM_FILTER_OR_KERNEL},
    {"ptrace", "ptrace", try_ptrace, ESRCH, EPERM_FILTER},
    {"init_module", "init_module", try_init_module, ENOEXEC, EPERM_FILTER_OR_KERNEL},
    {"kexec_load", "kexec_load", try_kexec_load, EINVAL, EPERM_FILTER_OR_KERNEL},
    {"personality", "personality", try_personality, 0, EPERM_FILTER},
    {"personality_noaslr", "personality", try_personality_noaslr, 0, EPERM_FILTER},
    {"chroot", "chroot", try_chroot, ENOENT, EPERM_FILTER},
    {"reboot", "reboot", try_reboot, EINVAL, EPERM_FILTER_OR_KERNEL},
    {NULL, NULL, NULL, 0, EPERM_FILTER},
};

struct attempt_result {
  long ret;
  int err;
};

/*
 * Run one attempt in a forked child so that whatever it changes (a new namespace, a persona)
 * or whatever kills it (SCMP_ACT_KILL) stays there. The child sends {ret, errno} over a pipe.
 */
static void run_syscall_test(const struct syscall_test *test) {
  int fds[2];
  json_key(test->name);
  json_open('{');
  json_key("syscall");
  json_str(test->syscall);
  if (pipe2(fds, O_CLOEXEC) < 0) {
    json_key("verdict");
    json_str("probe-error");
    json_key("errno");
    json_str(errno_name(errno));
    json_close('}');
    return;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    alarm(10);
    struct attempt_result r;
    errno = 0;
    r.ret = test->attempt();
    r.err = r.ret < 0 ? errno : 0;
    if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(3);
    _exit(0);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    json_key("verdict");
    json_str("probe-error");
    json_key("errno");
    json_str(errno_name(errno));
    json_close('}');
    return;
  }
  struct attempt_result r;
  ssize_t got = read(fds[0], &r, sizeof r);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != (ssize_t)sizeof r) {
    json_key("verdict");
    json_str(WIFSIGNALED(status) ? "killed" : "probe-error");
    if (WIFSIGNALED(status)) {
      json_key("signal");
      json_str(signal_name(WTERMSIG(status)));
    }
    json_close('}');
    return;
  }
  const char *verdict;
  if (r.ret >= 0) verdict = "allowed";
  else if (r.err == test->reached_errno) verdict = "reached";
  else if (r.err == EPERM) verdict = test->eperm == EPERM_FILTER ? "blocked" : "blocked-or-denied";
  else if (r.err == ENOSYS) verdict = "enosys";
  else verdict = "other";
  json_key("ret");
  json_int(r.ret);
  json_key("errno");
  json_str(r.ret < 0 ? errno_name(r.err) : NULL);
  json_key("verdict");
  json_str(verdict);
  json_close('}');
}

static int cmd_syscall(int argc, char **argv) {
  if (argc == 0) {
    fprintf(stderr, "probe syscall: name the syscalls to try, or 'all'\n");
    return 2;
  }
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "all") == 0) continue;
    int known = 0;
    for (const struct syscall_test *t = syscall_tests; t->name; t++) known |= strcmp(t->name, argv[i]) == 0;
    if (!known) {
      fprintf(stderr, "probe syscall: no test named %s\n", argv[i]);
      return 2;
    }
  }
  json_open('{');
  for (int i = 0; i < argc; i++) {
    for (const struct syscall_test *t = syscall_tests; t->name; t++) {
      if (strcmp(argv[i], "all") == 0 || strcmp(t->name, argv[i]) == 0) run_syscall_test(t);
    }
  }
  json_close('}');
  json_end();
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* probe forkbomb N / probe membomb MIB                                                        */

static long parse_count(const char *text, long max) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || !end || *end || v < 1 || v > max) return -1;
  return v;
}

static int cmd_forkbomb(int argc, char **argv) {
  long limit = argc == 1 ? parse_count(argv[0], 100000) : -1;
  if (limit < 0) {
    fprintf(stderr, "probe forkbomb: give a count from 1 to 100000\n");
    return 2;
  }
  pid_t *children = calloc((size_t)limit, sizeof *children);
  if (!children) return 1;
  long forked = 0;
  int fork_errno = 0;
  pid_t parent = getpid();
  fflush(stdout);
  while (forked < limit) {
    pid_t pid = fork();
    if (pid < 0) {
      fork_errno = errno;
      break;
    }
    if (pid == 0) {
      /* Die with the parent, whatever happens to it. */
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      for (;;) pause();
    }
    children[forked++] = pid;
  }
  long reaped = 0;
  for (long i = 0; i < forked; i++) kill(children[i], SIGKILL);
  for (long i = 0; i < forked; i++) if (waitpid(children[i], NULL, 0) == children[i]) reaped++;
  free(children);
  json_open('{');
  json_key("requested");
  json_int(limit);
  json_key("forked");
  json_int(forked);
  json_key("errno");
  json_str(fork_errno ? errno_name(fork_errno) : NULL);
  json_key("reaped");
  json_int(reaped);
  json_close('}');
  json_end();
  return 0;
}

static int cmd_membomb(int argc, char **argv) {
  long mib = argc == 1 ? parse_count(argv[0], 1 << 20) : -1;
  if (mib < 0) {
    fprintf(stderr, "probe membomb: give a size in MiB\n");
    return 2;
  }
  const size_t step = 1 << 20;
  long done = 0;
  int map_errno = 0;
  while (done < mib) {
    char *p = mmap(NULL, step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      map_errno = errno;
      break;
    }
    memset(p, 0x5a, step); /* touch every page so it is really charged */
    done++;
    fprintf(stderr, "membomb: %ld MiB\n", done);
  }
  json_open('{');
  json_key("requested");
  json_int(mib);
  json_key("allocated");
  json_int(done);
  json_key("errno");
  json_str(map_errno ? errno_name(map_errno) : NULL);
  json_close('}');
  json_end();
  return map_errno ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* probe setuid [PATH]                                                                         */

/*
 * Exec a setuid-root copy of this program (`PATH ids`) and embed its report: with
 * no_new_privs the kernel ignores the set-user-ID bit, so "after".euid stays ours.
 */
static int cmd_setuid(int argc, char **argv) {
  const char *path = argc >= 1 ? argv[0] : "/bin/probe-suid";
  struct stat st;
  int stat_ok = stat(path, &st) == 0;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execl(path, "probe-suid", "ids", (char *)NULL);
    dprintf(STDOUT_FILENO, "!%d", errno);
    _exit(127);
  }
  close(fds[1]);
  static char child_out[8192];
  size_t used = 0;
  for (;;) {
    ssize_t n = read(fds[0], child_out + used, sizeof child_out - 1 - used);
    if (n <= 0) break;
    used += (size_t)n;
    if (used >= sizeof child_out - 1) break;
  }
  close(fds[0]);
  child_out[used] = '\0';
  while (used > 0 && (child_out[used - 1] == '\n' || child_out[used - 1] == ' ')) child_out[--used] = '\0';
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);

  json_open('{');
  json_key("path");
  json_str(path);
  json_key("mode");
  if (stat_ok) {
    char mode[16];
    snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    json_str(mode);
  } else {
    json_null();
  }
  json_key("owner");
  if (stat_ok) json_int(st.st_uid);
  else json_null();
  json_key("before");
  json_open('{');
  emit_ids();
  json_close('}');
  json_key("after");
  if (child_out[0] == '{') {
    json_raw(child_out);
  } else {
    json_null();
    json_key("execErrno");
    json_str(child_out[0] == '!' ? errno_name(atoi(child_out + 1)) : "no output");
  }
  json_close('}');
  json_end();
  return child_out[0] == '{' ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------ */

static int usage(void) {
  fprintf(stderr, "usage: probe self [--masked=P,...] [--readonly=P,...] | ids | syscall NAME...|all |\n"
                  "       forkbomb N | membomb MIB | setuid [PATH]\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage();
  const char *cmd = argv[1];
  int rest_argc = argc - 2;
  char **rest = argv + 2;
  if (strcmp(cmd, "self") == 0) return cmd_self(rest_argc, rest);
  if (strcmp(cmd, "ids") == 0) return cmd_ids();
  if (strcmp(cmd, "syscall") == 0) return cmd_syscall(rest_argc, rest);
  if (strcmp(cmd, "forkbomb") == 0) return cmd_forkbomb(rest_argc, rest);
  if (strcmp(cmd, "membomb") == 0) return cmd_membomb(rest_argc, rest);
  if (strcmp(cmd, "setuid") == 0) return cmd_setuid(rest_argc, rest);
  return usage();
}
