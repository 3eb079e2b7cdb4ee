/*
 * The handler's side of a connection: the harbor_conn_* calls a handler
 * makes from its callbacks (on whichever thread runs them), and the
 * timers and posted functions that run in the connection's order.
 *
 * What changes a bufferevent's life is the loop's (doc/threads.txt):
 * these calls touch the buffers, which are locked for pool services, and
 * post the rest to the connection's loop.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "conn.h"

/* --- output ---------------------------------------------------------------- */

int
harbor_conn_write(struct harbor_conn *c, const void *data, size_t len)
{
	/* After the end the bufferevent is disabled: what is written here
	 * is never sent and goes when the connection is freed. */
	if (atomic_load(&c->write_shut))
		return -1;
	return bufferevent_write(c->bev, data, len);
}

int
harbor_conn_printf(struct harbor_conn *c, const char *fmt, ...)
{
	va_list	ap;
	int	r;
#ifdef _WIN32
	/* libevent formats with msvcrt's printf there, which lacks %zu and
	 * %lld; MinGW's C99 one, which this file gets, has them. */
	char	buf[512], *p = buf;
#endif

	if (atomic_load(&c->write_shut))
		return -1;
#ifdef _WIN32
	va_start(ap, fmt);
	r = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	if ((size_t)r >= sizeof buf) {
		if ((p = malloc((size_t)r + 1)) == NULL)
			return -1;
		va_start(ap, fmt);
		(void)vsnprintf(p, (size_t)r + 1, fmt, ap);
		va_end(ap);
	}
	r = evbuffer_add(bufferevent_get_output(c->bev), p, (size_t)r);
	if (p != buf)
		free(p);
#else
	va_start(ap, fmt);
	r = evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
#endif
	return r < 0 ? -1 : 0;
}

int
harbor_conn_write_ref(struct harbor_conn *c, const void *data, size_t len,
    harbor_ref_done_fn *done, void *arg)
{
	if (atomic_load(&c->write_shut))
		return -1;
	return evbuffer_add_reference(bufferevent_get_output(c->bev), data,
	    len, done, arg);
}

int
harbor_conn_write_file(struct harbor_conn *c, int fd, int64_t offset,
    int64_t length)
{
	if (atomic_load(&c->write_shut) || offset < 0 || length < 0)
		return -1;
	return evbuffer_add_file(bufferevent_get_output(c->bev), fd,
	    (ev_off_t)offset, (ev_off_t)length);
}

struct evbuffer *
harbor_conn_output(struct harbor_conn *c)
{
	return bufferevent_get_output(c->bev);
}

size_t
harbor_conn_output_pending(struct harbor_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

int
harbor_conn_output_full(struct harbor_conn *c)
{
	return harbor_conn_output_pending(c) >= c->svc->output_high;
}

int
harbor_conn_shutdown_write(struct harbor_conn *c)
{
	if (atomic_exchange(&c->write_shut, 1))
		return 0;
	return conn_on_loop(c, conn_shut_write);
}

/* --- input ----------------------------------------------------------------- */

void
harbor_conn_pause_input(struct harbor_conn *c)
{
	if (c->input_paused)
		return;
	c->input_paused = 1;
	c->paused_in_input = c->in_input;
}

void
harbor_conn_resume_input(struct harbor_conn *c)
{
	if (!c->input_paused)
		return;
	c->input_paused = 0;
	/* Paused and resumed within one input call: nothing was held back,
	 * and offering it again at once would only ask the same question
	 * without end.  What the call leaves waits for more input. */
	if (c->in_input && c->paused_in_input) {
		c->paused_in_input = 0;
		return;
	}
	/* Offered again from the loop, not from inside this callback. */
	if (conn_on_loop(c, conn_offer_input) == -1)
		log_err("conn %llu: cannot resume its input: out of memory",
		    (unsigned long long)c->id);
}

int
harbor_conn_need_input(struct harbor_conn *c, size_t bytes)
{
	if (c->svc->framing != HARBOR_FRAMING_RAW ||
	    bytes > c->svc->max_input)
		return -1;
	c->need = bytes;
	return 0;
}

/* --- closing --------------------------------------------------------------- */

void
harbor_conn_close(struct harbor_conn *c)
{
	conn_request_close(c, CLOSE_SERVICE);
}

/* --- what the handler keeps and knows -------------------------------------- */

void *
harbor_conn_get_data(struct harbor_conn *c)
{
	return c->data;
}

void
harbor_conn_set_data(struct harbor_conn *c, void *data)
{
	c->data = data;
}

void *
harbor_conn_service_state(struct harbor_conn *c)
{
	return c->svc->state;
}

struct harbor_service *
harbor_conn_service(struct harbor_conn *c)
{
	return c->svc;
}

/* The text of both addresses: made on the first call, for the
 * connection's life.  Handler calls of a connection never run at once, so
 * the first call needs no lock. */
static struct conn_names *
conn_names(struct harbor_conn *c)
{
	if (c->names == NULL) {
		if ((c->names = calloc(1, sizeof *c->names)) == NULL)
			return NULL;
		conn_peer_text(c, c->names->peer, sizeof c->names->peer);
	}
	return c->names;
}

const char *
harbor_conn_peer(struct harbor_conn *c)
{
	struct conn_names	*names = conn_names(c);

	return names != NULL ? names->peer : "?";
}

/* The local address is asked for rarely, so found out on the first call
 * rather than costing every accept a system call. */
const char *
harbor_conn_local(struct harbor_conn *c)
{
	struct conn_names	*names = conn_names(c);

	if (names == NULL)
		return "?";
	if (names->local[0] == '\0') {
		if (conn_local_known(c) == 0)
			addr_format(&c->local_addr.sa, names->local,
			    sizeof names->local);
		else
			strlcpy(names->local, "?", sizeof names->local);
	}
	return names->local;
}

static size_t
sockaddr_len(const union conn_addr *a)
{
	return a->sa.sa_family == AF_INET ? sizeof a->sin :
	    a->sa.sa_family == AF_INET6 ? sizeof a->sin6 : 0;
}

const struct sockaddr *
harbor_conn_peer_addr(struct harbor_conn *c, size_t *len)
{
	if (len != NULL)
		*len = sockaddr_len(&c->peer_addr);
	return &c->peer_addr.sa;
}

const struct sockaddr *
harbor_conn_local_addr(struct harbor_conn *c, size_t *len)
{
	if (conn_local_known(c) == -1) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = sockaddr_len(&c->local_addr);
	return &c->local_addr.sa;
}

int
harbor_conn_proxied(struct harbor_conn *c)
{
	return c->proxied;
}

uint64_t
harbor_conn_id(struct harbor_conn *c)
{
	return c->id;
}

/* --- work elsewhere, in the connection's order ----------------------------- */

void
harbor_conn_hold(struct harbor_conn *c)
{
	conn_hold(c);
}

void
harbor_conn_release(struct harbor_conn *c)
{
	conn_release_any(c);
}

int
harbor_conn_post(struct harbor_conn *c, harbor_conn_fn *fn, void *arg)
{
	return conn_post(c, fn, arg);
}

/* --- timers ---------------------------------------------------------------- */

struct harbor_timer *
harbor_timer_new(struct harbor_conn *c, harbor_timer_fn *fn, void *arg)
{
	return conn_timer_new(c, fn, arg);
}

int
harbor_timer_start(struct harbor_timer *t, unsigned ms)
{
	return conn_timer_start(t, ms);
}

void
harbor_timer_stop(struct harbor_timer *t)
{
	conn_timer_stop(t);
}

/* --- ending ---------------------------------------------------------------- */

int
harbor_conn_fail(struct harbor_conn *c, const char *why)
{
	return conn_fail(c, why);
}

enum harbor_close_reason
harbor_conn_close_reason(struct harbor_conn *c)
{
	return conn_close_reason(c);
}
