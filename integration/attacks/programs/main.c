/*
 * attack: the container-side half of Bulwark's attack suite (integration/attacks/).
 *
 *   attack NAME [ARGS...]            run one attack, print its JSON line
 *   attack init DISK WATCH_S BOMB_MIB   the container's init: every in-container attack in
 *                                    order (leaked_fd first, before anything is opened), then
 *                                    the runtime_exe watcher while the test execs into the
 *                                    container, then wait for SIGUSR1, then the two bombs
 *
 * Each attack of `init` runs in its own child, so one attack's side effects (a keyring joined,
 * a namespace entered) never colour the next. A child that dies without its line is reported
 * as outcome "error": a broken harness, never a blocked attack.
 */
#include "attack.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct entry {
  const char *name;
  int (*fn)(int, char **);
};

static const struct entry attacks[] = {
    {"leaked_fd", attack_leaked_fd},
    {"userns", attack_userns},
    {"mount", attack_mount},
    {"keyring", attack_keyring},
    {"bpf", attack_bpf},
    {"userfaultfd", attack_userfaultfd},
    {"io_uring", attack_io_uring},
    {"perf_event", attack_perf_event},
    {"ptrace", attack_ptrace},
    {"raw_socket", attack_raw_socket},
    {"setuid", attack_setuid},
    {"sysrq", attack_sysrq},
    {"proc_sys", attack_proc_sys},
    {"release_agent", attack_release_agent},
    {"mknod_dev", attack_mknod_dev},
    {"open_by_handle", attack_open_by_handle},
    {"af_alg", attack_af_alg},
    {"abi_i386", attack_abi_i386},
    {"abi_x32", attack_abi_x32},
    {"clone3", attack_clone3},
    {"runtime_exe", attack_runtime_exe},
    {"exec_caps", attack_exec_caps},
    {"forkbomb", attack_forkbomb},
    {"membomb", attack_membomb},
};

static const struct entry *find(const char *name) {
  for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
    if (strcmp(attacks[i].name, name) == 0) return &attacks[i];
  return NULL;
}

/* Run one attack in a child; report it as an error if it printed nothing. */
static void run_isolated(const char *name, int argc, char **argv) {
  const struct entry *e = find(name);
  int fds[2];
  if (!e || pipe(fds) != 0) return;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    close(fds[1]);
    _exit(e->fn(argc, argv));
  }
  close(fds[1]);
  char buf[8192];
  size_t used = 0;
  ssize_t n;
  while ((n = read(fds[0], buf + used, sizeof(buf) - 1 - used)) > 0 && used < sizeof(buf) - 1) used += (size_t)n;
  close(fds[0]);
  buf[used] = '\0';
  int status = 0;
  waitpid(pid, &status, 0);
  if (used > 0) {
    fputs(buf, stdout);
  } else {
    struct report r;
    report_init(&r, name);
    char why[64];
    if (WIFSIGNALED(status)) snprintf(why, sizeof(why), "signal SIG%s", sigabbrev_np(WTERMSIG(status)) ?: "?");
    else snprintf(why, sizeof(why), "exit %d", WEXITSTATUS(status));
    emit(&r, "error", why, "the attack program printed nothing");
  }
  fflush(stdout);
}

static const char *const in_container[] = {
    "userns", "mount", "keyring", "bpf", "userfaultfd", "io_uring", "perf_event", "ptrace", "raw_socket", "sysrq", "proc_sys", "release_agent", "mknod_dev", "open_by_handle", "af_alg", "abi_i386", "abi_x32", "clone3",
};

static int run_init(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: attack init DISK WATCH_S BOMB_MIB\n");
    return 2;
  }
  /* The first look, before this process opens anything. */
  run_isolated("leaked_fd", 0, NULL);
  for (size_t i = 0; i < sizeof(in_container) / sizeof(in_container[0]); i++) {
    char *disk[] = {argv[0], NULL};
    int is_mknod = strcmp(in_container[i], "mknod_dev") == 0;
    run_isolated(in_container[i], is_mknod ? 1 : 0, is_mknod ? disk : NULL);
  }
  /* SIGUSR1 (the test's `kill <id> USR1`) says the execs are over; init must ask for it. */
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  char *watch[] = {argv[1], NULL};
  attack_runtime_exe(1, watch);
  emit_phase("waiting");
  struct timespec limit = {120, 0};
  if (sigtimedwait(&usr1, NULL, &limit) < 0) {
    emit_phase("no-signal");
    return 1;
  }
  emit_phase("bombs");
  run_isolated("forkbomb", 0, NULL);
  char *mib[] = {argv[2], NULL};
  run_isolated("membomb", 1, mib);
  emit_phase("done");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: attack NAME [ARGS...] | attack init DISK WATCH_S BOMB_MIB\n");
    return 2;
  }
  if (strcmp(argv[1], "init") == 0) return run_init(argc - 2, argv + 2);
  const struct entry *e = find(argv[1]);
  if (!e) {
    fprintf(stderr, "attack: unknown attack %s\n", argv[1]);
    return 2;
  }
  return e->fn(argc - 2, argv + 2);
}
