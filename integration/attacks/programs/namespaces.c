/*
 * Namespace and mount attacks.
 *
 * userns: a nested user namespace gives a process every capability over new mount, network and
 *   other namespaces it creates; that is how many kernel bugs become reachable from a container
 *   (CVE-2022-0185, CVE-2023-0386). Tried with unshare(2), clone(2) and clone3(2).
 * mount: mounting proc, sysfs or tmpfs from the container is the first step of most escapes
 *   (a fresh, unmasked /proc; a writable sysfs). Tried with mount(2) and the new fsopen(2) API.
 * clone3: its flags sit in a struct seccomp cannot read, so a filter can only refuse the whole
 *   call; the refusal must be ENOSYS (glibc and Go then fall back to clone), not EPERM.
 * release_agent: the cgroup v1 release_agent runs a host path as host root when a cgroup empties
 *   (the 2019 "cgroup escape", CVE-2022-0492). Tried on every release_agent the container sees,
 *   on a v1 hierarchy it mounts itself, and on one mounted from a nested user+cgroup namespace.
 *   Files are opened for writing only, never written.
 */
#include "attack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif

/* ---- userns ---- */

static long try_unshare_user(void *arg) {
  (void)arg;
  return unshare(CLONE_NEWUSER);
}

/* After a nested user namespace: a new mount namespace and a tmpfs in it (what the namespace buys). */
static long try_unshare_user_then_mount(void *arg) {
  (void)arg;
  if (unshare(CLONE_NEWUSER) != 0) return -1;
  if (unshare(CLONE_NEWNS) != 0) return -1;
  return mount("none", "/mnt", "tmpfs", 0, "size=64k");
}

static long try_clone_newuser(void *arg) {
  (void)arg;
  long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}

int attack_userns(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "userns");
  struct answer un = in_child(try_unshare_user, NULL);
  struct answer cl = in_child(try_clone_newuser, NULL);
  struct answer mnt = in_child(try_unshare_user_then_mount, NULL);
  route(&r, "unshare", how(un));
  route(&r, "clone", how(cl));
  route(&r, "unshare_then_mount_tmpfs", how(mnt));
  int won = succeeded(un) || succeeded(cl);
  emit(&r, won ? "allowed" : "blocked", how(un), "unshare(CLONE_NEWUSER): %s; clone(CLONE_NEWUSER): %s; then a tmpfs in a new mount namespace: %s",
       how(un), how(cl), how(mnt));
  return 0;
}

/* ---- mount ---- */

struct mount_try {
  const char *fstype;
};

static long try_mount(void *arg) {
  const struct mount_try *m = arg;
  long ret = mount("none", "/mnt", m->fstype, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  if (ret == 0) umount2("/mnt", MNT_DETACH);
  return ret;
}

static long try_fsopen(void *arg) {
  (void)arg;
  long fd = syscall(SYS_fsopen, "tmpfs", 0);
  if (fd >= 0) close((int)fd);
  return fd;
}

int attack_mount(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "mount");
  static const char *types[] = {"proc", "sysfs", "tmpfs"};
  int won = 0;
  const char *first = NULL;
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    struct mount_try m = {types[i]};
    struct answer a = in_child(try_mount, &m);
    route(&r, types[i], how(a));
    won |= succeeded(a);
    if (!first) first = how(a);
  }
  struct answer fs = in_child(try_fsopen, NULL);
  route(&r, "fsopen_tmpfs", how(fs));
  won |= succeeded(fs);
  emit(&r, won ? "allowed" : "blocked", first, "mount(2) of proc, sysfs, tmpfs on /mnt and fsopen(\"tmpfs\")");
  return 0;
}

/* ---- clone3 ---- */

struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static long try_clone3(void *arg) {
  (void)arg;
  struct clone3_args ca;
  memset(&ca, 0, sizeof(ca));
  ca.flags = CLONE_NEWUSER;
  ca.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &ca, sizeof(ca));
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}

int attack_clone3(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "clone3");
  struct answer a = in_child(try_clone3, NULL);
  route(&r, "clone3_newuser", how(a));
  emit(&r, succeeded(a) ? "allowed" : "blocked", how(a), "clone3({flags: CLONE_NEWUSER}) in a child: %s", how(a));
  return 0;
}

/* ---- release_agent ---- */

static long open_for_write(const char *path) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return fd;
}

/* Every release_agent visible under /sys/fs/cgroup (v1 hierarchies the runtime mounted). */
static void visible_agents(struct report *r, int *won, int *seen) {
  const char *base = "/sys/fs/cgroup";
  DIR *d = opendir(base);
  char path[512];
  snprintf(path, sizeof(path), "%s/release_agent", base);
  if (access(path, F_OK) == 0) {
    struct answer a = here(open_for_write(path));
    route(r, path, how(a));
    *won |= succeeded(a);
    (*seen)++;
  }
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof(path), "%s/%s/release_agent", base, e->d_name);
    if (access(path, F_OK) != 0) continue;
    struct answer a = here(open_for_write(path));
    route(r, path, how(a));
    *won |= succeeded(a);
    (*seen)++;
  }
  closedir(d);
}

/* Mount the v1 memory hierarchy on /mnt; with `agent`, then open its release_agent for writing. */
static long mount_v1(int agent) {
  if (mount("cgroup", "/mnt", "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "memory") != 0) return -1;
  long ret = agent ? open_for_write("/mnt/release_agent") : 0;
  int saved = errno;
  umount2("/mnt", MNT_DETACH);
  errno = saved;
  return ret;
}

static long try_mount_v1(void *agent) {
  return mount_v1(agent != NULL);
}

/* CVE-2022-0492's route: own user, mount and cgroup namespaces, then a v1 mount there. */
static long try_nested_mount_v1(void *agent) {
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP) != 0) return -1;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return -1;
  return mount_v1(agent != NULL);
}

int attack_release_agent(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "release_agent");
  int won = 0, seen = 0;
  visible_agents(&r, &won, &seen);
  static int agent = 1;
  struct answer direct = in_child(try_mount_v1, NULL);
  struct answer nested = in_child(try_nested_mount_v1, NULL);
  route(&r, "mount_v1", how(direct));
  route(&r, "nested_mount_v1", how(nested));
  struct answer direct_agent = {-1, 0, 0}, nested_agent = {-1, 0, 0};
  if (succeeded(direct)) {
    direct_agent = in_child(try_mount_v1, &agent);
    route(&r, "mount_v1_release_agent", how(direct_agent));
  }
  if (succeeded(nested)) {
    nested_agent = in_child(try_nested_mount_v1, &agent);
    route(&r, "nested_mount_v1_release_agent", how(nested_agent));
  }
  won |= succeeded(direct_agent) || succeeded(nested_agent);
  emit(&r, won ? "allowed" : "blocked", how(direct),
       "%d release_agent file(s) visible; mount -t cgroup -o memory: %s (its release_agent: %s); from a nested user+mount+cgroup namespace: %s (its release_agent: %s); success = opened for writing",
       seen, how(direct), succeeded(direct) ? how(direct_agent) : "-", how(nested), succeeded(nested) ? how(nested_agent) : "-");
  return 0;
}
