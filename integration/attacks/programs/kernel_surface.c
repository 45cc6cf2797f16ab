/*
 * Kernel interfaces a container has no business with, each a large, bug-prone attack surface:
 *
 * keyring: keyrings are not namespaced (a key added here lives in the host's key space;
 *   CVE-2016-0728 was a keyring refcount overflow to root).
 * bpf: the verifier has been the door to kernel memory many times (CVE-2021-3490, CVE-2023-2163).
 * userfaultfd: lets an exploit stall the kernel in the middle of a copy to win a race.
 * io_uring: a second path to most kernel operations that seccomp never sees (CVE-2023-2598).
 * perf_event: CVE-2023-2235 and many others; also a side channel.
 * af_alg: the kernel crypto socket; its algif code gave the 2026 "Copy Fail" page-cache write.
 *   Tried plainly and with the family in the low 32 bits of a 64-bit register (the kernel reads
 *   an int, seccomp compares 64 bits; docs/SECCOMP.md).
 * open_by_handle: the 2014 "shocker" escape: open a file of the host filesystem by a forged
 *   handle (inode 2, the root directory), bypassing the container's mount root.
 */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static int simple(const char *attack, const char *route_name, struct answer a, const char *what) {
  struct report r;
  report_init(&r, attack);
  route(&r, route_name, how(a));
  emit(&r, succeeded(a) ? "allowed" : "blocked", how(a), "%s: %s", what, how(a));
  return 0;
}

static void close_if_fd(long fd) {
  if (fd >= 0) close((int)fd);
}

int attack_keyring(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "keyring");
  struct answer add = here(syscall(SYS_add_key, "user", "bulwark-attack", "x", 1, KEY_SPEC_PROCESS_KEYRING));
  struct answer join = here(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "bulwark-attack"));
  route(&r, "add_key", how(add));
  route(&r, "keyctl_join_session", how(join));
  int won = succeeded(add) || succeeded(join);
  emit(&r, won ? "allowed" : "blocked", how(add), "add_key(\"user\") to the process keyring: %s; keyctl(JOIN_SESSION_KEYRING): %s", how(add), how(join));
  return 0;
}

int attack_bpf(int argc, char **argv) {
  (void)argc;
  (void)argv;
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
  struct answer a = here(fd);
  close_if_fd(fd);
  return simple("bpf", "map_create", a, "bpf(BPF_MAP_CREATE, array)");
}

int attack_userfaultfd(int argc, char **argv) {
  (void)argc;
  (void)argv;
  /* UFFD_USER_MODE_ONLY is what an unprivileged process may still ask for (vm.unprivileged_userfaultfd=0). */
  long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
  struct answer a = here(fd);
  close_if_fd(fd);
  return simple("userfaultfd", "userfaultfd", a, "userfaultfd(UFFD_USER_MODE_ONLY)");
}

int attack_io_uring(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  long fd = syscall(SYS_io_uring_setup, 4, &p);
  struct answer a = here(fd);
  close_if_fd(fd);
  return simple("io_uring", "io_uring_setup", a, "io_uring_setup(4 entries)");
}

int attack_perf_event(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.exclude_kernel = 1; /* user space of this process only: what perf_event_paranoid=2 allows */
  attr.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  struct answer a = here(fd);
  close_if_fd(fd);
  return simple("perf_event", "perf_event_open", a, "perf_event_open(task clock, this process, user only)");
}

int attack_af_alg(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "af_alg");
  long fd = syscall(SYS_socket, (long)AF_ALG, (long)SOCK_SEQPACKET, 0L);
  struct answer plain = here(fd);
  close_if_fd(fd);
  /* 0x100000026: AF_ALG in the low 32 bits, garbage above. */
  fd = syscall(SYS_socket, 0x100000000L | AF_ALG, (long)SOCK_SEQPACKET, 0L);
  struct answer high = here(fd);
  close_if_fd(fd);
  route(&r, "socket", how(plain));
  route(&r, "socket_high_bits", how(high));
  int won = succeeded(plain) || succeeded(high);
  emit(&r, won ? "allowed" : "blocked", how(plain), "socket(AF_ALG): %s; socket(0x100000026): %s", how(plain), how(high));
  return 0;
}

int attack_open_by_handle(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "open_by_handle");
  /* name_to_handle_at tells the handle type of the filesystem under "/" (ext4: FILEID_INO32_GEN). */
  struct {
    struct file_handle fh;
    unsigned char bytes[128];
  } h;
  memset(&h, 0, sizeof(h));
  h.fh.handle_bytes = sizeof(h.bytes);
  int mount_id = 0;
  struct answer name = here(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &h.fh, &mount_id, 0));
  /* The forgery: inode 2 (the root of an ext4 filesystem), generation 0. */
  int type = succeeded(name) ? h.fh.handle_type : 1;
  memset(&h, 0, sizeof(h));
  h.fh.handle_bytes = 8;
  h.fh.handle_type = type;
  uint32_t ino_gen[2] = {2, 0};
  memcpy(h.fh.f_handle, ino_gen, sizeof(ino_gen));
  int mount_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  long fd = syscall(SYS_open_by_handle_at, mount_fd, &h.fh, O_RDONLY | O_DIRECTORY);
  struct answer open_h = here(fd);
  close_if_fd(fd);
  if (mount_fd >= 0) close(mount_fd);
  route(&r, "name_to_handle_at", how(name));
  route(&r, "open_by_handle_at", how(open_h));
  emit(&r, succeeded(open_h) ? "allowed" : "blocked", how(open_h),
       "name_to_handle_at(\"/\"): %s; open_by_handle_at(inode 2, type %d): %s", how(name), type, how(open_h));
  return 0;
}
