/*
 * Listen addresses: parsing what a user writes ("127.0.0.1:7", "[::1]:7",
 * "*:7") and formatting socket addresses for logs ("[::1]:7").
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "util.h"

static int
parse_port(const char *s, unsigned *port, char *err, size_t errlen)
{
	unsigned long	v = 0;
	const char	*p;

	if (*s == '\0') {
		snprintf(err, errlen, "missing port");
		return -1;
	}
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > 65535) {
			snprintf(err, errlen, "bad port '%s' "
			    "(expected 0..65535)", s);
			return -1;
		}
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535) {
		snprintf(err, errlen, "bad port '%s' (expected 0..65535)", s);
		return -1;
	}
	*port = (unsigned)v;
	return 0;
}

static void
set_v4(struct harbor_addr *a, const struct in_addr *ip, unsigned port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof *a);
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr = *ip;
	a->len = sizeof *sin;
}

static void
set_v6(struct harbor_addr *a, const struct in6_addr *ip, unsigned port)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof *a);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	sin6->sin6_addr = *ip;
	a->len = sizeof *sin6;
}

int
addr_parse(const char *text, struct harbor_addr *out, size_t *nout,
    char *err, size_t errlen)
{
	char			 host[INET6_ADDRSTRLEN + 2];
	const char		*colon, *portstr;
	size_t			 hostlen;
	unsigned		 port;
	struct in_addr		 v4;
	struct in6_addr		 v6;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL) {
			snprintf(err, errlen, "bad address '%s' "
			    "(missing ']')", text);
			return -1;
		}
		if (close[1] != ':') {
			snprintf(err, errlen, "bad address '%s' "
			    "(expected [IPv6]:PORT)", text);
			return -1;
		}
		hostlen = (size_t)(close - text - 1);
		if (hostlen == 0 || hostlen >= sizeof host) {
			snprintf(err, errlen, "bad IPv6 address in '%s'", text);
			return -1;
		}
		memcpy(host, text + 1, hostlen);
		host[hostlen] = '\0';
		if (parse_port(close + 2, &port, err, errlen) == -1)
			return -1;
		if (evutil_inet_pton(AF_INET6, host, &v6) != 1) {
			snprintf(err, errlen, "bad IPv6 address '%s'", host);
			return -1;
		}
		set_v6(&out[0], &v6, port);
		*nout = 1;
		return 0;
	}

	colon = strrchr(text, ':');
	if (colon == NULL) {
		snprintf(err, errlen, "bad address '%s' (expected ADDRESS:PORT, "
		    "[IPv6]:PORT or *:PORT)", text);
		return -1;
	}
	if (strchr(text, ':') != colon) {
		snprintf(err, errlen, "bad address '%s' (write IPv6 addresses "
		    "in brackets: [::1]:7)", text);
		return -1;
	}
	hostlen = (size_t)(colon - text);
	portstr = colon + 1;
	if (hostlen == 0 || hostlen >= sizeof host) {
		snprintf(err, errlen, "bad address '%s' (expected ADDRESS:PORT)",
		    text);
		return -1;
	}
	memcpy(host, text, hostlen);
	host[hostlen] = '\0';
	if (parse_port(portstr, &port, err, errlen) == -1)
		return -1;

	if (strcmp(host, "*") == 0) {
		v4.s_addr = htonl(INADDR_ANY);
		set_v4(&out[0], &v4, port);
		set_v6(&out[1], &in6addr_any, port);
		*nout = 2;
		return 0;
	}
	if (evutil_inet_pton(AF_INET, host, &v4) != 1) {
		snprintf(err, errlen, "bad IPv4 address '%s' (expected a "
		    "numeric address such as 127.0.0.1, or *)", host);
		return -1;
	}
	set_v4(&out[0], &v4, port);
	*nout = 1;
	return 0;
}

int
addr_is_any(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, &in6addr_any, sizeof in6addr_any) == 0;
	return 0;
}

void
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char	ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;

		if (evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, ip,
		    sizeof ip) == NULL)
			strlcpy(ip, "?", sizeof ip);
		snprintf(buf, len, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		if (evutil_inet_ntop(AF_INET, &sin->sin_addr, ip,
		    sizeof ip) == NULL)
			strlcpy(ip, "?", sizeof ip);
		snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
	} else
		snprintf(buf, len, "(family %d)", sa->sa_family);
}

const struct sockaddr *
addr_unmapped(const struct sockaddr *sa, struct sockaddr_in *buf)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family != AF_INET6 ||
	    memcmp(&s6->sin6_addr, mapped, sizeof mapped) != 0)
		return sa;
	memset(buf, 0, sizeof *buf);
	buf->sin_family = AF_INET;
	buf->sin_port = s6->sin6_port;
	memcpy(&buf->sin_addr, (const uint8_t *)&s6->sin6_addr + 12, 4);
	return (const struct sockaddr *)buf;
}

int
harbor_listen_address_check(const char *text,
    char (*canonical)[HARBOR_ADDRSTRLEN], size_t *ncanonical, char *err,
    size_t errlen)
{
	struct harbor_addr	a[ADDR_PARSE_MAX];
	size_t			n, i;

	if (addr_parse(text, a, &n, err, errlen) == -1)
		return -1;
	if (canonical != NULL) {
		for (i = 0; i < n; i++)
			addr_format((struct sockaddr *)&a[i].ss, canonical[i],
			    HARBOR_ADDRSTRLEN);
		*ncanonical = n;
	}
	return 0;
}
