/*
 * Socket activation: listening sockets a service manager (systemd, with a
 * .socket unit) bound and passed, as descriptors 3 on, with LISTEN_FDS
 * saying how many and LISTEN_PID whose they are (sd_listen_fds(3)'s
 * protocol, read here without libsystemd).  A listen address of the
 * configuration that one of them is bound to takes it instead of binding
 * its own (or, by LISTEN_FDNAMES, the one named as the service is); those
 * no service claims are said and closed once harbord listens.  The
 * variables are taken out of the environment, so that no program harbord
 * runs sees them.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#endif

#include "compat.h"
#include "harbor.h"
#include "activation.h"

/* sd_listen_fds(3): the first passed descriptor. */
#define LISTEN_FDS_START	3
#define ACTIVATION_MAX		256

struct passed {
	int	fd;		/* -1: taken */
	char	address[HARBOR_ADDRSTRLEN];
	char	name[128];
};

static struct passed	passed[ACTIVATION_MAX];
static int		npassed;

#ifndef _WIN32

void
activation_address(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof ss;
	char			 host[INET6_ADDRSTRLEN];
	const void		*a;
	unsigned		 port;

	buf[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_INET) {
		a = &((struct sockaddr_in *)&ss)->sin_addr;
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else
		return;
	if (inet_ntop(ss.ss_family, a, host, sizeof host) == NULL)
		return;
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    host, port);
}

/* A TCP socket, listening: what a service can take. */
static int
listening_tcp(int fd, char *why, size_t whylen)
{
	int		type = 0, on = 0;
	socklen_t	len = sizeof type;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return 0;
	}
	if (type != SOCK_STREAM) {
		snprintf(why, whylen, "not a stream socket");
		return 0;
	}
#ifdef SO_ACCEPTCONN
	len = sizeof on;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && !on) {
		snprintf(why, whylen, "not listening");
		return 0;
	}
#else
	(void)on;
#endif
	return 1;
}

int
activation_init(void)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char	*names = getenv("LISTEN_FDNAMES"), *p;
	char		*end, why[128];
	long		 n, owner;
	int		 i, fd;
	size_t		 k;

	if (pid == NULL || fds == NULL)
		return 0;
	errno = 0;
	owner = strtol(pid, &end, 10);
	if (errno != 0 || *end != '\0' || owner != (long)getpid()) {
		/* Meant for another process (the shell that started us). */
		(void)unsetenv("LISTEN_PID");
		(void)unsetenv("LISTEN_FDS");
		(void)unsetenv("LISTEN_FDNAMES");
		return 0;
	}
	n = strtol(fds, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > ACTIVATION_MAX) {
		harbor_log(HARBOR_LOG_ERR, "socket activation: LISTEN_FDS=%s "
		    "is not a count of sockets (0 to %d)", fds,
		    ACTIVATION_MAX);
		return -1;
	}
	for (i = 0, p = names; i < n; i++) {
		fd = LISTEN_FDS_START + i;
		passed[npassed].fd = fd;
		passed[npassed].name[0] = '\0';
		if (p != NULL) {
			k = strcspn(p, ":");
			snprintf(passed[npassed].name,
			    sizeof passed[npassed].name, "%.*s", (int)k, p);
			p = p[k] == ':' ? p + k + 1 : NULL;
		}
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (!listening_tcp(fd, why, sizeof why)) {
			harbor_log(HARBOR_LOG_WARNING, "socket activation: "
			    "descriptor %d%s%s: %s; closed", fd,
			    passed[npassed].name[0] != '\0' ? " " : "",
			    passed[npassed].name, why);
			(void)close(fd);
			continue;
		}
		activation_address(fd, passed[npassed].address,
		    sizeof passed[npassed].address);
		harbor_log(HARBOR_LOG_INFO, "socket activation: descriptor %d "
		    "on %s%s%s", fd, passed[npassed].address[0] != '\0' ?
		    passed[npassed].address : "a local socket",
		    passed[npassed].name[0] != '\0' ? ", named " : "",
		    passed[npassed].name);
		npassed++;
	}
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	return npassed;
}

/* A passed socket is as its passer bound it (systemd's ReusePort=, or the
 * harbord an upgrade replaces, whose reuse-port may have been other): its
 * SO_REUSEPORT cannot change now, so a difference is only said. */
static void
reuse_port_check(int fd, const char *service, const char *address,
    unsigned flags)
{
	int	on = compat_socket_reuseport_on(fd);
	int	want = (flags & HARBOR_LISTEN_REUSE_PORT) != 0;

	if (on == -1 || on == want)
		return;
	harbor_log(HARBOR_LOG_WARNING, "service %s: the socket passed for %s "
	    "%s SO_REUSEPORT, though reuse-port is %s: it is used as it was "
	    "bound", service, address, on ? "has" : "has no", want ? "yes" :
	    "no");
}

int
activation_take(const char *service, const char *address, unsigned flags)
{
	int	i, fd, pass;

	/* By address first; a name a .socket unit gave (FileDescriptorName=)
	 * that is the service's, for an address written another way. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < npassed; i++) {
			if (passed[i].fd == -1 || (pass == 0 ?
			    passed[i].address[0] == '\0' ||
			    strcmp(passed[i].address, address) != 0 :
			    strcmp(passed[i].name, service) != 0))
				continue;
			fd = passed[i].fd;
			passed[i].fd = -1;
			harbor_log(HARBOR_LOG_NOTICE, "service %s: takes the "
			    "listening socket on %s it was passed", service,
			    passed[i].address);
			reuse_port_check(fd, service, passed[i].address, flags);
			return fd;
		}
	return -1;
}

int
activation_take_named(const char *name)
{
	int	i, fd;

	for (i = 0; i < npassed; i++)
		if (passed[i].fd != -1 && strcmp(passed[i].name, name) == 0) {
			fd = passed[i].fd;
			passed[i].fd = -1;
			return fd;
		}
	return -1;
}

void
activation_close_unclaimed(void)
{
	int	i;

	for (i = 0; i < npassed; i++) {
		if (passed[i].fd == -1)
			continue;
		harbor_log(HARBOR_LOG_WARNING, "socket activation: no service "
		    "listens on %s%s%s (descriptor %d): closed",
		    passed[i].address, passed[i].name[0] != '\0' ? ", named " :
		    "", passed[i].name, passed[i].fd);
		(void)close(passed[i].fd);
		passed[i].fd = -1;
	}
	npassed = 0;
}

#else /* _WIN32 */

void
activation_address(int fd, char *buf, size_t len)
{
	(void)fd;
	if (len > 0)
		buf[0] = '\0';
}

int
activation_init(void)
{
	return 0;
}

int
activation_take(const char *service, const char *address, unsigned flags)
{
	(void)service;
	(void)address;
	(void)flags;
	return -1;
}

int
activation_take_named(const char *name)
{
	(void)name;
	return -1;
}

void
activation_close_unclaimed(void)
{
	npassed = 0;
	(void)passed;
}

#endif
