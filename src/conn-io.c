/*
 * A connection's reads and writes on its loop, where libevent's
 * bufferevent does more than a request and its reply need.  It reads at
 * most 4 KiB at a time, each after an ioctl(FIONREAD) to learn how much
 * there is; and it registers for writability each time output is added,
 * and unregisters once it is sent: two epoll_ctl calls and a pass of the
 * loop per reply.  Its output added from a worker's thread costs more: a
 * wakeup of the loop for each event_add.
 *
 * A connection whose handler has no writable callback does its own: it
 * reads, on an event of its own, as much as the socket has (READ_CHUNK at
 * most, and never past its input's high-water mark) straight into the
 * bufferevent's input; and it writes what its callbacks added once they
 * are done, straight to the socket: recv(2) and send(2) when the bytes
 * are in one piece, as a request and its reply are (the system's vector
 * calls cost more for a vector of one), readv(2) and writev(2) when they
 * are not.  Inline, "done" is once the loop's callbacks have run
 * (loop_later); on the pool, it is once the job's
 * calls have run, and the worker hands the connection back to its loop
 * (loop_call), which writes for every connection handed back since it
 * last looked: one wakeup for as many replies as the workers made
 * meanwhile.  Only when the socket takes less than all of it does the
 * bufferevent write the rest, as it does for every other connection, and
 * hand back once it has.  The bufferevent stays the connection's
 * buffers, its counts and its timeouts; what is bypassed is its read
 * event and, while the socket keeps up, its write event.
 */
#include "autoconfig.h"

#include <errno.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <sys/uio.h>
#endif

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conn.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0	/* the sockets have SO_NOSIGPIPE instead */
#endif

/* The most one read takes: what a stream needs in one go, without one
 * connection keeping its loop from the others for long.  A read asks for
 * read_size, which doubles when a read fills it and halves when one
 * takes less than a quarter of it: as much as the socket has, without
 * holding 64 KiB for each 64-byte request. */
#define READ_CHUNK	(64 * 1024)
#define READ_LEAST	2048

static void	conn_flush(void *);
static void	conn_handed_back(void *);
static void	conn_readable(evutil_socket_t, short, void *);

void
conn_io_init(struct harbor_conn *c)
{
	c->direct = c->svc->handler->writable == NULL;
	c->write_waiting = 0;
	atomic_store(&c->read_full, 0);
	atomic_store(&c->io_due, 0);
	c->read_size = READ_LEAST;
	c->read_high = c->svc->framing == HARBOR_FRAMING_LINE ?
	    c->svc->max_line + 2 : c->svc->max_input;
	c->flush.fn = conn_flush;
	c->flush.arg = c;
	c->handback.fn = conn_handed_back;
	c->handback.arg = c;
	atomic_init(&c->handback.queued, 0);
	if (c->direct && c->rd == NULL &&
	    (c->rd = event_new(c->loop->base, c->fd, EV_READ | EV_PERSIST,
	    conn_readable, c)) == NULL)
		c->direct = 0;		/* the bufferevent does it all */
	if (c->direct)
		/* (A new bufferevent has writing on; the PROXY header's
		 * stage had reading on.) */
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	else
		bufferevent_setwatermark(c->bev, EV_READ, 0, c->read_high);
}

void
conn_io_free(struct harbor_conn *c)
{
	if (c->rd != NULL)
		event_free(c->rd);
	c->rd = NULL;
}

/* --- reading --------------------------------------------------------------- */

void
conn_read_on(struct harbor_conn *c)
{
	if (!c->direct) {
		bufferevent_enable(c->bev, EV_READ);
		return;
	}
	atomic_store(&c->read_full, 0);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) >=
	    c->read_high)
		/* Until the handler takes some. */
		atomic_store(&c->read_full, 1);
	else
		(void)event_add(c->rd, NULL);
}

void
conn_read_off(struct harbor_conn *c)
{
	if (c->direct) {
		atomic_store(&c->read_full, 0);
		if (c->rd != NULL)
			(void)event_del(c->rd);
	} else
		bufferevent_disable(c->bev, EV_READ);
}

/* Loop thread. */
static void
conn_read_resume(struct harbor_conn *c, size_t left)
{
	if (c->direct && atomic_load(&c->read_full) && left < c->read_high &&
	    c->state == CONN_OPEN && !atomic_load(&c->eof)) {
		atomic_store(&c->read_full, 0);
		(void)event_add(c->rd, NULL);
	}
}

void
conn_input_taken(struct harbor_conn *c, size_t left)
{
	/* On the pool, the worker's thread: the handback at the end of
	 * its calls resumes reading (conn_io_calls_done). */
	if (conn_inline(c))
		conn_read_resume(c, left);
}

static ssize_t
read_into_locked(struct evbuffer *in, evutil_socket_t fd, size_t room,
    int *err)
{
	struct evbuffer_iovec	v[2];
	ssize_t			n;
	size_t			left;
	int			nv, i;

	/* The bufferevent keeps the end of its input frozen, so that only
	 * it adds there; it thaws it to read, and so does this. */
	(void)evbuffer_unfreeze(in, 0);
	if ((nv = evbuffer_reserve_space(in, (ev_ssize_t)room, v, 2)) <= 0) {
		(void)evbuffer_freeze(in, 0);
		*err = ENOMEM;
		return -1;
	}
	/* (Reserved may be more than room: no more than room is read.) */
	for (i = 0, left = room; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
#ifndef _WIN32
	if (nv > 1 && v[1].iov_len > 0) {
		do
			n = readv(fd, (struct iovec *)v, nv);
		while (n == -1 && errno == EINTR);
	} else
#endif
	{
		/* One piece: recv(2), which costs the system less than
		 * readv(2)'s vector of one. */
		nv = 1;
		do
			n = recv(fd, v[0].iov_base, (int)v[0].iov_len, 0);
		while (n == -1 && EVUTIL_SOCKET_ERROR() == EINTR);
	}
	if (n <= 0) {
		*err = EVUTIL_SOCKET_ERROR();
		(void)evbuffer_commit_space(in, v, 0);
		(void)evbuffer_freeze(in, 0);
		return n;
	}
	for (i = 0, left = (size_t)n; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	(void)evbuffer_commit_space(in, v, nv > 1 && v[1].iov_len > 0 ? 2 : 1);
	(void)evbuffer_freeze(in, 0);
	return n;
}

/* Reads what the socket has, up to room bytes, into in: the bytes read, 0
 * at the client's end, -1 with the socket error in *err.  Under in's
 * lock, if it has one: a worker draining the front could otherwise free
 * the space reserved at the end while the read fills it. */
static ssize_t
read_into(struct evbuffer *in, evutil_socket_t fd, size_t room, int *err)
{
	ssize_t	n;

	evbuffer_lock(in);
	n = read_into_locked(in, fd, room, err);
	evbuffer_unlock(in);
	return n;
}

static void
conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct harbor_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	size_t			 have = evbuffer_get_length(in), room;
	ssize_t			 n;
	int			 err = 0;

	(void)what;
	if (c->state != CONN_OPEN) {
		conn_read_off(c);
		return;
	}
	if (have >= c->read_high) {
		/* Until the handler takes some (conn_input_taken). */
		(void)event_del(c->rd);
		atomic_store(&c->read_full, 1);
		return;
	}
	room = c->read_high - have;
	if (room > c->read_size)
		room = c->read_size;
	if ((n = read_into(in, fd, room, &err)) == -1) {
		if (!SOCKET_ERR_RETRIABLE(err))
			conn_io_failed(c, err);
		return;
	}
	if ((size_t)n == c->read_size && c->read_size < READ_CHUNK)
		c->read_size *= 2;
	else if ((size_t)n < c->read_size / 4 && c->read_size > READ_LEAST)
		c->read_size /= 2;
	conn_hold(c);
	if (n == 0) {
		/* Half-close: answer what was sent, then close. */
		atomic_store(&c->eof, 1);
		conn_read_off(c);
	} else if (evbuffer_get_length(in) >= c->read_high) {
		/* (Set before the dispatch: the job it leads to sees it.) */
		(void)event_del(c->rd);
		atomic_store(&c->read_full, 1);
	}
	conn_dispatch(c, CONN_EV_INPUT);
	conn_release(c);
}

/* --- writing --------------------------------------------------------------- */

int
conn_write_events(const struct harbor_conn *c)
{
	return c->direct && !c->write_waiting ? 0 : EV_WRITE;
}

void
conn_output_added(struct harbor_conn *c)
{
	if (!c->direct)
		return;
	if (!conn_inline(c)) {
		/* The worker's thread: handed back once its calls are done. */
		atomic_store(&c->io_due, 1);
		return;
	}
	if (c->write_waiting || c->flush.queued)
		return;
	conn_hold(c);		/* the flush's */
	loop_later(c->loop, &c->flush);
}

void
conn_write_drained(struct harbor_conn *c)
{
	if (c->write_waiting &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		c->write_waiting = 0;
		bufferevent_disable(c->bev, EV_WRITE);
	}
}

/* Writes what out has to fd, as much as fd takes: the bytes written, or
 * -1 with the socket error.  What is in one piece (a reply, mostly) goes
 * with send(2), which costs the system less than evbuffer_write's
 * writev(2) of one. */
static int
write_from(struct evbuffer *out, evutil_socket_t fd)
{
	struct evbuffer_iovec	v;
	ev_ssize_t		n;

	/* (The pieces all of it needs: with a length of -1, evbuffer_peek
	 * would count only as far as the one vector it fills.) */
	if (evbuffer_peek(out, (ev_ssize_t)evbuffer_get_length(out), NULL, &v,
	    1) != 1)
		return evbuffer_write(out, fd);
	do
		n = send(fd, v.iov_base, (int)v.iov_len, MSG_NOSIGNAL);
	while (n == -1 && EVUTIL_SOCKET_ERROR() == EINTR);
	if (n > 0)
		(void)evbuffer_drain(out, (size_t)n);
	return (int)n;
}

/* Writes what its output has, as much as the socket takes. */
static void
conn_write_out(struct harbor_conn *c)
{
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	size_t			 before = evbuffer_get_length(out);
	int			 r, err;

	if ((c->state != CONN_OPEN && c->state != CONN_CLOSING) ||
	    c->write_waiting || before == 0)
		return;
	/* The bufferevent keeps the front of its output frozen so that no
	 * one else drains it; it thaws it to write, and so does this. */
	(void)evbuffer_unfreeze(out, 1);
	r = write_from(out, c->fd);
	err = EVUTIL_SOCKET_ERROR();
	(void)evbuffer_freeze(out, 1);
	if (r == -1 && !SOCKET_ERR_RETRIABLE(err)) {
		conn_io_failed(c, err);
		return;
	}
	if (evbuffer_get_length(out) > 0) {
		/* The socket is full (or a worker added more meanwhile): the
		 * loop writes the rest when it can. */
		c->write_waiting = 1;
		bufferevent_enable(c->bev, EV_WRITE);
	} else
		conn_output_sent(c, before >= c->svc->output_high);
}

static void
conn_flush(void *arg)
{
	struct harbor_conn	*c = arg;

	conn_write_out(c);
	conn_release(c);
}

void
conn_io_calls_done(struct harbor_conn *c)
{
	/* Reading stopped at the mark is checked on every handback: the
	 * loop sets read_full before the dispatch that leads here. */
	if (!c->direct || (!atomic_exchange(&c->io_due, 0) &&
	    !atomic_load(&c->read_full)))
		return;
	conn_hold(c);		/* the handback's */
	if (!loop_call(c->loop, &c->handback))
		conn_release_any(c);	/* queued already, with its own */
}

/* On the loop: what the pool's handler wrote goes out, and reading goes
 * on if it took enough input. */
static void
conn_handed_back(void *arg)
{
	struct harbor_conn	*c = arg;

	conn_write_out(c);
	conn_read_resume(c, evbuffer_get_length(bufferevent_get_input(c->bev)));
	conn_release(c);
}
