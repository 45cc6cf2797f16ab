/* JSON output and the fork-and-report helper every attack uses. */
#include "attack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct answer here(long ret) {
  struct answer a = {ret, ret < 0 ? errno : 0, 0};
  return a;
}

struct answer in_child(attempt_fn fn, void *arg) {
  struct answer a = {-1, 0, 0};
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    a.err = errno;
    return a;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    a.err = errno;
    close(fds[0]);
    close(fds[1]);
    return a;
  }
  if (pid == 0) {
    close(fds[0]);
    errno = 0;
    long ret = fn(arg);
    struct answer mine = {ret, ret < 0 ? errno : 0, 0};
    if (write(fds[1], &mine, sizeof(mine)) != (ssize_t)sizeof(mine)) _exit(3);
    _exit(0);
  }
  close(fds[1]);
  struct answer got;
  ssize_t n = read(fds[0], &got, sizeof(got));
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n == (ssize_t)sizeof(got)) return got;
  if (WIFSIGNALED(status)) a.sig = WTERMSIG(status);
  else a.err = EPIPE; /* the child exited without an answer: a harness problem, said as such */
  return a;
}

int succeeded(struct answer a) {
  return a.sig == 0 && a.err == 0 && a.ret >= 0;
}

const char *how(struct answer a) {
  static char slots[16][48];
  static int next;
  char *buf = slots[next++ % 16];
  if (a.sig) snprintf(buf, sizeof(slots[0]), "signal SIG%s", sigabbrev_np(a.sig) ? sigabbrev_np(a.sig) : "?");
  else if (a.err) snprintf(buf, sizeof(slots[0]), "errno %s", strerrorname_np(a.err) ? strerrorname_np(a.err) : "?");
  else snprintf(buf, sizeof(slots[0]), "ok");
  return buf;
}

static void put_escaped(FILE *out, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
}

void report_init(struct report *r, const char *attack) {
  r->attack = attack;
  r->routes[0] = '\0';
  r->used = 0;
}

void route(struct report *r, const char *name, const char *how_text) {
  /* Escaping into a memory stream keeps route values safe whatever they contain. */
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m) return;
  fprintf(m, "%s\"", r->used ? "," : "");
  put_escaped(m, name);
  fputs("\":\"", m);
  put_escaped(m, how_text);
  fputc('"', m);
  fclose(m);
  if (r->used + len < sizeof(r->routes)) {
    memcpy(r->routes + r->used, buf, len + 1);
    r->used += len;
  }
  free(buf);
}

void emit(struct report *r, const char *outcome, const char *how_text, const char *fmt, ...) {
  char detail[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  fputs("{\"attack\":\"", stdout);
  put_escaped(stdout, r->attack);
  fputs("\",\"outcome\":\"", stdout);
  put_escaped(stdout, outcome);
  fputs("\",\"how\":\"", stdout);
  put_escaped(stdout, how_text);
  fputs("\",\"detail\":\"", stdout);
  put_escaped(stdout, detail);
  printf("\",\"routes\":{%s}}\n", r->routes);
  fflush(stdout);
}

void emit_phase(const char *phase) {
  printf("{\"phase\":\"%s\"}\n", phase);
  fflush(stdout);
}

int dir_outside_root(int dirfd) {
  struct stat root, here_st, up_st;
  if (stat("/", &root) != 0) return -1;
  int cur = dup(dirfd);
  if (cur < 0) return -1;
  for (int depth = 0; depth < 4096; depth++) {
    if (fstat(cur, &here_st) != 0) break;
    if (here_st.st_dev == root.st_dev && here_st.st_ino == root.st_ino) {
      close(cur);
      return 0;
    }
    /* ".." stops at the process root on the way up; only a directory outside it can climb to
     * a top ("..' of itself) that is not our "/". */
    int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (up < 0 || fstat(up, &up_st) != 0) break;
    close(cur);
    cur = up;
    if (up_st.st_dev == here_st.st_dev && up_st.st_ino == here_st.st_ino) {
      close(cur);
      return 1;
    }
  }
  close(cur);
  return -1;
}
