/*
 * exec PROGRAM [ARG...]: a program per client, as inetd's "nowait" and
 * tcpserver run them.
 *
 * The child's standard input and output are one end of a socket pair
 * (both fds 0 and 1, as inetd gives the socket itself); harbord relays the
 * other end to the client (relay.c), so limits, timeouts, byte counts and
 * a PROXY header already read all work as for any service.  Its standard
 * error is a pipe into the log (children.c).  Nothing else of harbord's
 * is open in it.
 *
 * Two ways to start it.  posix_spawn, where the platform can close every
 * other descriptor in the child (glibc's and FreeBSD's closefrom action):
 * it does not copy harbord's address space, which makes it several times
 * cheaper than fork, and says at once whether the exec worked.  fork, for
 * a service that runs its program as another user, and where posix_spawn
 * cannot close descriptors: between fork and exec the child may only make
 * async-signal-safe calls (other threads may hold locks it would wait on
 * forever), so everything it needs, the environment included, is built
 * before; whether the exec worked comes back through a close-on-exec pipe,
 * so a missing program or a failed setuid is logged with its reason.
 * Either way the child has default signal actions, nothing blocked, and a
 * process group of its own (a Ctrl-C meant for harbord in a terminal does
 * not reach it).
 */
/* glibc declares posix_spawn_file_actions_addclosefrom_np for this. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "autoconfig.h"

#ifndef _WIN32

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#ifdef HAVE_SPAWN_H
#include <spawn.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harbor-internal.h"

#ifndef NSIG
#define NSIG	65
#endif

#if defined(HAVE_SPAWN_H) && HAVE_DECL_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
#define EXEC_POSIX_SPAWN	1
#endif

/* What failed in the child, with errno, sent through the status pipe. */
enum exec_stage {
	STAGE_SETUP,
	STAGE_GROUP,
	STAGE_USER,
	STAGE_EXEC
};

struct exec_state {
	long	max_fd;		/* highest fd to close without closefrom */
};

struct exec_conn {
	struct relay	*relay;
	pid_t		 pid;
};

#define UCSPI_VARS	6
#define UCSPI_LEN	(sizeof "TCPREMOTEIP=" + INET6_ADDRSTRLEN)

static int
exec_init(struct harbor_service *svc, void **state, char *err, size_t errlen)
{
	struct exec_state	*st;

	if (access(svc->exec_argv[0], X_OK) == -1) {
		snprintf(err, errlen, "cannot run %s: %s", svc->exec_argv[0],
		    strerror(errno));
		return -1;
	}
	if ((st = calloc(1, sizeof *st)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->max_fd = sysconf(_SC_OPEN_MAX);
	if (st->max_fd < 0 || st->max_fd > 1024 * 1024)
		st->max_fd = 1024 * 1024;
	*state = st;
	return 0;
}

static void
exec_free(void *state)
{
	free(state);
}

/* "TCPREMOTEIP=192.0.2.1" and "TCPREMOTEPORT=51234" for an address, an
 * IPv4-mapped one written as IPv4. */
static void
ucspi_address(const struct sockaddr_storage *ss, const char *ipvar,
    const char *portvar, char *ip, char *port)
{
	struct sockaddr_in	 v4;
	const struct sockaddr	*sa = addr_unmapped((const struct sockaddr *)ss,
				    &v4);
	char			 text[INET6_ADDRSTRLEN] = "";
	unsigned		 p = 0;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		(void)evutil_inet_ntop(AF_INET6, &s6->sin6_addr, text,
		    sizeof text);
		p = ntohs(s6->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		(void)evutil_inet_ntop(AF_INET, &s4->sin_addr, text,
		    sizeof text);
		p = ntohs(s4->sin_port);
	}
	snprintf(ip, UCSPI_LEN, "%s=%s", ipvar, text);
	snprintf(port, UCSPI_LEN, "%s=%u", portvar, p);
}

static void
close_from(int lowfd, long max_fd)
{
#ifdef HAVE_CLOSEFROM
	(void)max_fd;
	closefrom(lowfd);
#else
	long	fd;

	for (fd = lowfd; fd < max_fd; fd++)
		(void)close((int)fd);
#endif
}

/* In the child: async-signal-safe calls only. */
static void
exec_child(const struct harbor_service *svc, const struct exec_state *st,
    char *const *envp, int sock, int errw, int status)
{
	struct sigaction	sa;
	sigset_t		none;
	int			sig, fd[3], report[2], report_fd = status;
	gid_t			gid;

	/* Default dispositions (harbord ignores SIGPIPE) and nothing
	 * blocked (the thread that forked blocks everything). */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	(void)sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setpgid(0, 0);

	report[0] = STAGE_SETUP;
	/* Out of the way of 0 to 3 first, then into place. */
	if ((fd[0] = fcntl(sock, F_DUPFD, 4)) == -1 ||
	    (fd[1] = fcntl(errw, F_DUPFD, 4)) == -1 ||
	    (fd[2] = fcntl(status, F_DUPFD, 4)) == -1 ||
	    dup2(fd[2], 3) == -1 || fcntl(3, F_SETFD, FD_CLOEXEC) == -1)
		goto fail;
	report_fd = 3;
	if (dup2(fd[0], 0) == -1 || dup2(fd[0], 1) == -1 ||
	    dup2(fd[1], 2) == -1)
		goto fail;
	close_from(4, st->max_fd);
	if (svc->exec_gid != -1) {
		report[0] = STAGE_GROUP;
		gid = (gid_t)svc->exec_gid;
		if (setgroups(1, &gid) == -1 || setgid(gid) == -1)
			goto fail;
	}
	if (svc->exec_uid != -1) {
		report[0] = STAGE_USER;
		if (setuid((uid_t)svc->exec_uid) == -1)
			goto fail;
	}
	report[0] = STAGE_EXEC;
	(void)execve(svc->exec_argv[0], svc->exec_argv, envp);
fail:
	report[1] = errno;
	if (write(report_fd, report, sizeof report) == -1)
		_exit(126);
	_exit(127);
}

/* The environment: UCSPI's for this connection, then the service's. */
static char **
exec_environment(struct harbor_conn *c, char (*ucspi)[UCSPI_LEN])
{
	struct harbor_service	*svc = c->svc;
	struct sockaddr_storage	 peer, local;
	char			**envp;
	size_t			 i, n = 0;

	if (conn_addresses(c, &peer, &local) == -1)
		memset(&local, 0, sizeof local);
	if ((envp = calloc(UCSPI_VARS + svc->nexec_env + 1,
	    sizeof *envp)) == NULL)
		return NULL;
	snprintf(ucspi[0], UCSPI_LEN, "PROTO=TCP");
	ucspi_address(&local, "TCPLOCALIP", "TCPLOCALPORT", ucspi[1],
	    ucspi[2]);
	ucspi_address(&peer, "TCPREMOTEIP", "TCPREMOTEPORT", ucspi[3],
	    ucspi[4]);
	snprintf(ucspi[5], UCSPI_LEN, "TCPCONNNUM=%u",
	    limits_active(svc->limits));
	for (i = 0; i < UCSPI_VARS; i++)
		envp[n++] = ucspi[i];
	for (i = 0; i < svc->nexec_env; i++)
		envp[n++] = svc->exec_env[i];
	envp[n] = NULL;
	return envp;
}

static const char *
stage_text(int stage)
{
	switch (stage) {
	case STAGE_GROUP:
		return "cannot switch to its group";
	case STAGE_USER:
		return "cannot switch to its user";
	case STAGE_EXEC:
		return "cannot run";
	default:
		return "cannot set up";
	}
}

#ifdef EXEC_POSIX_SPAWN
/* Starts the child with posix_spawn: 0 and 1 the socket, 2 the stderr
 * pipe, nothing else open.  Returns its pid, or -1 with the error in *err
 * (the exec's own, such as ENOENT, included). */
static pid_t
spawn_child(const struct harbor_service *svc, char **envp, int sock,
    int errw, int *err)
{
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		at;
	sigset_t			none, all;
	pid_t				pid = -1;
	int				r;

	if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
		*err = r;
		return -1;
	}
	if ((r = posix_spawnattr_init(&at)) != 0) {
		(void)posix_spawn_file_actions_destroy(&fa);
		*err = r;
		return -1;
	}
	(void)sigemptyset(&none);
	(void)sigfillset(&all);
	if ((r = posix_spawn_file_actions_adddup2(&fa, sock, 0)) == 0 &&
	    (r = posix_spawn_file_actions_adddup2(&fa, sock, 1)) == 0 &&
	    (r = posix_spawn_file_actions_adddup2(&fa, errw, 2)) == 0 &&
	    (r = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
	    (r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)) == 0 &&
	    (r = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (r = posix_spawnattr_setsigdefault(&at, &all)) == 0 &&
	    (r = posix_spawnattr_setpgroup(&at, 0)) == 0)
		r = posix_spawn(&pid, svc->exec_argv[0], &fa, &at,
		    svc->exec_argv, envp);
	(void)posix_spawnattr_destroy(&at);
	(void)posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		*err = r;
		return -1;
	}
	return pid;
}
#endif

/* Starts the child; returns its pid and the relay's end of the socket in
 * *sock, or -1 with why. */
static pid_t
exec_spawn(struct harbor_conn *c, int *sock, char *why, size_t whylen)
{
	struct harbor_service	*svc = c->svc;
	struct harbor_server	*srv = svc->server;
	char			 ucspi[UCSPI_VARS][UCSPI_LEN];
	char			**envp;
	int			 sv[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int			 st[2] = { -1, -1 }, report[2], i, err = 0;
	int			 by_fork = 1;
	ssize_t			 n;
	size_t			 got = 0;
	pid_t			 pid = -1;

	if ((envp = exec_environment(c, ucspi)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 || pipe(ep) == -1) {
		snprintf(why, whylen, "cannot make its pipes: %s",
		    strerror(errno));
		goto out;
	}
#ifdef EXEC_POSIX_SPAWN
	/* The dup2 actions need the child's ends clear of 0 to 2. */
	by_fork = svc->exec_uid != -1 || svc->exec_gid != -1 || sv[1] < 3 ||
	    ep[1] < 3;
#endif
	if (by_fork && pipe(st) == -1) {
		snprintf(why, whylen, "cannot make its pipes: %s",
		    strerror(errno));
		goto out;
	}
	/* Another thread's fork must not carry these off. */
	for (i = 0; i < 2; i++) {
		(void)evutil_make_socket_closeonexec(sv[i]);
		(void)evutil_make_socket_closeonexec(ep[i]);
		if (st[i] != -1)
			(void)evutil_make_socket_closeonexec(st[i]);
	}
	children_lock(srv);
#ifdef EXEC_POSIX_SPAWN
	if (!by_fork)
		pid = spawn_child(svc, envp, sv[1], ep[1], &err);
	else
#endif
	if ((pid = fork()) == 0)
		exec_child(svc, svc->state, envp, sv[1], ep[1], st[1]);
	else if (pid == -1)
		err = errno;
	else
		/* The child does this too; whichever is first, the group
		 * is there before anyone signals it. */
		(void)setpgid(pid, pid);
	if (pid == -1) {
		children_unlock(srv);
		if (by_fork)
			snprintf(why, whylen, "cannot fork: %s", strerror(err));
		else
			snprintf(why, whylen, "cannot run %s: %s",
			    svc->exec_argv[0], strerror(err));
		goto out;
	}
	(void)evutil_make_socket_nonblocking(ep[0]);
	if (children_add_locked(srv, pid, svc, c->id, ep[0]) == 0)
		c->ticket.child = 0;	/* the child has the place now */
	else
		log_err("service %s: pid %ld: out of memory; it will not be "
		    "reaped", svc->name, (long)pid);
	ep[0] = -1;
	children_unlock(srv);
	if (by_fork) {
		(void)close(st[1]);
		st[1] = -1;
		/* The status pipe closes at the exec; a report says what
		 * failed. */
		while (got < sizeof report) {
			n = read(st[0], (char *)report + got,
			    sizeof report - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got == sizeof report) {
			snprintf(why, whylen, "%s %s: %s",
			    stage_text(report[0]), svc->exec_argv[0],
			    strerror(report[1]));
			pid = -1;
			goto out;
		}
	}
	compat_socket_nosigpipe(sv[0]);
	*sock = sv[0];
	sv[0] = -1;
out:
	for (i = 0; i < 2; i++) {
		if (sv[i] != -1)
			(void)close(sv[i]);
		if (ep[i] != -1)
			(void)close(ep[i]);
		if (st[i] != -1)
			(void)close(st[i]);
	}
	free(envp);
	return pid;
}

static void
exec_open(struct harbor_conn *c)
{
	struct exec_conn	*ec;
	char			 why[sizeof c->detail];
	int			 sock;

	if ((ec = calloc(1, sizeof *ec)) == NULL ||
	    (ec->relay = relay_new(c, 1)) == NULL) {
		free(ec);
		conn_end(c, CLOSE_DETAIL, "out of memory");
		return;
	}
	harbor_conn_set_data(c, ec);
	if ((ec->pid = exec_spawn(c, &sock, why, sizeof why)) == -1) {
		log_err("service %s: conn %llu: %s", c->svc->name,
		    (unsigned long long)c->id, why);
		relay_fail(ec->relay, why);
		return;
	}
	log_info("service %s: conn %llu: started pid %ld: %s", c->svc->name,
	    (unsigned long long)c->id, (long)ec->pid, c->svc->exec_argv[0]);
	(void)evutil_make_socket_nonblocking(sock);
	(void)relay_backend_ready(ec->relay, sock, NULL, 0);
}

static void
exec_close(struct harbor_conn *c)
{
	struct exec_conn	*ec = harbor_conn_get_data(c);

	if (ec == NULL)
		return;
	relay_free(ec->relay);
	/* Cut off early (a timeout, a reset, a shutdown): the child is told
	 * to stop, unless it has already been reaped. */
	if (ec->pid > 0 && c->reason != CLOSE_DONE)
		children_signal(c->svc->server, ec->pid, SIGTERM);
	free(ec);
}

const struct harbor_handler handler_exec = {
	HARBOR_HANDLER_V1,
	.name = "exec",
	.flags = HARBOR_HANDLER_INLINE_ONLY | HARBOR_HANDLER_CHILDREN,
	.service_init = exec_init,
	.service_free = exec_free,
	.open = exec_open,
	.close = exec_close,
};

#else /* _WIN32: harbor_service_new_exec() says why there is no exec */

#include "harbor-internal.h"

const struct harbor_handler handler_exec = {
	HARBOR_HANDLER_V1,
	.name = "exec",
	.flags = HARBOR_HANDLER_INLINE_ONLY | HARBOR_HANDLER_CHILDREN,
};

#endif

/* --- the exec service's API (harbor.h) ------------------------------------ */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
struct harbor_service *
harbor_service_new_exec(const char *name, const char *const *argv,
    char *err, size_t errlen)
{
	(void)name;
	(void)argv;
	snprintf(err, errlen, "exec is not available on Windows: it hands "
	    "the client's socket to a child process as its standard input "
	    "and output, which Windows programs cannot use");
	return NULL;
}
#else
struct harbor_service *
harbor_service_new_exec(const char *name, const char *const *argv,
    char *err, size_t errlen)
{
	struct harbor_service	*svc = NULL;
	size_t			 n, i;

	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/') {
		snprintf(err, errlen, "exec needs the program's absolute path "
		    "(there is no PATH search)");
		return NULL;
	}
	for (n = 0; argv[n] != NULL; n++)
		;
	if ((svc = harbor_service_new(name, &handler_exec)) == NULL ||
	    (svc->exec_argv = calloc(n + 1, sizeof *svc->exec_argv)) == NULL ||
	    (svc->exec_env = calloc(1, sizeof *svc->exec_env)) == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		if ((svc->exec_argv[i] = strdup(argv[i])) == NULL)
			goto nomem;
	return svc;
nomem:
	harbor_service_free(svc);
	snprintf(err, errlen, "out of memory");
	return NULL;
}
#endif

static int
not_exec(const struct harbor_service *svc, char *err, size_t errlen)
{
	if (svc->handler == &handler_exec)
		return 0;
	snprintf(err, errlen, "service '%s' does not exec a program",
	    svc->name);
	return 1;
}

/* The names exec sets itself for each connection. */
static const char *const ucspi_names[] = {
	"PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT",
	"TCPCONNNUM", NULL
};

int
harbor_service_exec_setenv(struct harbor_service *svc, const char *nv,
    char *err, size_t errlen)
{
	const char	*eq = strchr(nv, '=');
	char		**grown, *copy;
	size_t		 len, i;

	if (not_exec(svc, err, errlen))
		return -1;
	if (eq == NULL || eq == nv) {
		snprintf(err, errlen, "bad environment entry '%s' (expected "
		    "NAME=VALUE)", nv);
		return -1;
	}
	len = (size_t)(eq - nv);
	for (i = 0; ucspi_names[i] != NULL; i++)
		if (strlen(ucspi_names[i]) == len &&
		    strncmp(ucspi_names[i], nv, len) == 0) {
			snprintf(err, errlen, "%s is set for each connection "
			    "and cannot be given", ucspi_names[i]);
			return -1;
		}
	/* A name given again takes the later value. */
	for (i = 0; i < svc->nexec_env; i++)
		if (strncmp(svc->exec_env[i], nv, len + 1) == 0) {
			if ((copy = strdup(nv)) == NULL)
				goto nomem;
			free(svc->exec_env[i]);
			svc->exec_env[i] = copy;
			return 0;
		}
	grown = realloc(svc->exec_env, (svc->nexec_env + 2) * sizeof *grown);
	if (grown == NULL)
		goto nomem;
	svc->exec_env = grown;
	if ((grown[svc->nexec_env] = strdup(nv)) == NULL)
		goto nomem;
	grown[++svc->nexec_env] = NULL;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
harbor_service_exec_credentials(struct harbor_service *svc, long uid,
    long gid, char *err, size_t errlen)
{
	if (not_exec(svc, err, errlen))
		return -1;
	svc->exec_uid = uid;
	svc->exec_gid = gid;
	return 0;
}

int
harbor_service_exec_stderr_limits(struct harbor_service *svc,
    unsigned bytes_per_sec, size_t line_max, char *err, size_t errlen)
{
	if (not_exec(svc, err, errlen))
		return -1;
	if (line_max < 16 || line_max > EXEC_STDERR_LINE_MAX) {
		snprintf(err, errlen, "a standard error line of %zu bytes "
		    "(expected 16..%d)", line_max, EXEC_STDERR_LINE_MAX);
		return -1;
	}
	if (bytes_per_sec > HARBOR_EXEC_STDERR_RATE_MAX) {
		snprintf(err, errlen, "a standard error rate of %u bytes a "
		    "second (expected 0..%u)", bytes_per_sec,
		    HARBOR_EXEC_STDERR_RATE_MAX);
		return -1;
	}
	svc->exec_stderr_rate = bytes_per_sec;
	svc->exec_stderr_line_max = line_max;
	return 0;
}
