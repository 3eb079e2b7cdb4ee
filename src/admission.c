/*
 * Admission: whether a client may be served, decided once from every
 * check, on whichever loop first knows who the client is -- the one that
 * accepted it, or the PROXY header stage on the client's loop for a
 * service behind a proxy.  Loops admit at once: every count is taken in
 * one step with its check (an atomic place, or under the limits' lock).
 *
 * The order is the allow/deny rules, the server's max-connections, then
 * the service's limits (limits_admit decides all of them before it spends
 * a token), so a client turned away for any reason costs the others
 * nothing.  A service behind a
 * proxy is checked twice: at accept, the proxy must be trusted and the
 * connection takes a place within max-connections (a header that never
 * comes still counts); once the header names the client, the rest.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"

/* The server's max-connections, over all services: a place among them is
 * taken (the count of connections, which the connection's free gives
 * back) before anything else is counted, and only once for a client
 * behind a proxy.  Loops admit clients at once: the place is taken in
 * one step with the check, so that together they never exceed it. */
static enum refusal
admission_global_take(struct harbor_service *svc, char *why, size_t whylen)
{
	unsigned	max = svc->host->max_connections;
	unsigned	n = atomic_load(&svc->host->nconns);

	do {
		if (max != 0 && n >= max) {
			snprintf(why, whylen, "global max-connections %u "
			    "reached", max);
			return REFUSE_GLOBAL;
		}
	} while (!atomic_compare_exchange_weak(&svc->host->nconns, &n, n + 1));
	return REFUSE_NONE;
}

static void
admission_global_return(struct harbor_service *svc)
{
	atomic_fetch_sub(&svc->host->nconns, 1);
}

static enum refusal
admission_acl(struct harbor_service *svc, const struct sockaddr *peer,
    char *why, size_t whylen)
{
	const struct acl_rule	*rule;
	int			 allowed;

	if (svc->acl.n == 0)
		return REFUSE_NONE;
	rule = acl_match(&svc->acl, peer, &allowed);
	if (allowed)
		return REFUSE_NONE;
	snprintf(why, whylen, "%s", rule != NULL ? rule->text :
	    "no allow rule matches");
	return REFUSE_ACL;
}

enum refusal
admission_decide(struct harbor_service *svc, const struct sockaddr *peer,
    int64_t now_ms, struct limits_ticket *t, char *why, size_t whylen)
{
	enum refusal	r;
	int		took = !t->place;

	if ((r = admission_acl(svc, peer, why, whylen)) != REFUSE_NONE ||
	    (took && (r = admission_global_take(svc, why, whylen)) !=
	    REFUSE_NONE))
		return r;
	r = limits_admit(svc->limits, peer,
	    (svc->handler->flags & HARBOR_HANDLER_CHILDREN) != 0, t, now_ms,
	    why, whylen);
	if (r != REFUSE_NONE && took)
		admission_global_return(svc);
	return r;
}

enum refusal
admission_proxied(struct harbor_service *svc, const struct sockaddr *proxy,
    struct limits_ticket *t, char *why, size_t whylen)
{
	enum refusal	r;
	int		trusted;

	(void)acl_match(&svc->trusted_proxies, proxy, &trusted);
	if (!trusted) {
		snprintf(why, whylen, "not a trusted proxy (trusted-proxies)");
		return REFUSE_UNTRUSTED;
	}
	if ((r = admission_global_take(svc, why, whylen)) != REFUSE_NONE)
		return r;
	if ((r = limits_take_place(svc->limits, t, why, whylen)) !=
	    REFUSE_NONE)
		admission_global_return(svc);
	return r;
}

enum refusal
admission_loop(struct harbor_service *svc, const struct sockaddr *peer,
    const struct sockaddr *here, evutil_socket_t fd,
    struct forward_hops **hops, char *why, size_t whylen)
{
	struct forward_hops	way;
	char			from[64];
	unsigned		i;

	*hops = NULL;
	if (!loopguard_find(svc->host->loopguard, peer, here, fd, &way,
	    from, sizeof from))
		return REFUSE_NONE;
	for (i = 0; i < way.n; i++)
		if (way.id[i] == svc->loop_id) {
			snprintf(why, whylen, "forwarding loop (forwarded "
			    "here by service %s, after this one)", from);
			return REFUSE_LOOP;
		}
	if (way.n >= FORWARD_MAX_HOPS) {
		snprintf(why, whylen, "forwarding loop (forwarded %u times "
		    "within harbord)", way.n);
		return REFUSE_LOOP;
	}
	if ((*hops = malloc(sizeof **hops)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return REFUSE_LOOP;
	}
	**hops = way;
	return REFUSE_NONE;
}

/* The kinds, as the "N similar messages suppressed (KIND)" line names
 * them. */
static const char *const refusal_names[REFUSE_KINDS] = {
	[REFUSE_NONE] = "?",
	[REFUSE_ACL] = "refused by allow/deny",
	[REFUSE_UNTRUSTED] = "refused: not a trusted proxy",
	[REFUSE_GLOBAL] = "refused: global max-connections",
	[REFUSE_MAX_CONNECTIONS] = "refused: max-connections",
	[REFUSE_SOURCES] = "refused: too many sources to track",
	[REFUSE_PER_SOURCE] = "refused: max-per-source",
	[REFUSE_RATE] = "refused: rate",
	[REFUSE_RATE_PER_SOURCE] = "refused: rate-per-source",
	[REFUSE_CHILDREN] = "refused: max-children",
	[REFUSE_LOOP] = "refused: forwarding loop",
	[REFUSE_PROXY_HEADER] = "bad PROXY header",
	[REFUSE_PROXY_TIMEOUT] = "no PROXY header in time",
};

/* For metrics' labels, and programs: harbor_refusal_name. */
static const char *const refusal_labels[REFUSE_KINDS] = {
	[REFUSE_NONE] = "none",
	[REFUSE_ACL] = "acl",
	[REFUSE_UNTRUSTED] = "untrusted_proxy",
	[REFUSE_GLOBAL] = "global_max_connections",
	[REFUSE_MAX_CONNECTIONS] = "max_connections",
	[REFUSE_SOURCES] = "too_many_sources",
	[REFUSE_PER_SOURCE] = "max_per_source",
	[REFUSE_RATE] = "rate",
	[REFUSE_RATE_PER_SOURCE] = "rate_per_source",
	[REFUSE_CHILDREN] = "max_children",
	[REFUSE_LOOP] = "forwarding_loop",
	[REFUSE_PROXY_HEADER] = "bad_proxy_header",
	[REFUSE_PROXY_TIMEOUT] = "proxy_header_timeout",
};

const char *
admission_refusal_label(enum refusal kind)
{
	return (unsigned)kind < REFUSE_KINDS ? refusal_labels[kind] : NULL;
}

void
admission_log(struct harbor_service *svc, enum refusal kind,
    const char *fmt, ...)
{
	struct timeval	now;
	char		msg[512];
	va_list		ap;
	int		r;

	stats_refused(svc->stats, (unsigned)kind);
	(void)evutil_gettimeofday(&now, NULL);
	r = loglimit_pass(&svc->limits->log, svc->name, (unsigned)kind,
	    refusal_names[kind], tv_ms(&now));
	if (r == -1 && svc->host != NULL)
		svc->host->log_flush_soon(svc->host);
	if (r != 1 || !svc_log_enabled(svc, HARBOR_LOG_NOTICE))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_emit(HARBOR_LOG_NOTICE, msg);
}
