/*
 * Shared helpers of the attack programs. Each attack runs INSIDE a test container, tries one
 * escape or abuse, and prints exactly one JSON line:
 *
 *   {"attack":"userns","outcome":"blocked","how":"errno EPERM","detail":"...","routes":{...}}
 *
 * outcome: "allowed" (the attack worked), "blocked" (it failed), "n/a" (this kernel lacks what
 * the attack needs, so it proves nothing here). how: the decisive answer ("ok", "errno EPERM",
 * "signal SIGSYS", ...). routes: every way the attack tried, each with its own answer, so the
 * test can check the reason per route (a seccomp errno versus a missing capability).
 *
 * The programs never change the host on purpose: files that would be an escape (release_agent,
 * core_pattern, the runtime's binary) are opened for writing, never written.
 */
#ifndef BULWARK_ATTACK_H
#define BULWARK_ATTACK_H
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/types.h>

/* The answer of one attempt: ret >= 0 and err 0 on success, err set on failure, sig set when
 * the attempt's process died of a signal (SIGSYS from a seccomp kill, SIGKILL from the OOM). */
struct answer {
  long ret;
  int err;
  int sig;
};

typedef long (*attempt_fn)(void *arg);

/* Run fn in a forked child (it may change namespaces or die); its result comes back by pipe. */
struct answer in_child(attempt_fn fn, void *arg);
/* Run fn here: ret and errno. */
struct answer here(long ret);

/* "ok", "errno EPERM", "signal SIGSYS" (static buffer per call slot, max 16 live strings). */
const char *how(struct answer a);
int succeeded(struct answer a);

/* A report under construction: routes are added in order, then emitted as one line. */
struct report {
  const char *attack;
  char routes[4096];
  size_t used;
};
void report_init(struct report *r, const char *attack);
void route(struct report *r, const char *name, const char *how_text);
void emit(struct report *r, const char *outcome, const char *how_text, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A whole line for steps that are not attacks (phase markers of the driver). */
void emit_phase(const char *phase);

/* Is this directory (an fd) outside the process's root? Climbs ".." until it reaches "/". */
int dir_outside_root(int dirfd);

/* Each attack: argc/argv are the words after its name. Returns the process exit status. */
int attack_leaked_fd(int argc, char **argv);
int attack_userns(int argc, char **argv);
int attack_mount(int argc, char **argv);
int attack_keyring(int argc, char **argv);
int attack_bpf(int argc, char **argv);
int attack_userfaultfd(int argc, char **argv);
int attack_io_uring(int argc, char **argv);
int attack_perf_event(int argc, char **argv);
int attack_ptrace(int argc, char **argv);
int attack_raw_socket(int argc, char **argv);
int attack_setuid(int argc, char **argv);
int attack_sysrq(int argc, char **argv);
int attack_proc_sys(int argc, char **argv);
int attack_release_agent(int argc, char **argv);
int attack_mknod_dev(int argc, char **argv);
int attack_open_by_handle(int argc, char **argv);
int attack_af_alg(int argc, char **argv);
int attack_abi_i386(int argc, char **argv);
int attack_abi_x32(int argc, char **argv);
int attack_clone3(int argc, char **argv);
int attack_runtime_exe(int argc, char **argv);
int attack_exec_caps(int argc, char **argv);
int attack_forkbomb(int argc, char **argv);
int attack_membomb(int argc, char **argv);

#endif
