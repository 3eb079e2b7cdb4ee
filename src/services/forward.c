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

#include <errno.h>
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

#include "harbor-internal.h"

#define FORWARD_MAX_ADDRS	8

struct forward_state {
	struct harbor_addr	 addrs[FORWARD_MAX_ADDRS];
	size_t			 naddrs;
};

struct forward_conn {
	struct harbor_conn	*conn;
	struct relay		*relay;
	evutil_socket_t		 fd;		/* while connecting, else -1 */
	struct event		*connecting;	/* writable or timed out */
	struct loopguard_entry	 guard;		/* its socket, registered */
	size_t			 next;		/* address to try next */
	char			 failed[96];	/* the last attempt's error */
	char			 here[HARBOR_ADDRSTRLEN]; /* the client came
							   to; "" unknown */
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

/* The attempt in progress is given up. */
static void
forward_drop_attempt(struct forward_conn *fc)
{
	loopguard_forget(fc->conn->svc->server->loopguard, &fc->guard);
	if (fc->connecting != NULL) {
		event_free(fc->connecting);
		fc->connecting = NULL;
	}
	if (fc->fd != -1) {
		evutil_closesocket(fc->fd);
		fc->fd = -1;
	}
}

/* The backend address is the very one the client connected to: each
 * connection would make another, without end. */
static int
forward_is_loop(struct forward_conn *fc, const struct harbor_addr *to)
{
	struct sockaddr_storage	here;
	ev_socklen_t		len = sizeof here;
	char			a[HARBOR_ADDRSTRLEN];

	if (fc->here[0] == '\0') {
		if (getsockname(fc->conn->fd, (struct sockaddr *)&here,
		    &len) == -1)
			return 0;
		addr_format((struct sockaddr *)&here, fc->here,
		    sizeof fc->here);
	}
	addr_format((const struct sockaddr *)&to->ss, a, sizeof a);
	return strcmp(a, fc->here) == 0;
}

static void
forward_connected(struct forward_conn *fc)
{
	struct harbor_conn	*c = fc->conn;
	struct sockaddr_storage	 peer, local;
	uint8_t			 hdr[PROXY_SEND_MAX];
	size_t			 n = 0;
	evutil_socket_t		 fd = fc->fd;

	event_free(fc->connecting);
	fc->connecting = NULL;
	fc->fd = -1;
	if (c->svc->send_proxy != 0) {
		if (conn_addresses(c, &peer, &local) == -1) {
			evutil_closesocket(fd);
			relay_fail(fc->relay, "cannot learn the local address "
			    "for the PROXY header");
			return;
		}
		n = proxy_header_build(c->svc->send_proxy,
		    (struct sockaddr *)&peer, (struct sockaddr *)&local, hdr,
		    sizeof hdr);
	}
	if (log_enabled(HARBOR_LOG_DEBUG)) {
		char	to[HARBOR_ADDRSTRLEN];

		addr_format((struct sockaddr *)&((struct forward_state *)
		    c->svc->state)->addrs[fc->next - 1].ss, to, sizeof to);
		log_debug("service %s: conn %llu forwarded to %s",
		    c->svc->name, (unsigned long long)c->id, to);
	}
	(void)relay_backend_ready(fc->relay, fd, hdr, n);
}

static void
forward_connect_event(evutil_socket_t fd, short what, void *arg)
{
	struct forward_conn	*fc = arg;
	int			 err = 0;
	ev_socklen_t		 len = sizeof err;

	if (what & EV_TIMEOUT)
		snprintf(fc->failed, sizeof fc->failed, "no answer in %u ms",
		    fc->conn->svc->connect_timeout_ms);
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, (void *)&err,
	    &len) == 0 && err == 0) {
		forward_connected(fc);
		return;
	} else
		snprintf(fc->failed, sizeof fc->failed, "%s",
		    evutil_socket_error_to_string(err != 0 ? err :
		    EVUTIL_SOCKET_ERROR()));
	forward_drop_attempt(fc);
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
	int			 err;

	while (fc->next < fs->naddrs) {
		a = &fs->addrs[fc->next++];
		if (forward_is_loop(fc, a)) {
			snprintf(fc->failed, sizeof fc->failed, "it is this "
			    "service's own address (a forwarding loop)");
			continue;
		}
		fc->fd = socket(a->ss.ss_family, SOCK_STREAM, 0);
		if (fc->fd == -1) {
			snprintf(fc->failed, sizeof fc->failed, "%s",
			    evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
			continue;
		}
		(void)evutil_make_socket_nonblocking(fc->fd);
		(void)evutil_make_socket_closeonexec(fc->fd);
		compat_socket_nosigpipe((int)fc->fd);
		if ((err = loopguard_connect(c->svc->server->loopguard,
		    &fc->guard, fc->fd, (const struct sockaddr *)&a->ss,
		    a->len)) != 0 && !CONNECT_IN_PROGRESS(err)) {
			snprintf(fc->failed, sizeof fc->failed, "%s",
			    evutil_socket_error_to_string(err));
			forward_drop_attempt(fc);
			continue;
		}
		/* Connected, refused or timed out: the socket turns writable
		 * or the timer fires. */
		fc->connecting = event_new(c->loop->base, fc->fd, EV_WRITE,
		    forward_connect_event, fc);
		if (fc->connecting != NULL &&
		    event_add(fc->connecting, &tv) == 0)
			return;
		snprintf(fc->failed, sizeof fc->failed, "out of memory");
		forward_drop_attempt(fc);
		break;
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
	fc->fd = -1;
	/* The way the client came, then this service: a connection that
	 * comes back to any of them is a loop (admission_loop). */
	if (c->hops != NULL)
		fc->guard.hops = *c->hops;
	if (fc->guard.hops.n < FORWARD_MAX_HOPS)
		fc->guard.hops.id[fc->guard.hops.n++] = c->svc->loop_id;
	strlcpy(fc->guard.service, c->svc->name, sizeof fc->guard.service);
	harbor_conn_set_data(c, fc);
	forward_try(fc);
}

static void
forward_close(struct harbor_conn *c)
{
	struct forward_conn	*fc = harbor_conn_get_data(c);

	if (fc == NULL)
		return;
	forward_drop_attempt(fc);	/* and the guard's entry */
	relay_free(fc->relay);
	free(fc);
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

struct harbor_service *
harbor_service_new_forward(const char *name, const char *target, char *err,
    size_t errlen)
{
	struct harbor_service	*svc;
	char			 host[256], port[8];

	if (forward_target_split(target, host, sizeof host, port, sizeof port,
	    err, errlen) == -1)
		return NULL;
	if ((svc = harbor_service_new(name, &handler_forward)) == NULL ||
	    (svc->forward_to = strdup(target)) == NULL) {
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

	return forward_target_split(target, host, sizeof host, port,
	    sizeof port, err, errlen);
}

int
harbor_service_set_connect_timeout(struct harbor_service *svc, unsigned ms)
{
	if (svc->handler != &handler_forward || ms == 0)
		return -1;
	svc->connect_timeout_ms = ms;
	return 0;
}

int
harbor_service_set_send_proxy(struct harbor_service *svc, int version)
{
	if (svc->handler != &handler_forward || (version != 0 &&
	    version != HARBOR_PROXY_V1 && version != HARBOR_PROXY_V2))
		return -1;
	svc->send_proxy = version == HARBOR_PROXY_V1 ? PROXY_V1 :
	    version == HARBOR_PROXY_V2 ? PROXY_V2 : 0;
	return 0;
}
