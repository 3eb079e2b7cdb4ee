/*
 * forward HOST:PORT: each client is relayed to a backend (xinetd's
 * redirect, socat's TCP-LISTEN to TCP).
 *
 * The backend's name is resolved when the service is set up (at start and
 * at each reload), never per connection, so a slow resolver cannot stall a
 * loop.  A connection tries the addresses in order, each within
 * connect-timeout, and may first send the backend a PROXY header naming
 * the real client (send-proxy).  The relaying itself is relay.c's.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include <event2/bufferevent.h>

#include "harbor-internal.h"

#define FORWARD_MAX_ADDRS	8

struct forward_state {
	struct harbor_addr	 addrs[FORWARD_MAX_ADDRS];
	size_t			 naddrs;
};

struct forward_conn {
	struct harbor_conn	*conn;
	struct relay		*relay;
	struct bufferevent	*bev;		/* while connecting */
	size_t			 next;		/* address to try next */
	char			 failed[96];	/* the last attempt's error */
};

/* "host:port" or "[v6]:port" into its two parts.  0, or -1 with err. */
int
forward_target_split(const char *target, char *host, size_t hostlen,
    char *port, size_t portlen, char *err, size_t errlen)
{
	const char	*colon, *h = target, *p;
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
	{
		unsigned long	v = 0;
		const char	*d;

		for (d = p; *d >= '0' && *d <= '9' && v <= 65535; d++)
			v = v * 10 + (unsigned long)(*d - '0');
		if (*p == '\0' || *d != '\0' || v == 0 || v > 65535 ||
		    strlen(p) >= portlen) {
			snprintf(err, errlen, "bad backend port in '%s' "
			    "(expected 1..65535)", target);
			return -1;
		}
	}
	strlcpy(port, p, portlen);
	return 0;
}

static int
forward_init(struct harbor_service *svc, void **state, char *err,
    size_t errlen)
{
	struct forward_state		*fs;
	struct evutil_addrinfo		 hints, *res, *ai;
	char				 host[256], port[8];
	int				 r;

	if (forward_target_split(svc->forward_to, host, sizeof host, port,
	    sizeof port, err, errlen) == -1)
		return -1;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if ((r = evutil_getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve backend '%s': %s",
		    svc->forward_to, evutil_gai_strerror(r));
		return -1;
	}
	if ((fs = calloc(1, sizeof *fs)) == NULL) {
		evutil_freeaddrinfo(res);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (ai = res; ai != NULL && fs->naddrs < FORWARD_MAX_ADDRS;
	    ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof fs->addrs[0].ss)
			continue;
		memcpy(&fs->addrs[fs->naddrs].ss, ai->ai_addr, ai->ai_addrlen);
		fs->addrs[fs->naddrs].len = (ev_socklen_t)ai->ai_addrlen;
		fs->naddrs++;
	}
	evutil_freeaddrinfo(res);
	if (fs->naddrs == 0) {
		free(fs);
		snprintf(err, errlen, "backend '%s' has no IPv4 or IPv6 "
		    "address", svc->forward_to);
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

static void	forward_try(struct forward_conn *);

static void
forward_connected(struct forward_conn *fc)
{
	struct harbor_conn	*c = fc->conn;
	struct bufferevent	*bev = fc->bev;
	struct sockaddr_storage	 peer, local;
	uint8_t			 hdr[PROXY_SEND_MAX];
	size_t			 n;

	fc->bev = NULL;
	bufferevent_set_timeouts(bev, NULL, NULL);
	if (c->svc->send_proxy != 0) {
		if (conn_addresses(c, &peer, &local) == -1) {
			bufferevent_free(bev);
			relay_fail(fc->relay, "cannot learn the local address "
			    "for the PROXY header");
			return;
		}
		n = proxy_header_build(c->svc->send_proxy,
		    (struct sockaddr *)&peer, (struct sockaddr *)&local, hdr,
		    sizeof hdr);
		(void)bufferevent_write(bev, hdr, n);
	}
	if (log_enabled(HARBOR_LOG_DEBUG)) {
		char	to[HARBOR_ADDRSTRLEN];

		addr_format((struct sockaddr *)&((struct forward_state *)
		    c->svc->state)->addrs[fc->next - 1].ss, to, sizeof to);
		log_debug("service %s: conn %llu forwarded to %s",
		    c->svc->name, (unsigned long long)c->id, to);
	}
	relay_backend_ready(fc->relay, bev);
}

static void
forward_connect_event(struct bufferevent *bev, short what, void *arg)
{
	struct forward_conn	*fc = arg;

	if (what & BEV_EVENT_CONNECTED) {
		forward_connected(fc);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(fc->failed, sizeof fc->failed, "no answer in %u ms",
		    fc->conn->svc->connect_timeout_ms);
	else
		snprintf(fc->failed, sizeof fc->failed, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	bufferevent_free(bev);
	fc->bev = NULL;
	forward_try(fc);
}

/* Connects to the next of the backend's addresses; after the last, the
 * client is let go. */
static void
forward_try(struct forward_conn *fc)
{
	struct harbor_conn	*c = fc->conn;
	struct forward_state	*fs = c->svc->state;
	const struct harbor_addr *a;
	unsigned		 ms = c->svc->connect_timeout_ms;
	struct timeval		 tv = { (long)(ms / 1000),
				       (long)(ms % 1000) * 1000 };
	char			 why[sizeof c->detail];

	while (fc->next < fs->naddrs) {
		a = &fs->addrs[fc->next++];
		fc->bev = bufferevent_socket_new(c->loop->base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
		if (fc->bev == NULL) {
			snprintf(fc->failed, sizeof fc->failed, "out of "
			    "memory");
			break;
		}
		bufferevent_setcb(fc->bev, NULL, NULL, forward_connect_event,
		    fc);
		bufferevent_set_timeouts(fc->bev, NULL, &tv);
		if (bufferevent_socket_connect(fc->bev,
		    (const struct sockaddr *)&a->ss, (int)a->len) == 0)
			return;
		snprintf(fc->failed, sizeof fc->failed, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		bufferevent_free(fc->bev);
		fc->bev = NULL;
	}
	snprintf(why, sizeof why, "cannot connect to backend %s: %s",
	    c->svc->forward_to, fc->failed);
	log_notice("service %s: conn %llu: %s", c->svc->name,
	    (unsigned long long)c->id, why);
	relay_fail(fc->relay, why);
}

static void
forward_open(struct harbor_conn *c)
{
	struct forward_conn	*fc;

	if ((fc = calloc(1, sizeof *fc)) == NULL ||
	    (fc->relay = relay_new(c, 0)) == NULL) {
		free(fc);
		conn_end(c, CLOSE_DETAIL, "out of memory");
		return;
	}
	fc->conn = c;
	harbor_conn_set_data(c, fc);
	forward_try(fc);
}

static void
forward_close(struct harbor_conn *c)
{
	struct forward_conn	*fc = harbor_conn_get_data(c);

	if (fc == NULL)
		return;
	if (fc->bev != NULL)
		bufferevent_free(fc->bev);
	relay_free(fc->relay);
	free(fc);
}

const struct harbor_handler handler_forward = {
	.name = "forward",
	.service_init = forward_init,
	.service_free = forward_free,
	.open = forward_open,
	.close = forward_close,
};
