/*
 * Upgrading the binary without refusing a client (harborctl upgrade,
 * SIGUSR2), as nginx does.  The running harbord starts the program at
 * its own path again (a new binary installed there is what runs) with
 * its listening sockets and its control socket passed as a service
 * manager passes them (LISTEN_FDS, activation.c), and a socket pair to
 * hear from it.  The new harbord takes the sockets for the same addresses
 * (the kernel's queue of each is shared: no client is refused meanwhile)
 * and says "R" once it serves; the old one then lets go of the pid file
 * and the control socket, answers "P", tells a service manager the new
 * main pid, and stops as on SIGTERM: it accepts no more and lets its
 * connections finish.  The new one takes the pid file once it hears "P".
 * A new binary that fails to start, or says nothing within
 * UPGRADE_READY_MS, leaves the old one serving as before.
 */
#include "autoconfig.h"

#ifndef _WIN32

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harbor.h"
#include "harbord.h"
#include "logsink.h"
#include "pidfile.h"
#include "sdnotify.h"
#include "upgrade.h"

extern char	**environ;

#define UPGRADE_ENV	"HARBORD_UPGRADE_FD"
/* How long the new harbord waits for the old one's "P". */
#define HANDOVER_MS	5000

/* A decimal number into buf, for a child between fork and exec (no
 * stdio there). */
static void
put_number(char *buf, long v)
{
	char	tmp[24];
	int	n = 0, i = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
}

pid_t
upgrade_spawn(struct harbord *hd, const struct upgrade_socket *given,
    size_t ngiven, int control_fd, int *sock, char *why, size_t whylen)
{
	struct upgrade_socket	 socks[UPGRADE_SOCKETS_MAX + 1];
	size_t			 n = 0;
	const char	*argv[8], *notify = sdnotify_socket();
	char		**env = NULL, *names = NULL, *pidvar = NULL;
	char		 upfd[64], count[32], notifyvar[160];
	size_t		 i, nenv, namelen = 0;
	int		 sp[2] = { -1, -1 }, argc = 0;
	pid_t		 pid;

	if (ngiven > UPGRADE_SOCKETS_MAX) {
		snprintf(why, whylen, "too many sockets to pass (%zu)", ngiven);
		return -1;
	}
	memcpy(socks, given, ngiven * sizeof *socks);
	n = ngiven;
	if (control_fd != -1) {
		socks[n].fd = control_fd;
		socks[n++].name = UPGRADE_CONTROL_NAME;
	}
	harbor_log(HARBOR_LOG_NOTICE, "upgrading: starting %s with %zu "
	    "listening %s", hd->exe, n, n == 1 ? "socket" : "sockets");
	argv[argc++] = hd->exe;
	if (hd->foreground)
		argv[argc++] = "-d";
	if (hd->verbose)
		argv[argc++] = "-v";
	if (hd->conf_given) {
		argv[argc++] = "-f";
		argv[argc++] = hd->conf_path;
	}
	argv[argc] = NULL;

	/* Everything the child needs, made before the fork: a threaded
	 * process's child may only call what is safe in a signal handler. */
	for (i = 0; i < n; i++)
		namelen += strlen(socks[i].name) + 1;
	for (nenv = 0; environ[nenv] != NULL; nenv++)
		;
	if ((env = calloc(nenv + 6, sizeof *env)) == NULL ||
	    (names = malloc(namelen + 32)) == NULL ||
	    (pidvar = malloc(40)) == NULL) {
		free(env);
		free(names);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	{
		size_t	k = 0, j;

		for (j = 0; j < nenv; j++)
			if (strncmp(environ[j], "LISTEN_", 7) != 0 &&
			    strncmp(environ[j], UPGRADE_ENV "=",
			    sizeof UPGRADE_ENV) != 0 &&
			    strncmp(environ[j], "NOTIFY_SOCKET=", 14) != 0)
				env[k++] = environ[j];
		strcpy(names, "LISTEN_FDNAMES=");
		for (i = 0; i < n; i++) {
			if (i > 0)
				strcat(names, ":");
			strcat(names, socks[i].name);
		}
		snprintf(count, sizeof count, "LISTEN_FDS=%zu", n);
		snprintf(upfd, sizeof upfd, UPGRADE_ENV "=%zu", 3 + n);
		strcpy(pidvar, "LISTEN_PID=");
		env[k++] = count;
		env[k++] = names;
		env[k++] = upfd;
		env[k++] = pidvar;
		/* The service manager hears from it once it is the main
		 * process. */
		if (notify != NULL) {
			snprintf(notifyvar, sizeof notifyvar, "NOTIFY_SOCKET=%s",
			    notify);
			env[k++] = notifyvar;
		}
		env[k] = NULL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1) {
		snprintf(why, whylen, "socketpair: %s", strerror(errno));
		goto fail;
	}
	(void)fcntl(sp[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(sp[0], F_SETFL, O_NONBLOCK);
	switch (pid = fork()) {
	case -1:
		snprintf(why, whylen, "fork: %s", strerror(errno));
		goto fail;
	case 0: {
		int	high = (int)(3 + n + 1), tmp[UPGRADE_SOCKETS_MAX + 1], t;

		/* Out of the way first, then into place: 3 on, the pair's
		 * end after them. */
		for (i = 0; i < n; i++)
			if ((tmp[i] = fcntl(socks[i].fd, F_DUPFD, high)) == -1)
				_exit(71);
		if ((t = fcntl(sp[1], F_DUPFD, high)) == -1)
			_exit(71);
		for (i = 0; i < n; i++)
			if (dup2(tmp[i], (int)(3 + i)) == -1)
				_exit(71);
		if (dup2(t, (int)(3 + n)) == -1)
			_exit(71);
		put_number(pidvar + 11, (long)getpid());
		execve(argv[0], (char *const *)argv, env);
		_exit(127);
	}
	}
	(void)close(sp[1]);
	free(env);
	free(names);
	free(pidvar);
	*sock = sp[0];
	return pid;
fail:
	if (sp[0] != -1) {
		(void)close(sp[0]);
		(void)close(sp[1]);
	}
	free(env);
	free(names);
	free(pidvar);
	return -1;
}

int
upgrade_hear(int sock, char *why, size_t whylen)
{
	char	c;
	ssize_t	r;

	while ((r = read(sock, &c, 1)) == -1 && errno == EINTR)
		;
	if (r == 1 && c == 'R')
		return 1;
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	snprintf(why, whylen, r == 0 ? "the new harbord ended before it "
	    "served (see its messages)" : "the new harbord said something "
	    "else");
	return -1;
}

void
upgrade_hand_over(struct harbord *hd, int sock, long new_pid)
{
	char	buf[96];

	/* Its now: the lock goes, the files stay. */
	pidfile_forget(hd->pidfile);
	hd->pidfile = NULL;
	free(hd->control_path);
	hd->control_path = NULL;
	snprintf(buf, sizeof buf, "MAINPID=%ld\nSTATUS=upgraded: harbord pid "
	    "%ld serves; this one finishes its connections", new_pid, new_pid);
	(void)sdnotify(buf);
	(void)!write(sock, "P", 1);
}

/* --- the new harbord's side ------------------------------------------------ */

int
upgrade_init(struct harbord *hd)
{
	const char	*v = getenv(UPGRADE_ENV);
	char		*end;
	long		 fd;

	hd->upgrade_fd = -1;
	if (v == NULL)
		return 0;
	errno = 0;
	fd = strtol(v, &end, 10);
	(void)unsetenv(UPGRADE_ENV);
	if (errno != 0 || *end != '\0' || fd < 3 || fcntl((int)fd,
	    F_GETFD) == -1) {
		harbor_log(HARBOR_LOG_ERR, UPGRADE_ENV "=%s: not a descriptor "
		    "of the harbord that started this one", v);
		return -1;
	}
	(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	hd->upgrade_fd = (int)fd;
	return 0;
}

int
upgrade_announce(struct harbord *hd, char *why, size_t whylen)
{
	struct pollfd	p;
	char		c = 0;
	int		fd = hd->upgrade_fd;

	if (fd == -1)
		return 0;
	hd->upgrade_fd = -1;
	p.fd = fd;
	p.events = POLLIN;
	if (write(fd, "R", 1) == 1 && poll(&p, 1, HANDOVER_MS) == 1)
		(void)!read(fd, &c, 1);
	(void)close(fd);
	if (c != 'P')
		harbor_log(HARBOR_LOG_WARNING, "the harbord this one replaces "
		    "did not answer; taking over anyway");
	else
		harbor_log(HARBOR_LOG_NOTICE, "upgraded: the harbord this one "
		    "replaces finishes its connections and exits");
	if (hd->conf->pidfile != NULL &&
	    ((hd->pidfile = pidfile_lock(hd->conf->pidfile, why,
	    whylen)) == NULL || pidfile_write(hd->pidfile, why,
	    whylen) == -1))
		return -1;
	return 0;
}

#else /* _WIN32 */

#include "harbord.h"
#include "upgrade.h"

int
upgrade_init(struct harbord *hd)
{
	hd->upgrade_fd = -1;
	return 0;
}

int
upgrade_announce(struct harbord *hd, char *why, size_t whylen)
{
	(void)hd;
	(void)why;
	(void)whylen;
	return 0;
}

#endif
