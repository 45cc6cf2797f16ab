/*
 * Other system-call ABIs of x86_64, used to reach a call the native filter blocks.
 *
 * abi_i386: `int 0x80` from a 64-bit process enters the i386 table (CONFIG_IA32_EMULATION). A
 *   filter that lists only x86_64 rules, or lists i386 with weaker rules (socketcall hides the
 *   socket family behind a pointer), is bypassed. Tried: unshare(CLONE_NEWUSER), i386 nr 310.
 * abi_x32: syscall with bit 30 set enters the x32 table (CONFIG_X86_X32_ABI). Tried: getpid to
 *   learn whether the ABI exists (ENOSYS: compiled out), then unshare(CLONE_NEWUSER).
 * Each attempt runs in a child: a filter may kill it (SIGSYS), and that is the answer.
 */
#include "attack.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>

#define I386_GETPID 20
#define I386_UNSHARE 310
#define X32_BIT 0x40000000L
#define X32_GETPID (X32_BIT + 39)
#define X32_UNSHARE (X32_BIT + 272)

static long int80(long nr, long a1) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a1) : "memory");
  if (ret < 0 && ret > -4096) {
    errno = (int)-ret;
    return -1;
  }
  return ret;
}

static long x32(long nr, long a1) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a1) : "rcx", "r11", "memory");
  if (ret < 0 && ret > -4096) {
    errno = (int)-ret;
    return -1;
  }
  return ret;
}

static long i386_getpid(void *arg) {
  (void)arg;
  return int80(I386_GETPID, 0);
}
static long i386_unshare(void *arg) {
  (void)arg;
  return int80(I386_UNSHARE, CLONE_NEWUSER);
}
static long x32_getpid(void *arg) {
  (void)arg;
  return x32(X32_GETPID, 0);
}
static long x32_unshare(void *arg) {
  (void)arg;
  return x32(X32_UNSHARE, CLONE_NEWUSER);
}

int attack_abi_i386(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "abi_i386");
  struct answer pid = in_child(i386_getpid, NULL);
  struct answer un = in_child(i386_unshare, NULL);
  route(&r, "getpid", how(pid));
  route(&r, "unshare_newuser", how(un));
  /* Without the ABI, int 0x80 faults (SIGSEGV) before any system call or filter runs. */
  if (pid.sig == 11 && un.sig == 11) {
    emit(&r, "n/a", how(un), "int 0x80 faults here (SIGSEGV): the kernel has no i386 ABI for this process");
    return 0;
  }
  emit(&r, succeeded(un) ? "allowed" : "blocked", how(un), "int 0x80 getpid: %s; int 0x80 unshare(CLONE_NEWUSER): %s", how(pid), how(un));
  return 0;
}

int attack_abi_x32(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct report r;
  report_init(&r, "abi_x32");
  struct answer pid = in_child(x32_getpid, NULL);
  struct answer un = in_child(x32_unshare, NULL);
  route(&r, "getpid", how(pid));
  route(&r, "unshare_newuser", how(un));
  if (succeeded(un)) {
    emit(&r, "allowed", how(un), "x32 unshare(CLONE_NEWUSER) worked");
    return 0;
  }
  if (pid.err == ENOSYS) {
    emit(&r, "n/a", how(pid), "x32 getpid answers ENOSYS: the kernel has no x32 ABI (CONFIG_X86_X32_ABI off); x32 unshare: %s", how(un));
    return 0;
  }
  emit(&r, "blocked", how(un), "x32 getpid: %s; x32 unshare(CLONE_NEWUSER): %s", how(pid), how(un));
  return 0;
}
