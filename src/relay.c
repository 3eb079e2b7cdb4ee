/*
 * Relays: a client joined to a second stream on the same loop, both ways,
 * byte for byte.  The forward handler's second stream is its backend; the
 * exec handler's is the socket its child reads and writes.
 *
 * A relay works on the two sockets directly, not through bufferevents:
 * what one side sends is read into a buffer on the stack and written to
 * the other side at once, so a byte costs one read and one write and no
 * extra turn of the loop.  Only what the other side cannot take now is
 * kept (at most RELAY_BUF a direction), and while it waits, reading from
 * the sender stops: a slow reader on either side costs a bounded amount,
 * and the sender is held back by TCP itself.  An idle relay holds no
 * buffer at all.
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
 * socket, so nothing is left to read what the client sends
 * (HARBOR_RELAY_PEER_EOF_ENDS).  A backend's FIN may be a half-close, so the client's
 * data goes on to it until the client closes or the backend refuses it.
 *
 * Idle: traffic either way counts as the connection's (conn_touch), whose
 * idle timeout goes on as for any other.  Once both directions are over, a
 * client that does not close within RELAY_LINGER_MS is closed.
 *
 * A stream: where the system has splice(2), a direction whose read fills
 * the whole buffer is moved from then on through a pipe of its own
 * (RELAY_PIPE, if the system lets it be that large), socket to pipe to
 * socket, without its bytes passing through the server's memory.  The
 * pipe is the buffer (what the other side cannot take now waits there,
 * and reading stops as above); it is made only for such a direction, so
 * a short session costs no descriptors more.  If the pipe cannot be made,
 * or a socket does not splice, the direction goes on with copies.
 */
/* glibc declares splice for this. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#define SHUT_WR		SD_SEND
#else
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>
#endif
#if HAVE_DECL_SPLICE && HAVE_DECL_SPLICE_F_NONBLOCK
#define RELAY_SPLICE	1
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0	/* the sockets have SO_NOSIGPIPE instead */
#endif

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "conn.h"

#define RELAY_BUF	(64 * 1024)
#define RELAY_PIPE	(256 * 1024)
#define RELAY_LINGER_MS	5000

/* One direction: what `from` sends goes to `to`. */
struct flow {
	struct relay		*relay;
	evutil_socket_t		 from, to;	/* -1: no backend yet */
	struct event		*rd;		/* from is readable */
	struct event		*wr;		/* to is writable (while held) */
	char			*held;		/* read, not yet written */
	size_t			 off, len;
	int			 pipe_r, pipe_w; /* splicing, else -1 */
	size_t			 piped;		/* in the pipe, not yet written */
	int			 splice_off;	/* copies from now on */
	int			 eof;		/* from sent its FIN */
	int			 done;		/* and it was passed on */
	int			 dead;		/* to takes no more: drop */
	int			 up;		/* client to backend */
};

struct relay {
	struct harbor_conn	*conn;
	struct flow		 up, down;
	int			 eof_is_close;	/* backend EOF: it reads no more */
	struct event		*linger_timer;
	char			 why[128];	/* why the backend went */
};

static void	relay_progress(struct relay *);

static void
relay_end(struct relay *r)
{
	if (r->why[0] != '\0')
		conn_end(r->conn, CLOSE_DETAIL, r->why);
	else
		conn_end(r->conn, CLOSE_DONE, NULL);
}

/* The second stream failed with err: it sends and takes nothing more. */
static void
relay_backend_failed(struct relay *r, int err)
{
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof r->why, "%s: %s",
		    r->conn->svc->handler->name,
		    evutil_socket_error_to_string(err));
	r->down.eof = 1;
	r->up.dead = 1;
	if (r->down.rd != NULL)
		(void)event_del(r->down.rd);
}

/* The client failed with err: the connection ends now. */
static void
relay_client_failed(struct relay *r, int err)
{
	if (SOCKET_ERR_RESET(err))
		conn_end(r->conn, CLOSE_CLIENT, NULL);
	else {
		r->conn->error = err;
		conn_end(r->conn, CLOSE_ERROR, NULL);
	}
}

/* Writing to `to` failed with err: -1 if that was the client (the relay
 * has ended), 0 if it was the second stream (what goes to it is dropped
 * from now on). */
static int
flow_write_failed(struct flow *f, int err)
{
	if (!f->up) {
		relay_client_failed(f->relay, err);
		return -1;
	}
	relay_backend_failed(f->relay, err);
	return 0;
}

static void
flow_count(struct flow *f, size_t n, int written)
{
	struct relay	*r = f->relay;

	conn_touch(r->conn);
	/* The client's bytes: what it sent (up, read) and what it was sent
	 * (down, written). */
	if (f->up && !written) {
		r->conn->bytes_in += n;
		stats_bytes(r->conn->stats, n, 0);
	} else if (!f->up && written) {
		r->conn->bytes_out += n;
		stats_bytes(r->conn->stats, 0, n);
	}
}

/* Writes what is held to `to`.  0: all of it went (or it is dropped);
 * 1: some waits for `to` to be writable; -1: the relay ended. */
static int
flow_flush(struct flow *f)
{
	ev_ssize_t	 n;
	int		 err;

	while (f->len > 0 && !f->dead) {
		n = send(f->to, f->held + f->off, f->len, MSG_NOSIGNAL);
		if (n > 0) {
			flow_count(f, (size_t)n, 1);
			f->off += (size_t)n;
			f->len -= (size_t)n;
			continue;
		}
		err = EVUTIL_SOCKET_ERROR();
		if (SOCKET_ERR_RETRIABLE(err))
			return 1;
		if (flow_write_failed(f, err) == -1)
			return -1;
	}
	free(f->held);
	f->held = NULL;
	f->off = f->len = 0;
	return 0;
}

/* Sends buf on at once; what `to` cannot take now is kept, and reading
 * stops until it is written.  0: passed (or dropped), 1: some is kept,
 * -1: the relay ended. */
static int
flow_pass(struct flow *f, const char *buf, size_t len)
{
	struct relay	*r = f->relay;
	size_t		 sent = 0;
	ev_ssize_t	 n;
	int		 err;

	while (sent < len && !f->dead) {
		n = send(f->to, buf + sent, len - sent, MSG_NOSIGNAL);
		if (n > 0) {
			flow_count(f, (size_t)n, 1);
			sent += (size_t)n;
			continue;
		}
		err = EVUTIL_SOCKET_ERROR();
		if (SOCKET_ERR_RETRIABLE(err))
			break;
		if (flow_write_failed(f, err) == -1)
			return -1;
	}
	if (sent == len || f->dead)
		return 0;
	if ((f->held = malloc(len - sent)) == NULL) {
		snprintf(r->why, sizeof r->why, "out of memory");
		relay_end(r);
		return -1;
	}
	memcpy(f->held, buf + sent, len - sent);
	f->off = 0;
	f->len = len - sent;
	(void)event_del(f->rd);
	(void)event_add(f->wr, NULL);
	return 1;
}

/* What waits for `to`: held, or in the pipe. */
static size_t
flow_waiting(const struct flow *f)
{
	return f->len + f->piped;
}

#ifdef RELAY_SPLICE
/* The pipe goes, and what it holds with it. */
static void
flow_unpipe(struct flow *f)
{
	if (f->pipe_r != -1) {
		(void)close(f->pipe_r);
		(void)close(f->pipe_w);
	}
	f->pipe_r = f->pipe_w = -1;
	f->piped = 0;
}

/* A read filled the buffer: a stream, passed through a pipe from now on.
 * Without a pipe (descriptors short), copies go on. */
static void
flow_splice_start(struct flow *f)
{
	int	p[2];

	if (f->pipe_r != -1 || f->splice_off || f->dead)
		return;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1) {
		f->splice_off = 1;
		return;
	}
#ifdef F_SETPIPE_SZ
	(void)fcntl(p[1], F_SETPIPE_SZ, RELAY_PIPE);
#endif
	f->pipe_r = p[0];
	f->pipe_w = p[1];
}

/* `to` does not splice: what the pipe holds is held as read, and the
 * direction goes on with copies.  -1: out of memory. */
static int
flow_pipe_to_held(struct flow *f)
{
	ssize_t	n;
	size_t	got = 0;

	if ((f->held = malloc(f->piped)) == NULL)
		return -1;
	while (got < f->piped &&
	    (n = read(f->pipe_r, f->held + got, f->piped - got)) > 0)
		got += (size_t)n;
	f->off = 0;
	f->len = got;
	flow_unpipe(f);
	f->splice_off = 1;
	return 0;
}

/* Writes what the pipe holds to `to`, as flow_flush does what is held. */
static int
flow_splice_out(struct flow *f)
{
	struct relay	*r = f->relay;
	ssize_t		 n;
	int		 err;

	while (f->piped > 0 && !f->dead) {
		n = splice(f->pipe_r, NULL, f->to, NULL, f->piped,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			flow_count(f, (size_t)n, 1);
			f->piped -= (size_t)n;
			continue;
		}
		err = n == 0 ? EPIPE : errno;
		if (err == EINTR)
			continue;
		if (SOCKET_ERR_RETRIABLE(err))
			return 1;
		if (err == EINVAL) {
			if (flow_pipe_to_held(f) == -1) {
				snprintf(r->why, sizeof r->why,
				    "out of memory");
				relay_end(r);
				return -1;
			}
			return flow_flush(f);
		}
		if (flow_write_failed(f, err) == -1)
			return -1;
	}
	if (f->dead) {
		/* What `to` will not take is dropped; so is the rest,
		 * read with copies. */
		flow_unpipe(f);
		f->splice_off = 1;
	}
	return 0;
}
#endif

/* Writes what waits for `to`: as flow_flush. */
static int
flow_write_waiting(struct flow *f)
{
#ifdef RELAY_SPLICE
	if (f->piped > 0)
		return flow_splice_out(f);
#endif
	return flow_flush(f);
}

/* Reads what `from` has: into the pipe (*spliced set) if the direction
 * has one, else into buf. */
static ev_ssize_t
flow_read(struct flow *f, evutil_socket_t fd, char *buf, size_t size,
    int *spliced)
{
	*spliced = 0;
#ifdef RELAY_SPLICE
	if (f->pipe_r != -1) {
		ssize_t	n = splice(fd, NULL, f->pipe_w, NULL, RELAY_PIPE,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (n != -1 || errno != EINVAL) {
			*spliced = 1;
			return n;
		}
		/* `from` does not splice (nothing is in the pipe: reading
		 * waits while something is): copies. */
		flow_unpipe(f);
		f->splice_off = 1;
	}
#endif
	return recv(fd, buf, size, 0);
}

static void
flow_readable(evutil_socket_t fd, short what, void *arg)
{
	struct flow	*f = arg;
	struct relay	*r = f->relay;
	char		 buf[RELAY_BUF];
	ev_ssize_t	 n;
	int		 err, spliced, left;

	n = flow_read(f, fd, buf, sizeof buf, &spliced);
	if (n > 0) {
		flow_count(f, (size_t)n, 0);
		if (spliced) {
			f->piped += (size_t)n;
			if ((left = flow_write_waiting(f)) == -1)
				return;
			if (left == 1) {
				(void)event_del(f->rd);
				(void)event_add(f->wr, NULL);
			}
		} else {
			if (flow_pass(f, buf, (size_t)n) == -1)
				return;
#ifdef RELAY_SPLICE
			if ((size_t)n == sizeof buf)
				flow_splice_start(f);
#endif
		}
	} else if (n == 0) {
		f->eof = 1;
		(void)event_del(f->rd);
		if (!f->up && r->eof_is_close)
			r->up.dead = 1;
	} else {
		err = EVUTIL_SOCKET_ERROR();
		if (SOCKET_ERR_RETRIABLE(err))
			return;
		if (f->up) {
			relay_client_failed(r, err);
			return;
		}
		relay_backend_failed(r, err);
	}
	relay_progress(r);
}

static void
flow_writable(evutil_socket_t fd, short what, void *arg)
{
	struct flow	*f = arg;
	int		 r;

	if ((r = flow_write_waiting(f)) == -1)
		return;
	if (r == 0) {
		(void)event_del(f->wr);
		if (!f->eof)
			(void)event_add(f->rd, NULL);
	}
	relay_progress(f->relay);
}

static void
relay_linger(evutil_socket_t fd, short what, void *arg)
{
	relay_end(arg);
}

/* Passes each side's end on once all before it is written, and ends the
 * connection when all is done.  The last thing a callback does: the relay
 * may be gone when it returns. */
static void
relay_progress(struct relay *r)
{
	struct flow	*up = &r->up, *down = &r->down;

	/* A dead direction's data is dropped, its end needs no passing. */
	if (up->dead && flow_waiting(up) > 0) {
		free(up->held);
		up->held = NULL;
		up->len = 0;
#ifdef RELAY_SPLICE
		flow_unpipe(up);
		up->splice_off = 1;
#endif
		(void)event_del(up->wr);
		if (!up->eof)
			(void)event_add(up->rd, NULL);
	}
	if (!up->done && up->eof && flow_waiting(up) == 0 && up->to != -1) {
		if (!up->dead)
			(void)shutdown(up->to, SHUT_WR);
		up->done = 1;
	} else if (!up->done && up->dead && up->to != -1)
		up->done = 1;
	if (!down->done && down->eof && flow_waiting(down) == 0) {
		(void)shutdown(down->to, SHUT_WR);
		down->done = 1;
	}
	if (!up->done || !down->done)
		return;
	if (up->eof) {
		relay_end(r);
		return;
	}
	/* Both ways over, the client still there: it gets a while to close,
	 * its data dropped meanwhile. */
	if (r->linger_timer == NULL) {
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

/* The connection is over: its relay goes (conn_finish calls this). */
static void	relay_detach(struct harbor_conn *);

int
harbor_conn_relay(struct harbor_conn *c, harbor_socket_t fd, unsigned flags,
    const void *first, size_t firstlen)
{
	struct event_base	*base = c->loop->base;
	struct evbuffer		*in;
	struct relay		*r;
	size_t			 have;

	/* Its events live on the loop: from an inline handler's callback,
	 * once. */
	if (c->svc->dispatch != HARBOR_DISPATCH_INLINE ||
	    c->state != CONN_OPEN || c->relay != NULL ||
	    (r = calloc(1, sizeof *r)) == NULL) {
		evutil_closesocket(fd);
		return -1;
	}
	r->conn = c;
	r->up.pipe_r = r->up.pipe_w = r->down.pipe_r = r->down.pipe_w = -1;
	r->eof_is_close = (flags & HARBOR_RELAY_PEER_EOF_ENDS) != 0;
	r->up.relay = r->down.relay = r;
	r->up.up = 1;
	r->up.from = r->down.to = c->fd;
	r->up.to = r->down.from = fd;
	c->relay = r;
	c->detach = relay_detach;
	/* From here on the relay reads and writes the socket itself; the
	 * connection's idle timeout goes on, touched by its traffic.  (Its
	 * own read event goes once the relay's is there: the socket stays
	 * registered with the system's poller, not taken out and put back.) */
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	in = bufferevent_get_input(c->bev);
	have = evbuffer_get_length(in);
	r->up.rd = event_new(base, c->fd, EV_READ | EV_PERSIST, flow_readable,
	    &r->up);
	r->up.wr = event_new(base, fd, EV_WRITE | EV_PERSIST, flow_writable,
	    &r->up);
	r->down.rd = event_new(base, fd, EV_READ | EV_PERSIST, flow_readable,
	    &r->down);
	r->down.wr = event_new(base, c->fd, EV_WRITE | EV_PERSIST,
	    flow_writable, &r->down);
	if (r->up.rd == NULL || r->up.wr == NULL || r->down.rd == NULL ||
	    r->down.wr == NULL || (firstlen + have > 0 &&
	    (r->up.held = malloc(firstlen + have)) == NULL)) {
		conn_end(c, CLOSE_NOMEM, NULL);
		return -1;
	}
	/* The first bytes for the second stream (a PROXY header), then what
	 * the client sent before the relay started (after its own PROXY
	 * header, say). */
	if (firstlen > 0)
		memcpy(r->up.held, first, firstlen);
	/* (Counted in bytes_in when the bufferevent read it.) */
	if (have > 0)
		(void)evbuffer_remove(in, r->up.held + firstlen, have);
	r->up.len = firstlen + have;
	(void)event_add(r->down.rd, NULL);
	/* What is held goes at once if the second stream takes it; only the
	 * rest, or the news that it failed, waits for the loop. */
	if (r->up.len > 0 && (flow_flush(&r->up) == 1 || r->up.dead))
		(void)event_add(r->up.wr, NULL);
	else
		(void)event_add(r->up.rd, NULL);
	conn_read_off(c);
	return 0;
}

static void
flow_free(struct flow *f)
{
	if (f->rd != NULL)
		event_free(f->rd);
	if (f->wr != NULL)
		event_free(f->wr);
	free(f->held);
#ifdef RELAY_SPLICE
	flow_unpipe(f);
#endif
}

static void
relay_detach(struct harbor_conn *c)
{
	struct relay	*r = c->relay;

	if (r == NULL)
		return;
	/* The client's FIN came and ours went: nothing is left to shut. */
	c->both_shut = r->up.eof && r->down.done;
	flow_free(&r->up);
	flow_free(&r->down);
	if (r->linger_timer != NULL)
		event_free(r->linger_timer);
	if (r->down.from != -1)
		evutil_closesocket(r->down.from);
	c->relay = NULL;
	c->detach = NULL;
	free(r);
}
