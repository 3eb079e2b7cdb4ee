/*
 * The server: its services and listeners, the main loop, the I/O loops and
 * the worker pool, and the three things that change them as a whole:
 * start, reload (harbor_server_replace_services) and shutdown.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#else
#include <unistd.h>
#endif

#include <event2/thread.h>

#include "server.h"

#define SHUTDOWN_TICK_MS	20

static void	server_log_flush_soon(struct conn_host *);

/* The settings of the first version of the interface end here. */
#define SETTINGS_V1_SIZE	(offsetof(struct harbor_server_settings, \
				    max_connections) + sizeof(unsigned))

/* The I/O loops the settings make: io-threads 0 is one, the main loop. */
static int
server_loops_wanted(const struct harbor_server_settings *s)
{
	return s->io_threads > 0 ? s->io_threads : 1;
}

void
harbor_server_settings_default(struct harbor_server_settings *s)
{
	s->size = sizeof *s;
	s->io_threads = -1;
	s->workers = -1;
	s->queue_size = 0;
	s->max_connections = 0;
}

int
harbor_cpu_count(void)
{
#ifdef _WIN32
	SYSTEM_INFO	si;

	GetSystemInfo(&si);
	return si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
#else
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
#endif
}

/* As much of the caller's settings as its size says it has; the rest stay
 * defaults.  A newer caller's settings are taken if all it has beyond
 * this library's are zero, which asks for nothing this library lacks. */
static int
settings_take(struct harbor_server_settings *to,
    const struct harbor_server_settings *from)
{
	const unsigned char	*extra = (const unsigned char *)from;
	size_t			 i, n = from->size;

	if (n < SETTINGS_V1_SIZE) {
		log_err("harbor_server_new: settings of %zu bytes, fewer than "
		    "any version of them has (%zu): were they made by "
		    "harbor_server_settings_default()?", n,
		    (size_t)SETTINGS_V1_SIZE);
		return -1;
	}
	for (i = sizeof *to; i < n; i++)
		if (extra[i] != 0) {
			log_err("harbor_server_new: settings of %zu bytes have "
			    "something set beyond the %zu this libharbor "
			    "knows: the program needs a newer libharbor", n,
			    sizeof *to);
			return -1;
		}
	memcpy(to, from, n < sizeof *to ? n : sizeof *to);
	to->size = sizeof *to;
	return 0;
}

struct harbor_server *
harbor_server_new(const struct harbor_server_settings *settings)
{
	struct harbor_server	*srv;
#ifdef _WIN32
	WSADATA			 wsa;

	/* Winsock counts its users: one for each server, so that sockets
	 * work from harbor_server_bind() on, whoever else uses Winsock. */
	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
		return NULL;
#endif

	if ((srv = calloc(1, sizeof *srv)) == NULL) {
#ifdef _WIN32
		(void)WSACleanup();
#endif
		return NULL;
	}
	harbor_server_settings_default(&srv->settings);
	if (settings != NULL && settings_take(&srv->settings, settings) == -1) {
		free(srv);
#ifdef _WIN32
		(void)WSACleanup();
#endif
		return NULL;
	}
	/* A CPU is left to the kernel's network processing, the main loop
	 * and the workers: a loop more than that takes turns with them on a
	 * CPU and costs more in wake-ups than it serves. */
	if (srv->settings.io_threads < 0)
		srv->settings.io_threads = harbor_cpu_count() > 1 ?
		    harbor_cpu_count() - 1 : 1;
	if (srv->settings.workers < 1)
		srv->settings.workers = harbor_cpu_count();
	atomic_init(&srv->host.nconns, 0);
	atomic_init(&srv->host.shutting_down, 0);
	mutex_init(&srv->svcs_lock);
	atomic_init(&srv->reloads_ok, 0);
	atomic_init(&srv->reloads_failed, 0);
	srv->host.max_connections = srv->settings.max_connections;
	srv->host.log_flush_soon = server_log_flush_soon;
	srv->host.stats_slots = (unsigned)server_loops_wanted(&srv->settings);
	atomic_init(&srv->next_conn_id, 0);
	atomic_init(&srv->log_flush_due, 0);
	if ((srv->host.loopguard = loopguard_new()) == NULL) {
		free(srv);
#ifdef _WIN32
		(void)WSACleanup();
#endif
		return NULL;
	}
	return srv;
}

void
harbor_server_get_settings(const struct harbor_server *srv,
    struct harbor_server_settings *s)
{
	size_t	n = s->size < sizeof *s ? s->size : sizeof *s;

	memcpy(s, &srv->settings, n);
	s->size = n;
}

static int
server_has_service(struct harbor_service **svcs, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(svcs[i]->name, name) == 0)
			return 1;
	return 0;
}

static int
server_starts_children(struct harbor_service **svcs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (svcs[i]->handler->flags & HARBOR_HANDLER_CHILDREN)
			return 1;
	return 0;
}

/* The service is the server's: its counters have a slot for each of the
 * server's threads. */
static int
server_adopt(struct harbor_server *srv, struct harbor_service *svc, char *err,
    size_t errlen)
{
	svc->server = srv;
	svc->host = &srv->host;
	if (svc->stats == NULL &&
	    (svc->stats = stats_new(srv->host.stats_slots)) == NULL) {
		snprintf(err, errlen, "service '%s': out of memory", svc->name);
		return -1;
	}
	return 0;
}

int
harbor_server_add_service(struct harbor_server *srv,
    struct harbor_service *svc, char *err, size_t errlen)
{
	struct harbor_service	**grown;

	if (srv->started) {
		snprintf(err, errlen, "the server is running; use "
		    "harbor_server_replace_services");
		goto fail;
	}
	if (server_has_service(srv->svcs, srv->nsvcs, svc->name)) {
		snprintf(err, errlen, "duplicate service '%s'", svc->name);
		goto fail;
	}
	if (server_adopt(srv, svc, err, errlen) == -1 ||
	    service_start(svc, err, errlen) == -1)
		goto fail;
	grown = realloc(srv->svcs, (srv->nsvcs + 1) * sizeof *grown);
	if (grown == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	mutex_lock(&srv->svcs_lock);
	srv->svcs = grown;
	srv->svcs[srv->nsvcs++] = svc;
	mutex_unlock(&srv->svcs_lock);
	return 0;
fail:
	service_release(svc);
	return -1;
}

static void
listeners_free(struct listener *l)
{
	struct listener	*next;

	for (; l != NULL; l = next) {
		next = l->next;
		listener_free(l);
	}
}

/* Whether an old listener serves key: as configured, or -- port 0 having
 * become a port of its own -- as bound. */
static int
listener_serves(const struct listener *o, const char *key)
{
	return strcmp(o->key, key) == 0 || strcmp(o->bound, key) == 0;
}

/* The old listener a new one for key and service takes the socket of:
 * the same service's first, else any service's on that address.  Port 0
 * means "a port of your own", so those go to the same service only. */
static struct listener *
listener_to_take_over(struct listener *old, const char *key,
    const char *service)
{
	struct listener	*o;
	size_t		 len = strlen(key);

	for (o = old; o != NULL; o = o->next)
		if (!o->claimed && listener_serves(o, key) &&
		    strcmp(o->svc->name, service) == 0)
			return o;
	if (len >= 2 && strcmp(key + len - 2, ":0") == 0)
		return NULL;
	for (o = old; o != NULL; o = o->next)
		if (!o->claimed && listener_serves(o, key))
			return o;
	return NULL;
}

/* Makes a listener for every address of svcs.  One whose address is
 * already served by a listener in `old` is marked to take over that
 * listener's socket at commit (listener_take_over); the others are bound
 * now.  Nothing in `old` changes, so a failure leaves the server as it
 * was. */
static int
server_make_listeners(struct harbor_server *srv, struct harbor_service **svcs,
    size_t nsvcs, struct listener *old, struct listener **out,
    char *err, size_t errlen)
{
	struct harbor_addr	 addrs[ADDR_PARSE_MAX];
	struct listener		*made = NULL, **tail = &made, *l, *o;
	char			 key[HARBOR_ADDRSTRLEN];
	size_t			 i, j, k, n;

	for (o = old; o != NULL; o = o->next)
		o->claimed = 0;
	for (i = 0; i < nsvcs; i++) {
		for (j = 0; j < svcs[i]->nlisten; j++) {
			if (addr_parse(svcs[i]->listen[j], addrs, &n, err,
			    errlen) == -1)
				goto fail;
			for (k = 0; k < n; k++) {
				addr_format((struct sockaddr *)&addrs[k].ss,
				    key, sizeof key);
				if ((l = calloc(1, sizeof *l)) == NULL ||
				    (l->key = strdup(key)) == NULL) {
					free(l);
					snprintf(err, errlen, "out of memory");
					goto fail;
				}
				l->fd = EVUTIL_INVALID_SOCKET;
				l->addr = addrs[k];
				l->server = srv;
				l->svc = svcs[i];
				service_hold(l->svc);
				*tail = l;	/* in the order configured */
				tail = &l->next;
				o = listener_to_take_over(old, key,
				    svcs[i]->name);
				if (o != NULL) {
					o->claimed = 1;
					l->takes_over = o;
				} else if (listener_bind(l, err, errlen) == -1)
					goto fail;
			}
		}
	}
	*out = made;
	return 0;
fail:
	listeners_free(made);
	return -1;
}

int
harbor_server_bind(struct harbor_server *srv, char *err, size_t errlen)
{
	if (srv->started) {
		snprintf(err, errlen, "the server is already running");
		return -1;
	}
	listeners_free(srv->listeners);
	srv->listeners = NULL;
	return server_make_listeners(srv, srv->svcs, srv->nsvcs, NULL,
	    &srv->listeners, err, errlen);
}

/* What the services' log limits held back, said. */
static void
server_log_flush(evutil_socket_t fd, short what, void *arg)
{
	struct harbor_server	*srv = arg;
	size_t			 i;

	atomic_store(&srv->log_flush_due, 0);
	for (i = 0; i < srv->nsvcs; i++)
		loglimit_flush(&srv->svcs[i]->limits->log, srv->svcs[i]->name);
}

static void
server_log_flush_soon(struct conn_host *host)
{
	struct harbor_server	*srv = (struct harbor_server *)host;
	struct timeval		 tv = { 1, 0 };

	if (srv->log_flush_ev != NULL &&
	    !atomic_exchange(&srv->log_flush_due, 1))
		(void)evtimer_add(srv->log_flush_ev, &tv);
}

int
harbor_server_start(struct harbor_server *srv, char *err, size_t errlen)
{
	int		 i;

	if (srv->started) {
		snprintf(err, errlen, "the server is already running");
		return -1;
	}
	/* Before the first event base, or its locks are never set up. */
#ifdef _WIN32
	if (evthread_use_windows_threads() == -1) {
#else
	if (evthread_use_pthreads() == -1) {
#endif
		snprintf(err, errlen, "cannot enable libevent threading");
		return -1;
	}
	if ((srv->host.base = event_base_new()) == NULL ||
	    acceptor_init(srv) == -1 || (srv->log_flush_ev =
	    evtimer_new(srv->host.base, server_log_flush, srv)) == NULL) {
		snprintf(err, errlen, "cannot create the main event loop");
		return -1;
	}
	srv->nloops = server_loops_wanted(&srv->settings);
	if ((srv->loops = calloc((size_t)srv->nloops,
	    sizeof *srv->loops)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < srv->nloops; i++) {
		srv->loops[i].index = (unsigned)i;
		if (loop_init(&srv->loops[i],
		    srv->settings.io_threads > 0 ? NULL : srv->host.base) == -1) {
			snprintf(err, errlen, "cannot create I/O loop %d", i);
			return -1;
		}
	}
	srv->host.pool = pool_new(srv->settings.workers, srv->settings.queue_size);
	if (srv->host.pool == NULL) {
		snprintf(err, errlen, "cannot start %d worker threads",
		    srv->settings.workers);
		return -1;
	}
	for (i = 0; i < srv->nloops; i++) {
		if (loop_run_thread(&srv->loops[i]) == -1) {
			snprintf(err, errlen, "cannot start I/O thread %d", i);
			return -1;
		}
	}
	if (server_starts_children(srv->svcs, srv->nsvcs) &&
	    children_start(&srv->host) == -1) {
		snprintf(err, errlen, "cannot watch for exited children "
		    "(SIGCHLD)");
		return -1;
	}
	srv->started = 1;
	srv->started_at = time(NULL);
	return 0;
}

struct event_base *
harbor_server_base(struct harbor_server *srv)
{
	return srv->host.base;
}

int
harbor_server_run(struct harbor_server *srv)
{
	struct listener		*l;
	struct sigpipe_hold	 pipe;
	char			 err[256];
	int			 r;

	if (!srv->started)
		return -1;
	/* A shutdown may have finished before the loop ran, and the loop
	 * forgets an earlier loopbreak when it starts. */
	if (srv->finished)
		return 0;
	/* Accepting starts here, not in harbor_server_start(): by now the
	 * program has its signal events on the main loop, so a client or a
	 * SIGTERM that follows the "listening" line is always handled. */
	if (!atomic_load(&srv->host.shutting_down))
		for (l = srv->listeners; l != NULL; l = l->next)
			if (!listener_accepts(l) &&
			    listener_enable(l, err, sizeof err) == -1) {
				log_err("%s", err);
				return -1;
			}
	/* This thread writes to clients too (io-threads 0, the relays): a
	 * client gone raises no SIGPIPE in the program. */
	sigpipe_hold(&pipe);
	r = event_base_loop(srv->host.base, EVLOOP_NO_EXIT_ON_EMPTY);
	sigpipe_release(&pipe);
	return r;
}


int
harbor_server_replace_services(struct harbor_server *srv,
    struct harbor_service **svcs, size_t nsvcs, char *err, size_t errlen)
{
	struct listener		 *made = NULL, *l;
	struct harbor_service	**list = NULL, **old;
	size_t			  i, nold;

	/* Everything that can fail comes before the first change. */
	if ((list = calloc(nsvcs > 0 ? nsvcs : 1, sizeof *list)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < nsvcs; i++) {
		if (server_has_service(svcs, i, svcs[i]->name)) {
			snprintf(err, errlen, "duplicate service '%s'",
			    svcs[i]->name);
			goto fail;
		}
		if (server_adopt(srv, svcs[i], err, errlen) == -1 ||
		    service_start(svcs[i], err, errlen) == -1)
			goto fail;
	}
	if (server_starts_children(svcs, nsvcs) &&
	    children_start(&srv->host) == -1) {
		snprintf(err, errlen, "cannot watch for exited children "
		    "(SIGCHLD)");
		goto fail;
	}
	if (server_make_listeners(srv, svcs, nsvcs, srv->listeners, &made,
	    err, errlen) == -1)
		goto fail;

	/* Committed.  A service that was there before counts on where it
	 * left off, under its new settings. */
	for (i = 0; i < nsvcs; i++) {
		size_t	j;

		for (j = 0; j < srv->nsvcs; j++) {
			if (strcmp(srv->svcs[j]->name, svcs[i]->name) != 0)
				continue;
			limits_release(svcs[i]->limits);
			svcs[i]->limits = srv->svcs[j]->limits;
			limits_hold(svcs[i]->limits);
			limits_configure(svcs[i]->limits, &svcs[i]->limit);
			stats_release(svcs[i]->stats);
			svcs[i]->stats = srv->svcs[j]->stats;
			stats_hold(svcs[i]->stats);
			atomic_store(&svcs[i]->paused,
			    atomic_load(&srv->svcs[j]->paused));
			break;
		}
	}
	/* Sockets move to their new listeners, old listeners go (closing
	 * the sockets no one took over), new sockets start. */
	for (l = made; l != NULL; l = l->next)
		if (l->takes_over != NULL)
			listener_take_over(l, l->takes_over);
	for (l = srv->listeners; l != NULL; l = l->next)
		if (listener_accepts(l))
			svc_log(l->svc, HARBOR_LOG_NOTICE, "service %s no "
			    "longer listening on %s", l->svc->name, l->bound);
	listeners_free(srv->listeners);
	srv->listeners = made;
	for (l = srv->listeners; l != NULL; l = l->next) {
		/* A drained service stays drained, on any socket. */
		if (listener_pause(l, atomic_load(&l->svc->paused), err,
		    errlen) == -1)
			log_err("%s", err);
		if (!listener_accepts(l) &&
		    listener_enable(l, err, errlen) == -1)
			log_err("%s", err);
	}
	memcpy(list, svcs, nsvcs * sizeof *svcs);
	mutex_lock(&srv->svcs_lock);
	old = srv->svcs;
	nold = srv->nsvcs;
	srv->svcs = list;
	srv->nsvcs = nsvcs;
	mutex_unlock(&srv->svcs_lock);
	for (i = 0; i < nold; i++)
		service_release(old[i]);
	free(old);
	return 0;
fail:
	free(list);
	for (i = 0; i < nsvcs; i++)
		service_release(svcs[i]);
	return -1;
}

int
harbor_server_listener(struct harbor_server *srv, size_t i,
    const char **service, const char **address)
{
	struct listener	*l;

	for (l = srv->listeners; l != NULL && i > 0; l = l->next)
		i--;
	if (l == NULL)
		return -1;
	*service = l->svc->name;
	*address = l->bound;
	return 0;
}

harbor_socket_t
harbor_server_listener_socket(struct harbor_server *srv, size_t i)
{
	struct listener	*l;

	for (l = srv->listeners; l != NULL && i > 0; l = l->next)
		i--;
	return l != NULL ? (harbor_socket_t)l->fd : (harbor_socket_t)-1;
}

/* A loop serves the clients it accepts, unless another has fewer by more
 * than this (an eighth of its own, and a few): whichever loop wakes first
 * for each new client does not end up with them all. */
#define LOOP_SLACK(load)	((load) / 8 + 8)

struct loop *
server_pick_loop(struct harbor_server *srv, struct loop *here)
{
	struct loop	*best = here;
	unsigned	 load, best_load, here_load;
	int		 i;

	here_load = best_load = atomic_load(&here->nconns);
	for (i = 0; i < srv->nloops; i++) {
		load = atomic_load(&srv->loops[i].nconns);
		if (load < best_load) {
			best = &srv->loops[i];
			best_load = load;
		}
	}
	return best_load + LOOP_SLACK(here_load) < here_load ? best : here;
}

unsigned
harbor_server_connection_count(struct harbor_server *srv)
{
	return atomic_load(&srv->host.nconns);
}

static void
server_stop_threads(struct harbor_server *srv)
{
	int	i;

	/* Workers post releases to the loops, so the loops go last. */
	pool_free(srv->host.pool);
	srv->host.pool = NULL;
	for (i = 0; i < srv->nloops; i++)
		loop_stop(&srv->loops[i]);
}


static void
server_finish(struct harbor_server *srv)
{
	server_stop_threads(srv);
	server_log_flush(-1, 0, srv);
	srv->finished = 1;
	(void)event_base_loopbreak(srv->host.base);
}

static void
server_shutdown_tick(evutil_socket_t fd, short what, void *arg)
{
	struct harbor_server	*srv = arg;
	struct timeval		 now, tick = { 0, SHUTDOWN_TICK_MS * 1000 };
	int			 i;

	if (atomic_load(&srv->host.nconns) == 0) {
		server_finish(srv);
		return;
	}
	event_base_gettimeofday_cached(srv->host.base, &now);
	if (atomic_load(&srv->host.shutting_down) == 1 &&
	    tv_ms(&now) >= srv->shutdown_deadline) {
		log_notice("grace period over: closing %u connections",
		    atomic_load(&srv->host.nconns));
		atomic_store(&srv->host.shutting_down, 2);
		for (i = 0; i < srv->nloops; i++)
			(void)loop_post(&srv->loops[i], conn_shutdown_all,
			    &srv->loops[i]);
	}
	(void)evtimer_add(srv->shutdown_ev, &tick);
}

void
harbor_server_shutdown(struct harbor_server *srv, unsigned grace_ms)
{
	struct timeval	now;

	if (!srv->started)
		return;
	event_base_gettimeofday_cached(srv->host.base, &now);
	if (atomic_load(&srv->host.shutting_down)) {
		/* Asked again: cut the grace period short. */
		srv->shutdown_deadline = tv_ms(&now);
		return;
	}
	atomic_store(&srv->host.shutting_down, 1);
	srv->shutdown_deadline = tv_ms(&now) + grace_ms;
	listeners_free(srv->listeners);
	srv->listeners = NULL;
	acceptor_stop(srv);
	{
		unsigned	n = atomic_load(&srv->host.nconns);
		const char	*what = n == 1 ? "connection" : "connections";

		if (grace_ms % 1000 == 0)
			log_notice("shutting down: %u %s open, waiting up to "
			    "%u s", n, what, grace_ms / 1000);
		else
			log_notice("shutting down: %u %s open, waiting up to "
			    "%u.%03u s", n, what, grace_ms / 1000,
			    grace_ms % 1000);
	}
	srv->shutdown_ev = evtimer_new(srv->host.base, server_shutdown_tick, srv);
	if (srv->shutdown_ev != NULL)
		server_shutdown_tick(-1, 0, srv);
	else
		server_finish(srv);
}

void
harbor_server_free(struct harbor_server *srv)
{
	size_t	i;
	int	j;

	if (srv == NULL)
		return;
	listeners_free(srv->listeners);
	server_stop_threads(srv);
	for (j = 0; j < srv->nloops; j++)
		loop_free(&srv->loops[j]);
	free(srv->loops);
	acceptor_stop(srv);
	children_free(&srv->host);
	loopguard_free(srv->host.loopguard);
	if (srv->shutdown_ev != NULL)
		event_free(srv->shutdown_ev);
	if (srv->log_flush_ev != NULL)
		event_free(srv->log_flush_ev);
	for (i = 0; i < srv->nsvcs; i++)
		service_release(srv->svcs[i]);
	free(srv->svcs);
	if (srv->host.base != NULL)
		event_base_free(srv->host.base);
	server_watch_free(srv);
	mutex_destroy(&srv->svcs_lock);
	free(srv);
#ifdef _WIN32
	(void)WSACleanup();
#endif
}

void
harbor_server_set_listen_fn(struct harbor_server *srv, harbor_listen_fn *fn,
    void *arg)
{
	srv->listen_fn = fn;
	srv->listen_arg = arg;
}

int
harbor_server_set_spawner(struct harbor_server *srv,
    const struct harbor_spawner *spawner)
{
	if (spawner == NULL) {
		memset(&srv->host.spawner, 0, sizeof srv->host.spawner);
		return 0;
	}
	if (spawner->size != sizeof(struct harbor_spawner) ||
	    spawner->spawn == NULL || spawner->kill == NULL)
		return -1;
	srv->host.spawner = *spawner;
	return 0;
}

void
harbor_server_child_ended(struct harbor_server *srv, pid_t pid, int status)
{
	children_ended(&srv->host, pid, status);
}
