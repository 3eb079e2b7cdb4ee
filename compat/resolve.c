/*
 * The system's resolver, and its reasons in the system's own words: what
 * getaddrinfo(3) says through gai_strerror(3), as getent(1), ssh(1) and
 * curl(1) say it, not libevent's own texts (BSD's, whatever the libc).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#include <event2/util.h>
#else
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "compat.h"

int
compat_resolve_tcp(const char *host, const char *port, struct addrinfo **res,
    char *why, size_t whylen)
{
	struct addrinfo	hints;
	int		r;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
#ifdef _WIN32
	/* getaddrinfo's codes are Winsock errors there, which the system
	 * words (gai_strerror is a macro over one static buffer, for one
	 * thread at a time). */
	if ((r = evutil_getaddrinfo(host, port, &hints, res)) == 0)
		return 0;
	snprintf(why, whylen, "%s", evutil_socket_error_to_string(r));
#else
	errno = 0;
	if ((r = getaddrinfo(host, port, &hints, res)) == 0)
		return 0;
#ifdef EAI_SYSTEM
	if (r == EAI_SYSTEM) {
		snprintf(why, whylen, "%s", strerror(errno != 0 ? errno :
		    EIO));
		return -1;
	}
#endif
	snprintf(why, whylen, "%s", gai_strerror(r));
#endif
	return -1;
}

void
compat_resolve_free(struct addrinfo *res)
{
#ifdef _WIN32
	evutil_freeaddrinfo(res);
#else
	freeaddrinfo(res);
#endif
}
