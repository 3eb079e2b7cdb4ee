/*
 * Limits: how many connections a service has open, per client source and
 * in all, and how fast new ones may come (token buckets).
 *
 * A service's limits live in a struct limits of their own, which a reload
 * shares between the old service and the new one of the same name:
 * connections accepted before the reload still count against the limits
 * after it, under the new settings.
 *
 * A source is a client's IPv4 address, or its IPv6 address cut to a prefix
 * (a /64 by default: one host usually has a whole /64 to pick from).  The
 * table of sources holds an entry while the source has connections open or
 * its bucket is not yet full again, and never more than SOURCES_MAX: beyond
 * that, idle entries go first, then entries with only rate state, so a
 * flood from many sources costs bounded memory.
 *
 * The acceptor (main thread) admits and counts; a connection's end is
 * counted down on its I/O loop, so counts are updated under the lock.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
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

#define SOURCES_SLOTS	1024
#define SOURCES_MAX	65536

struct source {
	struct source_key	 key;
	unsigned		 active;
	struct bucket		 bucket;	/* rate-per-source */
	int64_t			 last_ms;
	struct source		*next;
};

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

void
source_key_of(const struct sockaddr *sa, unsigned v6_prefix,
    struct source_key *k)
{
	memset(k, 0, sizeof *k);
	if (sa->sa_family == AF_INET6) {
		const uint8_t	*a = (const uint8_t *)
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		unsigned	 i, bits = v6_prefix;

		if (memcmp(a, v4_mapped, 12) == 0) {
			k->bytes[0] = 4;
			memcpy(k->bytes + 1, a + 12, 4);
			return;
		}
		k->bytes[0] = 6;
		for (i = 0; i < 16 && bits > 0; i++) {
			k->bytes[1 + i] = bits >= 8 ? a[i] :
			    (uint8_t)(a[i] & (0xff << (8 - bits)));
			bits = bits >= 8 ? bits - 8 : 0;
		}
	} else if (sa->sa_family == AF_INET) {
		k->bytes[0] = 4;
		memcpy(k->bytes + 1,
		    &((const struct sockaddr_in *)sa)->sin_addr, 4);
	}
}

/* --- the table of sources ------------------------------------------------ */

static unsigned
source_hash(const struct source_key *k)
{
	unsigned	h = 2166136261u;
	size_t		i;

	for (i = 0; i < sizeof k->bytes; i++)
		h = (h ^ k->bytes[i]) * 16777619u;
	return h % SOURCES_SLOTS;
}

static struct source *
source_find(struct limits *lim, const struct source_key *k,
    struct source ***slot_out)
{
	struct source	**slot = &lim->slots[source_hash(k)];

	for (; *slot != NULL; slot = &(*slot)->next)
		if (memcmp(&(*slot)->key, k, sizeof *k) == 0)
			break;
	if (slot_out != NULL)
		*slot_out = slot;
	return *slot;
}

/* Drops entries that hold nothing worth keeping; with force, also the
 * rate state of sources with no connection open. */
static void
sources_sweep(struct limits *lim, int64_t now_ms, int force)
{
	struct source	**slot, *s;
	size_t		  i;

	for (i = 0; i < SOURCES_SLOTS; i++) {
		for (slot = &lim->slots[i]; (s = *slot) != NULL; ) {
			if (s->active == 0 && (force ||
			    lim->set.rate_per_source.burst == 0 ||
			    bucket_full(&s->bucket, &lim->set.rate_per_source,
			    now_ms))) {
				*slot = s->next;
				free(s);
				lim->nsources--;
			} else
				slot = &s->next;
		}
	}
}

static struct source *
source_get(struct limits *lim, const struct source_key *k, int64_t now_ms)
{
	struct source	**slot, *s;

	if ((s = source_find(lim, k, &slot)) != NULL)
		return s;
	if (lim->nsources >= SOURCES_MAX) {
		/* A sweep costs the whole table: at most one a second, or
		 * a full table of busy sources would make every accept
		 * pay for one. */
		if (lim->swept_ms != 0 && now_ms - lim->swept_ms < 1000)
			return NULL;
		lim->swept_ms = now_ms;
		sources_sweep(lim, now_ms, 0);
		if (lim->nsources >= SOURCES_MAX)
			sources_sweep(lim, now_ms, 1);
		if (lim->nsources >= SOURCES_MAX)
			return NULL;
		(void)source_find(lim, k, &slot);
	}
	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	s->key = *k;
	*slot = s;
	lim->nsources++;
	return s;
}

/* --- the limits object ---------------------------------------------------- */

struct limits *
limits_new(const char *service)
{
	struct limits	*lim;

	if ((lim = calloc(1, sizeof *lim)) == NULL)
		return NULL;
	if ((lim->slots = calloc(SOURCES_SLOTS, sizeof *lim->slots)) == NULL ||
	    (lim->service = strdup(service)) == NULL) {
		free(lim->slots);
		free(lim);
		return NULL;
	}
	mutex_init(&lim->lock);
	loglimit_init(&lim->log);
	atomic_init(&lim->refs, 1);
	lim->set.v6_prefix = DEFAULT_SOURCE_PREFIX6;
	return lim;
}

void
limits_hold(struct limits *lim)
{
	atomic_fetch_add(&lim->refs, 1);
}

void
limits_release(struct limits *lim)
{
	struct source	*s, *next;
	size_t		 i;

	if (lim == NULL || atomic_fetch_sub(&lim->refs, 1) != 1)
		return;
	for (i = 0; i < SOURCES_SLOTS; i++)
		for (s = lim->slots[i]; s != NULL; s = next) {
			next = s->next;
			free(s);
		}
	free(lim->slots);
	loglimit_destroy(&lim->log, lim->service);
	free(lim->service);
	mutex_destroy(&lim->lock);
	free(lim);
}

/* Settings take effect for the next admission; what is counted stays.
 * A reload calls this on the limits it shares with the old service. */
void
limits_configure(struct limits *lim, const struct limits_settings *set)
{
	mutex_lock(&lim->lock);
	lim->set = *set;
	mutex_unlock(&lim->lock);
	loglimit_configure(&lim->log, &set->log_rate);
}

/* Drops a source entry that the refused client made and nothing else
 * needs (its rate state is kept while there is a rate per source). */
static void
source_forget_if_empty(struct limits *lim, struct source *s,
    const struct source_key *key)
{
	struct source	**slot;

	if (s == NULL || s->active != 0 || lim->set.rate_per_source.burst != 0)
		return;
	(void)source_find(lim, key, &slot);
	*slot = s->next;
	free(s);
	lim->nsources--;
}

static enum refusal
refuse(enum refusal r, char *why, size_t whylen, const char *fmt, ...)
    HARBOR_PRINTFLIKE(4, 5);

static enum refusal
refuse(enum refusal r, char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return r;
}

static enum refusal
refuse_rate(enum refusal r, const char *name, const struct rate *rate,
    char *why, size_t whylen)
{
	return refuse(r, why, whylen, "%s %u.%03u/s (burst %u) exceeded", name,
	    rate->milli_per_sec / 1000, rate->milli_per_sec % 1000,
	    rate->burst);
}

/* Under the lock: every check, nothing spent or counted yet. */
static enum refusal
limits_check(struct limits *lim, int want_child,
    const struct limits_ticket *t, int64_t now_ms, struct source **sp,
    char *why, size_t whylen)
{
	const struct limits_settings *set = &lim->set;
	struct source	*s = NULL;

	*sp = NULL;
	if (!t->place && set->max_connections != 0 &&
	    lim->active >= set->max_connections)
		return refuse(REFUSE_MAX_CONNECTIONS, why, whylen,
		    "max-connections %u reached", set->max_connections);
	if (set->max_per_source != 0 || set->rate_per_source.burst != 0) {
		if ((s = source_get(lim, &t->source, now_ms)) == NULL)
			return refuse(REFUSE_SOURCES, why, whylen,
			    "too many sources to track");
		*sp = s;
		if (set->max_per_source != 0 &&
		    s->active >= set->max_per_source)
			return refuse(REFUSE_PER_SOURCE, why, whylen,
			    "max-per-source %u reached", set->max_per_source);
	}
	if (set->rate.burst != 0 &&
	    !bucket_has(&lim->service_bucket, &set->rate, now_ms, 1))
		return refuse_rate(REFUSE_RATE, "rate", &set->rate, why,
		    whylen);
	if (s != NULL && set->rate_per_source.burst != 0 &&
	    !bucket_has(&s->bucket, &set->rate_per_source, now_ms, 1))
		return refuse_rate(REFUSE_RATE_PER_SOURCE, "rate-per-source",
		    &set->rate_per_source, why, whylen);
	if (want_child && set->max_children != 0 &&
	    lim->children >= set->max_children)
		return refuse(REFUSE_CHILDREN, why, whylen,
		    "max-children %u reached", set->max_children);
	return REFUSE_NONE;
}

enum refusal
limits_admit(struct limits *lim, const struct sockaddr *peer, int want_child,
    struct limits_ticket *t, int64_t now_ms, char *why, size_t whylen)
{
	struct source	*s;
	enum refusal	 r;

	mutex_lock(&lim->lock);
	source_key_of(peer, lim->set.v6_prefix, &t->source);
	r = limits_check(lim, want_child, t, now_ms, &s, why, whylen);
	if (r != REFUSE_NONE) {
		source_forget_if_empty(lim, s, &t->source);
		mutex_unlock(&lim->lock);
		return r;
	}
	/* Admitted by every limit: now it spends and counts. */
	if (lim->set.rate.burst != 0)
		bucket_spend(&lim->service_bucket, 1);
	if (s != NULL && lim->set.rate_per_source.burst != 0)
		bucket_spend(&s->bucket, 1);
	if (!t->place)
		lim->active++;
	t->place = 1;
	/* Counted under its source only where sources are tracked; a
	 * reload that starts tracking them finds none for this one. */
	if (s != NULL) {
		s->active++;
		t->sourced = 1;
	}
	if (want_child) {
		lim->children++;
		t->child = 1;
	}
	mutex_unlock(&lim->lock);
	return REFUSE_NONE;
}

enum refusal
limits_take_place(struct limits *lim, struct limits_ticket *t, char *why,
    size_t whylen)
{
	enum refusal	r = REFUSE_NONE;

	mutex_lock(&lim->lock);
	if (lim->set.max_connections != 0 &&
	    lim->active >= lim->set.max_connections)
		r = refuse(REFUSE_MAX_CONNECTIONS, why, whylen,
		    "max-connections %u reached", lim->set.max_connections);
	else {
		lim->active++;
		t->place = 1;
	}
	mutex_unlock(&lim->lock);
	return r;
}

void
limits_ticket_return(struct limits *lim, struct limits_ticket *t)
{
	struct source	*s, **slot;

	if (!t->place && !t->child)
		return;
	mutex_lock(&lim->lock);
	if (t->place && lim->active > 0)
		lim->active--;
	if (t->sourced && (s = source_find(lim, &t->source, &slot)) != NULL &&
	    s->active > 0 && --s->active == 0 &&
	    lim->set.rate_per_source.burst == 0) {
		*slot = s->next;
		free(s);
		lim->nsources--;
	}
	if (t->child && lim->children > 0)
		lim->children--;
	mutex_unlock(&lim->lock);
	t->place = t->sourced = t->child = 0;
}

/* max-children: a place is taken when a client is admitted to an exec
 * service and given back when its child and what it left behind are gone
 * (or, if no child was started, when the connection ends), so children
 * that outlive their connection still count. */
void
limits_child_give(struct limits *lim)
{
	mutex_lock(&lim->lock);
	if (lim->children > 0)
		lim->children--;
	mutex_unlock(&lim->lock);
}

/* A count the admitting threads change, read under their lock. */
static unsigned
limits_count(struct limits *lim, const unsigned *count)
{
	unsigned	n;

	mutex_lock(&lim->lock);
	n = *count;
	mutex_unlock(&lim->lock);
	return n;
}

unsigned
limits_active(struct limits *lim)
{
	return limits_count(lim, &lim->active);
}

unsigned
limits_children(struct limits *lim)
{
	return limits_count(lim, &lim->children);
}
