/*
 * forward HOST:PORT: each client is relayed to a backend (xinetd's
 * redirect, socat's TCP-LISTEN to TCP).  Written against <harbor.h>, and
 * compat's threads and resolver (the platform, as libc is): the library
 * connects (harbor_conn_connect, which knows this server's forwarding
 * loops) and relays (harbor_conn_relay).
 *
 * The service's options: "target" (HOST:PORT or [IPv6]:PORT);
 * "connect-timeout" (milliseconds for each of the backend's addresses,
 * 10000 unless given; a client that waits for the name to be resolved
 * spends that wait from its first address's time); "send-proxy" ("v1" or
 * "v2": a PROXY header naming the client goes to the backend first).
 *
 * The backend's name is resolved when the service is set up (at start and
 * at each reload).  A name that does not resolve then -- DNS not up yet at
 * boot -- is a warning, not an error: a harbord that refused to start
 * would stay down (its init system does not restart a configuration
 * error), and one that starts serves as soon as the name resolves.  The
 * first client to come resolves it again, on a thread started for it,
 * since getaddrinfo blocks and a loop must not; the clients that come
 * while it runs wait for it.  Its addresses, once found, serve every later
 * client (until a reload resolves the name anew); its failure lets the
 * waiting clients go with the resolver's reason, and every client of the
 * next second after it, so that a flood of clients is not a flood of
 * queries.
 *
 * The resolver thread and the connections' loops share the state's
 * resolution fields under its lock.  A waiting connection is held, and is
 * in the state's list: whoever takes it out of the list (the thread, which
 * posts it the outcome, or its own close) releases it.  The state outlives
 * the service while a thread still resolves for it: it is counted.
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

#include "compat.h"
#include "thread.h"
#include "harbor.h"
#include "services.h"

#define FORWARD_MAX_ADDRS	8
#define FORWARD_TIMEOUT_MS	10000
/* After a failed resolution, the least time before the next. */
#define FORWARD_RETRY_MS	1000

struct forward_addr {
	struct sockaddr_storage	ss;
	size_t			len;
};

struct forward_conn;

struct forward_state {
	char			 target[300];
	char			 host[256], port[8];
	unsigned		 timeout_ms;
	int			 send_proxy;	/* 0, HARBOR_PROXY_V1, V2 */

	/* The rest under lock. */
	mutex_t			 lock;
	unsigned		 refs;		/* the service's, a thread's */
	/* Written once, then naddrs set: what a connection read of naddrs
	 * under the lock, it may read of addrs without. */
	struct forward_addr	 addrs[FORWARD_MAX_ADDRS];
	size_t			 naddrs;
	int			 said_resolved;	/* a late resolution logged */
	int			 resolving;	/* a thread is at it */
	struct forward_conn	*waiting;	/* the clients waiting for it */
	long long		 failed_at;	/* ms, the last failure; or 0 */
	char			 failure[128];	/* its reason */
};

struct forward_conn {
	struct harbor_conn	*conn;
	size_t			 naddrs;	/* of the state's, to try */
	size_t			 next;		/* address to try next */
	unsigned		 attempt_ms;	/* the attempt's timeout */
	unsigned		 first_ms;	/* the first's, after a wait */
	char			 failed[96];	/* the last attempt's error */

	/* Waiting for a resolution: held, and in the state's list. */
	struct harbor_timer	*deadline;
	long long		 waited_from;	/* ms */
	int			 listed;
	struct forward_conn	*prev, *next_waiting;
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

/* Wall-clock milliseconds: only differences of a second or so are taken,
 * and a clock set back is taken as time gone by. */
static long long
now_ms(void)
{
	struct timeval	tv;

	(void)evutil_gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The backend's IPv4 and IPv6 addresses, at most FORWARD_MAX_ADDRS, in the
 * resolver's order; 0 with why if there are none.  Blocks as long as the
 * resolver takes: never on a loop. */
static size_t
backend_resolve(const char *host, const char *port,
    struct forward_addr *addrs, char *why, size_t whylen)
{
	struct addrinfo	*res, *ai;
	size_t		 n = 0;

	if (compat_resolve_tcp(host, port, &res, why, whylen) == -1)
		return 0;
	for (ai = res; ai != NULL && n < FORWARD_MAX_ADDRS; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    (size_t)ai->ai_addrlen > sizeof addrs[0].ss)
			continue;
		memcpy(&addrs[n].ss, ai->ai_addr, (size_t)ai->ai_addrlen);
		addrs[n].len = (size_t)ai->ai_addrlen;
		n++;
	}
	compat_resolve_free(res);
	if (n == 0)
		snprintf(why, whylen, "no IPv4 or IPv6 address");
	return n;
}

static void
state_release(struct forward_state *fs)
{
	int	last;

	mutex_lock(&fs->lock);
	last = --fs->refs == 0;
	mutex_unlock(&fs->lock);
	if (last) {
		mutex_destroy(&fs->lock);
		free(fs);
	}
}

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
	char			 host[256], port[8], why[128], *end;
	unsigned long		 ms = FORWARD_TIMEOUT_MS;
	int			 send_proxy = 0;

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
	if ((fs = calloc(1, sizeof *fs)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(fs->target, sizeof fs->target, "%s", target);
	snprintf(fs->host, sizeof fs->host, "%s", host);
	snprintf(fs->port, sizeof fs->port, "%s", port);
	fs->timeout_ms = (unsigned)ms;
	fs->send_proxy = send_proxy;
	mutex_init(&fs->lock);
	fs->refs = 1;
	fs->naddrs = backend_resolve(host, port, fs->addrs, why, sizeof why);
	fs->said_resolved = fs->naddrs > 0;
	if (fs->naddrs == 0) {
		/* It counts as the last try: the first clients of the next
		 * second do not ask again. */
		fs->failed_at = now_ms();
		snprintf(fs->failure, sizeof fs->failure, "%s", why);
		harbor_log(HARBOR_LOG_WARNING, "service %s: backend '%s' does "
		    "not resolve now (%s); it will be resolved again when a "
		    "client connects", harbor_service_name(svc), target, why);
	}
	*state = fs;
	return 0;
}

static void
forward_free(void *state)
{
	state_release(state);
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

/* The client is let go, and the log says why. */
static void
give_up(struct harbor_conn *c, const char *why)
{
	harbor_log(HARBOR_LOG_NOTICE, "service %s: conn %llu: %s",
	    harbor_service_name(harbor_conn_service(c)),
	    (unsigned long long)harbor_conn_id(c), why);
	(void)harbor_conn_fail(c, why);
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
		    fc->attempt_ms);
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

/* Whether a and b are the same address and port (here may be NULL). */
static int
same_endpoint(const struct sockaddr *here, const struct sockaddr *a)
{
	if (here == NULL || here->sa_family != a->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)here;
		const struct sockaddr_in *y = (const void *)a;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)here;
		const struct sockaddr_in6 *y = (const void *)a;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr,
		    sizeof x->sin6_addr) == 0;
	}
	return 0;
}

/* Connects to the next of the backend's addresses; after the last, the
 * client is let go. */
static void
forward_try(struct harbor_conn *c)
{
	const struct forward_state	*fs = harbor_conn_service_state(c);
	struct forward_conn		*fc = harbor_conn_get_data(c);
	const struct forward_addr	*a;
	const struct sockaddr		*here;
	char				 why[480];

	/* Behind a PROXY header the local address is the proxy's word; the
	 * library's loop guard catches a loop there all the same. */
	here = harbor_conn_proxied(c) ? NULL : harbor_conn_local_addr(c, NULL);
	while (fc->next < fc->naddrs) {
		a = &fs->addrs[fc->next++];
		/* The backend is the very address the client came to:
		 * each connection would make another, without end. */
		if (same_endpoint(here, (const struct sockaddr *)&a->ss)) {
			snprintf(fc->failed, sizeof fc->failed, "it is this "
			    "service's own address (a forwarding loop)");
			continue;
		}
		fc->attempt_ms = fc->next == 1 && fc->first_ms != 0 ?
		    fc->first_ms : fs->timeout_ms;
		if (harbor_conn_connect(c, (const struct sockaddr *)&a->ss,
		    a->len, fc->attempt_ms, forward_connected, fc) == 0)
			return;
		snprintf(fc->failed, sizeof fc->failed, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	snprintf(why, sizeof why, "cannot connect to backend %s: %s",
	    fs->target, fc->failed);
	give_up(c, why);
}

/* --- the backend's name, resolved again ----------------------------------- */

/* The connection may use the addresses the state has now, or why not
 * (-1).  Under fs->lock. */
static int
addresses_known(struct forward_state *fs, struct forward_conn *fc,
    int *say, char *why, size_t whylen)
{
	if (fs->naddrs == 0) {
		snprintf(why, whylen, "cannot resolve backend '%s': %s",
		    fs->target, fs->failure);
		return -1;
	}
	fc->naddrs = fs->naddrs;
	*say = !fs->said_resolved;
	fs->said_resolved = 1;
	return 0;
}

static void
say_resolved(struct harbor_conn *c, const struct forward_state *fs,
    const struct forward_conn *fc)
{
	harbor_log(HARBOR_LOG_NOTICE, "service %s: backend '%s' resolves "
	    "now, to %zu address%s", harbor_service_name(
	    harbor_conn_service(c)), fs->target, fc->naddrs,
	    fc->naddrs == 1 ? "" : "es");
}

/* On the connection's loop, once the resolver thread has finished: the
 * addresses, or the reason there are none. */
static void
forward_resolved(struct harbor_conn *c, void *arg, int gone)
{
	struct forward_state	*fs;
	struct forward_conn	*fc;
	long long		 waited;
	char			 why[640];
	int			 r, say = 0;

	if (gone)
		return;		/* its close has taken it out, and freed it */
	fs = harbor_conn_service_state(c);
	fc = harbor_conn_get_data(c);
	harbor_timer_stop(fc->deadline);
	mutex_lock(&fs->lock);
	r = addresses_known(fs, fc, &say, why, sizeof why);
	mutex_unlock(&fs->lock);
	if (r == -1) {
		give_up(c, why);
		return;
	}
	if (say)
		say_resolved(c, fs, fc);
	/* The wait counts against the first address's time. */
	waited = now_ms() - fc->waited_from;
	fc->first_ms = waited < 0 ? fs->timeout_ms : waited >=
	    (long long)fs->timeout_ms ? 1 : fs->timeout_ms - (unsigned)waited;
	forward_try(c);
}

/* The deadline of a connection waiting for the resolver: it is let go
 * (its close takes it out of the list). */
static void
forward_resolve_late(struct harbor_conn *c, void *arg)
{
	const struct forward_state	*fs = harbor_conn_service_state(c);
	char				 why[480];

	snprintf(why, sizeof why, "cannot resolve backend '%s': no answer "
	    "from the resolver in %u ms", fs->target, fs->timeout_ms);
	give_up(c, why);
}

/* The resolver thread: one resolution, its outcome kept and posted to
 * every connection waiting for it. */
static void
resolver_run(void *arg)
{
	struct forward_state	*fs = arg;
	struct forward_addr	 found[FORWARD_MAX_ADDRS];
	struct forward_conn	*w, *next;
	char			 why[128];
	size_t			 n;
	int			 last;

	/* host and port never change: read without the lock. */
	n = backend_resolve(fs->host, fs->port, found, why, sizeof why);
	mutex_lock(&fs->lock);
	if (n > 0) {
		memcpy(fs->addrs, found, n * sizeof found[0]);
		fs->naddrs = n;
	} else {
		fs->failed_at = now_ms();
		snprintf(fs->failure, sizeof fs->failure, "%s", why);
	}
	fs->resolving = 0;
	/* Posted and released under the lock: once out of the list, a
	 * connection's close may free its entry. */
	for (w = fs->waiting; w != NULL; w = next) {
		next = w->next_waiting;
		w->listed = 0;
		w->prev = w->next_waiting = NULL;
		/* Without memory for the post, its deadline lets it go. */
		(void)harbor_conn_post(w->conn, forward_resolved, NULL);
		harbor_conn_release(w->conn);
	}
	fs->waiting = NULL;
	last = --fs->refs == 0;
	mutex_unlock(&fs->lock);
	if (last) {
		mutex_destroy(&fs->lock);
		free(fs);
	}
}

/* A thread to resolve the name again, unless one is at it.  Under
 * fs->lock.  0, or -1 with why. */
static int
resolution_start(struct forward_state *fs, struct harbor_conn *c,
    char *why, size_t whylen)
{
	thread_t	t;

	if (fs->resolving)
		return 0;
	fs->refs++;
	if (thread_create(&t, resolver_run, fs) == -1) {
		fs->refs--;
		snprintf(why, whylen, "cannot resolve backend '%s': cannot "
		    "start a thread for it", fs->target);
		return -1;
	}
	thread_detach(t);
	fs->resolving = 1;
	harbor_log(HARBOR_LOG_DEBUG, "service %s: resolving backend '%s' "
	    "again, for conn %llu", harbor_service_name(
	    harbor_conn_service(c)), fs->target,
	    (unsigned long long)harbor_conn_id(c));
	return 0;
}

/* The connection waits for the resolution: held, listed, within its
 * deadline.  Under fs->lock.  0, or -1 with why. */
static int
wait_for_resolution(struct forward_state *fs, struct harbor_conn *c,
    struct forward_conn *fc, char *why, size_t whylen)
{
	long long	now = now_ms();

	/* A flood of clients is at most a query a second. */
	if (!fs->resolving && fs->failed_at != 0 && now >= fs->failed_at &&
	    now - fs->failed_at < FORWARD_RETRY_MS) {
		snprintf(why, whylen, "cannot resolve backend '%s': %s (tried "
		    "%lld ms ago; tried again at most once a second)",
		    fs->target, fs->failure, now - fs->failed_at);
		return -1;
	}
	if ((fc->deadline = harbor_timer_new(c, forward_resolve_late,
	    NULL)) == NULL || harbor_timer_start(fc->deadline,
	    fs->timeout_ms) == -1) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (resolution_start(fs, c, why, whylen) == -1) {
		harbor_timer_stop(fc->deadline);
		return -1;
	}
	fc->waited_from = now;
	harbor_conn_hold(c);
	fc->listed = 1;
	fc->next_waiting = fs->waiting;
	if (fs->waiting != NULL)
		fs->waiting->prev = fc;
	fs->waiting = fc;
	return 0;
}

static void
forward_open(struct harbor_conn *c)
{
	struct forward_state	*fs = harbor_conn_service_state(c);
	struct forward_conn	*fc;
	char			 why[640];
	int			 r, say = 0;

	if ((fc = calloc(1, sizeof *fc)) == NULL) {
		(void)harbor_conn_fail(c, "out of memory");
		return;
	}
	fc->conn = c;
	harbor_conn_set_data(c, fc);
	/* What the client sends waits until the backend is there. */
	harbor_conn_pause_input(c);
	mutex_lock(&fs->lock);
	r = fs->naddrs > 0 ? addresses_known(fs, fc, &say, why, sizeof why) :
	    wait_for_resolution(fs, c, fc, why, sizeof why) == -1 ? -1 : 1;
	mutex_unlock(&fs->lock);
	if (r == -1)
		give_up(c, why);
	else if (r == 0) {
		if (say)
			say_resolved(c, fs, fc);
		forward_try(c);
	}
}

static void
forward_close(struct harbor_conn *c)
{
	struct forward_state	*fs = harbor_conn_service_state(c);
	struct forward_conn	*fc = harbor_conn_get_data(c);
	int			 held = 0;

	if (fc == NULL)
		return;
	mutex_lock(&fs->lock);
	if (fc->listed) {
		if (fc->prev != NULL)
			fc->prev->next_waiting = fc->next_waiting;
		else
			fs->waiting = fc->next_waiting;
		if (fc->next_waiting != NULL)
			fc->next_waiting->prev = fc->prev;
		fc->listed = 0;
		held = 1;
	}
	mutex_unlock(&fs->lock);
	if (held)
		harbor_conn_release(c);
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
