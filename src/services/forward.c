/*
 * forward HOST:PORT: each client is relayed to a backend (xinetd's
 * redirect, socat's TCP-LISTEN to TCP).  Written against <harbor.h>
 * alone: the library connects (harbor_conn_connect, which knows this
 * server's forwarding loops) and relays (harbor_conn_relay).
 *
 * The service's options: "target" (HOST:PORT or [IPv6]:PORT), resolved
 * when the service is set up (at start and at each reload), never per
 * connection, so a slow resolver cannot stall a loop; "connect-timeout"
 * (milliseconds for each of the backend's addresses, 10000 unless given);
 * "send-proxy" ("v1" or "v2": a PROXY header naming the client goes to
 * the backend first).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#define TIMED_OUT	WSAETIMEDOUT
#else
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#define TIMED_OUT	ETIMEDOUT
#endif

#include <event2/util.h>

#include "harbor.h"
#include "services.h"

#define FORWARD_MAX_ADDRS	8
#define FORWARD_TIMEOUT_MS	10000

struct forward_addr {
	struct sockaddr_storage	ss;
	size_t			len;
};

struct forward_state {
	char			 target[300];
	struct forward_addr	 addrs[FORWARD_MAX_ADDRS];
	size_t			 naddrs;
	unsigned		 timeout_ms;
	int			 send_proxy;	/* 0, HARBOR_PROXY_V1, V2 */
};

struct forward_conn {
	size_t	next;			/* address to try next */
	char	failed[96];		/* the last attempt's error */
};

/* "host:port" or "[v6]:port" into its two parts.  0, or -1 with err. */
static int
target_split(const char *target, char *host, size_t hostlen, char *port,
    size_t portlen, char *err, size_t errlen)
{
	const char	*colon, *h = target, *p, *d;
	unsigned long	 v = 0;
	size_t		 n;

	if (target[0] == '[') {
		const char *close = strchr(target, ']');

		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "bad backend '%s' (expected "
			    "[IPv6 address]:PORT)", target);
			return -1;
		}
		h = target + 1;
		n = (size_t)(close - h);
		p = close + 2;
	} else {
		if ((colon = strrchr(target, ':')) == NULL ||
		    strchr(target, ':') != colon) {
			snprintf(err, errlen, "bad backend '%s' (expected "
			    "HOST:PORT, or [IPv6 address]:PORT)", target);
			return -1;
		}
		n = (size_t)(colon - target);
		p = colon + 1;
	}
	if (n == 0 || n >= hostlen) {
		snprintf(err, errlen, "bad backend '%s' (no host name)",
		    target);
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	for (d = p; *d >= '0' && *d <= '9' && v <= 65535; d++)
		v = v * 10 + (unsigned long)(*d - '0');
	if (*p == '\0' || *d != '\0' || v == 0 || v > 65535 ||
	    strlen(p) >= portlen) {
		snprintf(err, errlen, "bad backend port in '%s' (expected "
		    "1..65535)", target);
		return -1;
	}
	snprintf(port, portlen, "%s", p);
	return 0;
}

static const char *const forward_options[] = {
	"target", "connect-timeout", "send-proxy", NULL
};

static int
forward_init(struct harbor_service *svc, void **state, char *err,
    size_t errlen)
{
	const char		*target = harbor_service_option(svc, "target");
	const char		*timeout = harbor_service_option(svc,
				    "connect-timeout");
	const char		*proxy = harbor_service_option(svc,
				    "send-proxy");
	struct forward_state	*fs;
	struct evutil_addrinfo	 hints, *res, *ai;
	char			 host[256], port[8], *end;
	unsigned long		 ms = FORWARD_TIMEOUT_MS;
	int			 r, send_proxy = 0;

	if (harbor_service_check_options(svc, forward_options, err,
	    errlen) == -1)
		return -1;
	if (target == NULL) {
		snprintf(err, errlen, "forward needs a backend (option "
		    "'target')");
		return -1;
	}
	if (target_split(target, host, sizeof host, port, sizeof port, err,
	    errlen) == -1)
		return -1;
	if (timeout != NULL && ((ms = strtoul(timeout, &end, 10)) == 0 ||
	    *end != '\0' || ms > 86400000UL)) {
		snprintf(err, errlen, "bad connect-timeout '%s' (expected "
		    "milliseconds, 1..86400000)", timeout);
		return -1;
	}
	if (proxy != NULL && strcmp(proxy, "none") != 0) {
		if (strcmp(proxy, "v1") == 0)
			send_proxy = HARBOR_PROXY_V1;
		else if (strcmp(proxy, "v2") == 0)
			send_proxy = HARBOR_PROXY_V2;
		else {
			snprintf(err, errlen, "bad send-proxy '%s' (expected "
			    "v1, v2 or none)", proxy);
			return -1;
		}
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if ((r = evutil_getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve backend '%s': %s",
		    target, evutil_gai_strerror(r));
		return -1;
	}
	if ((fs = calloc(1, sizeof *fs)) == NULL) {
		evutil_freeaddrinfo(res);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(fs->target, sizeof fs->target, "%s", target);
	fs->timeout_ms = (unsigned)ms;
	fs->send_proxy = send_proxy;
	for (ai = res; ai != NULL && fs->naddrs < FORWARD_MAX_ADDRS;
	    ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    (size_t)ai->ai_addrlen > sizeof fs->addrs[0].ss)
			continue;
		memcpy(&fs->addrs[fs->naddrs].ss, ai->ai_addr,
		    (size_t)ai->ai_addrlen);
		fs->addrs[fs->naddrs].len = (size_t)ai->ai_addrlen;
		fs->naddrs++;
	}
	evutil_freeaddrinfo(res);
	if (fs->naddrs == 0) {
		free(fs);
		snprintf(err, errlen, "backend '%s' has no IPv4 or IPv6 "
		    "address", target);
		return -1;
	}
	*state = fs;
	return 0;
}

static void
forward_free(void *state)
{
	free(state);
}

/* Address and port as one string, for comparing and logging. */
static void
address_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char		ip[46] = "?";
	unsigned	port = 0;

	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		(void)evutil_inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
		port = ntohs(s->sin_port);
		snprintf(buf, len, "%s:%u", ip, port);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		(void)evutil_inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
		port = ntohs(s->sin6_port);
		snprintf(buf, len, "[%s]:%u", ip, port);
	} else
		snprintf(buf, len, "?");
}

static void	forward_try(struct harbor_conn *);

static void
forward_connected(struct harbor_conn *c, harbor_socket_t fd, int error,
    void *arg)
{
	const struct forward_state	*fs = harbor_conn_service_state(c);
	struct forward_conn		*fc = arg;
	unsigned char			 hdr[HARBOR_PROXY_HEADER_MAX];
	const struct sockaddr		*peer, *local;
	size_t				 n = 0;

	if (error == TIMED_OUT) {
		snprintf(fc->failed, sizeof fc->failed, "no answer in %u ms",
		    fs->timeout_ms);
		forward_try(c);
		return;
	}
	if (error != 0) {
		snprintf(fc->failed, sizeof fc->failed, "%s",
		    evutil_socket_error_to_string(error));
		forward_try(c);
		return;
	}
	if (fs->send_proxy != 0) {
		peer = harbor_conn_peer_addr(c, NULL);
		if ((local = harbor_conn_local_addr(c, NULL)) == NULL) {
			evutil_closesocket(fd);
			(void)harbor_conn_fail(c, "cannot learn the local "
			    "address for the PROXY header");
			return;
		}
		n = harbor_proxy_header(fs->send_proxy, peer, local, hdr,
		    sizeof hdr);
	}
	if (harbor_log_get_level() >= HARBOR_LOG_DEBUG) {
		char	to[64];

		address_text((const struct sockaddr *)&fs->addrs[fc->next -
		    1].ss, to, sizeof to);
		harbor_log(HARBOR_LOG_DEBUG, "service %s: conn %llu forwarded "
		    "to %s", harbor_service_name(harbor_conn_service(c)),
		    (unsigned long long)harbor_conn_id(c), to);
	}
	(void)harbor_conn_relay(c, fd, 0, hdr, n);
}

/* Connects to the next of the backend's addresses; after the last, the
 * client is let go. */
static void
forward_try(struct harbor_conn *c)
{
	const struct forward_state	*fs = harbor_conn_service_state(c);
	struct forward_conn		*fc = harbor_conn_get_data(c);
	const struct forward_addr	*a;
	char				 here[64], there[64], why[480];

	/* Behind a PROXY header the local address is the proxy's word; the
	 * library's loop guard catches a loop there all the same. */
	address_text(harbor_conn_proxied(c) ? NULL :
	    harbor_conn_local_addr(c, NULL), here, sizeof here);
	while (fc->next < fs->naddrs) {
		a = &fs->addrs[fc->next++];
		/* The backend is the very address the client came to:
		 * each connection would make another, without end. */
		address_text((const struct sockaddr *)&a->ss, there,
		    sizeof there);
		if (strcmp(here, there) == 0) {
			snprintf(fc->failed, sizeof fc->failed, "it is this "
			    "service's own address (a forwarding loop)");
			continue;
		}
		if (harbor_conn_connect(c, (const struct sockaddr *)&a->ss,
		    a->len, fs->timeout_ms, forward_connected, fc) == 0)
			return;
		snprintf(fc->failed, sizeof fc->failed, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	snprintf(why, sizeof why, "cannot connect to backend %s: %s",
	    fs->target, fc->failed);
	harbor_log(HARBOR_LOG_NOTICE, "service %s: conn %llu: %s",
	    harbor_service_name(harbor_conn_service(c)),
	    (unsigned long long)harbor_conn_id(c), why);
	(void)harbor_conn_fail(c, why);
}

static void
forward_open(struct harbor_conn *c)
{
	struct forward_conn	*fc;

	if ((fc = calloc(1, sizeof *fc)) == NULL) {
		(void)harbor_conn_fail(c, "out of memory");
		return;
	}
	harbor_conn_set_data(c, fc);
	/* What the client sends waits until the backend is there. */
	harbor_conn_pause_input(c);
	forward_try(c);
}

static void
forward_close(struct harbor_conn *c)
{
	free(harbor_conn_get_data(c));
}

const struct harbor_handler handler_forward = {
	HARBOR_HANDLER_V1,
	.name = "forward",
	/* The relay and the connect live on the connection's loop. */
	.flags = HARBOR_HANDLER_INLINE_ONLY,
	.service_init = forward_init,
	.service_free = forward_free,
	.open = forward_open,
	.close = forward_close,
};

/* --- the forward service's API (harbor.h) --------------------------------- */

static int
not_forward(struct harbor_service *svc)
{
	return harbor_service_handler(svc) != &handler_forward;
}

struct harbor_service *
harbor_service_new_forward(const char *name, const char *target, char *err,
    size_t errlen)
{
	struct harbor_service	*svc;

	if (harbor_forward_check(target, err, errlen) == -1)
		return NULL;
	if ((svc = harbor_service_new(name, &handler_forward)) == NULL ||
	    harbor_service_set_option(svc, "target", target) == -1) {
		harbor_service_free(svc);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return svc;
}

int
harbor_forward_check(const char *target, char *err, size_t errlen)
{
	char	host[256], port[8];

	return target_split(target, host, sizeof host, port, sizeof port,
	    err, errlen);
}

int
harbor_service_set_connect_timeout(struct harbor_service *svc, unsigned ms)
{
	char	v[16];

	if (not_forward(svc) || ms == 0)
		return -1;
	snprintf(v, sizeof v, "%u", ms);
	return harbor_service_set_option(svc, "connect-timeout", v);
}

int
harbor_service_set_send_proxy(struct harbor_service *svc, int version)
{
	if (not_forward(svc) || (version != 0 &&
	    version != HARBOR_PROXY_V1 && version != HARBOR_PROXY_V2))
		return -1;
	return harbor_service_set_option(svc, "send-proxy",
	    version == HARBOR_PROXY_V1 ? "v1" : version == HARBOR_PROXY_V2 ?
	    "v2" : "none");
}
