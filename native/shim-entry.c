/*
 * containerd-shim-bulwark-v2: containerd's shim v2 entry for the `io.containerd.bulwark.v2`
 * runtime type, and under per-profile names for `io.containerd.bulwark-<profile>.v2`
 * (containerd-shim-bulwark-<profile>-v2, links to this binary; docs/CONTAINERD.md).
 *
 * containerd runs it twice per container (`start`, and `delete` after the task is gone), so it
 * is static C like the launcher: a shell script here cost ~2.5 ms per call (sh, plus a
 * `readlink -f` child to find its own directory through the link containerd runs).
 *
 * Two modes (BULWARK_SHIM_MODE; default: exec, and proxy for Kata):
 *   exec   exec the real runc shim with a PATH whose first `runc` is Bulwark's, so every runtime
 *          call that shim makes (create, exec, update, ...) is hardened. Covers runc under every
 *          containerd: the runc shim calls `runc` whoever asked it over ttrpc.
 *   proxy  `start` runs the real shim's start, then puts a resident ttrpc proxy in front of it
 *          (dist/src/shim/main.js): the bundle is hardened on Task.Create, the process on
 *          Task.Exec, before the real shim sees them. Needed for shims with no runc underneath
 *          (Kata), and for containerd 2.x's ttrpc-only path to any shim. `delete` also stops a
 *          proxy whose shim is gone. For the runc shim the PATH trick stays on as well.
 * The runc shim calls `runc` by that bare name, so the profile cannot travel in argv[0]:
 *   containerd-shim-bulwark-v2       -> <root>/libexec/bulwark/runc = bin/bulwark-runtime
 *   containerd-shim-bulwark-<p>-v2   -> <root>/libexec/bulwark/<p>/runc, a link to the launcher,
 *                                       which takes <p> from that path (AT_EXECFN)
 * <root> is two levels above this binary, resolved (/proc/self/exe), so links to it from
 * containerd's PATH work. A profile without its libexec entry fails closed.
 *
 * Kata (`containerd-shim-bulwark-kata-v2`): the real shim is Kata's containerd-shim-kata-v2, which
 * never calls runc, so only the proxy can harden for it; in exec mode `start` is refused (fail
 * closed) and every other action (delete, ...) passes through to Kata's shim.
 *
 * BULWARK_SHIM overrides the real shim (a path, or a name looked up on PATH); BULWARK_NODE the
 * node binary of proxy mode (default: the node found at build time, as for the launcher).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "profile-name.h"

#ifndef BULWARK_NODE_PATH
#define BULWARK_NODE_PATH "node"
#endif

static const char prefix[] = "containerd-shim-bulwark", suffix[] = "-v2";
static const char *runc_shims[] = { "/usr/local/bin/containerd-shim-runc-v2",
				    "/usr/bin/containerd-shim-runc-v2" };
/* For a caller with no PATH at all: never let an empty entry mean the current directory. */
static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static __attribute__((noreturn, format(printf, 2, 3))) void die(int code, const char *fmt, ...);
static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bulwark: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* The profile a shim name carries: "" for the plain name, NULL for a foreign name. */
static const char *profile_of(const char *name, char *buf, size_t cap)
{
	size_t len = strlen(name), plen = sizeof(prefix) - 1, slen = sizeof(suffix) - 1;
	if (strcmp(name, "containerd-shim-bulwark-v2") == 0)
		return "";
	if (len < plen + 1 + slen || strncmp(name, prefix, plen) != 0 || name[plen] != '-' ||
	    strcmp(name + len - slen, suffix) != 0)
		return NULL;
	size_t n = len - plen - 1 - slen;
	if (n == 0 || n >= cap)
		return NULL;
	memcpy(buf, name + plen + 1, n);
	buf[n] = '\0';
	return buf;
}

/* <root>: this binary's resolved path without its last two components (bin/<name>). */
static void install_root(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
	if (n <= 0)
		die(1, "cannot resolve /proc/self/exe: %s", strerror(errno));
	buf[n] = '\0';
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(buf, '/');
		if (!slash)
			die(1, "cannot locate the install root from %s", buf);
		*slash = '\0';
	}
}

static int executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* A bare shim name, looked up on `path` like `command -v` does, except that an empty entry is
 * skipped rather than meaning the current directory (containerd runs shims in the bundle). */
static const char *look_up(const char *name, const char *path, char *buf, size_t cap)
{
	for (const char *dir = path;; ) {
		const char *end = strchrnul(dir, ':');
		size_t dlen = (size_t)(end - dir);
		int n = snprintf(buf, cap, "%.*s/%s", (int)dlen, dir, name);
		if (dlen && n > 0 && (size_t)n < cap && executable(buf))
			return buf;
		if (!*end)
			return NULL;
		dir = end + 1;
	}
}

int main(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	/* The name containerd executed (a link's own name), as `$0` was for the script. */
	const char *fn = (const char *)getauxval(AT_EXECFN);
	if (!fn || !*fn)
		fn = argv[0];
	const char *slash = strrchr(fn, '/');
	const char *name = slash ? slash + 1 : fn;

	char profile_buf[NAME_MAX + 1];
	const char *profile = profile_of(name, profile_buf, sizeof(profile_buf));
	if (!profile)
		die(1, "shim called as \"%s\"; expected containerd-shim-bulwark[-PROFILE]-v2", name);
	if (*profile && !is_profile_name(profile, strlen(profile)))
		die(1, "\"%s\" is not a profile name", profile);
	int kata = strcmp(profile, "kata") == 0;

	const char *action = argc > 1 ? argv[argc - 1] : "";
	const char *mode = env_or_null("BULWARK_SHIM_MODE");
	if (!mode)
		mode = kata ? "proxy" : "exec";
	int proxy = strcmp(mode, "proxy") == 0;
	if (!proxy && strcmp(mode, "exec") != 0)
		die(1, "BULWARK_SHIM_MODE must be exec or proxy, not \"%s\"", mode);

	char root[PATH_MAX];
	install_root(root, sizeof(root));

	const char *shim = env_or_null("BULWARK_SHIM");
	if (kata) {
		if (!shim)
			shim = "containerd-shim-kata-v2";
		if (strcmp(action, "start") == 0 && !proxy)
			die(1, "profile kata: Kata's shim never calls runc, so exec mode cannot harden "
			       "it; refusing to start an unhardened container (use "
			       "BULWARK_SHIM_MODE=proxy)");
	} else {
		for (size_t i = 0; !shim && i < sizeof(runc_shims) / sizeof(runc_shims[0]); i++)
			if (executable(runc_shims[i]))
				shim = runc_shims[i];
		if (!shim)
			die(127, "containerd-shim-runc-v2 not found (set BULWARK_SHIM)");
		char runc[PATH_MAX];
		int n = *profile ? snprintf(runc, sizeof(runc), "%s/libexec/bulwark/%s/runc", root, profile)
				 : snprintf(runc, sizeof(runc), "%s/libexec/bulwark/runc", root);
		if (n <= 0 || (size_t)n >= sizeof(runc) || !executable(runc))
			die(1, "no runtime for profile \"%s\" (%s missing; run make build)",
			    *profile ? profile : "default", runc);
		/* PATH = <dir of that runc>:$PATH, so the runc shim's bare `runc` is ours. */
		runc[n - 5] = '\0';
		const char *old = env_or_null("PATH");
		char *path = malloc(strlen(runc) + 1 + strlen(old ? old : default_path) + 1);
		if (!path)
			die(1, "out of memory");
		sprintf(path, "%s:%s", runc, old ? old : default_path);
		if (setenv("PATH", path, 1) != 0)
			die(1, "setenv: %s", strerror(errno));
		free(path);
	}

	char found[PATH_MAX];
	if (!strchr(shim, '/')) {
		const char *path = env_or_null("PATH");
		const char *resolved = look_up(shim, path ? path : default_path, found, sizeof(found));
		if (!resolved)
			die(127, "shim %s not found on PATH", shim);
		shim = resolved;
	}

	if (proxy && (strcmp(action, "start") == 0 || strcmp(action, "delete") == 0)) {
		char main_js[PATH_MAX];
		int n = snprintf(main_js, sizeof(main_js), "%s/dist/src/shim/main.js", root);
		if (n <= 0 || (size_t)n >= sizeof(main_js))
			die(1, "install root too long: %s", root);
		if (setenv("BULWARK_SHIM_REAL", shim, 1) != 0 ||
		    setenv("BULWARK_SHIM_PROFILE", profile, 1) != 0)
			die(1, "setenv: %s", strerror(errno));
		const char *node = env_or_null("BULWARK_NODE");
		if (!node)
			node = BULWARK_NODE_PATH;
		char **args = malloc(sizeof(char *) * ((size_t)argc + 3));
		if (!args)
			die(1, "out of memory");
		int k = 0;
		args[k++] = (char *)node;
		args[k++] = (char *)"--no-warnings";
		args[k++] = main_js;
		for (int i = 1; i < argc; i++)
			args[k++] = argv[i];
		args[k] = NULL;
		execvp(node, args);
		die(errno == ENOENT ? 127 : 126, "cannot execute node %s: %s", node, strerror(errno));
	}

	argv[0] = (char *)shim;
	execv(shim, argv);
	die(errno == ENOENT ? 127 : 126, "cannot execute shim %s: %s", shim, strerror(errno));
}
