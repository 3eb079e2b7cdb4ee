/*
 * What a loop's connections are, for a program watching its server
 * (harbor_server_list_connections), and ending one by its id
 * (harbor_server_drop_connection).  Both run on the connection's loop,
 * which owns what they read.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#else
#include <sys/socket.h>
#endif

#include "conn.h"

static const char *
conn_state_name(const struct harbor_conn *c)
{
	switch (c->state) {
	case CONN_STAGE:
		return "proxy-header";
	case CONN_OPEN:
		if (c->relay != NULL)
			return "relaying";
		return atomic_load(&c->eof) ? "half-closed" : "open";
	case CONN_CLOSING:
		return "closing";
	case CONN_FINISHED:
		break;
	}
	return "finished";
}

static void
conn_local_text(struct harbor_conn *c, char *buf, size_t len)
{
	struct sockaddr_storage	ss;
	ev_socklen_t		sslen = sizeof ss;

	/* A PROXY header's address was set on this loop, before the
	 * handler ran; otherwise the socket says, since the handler may be
	 * asking for it on another thread. */
	if (c->proxied) {
		addr_format(&c->local_addr.sa, buf, len);
		return;
	}
	if (getsockname(c->fd, (struct sockaddr *)&ss, &sslen) == 0)
		addr_format((struct sockaddr *)&ss, buf, len);
	else
		strlcpy(buf, "?", len);
}

static int
list_add(struct conn_list *list, struct harbor_conn_info *info)
{
	struct harbor_conn_info	**grown;
	size_t			  cap;

	if (list->n == list->cap) {
		cap = list->cap == 0 ? 64 : list->cap * 2;
		if ((grown = realloc(list->v, cap * sizeof *grown)) == NULL)
			return -1;
		list->v = grown;
		list->cap = cap;
	}
	list->v[list->n++] = info;
	return 0;
}

int
conn_describe_loop(struct loop *loop, const char *service,
    struct conn_list *out)
{
	struct harbor_conn	*c;
	struct harbor_conn_info	*info;
	struct timeval		 now;
	int64_t			 now_ms;
	size_t			 namelen;

	event_base_gettimeofday_cached(loop->base, &now);
	now_ms = tv_ms(&now);
	for (c = loop->conns; c != NULL; c = c->next) {
		if (c->state == CONN_FINISHED ||
		    (service != NULL && strcmp(c->svc->name, service) != 0))
			continue;
		namelen = strlen(c->svc->name) + 1;
		if ((info = calloc(1, sizeof *info + namelen)) == NULL)
			return -1;
		info->size = sizeof *info;
		info->id = c->id;
		memcpy(info + 1, c->svc->name, namelen);
		info->service = (const char *)(info + 1);
		conn_peer_text(c, info->peer, sizeof info->peer);
		conn_local_text(c, info->local, sizeof info->local);
		info->age_ms = now_ms - tv_ms(&c->started);
		info->idle_ms = now_ms - c->last_active_ms;
		info->bytes_in = c->bytes_in;
		info->bytes_out = c->bytes_out;
		info->state = conn_state_name(c);
		if (list_add(out, info) == -1) {
			free(info);
			return -1;
		}
	}
	return 0;
}

int
conn_drop_on_loop(struct loop *loop, uint64_t id, const char *why)
{
	struct harbor_conn	*c;

	for (c = loop->conns; c != NULL; c = c->next)
		if (c->id == id && c->state != CONN_FINISHED) {
			conn_end(c, CLOSE_DETAIL, why);
			return 1;
		}
	return 0;
}
