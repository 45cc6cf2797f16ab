/*
 * Resource exhaustion against the container's limits (the node must survive a hostile pod).
 * forkbomb: fork until fork fails; the pids limit must stop it with EAGAIN.
 * membomb: a child touches memory 1 MiB at a time up to argv[0] MiB; the memory limit (with no
 *   swap on top) must end it with an OOM kill (SIGKILL), not let it reach the host.
 */
#include "attack.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 20000

int attack_forkbomb(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "forkbomb");
  static pid_t kids[MAX_CHILDREN];
  int n = 0, err = 0;
  fflush(stdout);
  while (n < MAX_CHILDREN) {
    pid_t pid = fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      for (;;) pause();
    }
    kids[n++] = pid;
  }
  for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
  int reaped = 0;
  for (int i = 0; i < n; i++) reaped += waitpid(kids[i], NULL, 0) == kids[i];
  struct answer a = {-1, err, 0};
  char count[32];
  snprintf(count, sizeof(count), "%d", n);
  route(&r, "forked", count);
  route(&r, "fork", err ? how(a) : "never failed");
  emit(&r, err ? "blocked" : "allowed", err ? how(a) : "ok", "forked %d children, then fork: %s; reaped %d", n, err ? how(a) : "never failed", reaped);
  return 0;
}

static long touch_memory(void *arg) {
  long mib = *(long *)arg;
  for (long i = 0; i < mib; i++) {
    char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    memset(p, 0x5a, 1 << 20);
  }
  return mib;
}

int attack_membomb(int argc, char **argv) {
  long mib = argc > 0 ? atol(argv[0]) : 1024;
  struct report r;
  report_init(&r, "membomb");
  struct answer a = in_child(touch_memory, &mib);
  route(&r, "touch", how(a));
  int won = succeeded(a);
  emit(&r, won ? "allowed" : "blocked", how(a), "a child touching %ld MiB: %s", mib, won ? "finished" : how(a));
  return 0;
}
