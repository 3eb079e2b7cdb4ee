/* What the unit suites of the library share: a client address to match
 * against.  Include after util.h. */
#ifndef TEST_PEER_H
#define TEST_PEER_H

#include <check.h>
#include <string.h>

/* A client address for matching ("192.0.2.1", "2001:db8::1"): in a static
 * buffer, valid until the next call. */
static inline const struct sockaddr *
peer(const char *ip)
{
	static struct sockaddr_storage ss;

	memset(&ss, 0, sizeof ss);
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		ck_assert_int_eq(evutil_inet_pton(AF_INET6, ip,
		    &sin6->sin6_addr), 1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		ck_assert_int_eq(evutil_inet_pton(AF_INET, ip, &sin->sin_addr),
		    1);
	}
	return (struct sockaddr *)&ss;
}

#endif
