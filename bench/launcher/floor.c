/* The cheapest process there is: no libc, no stack set-up, _start exits at once. What a spawn of
 * it costs is the kernel's fork/exec/exit/wait and nothing else: the floor of every row. */
void _start(void)
{
	__asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall"); /* exit_group(0) */
	for (;;)
		;
}
