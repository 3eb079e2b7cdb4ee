/*
 * The handler's calls for a connection: open, input, writable, end, close
 * and the timers and posted functions, made right on the connection's loop
 * (dispatch inline) or as a job on the worker pool (dispatch pool: one job
 * per connection at a time, so calls stay in order and never overlap), and
 * the feeding of input to it, framed and within its limits.
 */
#include "autoconfig.h"

#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "conn.h"

static void	conn_run(struct harbor_conn *, unsigned);

static struct harbor_conn *
job_conn(struct pool_job *job)
{
	return (struct harbor_conn *)((char *)job -
	    offsetof(struct harbor_conn, job));
}

/* On the loop, once its callbacks are done: the jobs they made go to the
 * pool together, one lock and at most one wakeup for all of them. */
static void
conn_submit_batch(void *arg)
{
	struct loop		*loop = arg;
	struct harbor_conn	*c;
	struct pool		*pool;
	unsigned		 i, n = loop->nbatch, queued;

	if (n == 0)
		return;
	loop->nbatch = 0;
	pool = job_conn(loop->batch[0])->svc->host->pool;
	if (pool == NULL) {
		/* The pool is gone (the server is being freed): what it
		 * would have run at its end runs here. */
		for (i = 0; i < n; i++) {
			c = job_conn(loop->batch[i]);
			conn_job_run(&c->job);
			conn_release(c);
		}
		return;
	}
	queued = pool_submit_many(pool, loop->batch, n);
	for (i = 0; i < n; i++) {
		c = job_conn(loop->batch[i]);
		if (i >= queued && pool_submit(pool, &c->job) == 1) {
			/* The pool is full: stop reading from this client
			 * until the job gets a place.  The submitter's
			 * reference is the resume task's
			 * (conn_job_admitted). */
			if (c->state == CONN_OPEN) {
				c->read_deferred = 1;
				conn_read_off(c);
			}
			continue;
		}
		/* Once queued, the job may have run and let go already. */
		conn_release(c);
	}
}

/* Runs the handler's open/input/writable/close for the events in bits, on
 * whichever thread the service's dispatch says: on the pool, as the
 * connection's job, submitted with the others the loop's callbacks made
 * (conn_submit_batch). */
void
conn_dispatch(struct harbor_conn *c, unsigned bits)
{
	struct loop	*loop = c->loop;

	if (conn_inline(c)) {
		conn_run(c, bits);
		return;
	}
	atomic_fetch_or(&c->pending, bits);
	if (atomic_exchange(&c->scheduled, 1))
		return;		/* the job already queued or running sees it */
	conn_hold(c);		/* the job's */
	conn_hold(c);		/* the submitter's, until it is queued */
	if (loop->nbatch == 0) {
		loop->batch_later.fn = conn_submit_batch;
		loop->batch_later.arg = loop;
		loop_later(loop, &loop->batch_later);
	}
	loop->batch[loop->nbatch++] = &c->job;
	if (loop->nbatch == LOOP_BATCH)
		conn_submit_batch(loop);
}

static void
conn_resume_read_task(void *arg)
{
	struct harbor_conn	*c = arg;

	if (c->read_deferred) {
		c->read_deferred = 0;
		if (c->state == CONN_OPEN && !atomic_load(&c->eof))
			conn_read_on(c);
	}
	conn_release(c);
}

void
conn_job_admitted(struct pool_job *job)
{
	struct harbor_conn	*c = job_conn(job);

	/* The reference taken when the job was deferred is the task's. */
	if (loop_post(c->loop, conn_resume_read_task, c) == -1)
		conn_release_any(c);
}

void
conn_job_run(struct pool_job *job)
{
	struct harbor_conn	*c = job_conn(job);
	unsigned		 bits;

	for (;;) {
		bits = atomic_exchange(&c->pending, 0);
		if (bits != 0) {
			conn_run(c, bits);
			conn_io_calls_done(c);
			continue;
		}
		atomic_store(&c->scheduled, 0);
		/* Events that arrived between the exchange and the store saw
		 * scheduled set and left them to us. */
		if (atomic_load(&c->pending) == 0 ||
		    atomic_exchange(&c->scheduled, 1))
			break;
	}
	conn_release_any(c);
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
		conn_release_any(c);
}

/* Whether input may be offered now. */
static int
conn_may_feed(struct harbor_conn *c)
{
	return !atomic_load(&c->stop_input) && !c->input_paused &&
	    !harbor_conn_output_full(c);
}

/* One call of the handler's input: what it consumed, at most len (more
 * is a bug of the handler's, said once for its service).  A pause and a
 * resume within the call cancel out (harbor_conn_resume_input). */
static size_t
conn_offer(struct harbor_conn *c, const struct harbor_handler *h,
    const char *data, size_t len)
{
	size_t	used;

	c->in_input = 1;
	c->paused_in_input = 0;
	used = h->input(c, data, len);
	c->in_input = 0;
	if (used > len) {
		if (!atomic_exchange(&c->svc->said_overconsumed, 1))
			svc_log(c->svc, HARBOR_LOG_WARNING, "service %s: handler "
			    "%s says it consumed %zu bytes of the %zu it was "
			    "offered; taking it as all of them (said once)",
			    c->svc->name, h->name, used, len);
		used = len;
	}
	return used;
}

/* Raw framing: what is buffered, a contiguous piece at a time (no copy),
 * while the handler consumes some of each; what it leaves is offered again
 * with the rest.  A piece it consumes nothing of is offered again with
 * everything buffered after it, made contiguous; if it consumes nothing of
 * all there is either, input waits for more.  1: all there is was
 * offered; 0: feeding stopped before (closing, paused, output full). */
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
		used = conn_offer(c, h, data, len);
		(void)evbuffer_drain(in, used);
		if (used > 0) {
			whole = 0;
			continue;
		}
		if (len < total) {
			whole = 1;
			continue;
		}
		/* Nothing of all there is: more must come to make sense of
		 * it, and cannot once max-input is buffered. */
		if (total >= c->svc->max_input &&
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
		    atomic_load(&c->eof), &c->line_scan, &len);
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
		used = conn_offer(c, h, data, len);
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
		/* Discarded, unless held (a handler that will relay it). */
		if (!conn_may_feed(c))
			return;
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
