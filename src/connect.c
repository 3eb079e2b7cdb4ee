/*
 * Connections a handler opens for a client (harbor_conn_connect), as
 * forward does to reach its backend: a non-blocking connect on the
 * client's loop, within a timeout, answered in the connection's order.
 *
 * Each attempt is registered with the server's loop guard while it lives,
 * under the way the client came (the services it was forwarded through)
 * and this service, so that a connection that comes back to one of them
 * is refused as a forwarding loop.  An attempt ends with its connection:
 * one still under way is dropped (its function is not called), and a
 * connected socket's registration is forgotten.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#define TIMED_OUT	WSAETIMEDOUT
#else
#include <sys/socket.h>
#define TIMED_OUT	ETIMEDOUT
#endif

#include <event2/event.h>

#include "core.h"

struct conn_connect {
	struct harbor_conn	*conn;
	evutil_socket_t		 fd;		/* -1 once handed over */
	struct event		*ev;		/* writable or timed out */
	harbor_connect_fn	*done;
	void			*arg;
	int			 err;		/* failed at once */
	int			 connected;	/* at once */
	struct loopguard_entry	 guard;
	struct conn_connect	*next;
};

static struct loopguard *
guard_of(const struct harbor_conn *c)
{
	return c->svc->host->loopguard;
}

/* Out of the connection's list and gone. */
static void
attempt_free(struct conn_connect *a)
{
	struct conn_connect	**p;

	for (p = &a->conn->connects; *p != NULL; p = &(*p)->next)
		if (*p == a) {
			*p = a->next;
			break;
		}
	loopguard_forget(guard_of(a->conn), &a->guard);
	if (a->ev != NULL)
		event_free(a->ev);
	if (a->fd != -1)
		evutil_closesocket(a->fd);
	free(a);
}

static void
attempt_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn_connect	*a = arg;
	struct harbor_conn	*c = a->conn;
	harbor_connect_fn	*done = a->done;
	void			*darg = a->arg;
	ev_socklen_t		 len = sizeof(int);
	int			 err = 0;

	if (a->err != 0)
		err = a->err;
	else if (a->connected)
		err = 0;
	else if (what & EV_TIMEOUT)
		err = TIMED_OUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, (void *)&err,
	    &len) == -1)
		err = EVUTIL_SOCKET_ERROR();
	event_free(a->ev);
	a->ev = NULL;
	if (err != 0) {
		attempt_free(a);
		done(c, (evutil_socket_t)-1, err, darg);
		return;
	}
	/* Connected: the socket is the handler's, the registration stays
	 * while the connection lives. */
	a->fd = -1;
	done(c, fd, 0, darg);
}

int
harbor_conn_connect(struct harbor_conn *c, const struct sockaddr *to,
    size_t tolen, unsigned timeout_ms, harbor_connect_fn *done, void *arg)
{
	struct conn_connect	*a;
	struct timeval		 tv;
	int			 err;

	/* Its event lives on the loop: from an inline handler's callback. */
	if (done == NULL || c->svc->dispatch != HARBOR_DISPATCH_INLINE ||
	    c->state != CONN_OPEN || tolen > sizeof(struct sockaddr_storage))
		return -1;
	if ((a = calloc(1, sizeof *a)) == NULL)
		return -1;
	a->conn = c;
	a->done = done;
	a->arg = arg;
	/* The way the client came, then this service: a connection that
	 * comes back to any of them is a loop (admission_loop). */
	if (c->hops != NULL)
		a->guard.hops = *c->hops;
	if (a->guard.hops.n < FORWARD_MAX_HOPS)
		a->guard.hops.id[a->guard.hops.n++] = c->svc->loop_id;
	strlcpy(a->guard.service, c->svc->name, sizeof a->guard.service);
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
	/* Both at once where the system can: four fcntl calls fewer. */
	a->fd = socket(to->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
#else
	a->fd = socket(to->sa_family, SOCK_STREAM, 0);
	if (a->fd != (evutil_socket_t)-1) {
		(void)evutil_make_socket_nonblocking(a->fd);
		(void)evutil_make_socket_closeonexec(a->fd);
	}
#endif
	if (a->fd == (evutil_socket_t)-1) {
		free(a);
		return -1;
	}
	compat_socket_nosigpipe((int)a->fd);
	a->next = c->connects;
	c->connects = a;
	if ((err = loopguard_connect(guard_of(c), &a->guard, a->fd, to,
	    (ev_socklen_t)tolen)) == 0)
		a->connected = 1;
	else if (!CONNECT_IN_PROGRESS(err))
		a->err = err;
	/* To an address of this host the handshake is over by the time
	 * connect(2) returns, though it says "in progress": asked again, the
	 * socket tells, and no writable event is waited for (an epoll
	 * registration, its removal and an SO_ERROR query fewer).  Elsewhere
	 * it is one call more, against a round trip. */
	else if (connect(a->fd, to, (ev_socklen_t)tolen) == -1) {
		err = EVUTIL_SOCKET_ERROR();
		if (CONNECT_DONE(err))
			a->connected = 1;
		else if (!CONNECT_PENDING(err))
			a->err = err;
	} else
		a->connected = 1;
	/* Connected, refused or timed out: the socket turns writable or the
	 * timer fires.  Connected or refused at once (on loopback, say), it
	 * is said from the loop all the same, never from inside this call. */
	tv.tv_sec = (long)(timeout_ms / 1000);
	tv.tv_usec = (long)(timeout_ms % 1000) * 1000;
	if ((a->ev = event_new(c->loop->base, a->fd, EV_WRITE,
	    attempt_event, a)) == NULL) {
		attempt_free(a);
		return -1;
	}
	if (a->err != 0 || a->connected)
		event_active(a->ev, EV_WRITE, 0);
	else if (event_add(a->ev, timeout_ms != 0 ? &tv : NULL) == -1) {
		attempt_free(a);
		return -1;
	}
	return 0;
}

void
conn_connects_end(struct harbor_conn *c)
{
	struct conn_connect	*a;

	for (a = c->connects; a != NULL; a = a->next) {
		loopguard_forget(guard_of(c), &a->guard);
		if (a->ev != NULL) {
			event_free(a->ev);
			a->ev = NULL;
		}
		if (a->fd != -1) {
			evutil_closesocket(a->fd);
			a->fd = -1;
		}
	}
}

void
conn_connects_free(struct harbor_conn *c)
{
	struct conn_connect	*a, *next;

	for (a = c->connects; a != NULL; a = next) {
		next = a->next;
		free(a);
	}
	c->connects = NULL;
}
