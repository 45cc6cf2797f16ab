/*
 * Reaching the host through files.
 *
 * leaked_fd: CVE-2024-21626. runc before 1.1.12 leaked a descriptor of the host's
 *   /sys/fs/cgroup into the container; with process.cwd = /proc/self/fd/<n> the container
 *   started with its working directory on the host. Checked first thing at start: every
 *   descriptor >= 3 (none should be open) and whether the working directory is outside "/".
 * sysrq: /proc/sysrq-trigger reboots or crashes the host with one byte.
 * proc_sys: /proc/sys/kernel/core_pattern runs a program as host root on every core dump;
 *   kernel.modprobe likewise on a module request.
 * mknod_dev: a device node for the host's disk (given as MAJOR:MINOR) reads the host's
 *   filesystem raw; and /dev must hold no host device beyond the standard set.
 * Nothing is written: an open for writing is the escape.
 */
#include "attack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int attack_leaked_fd(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "leaked_fd");
  int leaked = 0, outside = 0;
  char list[1024] = "";
  DIR *d = opendir("/proc/self/fd");
  int own = d ? dirfd(d) : -1;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd < 3 || fd == own) continue;
    char path[64], target[256];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    struct stat st;
    int is_dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    int out = is_dir ? dir_outside_root(fd) == 1 : 0;
    leaked++;
    outside += out;
    char item[300];
    snprintf(item, sizeof(item), "%s%d->%s%s", list[0] ? " " : "", fd, target, out ? " (outside the root)" : "");
    strncat(list, item, sizeof(list) - strlen(list) - 1);
    route(&r, path, out ? "outside" : "inside");
  }
  if (d) closedir(d);
  char cwd[512];
  if (!getcwd(cwd, sizeof(cwd))) snprintf(cwd, sizeof(cwd), "(getcwd: %s)", strerrorname_np(errno));
  int here_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int cwd_out = here_fd >= 0 ? dir_outside_root(here_fd) : -1;
  if (here_fd >= 0) close(here_fd);
  route(&r, "cwd", cwd_out == 1 ? "outside" : cwd_out == 0 ? "inside" : "unknown");
  int won = outside > 0 || cwd_out == 1;
  const char *verdict = won ? "allowed" : leaked ? "blocked" : "blocked";
  char how_text[64];
  snprintf(how_text, sizeof(how_text), "%d fd(s) >= 3, cwd %s", leaked, cwd_out == 1 ? "outside" : "inside");
  emit(&r, verdict, how_text, "descriptors >= 3 at start: %s; cwd %s", leaked ? list : "none", cwd);
  return 0;
}

static struct answer open_write(const char *path) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  struct answer a = here(fd);
  if (fd >= 0) close(fd);
  return a;
}

int attack_sysrq(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "sysrq");
  struct answer a = open_write("/proc/sysrq-trigger");
  route(&r, "open_write", how(a));
  if (a.err == ENOENT) {
    emit(&r, "n/a", how(a), "/proc/sysrq-trigger does not exist: this kernel has no magic SysRq (CONFIG_MAGIC_SYSRQ off)");
    return 0;
  }
  emit(&r, succeeded(a) ? "allowed" : "blocked", how(a), "open(/proc/sysrq-trigger, O_WRONLY): %s", how(a));
  return 0;
}

int attack_proc_sys(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "proc_sys");
  struct answer core = open_write("/proc/sys/kernel/core_pattern");
  struct answer modprobe = open_write("/proc/sys/kernel/modprobe");
  route(&r, "core_pattern", how(core));
  route(&r, "modprobe", how(modprobe));
  int won = succeeded(core) || succeeded(modprobe);
  emit(&r, won ? "allowed" : "blocked", how(core), "open for writing: kernel.core_pattern %s, kernel.modprobe %s", how(core), how(modprobe));
  return 0;
}

/* Nodes runc/crun create in every container's /dev (runtime-spec "default devices"), plus /dev/fuse a config may add. */
static const char *const standard_nodes[] = {"null", "zero", "full", "random", "urandom", "tty", "console", "ptmx", "fuse", NULL};

static int standard(const char *name) {
  for (int i = 0; standard_nodes[i]; i++) if (strcmp(name, standard_nodes[i]) == 0) return 1;
  return 0;
}

int attack_mknod_dev(int argc, char **argv) {
  struct report r;
  report_init(&r, "mknod_dev");
  unsigned maj = 0, min = 0;
  if (argc < 1 || sscanf(argv[0], "%u:%u", &maj, &min) != 2) {
    emit(&r, "n/a", "usage", "give the host disk as MAJOR:MINOR");
    return 2;
  }
  /* The first directory we may create files in: /tmp (rootfs), else /dev/shm (a read-only rootfs). */
  const char *dirs[] = {"/tmp", "/dev/shm"};
  const char *dir = NULL;
  for (size_t i = 0; i < 2 && !dir; i++) {
    char probe[64];
    snprintf(probe, sizeof(probe), "%s/.bulwark-attack-probe", dirs[i]);
    int fd = open(probe, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close(fd);
      unlink(probe);
      dir = dirs[i];
    }
  }
  char node[64];
  snprintf(node, sizeof(node), "%s/host-disk", dir ? dir : "/tmp");
  struct answer mk = here(mknod(node, S_IFBLK | 0600, makedev(maj, min)));
  route(&r, "mknod", how(mk));
  struct answer op = {-1, 0, 0};
  if (succeeded(mk)) {
    int fd = open(node, O_RDONLY | O_CLOEXEC);
    op = here(fd);
    if (fd >= 0) close(fd);
    route(&r, "open_node", how(op));
    unlink(node);
  }
  /* Host devices that should not be there at all. */
  char extra[512] = "";
  DIR *d = opendir("/dev");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char path[300];
    struct stat st;
    snprintf(path, sizeof(path), "/dev/%s", e->d_name);
    if (lstat(path, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) || standard(e->d_name)) continue;
    strncat(extra, extra[0] ? " " : "", sizeof(extra) - strlen(extra) - 1);
    strncat(extra, e->d_name, sizeof(extra) - strlen(extra) - 1);
  }
  if (d) closedir(d);
  route(&r, "extra_dev_nodes", extra[0] ? extra : "none");
  int won = succeeded(op) || extra[0];
  const char *decisive = succeeded(mk) ? how(op) : how(mk);
  emit(&r, won ? "allowed" : "blocked", decisive, "mknod(%s, block %u:%u): %s; open: %s; other device nodes in /dev: %s", node, maj, min, how(mk),
       succeeded(mk) ? how(op) : "not tried", extra[0] ? extra : "none");
  return 0;
}
