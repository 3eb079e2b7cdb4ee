/*
 * What sockets do differently from one system to the next.
 */
/* SO_REUSEPORT is not POSIX: glibc declares it only in its default
 * namespace (which -std=c11 alone leaves out), and the BSDs and macOS
 * hide it when _POSIX_C_SOURCE asks for POSIX alone.  This file is where
 * the system's own socket options are used, so it asks for all of them. */
#undef _POSIX_C_SOURCE
#undef _XOPEN_SOURCE
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include "autoconfig.h"

#include <stdio.h>
#ifdef HAVE_SYSCTLBYNAME
#include <sys/types.h>
#include <sys/sysctl.h>
#endif
#ifdef _WIN32
#include <winsock2.h>
#else
#include <errno.h>
#include <sys/socket.h>
#endif

#include "compat.h"

/* The system's bound on a listening socket's queue of connections waiting
 * to be accepted: listen(2) silently takes the smaller of it and what it
 * is asked for, so harbord asks first, to say so in its log. */
int
compat_somaxconn(void)
{
#if defined(__linux__)
	FILE	*f;
	int	 v = -1;

	/* Not there in a chroot without /proc: then unknown. */
	if ((f = fopen("/proc/sys/net/core/somaxconn", "r")) == NULL)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	(void)fclose(f);
	return v;
#elif defined(HAVE_SYSCTLBYNAME)
	/* FreeBSD's current name, then the older one the others use. */
	static const char *const names[] = {
		"kern.ipc.soacceptqueue", "kern.ipc.somaxconn"
	};
	size_t	i, len;
	int	v;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		len = sizeof v;
		if (sysctlbyname(names[i], &v, &len, NULL, 0) == 0 &&
		    len == sizeof v)
			return v;
	}
	return -1;
#else
	return -1;
#endif
}

/* Where a socket can be told never to raise SIGPIPE (the BSDs, macOS),
 * it is: then no write to it can, whichever thread makes it. */
void
compat_socket_nosigpipe(int fd)
{
#ifdef SO_NOSIGPIPE
	int	on = 1;

	(void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, (void *)&on, sizeof on);
#else
	(void)fd;
#endif
}

/* Linux takes a listening socket out of the listening state on a read
 * shutdown, refusing new connections and resetting those queued, and
 * lets it listen again; the other systems answer ENOTCONN. */
int
compat_listen_stop(intptr_t fd)
{
#ifdef _WIN32
	(void)fd;
	return -1;
#else
	return shutdown((int)fd, SHUT_RD);
#endif
}

int
compat_listen_rebind(intptr_t fd, const struct sockaddr *sa, size_t salen)
{
#ifdef _WIN32
	(void)fd;
	(void)sa;
	(void)salen;
	return 0;
#else
	/* A socket bound to port 0 loses the port the system chose when it
	 * stops listening, and would get another: it is bound to it again.
	 * One bound to a port it named keeps it, and refuses a second bind
	 * with EINVAL. */
	if (bind((int)fd, sa, (socklen_t)salen) == -1 && errno != EINVAL)
		return -1;
	return 0;
#endif
}

/* Where several sockets may listen on one address and port: FreeBSD 12's
 * SO_REUSEPORT_LB, which spreads the connections among them (its plain
 * SO_REUSEPORT lets them bind, but does not share the connections out),
 * else SO_REUSEPORT.  Never on Windows, whose SO_REUSEADDR lets any
 * program take a port in use, which is another thing altogether. */
#if !defined(_WIN32) && defined(SO_REUSEPORT_LB)
#define REUSEPORT_OPTION	SO_REUSEPORT_LB
#define REUSEPORT_NAME		"SO_REUSEPORT_LB"
#elif !defined(_WIN32) && defined(SO_REUSEPORT)
#define REUSEPORT_OPTION	SO_REUSEPORT
#define REUSEPORT_NAME		"SO_REUSEPORT"
#endif

const char *
compat_reuseport_name(void)
{
#ifdef REUSEPORT_NAME
	return REUSEPORT_NAME;
#else
	return NULL;
#endif
}

int
compat_socket_reuseport_on(intptr_t fd)
{
#ifdef REUSEPORT_OPTION
	int		on = 0;
	socklen_t	len = sizeof on;

	if (getsockopt((int)fd, SOL_SOCKET, REUSEPORT_OPTION, (void *)&on,
	    &len) == -1)
		return -1;
	return on != 0;
#else
	(void)fd;
	return -1;
#endif
}

int
compat_socket_reuseport(intptr_t fd)
{
#ifdef REUSEPORT_OPTION
	int	on = 1;

	return setsockopt((int)fd, SOL_SOCKET, REUSEPORT_OPTION, (void *)&on,
	    sizeof on);
#else
	(void)fd;
	return -1;
#endif
}

