// The runtime wrapper of the create-split scenario (bench/split.ts): writes the CLOCK_MONOTONIC
// time at which it started (ns) to $BENCH_STAMP_FILE, then execs $BENCH_STAMP_EXEC with its own
// argv. Every arm of the scenario runs its runtime through it, so each create splits into the
// time until the runtime starts and the runtime's own time, and all arms pay the same wrapper.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  (void)argc;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const char *file = getenv("BENCH_STAMP_FILE");
  const char *target = getenv("BENCH_STAMP_EXEC");
  if (!file || !target) {
    fputs("stamp: BENCH_STAMP_FILE and BENCH_STAMP_EXEC must be set\n", stderr);
    return 127;
  }
  char text[32];
  int n = snprintf(text, sizeof text, "%lld\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
  int fd = openat(AT_FDCWD, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || write(fd, text, (size_t)n) != n) {
    perror("stamp");
    return 127;
  }
  close(fd);
  argv[0] = (char *)target;
  execv(target, argv);
  perror("stamp: execv");
  return 127;
}
