/*
 * What sockets do differently from one system to the next.
 */
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
