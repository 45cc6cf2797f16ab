/*
 * bulwark-runtime: the binary containerd (or Docker, Podman, CRI-O) calls in place of runc.
 *
 * containerd calls the runtime 4-6 times per container and only a few calls need hardening, so
 * this launcher reads just enough of runc's argv grammar to route the call:
 *   - a call it is CERTAIN needs no policy (only known runc global flags, then one of the
 *     subcommands in `passthrough` below, or no subcommand) -> exec the low-level runtime
 *     directly, argv unchanged, so a pass-through costs one extra execve and no Node start;
 *   - everything else (create, run, exec, update, features, restore, unknown subcommands,
 *     unknown or odd global flags) -> exec Node with the TypeScript engine, which parses argv
 *     fully (src/cli/runc-args.ts) and passes the call through itself when it needs no policy.
 * Fail closed: a misread argv may cost a Node start, never an unhardened container.
 *
 * Calls for the engine first try the warm policy service (`bulwark serve`, listening on
 * <STATE>/engine.sock; src/service/). It does the policy work and answers with the runtime argv,
 * which this launcher then execs itself, so containerd's descriptors, pid and signals reach the
 * runtime exactly as on pass-through. The service being down, dying mid-call, answering
 * garbage or not in time, or not being root, all mean the cold path: exec Node with the engine.
 * Neither ever runs a container unhardened.
 *
 * Which low-level runtime: the per-container record the engine wrote at create
 * (<STATE>/containers/<ROOTKEY>/<id>/runtime.argv, ROOTKEY being the encoded global --root),
 * else <STATE>/default-runtime.argv, else the first runc found in the usual places. Record
 * files hold NUL-terminated strings: the runtime's absolute path, then extra arguments
 * inserted right after argv[0].
 *
 * Every descriptor this program opens is O_CLOEXEC, so nothing of ours reaches the runtime;
 * descriptors our caller passed (stdio, console sockets, --preserve-fds) pass through as they are.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "profile-name.h"

#ifndef BULWARK_NODE_PATH
#define BULWARK_NODE_PATH "/usr/bin/node"
#endif

#define RECORD_MAX 65536 /* bytes in a runtime.argv record or the scanned part of the config */
#define RECORD_ARGS 256  /* strings in a runtime.argv record */
#define SMALL_ARGS 64    /* argv sizes handled without malloc on the pass-through path */

static const char *const runc_paths[] = {
	"/usr/local/sbin/runc", "/usr/local/bin/runc", "/usr/sbin/runc", "/usr/bin/runc",
};

/* What the argv scan found. */
struct call {
	int engine;           /* route to the engine: not certain the call needs no policy */
	const char *id;       /* the container id, when the subcommand takes one and it was given */
	const char *root;     /* global --root, NULL when not given */
	const char *log;      /* global --log FILE */
	const char *log_format;
};

/*
 * The subcommands passed straight to the low-level runtime, with their flags as runc 1.1.5
 * defines them: which take a value and which are boolean (space-separated names without
 * dashes). Both lists matter for finding the id, because of how urfave/cli v1 reorders
 * arguments. Any word not here goes to the engine; in particular `restore`, which builds a
 * container from a bundle's config.json and so must be hardened like `create`.
 */
static const struct subcommand {
	const char *name;
	int has_id;   /* the first positional argument is a container id */
	int reorders; /* urfave/cli moves flags written after positionals to the front */
	const char *value_flags;
	const char *bool_flags;
} passthrough[] = {
	{ "start", 1, 1, "", "" },
	{ "state", 1, 1, "", "" },
	{ "kill", 1, 1, "", "all a" },
	{ "delete", 1, 1, "", "force f" },
	{ "pause", 1, 1, "", "" },
	{ "resume", 1, 1, "", "" },
	{ "ps", 1, 0, "format f", "" },
	{ "events", 1, 1, "interval", "stats" },
	{ "checkpoint", 1, 1,
	  "image-path work-path parent-path status-fd page-server manage-cgroups-mode empty-ns",
	  "leave-running tcp-established ext-unix-sk shell-job lazy-pages file-locks pre-dump "
	  "auto-dedup" },
	{ "list", 0, 1, "format f", "quiet q" },
	{ "spec", 0, 1, "bundle b", "rootless" },
	{ "help", 0, 0, "", "" }, /* urfave/cli's own command and its alias */
	{ "h", 0, 0, "", "" },
};

/* runc 1.1.5's global flags (`runc --help`), including urfave/cli's help and version. */
static const char global_value_flags[] = "root log log-format criu rootless";
static const char global_bool_flags[] = "debug systemd-cgroup help h version v";

/* Is `name` (len bytes) one of the space-separated words in `list`? */
static int in_list(const char *list, const char *name, size_t len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		if (n == len && memcmp(p, name, len) == 0)
			return 1;
		p += n;
		p += (*p == ' ');
	}
	return 0;
}

/*
 * Go's flag package accepts -name and --name, with the value joined by '=' or in the next
 * argument. Returns the name (dashes stripped) and its length; *value is set for the '=' form.
 */
static const char *flag_name(const char *arg, size_t *len, const char **value)
{
	const char *name = arg + 1 + (arg[1] == '-');
	const char *eq = strchr(name, '=');
	*value = eq ? eq + 1 : NULL;
	*len = eq ? (size_t)(eq - name) : strlen(name);
	return name;
}

static int is_flag(const char *arg)
{
	return arg[0] == '-' && arg[1] != '\0'; /* a lone "-" is a positional argument */
}

static int name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

static const struct subcommand *find_passthrough(const char *name)
{
	for (size_t k = 0; k < sizeof(passthrough) / sizeof(passthrough[0]); k++)
		if (strcmp(name, passthrough[k].name) == 0)
			return &passthrough[k];
	return NULL;
}

/* urfave/cli's argIsFlag: a known flag of the subcommand (help/h is added to every one). */
static int known_flag(const struct subcommand *sc, const char *arg)
{
	if (arg[0] != '-' || strcmp(arg, "-") == 0 || strcmp(arg, "--") == 0)
		return 0;
	size_t len;
	const char *value;
	const char *name = flag_name(arg, &len, &value);
	return in_list(sc->value_flags, name, len) || in_list(sc->bool_flags, name, len) ||
	       name_is(name, len, "help") || name_is(name, len, "h");
}

/*
 * The container id: the first positional argument as runc sees it. urfave/cli v1 first moves
 * each known flag written after a positional to the front, together with the argument right
 * after it, boolean flag or not; Go's flag package then parses the result, stopping at the
 * first positional. So `kill x --all y` names container y, as runc 1.1.5 does.
 */
static const char *find_id(const struct subcommand *sc, int n, char **args)
{
	char **order = args;
	/* [0, n): the reordered argv; [n, 2n): positionals met on the way. On the stack for the
	 * usual few arguments: malloc's first call costs a brk and page faults (~35 us of ~165). */
	char *small[2 * SMALL_ARGS];
	char **heap = NULL, **tmp = NULL;
	if (sc->reorders && n > 0)
		tmp = n <= SMALL_ARGS ? small : (heap = malloc(sizeof(char *) * 2 * (size_t)n));
	if (tmp) {
		int f = 0, r = 0, i = 0, may_value = 0;
		for (; i < n; i++) {
			if (may_value && !known_flag(sc, args[i])) {
				may_value = 0; /* even "--" is taken as the value here */
				tmp[f++] = args[i];
			} else if (strcmp(args[i], "--") == 0) {
				break;
			} else if (known_flag(sc, args[i])) {
				tmp[f++] = args[i];
				may_value = !strchr(args[i], '=');
			} else {
				tmp[n + r++] = args[i];
			}
		}
		/* Then the positionals, then everything from "--" on, untouched. */
		memmove(tmp + f, tmp + n, sizeof(char *) * (size_t)r);
		memcpy(tmp + f + r, args + i, sizeof(char *) * (size_t)(n - i));
		order = tmp;
	}
	const char *id = NULL;
	for (int i = 0; i < n; i++) {
		if (strcmp(order[i], "--") == 0) {
			id = i + 1 < n ? order[i + 1] : NULL;
			break;
		}
		if (!is_flag(order[i])) {
			id = order[i];
			break;
		}
		size_t len;
		const char *value;
		const char *name = flag_name(order[i], &len, &value);
		if (!value && in_list(sc->value_flags, name, len))
			i++; /* a value flag takes the next argument, whatever it looks like */
	}
	free(heap);
	return id;
}

/*
 * Read the global flags the way Go's flag package does (up to the first positional, which is
 * the subcommand; a `--` before it is consumed) and decide the route. Pass-through needs every
 * global flag to be one runc 1.1.5 defines, written in a form whose meaning is certain:
 *   - value flags as --x v, --x=v, -x v, -x=v (a value flag takes the next argument whatever
 *     it looks like, as in Go);
 *   - boolean flags bare. Bypass (a): `--help=false create ...` / `--version=0 create ...` are
 *     not help or version to urfave/cli, so runc runs the create; any `=value` on a boolean
 *     therefore goes to the engine rather than this launcher mirroring Go's ParseBool.
 * Bypass (b): an unknown flag may take a value, e.g. crun's `--cgroup-manager disabled create`
 * that podman sends; reading it as a boolean made `disabled` the subcommand and passed the
 * create through. Unknown and malformed flags (`---x`, `-=x`) therefore go to the engine.
 * After a flag that decides the engine, the scan goes on only to find --log for errors.
 */
static void scan(int argc, char **argv, struct call *c)
{
	int i = 1;
	memset(c, 0, sizeof(*c));

	for (; i < argc && is_flag(argv[i]); i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		size_t len;
		const char *value;
		const char *name = flag_name(argv[i], &len, &value);
		if (len == 0 || name[0] == '-') {
			c->engine = 1; /* Go: "bad flag syntax" */
		} else if (in_list(global_value_flags, name, len)) {
			if (!value && i + 1 >= argc) {
				c->engine = 1; /* Go: "flag needs an argument" */
				break;
			}
			if (!value)
				value = argv[++i];
			if (name_is(name, len, "root"))
				c->root = value;
			else if (name_is(name, len, "log"))
				c->log = value;
			else if (name_is(name, len, "log-format"))
				c->log_format = value;
		} else if (value || !in_list(global_bool_flags, name, len)) {
			c->engine = 1; /* bypasses (a) and (b) above */
		}
	}
	if (c->engine || i >= argc)
		return; /* no subcommand: runc prints help or its version and runs nothing */

	const struct subcommand *sc = find_passthrough(argv[i]);
	if (!sc)
		c->engine = 1;
	else if (sc->has_id)
		c->id = find_id(sc, argc - i - 1, argv + i + 1);
}

/* ---- errors, in runc's log format when containerd asked for a log file ---- */

static size_t json_escape(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (ch < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[ch >> 4];
			out[n + 5] = hex[ch & 15];
			n += 6;
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n] = '\0';
	return n;
}

/* Print "msg" to stderr, and append it to --log FILE as runc (logrus) would: JSON or text. */
static void report(const struct call *c, const char *msg)
{
	dprintf(STDERR_FILENO, "%s\n", msg);
	if (!c->log || !*c->log)
		return;

	char stamp[32], esc[2048], line[2200];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_escape(esc, sizeof(esc), msg);

	int n;
	if (c->log_format && strcmp(c->log_format, "json") == 0)
		n = snprintf(line, sizeof(line), "{\"level\":\"error\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
			     esc, stamp);
	else
		n = snprintf(line, sizeof(line), "time=\"%s\" level=error msg=\"%s\"\n", stamp, esc);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	int fd = open(c->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return;
	/* One write() with O_APPEND: concurrent writers cannot interleave inside the line. */
	ssize_t unused = write(fd, line, (size_t)n);
	(void)unused;
	close(fd);
}

static __attribute__((noreturn)) void fail(const struct call *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(const struct call *c, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(c, msg);
	exit(code);
}

/* ---- small file helpers (every open is O_CLOEXEC) ---- */

/* Read up to cap-1 bytes of `path` into buf, NUL-terminate; returns the length or -1 (errno). */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n < cap - 1) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/*
 * Find the state directory: env BULWARK_STATE_DIR, else a top-level `stateDir:` line of the
 * config file (env BULWARK_CONFIG, else /etc/bulwark/config.yaml), else /run/bulwark.
 * The config is YAML; a line scan (`^stateDir:[ \t]*["']?(/[^"'#\n]*)`, trimmed) is enough for
 * one absolute path, and the engine, which parses the file properly, validates it.
 */
static const char *state_dir(char *out, size_t cap)
{
	const char *env = getenv("BULWARK_STATE_DIR");
	if (env && *env)
		return env;

	const char *cfg = getenv("BULWARK_CONFIG");
	static char text[RECORD_MAX];
	if (read_small(cfg && *cfg ? cfg : "/etc/bulwark/config.yaml", text, sizeof(text)) > 0) {
		for (char *line = text; line && *line;) {
			char *next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (strncmp(line, "stateDir:", 9) == 0) {
				char *v = line + 9;
				v += strspn(v, " \t");
				v += (*v == '"' || *v == '\'');
				if (*v == '/') {
					size_t n = strcspn(v, "\"'#");
					while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
						n--;
					if (n < cap) {
						memcpy(out, v, n);
						out[n] = '\0';
						return out;
					}
				}
			}
			line = next;
		}
	}
	return "/run/bulwark";
}

/*
 * Load a runtime.argv record: NUL-terminated strings, the first an absolute path.
 * Returns the number of strings (>= 1), 0 when the file does not exist, -1 when it cannot be
 * read (errno set), -2 when it is malformed. On -1/-2 the caller fails rather than guess
 * another runtime.
 */
static int load_record(const char *path, char *buf, size_t cap, char **args)
{
	ssize_t n = read_small(path, buf, cap);
	if (n < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (n == 0 || (size_t)n == cap - 1 || buf[n - 1] != '\0' || buf[0] != '/')
		return -2;
	int count = 0;
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1) {
		if (count == RECORD_ARGS)
			return -2;
		args[count++] = buf + off;
	}
	return count;
}

/* A container id that is safe to use as one path component: printable ASCII, no '/', not
 * "." or "..", and short enough that the engine could have made the directory. */
static int safe_id(const char *id)
{
	if (!id || !*id || strlen(id) > NAME_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '/')
			return 0;
	return 1;
}

/*
 * The directory under <STATE>/containers/ for the global --root: the same container id can
 * exist under two roots (containerd namespaces k8s.io and default), so records are kept per
 * root. Bytes in [A-Za-z0-9.-] stay, every other byte becomes '_' and two lowercase hex digits;
 * no --root is "_none". The engine (src/runtime/records.ts) encodes exactly so. Returns 0
 * when no record can be there: an empty key or one longer than a path component may be, and
 * "." or ".." (kept as they are by the encoding), which would name a directory other than a
 * key's own.
 */
static int root_key(const char *root, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	if (!root)
		return snprintf(out, cap, "_none") > 0;
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)root; *p; p++) {
		int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			   (*p >= '0' && *p <= '9') || *p == '.' || *p == '-';
		if (n + (keep ? 1 : 3) >= cap)
			return 0;
		if (keep) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '_';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
	return n > 0 && strcmp(out, ".") != 0 && strcmp(out, "..") != 0;
}

/* ---- the warm policy service (src/service/protocol.ts has the frame format) ---- */

#define SERVICE_TIMEOUT_S 30
#define SERVICE_MAX_FRAME (1u << 20)

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL); /* a vanished service is no SIGPIPE */
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, char *buf, size_t len)
{
	while (len > 0) {
		ssize_t r = recv(fd, buf, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1; /* EOF: the service died mid-call; a timeout: it is stuck */
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Append a NUL-terminated string to the request body; 0 when it does not fit. */
static int put(char *body, size_t cap, size_t *n, const char *s)
{
	size_t len = strlen(s) + 1;
	if (*n + len > cap)
		return 0;
	memcpy(body + *n, s, len);
	*n += len;
	return 1;
}

/*
 * Ask the service. Returns only when the call should run cold; otherwise execs the runtime the
 * service named or exits with the service's verdict (its --log line is already written).
 */
static void try_service(const struct call *c, int argc, char **argv)
{
	const char *off = getenv("BULWARK_SERVICE");
	if ((off && strcmp(off, "off") == 0) || getenv("BULWARK_ENGINE"))
		return; /* told not to, or an engine chosen explicitly (tests) */

	char dir_buf[PATH_MAX];
	const char *dir = state_dir(dir_buf, sizeof(dir_buf));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/engine.sock", dir) >=
	    (int)sizeof(addr.sun_path))
		return;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		goto cold; /* no service: the common case on a node without one */

	/* Only a service run by root (or by us) may decide what we exec. */
	struct ucred peer;
	socklen_t plen = sizeof(peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &plen) != 0 ||
	    (peer.uid != 0 && peer.uid != geteuid()))
		goto cold;
	struct timeval tv = { .tv_sec = SERVICE_TIMEOUT_S };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		goto cold;
	const char *cfg = getenv("BULWARK_CONFIG"), *st = getenv("BULWARK_STATE_DIR");
	size_t cap = 4 + strlen(cwd) + strlen(argv[0]) + (cfg ? strlen(cfg) : 0) +
		     (st ? strlen(st) : 0) + 16;
	for (int i = 1; i < argc; i++)
		cap += strlen(argv[i]) + 1;
	if (cap > SERVICE_MAX_FRAME)
		goto cold;
	char *req = malloc(4 + cap);
	if (!req)
		goto cold;
	size_t n = 0;
	char *body = req + 4;
	int ok = put(body, cap, &n, "bulwark/1") && put(body, cap, &n, cwd) &&
		 put(body, cap, &n, argv[0]) && put(body, cap, &n, cfg ? cfg : "") &&
		 put(body, cap, &n, st ? st : "");
	for (int i = 1; ok && i < argc; i++)
		ok = put(body, cap, &n, argv[i]);
	uint32_t len = (uint32_t)n;
	memcpy(req, &len, 4); /* little-endian: x86-64 and arm64 alike */
	if (!ok || send_all(fd, req, 4 + n) != 0) {
		free(req);
		goto cold;
	}
	free(req);

	uint32_t rlen;
	if (recv_all(fd, (char *)&rlen, 4) != 0 || rlen == 0 || rlen > SERVICE_MAX_FRAME)
		goto cold;
	char *reply = malloc(rlen);
	if (!reply)
		goto cold;
	if (recv_all(fd, reply, rlen) != 0 || reply[rlen - 1] != '\0') {
		free(reply);
		goto cold;
	}
	close(fd);

	/* Split into strings: kind, then its fields. */
	size_t count = 0;
	for (uint32_t i = 0; i < rlen; i++)
		count += reply[i] == '\0';
	char **fields = malloc(sizeof(char *) * (count + 1));
	if (!fields)
		return;
	size_t k = 0;
	for (uint32_t off = 0; off < rlen; off += (uint32_t)strlen(reply + off) + 1)
		fields[k++] = reply + off;
	fields[k] = NULL;

	if (strcmp(fields[0], "exec") == 0 && k >= 3 && fields[1][0] == '/') {
		execv(fields[1], fields + 2);
		fail(c, errno == ENOENT ? 127 : 126, "bulwark: cannot execute %s: %s", fields[1],
		     strerror(errno));
	}
	if (strcmp(fields[0], "exit") == 0 && k == 3) {
		char *end;
		long code = strtol(fields[1], &end, 10);
		if (*fields[1] && !*end && code >= 0 && code <= 255) {
			/* The service already wrote the --log line; stderr is ours to write. */
			if (*fields[2]) {
				ssize_t unused = write(STDERR_FILENO, fields[2], strlen(fields[2]));
				(void)unused;
			}
			exit((int)code);
		}
	}
	free(fields);
	free(reply);
	return; /* "cold", or a reply this launcher does not understand */
cold:
	close(fd);
}

/* ---- the two hand-overs ---- */

static __attribute__((noreturn)) void to_engine(const struct call *c, int argc, char **argv)
{
	const char *node = getenv("BULWARK_NODE");
	if (!node || !*node)
		node = BULWARK_NODE_PATH;

	char engine_buf[PATH_MAX];
	const char *engine = getenv("BULWARK_ENGINE");
	if (!engine || !*engine) {
		/* <repo>/bin/bulwark-runtime -> <repo>/dist/src/runtime/main.js. /proc/self/exe is
		 * the resolved launcher, so per-profile symlinks (bulwark-runtime-restricted) work. */
		ssize_t n = readlink("/proc/self/exe", engine_buf, sizeof(engine_buf) - 1);
		if (n <= 0)
			fail(c, 1, "bulwark: cannot resolve /proc/self/exe: %s", strerror(errno));
		engine_buf[n] = '\0';
		for (int up = 0; up < 2; up++) {
			char *slash = strrchr(engine_buf, '/');
			if (!slash || slash == engine_buf)
				fail(c, 1, "bulwark: cannot locate the engine from %s", engine_buf);
			*slash = '\0';
		}
		const char *rel = "/dist/src/runtime/main.js";
		if (strlen(engine_buf) + strlen(rel) >= sizeof(engine_buf))
			fail(c, 1, "bulwark: engine path too long");
		strcat(engine_buf, rel);
		engine = engine_buf;
	}
	/* Fail closed with a message containerd shows, rather than Node's "Cannot find module". */
	if (access(engine, R_OK) != 0)
		fail(c, 1, "bulwark: engine %s is not readable (%s); run make build", engine,
		     strerror(errno));

	char **args = malloc(sizeof(char *) * ((size_t)argc + 4));
	if (!args)
		fail(c, 1, "bulwark: out of memory");
	int k = 0;
	args[k++] = (char *)node;
	args[k++] = (char *)"--no-warnings";
	args[k++] = (char *)engine;
	for (int i = 1; i < argc; i++)
		args[k++] = argv[i];
	args[k] = NULL;

	if (setenv("BULWARK_LAUNCHER_ARGV0", argv[0], 1) != 0)
		fail(c, 1, "bulwark: setenv: %s", strerror(errno));
	execv(node, args);
	fail(c, errno == ENOENT ? 127 : 126, "bulwark: cannot execute node %s: %s", node,
	     strerror(errno));
}

static __attribute__((noreturn)) void exec_runtime(const struct call *c, char **extra, int nextra,
						    int argc, char **argv, const char *origin)
{
	char *small[SMALL_ARGS + RECORD_ARGS + 1];
	size_t need = (size_t)argc + (size_t)nextra + 1;
	char **args = need <= sizeof(small) / sizeof(small[0]) ? small : malloc(sizeof(char *) * need);
	if (!args)
		fail(c, 1, "bulwark: out of memory");
	int k = 0;
	for (int i = 0; i < nextra; i++)
		args[k++] = extra[i];
	for (int i = 1; i < argc; i++)
		args[k++] = argv[i];
	args[k] = NULL;

	execv(extra[0], args);
	if (errno == ENOENT || errno == ENOTDIR)
		fail(c, 127, "bulwark: no low-level runtime found (looked in %s, from %s)", extra[0],
		     origin);
	fail(c, 126, "bulwark: cannot execute %s (from %s): %s", extra[0], origin, strerror(errno));
}

static __attribute__((noreturn)) void bad_record(const struct call *c, const char *path, int n)
{
	fail(c, 1, "bulwark: cannot use runtime record %s: %s", path,
	     n == -2 ? "malformed (want NUL-terminated strings, the first an absolute path)"
		     : strerror(errno));
}

static __attribute__((noreturn)) void pass_through(const struct call *c, int argc, char **argv)
{
	static char buf[RECORD_MAX];
	char *args[RECORD_ARGS];
	char dir_buf[PATH_MAX], path[PATH_MAX];
	const char *dir = state_dir(dir_buf, sizeof(dir_buf));
	int n;

	char key[NAME_MAX + 1];
	if (safe_id(c->id) && root_key(c->root, key, sizeof(key))) {
		if (snprintf(path, sizeof(path), "%s/containers/%s/%s/runtime.argv", dir, key,
			     c->id) >= (int)sizeof(path))
			fail(c, 1, "bulwark: state path too long for container %s", c->id);
		n = load_record(path, buf, sizeof(buf), args);
		if (n > 0)
			exec_runtime(c, args, n, argc, argv, path);
		if (n < 0)
			bad_record(c, path, n);
	}

	if (snprintf(path, sizeof(path), "%s/default-runtime.argv", dir) >= (int)sizeof(path))
		fail(c, 1, "bulwark: state path too long");
	n = load_record(path, buf, sizeof(buf), args);
	if (n > 0)
		exec_runtime(c, args, n, argc, argv, path);
	if (n < 0)
		bad_record(c, path, n);

	/* No record: the first runc that exists. execv itself is the existence test. */
	for (size_t i = 0; i < sizeof(runc_paths) / sizeof(runc_paths[0]); i++) {
		argv[0] = (char *)runc_paths[i];
		execv(runc_paths[i], argv);
		if (errno != ENOENT && errno != ENOTDIR)
			fail(c, 126, "bulwark: cannot execute %s: %s", runc_paths[i], strerror(errno));
	}
	fail(c, 127, "bulwark: no low-level runtime found (looked in %s, %s, %s, %s, %s)", path,
	     runc_paths[0], runc_paths[1], runc_paths[2], runc_paths[3]);
}

/*
 * The runc shim runs its runtime by the bare name "runc", so shim mode puts
 * libexec/bulwark/<profile>/ first on its PATH, where `runc` is a link to this launcher. The
 * profile is then only in the path the caller executed (AT_EXECFN, which the kernel keeps for
 * us), not in argv[0]: name ourselves bulwark-runtime-<profile>, the name the engine takes the
 * profile from. Anything else keeps argv[0] as it came.
 */
static char *profile_argv0(char *argv0, char *buf, size_t cap)
{
	const char *fn = (const char *)getauxval(AT_EXECFN);
	static const char dir[] = "libexec/bulwark/", file[] = "/runc";
	size_t len = fn ? strlen(fn) : 0;
	if (len < sizeof(file) || strcmp(fn + len - (sizeof(file) - 1), file) != 0)
		return argv0;
	/* fn is [.../]libexec/bulwark/<profile>/runc: find <profile> from the end. */
	const char *end = fn + len - (sizeof(file) - 1), *start = end;
	while (start > fn && start[-1] != '/')
		start--;
	size_t plen = (size_t)(end - start), dlen = sizeof(dir) - 1;
	if (!is_profile_name(start, plen) || (size_t)(start - fn) < dlen ||
	    strncmp(start - dlen, dir, dlen) != 0 || (start - dlen > fn && start[-dlen - 1] != '/'))
		return argv0;
	int n = snprintf(buf, cap, "bulwark-runtime-%.*s", (int)plen, start);
	return n > 0 && (size_t)n < cap ? buf : argv0;
}

int main(int argc, char **argv)
{
	struct call c;
	if (argc < 1)
		return 2;
	char name_buf[128];
	argv[0] = profile_argv0(argv[0], name_buf, sizeof(name_buf));
	scan(argc, argv, &c);
	if (c.engine) {
		try_service(&c, argc, argv);
		to_engine(&c, argc, argv);
	}
	pass_through(&c, argc, argv);
}
