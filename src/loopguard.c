/*
 * The loop guard: the connections this server's forward services open,
 * so that one arriving back at the server is known for what it is.
 *
 * A forward registers its outgoing socket's own address (and where it
 * connects, and the services the client came through) while it connects;
 * the acceptor looks each new client's address up.  A client that is one
 * of ours and arrives at a service it has already passed through is a
 * forwarding loop (A -> B -> A, however many services in between), and is
 * refused; one that goes on to a service it has not seen, such as a
 * forward to an echo of the same harbord, is served.
 *
 * Only a forward to a port this server listens on can come back to it,
 * so only those register: a forward to another host or process costs the
 * guard one look at a bitmap, and the acceptor of a port no forward aims
 * at one look at a counter.
 *
 * The registration holds the lock across connect(2), and counts the entry
 * before it: on loopback the handshake completes inside that call, and
 * the acceptor on another thread may take the connection from the queue
 * at once; it sees the count, then waits on the lock until the entry is
 * there, so it never misses one.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "util.h"

#define LOOPGUARD_SLOTS	1024
#define LOOPGUARD_AIMS	256		/* counters of destination ports */

struct loopguard {
	mutex_t			 lock;
	/* Ports this server has listened on (never cleared: a port it no
	 * longer serves costs a registration, nothing more). */
	atomic_uchar		 listening[65536 / 8];
	/* Entries (and connects under way) by destination port, hashed:
	 * an acceptor whose port has 0 takes no lock. */
	atomic_uint		 aims[LOOPGUARD_AIMS];
	struct loopguard_entry	*slots[LOOPGUARD_SLOTS];
};

uint64_t
loopguard_service_id(const char *name)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h;
}

/* Address and port, the parts that say which socket it is. */
static int
same_endpoint(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		    memcmp(&x->sin_addr, &y->sin_addr, sizeof x->sin_addr) == 0;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
		    *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr,
		    sizeof x->sin6_addr) == 0;
	}
	return 0;
}

static unsigned
endpoint_slot(const struct sockaddr *sa)
{
	const uint8_t	*p;
	size_t		 n, i;
	unsigned	 h = 2166136261u;

	if (sa->sa_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_port;
		n = 2 + 4;	/* port, then the address */
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		h = (h ^ (s6->sin6_port & 0xff)) * 16777619u;
		h = (h ^ (s6->sin6_port >> 8)) * 16777619u;
		p = (const uint8_t *)&s6->sin6_addr;
		n = 16;
	} else
		return 0;
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % LOOPGUARD_SLOTS;
}

static unsigned
sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

struct loopguard *
loopguard_new(void)
{
	struct loopguard	*g;
	size_t			 i;

	if ((g = calloc(1, sizeof *g)) == NULL)
		return NULL;
	mutex_init(&g->lock);
	for (i = 0; i < sizeof g->listening; i++)
		atomic_init(&g->listening[i], 0);
	for (i = 0; i < LOOPGUARD_AIMS; i++)
		atomic_init(&g->aims[i], 0);
	return g;
}

void
loopguard_listening(struct loopguard *g, const struct sockaddr *sa)
{
	unsigned	port = sockaddr_port(sa);

	(void)atomic_fetch_or(&g->listening[port / 8],
	    (unsigned char)(1u << (port % 8)));
}

void
loopguard_free(struct loopguard *g)
{
	if (g == NULL)
		return;
	mutex_destroy(&g->lock);
	free(g);
}

int
loopguard_connect(struct loopguard *g, struct loopguard_entry *e,
    evutil_socket_t fd, const struct sockaddr *to, ev_socklen_t tolen)
{
	struct loopguard_entry	**slot;
	ev_socklen_t		  len = sizeof e->local;
	int			  err = 0;

	unsigned		  port = sockaddr_port(to);

	e->registered = 0;
	if (!(atomic_load(&g->listening[port / 8]) & (1u << (port % 8)))) {
		/* Not a port of ours: it cannot come back here. */
		if (connect(fd, to, tolen) == -1)
			err = EVUTIL_SOCKET_ERROR();
		return err;
	}
	e->aim = port % LOOPGUARD_AIMS;
	mutex_lock(&g->lock);
	/* Counted before the connection exists: an acceptor that sees it
	 * then takes the lock, and waits for the entry. */
	atomic_fetch_add(&g->aims[e->aim], 1);
	if (connect(fd, to, tolen) == -1)
		err = EVUTIL_SOCKET_ERROR();
	if ((err == 0 || CONNECT_IN_PROGRESS(err)) &&
	    getsockname(fd, (struct sockaddr *)&e->local, &len) == 0) {
		memcpy(&e->remote, to, (size_t)tolen);
		slot = &g->slots[endpoint_slot((struct sockaddr *)&e->local)];
		e->next = *slot;
		if (e->next != NULL)
			e->next->prevp = &e->next;
		e->prevp = slot;
		*slot = e;
		e->registered = 1;
	} else
		atomic_fetch_sub(&g->aims[e->aim], 1);
	mutex_unlock(&g->lock);
	return err;
}

void
loopguard_forget(struct loopguard *g, struct loopguard_entry *e)
{
	if (!e->registered)
		return;
	mutex_lock(&g->lock);
	*e->prevp = e->next;
	if (e->next != NULL)
		e->next->prevp = e->prevp;
	e->registered = 0;
	atomic_fetch_sub(&g->aims[e->aim], 1);
	mutex_unlock(&g->lock);
}

int
loopguard_find(struct loopguard *g, const struct sockaddr *peer,
    const struct sockaddr *here_hint, evutil_socket_t fd,
    struct forward_hops *hops, char *from, size_t fromlen)
{
	struct loopguard_entry	*e;
	struct sockaddr_storage	 here;
	ev_socklen_t		 len = sizeof here;
	int			 found = 0, have_here = 0;

	if (atomic_load(&g->aims[sockaddr_port(here_hint) %
	    LOOPGUARD_AIMS]) == 0)
		return 0;
	mutex_lock(&g->lock);
	for (e = g->slots[endpoint_slot(peer)]; e != NULL; e = e->next) {
		if (!same_endpoint((struct sockaddr *)&e->local, peer))
			continue;
		/* The same address and port could be another host's
		 * client only if it also came to where ours went. */
		if (!have_here) {
			if (getsockname(fd, (struct sockaddr *)&here,
			    &len) == -1)
				break;
			have_here = 1;
		}
		if (!same_endpoint((struct sockaddr *)&e->remote,
		    (struct sockaddr *)&here))
			continue;
		*hops = e->hops;
		strlcpy(from, e->service, fromlen);
		found = 1;
		break;
	}
	mutex_unlock(&g->lock);
	return found;
}
