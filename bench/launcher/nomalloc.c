/* Measurement only (bench/launcher/cost.sh): linked with -Wl,--wrap=malloc,--wrap=free, it stands
 * in for the launcher's two malloc() calls (the reordered argv in find_id, the runtime's argv in
 * exec_runtime) with a static arena, to price replacing them by arrays in launcher.c: musl's
 * malloc maps its first pages with brk and mmap, system calls and page faults on every call. */
#include <stddef.h>

static char arena[1 << 20];
static size_t used;

void *__wrap_malloc(size_t n);
void __wrap_free(void *p);

void *__wrap_malloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(arena) - used)
		return NULL;
	used += n;
	return arena + used - n;
}

void __wrap_free(void *p)
{
	(void)p;
}
