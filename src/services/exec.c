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
 * Between fork and exec the child may only make async-signal-safe calls
 * (other threads may hold locks it would wait on forever): everything it
 * needs, the environment included, is built before the fork.  Whether the
 * exec worked comes back through a close-on-exec pipe, so a missing
 * program or a failed setuid is logged with its reason.
 */
#include "autoconfig.h"

#ifndef _WIN32

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#include "harbor-internal.h"

#ifndef NSIG
#define NSIG	65
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
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	static const uint8_t	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };
	char			text[INET6_ADDRSTRLEN] = "";
	unsigned		p = 0;

	if (ss->ss_family == AF_INET6 &&
	    memcmp(&s6->sin6_addr, mapped, sizeof mapped) == 0) {
		(void)evutil_inet_ntop(AF_INET,
		    (const uint8_t *)&s6->sin6_addr + 12, text, sizeof text);
		p = ntohs(s6->sin6_port);
	} else if (ss->ss_family == AF_INET6) {
		(void)evutil_inet_ntop(AF_INET6, &s6->sin6_addr, text,
		    sizeof text);
		p = ntohs(s6->sin6_port);
	} else if (ss->ss_family == AF_INET) {
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
	(void)setsid();

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

/* Forks the child; returns its pid and the relay's end of the socket in
 * *sock, or -1 with why. */
static pid_t
exec_spawn(struct harbor_conn *c, int *sock, char *why, size_t whylen)
{
	struct harbor_service	*svc = c->svc;
	struct harbor_server	*srv = svc->server;
	char			 ucspi[UCSPI_VARS][UCSPI_LEN];
	char			**envp;
	int			 sv[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int			 st[2] = { -1, -1 }, report[2], i;
	ssize_t			 n;
	size_t			 got = 0;
	pid_t			 pid = -1;

	if ((envp = exec_environment(c, ucspi)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 || pipe(ep) == -1 ||
	    pipe(st) == -1) {
		snprintf(why, whylen, "cannot make its pipes: %s",
		    strerror(errno));
		goto out;
	}
	/* Another thread's fork must not carry these off. */
	for (i = 0; i < 2; i++) {
		(void)evutil_make_socket_closeonexec(sv[i]);
		(void)evutil_make_socket_closeonexec(ep[i]);
		(void)evutil_make_socket_closeonexec(st[i]);
	}
	children_lock(srv);
	if ((pid = fork()) == 0)
		exec_child(svc, svc->state, envp, sv[1], ep[1], st[1]);
	if (pid == -1) {
		children_unlock(srv);
		snprintf(why, whylen, "cannot fork: %s", strerror(errno));
		goto out;
	}
	(void)evutil_make_socket_nonblocking(ep[0]);
	if (children_add_locked(srv, pid, svc, c->id, ep[0]) == 0)
		c->child_slot = 0;	/* the child has the place now */
	else
		log_err("service %s: pid %ld: out of memory; it will not be "
		    "reaped", svc->name, (long)pid);
	ep[0] = -1;
	children_unlock(srv);
	(void)close(st[1]);
	st[1] = -1;
	/* The status pipe closes at the exec; a report says what failed. */
	while (got < sizeof report) {
		n = read(st[0], (char *)report + got, sizeof report - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == sizeof report) {
		snprintf(why, whylen, "%s %s: %s", stage_text(report[0]),
		    svc->exec_argv[0], strerror(report[1]));
		pid = -1;
		goto out;
	}
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
	struct bufferevent	*bev;
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
	bev = bufferevent_socket_new(c->loop->base, sock,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		(void)close(sock);
		relay_fail(ec->relay, "out of memory");
		return;
	}
	relay_backend_ready(ec->relay, bev);
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
	.name = "exec",
	.service_init = exec_init,
	.service_free = exec_free,
	.open = exec_open,
	.close = exec_close,
};

#else /* _WIN32: harbor_service_new_exec() says why there is no exec */

#include "harbor-internal.h"

const struct harbor_handler handler_exec = {
	.name = "exec",
};

#endif
