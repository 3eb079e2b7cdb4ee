/*
 * systemd's readiness protocol, without libsystemd: a datagram of
 * "NAME=VALUE" lines to the AF_UNIX socket NOTIFY_SOCKET names (a path,
 * or with "@" an abstract name).  harbord says READY=1 once it serves,
 * RELOADING=1 and READY=1 around a reload, STOPPING=1 when it stops, and
 * STATUS= what it does.  The variable is taken out of the environment at
 * start, so that no program harbord runs sees it.  Elsewhere (and under
 * no service manager) it does nothing.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef _WIN32
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

#include "harbor.h"
#include "sdnotify.h"

#ifndef _WIN32
static char	notify_path[108];
#endif
static int	notify_on;

void
sdnotify_init(void)
{
#ifndef _WIN32
	const char	*p = getenv("NOTIFY_SOCKET");

	if (p == NULL || (p[0] != '/' && p[0] != '@') ||
	    strlen(p) >= sizeof notify_path) {
		if (p != NULL)
			harbor_log(HARBOR_LOG_WARNING, "NOTIFY_SOCKET '%s' is "
			    "not a socket path harbord can use", p);
		(void)unsetenv("NOTIFY_SOCKET");
		return;
	}
	memcpy(notify_path, p, strlen(p) + 1);
	notify_on = 1;
	(void)unsetenv("NOTIFY_SOCKET");
#endif
}

void
sdnotify_forget(void)
{
	notify_on = 0;
}

const char *
sdnotify_socket(void)
{
#ifndef _WIN32
	return notify_on ? notify_path : NULL;
#else
	return NULL;
#endif
}

int
sdnotify(const char *state)
{
#ifndef _WIN32
	struct sockaddr_un	sun;
	socklen_t		len;
	size_t			n = strlen(notify_path);
	int			fd, r;

	if (!notify_on)
		return 0;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, notify_path, n);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (notify_path[0] == '@' ? 0 : 1));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1)
		return -1;
	r = sendto(fd, state, strlen(state), 0, (struct sockaddr *)&sun,
	    len) == (ssize_t)strlen(state) ? 0 : -1;
	if (r == -1)
		harbor_log(HARBOR_LOG_WARNING, "cannot tell the service manager "
		    "(%s): %s", notify_path, strerror(errno));
	(void)close(fd);
	return r;
#else
	(void)state;
	return 0;
#endif
}

int
sdnotify_reloading(void)
{
	char		buf[96];
#ifndef _WIN32
	struct timespec	ts;

	if (!notify_on)
		return 0;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
#else
	snprintf(buf, sizeof buf, "RELOADING=1");
#endif
	return sdnotify(buf);
}
