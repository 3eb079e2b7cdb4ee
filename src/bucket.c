/*
 * Token buckets: a rate with a burst, in exact integer arithmetic.  Rates
 * are in thousandths of a unit per second and tokens in thousandths of a
 * unit, so 0.5 connections a second or 8192 bytes a second are both exact.
 * The caller locks.
 */
#include "autoconfig.h"

#include "util.h"

/* Brings b up to now_ms, full at the first use. */
static void
bucket_refill(struct bucket *b, const struct rate *r, int64_t now_ms)
{
	int64_t	cap = (int64_t)r->burst * 1000;

	if (b->last_ms == 0) {
		b->tokens = cap;
		b->last_ms = now_ms;
	} else if (now_ms > b->last_ms) {
		b->tokens += (now_ms - b->last_ms) * r->milli_per_sec / 1000;
		if (b->tokens > cap)
			b->tokens = cap;
		b->last_ms = now_ms;
	}
}

int
bucket_has(struct bucket *b, const struct rate *r, int64_t now_ms,
    unsigned units)
{
	bucket_refill(b, r, now_ms);
	return b->tokens >= (int64_t)units * 1000;
}

void
bucket_spend(struct bucket *b, unsigned units)
{
	b->tokens -= (int64_t)units * 1000;
}

int
bucket_take(struct bucket *b, const struct rate *r, int64_t now_ms)
{
	if (!bucket_has(b, r, now_ms, 1))
		return 0;
	bucket_spend(b, 1);
	return 1;
}

int
bucket_full(const struct bucket *b, const struct rate *r, int64_t now_ms)
{
	return b->last_ms == 0 || b->tokens + (now_ms - b->last_ms) *
	    r->milli_per_sec / 1000 >= (int64_t)r->burst * 1000;
}
