/*
 * bench-spawn: time commands by posix_spawn + waitpid, interleaved (A B C A B C ...) so that
 * load drift on a shared machine hits every command alike. Prints the median and mean per
 * command in microseconds. Output of the commands goes to /dev/null.
 *   bench-spawn RUNS cmdA [args] ::: cmdB [args] ::: ...
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

extern char **environ;

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s RUNS cmd [args] [::: cmd [args]]...\n", argv[0]);
		return 2;
	}
	int runs = atoi(argv[1]);
	char **cmds[16];
	int ncmd = 0;
	cmds[ncmd++] = &argv[2];
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], ":::") == 0 && ncmd < 16) {
			argv[i] = NULL;
			cmds[ncmd++] = &argv[i + 1];
		}
	double *t = calloc((size_t)runs * (size_t)ncmd, sizeof(double));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (int r = 0; r < runs; r++)
		for (int c = 0; c < ncmd; c++) {
			struct timespec a, b;
			pid_t pid;
			clock_gettime(CLOCK_MONOTONIC, &a);
			if (posix_spawn(&pid, cmds[c][0], &fa, NULL, cmds[c], environ) != 0) {
				perror(cmds[c][0]);
				return 1;
			}
			waitpid(pid, NULL, 0);
			clock_gettime(CLOCK_MONOTONIC, &b);
			t[c * runs + r] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
		}
	for (int c = 0; c < ncmd; c++) {
		double *v = t + c * runs, sum = 0;
		for (int r = 0; r < runs; r++)
			sum += v[r];
		qsort(v, (size_t)runs, sizeof(double), cmp);
		printf("%9.0f us median %9.0f us mean  ", v[runs / 2], sum / runs);
		for (char **a = cmds[c]; *a; a++)
			printf("%s ", *a);
		printf("\n");
	}
	return 0;
}
