/*
 * The worker pool: threads that run jobs off the I/O loops.
 *
 * The queue is bounded.  A job submitted to a full queue is not dropped: it
 * waits on a deferred list, and its submitter is told so (and pauses the
 * client it came from); when a worker takes a job from the queue it moves
 * the oldest deferred job into the freed place and calls its admitted
 * callback, so the submitter can resume.  Jobs are intrusive (embedded in
 * what they work on), so neither list allocates.
 *
 * A worker takes its share of what is queued at once (POOL_BATCH at
 * most), one lock for all of it, and wakes another idle worker only if
 * more is left.  A submitter wakes a worker only if one is idle and not
 * already being woken, and after letting go of the lock: a worker woken
 * while the lock is held would only wait for it again.
 */
#include "autoconfig.h"

#include <stdlib.h>

#include "runtime.h"

struct pool {
	mutex_t		 lock;
	cond_t		 work;
	thread_t	*threads;
	int		 nthreads;
	struct pool_job	*head, *tail;		/* the queue */
	unsigned	 queued;
	unsigned	 queue_max;
	struct pool_job	*dhead, *dtail;		/* deferred */
	unsigned	 idle;			/* workers waiting for work */
	unsigned	 waking;		/* of those, signalled */
	int		 stopping;
};

/* The most jobs a worker takes at once. */
#define POOL_BATCH	16

static void
append(struct pool_job **head, struct pool_job **tail, struct pool_job *job)
{
	job->next = NULL;
	if (*tail != NULL)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static struct pool_job *
take(struct pool_job **head, struct pool_job **tail)
{
	struct pool_job	*job = *head;

	if (job != NULL) {
		*head = job->next;
		if (*head == NULL)
			*tail = NULL;
		job->next = NULL;
	}
	return job;
}

/* Whether to wake an idle worker for the jobs queued: one that is not
 * being woken already.  Under the lock. */
static int
pool_should_wake(struct pool *pool)
{
	if (pool->queued == 0 || pool->idle <= pool->waking)
		return 0;
	pool->waking++;
	return 1;
}

static void
pool_worker(void *arg)
{
	struct pool	*pool = arg;
	struct pool_job	*batch[POOL_BATCH], *admitted[POOL_BATCH], *job;
	unsigned	 n, nadmitted, i, share;
	int		 wake;

	mutex_lock(&pool->lock);
	for (;;) {
		while (pool->queued == 0 && !pool->stopping) {
			pool->idle++;
			cond_wait(&pool->work, &pool->lock);
			pool->idle--;
			if (pool->waking > 0)
				pool->waking--;
		}
		if (pool->queued == 0)
			break;		/* stopping, and nothing left */
		/* A share of the queue, leaving the rest to the others. */
		share = (pool->queued + (unsigned)pool->nthreads - 1) /
		    (unsigned)pool->nthreads;
		if (share > POOL_BATCH)
			share = POOL_BATCH;
		for (n = 0, nadmitted = 0; n < share; n++) {
			batch[n] = take(&pool->head, &pool->tail);
			pool->queued--;
			job = take(&pool->dhead, &pool->dtail);
			if (job != NULL) {
				append(&pool->head, &pool->tail, job);
				pool->queued++;
				admitted[nadmitted++] = job;
			}
		}
		wake = pool_should_wake(pool);
		mutex_unlock(&pool->lock);

		if (wake)
			cond_signal(&pool->work);
		for (i = 0; i < nadmitted; i++)
			if (admitted[i]->admitted != NULL)
				admitted[i]->admitted(admitted[i]);
		for (i = 0; i < n; i++)
			batch[i]->run(batch[i]);

		mutex_lock(&pool->lock);
	}
	mutex_unlock(&pool->lock);
}

struct pool *
pool_new(int nthreads, unsigned queue_max)
{
	struct pool	*pool;
	int		 i;

	if (nthreads < 1 || (pool = calloc(1, sizeof *pool)) == NULL)
		return NULL;
	pool->queue_max = queue_max > 0 ? queue_max : POOL_QUEUE_DEFAULT;
	if ((pool->threads = calloc((size_t)nthreads,
	    sizeof *pool->threads)) == NULL) {
		free(pool);
		return NULL;
	}
	mutex_init(&pool->lock);
	cond_init(&pool->work);
	for (i = 0; i < nthreads; i++) {
		if (thread_create(&pool->threads[i], pool_worker, pool) != 0)
			break;
		pool->nthreads++;
	}
	if (pool->nthreads == 0) {
		pool_free(pool);
		return NULL;
	}
	return pool;
}

int
pool_submit(struct pool *pool, struct pool_job *job)
{
	int	deferred, wake = 0;

	mutex_lock(&pool->lock);
	if (pool->queued < pool->queue_max && pool->dhead == NULL) {
		append(&pool->head, &pool->tail, job);
		pool->queued++;
		wake = pool_should_wake(pool);
		deferred = 0;
	} else {
		append(&pool->dhead, &pool->dtail, job);
		deferred = 1;
	}
	mutex_unlock(&pool->lock);
	if (wake)
		cond_signal(&pool->work);
	return deferred;
}

unsigned
pool_submit_many(struct pool *pool, struct pool_job **jobs, unsigned n)
{
	unsigned	i;
	int		wake;

	mutex_lock(&pool->lock);
	for (i = 0; i < n && pool->queued < pool->queue_max &&
	    pool->dhead == NULL; i++) {
		append(&pool->head, &pool->tail, jobs[i]);
		pool->queued++;
	}
	/* One worker: it takes its share and wakes another for the rest. */
	wake = pool_should_wake(pool);
	mutex_unlock(&pool->lock);
	if (wake)
		cond_signal(&pool->work);
	return i;
}

unsigned
pool_queued(struct pool *pool)
{
	unsigned	n;

	mutex_lock(&pool->lock);
	n = pool->queued;
	mutex_unlock(&pool->lock);
	return n;
}

void
pool_free(struct pool *pool)
{
	int	i;

	if (pool == NULL)
		return;
	mutex_lock(&pool->lock);
	pool->stopping = 1;
	cond_broadcast(&pool->work);
	mutex_unlock(&pool->lock);
	for (i = 0; i < pool->nthreads; i++)
		thread_join(pool->threads[i]);
	cond_destroy(&pool->work);
	mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool);
}
