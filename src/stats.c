/*
 * A service's counters: what it accepted and refused, the bytes each
 * way, how long its sessions lasted.  Each thread that counts has a slot
 * of its own, which only it writes, so counting takes no lock and no
 * shared atomic operation on the path of every read and write; a reader
 * sums the slots.  Like a service's limits, the counters are shared by
 * the services of one name across reloads.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Upper bounds of the session duration buckets, in milliseconds; one
 * more bucket counts the longer ones.  Those of a Prometheus histogram
 * (harbor_server_stats's readers) with hours added for long sessions. */
const unsigned stats_duration_bound_ms[STATS_DURATION_BOUNDS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
	60000, 300000, 3600000
};

struct stats *
stats_new(unsigned nslots)
{
	struct stats	*st;

	st = calloc(1, sizeof *st + nslots * sizeof st->slot[0]);
	if (st == NULL)
		return NULL;
	atomic_init(&st->refs, 1);
	st->nslots = nslots;
	return st;
}

void
stats_hold(struct stats *st)
{
	atomic_fetch_add(&st->refs, 1);
}

void
stats_release(struct stats *st)
{
	if (st != NULL && atomic_fetch_sub(&st->refs, 1) == 1)
		free(st);
}

struct stats_slot *
stats_slot(struct stats *st, unsigned i)
{
	return &st->slot[i < st->nslots ? i : st->nslots - 1];
}

/* Written by the slot's one thread: a plain add, published whole. */
static void
slot_add(atomic_uint_least64_t *v, uint64_t n)
{
	atomic_store_explicit(v, atomic_load_explicit(v,
	    memory_order_relaxed) + n, memory_order_relaxed);
}

void
stats_accepted(struct stats_slot *s)
{
	slot_add(&s->accepted, 1);
}

void
stats_bytes(struct stats_slot *s, uint64_t in, uint64_t out)
{
	if (in != 0)
		slot_add(&s->bytes_in, in);
	if (out != 0)
		slot_add(&s->bytes_out, out);
}

void
stats_closed(struct stats_slot *s, int64_t took_ms)
{
	uint64_t	ms = took_ms > 0 ? (uint64_t)took_ms : 0;
	unsigned	b;

	for (b = 0; b < STATS_DURATION_BOUNDS; b++)
		if (ms <= stats_duration_bound_ms[b])
			break;
	slot_add(&s->duration[b], 1);
	slot_add(&s->duration_ms, ms);
	slot_add(&s->closed, 1);
}

/* Refusals come from any thread, and are not on the path of a client
 * served. */
void
stats_refused(struct stats *st, unsigned kind)
{
	if (kind < REFUSE_KINDS)
		atomic_fetch_add_explicit(&st->refused[kind], 1,
		    memory_order_relaxed);
}

static uint64_t
load(const atomic_uint_least64_t *v)
{
	return atomic_load_explicit((atomic_uint_least64_t *)v,
	    memory_order_relaxed);
}

void
stats_sum(const struct stats *st, struct stats_sum *sum)
{
	const struct stats_slot	*s;
	unsigned		 i, b;

	memset(sum, 0, sizeof *sum);
	for (i = 0; i < st->nslots; i++) {
		s = &st->slot[i];
		sum->accepted += load(&s->accepted);
		sum->closed += load(&s->closed);
		sum->bytes_in += load(&s->bytes_in);
		sum->bytes_out += load(&s->bytes_out);
		sum->duration_ms += load(&s->duration_ms);
		for (b = 0; b <= STATS_DURATION_BOUNDS; b++)
			sum->duration[b] += load(&s->duration[b]);
	}
	for (i = 0; i < REFUSE_KINDS; i++)
		sum->refused[i] = load(&st->refused[i]);
}
