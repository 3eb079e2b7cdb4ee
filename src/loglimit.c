/*
 * Log limits: messages of one kind from one service (refusals of one
 * reason, bad PROXY headers, a program's standard error over its rate)
 * pass a token bucket of lines.  What the bucket holds back is counted,
 * and said in one line -- "N similar messages suppressed" -- before the
 * next message of the kind that passes, or when the server flushes the
 * counts, a second after the first was held back.  A flood of refused
 * clients costs a few lines a second, and no count is lost.
 *
 * Any thread: the counts are under the limiter's lock.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void
loglimit_init(struct loglimit *ll)
{
	memset(ll, 0, sizeof *ll);
	mutex_init(&ll->lock);
	ll->rate.milli_per_sec = DEFAULT_LOG_RATE_MILLI;
	ll->rate.burst = DEFAULT_LOG_BURST;
}

void
loglimit_destroy(struct loglimit *ll, const char *service)
{
	loglimit_flush(ll, service);
	mutex_destroy(&ll->lock);
}

void
loglimit_configure(struct loglimit *ll, const struct rate *rate)
{
	mutex_lock(&ll->lock);
	ll->rate = *rate;
	mutex_unlock(&ll->lock);
}

static void
say_suppressed(const char *service, const char *name, unsigned n)
{
	log_notice("service %s: %u similar message%s suppressed (%s)", service,
	    n, n == 1 ? "" : "s", name);
}

int
loglimit_pass(struct loglimit *ll, const char *service, unsigned kind,
    const char *name, int64_t now_ms)
{
	struct loglimit_kind	*k = &ll->kind[kind];
	unsigned		 held = 0;
	int			 pass;

	mutex_lock(&ll->lock);
	k->name = name;
	pass = ll->rate.burst == 0 ||
	    bucket_take(&k->bucket, &ll->rate, now_ms);
	if (pass) {
		held = k->suppressed;
		k->suppressed = 0;
	} else if (k->suppressed++ == 0)
		pass = -1;	/* the first held back: a flush is due */
	mutex_unlock(&ll->lock);
	if (held > 0)
		say_suppressed(service, name, held);
	return pass;
}

void
loglimit_flush(struct loglimit *ll, const char *service)
{
	unsigned	held[LOGLIMIT_KINDS], i;
	const char	*name[LOGLIMIT_KINDS];

	mutex_lock(&ll->lock);
	for (i = 0; i < LOGLIMIT_KINDS; i++) {
		held[i] = ll->kind[i].suppressed;
		name[i] = ll->kind[i].name;
		ll->kind[i].suppressed = 0;
	}
	mutex_unlock(&ll->lock);
	for (i = 0; i < LOGLIMIT_KINDS; i++)
		if (held[i] > 0)
			say_suppressed(service, name[i], held[i]);
}
