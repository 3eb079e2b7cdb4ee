/*
 * Relays: a client joined to a second stream on the same loop, both ways,
 * byte for byte.  The forward handler's second stream is its backend; the
 * exec handler's is the socket its child reads and writes.
 *
 * Backpressure: what one side sends moves to the other side's output only
 * while that output is below RELAY_HIGH; the rest waits in the input
 * buffer, which stops reading from its socket at RELAY_HIGH (libevent's
 * read watermark).  The other side's write callback, at RELAY_LOW, moves
 * more.  So a slow reader on either side costs at most two buffers, and
 * the sender is throttled by TCP itself.
 *
 * Half-close: a side's end of input (FIN) is passed on as shutdown(SHUT_WR)
 * to the other side once everything it sent before has been written there.
 * The connection is over when both directions are over and the client has
 * closed its side.  If the second stream cannot take more (a backend that
 * reset, a child that exited without reading), what the client still sends
 * is read and dropped, so the reply already on its way is not cut off by a
 * reset.
 *
 * An exec'd child's end of input and output is one socket, as fds 0 and 1:
 * its EOF comes when the child and everything it started have closed the
 * socket, so nothing is left to read what the client sends (relay_new's
 * eof_is_close).  A backend's FIN may be a half-close, so the client's
 * data goes on to it until the client closes or the backend refuses it.
 *
 * Idle: the relay has its own timer, reset by traffic either way, instead
 * of the bufferevent timeouts, which see only one side.  Once both
 * directions are over, a client that does not close within RELAY_LINGER_MS
 * is closed.
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

#define RELAY_HIGH	(64 * 1024)
#define RELAY_LOW	(16 * 1024)
#define RELAY_LINGER_MS	5000

struct relay {
	struct harbor_conn	*conn;
	struct bufferevent	*client;	/* the connection's */
	struct bufferevent	*backend;	/* NULL until it is ready */
	struct event		*idle_timer;
	struct event		*linger_timer;
	int64_t			 last_ms;	/* last traffic either way */
	int			 eof_is_close;	/* backend EOF: it reads no more */
	int			 client_eof;	/* the client sent its FIN */
	int			 backend_eof;
	int			 up_done;	/* client to backend is over */
	int			 down_done;	/* backend to client is over */
	char			 why[128];	/* why the backend went */
};

static void	relay_client_read(struct bufferevent *, void *);
static void	relay_client_write(struct bufferevent *, void *);
static void	relay_client_event(struct bufferevent *, short, void *);
static void	relay_backend_read(struct bufferevent *, void *);
static void	relay_backend_write(struct bufferevent *, void *);
static void	relay_backend_event(struct bufferevent *, short, void *);

static int64_t
relay_now(const struct relay *r)
{
	struct timeval	now;

	event_base_gettimeofday_cached(r->conn->loop->base, &now);
	return tv_ms(&now);
}

/* Moves what from has read to to's output, as far as to has room. */
static void
relay_move(struct bufferevent *from, struct bufferevent *to)
{
	struct evbuffer	*in = bufferevent_get_input(from);
	struct evbuffer	*out;
	size_t		 have;

	if (to == NULL || evbuffer_get_length(in) == 0)
		return;
	out = bufferevent_get_output(to);
	have = evbuffer_get_length(out);
	/* All of it, by moving its chains, not copying: the input is
	 * bounded by its read watermark, so the output stays under twice
	 * RELAY_HIGH. */
	if (have < RELAY_HIGH)
		(void)evbuffer_add_buffer(out, in);
}

static void
relay_shut(struct bufferevent *bev)
{
	(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void
relay_end(struct relay *r)
{
	if (r->why[0] != '\0')
		conn_end(r->conn, CLOSE_DETAIL, r->why);
	else
		conn_end(r->conn, CLOSE_DONE, NULL);
}

static void
relay_linger(evutil_socket_t fd, short what, void *arg)
{
	relay_end(arg);
}

/* Moves data both ways, passes each side's end on, and ends the
 * connection when all is done.  Must be the last thing a callback does:
 * the relay may be gone when it returns. */
static void
relay_progress(struct relay *r)
{
	struct evbuffer	*client_in = bufferevent_get_input(r->client);

	r->last_ms = relay_now(r);
	if (r->up_done)
		(void)evbuffer_drain(client_in, evbuffer_get_length(client_in));
	else
		relay_move(r->client, r->backend);
	if (r->backend != NULL && !r->down_done)
		relay_move(r->backend, r->client);

	if (!r->up_done && r->client_eof && r->backend != NULL &&
	    evbuffer_get_length(client_in) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(r->backend)) == 0) {
		relay_shut(r->backend);
		r->up_done = 1;
	}
	if (!r->down_done && r->backend_eof &&
	    evbuffer_get_length(bufferevent_get_input(r->backend)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(r->client)) == 0) {
		relay_shut(r->client);
		r->down_done = 1;
	}
	if (r->up_done && r->down_done) {
		if (r->client_eof)
			relay_end(r);
		else if (r->linger_timer == NULL) {
			struct timeval	tv = { RELAY_LINGER_MS / 1000,
					       (RELAY_LINGER_MS % 1000) * 1000 };

			r->linger_timer = evtimer_new(r->conn->loop->base,
			    relay_linger, r);
			if (r->linger_timer == NULL)
				relay_end(r);
			else
				(void)evtimer_add(r->linger_timer, &tv);
		}
	}
}

static void
relay_idle(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	unsigned	 idle = r->conn->svc->idle_timeout_ms;
	int64_t		 quiet = relay_now(r) - r->last_ms;
	struct timeval	 tv;

	if (quiet >= (int64_t)idle) {
		conn_end(r->conn, CLOSE_IDLE, NULL);
		return;
	}
	tv.tv_sec = (long)((idle - quiet) / 1000);
	tv.tv_usec = (long)((idle - quiet) % 1000) * 1000;
	(void)evtimer_add(r->idle_timer, &tv);
}

/* libevent reads and writes at most 16 KiB a call by default; a relay
 * moving bulk data does better with a buffer's worth. */
static void
relay_tune(struct bufferevent *bev)
{
	(void)bufferevent_set_max_single_read(bev, RELAY_HIGH);
	(void)bufferevent_set_max_single_write(bev, RELAY_HIGH);
}

struct relay *
relay_new(struct harbor_conn *c, int eof_is_close)
{
	struct relay	*r;
	unsigned	 idle = c->svc->idle_timeout_ms;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	r->conn = c;
	r->client = c->bev;
	r->eof_is_close = eof_is_close;
	if (idle != 0) {
		struct timeval	tv = { (long)(idle / 1000),
				       (long)(idle % 1000) * 1000 };

		r->idle_timer = evtimer_new(c->loop->base, relay_idle, r);
		if (r->idle_timer == NULL) {
			free(r);
			return NULL;
		}
		(void)evtimer_add(r->idle_timer, &tv);
	}
	r->last_ms = relay_now(r);
	c->relay = r;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	relay_tune(c->bev);
	bufferevent_setwatermark(c->bev, EV_READ, 0, RELAY_HIGH);
	bufferevent_setwatermark(c->bev, EV_WRITE, RELAY_LOW, 0);
	bufferevent_setcb(c->bev, relay_client_read, relay_client_write,
	    relay_client_event, r);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return r;
}

void
relay_backend_ready(struct relay *r, struct bufferevent *bev)
{
	r->backend = bev;
	relay_tune(bev);
	bufferevent_setwatermark(bev, EV_READ, 0, RELAY_HIGH);
	bufferevent_setwatermark(bev, EV_WRITE, RELAY_LOW, 0);
	bufferevent_setcb(bev, relay_backend_read, relay_backend_write,
	    relay_backend_event, r);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	relay_progress(r);
}

void
relay_fail(struct relay *r, const char *why)
{
	conn_end(r->conn, CLOSE_DETAIL, why);
}

void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->idle_timer != NULL)
		event_free(r->idle_timer);
	if (r->linger_timer != NULL)
		event_free(r->linger_timer);
	if (r->backend != NULL)
		bufferevent_free(r->backend);
	r->conn->relay = NULL;
	free(r);
}

static void
relay_client_read(struct bufferevent *bev, void *arg)
{
	relay_progress(arg);
}

static void
relay_client_write(struct bufferevent *bev, void *arg)
{
	relay_progress(arg);
}

static void
relay_client_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay	*r = arg;
	int		 err;

	if (what & BEV_EVENT_EOF) {
		r->client_eof = 1;
		relay_progress(r);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		err = EVUTIL_SOCKET_ERROR();
		if (err == ECONNRESET || err == EPIPE)
			conn_end(r->conn, CLOSE_CLIENT, NULL);
		else {
			r->conn->error = err;
			conn_end(r->conn, CLOSE_ERROR, NULL);
		}
	}
}

static void
relay_backend_read(struct bufferevent *bev, void *arg)
{
	relay_progress(arg);
}

static void
relay_backend_write(struct bufferevent *bev, void *arg)
{
	relay_progress(arg);
}

static void
relay_backend_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay	*r = arg;
	struct evbuffer	*out = bufferevent_get_output(bev);

	if (what & BEV_EVENT_ERROR) {
		/* It takes nothing more, and sends nothing more; what it
		 * sent before is still passed on. */
		if (r->why[0] == '\0')
			snprintf(r->why, sizeof r->why, "%s: %s",
			    r->conn->svc->handler->name,
			    evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
		(void)evbuffer_drain(out, evbuffer_get_length(out));
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		r->up_done = 1;
		r->backend_eof = 1;
	} else if (what & BEV_EVENT_EOF) {
		r->backend_eof = 1;
		if (r->eof_is_close) {
			(void)evbuffer_drain(out, evbuffer_get_length(out));
			r->up_done = 1;
		}
	}
	relay_progress(r);
}
