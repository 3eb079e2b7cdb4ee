/* The worker pool: every job runs once, the queue is bounded, a job that
 * finds it full waits (deferred) and is admitted in order, a batch takes
 * the places there are and no more, and freeing the pool runs what is
 * left. */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "check-run.h"

struct test_job {
	struct pool_job	 job;
	int		 index;
	atomic_int	*runs;		/* per job */
	atomic_int	 admitted;
};

/* A gate the first job waits at, so the queue fills behind it. */
static mutex_t		gate_lock;
static cond_t		gate_cond;
static int		gate_open;
static int		gate_reached;
static int		order[64];
static atomic_int	norder;

static void
gate_init(void)
{
	mutex_init(&gate_lock);
	cond_init(&gate_cond);
	gate_open = 0;
	gate_reached = 0;
	atomic_init(&norder, 0);
}

static void
gated_run(struct pool_job *job)
{
	struct test_job	*t = (struct test_job *)job;

	mutex_lock(&gate_lock);
	gate_reached = 1;
	cond_broadcast(&gate_cond);
	while (!gate_open)
		cond_wait(&gate_cond, &gate_lock);
	mutex_unlock(&gate_lock);
	order[atomic_fetch_add(&norder, 1)] = t->index;
	atomic_fetch_add(&t->runs[t->index], 1);
}

static void
plain_run(struct pool_job *job)
{
	struct test_job	*t = (struct test_job *)job;

	order[atomic_fetch_add(&norder, 1)] = t->index;
	atomic_fetch_add(&t->runs[t->index], 1);
}

static void
counting_run(struct pool_job *job)
{
	struct test_job	*t = (struct test_job *)job;

	atomic_fetch_add(&t->runs[t->index], 1);
}

static void
note_admitted(struct pool_job *job)
{
	atomic_fetch_add(&((struct test_job *)job)->admitted, 1);
}

START_TEST(test_every_job_runs_once)
{
	enum { N = 2000 };
	struct test_job	*jobs = calloc(N, sizeof *jobs);
	atomic_int	*runs = calloc(N, sizeof *runs);
	struct pool	*pool = pool_new(4, 16);
	int		 i, deferred = 0;

	gate_init();
	ck_assert_ptr_nonnull(pool);
	for (i = 0; i < N; i++) {
		jobs[i].job.run = counting_run;
		jobs[i].job.admitted = note_admitted;
		jobs[i].index = i;
		jobs[i].runs = runs;
		atomic_init(&runs[i], 0);
		atomic_init(&jobs[i].admitted, 0);
	}
	/* Half one by one, half in batches of 7 (what does not fit of a
	 * batch is submitted alone, as the loops do). */
	for (i = 0; i < N / 2; i++)
		deferred += pool_submit(pool, &jobs[i].job);
	while (i < N) {
		struct pool_job	*batch[7];
		unsigned	 n, k, queued;

		for (n = 0; n < 7 && i + (int)n < N; n++)
			batch[n] = &jobs[i + (int)n].job;
		queued = pool_submit_many(pool, batch, n);
		for (k = queued; k < n; k++)
			deferred += pool_submit(pool, batch[k]);
		i += (int)n;
	}
	pool_free(pool);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(atomic_load(&runs[i]), 1);
	{
		int admitted = 0;

		for (i = 0; i < N; i++) {
			ck_assert_int_le(atomic_load(&jobs[i].admitted), 1);
			admitted += atomic_load(&jobs[i].admitted);
		}
		/* Every deferred job was admitted, and only those. */
		ck_assert_int_eq(admitted, deferred);
	}
	free(jobs);
	free(runs);
}
END_TEST

/* n jobs, the first waiting at the gate, the others running at once. */
static void
gated_jobs_init(struct test_job *jobs, atomic_int *runs, int n)
{
	int	i;

	gate_init();
	for (i = 0; i < n; i++) {
		memset(&jobs[i], 0, sizeof jobs[i]);
		jobs[i].job.run = i == 0 ? gated_run : plain_run;
		jobs[i].job.admitted = note_admitted;
		jobs[i].index = i;
		jobs[i].runs = runs;
		atomic_init(&jobs[i].admitted, 0);
		atomic_init(&runs[i], 0);
	}
}

START_TEST(test_full_queue_defers_and_admits_in_order)
{
	struct test_job	 jobs[6];
	atomic_int	 runs[6];
	struct pool	*pool = pool_new(1, 2);
	int		 i;

	gated_jobs_init(jobs, runs, 6);
	ck_assert_ptr_nonnull(pool);
	/* Job 0 occupies the only worker... */
	ck_assert_int_eq(pool_submit(pool, &jobs[0].job), 0);
	mutex_lock(&gate_lock);
	while (!gate_reached)
		cond_wait(&gate_cond, &gate_lock);
	mutex_unlock(&gate_lock);
	/* ...so the queue (2 places) fills, and the rest wait outside it. */
	ck_assert_int_eq(pool_submit(pool, &jobs[1].job), 0);
	ck_assert_int_eq(pool_submit(pool, &jobs[2].job), 0);
	ck_assert_int_eq(pool_submit(pool, &jobs[3].job), 1);
	ck_assert_int_eq(pool_submit(pool, &jobs[4].job), 1);
	ck_assert_uint_eq(pool_queued(pool), 2);
	/* A place frees only as the worker takes a job: nobody is admitted
	 * while it is stuck. */
	ck_assert_int_eq(atomic_load(&jobs[3].admitted), 0);

	mutex_lock(&gate_lock);
	gate_open = 1;
	cond_broadcast(&gate_cond);
	mutex_unlock(&gate_lock);
	/* Job 5 may find room or not; either way it runs. */
	(void)pool_submit(pool, &jobs[5].job);
	pool_free(pool);

	for (i = 0; i < 6; i++)
		ck_assert_int_eq(atomic_load(&runs[i]), 1);
	ck_assert_int_eq(atomic_load(&jobs[3].admitted), 1);
	ck_assert_int_eq(atomic_load(&jobs[4].admitted), 1);
	ck_assert_int_eq(atomic_load(&jobs[1].admitted), 0);
	/* One worker: first in, first run, deferred ones after the queue. */
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(order[i], i);
}
END_TEST

/* A batch takes the places there are, in order; what it leaves waits
 * outside the queue behind what was there, and is admitted in order. */
START_TEST(test_batch_fills_the_queue_in_order)
{
	struct test_job	 jobs[7];
	struct pool_job	*batch[5];
	atomic_int	 runs[7];
	struct pool	*pool = pool_new(1, 3);
	int		 i;

	gated_jobs_init(jobs, runs, 7);
	ck_assert_ptr_nonnull(pool);
	ck_assert_uint_eq(pool_submit_many(pool, batch, 0), 0);
	batch[0] = &jobs[0].job;
	ck_assert_uint_eq(pool_submit_many(pool, batch, 1), 1);
	mutex_lock(&gate_lock);
	while (!gate_reached)
		cond_wait(&gate_cond, &gate_lock);
	mutex_unlock(&gate_lock);
	/* Three places for five jobs: 1-3 are queued, 4 and 5 are not. */
	for (i = 0; i < 5; i++)
		batch[i] = &jobs[i + 1].job;
	ck_assert_uint_eq(pool_submit_many(pool, batch, 5), 3);
	ck_assert_uint_eq(pool_queued(pool), 3);
	ck_assert_int_eq(pool_submit(pool, &jobs[4].job), 1);
	/* Still full: a batch queues nothing. */
	batch[0] = &jobs[5].job;
	ck_assert_uint_eq(pool_submit_many(pool, batch, 1), 0);
	ck_assert_int_eq(pool_submit(pool, &jobs[5].job), 1);
	ck_assert_int_eq(pool_submit(pool, &jobs[6].job), 1);

	mutex_lock(&gate_lock);
	gate_open = 1;
	cond_broadcast(&gate_cond);
	mutex_unlock(&gate_lock);
	pool_free(pool);
	for (i = 0; i < 7; i++) {
		ck_assert_int_eq(atomic_load(&runs[i]), 1);
		ck_assert_int_eq(order[i], i);
		ck_assert_int_eq(atomic_load(&jobs[i].admitted), i >= 4);
	}
}
END_TEST

START_TEST(test_bad_sizes)
{
	ck_assert_ptr_null(pool_new(0, 10));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("pool");
	TCase	*tc = tcase_create("jobs");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_every_job_runs_once);
	tcase_add_test(tc, test_full_queue_defers_and_admits_in_order);
	tcase_add_test(tc, test_batch_fills_the_queue_in_order);
	tcase_add_test(tc, test_bad_sizes);
	suite_add_tcase(s, tc);
	return check_run(s);
}
