/*
 * Work in a connection's order: what a handler asks of the connection's
 * loop (conn_on_loop), its timers, the functions posted to it from other
 * threads, and its ending by harbor_conn_fail().
 *
 * Timers fire on the loop and posted functions arrive there; both become
 * pending events of the connection (CONN_EV_TIMER, CONN_EV_POST), so on
 * the pool they run in the connection's one job, in order with its other
 * calls.  Their lists are pushed onto whole (a compare and swap), since a
 * worker may add a timer while the loop ends the connection.
 */
#include "autoconfig.h"

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

#include "conn.h"

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
		conn_release_any(c);
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
void
conn_run_timers(struct harbor_conn *c)
{
	struct harbor_timer	*t;

	for (t = atomic_load(&c->timers); t != NULL; t = t->next)
		if (atomic_exchange(&t->due, 0) && !c->closed_told)
			t->fn(c, t->arg);
}

void
conn_timers_stop_all(struct harbor_conn *c)
{
	struct harbor_timer	*t;

	for (t = atomic_load(&c->timers); t != NULL; t = t->next)
		(void)evtimer_del(t->ev);
}

void
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
		conn_release_any(c);
		return -1;
	}
	return 0;
}

/* The handler's thread: the posted calls, oldest first; gone when the
 * connection has ended meanwhile. */
void
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
		conn_release_any(c);
	}
}

/* --- harbor_conn_fail and the close reason ------------------------------- */

static void
conn_fail_task(struct harbor_conn *c)
{
	conn_end(c, CLOSE_DETAIL, NULL);	/* detail set by the handler */
}

int
conn_fail(struct harbor_conn *c, const char *why)
{
	atomic_store(&c->stop_input, 1);
	if (atomic_exchange(&c->failing, 1))
		return 0;
	conn_detail(c, why != NULL ? why : "failed");
	return conn_on_loop(c, conn_fail_task);
}

enum harbor_close_reason
conn_close_reason(const struct harbor_conn *c)
{
	switch (c->reason) {
	case CLOSE_CLIENT:
		return HARBOR_CLOSE_CLIENT;
	case CLOSE_DONE:
		return HARBOR_CLOSE_DONE;
	case CLOSE_IDLE:
	case CLOSE_SESSION:
	case CLOSE_PROXY_TIMEOUT:
		return HARBOR_CLOSE_TIMEOUT;
	case CLOSE_LINE:
	case CLOSE_INPUT:
		return HARBOR_CLOSE_LIMIT;
	case CLOSE_SHUTDOWN:
		return HARBOR_CLOSE_SHUTDOWN;
	case CLOSE_ERROR:
	case CLOSE_NOMEM:
	case CLOSE_DETAIL:
	case CLOSE_PROXY:
	case CLOSE_REFUSED:
		return HARBOR_CLOSE_ERROR;
	case CLOSE_SERVICE:
	case CLOSE_NONE:
		break;
	}
	return HARBOR_CLOSE_HANDLER;
}
