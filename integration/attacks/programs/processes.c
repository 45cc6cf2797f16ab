/*
 * Attacks on other processes and on privileges.
 *
 * ptrace: attaching to a sibling reads and rewrites its memory and registers; in a container
 *   it reaches every process of the pod, and before Linux 4.8 it could step around seccomp.
 * raw_socket: raw IP and packet sockets forge ARP/ICMP/IP traffic on the pod network (the
 *   reason Kubernetes and Bulwark drop CAP_NET_RAW).
 * setuid: a set-user-ID-root binary in the image (/bin/probe-suid, 4755) turns a non-root user
 *   back into root unless no_new_privs is set.
 * exec_caps: run by `exec --process` with the unhardened spec's capabilities and
 *   noNewPrivileges false (kubectl exec through containerd): reports what it really has.
 * runtime_exe: CVE-2019-5736. When the runtime execs a process into the container, its own
 *   binary briefly runs there (runc init; and an image can make the exec target a
 *   "#!/proc/self/exe" script so the runtime binary runs again as the new process). The
 *   container watches /proc for those processes and tries to open their executable for writing,
 *   directly and through an O_PATH descriptor reopened after the process exits. Nothing is
 *   written: an open for writing on the runtime's real binary already counts as the escape.
 */
#include "attack.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif
#ifndef F_SEAL_WRITE
#define F_SEAL_WRITE 0x0008
#endif

/* ---- ptrace ---- */

static pid_t victim;

static long try_seize(void *arg) {
  (void)arg;
  long ret = ptrace(PTRACE_SEIZE, victim, NULL, NULL);
  if (ret == 0) ptrace(PTRACE_DETACH, victim, NULL, NULL);
  return ret;
}

static long try_attach(void *arg) {
  (void)arg;
  long ret = ptrace(PTRACE_ATTACH, victim, NULL, NULL);
  if (ret == 0) {
    waitpid(victim, NULL, __WALL);
    ptrace(PTRACE_DETACH, victim, NULL, NULL);
  }
  return ret;
}

int attack_ptrace(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "ptrace");
  victim = fork();
  if (victim == 0) {
    for (;;) pause();
  }
  /* The attempts run in children of this process: siblings of the victim. */
  struct answer seize = in_child(try_seize, NULL);
  struct answer attach = in_child(try_attach, NULL);
  kill(victim, SIGKILL);
  waitpid(victim, NULL, 0);
  route(&r, "seize_sibling", how(seize));
  route(&r, "attach_sibling", how(attach));
  int won = succeeded(seize) || succeeded(attach);
  emit(&r, won ? "allowed" : "blocked", how(seize), "PTRACE_SEIZE of a sibling: %s; PTRACE_ATTACH: %s", how(seize), how(attach));
  return 0;
}

/* ---- raw sockets ---- */

static struct answer open_socket(int family, int type, int protocol) {
  int fd = socket(family, type, protocol);
  struct answer a = here(fd);
  if (fd >= 0) close(fd);
  return a;
}

int attack_raw_socket(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "raw_socket");
  struct answer inet = open_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  struct answer packet = open_socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  route(&r, "inet_raw", how(inet));
  route(&r, "packet_raw", how(packet));
  int won = succeeded(inet) || succeeded(packet);
  emit(&r, won ? "allowed" : "blocked", how(inet), "socket(AF_INET, SOCK_RAW): %s; socket(AF_PACKET, SOCK_RAW): %s", how(inet), how(packet));
  return 0;
}

/* ---- setuid binary under no_new_privs ---- */

/* Read the euid the set-user-ID probe reports ({"uid":..,"euid":N,...}). */
static long parse_euid(const char *text) {
  const char *p = strstr(text, "\"euid\":");
  return p ? strtol(p + 7, NULL, 10) : -1;
}

int attack_setuid(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "setuid");
  const uid_t user = 1000;
  int out[2];
  if (pipe(out) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    /* Become an ordinary user first (restricted/strict containers already are one). */
    if (getuid() == 0 && (setgroups(0, NULL) != 0 || setgid(user) != 0 || setuid(user) != 0)) _exit(90);
    char *args[] = {"/bin/probe-suid", "ids", NULL};
    execv(args[0], args);
    _exit(91);
  }
  close(out[1]);
  char buf[2048] = {0};
  size_t used = 0;
  ssize_t n;
  while (used < sizeof(buf) - 1 && (n = read(out[0], buf + used, sizeof(buf) - 1 - used)) > 0) used += (size_t)n;
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 90) {
    route(&r, "drop_to_user", "failed");
    emit(&r, "n/a", "setuid(1000) failed", "could not become uid 1000 before trying the set-user-ID binary");
    return 0;
  }
  long euid = parse_euid(buf);
  char euid_text[32];
  snprintf(euid_text, sizeof(euid_text), "euid %ld", euid);
  route(&r, "exec_suid_as_1000", euid_text);
  int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  char nnp_text[32];
  snprintf(nnp_text, sizeof(nnp_text), "%d", nnp);
  route(&r, "no_new_privs", nnp_text);
  if (euid < 0) {
    emit(&r, "blocked", "exec failed", "the set-user-ID probe did not run (status %d): %s", status, buf);
    return 0;
  }
  emit(&r, euid == 0 ? "allowed" : "blocked", euid_text, "uid 1000 ran /bin/probe-suid (4755, owner root): euid %ld; no_new_privs=%d", euid, nnp);
  return 0;
}

/* ---- exec --process with the unhardened spec's privileges ---- */

static const char *status_field(const char *name, char *out, size_t size) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  out[0] = '\0';
  if (!f) return out;
  size_t len = strlen(name);
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, name, len) == 0 && line[len] == ':') {
      char *v = line + len + 1;
      while (*v == ' ' || *v == '\t') v++;
      v[strcspn(v, "\n")] = '\0';
      snprintf(out, size, "%s", v);
      break;
    }
  }
  fclose(f);
  return out;
}

int attack_exec_caps(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "exec_caps");
  char eff[32], bnd[32], amb[32];
  status_field("CapEff", eff, sizeof(eff));
  status_field("CapBnd", bnd, sizeof(bnd));
  status_field("CapAmb", amb, sizeof(amb));
  int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  struct answer raw = open_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  char nnp_text[8];
  snprintf(nnp_text, sizeof(nnp_text), "%d", nnp);
  route(&r, "CapEff", eff);
  route(&r, "CapBnd", bnd);
  route(&r, "CapAmb", amb);
  route(&r, "no_new_privs", nnp_text);
  route(&r, "raw_socket", how(raw));
  int won = nnp == 0 || succeeded(raw);
  emit(&r, won ? "allowed" : "blocked", won ? (nnp == 0 ? "no_new_privs 0" : "raw socket ok") : how(raw),
       "uid %d: CapEff %s, CapBnd %s, no_new_privs %d, raw socket (CAP_NET_RAW): %s", (int)getuid(), eff, bnd, nnp, how(raw));
  return 0;
}

/* ---- runtime_exe (CVE-2019-5736) ---- */

#define MAX_SEEN 64

struct seen {
  pid_t pid;
  int looks;         /* how often it was looked at (again while its exe stayed out of reach) */
  char first_comm[32];
  char exe[256];
  char comm[32];
  int path_fd;       /* O_PATH descriptor of its executable, or -1 */
  int path_err;      /* why there is none */
  int write_err;     /* open(/proc/<pid>/exe, O_WRONLY) while it ran */
  int reopen_err;    /* reopen of path_fd for writing after it exited (-1: not tried) */
  int sealed;        /* the executable is a memfd sealed against writes */
};

static int is_pid_name(const char *s) {
  for (const char *p = s; *p; p++) if (!isdigit((unsigned char)*p)) return 0;
  return *s != '\0';
}

static int known(pid_t *list, int n, pid_t pid) {
  for (int i = 0; i < n; i++) if (list[i] == pid) return 1;
  return 0;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void look_at(struct seen *s) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/comm", (int)s->pid);
  int cf = open(path, O_RDONLY | O_CLOEXEC);
  if (cf >= 0) {
    ssize_t n = read(cf, s->comm, sizeof(s->comm) - 1);
    s->comm[n > 0 ? n : 0] = '\0';
    s->comm[strcspn(s->comm, "\n")] = '\0';
    close(cf);
  }
  if (!s->looks++) snprintf(s->first_comm, sizeof(s->first_comm), "%s", s->comm);
  snprintf(path, sizeof(path), "/proc/%d/exe", (int)s->pid);
  s->path_fd = open(path, O_PATH | O_CLOEXEC);
  s->path_err = s->path_fd < 0 ? errno : 0;
  ssize_t n = readlink(path, s->exe, sizeof(s->exe) - 1);
  if (n < 0) snprintf(s->exe, sizeof(s->exe), "unreadable(%s)", strerrorname_np(errno));
  else s->exe[n] = '\0';
  for (char *c = s->exe; *c; c++) if (*c == ' ') *c = '_';
  int wf = open(path, O_WRONLY | O_CLOEXEC);
  s->write_err = wf < 0 ? errno : 0;
  if (wf >= 0) close(wf);
  s->reopen_err = -1;
}

static void reopen_after_exit(struct seen *s) {
  if (s->path_fd < 0 || s->reopen_err != -1) return;
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", s->path_fd);
  int wf = open(path, O_WRONLY | O_CLOEXEC);
  s->reopen_err = wf < 0 ? errno : 0;
  if (wf >= 0) {
    int seals = fcntl(wf, F_GET_SEALS);
    s->sealed = seals >= 0 && (seals & F_SEAL_WRITE);
    close(wf);
  }
}

/* argv: [seconds to watch]. Prints a phase line, then the report when a foreign process was seen
 * and has exited (or the time is up). */
int attack_runtime_exe(int argc, char **argv) {
  int seconds = argc > 0 ? atoi(argv[0]) : 20;
  pid_t before[512];
  int nbefore = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d && (e = readdir(d)) && nbefore < 512) if (is_pid_name(e->d_name)) before[nbefore++] = atoi(e->d_name);
  if (d) closedir(d);
  struct seen seen[MAX_SEEN];
  int nseen = 0;
  emit_phase("watching");
  long deadline = now_ms() + seconds * 1000L;
  long settle = 0;
  while (now_ms() < deadline) {
    d = opendir("/proc");
    while (d && (e = readdir(d))) {
      if (!is_pid_name(e->d_name)) continue;
      pid_t pid = atoi(e->d_name);
      if (pid == getpid() || known(before, nbefore, pid) || nseen >= MAX_SEEN) continue;
      int dup_seen = 0;
      for (int i = 0; i < nseen; i++) dup_seen |= seen[i].pid == pid;
      if (dup_seen) continue;
      memset(&seen[nseen], 0, sizeof(seen[nseen]));
      seen[nseen].pid = pid;
      look_at(&seen[nseen++]);
    }
    if (d) closedir(d);
    int alive = 0;
    for (int i = 0; i < nseen; i++) {
      if (kill(seen[i].pid, 0) == 0) {
        alive = 1;
        /* After its execve the process may have become dumpable: the CVE's window. Look again. */
        if (seen[i].path_fd < 0) look_at(&seen[i]);
      } else {
        reopen_after_exit(&seen[i]);
      }
    }
    /* Done when something came and went; a short grace lets the exec's later processes show. */
    if (nseen > 0 && !alive) {
      if (!settle) settle = now_ms() + 300;
      else if (now_ms() >= settle) break;
    } else {
      settle = 0;
    }
    sleep_ms(1);
  }
  struct report r;
  report_init(&r, "runtime_exe");
  int won = 0;
  char line[512];
  for (int i = 0; i < nseen; i++) {
    struct seen *s = &seen[i];
    int is_memfd = strncmp(s->exe, "/memfd:", 7) == 0;
    snprintf(line, sizeof(line), "comm=%s%s%s exe=%s looks=%d O_PATH=%s write=%s reopen=%s%s", s->first_comm,
             strcmp(s->first_comm, s->comm) ? "->" : "", strcmp(s->first_comm, s->comm) ? s->comm : "", s->exe, s->looks,
             s->path_err ? strerrorname_np(s->path_err) : "ok", s->write_err ? strerrorname_np(s->write_err) : "ok",
             s->reopen_err == -1 ? "not-tried" : s->reopen_err ? strerrorname_np(s->reopen_err) : "ok",
             s->sealed ? " (memfd sealed against writes)" : "");
    char name[32];
    snprintf(name, sizeof(name), "pid_%d", (int)s->pid);
    route(&r, name, line);
    /* A writable executable counts unless it is a sealed memfd copy (writes fail there). */
    if ((s->write_err == 0 || s->reopen_err == 0) && !(is_memfd && s->sealed)) won = 1;
  }
  if (nseen == 0) {
    emit(&r, "n/a", "nothing exec'd", "no process of the runtime appeared in %d s", seconds);
    return 0;
  }
  emit(&r, won ? "allowed" : "blocked", won ? "writable" : "not writable",
       "%d process(es) exec'd by the runtime were seen; their executables could%s be opened for writing", nseen, won ? "" : " not");
  return 0;
}
