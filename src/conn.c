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
#else
#include <sys/socket.h>
#endif

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "harbor-internal.h"

static void	conn_readcb(struct bufferevent *, void *);
static void	conn_writecb(struct bufferevent *, void *);
static void	conn_eventcb(struct bufferevent *, short, void *);
static void	conn_job_run(struct pool_job *);
static void	conn_job_admitted(struct pool_job *);
static void	conn_run_timers(struct harbor_conn *);
static void	conn_run_posts(struct harbor_conn *);
static void	conn_finish(struct harbor_conn *, enum conn_reason);
static void	conn_timers_stop_all(struct harbor_conn *);
static void	conn_timers_free(struct harbor_conn *);

static int
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
		return c->detail;
	case CLOSE_NONE:
		break;
	}
	return "closed";
}

static void
conn_free(struct harbor_conn *c)
{
	struct harbor_server	*srv = c->svc->server;
	struct timeval		 now;
	int64_t			 took;
	char			 why[96];

	/* The slot is free before the log says the connection closed: a
	 * client that waits for that line may connect again at once. */
	atomic_fetch_sub(&c->loop->nconns, 1);
	limits_ticket_return(c->svc->limits, &c->ticket);
	/* A shutdown waiting for the count to reach 0 joins this loop's
	 * thread, which finishes this function first. */
	server_conn_gone(srv);
	if (c->bev != NULL) {
		event_base_gettimeofday_cached(c->loop->base, &now);
		took = tv_ms(&now) - tv_ms(&c->started);
		log_info("service %s: closed %s (conn %llu): %s; %lld ms, "
		    "%llu bytes in, %llu bytes out", c->svc->name, c->peer,
		    (unsigned long long)c->id, conn_reason_text(c, why, sizeof why),
		    (long long)took, (unsigned long long)c->bytes_in,
		    (unsigned long long)c->bytes_out);
		if (c->session_timer != NULL)
			event_free(c->session_timer);
		if (c->deadline != NULL)
			event_free(c->deadline);
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
	service_release(c->svc);
	free(c->hops);
	free(c);
}

static void
conn_free_task(void *arg)
{
	conn_free(arg);
}

/* On the connection's loop. */
static void
conn_release(struct harbor_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		conn_free(c);
}

/* Off the loop: the free itself must happen on the loop. */
static void
conn_release_remote(struct harbor_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1 &&
	    loop_post(c->loop, conn_free_task, c) == -1)
		log_err("conn %llu: cannot post its release; leaking it",
		    (unsigned long long)c->id);
}

/* Any thread. */
void
conn_release_any(struct harbor_conn *c)
{
	conn_release_remote(c);
}

/* --- handler calls ------------------------------------------------------- */

/* Runs the handler's open/input/writable/close for the events in bits, on
 * whichever thread the service's dispatch says. */
static void
conn_run(struct harbor_conn *c, unsigned bits);

static void
conn_dispatch(struct harbor_conn *c, unsigned bits)
{
	if (conn_inline(c)) {
		conn_run(c, bits);
		return;
	}
	atomic_fetch_or(&c->pending, bits);
	if (atomic_exchange(&c->scheduled, 1))
		return;		/* the job already queued or running sees it */
	conn_hold(c);		/* the job's */
	/* Held before submitting: once submitted, the job may run and
	 * drop its reference before we get to look at the result. */
	conn_hold(c);
	if (pool_submit(c->svc->server->pool, &c->job) == 0) {
		conn_release(c);
		return;
	}
	/* The pool is full: stop reading from this client until the job
	 * gets a place.  The second reference is the resume task's
	 * (conn_job_admitted). */
	if (c->state == CONN_OPEN) {
		c->read_deferred = 1;
		bufferevent_disable(c->bev, EV_READ);
	}
}

static void
conn_resume_read_task(void *arg)
{
	struct harbor_conn	*c = arg;

	if (c->read_deferred) {
		c->read_deferred = 0;
		if (c->state == CONN_OPEN && !atomic_load(&c->eof))
			bufferevent_enable(c->bev, EV_READ);
	}
	conn_release(c);
}

static void
conn_job_admitted(struct pool_job *job)
{
	struct harbor_conn	*c = (struct harbor_conn *)((char *)job -
	    offsetof(struct harbor_conn, job));

	/* The reference taken when the job was deferred is the task's. */
	if (loop_post(c->loop, conn_resume_read_task, c) == -1)
		conn_release_remote(c);
}

static void
conn_job_run(struct pool_job *job)
{
	struct harbor_conn	*c = (struct harbor_conn *)((char *)job -
	    offsetof(struct harbor_conn, job));
	unsigned		 bits;

	for (;;) {
		bits = atomic_exchange(&c->pending, 0);
		if (bits != 0) {
			conn_run(c, bits);
			continue;
		}
		atomic_store(&c->scheduled, 0);
		/* Events that arrived between the exchange and the store saw
		 * scheduled set and left them to us. */
		if (atomic_load(&c->pending) == 0 ||
		    atomic_exchange(&c->scheduled, 1))
			break;
	}
	conn_release_remote(c);
}

/* Closing, on the loop: stop reading, flush what the handler wrote, then
 * finish.  What input is buffered stays there, unread, until the
 * connection is freed: the handler may be reading it right now (the
 * callback that closed, or a worker's). */
static void
conn_begin_close(struct harbor_conn *c, enum conn_reason reason)
{
	struct evbuffer	*out;

	if (c->state != CONN_OPEN)
		return;
	c->reason = reason;
	c->state = CONN_CLOSING;
	atomic_store(&c->stop_input, 1);
	out = bufferevent_get_output(c->bev);
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(out) == 0)
		conn_finish(c, reason);
	else
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

static void
conn_close_task(void *arg)
{
	struct harbor_conn	*c = arg;

	conn_begin_close(c, (enum conn_reason)atomic_load(&c->requested));
	conn_release(c);
}

/* From a handler call, on whichever thread runs it. */
void
conn_request_close(struct harbor_conn *c, enum conn_reason reason)
{
	int	none = CLOSE_NONE;

	atomic_store(&c->stop_input, 1);
	if (conn_inline(c)) {
		conn_begin_close(c, reason);
		return;
	}
	/* The first reason asked for is the one logged. */
	if (!atomic_compare_exchange_strong(&c->requested, &none, (int)reason))
		return;
	conn_hold(c);
	if (loop_post(c->loop, conn_close_task, c) == -1)
		conn_release_remote(c);
}

/* Whether input may be offered now. */
static int
conn_may_feed(struct harbor_conn *c)
{
	return !atomic_load(&c->stop_input) && !c->input_paused &&
	    !harbor_conn_output_full(c);
}

/* Raw framing: what is buffered, a contiguous piece at a time while the
 * handler takes each whole (no copy).  A piece it takes only part of is
 * offered again with everything buffered after it, made contiguous; if it
 * leaves part of that too, the rest waits for more input.  1: all there
 * is was offered; 0: feeding stopped before (closing, paused, output
 * full). */
static int
conn_feed_raw(struct harbor_conn *c, struct evbuffer *in,
    const struct harbor_handler *h)
{
	const char	*data;
	size_t		 total, len, used;
	int		 whole = 0;

	for (;;) {
		if (!conn_may_feed(c))
			return 0;
		if ((total = evbuffer_get_length(in)) == 0 || total < c->need)
			return 1;
		len = whole || c->need > 0 ? total :
		    evbuffer_get_contiguous_space(in);
		if ((data = (const char *)evbuffer_pullup(in,
		    (ev_ssize_t)len)) == NULL) {
			conn_request_close(c, CLOSE_NOMEM);
			return 0;
		}
		c->need = 0;
		if ((used = h->input(c, data, len)) > len)
			used = len;
		(void)evbuffer_drain(in, used);
		if (used == len) {
			whole = 0;
			continue;
		}
		if (len < total) {
			whole = 1;
			continue;
		}
		/* All of it offered, some left: more must come to make
		 * sense of it, and cannot once max-input is buffered. */
		if (total - used >= c->svc->max_input &&
		    !atomic_load(&c->stop_input)) {
			conn_request_close(c, CLOSE_INPUT);
			return 0;
		}
		return 1;
	}
}

/* Line framing: one complete line a call, while the handler takes each. */
static int
conn_feed_lines(struct harbor_conn *c, struct evbuffer *in,
    const struct harbor_handler *h)
{
	enum frame_result	 r;
	const char		*data;
	size_t			 len, used;

	for (;;) {
		if (!conn_may_feed(c))
			return 0;
		r = frame_next(in, HARBOR_FRAMING_LINE, c->svc->max_line,
		    atomic_load(&c->eof), &len);
		if (r == FRAME_NONE)
			return 1;
		if (r == FRAME_TOO_LONG) {
			conn_request_close(c, CLOSE_LINE);
			return 0;
		}
		if ((data = (const char *)evbuffer_pullup(in,
		    (ev_ssize_t)len)) == NULL) {
			conn_request_close(c, CLOSE_NOMEM);
			return 0;
		}
		if ((used = h->input(c, data, len)) > len)
			used = len;
		(void)evbuffer_drain(in, used);
		if (used < len)
			return 1;	/* the handler leaves it for later */
	}
}

/* Offers input to the handler while it may have it; at the client's end,
 * once all it sent was offered, tells the handler, or closes. */
static void
conn_feed_input(struct harbor_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	const struct harbor_handler *h = c->svc->handler;
	int			 all;

	if (h->input == NULL) {
		(void)evbuffer_drain(in, evbuffer_get_length(in));
		all = 1;
	} else if (c->svc->framing == HARBOR_FRAMING_RAW)
		all = conn_feed_raw(c, in, h);
	else
		all = conn_feed_lines(c, in, h);
	if (!all || !atomic_load(&c->eof) || atomic_load(&c->stop_input))
		return;
	if (h->end != NULL) {
		if (!c->end_told) {
			c->end_told = 1;
			h->end(c);
		}
	} else if (h->writable == NULL)
		/* Answered all the client sent; a handler that generates
		 * output (chargen) goes on until the client leaves. */
		conn_request_close(c, CLOSE_CLIENT);
}

static void
conn_run(struct harbor_conn *c, unsigned bits)
{
	const struct harbor_handler *h = c->svc->handler;

	if (c->closed_told) {
		/* After close, only posted functions run: told it is gone. */
		if (bits & CONN_EV_POST)
			conn_run_posts(c);
		return;
	}
	if ((bits & CONN_EV_OPEN) && h->open != NULL)
		h->open(c);
	if (!(bits & CONN_EV_CLOSE)) {
		if (bits & CONN_EV_INPUT)
			conn_feed_input(c);
		if ((bits & CONN_EV_WRITABLE) && h->writable != NULL &&
		    !atomic_load(&c->stop_input) && !harbor_conn_output_full(c))
			h->writable(c);
		if (bits & CONN_EV_TIMER)
			conn_run_timers(c);
	}
	if (bits & CONN_EV_POST)
		conn_run_posts(c);
	if (bits & CONN_EV_CLOSE) {
		if (h->close != NULL)
			h->close(c);
		c->closed_told = 1;
	}
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
			conn_touch(c);
		}
	} else if (info->n_deleted > 0) {
		c->bytes_out += info->n_deleted;
		conn_touch(c);
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

static void
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
	case CONN_HEADER:
		admission_log(c->svc, REFUSE_PROXY_TIMEOUT, "service %s: conn "
		    "%llu from %s: no PROXY header in %u ms", c->svc->name,
		    (unsigned long long)c->id, c->peer,
		    c->svc->proxy_timeout_ms);
		conn_end(c, CLOSE_PROXY_TIMEOUT, NULL);
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
static void
conn_start(struct harbor_conn *c)
{
	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    c->svc->framing == HARBOR_FRAMING_LINE ?
	    c->svc->max_line + 2 : c->svc->max_input);
	if (c->svc->idle_timeout_ms != 0) {
		conn_touch(c);
		conn_deadline_arm(c, c->svc->idle_timeout_ms);
	} else if (c->deadline != NULL)
		(void)evtimer_del(c->deadline);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_hold(c);
	conn_dispatch(c, CONN_EV_OPEN);
	/* A relay moves what is already here itself. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 &&
	    c->state == CONN_OPEN && c->relay == NULL)
		conn_dispatch(c, CONN_EV_INPUT);	/* after the header */
	conn_release(c);
}

/* --- the PROXY header stage --------------------------------------------- */

static void
conn_header_readcb(struct bufferevent *bev, void *arg)
{
	struct harbor_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct proxy_info	 pi;
	size_t			 have = evbuffer_get_length(in), used = 0;
	char			 err[128], why[128], via[HARBOR_ADDRSTRLEN];
	enum refusal		 refused;
	struct timeval		 now;

	if (have > PROXY_HEADER_MAX)
		have = PROXY_HEADER_MAX;
	switch (proxy_parse(evbuffer_pullup(in, (ev_ssize_t)have), have,
	    c->svc->proxy_versions, &pi, &used, err, sizeof err)) {
	case PROXY_NEED_MORE:
		if (have < PROXY_HEADER_MAX)
			return;
		snprintf(err, sizeof err, "bad PROXY header: too long");
		/* FALLTHROUGH */
	case PROXY_ERROR:
		admission_log(c->svc, REFUSE_PROXY_HEADER, "service %s: conn "
		    "%llu from %s: %s", c->svc->name,
		    (unsigned long long)c->id, c->peer, err);
		conn_end(c, CLOSE_PROXY, NULL);
		return;
	case PROXY_DONE:
		break;
	}
	(void)evbuffer_drain(in, used);
	strlcpy(via, c->peer, sizeof via);
	if (!pi.local) {
		addr_format((struct sockaddr *)&pi.src, c->peer,
		    sizeof c->peer);
		addr_format((struct sockaddr *)&pi.dst, c->local,
		    sizeof c->local);
		c->peer_addr = pi.src;
		c->proxied = 1;
		c->local_addr = pi.dst;
		c->have_local = 1;
	} else
		pi.src = c->peer_addr;
	/* Admission, for the client the proxy speaks for. */
	event_base_gettimeofday_cached(c->loop->base, &now);
	if ((refused = admission_decide(c->svc, (struct sockaddr *)&pi.src,
	    tv_ms(&now), &c->ticket, why, sizeof why)) != REFUSE_NONE) {
		admission_log(c->svc, refused, "service %s: refused %s via "
		    "proxy %s (conn %llu): %s", c->svc->name, c->peer, via,
		    (unsigned long long)c->id, why);
		conn_end(c, CLOSE_REFUSED, NULL);
		return;
	}
	log_info("service %s: conn %llu is %s via proxy %s (PROXY v%d%s)",
	    c->svc->name, (unsigned long long)c->id, c->peer, via, pi.version,
	    pi.local ? ", local" : "");
	c->state = CONN_OPEN;
	conn_start(c);
}

static void
conn_header_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct harbor_conn	*c = arg;

	if (what & BEV_EVENT_EOF)
		conn_end(c, CLOSE_CLIENT, NULL);
	else if (what & BEV_EVENT_ERROR) {
		c->error = EVUTIL_SOCKET_ERROR();
		conn_end(c, CLOSE_ERROR, NULL);
	}
}

static void
conn_session_over(evutil_socket_t fd, short what, void *arg)
{
	conn_end(arg, CLOSE_SESSION, NULL);
}

static void
conn_attach(void *arg)
{
	struct harbor_conn	*c = arg;
	struct harbor_server	*srv = c->svc->server;
	int			 opts = BEV_OPT_CLOSE_ON_FREE;

	if (c->svc->dispatch == HARBOR_DISPATCH_POOL)
		opts |= BEV_OPT_THREADSAFE;
	c->bev = bufferevent_socket_new(c->loop->base, c->fd, opts);
	if (c->bev == NULL) {
		log_err("service %s: %s (conn %llu): cannot set up the "
		    "connection", c->svc->name, c->peer,
		    (unsigned long long)c->id);
		conn_release(c);
		return;
	}
	c->next = c->loop->conns;
	if (c->next != NULL)
		c->next->prev = c;
	c->loop->conns = c;
	event_base_gettimeofday_cached(c->loop->base, &c->started);
	if (c->state == CONN_HEADER || c->svc->idle_timeout_ms != 0) {
		if ((c->deadline = evtimer_new(c->loop->base, conn_deadline_fired,
		    c)) == NULL) {
			log_err("service %s: %s (conn %llu): cannot set up the "
			    "connection's timer", c->svc->name, c->peer,
			    (unsigned long long)c->id);
			conn_release(c);
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
	if (atomic_load(&srv->shutting_down)) {
		/* Accepted just before the listeners closed: the handler
		 * never saw it, so it is not told of its end either. */
		c->reason = CLOSE_SHUTDOWN;
		c->state = CONN_FINISHED;
		conn_release(c);
		return;
	}
	if (c->state == CONN_HEADER) {
		/* Nothing reaches the handler before the PROXY header. */
		bufferevent_setcb(c->bev, conn_header_readcb, NULL,
		    conn_header_eventcb, c);
		bufferevent_setwatermark(c->bev, EV_READ, 0,
		    PROXY_HEADER_MAX);
		conn_deadline_arm(c, c->svc->proxy_timeout_ms);
		bufferevent_enable(c->bev, EV_READ);
		return;
	}
	conn_start(c);
}

void
conn_accepted(struct harbor_service *svc, struct loop *loop,
    evutil_socket_t fd, const struct sockaddr *peer, int peerlen,
    struct limits_ticket *ticket, struct forward_hops *hops,
    uint64_t id, const char *peerstr)
{
	struct harbor_conn	*c;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		log_err("service %s: refused %s: out of memory", svc->name,
		    peerstr);
		evutil_closesocket(fd);
		limits_ticket_return(svc->limits, ticket);
		free(hops);
		server_conn_gone(svc->server);
		return;
	}
	c->svc = svc;
	service_hold(svc);
	c->loop = loop;
	c->fd = fd;
	compat_socket_nosigpipe((int)fd);
	c->id = id;
	if (peerlen > 0 && (size_t)peerlen <= sizeof c->peer_addr)
		memcpy(&c->peer_addr, peer, (size_t)peerlen);
	c->state = svc->proxy_versions != 0 ? CONN_HEADER : CONN_OPEN;
	c->ticket = *ticket;
	c->hops = hops;
	strlcpy(c->peer, peerstr, sizeof c->peer);
	atomic_init(&c->refs, 1);
	atomic_init(&c->pending, 0);
	atomic_init(&c->scheduled, 0);
	atomic_init(&c->stop_input, 0);
	atomic_init(&c->eof, 0);
	atomic_init(&c->finished, 0);
	atomic_init(&c->write_shut, 0);
	atomic_init(&c->timers, NULL);
	atomic_init(&c->posts, NULL);
	c->job.run = conn_job_run;
	c->job.admitted = conn_job_admitted;
	atomic_fetch_add(&loop->nconns, 1);

	if (!loop->threaded)
		conn_attach(c);
	else if (loop_post(loop, conn_attach, c) == -1) {
		log_err("service %s: refused %s: out of memory", svc->name,
		    peerstr);
		conn_release(c);
	}
}

/* Stops I/O and has the handler's close run; the loop's reference goes. */
static void
conn_finish(struct harbor_conn *c, enum conn_reason reason)
{
	enum conn_state	was = c->state;

	if (c->state == CONN_FINISHED)
		return;
	if (c->state == CONN_OPEN || c->state == CONN_HEADER ||
	    c->reason == CLOSE_NONE)
		c->reason = reason;
	c->state = CONN_FINISHED;
	atomic_store(&c->stop_input, 1);
	atomic_store(&c->finished, 1);
	conn_timers_stop_all(c);
	if (c->session_timer != NULL)
		(void)evtimer_del(c->session_timer);
	if (c->deadline != NULL)
		(void)evtimer_del(c->deadline);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	/* The handler hears of the end only if it heard of the start. */
	if (was != CONN_HEADER)
		conn_dispatch(c, CONN_EV_CLOSE);
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
	int			 err;

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
	if (what & BEV_EVENT_ERROR) {
		err = EVUTIL_SOCKET_ERROR();
		/* A reset or a broken pipe is how a client that stopped
		 * reading usually leaves (chargen's normal end). */
		if (err == ECONNRESET || err == EPIPE)
			conn_finish(c, CLOSE_CLIENT);
		else {
			c->error = err;
			conn_finish(c, CLOSE_ERROR);
		}
	}
}

void
conn_end(struct harbor_conn *c, enum conn_reason reason, const char *detail)
{
	if (detail != NULL)
		strlcpy(c->detail, detail, sizeof c->detail);
	conn_hold(c);
	conn_finish(c, reason);
	conn_release(c);
}

int
conn_addresses(struct harbor_conn *c, struct sockaddr_storage *peer,
    struct sockaddr_storage *local)
{
	ev_socklen_t	len = sizeof *local;

	*peer = c->peer_addr;
	if (!c->have_local) {
		if (getsockname(c->fd, (struct sockaddr *)&c->local_addr,
		    &len) == -1)
			return -1;
		c->have_local = 1;
	}
	*local = c->local_addr;
	return 0;
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

/* --- asks of the loop, from the handler's callbacks ---------------------- */

struct conn_ask {
	struct harbor_conn	*conn;
	void			(*fn)(struct harbor_conn *);
};

static void
conn_ask_task(void *arg)
{
	struct conn_ask	*a = arg;

	a->fn(a->conn);
	conn_release(a->conn);
	free(a);
}

int
conn_on_loop(struct harbor_conn *c, void (*fn)(struct harbor_conn *))
{
	struct conn_ask	*a;

	if ((a = malloc(sizeof *a)) == NULL)
		return -1;
	a->conn = c;
	a->fn = fn;
	conn_hold(c);
	if (loop_post(c->loop, conn_ask_task, a) == -1) {
		free(a);
		conn_release_remote(c);
		return -1;
	}
	return 0;
}

/* harbor_conn_shutdown_write: FIN once what was written is sent. */
void
conn_shut_write(struct harbor_conn *c)
{
	if (c->state != CONN_OPEN)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		(void)shutdown(c->fd, SHUT_WR);
		return;
	}
	c->shut_pending = 1;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

/* harbor_conn_resume_input: what is buffered is offered again. */
void
conn_offer_input(struct harbor_conn *c)
{
	if (c->state == CONN_OPEN)
		conn_dispatch(c, CONN_EV_INPUT);
}

/* --- timers -------------------------------------------------------------- */

struct harbor_timer {
	struct harbor_conn	*conn;
	struct event		*ev;
	harbor_timer_fn		*fn;
	void			*arg;
	atomic_int		 due;		/* fired, not called yet */
	struct harbor_timer	*next;
};

static void
conn_timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct harbor_timer	*t = arg;
	struct harbor_conn	*c = t->conn;

	if (c->state == CONN_FINISHED)
		return;
	atomic_store(&t->due, 1);
	conn_hold(c);
	conn_dispatch(c, CONN_EV_TIMER);
	conn_release(c);
}

struct harbor_timer *
conn_timer_new(struct harbor_conn *c, harbor_timer_fn *fn, void *arg)
{
	struct harbor_timer	*t;

	if (fn == NULL || (t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	t->conn = c;
	t->fn = fn;
	t->arg = arg;
	atomic_init(&t->due, 0);
	if ((t->ev = evtimer_new(c->loop->base, conn_timer_fired, t)) ==
	    NULL) {
		free(t);
		return NULL;
	}
	/* The loop reads the list when the connection ends: pushed whole. */
	t->next = atomic_load(&c->timers);
	while (!atomic_compare_exchange_weak(&c->timers, &t->next, t))
		;
	return t;
}

int
conn_timer_start(struct harbor_timer *t, unsigned ms)
{
	struct timeval	tv;

	if (atomic_load(&t->conn->finished))
		return -1;
	tv.tv_sec = (long)(ms / 1000);
	tv.tv_usec = (long)(ms % 1000) * 1000;
	atomic_store(&t->due, 0);
	return evtimer_add(t->ev, &tv);
}

void
conn_timer_stop(struct harbor_timer *t)
{
	/* Deleting waits for its callback if the loop runs it right now;
	 * then a call it made due is taken back. */
	(void)evtimer_del(t->ev);
	atomic_store(&t->due, 0);
}

/* The handler's thread: the calls of the timers that fired. */
static void
conn_run_timers(struct harbor_conn *c)
{
	struct harbor_timer	*t;

	for (t = atomic_load(&c->timers); t != NULL; t = t->next)
		if (atomic_exchange(&t->due, 0) && !c->closed_told)
			t->fn(c, t->arg);
}

static void
conn_timers_stop_all(struct harbor_conn *c)
{
	struct harbor_timer	*t;

	for (t = atomic_load(&c->timers); t != NULL; t = t->next)
		(void)evtimer_del(t->ev);
}

static void
conn_timers_free(struct harbor_conn *c)
{
	struct harbor_timer	*t, *next;

	for (t = atomic_load(&c->timers); t != NULL; t = next) {
		next = t->next;
		event_free(t->ev);
		free(t);
	}
}

/* --- posted functions ---------------------------------------------------- */

struct conn_post {
	struct harbor_conn	*conn;
	harbor_conn_fn		*fn;
	void			*arg;
	struct conn_post	*next;
};

/* On the loop: into the connection's list, and called in its order. */
static void
conn_post_arrived(void *arg)
{
	struct conn_post	*p = arg;
	struct harbor_conn	*c = p->conn;

	p->next = atomic_load(&c->posts);
	while (!atomic_compare_exchange_weak(&c->posts, &p->next, p))
		;
	conn_dispatch(c, CONN_EV_POST);
}

int
conn_post(struct harbor_conn *c, harbor_conn_fn *fn, void *arg)
{
	struct conn_post	*p;

	if (fn == NULL || (p = malloc(sizeof *p)) == NULL)
		return -1;
	p->conn = c;
	p->fn = fn;
	p->arg = arg;
	conn_hold(c);		/* the post's, until its call */
	if (loop_post(c->loop, conn_post_arrived, p) == -1) {
		free(p);
		conn_release_remote(c);
		return -1;
	}
	return 0;
}

/* The handler's thread: the posted calls, oldest first; gone when the
 * connection has ended meanwhile. */
static void
conn_run_posts(struct harbor_conn *c)
{
	struct conn_post	*p, *fifo = NULL, *next;

	for (p = atomic_exchange(&c->posts, NULL); p != NULL; p = next) {
		next = p->next;
		p->next = fifo;
		fifo = p;
	}
	for (p = fifo; p != NULL; p = next) {
		next = p->next;
		p->fn(c, p->arg, atomic_load(&c->finished) || c->closed_told);
		free(p);
		conn_release_remote(c);
	}
}
