/*
 * Programs started for a connection (harbor_conn_spawn), as exec starts
 * them: a socket pair for the program's standard input and output, whose
 * other end the caller relays; a pipe from its standard error into the
 * log (children.c); nothing else of the server's open in it.
 *
 * Two ways to start it.  posix_spawn, where the platform can close every
 * other descriptor in the child (glibc's and FreeBSD's closefrom action):
 * it does not copy the server's address space, which makes it several
 * times cheaper than fork, and says at once whether the exec worked.
 * fork, for a program run as another user, and where posix_spawn cannot
 * close descriptors: between fork and exec the child may only make
 * async-signal-safe calls (other threads may hold locks it would wait on
 * forever), so everything it needs is built before; whether the exec
 * worked comes back through a close-on-exec pipe, so a missing program or
 * a failed setuid is reported with its reason.  Either way the child has
 * default signal actions, nothing blocked, and a process group of its own
 * (a Ctrl-C meant for the server in a terminal does not reach it; the
 * group is what harbor_conn_kill signals).
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

#include "core.h"

#ifndef NSIG
#define NSIG	65
#endif

#if defined(HAVE_SPAWN_H) && HAVE_DECL_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
#define SPAWN_POSIX	1
#endif

/* What failed in the child, with errno, sent through the status pipe. */
enum spawn_stage {
	STAGE_SETUP,
	STAGE_GROUP,
	STAGE_USER,
	STAGE_EXEC
};

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
spawn_in_child(const struct harbor_spawn *sp, long max_fd, int sock,
    int errw, int status)
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
	close_from(4, max_fd);
	if (sp->gid != -1) {
		report[0] = STAGE_GROUP;
		gid = (gid_t)sp->gid;
		if (setgroups(1, &gid) == -1 || setgid(gid) == -1)
			goto fail;
	}
	if (sp->uid != -1) {
		report[0] = STAGE_USER;
		if (setuid((uid_t)sp->uid) == -1)
			goto fail;
	}
	report[0] = STAGE_EXEC;
	(void)execve(sp->argv[0], sp->argv, sp->envp);
fail:
	report[1] = errno;
	if (write(report_fd, report, sizeof report) == -1)
		_exit(126);
	_exit(127);
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

#ifdef SPAWN_POSIX
/* Starts the child with posix_spawn: 0 and 1 the socket, 2 the stderr
 * pipe, nothing else open.  Returns its pid, or -1 with the error in *err
 * (the exec's own, such as ENOENT, included). */
static pid_t
spawn_posix(const struct harbor_spawn *sp, int sock, int errw, int *err)
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
		r = posix_spawn(&pid, sp->argv[0], &fa, &at, sp->argv,
		    sp->envp);
	(void)posix_spawnattr_destroy(&at);
	(void)posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		*err = r;
		return -1;
	}
	return pid;
}
#endif

/* The first version's spawn ends with its gid. */
#define SPAWN_V1_SIZE	(offsetof(struct harbor_spawn, gid) + \
			 sizeof(((struct harbor_spawn *)NULL)->gid))

/* The caller's end of the program's socket, ready to relay. */
static void
give_socket(int *end, harbor_socket_t *sock)
{
	(void)evutil_make_socket_nonblocking(*end);
	compat_socket_nosigpipe(*end);
	*sock = *end;
	*end = -1;
}

static void
close_all(int *fds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			(void)close(fds[i]);
}

/* A program another process starts (harbor_spawner): the same pipes, the
 * child's ends passed on; the table stays locked until it is entered, so
 * that its end, told on the main loop, finds it. */
static pid_t
spawn_remote(struct harbor_conn *c, const struct harbor_spawn *sp,
    harbor_socket_t *sock, char *why, size_t whylen)
{
	struct harbor_service	*svc = c->svc;
	struct conn_host	*host = svc->host;
	int			 sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, i;
	pid_t			 pid = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 || pipe(ep) == -1) {
		snprintf(why, whylen, "cannot make its pipes: %s",
		    strerror(errno));
		goto out;
	}
	for (i = 0; i < 2; i++) {
		(void)evutil_make_socket_closeonexec(sv[i]);
		(void)evutil_make_socket_closeonexec(ep[i]);
	}
	children_lock(host);
	pid = host->spawner.spawn(host->spawner.arg, svc->name, sp, sv[1],
	    ep[1], why, whylen);
	(void)close(sv[1]);
	(void)close(ep[1]);
	sv[1] = ep[1] = -1;
	if (pid <= 0) {
		children_unlock(host);
		pid = -1;
		goto out;
	}
	(void)evutil_make_socket_nonblocking(ep[0]);
	if (children_add_locked(host, pid, svc, c->id, ep[0],
	    c->ticket.child, 1) == 0)
		c->ticket.child = 0;
	else
		log_err("service %s: pid %ld: out of memory; its end will not "
		    "be seen", svc->name, (long)pid);
	ep[0] = -1;
	children_unlock(host);
	give_socket(&sv[0], sock);
out:
	close_all(sv, 2);
	close_all(ep, 2);
	return pid;
}

pid_t
harbor_conn_spawn(struct harbor_conn *c, const struct harbor_spawn *sp,
    harbor_socket_t *sock, char *why, size_t whylen)
{
	struct harbor_service	*svc = c->svc;
	struct conn_host	*host = svc->host;
	int			 sv[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int			 st[2] = { -1, -1 }, report[2], i, err = 0;
	int			 by_fork = 1;
	ssize_t			 n;
	size_t			 got = 0;
	long			 max_fd;
	pid_t			 pid = -1;

	if (sp == NULL || sp->size < SPAWN_V1_SIZE || sp->argv == NULL ||
	    sp->argv[0] == NULL || sp->argv[0][0] != '/' || sp->envp == NULL) {
		snprintf(why, whylen, "a program to start needs its absolute "
		    "path and an environment");
		return -1;
	}
	if (!(svc->handler->flags & HARBOR_HANDLER_CHILDREN) ||
	    host->children == NULL) {
		snprintf(why, whylen, "handler %s does not start programs "
		    "(HARBOR_HANDLER_CHILDREN)", svc->handler->name);
		return -1;
	}
	if (host->spawner.spawn != NULL && (sp->uid != -1 || sp->gid != -1))
		return spawn_remote(c, sp, sock, why, whylen);
	max_fd = sysconf(_SC_OPEN_MAX);
	if (max_fd < 0 || max_fd > 1024 * 1024)
		max_fd = 1024 * 1024;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 || pipe(ep) == -1) {
		snprintf(why, whylen, "cannot make its pipes: %s",
		    strerror(errno));
		goto out;
	}
#ifdef SPAWN_POSIX
	/* The dup2 actions need the child's ends clear of 0 to 2. */
	by_fork = sp->uid != -1 || sp->gid != -1 || sv[1] < 3 || ep[1] < 3;
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
	children_lock(host);
#ifdef SPAWN_POSIX
	if (!by_fork)
		pid = spawn_posix(sp, sv[1], ep[1], &err);
	else
#endif
	if ((pid = fork()) == 0)
		spawn_in_child(sp, max_fd, sv[1], ep[1], st[1]);
	else if (pid == -1)
		err = errno;
	else
		/* The child does this too; whichever is first, the group
		 * is there before anyone signals it. */
		(void)setpgid(pid, pid);
	if (pid == -1) {
		children_unlock(host);
		if (by_fork)
			snprintf(why, whylen, "cannot fork: %s", strerror(err));
		else
			snprintf(why, whylen, "cannot run %s: %s",
			    sp->argv[0], strerror(err));
		goto out;
	}
	/* Its standard error's end is the child's alone before it can be
	 * reaped (the table is unlocked below): its exit is then the pipe's
	 * end, and the reaping reads all it wrote. */
	(void)close(ep[1]);
	ep[1] = -1;
	(void)evutil_make_socket_nonblocking(ep[0]);
	if (children_add_locked(host, pid, svc, c->id, ep[0],
	    c->ticket.child, 0) == 0)
		c->ticket.child = 0;	/* the child has the place now */
	else
		log_err("service %s: pid %ld: out of memory; it will not be "
		    "reaped", svc->name, (long)pid);
	ep[0] = -1;
	children_unlock(host);
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
			    stage_text(report[0]), sp->argv[0],
			    strerror(report[1]));
			pid = -1;
			goto out;
		}
	}
	give_socket(&sv[0], sock);
out:
	close_all(sv, 2);
	close_all(ep, 2);
	close_all(st, 2);
	return pid;
}

int
harbor_conn_kill(struct harbor_conn *c, pid_t pid, int sig)
{
	if (c->svc->host->children == NULL)
		return -1;
	return children_signal(c->svc->host, pid, sig);
}

#else /* _WIN32 */

#include <stdio.h>

#include "core.h"

pid_t
harbor_conn_spawn(struct harbor_conn *c, const struct harbor_spawn *sp,
    harbor_socket_t *sock, char *why, size_t whylen)
{
	(void)c;
	(void)sp;
	(void)sock;
	snprintf(why, whylen, "programs cannot be started for a client on "
	    "Windows: a Windows program cannot use a socket as its standard "
	    "input and output");
	return -1;
}

int
harbor_conn_kill(struct harbor_conn *c, pid_t pid, int sig)
{
	(void)c;
	(void)pid;
	(void)sig;
	return -1;
}

#endif
