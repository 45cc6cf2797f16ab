/*
 * The profile-name grammar both native entries read out of the names they are executed by
 * (launcher.c: libexec/bulwark/<profile>/runc; shim-entry.c: containerd-shim-bulwark-<profile>-v2):
 * [a-z0-9-]+, not starting with '-'. One definition, so the two can never disagree on a name.
 */
#ifndef BULWARK_PROFILE_NAME_H
#define BULWARK_PROFILE_NAME_H

#include <stddef.h>

/* Whether the `len` bytes at `p` are a profile name. */
static inline int is_profile_name(const char *p, size_t len)
{
	if (len == 0 || *p == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
			return 0;
	return 1;
}

#endif
