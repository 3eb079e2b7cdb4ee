/*
 * The PROXY header stage: a connection to a proxy-protocol service reads
 * its header before its handler hears of it, then is admitted for the
 * client the header names (admission.c) or closed.  The header's deadline
 * counts from accept, whatever trickles in.  The acceptor hands this stage
 * to the connection; the connection core knows it only as a stage.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "admission.h"

static void
proxy_stage_read(struct bufferevent *bev, void *arg)
{
	struct harbor_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct proxy_info	 pi;
	size_t			 have = evbuffer_get_length(in), used = 0;
	char			 err[128], why[128], via[HARBOR_ADDRSTRLEN],
				 peer[HARBOR_ADDRSTRLEN];
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
		conn_peer_text(c, peer, sizeof peer);
		admission_log(c->svc, REFUSE_PROXY_HEADER, "service %s: conn "
		    "%llu from %s: %s", c->svc->name,
		    (unsigned long long)c->id, peer, err);
		conn_end(c, CLOSE_PROXY, NULL);
		return;
	case PROXY_DONE:
		break;
	}
	(void)evbuffer_drain(in, used);
	conn_peer_text(c, via, sizeof via);
	if (!pi.local) {
		/* (proxy_parse gives IPv4 and IPv6 addresses only.) */
		memcpy(&c->peer_addr, &pi.src, sizeof c->peer_addr);
		memcpy(&c->local_addr, &pi.dst, sizeof c->local_addr);
		c->proxied = 1;
		c->have_local = 1;
	} else
		memcpy(&pi.src, &c->peer_addr, sizeof c->peer_addr);
	conn_peer_text(c, peer, sizeof peer);
	/* Admission, for the client the proxy speaks for. */
	event_base_gettimeofday_cached(c->loop->base, &now);
	if ((refused = admission_decide(c->svc, (struct sockaddr *)&pi.src,
	    tv_ms(&now), &c->ticket, why, sizeof why)) != REFUSE_NONE) {
		admission_log(c->svc, refused, "service %s: refused %s via "
		    "proxy %s (conn %llu): %s", c->svc->name, peer, via,
		    (unsigned long long)c->id, why);
		conn_end(c, CLOSE_REFUSED, NULL);
		return;
	}
	if (c->svc->log_connections)
		svc_log(c->svc, HARBOR_LOG_INFO, "service %s: conn %llu is %s "
		    "via proxy %s (PROXY v%d%s)", c->svc->name,
		    (unsigned long long)c->id, peer, via, pi.version,
		    pi.local ? ", local" : "");
	c->state = CONN_OPEN;
	conn_start(c);
}

static void
proxy_stage_event(struct bufferevent *bev, short what, void *arg)
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
proxy_stage_begin(struct harbor_conn *c)
{
	/* Nothing reaches the handler before the header. */
	bufferevent_setcb(c->bev, proxy_stage_read, NULL, proxy_stage_event,
	    c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, PROXY_HEADER_MAX);
	conn_deadline_arm(c, c->svc->proxy_timeout_ms);
	bufferevent_enable(c->bev, EV_READ);
}

static void
proxy_stage_expired(struct harbor_conn *c)
{
	char	peer[HARBOR_ADDRSTRLEN];

	conn_peer_text(c, peer, sizeof peer);
	admission_log(c->svc, REFUSE_PROXY_TIMEOUT, "service %s: conn %llu "
	    "from %s: no PROXY header in %u ms", c->svc->name,
	    (unsigned long long)c->id, peer, c->svc->proxy_timeout_ms);
	conn_end(c, CLOSE_PROXY_TIMEOUT, NULL);
}

const struct conn_stage proxy_stage = {
	proxy_stage_begin,
	proxy_stage_expired
};
