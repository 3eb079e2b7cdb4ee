/*
 * Connections: one client, its bufferevent on the loop that owns it, and
 * the calls into its service's handler.
 *
 * Life of a connection (doc/threads.txt has the thread rules):
 *  - the acceptor makes it on the main thread and posts it to its loop;
 *  - the loop creates the bufferevent and runs the handler's open;
 *  - input, writability and the end are turned into handler calls, either
 *    right there (dispatch inline) or as a job on the worker pool (dispatch
 *    pool: one job per connection at a time, so calls stay in order);
 *  - closing flushes output, then "finishes": I/O stops and the handler's
 *    close runs;
 *  - the object is freed on its loop when the last reference goes: the
 *    loop's own, one per pool job, one per task posted for it.
 *
 * Backpressure: a connection's output above its service's output high-water
 * mark stops feeding it input (what is unread stays in the input buffer,
 * which stops reading from the socket at max-input) and stops generating
 * handlers; the write callback at the low-water mark starts both again.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#define SHUT_WR	SD_SEND
#define SHUT_RDWR	SD_BOTH
#else
#include <sys/socket.h>
#endif

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "conn.h"

/* A close's reason kept when it cannot be copied: the close is logged all
 * the same. */
static char	detail_lost[] = "(no memory for the reason)";

static void	conn_finish(struct harbor_conn *, enum conn_reason);
static void	conn_readcb(struct bufferevent *, void *);
static void	conn_writecb(struct bufferevent *, void *);
static void	conn_eventcb(struct bufferevent *, short, void *);

int
conn_inline(const struct harbor_conn *c)
{
	return c->svc->dispatch == HARBOR_DISPATCH_INLINE;
}

void
conn_hold(struct harbor_conn *c)
{
	atomic_fetch_add(&c->refs, 1);
}

static const char *
conn_reason_text(const struct harbor_conn *c, char *buf, size_t len)
{
	switch (c->reason) {
	case CLOSE_CLIENT:
		return "client closed";
	case CLOSE_SERVICE:
		return "closed by service";
	case CLOSE_IDLE:
		return "idle timeout";
	case CLOSE_SESSION:
		return "session timeout";
	case CLOSE_PROXY:
		return "bad PROXY header";
	case CLOSE_PROXY_TIMEOUT:
		return "no PROXY header in time";
	case CLOSE_REFUSED:
		return "refused";
	case CLOSE_LINE:
		snprintf(buf, len, "line too long (max-line %zu)",
		    c->svc->max_line);
		return buf;
	case CLOSE_INPUT:
		snprintf(buf, len, "input too long (max-input %zu)",
		    c->svc->max_input);
		return buf;
	case CLOSE_NOMEM:
		return "out of memory";
	case CLOSE_SHUTDOWN:
		return "shutdown";
	case CLOSE_ERROR:
		snprintf(buf, len, "error: %s",
		    evutil_socket_error_to_string(c->error));
		return buf;
	case CLOSE_DONE:
		return "both sides closed";
	case CLOSE_DETAIL:
		return atomic_load(&c->detail) != NULL ?
		    atomic_load(&c->detail) : "closed";
	case CLOSE_NONE:
		break;
	}
	return "closed";
}

static void
conn_free(struct harbor_conn *c)
{
	struct conn_host	*host = c->svc->host;
	struct timeval		 now;
	int64_t			 took;
	char			 why[96], peer[HARBOR_ADDRSTRLEN];

	/* The slot is free before the log says the connection closed: a
	 * client that waits for that line may connect again at once. */
	atomic_fetch_sub(&c->loop->nconns, 1);
	limits_ticket_return(c->svc->limits, &c->ticket);
	/* A shutdown waiting for the count to reach 0 joins this loop's
	 * thread, which finishes this function first. */
	atomic_fetch_sub(&host->nconns, 1);
	if (c->bev != NULL) {
		event_base_gettimeofday_cached(c->loop->base, &now);
		took = tv_ms(&now) - tv_ms(&c->started);
		stats_closed(c->stats, took);
		if (c->svc->log_connections) {
			conn_peer_text(c, peer, sizeof peer);
			svc_log(c->svc, HARBOR_LOG_INFO, "service %s: closed %s "
			    "(conn %llu): %s; %lld ms, %llu bytes in, %llu "
			    "bytes out", c->svc->name, peer,
			    (unsigned long long)c->id, conn_reason_text(c, why,
			    sizeof why), (long long)took,
			    (unsigned long long)c->bytes_in,
			    (unsigned long long)c->bytes_out);
		}
		if (c->session_timer != NULL)
			event_free(c->session_timer);
		if (c->deadline != NULL)
			event_free(c->deadline);
		conn_io_free(c);
		if (atomic_load(&c->detail) != detail_lost)
			free(atomic_load(&c->detail));
		bufferevent_free(c->bev);	/* closes the socket */
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			c->loop->conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
	} else
		evutil_closesocket(c->fd);
	conn_timers_free(c);
	conn_connects_free(c);
	service_release(c->svc);
	free(c->hops);
	free(c->names);
	free(c);
}

static void
conn_free_task(void *arg)
{
	conn_free(arg);
}

/* On the connection's loop. */
void
conn_release(struct harbor_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		conn_free(c);
}

/* Any thread: the free itself happens on the loop. */
void
conn_release_any(struct harbor_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1 &&
	    loop_post(c->loop, conn_free_task, c) == -1)
		log_err("conn %llu: cannot post its release; leaking it",
		    (unsigned long long)c->id);
}


/* --- loop side ----------------------------------------------------------- */

static void
conn_count_bytes(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct harbor_conn	*c = arg;

	/* Input grows only by reads from the socket and output shrinks only
	 * by writes to it, both on the loop thread; a worker draining input
	 * or adding output gets here too, and must not touch the counters. */
	if (buf == bufferevent_get_input(c->bev)) {
		if (info->n_added > 0) {
			c->bytes_in += info->n_added;
			stats_bytes(c->stats, info->n_added, 0);
			conn_touch(c);
		}
		/* Taken from the front, by the handler's thread, however it
		 * was taken: line framing's search follows. */
		if (info->n_deleted > 0) {
			frame_scan_drained(&c->line_scan, info->n_deleted);
			conn_input_taken(c, info->orig_size + info->n_added -
			    info->n_deleted);
		}
	} else {
		if (info->n_deleted > 0) {
			c->bytes_out += info->n_deleted;
			stats_bytes(c->stats, 0, info->n_deleted);
			conn_touch(c);
		}
		if (info->n_added > 0)
			conn_output_added(c);
	}
}

/* --- deadlines: the PROXY header's, then idle ------------------------------ */

static int64_t
conn_now_ms(struct harbor_conn *c)
{
	struct timeval	now;

	event_base_gettimeofday_cached(c->loop->base, &now);
	return tv_ms(&now);
}

void
conn_touch(struct harbor_conn *c)
{
	c->last_active_ms = conn_now_ms(c);
}

void
conn_deadline_arm(struct harbor_conn *c, int64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (long)(ms / 1000);
	tv.tv_usec = (long)(ms % 1000) * 1000;
	(void)evtimer_add(c->deadline, &tv);
}

/* One timer a connection, on its loop.  While the PROXY header is read it
 * is the header's deadline, counted from accept: what trickles in does not
 * move it.  Then it watches for idleness: traffic either way only notes
 * the time (conn_touch), and when the timer fires it closes the connection
 * if it has been quiet for idle-timeout, or waits for the rest of it. */
static void
conn_deadline_fired(evutil_socket_t fd, short what, void *arg)
{
	struct harbor_conn	*c = arg;
	unsigned		 idle = c->svc->idle_timeout_ms;
	int64_t			 quiet;

	switch (c->state) {
	case CONN_STAGE:
		c->stage->expired(c);
		return;
	case CONN_OPEN:
	case CONN_CLOSING:
		quiet = conn_now_ms(c) - c->last_active_ms;
		if (quiet >= (int64_t)idle)
			conn_end(c, CLOSE_IDLE, NULL);
		else
			conn_deadline_arm(c, (int64_t)idle - quiet);
		return;
	case CONN_FINISHED:
		return;
	}
}

/* Everything a connection needs to start serving: its callbacks and
 * timeouts, and the handler's open. */
void
conn_start(struct harbor_conn *c)
{
	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	conn_io_init(c);
	if (c->svc->idle_timeout_ms != 0) {
		conn_touch(c);
		conn_deadline_arm(c, c->svc->idle_timeout_ms);
	} else if (c->deadline != NULL)
		(void)evtimer_del(c->deadline);
	if (conn_write_events(c) != 0)
		bufferevent_enable(c->bev, EV_WRITE);
	conn_read_on(c);
	conn_hold(c);
	conn_dispatch(c, CONN_EV_OPEN);
	/* A relay moves what is already here itself. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 &&
	    c->state == CONN_OPEN && c->relay == NULL)
		conn_dispatch(c, CONN_EV_INPUT);	/* after the header */
	conn_release(c);
}

static void
conn_session_over(evutil_socket_t fd, short what, void *arg)
{
	conn_end(arg, CLOSE_SESSION, NULL);
}

static void
conn_attach_failed(struct harbor_conn *c, const char *what)
{
	char	peer[HARBOR_ADDRSTRLEN];

	conn_peer_text(c, peer, sizeof peer);
	svc_log(c->svc, HARBOR_LOG_ERR, "service %s: %s (conn %llu): cannot "
	    "set up %s", c->svc->name, peer, (unsigned long long)c->id, what);
	conn_release(c);
}

static void
conn_attach(void *arg)
{
	struct harbor_conn	*c = arg;
	struct conn_host	*host = c->svc->host;
	int			 opts = BEV_OPT_CLOSE_ON_FREE;

	if (c->svc->dispatch == HARBOR_DISPATCH_POOL)
		opts |= BEV_OPT_THREADSAFE;
	c->bev = bufferevent_socket_new(c->loop->base, c->fd, opts);
	if (c->bev == NULL) {
		conn_attach_failed(c, "the connection");
		return;
	}
	c->next = c->loop->conns;
	if (c->next != NULL)
		c->next->prev = c;
	c->loop->conns = c;
	event_base_gettimeofday_cached(c->loop->base, &c->started);
	if (c->stage != NULL || c->svc->idle_timeout_ms != 0) {
		if ((c->deadline = evtimer_new(c->loop->base, conn_deadline_fired,
		    c)) == NULL) {
			conn_attach_failed(c, "the connection's timer");
			return;
		}
	}

	(void)evbuffer_add_cb(bufferevent_get_input(c->bev), conn_count_bytes,
	    c);
	(void)evbuffer_add_cb(bufferevent_get_output(c->bev), conn_count_bytes,
	    c);
	bufferevent_setwatermark(c->bev, EV_WRITE, c->svc->output_low, 0);
	if (c->svc->session_timeout_ms != 0) {
		struct timeval	tv;

		tv.tv_sec = c->svc->session_timeout_ms / 1000;
		tv.tv_usec = (c->svc->session_timeout_ms % 1000) * 1000;
		c->session_timer = evtimer_new(c->loop->base,
		    conn_session_over, c);
		if (c->session_timer != NULL)
			(void)evtimer_add(c->session_timer, &tv);
	}
	if (atomic_load(&host->shutting_down) == 2) {
		/* Accepted just before the listeners closed, and the grace
		 * period is over already: the handler never saw it, so it is
		 * not told of its end either.  Within the grace period it is
		 * served like those open before (an upgrade's clients must
		 * not notice the old harbord going). */
		c->reason = CLOSE_SHUTDOWN;
		c->state = CONN_FINISHED;
		conn_release(c);
		return;
	}
	if (c->state == CONN_STAGE) {
		/* Nothing reaches the handler before the stage is done. */
		c->stage->begin(c);
		return;
	}
	conn_start(c);
}

/* Only what the address's family holds: the caller's may be shorter than
 * the union. */
static int
conn_addr_set(union conn_addr *to, const struct sockaddr *sa, size_t len)
{
	size_t	want;

	if (sa->sa_family == AF_INET)
		want = sizeof to->sin;
	else if (sa->sa_family == AF_INET6)
		want = sizeof to->sin6;
	else
		return -1;
	if (len < want)
		return -1;
	memcpy(to, sa, want);
	return 0;
}

static void
conn_refused_oom(struct harbor_service *svc, const struct sockaddr *peer)
{
	char	peerstr[HARBOR_ADDRSTRLEN];

	addr_format(peer, peerstr, sizeof peerstr);
	svc_log(svc, HARBOR_LOG_ERR, "service %s: refused %s: out of memory",
	    svc->name, peerstr);
}

void
conn_accepted(struct harbor_service *svc, struct loop *loop,
    struct loop *here, struct conn_admitted *a)
{
	struct harbor_conn	*c;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		conn_refused_oom(svc, a->peer);
		evutil_closesocket(a->fd);
		limits_ticket_return(svc->limits, &a->ticket);
		free(a->hops);
		atomic_fetch_sub(&svc->host->nconns, 1);
		return;
	}
	c->svc = svc;
	service_hold(svc);
	c->loop = loop;
	c->stats = stats_slot(svc->stats, loop->index);
	c->fd = a->fd;
	compat_socket_nosigpipe((int)a->fd);
	c->id = a->id;
	if (a->peerlen > 0)
		(void)conn_addr_set(&c->peer_addr, a->peer, (size_t)a->peerlen);
	if (a->local != NULL && conn_addr_set(&c->local_addr, a->local,
	    a->locallen) == 0)
		c->have_local = 1;
	c->stage = a->stage;
	c->state = a->stage != NULL ? CONN_STAGE : CONN_OPEN;
	c->ticket = a->ticket;
	c->hops = a->hops;
	atomic_init(&c->refs, 1);
	atomic_init(&c->pending, 0);
	atomic_init(&c->scheduled, 0);
	atomic_init(&c->stop_input, 0);
	atomic_init(&c->eof, 0);
	atomic_init(&c->finished, 0);
	atomic_init(&c->write_shut, 0);
	atomic_init(&c->failing, 0);
	atomic_init(&c->timers, NULL);
	atomic_init(&c->posts, NULL);
	c->job.run = conn_job_run;
	c->job.admitted = conn_job_admitted;
	atomic_fetch_add(&loop->nconns, 1);

	if (!loop->threaded || loop == here)
		conn_attach(c);
	else if (loop_post(loop, conn_attach, c) == -1) {
		conn_refused_oom(svc, a->peer);
		conn_release(c);
	}
}

/* Closing, on the loop: stop reading, flush what the handler wrote, then
 * finish.  What input is buffered stays there, unread, until the
 * connection is freed: the handler may be reading it right now (the
 * callback that closed, or a worker's). */
void
conn_begin_close(struct harbor_conn *c, enum conn_reason reason)
{
	struct evbuffer	*out;

	if (c->state != CONN_OPEN)
		return;
	c->reason = reason;
	c->state = CONN_CLOSING;
	atomic_store(&c->stop_input, 1);
	out = bufferevent_get_output(c->bev);
	conn_read_off(c);
	if (evbuffer_get_length(out) == 0)
		conn_finish(c, reason);
	else
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

/* Stops I/O and has the handler's close run; the loop's reference goes. */
static void
conn_finish(struct harbor_conn *c, enum conn_reason reason)
{
	enum conn_state	was = c->state;

	if (c->state == CONN_FINISHED)
		return;
	if (c->state == CONN_OPEN || c->state == CONN_STAGE ||
	    c->reason == CLOSE_NONE)
		c->reason = reason;
	c->state = CONN_FINISHED;
	atomic_store(&c->stop_input, 1);
	atomic_store(&c->finished, 1);
	conn_timers_stop_all(c);
	conn_connects_end(c);
	if (c->detach != NULL)
		c->detach(c);
	if (c->session_timer != NULL)
		(void)evtimer_del(c->session_timer);
	if (c->deadline != NULL)
		(void)evtimer_del(c->deadline);
	conn_read_off(c);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	/* The handler hears of the end only if it heard of the start. */
	if (was != CONN_STAGE)
		conn_dispatch(c, CONN_EV_CLOSE);
	/* Someone still holds the connection (a handler's work elsewhere, a
	 * job on the pool): the client is let go now, and the socket is
	 * closed when the last of them lets go.  Otherwise the release just
	 * below closes it. */
	if (atomic_load(&c->refs) > 1 && !c->both_shut)
		(void)shutdown(c->fd, SHUT_RDWR);
	conn_release(c);
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct harbor_conn	*c = arg;

	if (c->state != CONN_OPEN) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_hold(c);
	conn_dispatch(c, CONN_EV_INPUT);
	conn_release(c);
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct harbor_conn	*c = arg;
	struct evbuffer		*out = bufferevent_get_output(bev);

	conn_write_drained(c);
	if (c->state == CONN_CLOSING) {
		if (evbuffer_get_length(out) == 0)
			conn_finish(c, c->reason);
		return;
	}
	if (c->state != CONN_OPEN)
		return;
	if (c->shut_pending && evbuffer_get_length(out) == 0) {
		c->shut_pending = 0;
		(void)shutdown(c->fd, SHUT_WR);
	}
	conn_hold(c);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 ||
	    atomic_load(&c->eof))
		conn_dispatch(c, CONN_EV_INPUT | CONN_EV_WRITABLE);
	else if (c->svc->handler->writable != NULL)
		conn_dispatch(c, CONN_EV_WRITABLE);
	conn_release(c);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct harbor_conn	*c = arg;

	if (what & BEV_EVENT_EOF) {
		if (c->state != CONN_OPEN) {
			conn_finish(c, c->reason);
			return;
		}
		/* Half-close: answer what was sent, then close. */
		atomic_store(&c->eof, 1);
		bufferevent_disable(bev, EV_READ);
		conn_hold(c);
		conn_dispatch(c, CONN_EV_INPUT);
		conn_release(c);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		conn_io_failed(c, EVUTIL_SOCKET_ERROR());
}

void
conn_io_failed(struct harbor_conn *c, int err)
{
	/* A reset or a broken pipe is how a client that stopped reading
	 * usually leaves (chargen's normal end). */
	if (SOCKET_ERR_RESET(err))
		conn_finish(c, CLOSE_CLIENT);
	else {
		c->error = err;
		conn_finish(c, CLOSE_ERROR);
	}
}

void
conn_output_sent(struct harbor_conn *c, int was_full)
{
	if (c->state == CONN_CLOSING) {
		conn_finish(c, c->reason);
		return;
	}
	if (c->shut_pending) {
		c->shut_pending = 0;
		(void)shutdown(c->fd, SHUT_WR);
	}
	if (was_full && c->state == CONN_OPEN &&
	    (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ||
	    atomic_load(&c->eof))) {
		conn_hold(c);
		conn_dispatch(c, CONN_EV_INPUT);
		conn_release(c);
	}
}

void
conn_detail(struct harbor_conn *c, const char *why)
{
	char	*copy, *none = NULL;
	size_t	 n = strlen(why);

	/* Most of a reason (a handler's may be long), allocated only for a
	 * connection that has one: most never do. */
	if (n > CONN_DETAIL_MAX)
		n = CONN_DETAIL_MAX;
	if ((copy = malloc(n + 1)) != NULL) {
		memcpy(copy, why, n);
		copy[n] = '\0';
	} else
		copy = detail_lost;
	if (!atomic_compare_exchange_strong(&c->detail, &none, copy) &&
	    copy != detail_lost)
		free(copy);
}

void
conn_end(struct harbor_conn *c, enum conn_reason reason, const char *detail)
{
	if (detail != NULL)
		conn_detail(c, detail);
	conn_hold(c);
	conn_finish(c, reason);
	conn_release(c);
}

int
conn_local_known(struct harbor_conn *c)
{
	ev_socklen_t	len = sizeof c->local_addr;

	if (!c->have_local) {
		if (getsockname(c->fd, &c->local_addr.sa, &len) == -1)
			return -1;
		c->have_local = 1;
	}
	return 0;
}

void
conn_peer_text(const struct harbor_conn *c, char *buf, size_t len)
{
	addr_format(&c->peer_addr.sa, buf, len);
}

/* Closes every connection of a loop at once (end of the shutdown grace
 * period).  Runs on the loop. */
void
conn_shutdown_all(void *arg)
{
	struct loop		*loop = arg;
	struct harbor_conn	*c, *next;

	for (c = loop->conns; c != NULL; c = next) {
		conn_hold(c);
		if (c->state != CONN_FINISHED)
			conn_finish(c, CLOSE_SHUTDOWN);
		next = c->next;		/* before c may be freed */
		conn_release(c);
	}
}
