/* One more execve and nothing else: `chain PROG ARGS...` execs PROG. Built with musl (start-up
 * of a few syscalls), it prices the extra execve any launcher pays; built with glibc, it adds
 * glibc's static start-up. */
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	execv(argv[1], argv + 1);
	return 127;
}
