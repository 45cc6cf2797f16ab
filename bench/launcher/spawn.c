/*
 * spawn: time commands by posix_spawn + waitpid, interleaved (A B C A B C ...) so that load drift
 * on a shared machine hits every command alike. Unlike native/bench-spawn, a command may start
 * with NAME=VALUE words that are added to (or replace in) its environment, so variants that differ
 * only in their environment run side by side in one loop without an env(1) process in between.
 *   spawn RUNS [NAME=VALUE...] cmd [args] ::: [NAME=VALUE...] cmd [args] ::: ...
 * Prints one line per command: median, p10, p90, mean (microseconds), then the command.
 * A command that fails (exit status != 0) stops the run: a benchmark of an error path is no
 * benchmark of the pass-through.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 32

extern char **environ;

struct command {
	char **argv;  /* program and arguments */
	char **envp;  /* environ with the command's NAME=VALUE words applied */
	double *us;   /* one sample per run */
};

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int is_assignment(const char *s)
{
	const char *eq = strchr(s, '=');
	return eq && eq != s && s[0] != '/' && s[0] != '.';
}

/* environ, with every NAME=VALUE in words[0..n) replacing NAME or appended. */
static char **environment(char **words, int n)
{
	size_t count = 0;
	while (environ[count])
		count++;
	char **env = calloc(count + (size_t)n + 1, sizeof(char *));
	if (!env)
		exit(1);
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		int replaced = 0;
		for (int j = 0; j < n; j++) {
			size_t len = (size_t)(strchr(words[j], '=') - words[j]) + 1;
			replaced |= strncmp(environ[i], words[j], len) == 0;
		}
		if (!replaced)
			env[k++] = environ[i];
	}
	for (int j = 0; j < n; j++)
		env[k++] = words[j];
	return env;
}

static double percentile(const double *sorted, int n, double p)
{
	double rank = p / 100.0 * (n - 1);
	int lo = (int)rank, hi = lo + (rank > lo);
	return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s RUNS [NAME=VALUE...] cmd [args] [::: ...]\n", argv[0]);
		return 2;
	}
	int runs = atoi(argv[1]);
	if (runs < 1)
		return 2;
	struct command cmds[MAX_CMDS];
	int ncmd = 0;
	for (int i = 2; i < argc;) {
		if (ncmd == MAX_CMDS) {
			fprintf(stderr, "at most %d commands\n", MAX_CMDS);
			return 2;
		}
		int start = i, end = i;
		while (end < argc && strcmp(argv[end], ":::") != 0)
			end++;
		argv[end < argc ? end : argc] = NULL; /* terminates this command's argv */
		int nenv = 0;
		while (start + nenv < end && is_assignment(argv[start + nenv]))
			nenv++;
		if (start + nenv == end) {
			fprintf(stderr, "command %d has no program\n", ncmd + 1);
			return 2;
		}
		cmds[ncmd].argv = &argv[start + nenv];
		cmds[ncmd].envp = environment(&argv[start], nenv);
		cmds[ncmd].us = calloc((size_t)runs, sizeof(double));
		ncmd++;
		i = end + 1;
	}

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (int r = -1; r < runs; r++) /* round -1: warm-up, not kept */
		for (int c = 0; c < ncmd; c++) {
			struct timespec a, b;
			pid_t pid;
			int status;
			clock_gettime(CLOCK_MONOTONIC, &a);
			if (posix_spawn(&pid, cmds[c].argv[0], &fa, NULL, cmds[c].argv, cmds[c].envp) != 0) {
				perror(cmds[c].argv[0]);
				return 1;
			}
			waitpid(pid, &status, 0);
			clock_gettime(CLOCK_MONOTONIC, &b);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "%s: failed (status 0x%x)\n", cmds[c].argv[0], status);
				return 1;
			}
			if (r >= 0)
				cmds[c].us[r] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
		}
	for (int c = 0; c < ncmd; c++) {
		double *v = cmds[c].us, sum = 0;
		for (int r = 0; r < runs; r++)
			sum += v[r];
		qsort(v, (size_t)runs, sizeof(double), cmp);
		printf("%8.0f %8.0f %8.0f %8.0f ", percentile(v, runs, 50), percentile(v, runs, 10),
		       percentile(v, runs, 90), sum / runs);
		for (char **a = cmds[c].argv; *a; a++)
			printf("%s ", *a);
		printf("\n");
	}
	return 0;
}
