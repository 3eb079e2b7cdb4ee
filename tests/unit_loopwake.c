/*
 * unit_loopwake.c -- how a Windows service's stop and reload get from the
 * Service Control Manager's thread to the main loop (loopwake.c): what
 * another thread asks runs on the loop's thread, asks that come together
 * are one call, nothing asked before the loop is attached is lost, and
 * nothing runs once it is detached, however many threads keep asking
 * (a sanitizer build sees any touch of the freed event and base).
 */
#include "autoconfig.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "loopwake.h"
#include "thread.h"

#include "check-run.h"

#define ASK_STOP	0x1
#define ASK_RELOAD	0x2

/* Set on the thread that runs the loop, and only there. */
static _Thread_local int	on_loop_thread;

struct record {
	struct event_base	*base;
	int			 calls;
	unsigned		 what;		/* OR of every call's */
	unsigned		 last;
	int			 off_loop;	/* calls on another thread */
	int			 break_loop;
};

static void
record_call(unsigned what, void *arg)
{
	struct record	*rec = arg;

	rec->calls++;
	rec->what |= what;
	rec->last = what;
	if (!on_loop_thread)
		rec->off_loop++;
	if (rec->break_loop)
		(void)event_base_loopbreak(rec->base);
}

static void
timed_out(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	*(int *)arg = 1;
}

/* Runs the loop until fn was called (or 5 s went by): 1 if it was. */
static int
run_until_called(struct record *rec)
{
	struct timeval	 limit = { 5, 0 };
	struct event	*timer;
	int		 late = 0;

	timer = evtimer_new(rec->base, timed_out, &late);
	ck_assert_ptr_nonnull(timer);
	ck_assert_int_eq(evtimer_add(timer, &limit), 0);
	rec->break_loop = 1;
	on_loop_thread = 1;
	while (rec->calls == 0 && !late)
		(void)event_base_loop(rec->base, EVLOOP_ONCE);
	on_loop_thread = 0;
	rec->break_loop = 0;
	event_free(timer);
	return rec->calls > 0;
}

/* What is active now runs; nothing waits. */
static void
run_ready(struct record *rec)
{
	on_loop_thread = 1;
	(void)event_base_loop(rec->base, EVLOOP_NONBLOCK);
	on_loop_thread = 0;
}

static struct loopwake	wake;
static struct record	rec;

static void
setup(void)
{
	memset(&rec, 0, sizeof rec);
	rec.base = event_base_new();
	ck_assert_ptr_nonnull(rec.base);
	loopwake_init(&wake);
}

static void
teardown(void)
{
	loopwake_detach(&wake);
	loopwake_destroy(&wake);
	if (rec.base != NULL)
		event_base_free(rec.base);
	rec.base = NULL;
}

static void
ask_stop(void *arg)
{
	loopwake_ask(arg, ASK_STOP);
}

START_TEST(test_ask_from_another_thread)
{
	thread_t	t;

	ck_assert_int_eq(loopwake_attach(&wake, rec.base, record_call, &rec),
	    0);
	ck_assert_int_eq(thread_create(&t, ask_stop, &wake), 0);
	ck_assert_msg(run_until_called(&rec), "the ask never reached the "
	    "loop");
	thread_join(t);
	ck_assert_int_eq(rec.calls, 1);
	ck_assert_uint_eq(rec.last, ASK_STOP);
	ck_assert_int_eq(rec.off_loop, 0);
}
END_TEST

START_TEST(test_asks_together_are_one_call)
{
	ck_assert_int_eq(loopwake_attach(&wake, rec.base, record_call, &rec),
	    0);
	loopwake_ask(&wake, ASK_RELOAD);
	loopwake_ask(&wake, ASK_STOP);
	loopwake_ask(&wake, ASK_RELOAD);
	run_ready(&rec);
	ck_assert_int_eq(rec.calls, 1);
	ck_assert_uint_eq(rec.last, ASK_STOP | ASK_RELOAD);
	/* Handed over: not again. */
	run_ready(&rec);
	ck_assert_int_eq(rec.calls, 1);
	loopwake_ask(&wake, ASK_RELOAD);
	run_ready(&rec);
	ck_assert_int_eq(rec.calls, 2);
	ck_assert_uint_eq(rec.last, ASK_RELOAD);
}
END_TEST

START_TEST(test_asked_before_attach)
{
	loopwake_ask(&wake, ASK_STOP);
	run_ready(&rec);
	ck_assert_int_eq(rec.calls, 0);
	ck_assert_int_eq(loopwake_attach(&wake, rec.base, record_call, &rec),
	    0);
	run_ready(&rec);
	ck_assert_int_eq(rec.calls, 1);
	ck_assert_uint_eq(rec.last, ASK_STOP);
}
END_TEST

START_TEST(test_nothing_after_detach)
{
	ck_assert_int_eq(loopwake_attach(&wake, rec.base, record_call, &rec),
	    0);
	loopwake_detach(&wake);
	loopwake_ask(&wake, ASK_RELOAD);
	run_ready(&rec);
	ck_assert_int_eq(rec.calls, 0);
	/* Kept for the next loop. */
	ck_assert_int_eq(loopwake_attach(&wake, rec.base, record_call, &rec),
	    0);
	run_ready(&rec);
	ck_assert_int_eq(rec.calls, 1);
	ck_assert_uint_eq(rec.last, ASK_RELOAD);
}
END_TEST

#define ASKERS	4

struct asker {
	struct loopwake	*w;
	unsigned	 bit;
	atomic_int	*stop;
	atomic_long	*asks;
};

static void
keep_asking(void *arg)
{
	struct asker	*a = arg;

	while (!atomic_load(a->stop)) {
		loopwake_ask(a->w, a->bit);
		atomic_fetch_add(a->asks, 1);
	}
}

START_TEST(test_detach_while_others_ask)
{
	struct asker	askers[ASKERS];
	thread_t	threads[ASKERS];
	atomic_int	stop;
	atomic_long	asks;
	long		then;
	int		i, calls;

	atomic_init(&stop, 0);
	atomic_init(&asks, 0);
	ck_assert_int_eq(loopwake_attach(&wake, rec.base, record_call, &rec),
	    0);
	for (i = 0; i < ASKERS; i++) {
		askers[i].w = &wake;
		askers[i].bit = 1u << i;
		askers[i].stop = &stop;
		askers[i].asks = &asks;
		ck_assert_int_eq(thread_create(&threads[i], keep_asking,
		    &askers[i]), 0);
	}
	/* Every asker heard, in however many calls. */
	while (rec.what != (1u << ASKERS) - 1) {
		rec.calls = 0;
		ck_assert_msg(run_until_called(&rec), "the asks stopped "
		    "reaching the loop (heard 0x%x)", rec.what);
	}
	loopwake_detach(&wake);
	calls = rec.calls;
	run_ready(&rec);
	ck_assert_int_eq(rec.calls, calls);
	/* The loop and its events gone while the askers go on. */
	event_base_free(rec.base);
	rec.base = NULL;
	then = atomic_load(&asks);
	while (atomic_load(&asks) < then + 1000)
		;
	atomic_store(&stop, 1);
	for (i = 0; i < ASKERS; i++)
		thread_join(threads[i]);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("loopwake");
	TCase	*tc = tcase_create("loopwake");

#ifdef _WIN32
	{
		WSADATA	wsa;

		/* libevent's bases talk to themselves over sockets there. */
		(void)WSAStartup(MAKEWORD(2, 2), &wsa);
	}
	if (evthread_use_windows_threads() == -1) {
#else
	if (evthread_use_pthreads() == -1) {
#endif
		fprintf(stderr, "cannot enable libevent threading\n");
		return 99;
	}
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ask_from_another_thread);
	tcase_add_test(tc, test_asks_together_are_one_call);
	tcase_add_test(tc, test_asked_before_attach);
	tcase_add_test(tc, test_nothing_after_detach);
	tcase_add_test(tc, test_detach_while_others_ask);
	suite_add_tcase(s, tc);
	return check_run(s);
}
