/*
 * The acceptor: listening sockets and admission, on the I/O loops.
 *
 * Sockets are opened (listener_bind) before any event base exists, so a
 * program can bind privileged ports and then fork or drop privileges; when
 * the server starts, every I/O loop accepts from each of them
 * (listener_enable), and serves the clients it accepts itself unless
 * another loop has noticeably fewer: a client costs no hand-over between
 * threads, and a loop busy with its clients leaves the next one to a loop
 * that is free.  Admission checks run here, before a connection costs
 * anything more than its fd.  When accept fails for want of descriptors or
 * memory, every listener is paused for a second: libevent would otherwise
 * retry at once, forever, at full CPU.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
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

#include <event2/listener.h>

#include "server.h"

#define ACCEPT_PAUSE_SECONDS	1
/* The flags harbor_listen_open_opts() knows. */
#define LISTEN_FLAGS		((unsigned)HARBOR_LISTEN_REUSE_PORT)

/* listen(2) with the service's backlog, or the system's bound on it if
 * that is less (which listen would take silently): said in the log. */
static int
listener_listen(struct listener *l)
{
	unsigned	want = l->svc->backlog;
	int		max = compat_somaxconn(), backlog;

	backlog = want > INT_MAX ? INT_MAX : (int)want;
	if (max > 0 && backlog > max) {
		svc_log(l->svc, HARBOR_LOG_NOTICE, "service %s: backlog %u is "
		    "more than the system allows; %d (somaxconn) it is",
		    l->svc->name, want, max);
		backlog = max;
	}
	if (listen(l->fd, backlog) == -1)
		return -1;
	l->backlog = want;
	return 0;
}

/* A socket bound to sa, close-on-exec and non-blocking (libevent leaves a
 * socket it is given as it is, and a blocking accept would stall the main
 * loop whenever a client is gone before we get to it), or -1 with the
 * socket error in *e.  SO_REUSEPORT, if flags ask for it, must come
 * before the bind: the system checks it there, against the sockets bound
 * to the port already. */
static evutil_socket_t
socket_bound(const struct sockaddr *sa, ev_socklen_t salen, unsigned flags,
    int *e)
{
	evutil_socket_t	fd;
	int		on = 1;

	fd = socket(sa->sa_family, SOCK_STREAM, 0);
	if (fd == (evutil_socket_t)EVUTIL_INVALID_SOCKET) {
		*e = EVUTIL_SOCKET_ERROR();
		return EVUTIL_INVALID_SOCKET;
	}
	/* "*:7" binds IPv4 and IPv6 separately; each socket sticks to its
	 * own family everywhere, whatever the system default. */
	if (evutil_make_socket_closeonexec(fd) == -1 ||
	    evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_listen_socket_reuseable(fd) == -1 ||
	    ((flags & HARBOR_LISTEN_REUSE_PORT) &&
	    compat_socket_reuseport((intptr_t)fd) == -1) ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, (const void *)&on, sizeof on) == -1) ||
	    bind(fd, sa, salen) == -1) {
		*e = EVUTIL_SOCKET_ERROR();
		evutil_closesocket(fd);
		return EVUTIL_INVALID_SOCKET;
	}
	return fd;
}

harbor_socket_t
harbor_listen_open(const char *address, unsigned backlog, char *err,
    size_t errlen)
{
	return harbor_listen_open_opts(address, backlog, 0, err, errlen);
}

harbor_socket_t
harbor_listen_open_opts(const char *address, unsigned backlog,
    unsigned flags, char *err, size_t errlen)
{
	struct harbor_addr	a[ADDR_PARSE_MAX];
	evutil_socket_t		fd;
	size_t			n;
	int			e, max = compat_somaxconn();
	int			b = backlog > INT_MAX ? INT_MAX : (int)backlog;

	/* A flag of a newer library is not ignored: the caller counts on
	 * what it asks. */
	if (flags & ~LISTEN_FLAGS) {
		snprintf(err, errlen, "cannot listen on %s: unknown flags "
		    "0x%x", address, flags & ~LISTEN_FLAGS);
		return -1;
	}
	if ((flags & HARBOR_LISTEN_REUSE_PORT) &&
	    compat_reuseport_name() == NULL) {
		snprintf(err, errlen, "cannot listen on %s: this system has no "
		    "SO_REUSEPORT", address);
		return -1;
	}
	if (addr_parse(address, a, &n, err, errlen) == -1)
		return -1;
	if (n != 1) {
		snprintf(err, errlen, "'%s' stands for %zu addresses; give "
		    "one", address, n);
		return -1;
	}
	if ((fd = socket_bound((struct sockaddr *)&a[0].ss, a[0].len, flags,
	    &e)) == (evutil_socket_t)EVUTIL_INVALID_SOCKET)
		goto fail;
	if (listen(fd, max > 0 && b > max ? max : b) == -1) {
		e = EVUTIL_SOCKET_ERROR();
		evutil_closesocket(fd);
		goto fail;
	}
	return (harbor_socket_t)fd;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", address,
	    evutil_socket_error_to_string(e));
	return -1;
}

/* A socket the program's listen function gave: it must be one, of the
 * address's family, not a descriptor of something else. */
static int
socket_given_check(evutil_socket_t fd, const struct sockaddr *want, int *e)
{
	struct sockaddr_storage	ss;
	ev_socklen_t		len = sizeof ss;
	int			type = 0;
	ev_socklen_t		tlen = sizeof type;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, (void *)&type, &tlen) == -1) {
		*e = EVUTIL_SOCKET_ERROR();
		return -1;
	}
	if (type != SOCK_STREAM || ss.ss_family != want->sa_family) {
		*e = EINVAL;
		return -1;
	}
	if (evutil_make_socket_closeonexec(fd) == -1 ||
	    evutil_make_socket_nonblocking(fd) == -1) {
		*e = EVUTIL_SOCKET_ERROR();
		return -1;
	}
	return 0;
}

int
listener_bind(struct listener *l, char *err, size_t errlen)
{
	const struct sockaddr	*sa = (const struct sockaddr *)&l->addr.ss;
	struct harbor_server	*srv = l->server;
	struct sockaddr_storage	 bound;
	ev_socklen_t		 boundlen = sizeof bound;
	evutil_socket_t		 fd;
	char			 why[256];
	int			 e = 0;

	if (srv->listen_fn != NULL) {
		why[0] = '\0';
		fd = (evutil_socket_t)srv->listen_fn(l->svc->name, l->key, sa,
		    l->addr.len,
		    srv->listen_arg, why, sizeof why);
		if (fd == (evutil_socket_t)EVUTIL_INVALID_SOCKET) {
			snprintf(err, errlen, "service '%s': cannot listen on "
			    "%s: %s", l->svc->name, l->key, why[0] != '\0' ?
			    why : "no socket for it");
			return -1;
		}
		if (socket_given_check(fd, sa, &e) == -1)
			goto fail_close;
	} else if ((fd = socket_bound(sa, l->addr.len, l->svc->reuse_port ?
	    HARBOR_LISTEN_REUSE_PORT : 0, &e)) ==
	    (evutil_socket_t)EVUTIL_INVALID_SOCKET)
		goto fail;
	l->fd = fd;
	if (listener_listen(l) == -1) {
		e = EVUTIL_SOCKET_ERROR();
		l->fd = EVUTIL_INVALID_SOCKET;
		goto fail_close;
	}
	/* With port 0 the system picked the port: say which, and keep it
	 * (the loop guard and the acceptor need the real one). */
	if (getsockname(fd, (struct sockaddr *)&bound, &boundlen) == 0) {
		addr_format((struct sockaddr *)&bound, l->bound,
		    sizeof l->bound);
		if ((size_t)boundlen <= sizeof l->addr.ss) {
			memcpy(&l->addr.ss, &bound, boundlen);
			l->addr.len = boundlen;
		}
	} else
		strlcpy(l->bound, l->key, sizeof l->bound);
	loopguard_listening(l->server->host.loopguard,
	    (const struct sockaddr *)&l->addr.ss);
	return 0;

fail_close:
	evutil_closesocket(fd);
fail:
	snprintf(err, errlen, "service '%s': cannot listen on %s: %s",
	    l->svc->name, l->key, evutil_socket_error_to_string(e));
	return -1;
}

/* A client turned away before it costs more than its descriptor. */
static void
acceptor_refuse(struct harbor_service *svc, evutil_socket_t fd,
    const struct sockaddr *peer, enum refusal kind, const char *why)
{
	char	peerstr[HARBOR_ADDRSTRLEN];

	addr_format(peer, peerstr, sizeof peerstr);
	admission_log(svc, kind, "service %s: refused %s: %s", svc->name,
	    peerstr, why);
	evutil_closesocket(fd);
}

static void
acceptor_admit(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *peer, int peerlen, void *arg)
{
	struct listener_on	*on = arg;
	struct listener		*l = on->l;
	struct harbor_server	*srv = l->server;
	struct harbor_service	*svc = l->svc;
	const struct sockaddr	*here = (const struct sockaddr *)&l->addr.ss;
	struct conn_admitted	 a;
	char			 why[128];
	struct timeval		 now;
	enum refusal		 r;

	(void)evl;
	memset(&a, 0, sizeof a);
	event_base_gettimeofday_cached(on->loop->base, &now);
	if ((r = admission_loop(svc, peer, here, fd, &a.hops, why,
	    sizeof why)) != REFUSE_NONE) {
		acceptor_refuse(svc, fd, peer, r, why);
		return;
	}
	/* Behind a proxy the client is known once its PROXY header is read:
	 * until then only the proxy is checked. */
	if ((r = svc->proxy_versions != 0 ? admission_proxied(svc, peer,
	    &a.ticket, why, sizeof why) : admission_decide(svc, peer,
	    tv_ms(&now), &a.ticket, why, sizeof why)) != REFUSE_NONE) {
		free(a.hops);
		acceptor_refuse(svc, fd, peer, r, why);
		return;
	}
	stats_accepted(stats_slot(svc->stats, on->loop->index));
	a.fd = fd;
	a.peer = peer;
	a.peerlen = peerlen;
	if (!addr_is_any(here)) {
		a.local = here;
		a.locallen = l->addr.len;
	}
	a.stage = svc->proxy_versions != 0 ? &proxy_stage : NULL;
	a.id = atomic_fetch_add(&srv->next_conn_id, 1) + 1;
	if (svc->log_connections && svc_log_enabled(svc, HARBOR_LOG_INFO)) {
		char	peerstr[HARBOR_ADDRSTRLEN];

		addr_format(peer, peerstr, sizeof peerstr);
		svc_log(svc, HARBOR_LOG_INFO, "service %s: accepted %s (conn "
		    "%llu)", svc->name, peerstr, (unsigned long long)a.id);
	}
	conn_accepted(svc, server_pick_loop(srv, on->loop), on->loop, &a);
}

/* fn(on, arg) for each loop's part of l, on that loop's thread. */
struct listener_each_call {
	void			(*fn)(struct listener_on *, void *);
	struct listener_on	*on;
	void			*arg;
};

static void
listener_each_run(void *arg)
{
	struct listener_each_call	*call = arg;

	call->fn(call->on, call->arg);
}

static void
listener_each(struct listener *l, void (*fn)(struct listener_on *, void *),
    void *arg)
{
	struct listener_each_call	call;
	int				i;

	if (l->on == NULL)
		return;
	for (i = 0; i < l->server->nloops; i++) {
		call.fn = fn;
		call.on = &l->on[i];
		call.arg = arg;
		loop_run(l->on[i].loop, listener_each_run, &call);
	}
}

static void
on_accepting(struct listener_on *on, void *arg)
{
	if (on->evl == NULL)
		return;
	if (*(const int *)arg)
		(void)evconnlistener_enable(on->evl);
	else
		(void)evconnlistener_disable(on->evl);
}

static void
listener_accepting(struct listener *l, int accepting)
{
	listener_each(l, on_accepting, &accepting);
}

static void
acceptor_resume(evutil_socket_t fd, short what, void *arg)
{
	struct harbor_server	*srv = arg;
	struct listener		*l;

	srv->accept_paused = 0;
	if (atomic_load(&srv->host.shutting_down))
		return;
	for (l = srv->listeners; l != NULL; l = l->next)
		if (!l->paused)
			listener_accepting(l, 1);
	log_notice("accepting again");
}

/* On the main loop, activated by the loop whose accept failed. */
static void
acceptor_pause(evutil_socket_t fd, short what, void *arg)
{
	struct timeval		 tv = { ACCEPT_PAUSE_SECONDS, 0 };
	struct harbor_server	*srv = arg;
	struct listener		*l;

	if (srv->accept_paused || atomic_load(&srv->host.shutting_down))
		return;
	srv->accept_paused = 1;
	for (l = srv->listeners; l != NULL; l = l->next)
		listener_accepting(l, 0);
	(void)evtimer_add(srv->resume_ev, &tv);
}

static void
acceptor_error(struct evconnlistener *evl, void *arg)
{
	struct listener_on	*on = arg;
	struct listener		*l = on->l;
	int			 e = EVUTIL_SOCKET_ERROR();

	switch (e) {
#ifdef EMFILE
	case EMFILE:
#endif
#ifdef ENFILE
	case ENFILE:
#endif
	case ENOBUFS:
	case ENOMEM:
		log_warn("accept on %s failed: %s; pausing accept for %d s",
		    l->bound, evutil_socket_error_to_string(e),
		    ACCEPT_PAUSE_SECONDS);
		/* This loop stops now; the main loop stops the others and
		 * starts them all again a second later. */
		(void)evconnlistener_disable(evl);
		event_active(l->server->pause_ev, EV_TIMEOUT, 0);
		break;
	default:
		log_warn("accept on %s failed: %s", l->bound,
		    evutil_socket_error_to_string(e));
		break;
	}
}

static void
on_start(struct listener_on *on, void *arg)
{
	/* Backlog 0: the socket listens already, with harbord's backlog
	 * (libevent's -1 would listen again with 128).  No
	 * LEV_OPT_CLOSE_ON_FREE: the loops share the socket.
	 * LEV_OPT_CLOSE_ON_EXEC is for the clients' sockets (accept4's
	 * SOCK_CLOEXEC): a program exec runs inherits its own client only. */
	on->evl = evconnlistener_new(on->loop->base, acceptor_admit, on,
	    LEV_OPT_CLOSE_ON_EXEC | (*(const int *)arg ? 0 : LEV_OPT_DISABLED),
	    0, on->l->fd);
	if (on->evl != NULL)
		evconnlistener_set_error_cb(on->evl, acceptor_error);
}

static void
on_stop(struct listener_on *on, void *arg)
{
	(void)arg;
	if (on->evl != NULL)
		evconnlistener_free(on->evl);
	on->evl = NULL;
}

static void
listener_stop(struct listener *l)
{
	listener_each(l, on_stop, NULL);
	free(l->on);
	l->on = NULL;
}

int
listener_enable(struct listener *l, char *err, size_t errlen)
{
	struct harbor_server	*srv = l->server;
	int			 i, accepting;

	if ((l->on = calloc((size_t)srv->nloops, sizeof *l->on)) == NULL) {
		snprintf(err, errlen, "service '%s': cannot accept on %s: out "
		    "of memory", l->svc->name, l->key);
		return -1;
	}
	for (i = 0; i < srv->nloops; i++) {
		l->on[i].l = l;
		l->on[i].loop = &srv->loops[i];
	}
	accepting = !srv->accept_paused && !l->paused;
	listener_each(l, on_start, &accepting);
	for (i = 0; i < srv->nloops; i++)
		if (l->on[i].evl == NULL) {
			listener_stop(l);
			snprintf(err, errlen, "service '%s': cannot accept on %s",
			    l->svc->name, l->key);
			return -1;
		}
	svc_log(l->svc, HARBOR_LOG_NOTICE, "service %s listening on %s",
	    l->svc->name, l->bound);
	return 0;
}

static void
on_retarget(struct listener_on *on, void *arg)
{
	on->l = arg;
}

/* Reload: l serves old's address from now on, with old's socket, for l's
 * service; old is left empty, to be freed. */
void
listener_take_over(struct listener *l, struct listener *old)
{
	l->fd = old->fd;
	l->on = old->on;
	l->addr = old->addr;		/* the port it really has */
	l->backlog = old->backlog;
	memcpy(l->bound, old->bound, sizeof l->bound);
	l->paused = old->paused;
	l->refusing = old->refusing;
	old->fd = EVUTIL_INVALID_SOCKET;
	old->on = NULL;
	l->takes_over = NULL;
	/* listen(2) again sets a new backlog on the socket as it is (one
	 * that refuses connections gets it when it listens again). */
	if (l->svc->backlog != l->backlog && !l->refusing &&
	    listener_listen(l) == -1)
		svc_log(l->svc, HARBOR_LOG_WARNING, "service %s: cannot set "
		    "backlog %u on %s: %s", l->svc->name, l->svc->backlog, l->bound,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	/* Once each loop has run this, none accepts for old any more. */
	listener_each(l, on_retarget, l);
	if (strcmp(l->svc->name, old->svc->name) != 0)
		svc_log(l->svc, HARBOR_LOG_NOTICE, "service %s listening on %s "
		    "(taken over from service %s)", l->svc->name, l->bound,
		    old->svc->name);
}

void
listener_free(struct listener *l)
{
	listener_stop(l);
	if (l->fd != (evutil_socket_t)EVUTIL_INVALID_SOCKET)
		evutil_closesocket(l->fd);
	if (l->svc != NULL)
		service_release(l->svc);
	free(l->key);
	free(l);
}

int
listener_accepts(const struct listener *l)
{
	return l->on != NULL;
}

/* Serves what the kernel has queued on the socket: on a loop (the first:
 * its listener part does the admitting), every loop's part stopped. */
static void
on_accept_queued(struct listener_on *on, void *arg)
{
	struct sockaddr_storage	ss;
	ev_socklen_t		len;
	evutil_socket_t		fd;
	int			n;

	(void)arg;
	if (on->loop != &on->l->server->loops[0])
		return;
	/* Bounded: a flood goes on arriving while this runs. */
	for (n = 0; n < 4096; n++) {
		len = sizeof ss;
		fd = accept(on->l->fd, (struct sockaddr *)&ss, &len);
		if (fd == (evutil_socket_t)EVUTIL_INVALID_SOCKET)
			break;
		if (evutil_make_socket_nonblocking(fd) == -1 ||
		    evutil_make_socket_closeonexec(fd) == -1) {
			evutil_closesocket(fd);
			continue;
		}
		acceptor_admit(on->evl, fd, (struct sockaddr *)&ss, (int)len,
		    on);
	}
}

int
listener_pause(struct listener *l, int pause, char *err, size_t errlen)
{
	struct harbor_server	*srv = l->server;

	if (pause == l->paused)
		return 0;
	if (pause) {
		listener_accepting(l, 0);
		/* Clients the kernel has queued already are served: stopping
		 * the socket would reset them. */
		listener_each(l, on_accept_queued, NULL);
		l->refusing = compat_listen_stop((intptr_t)l->fd) == 0;
		l->paused = 1;
		return 0;
	}
	if (l->refusing) {
		if (compat_listen_rebind((intptr_t)l->fd,
		    (struct sockaddr *)&l->addr.ss, l->addr.len) == -1 ||
		    listener_listen(l) == -1) {
			snprintf(err, errlen, "service '%s': cannot listen on "
			    "%s again: %s", l->svc->name, l->bound,
			    evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
			return -1;
		}
		l->refusing = 0;
	}
	l->paused = 0;
	if (!srv->accept_paused && !atomic_load(&srv->host.shutting_down))
		listener_accepting(l, 1);
	return 0;
}

int
acceptor_init(struct harbor_server *srv)
{
	srv->resume_ev = evtimer_new(srv->host.base, acceptor_resume, srv);
	srv->pause_ev = event_new(srv->host.base, -1, 0, acceptor_pause, srv);
	return srv->resume_ev != NULL && srv->pause_ev != NULL ? 0 : -1;
}

void
acceptor_stop(struct harbor_server *srv)
{
	if (srv->resume_ev != NULL) {
		event_free(srv->resume_ev);
		srv->resume_ev = NULL;
	}
	if (srv->pause_ev != NULL) {
		event_free(srv->pause_ev);
		srv->pause_ev = NULL;
	}
}
