/*
 * unit_logqueue.c -- the serving process's log writer (logqueue.c through
 * logsink.c): a log that stops taking lines (a pipe nobody reads) does not
 * stop the threads that log; what cannot be queued is counted, and every
 * line is either written or counted, none lost in silence.
 */
#include "autoconfig.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harbor.h"
#include "logsink.h"

#include "check-run.h"

#ifndef _WIN32
#define LINES	5000

struct reader {
	int	fd;
	size_t	lines;
};

static void *
read_all(void *arg)
{
	struct reader	*r = arg;
	char		 buf[65536];
	ssize_t		 n, i;

	while ((n = read(r->fd, buf, sizeof buf)) > 0)
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				r->lines++;
	return NULL;
}

START_TEST(test_full_log_never_blocks)
{
	struct reader	 r = { -1, 0 };
	pthread_t	 t;
	char		 err[256], pad[201];
	uint64_t	 before, dropped;
	int		 p[2], i;

	memset(pad, 'x', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(logsink_adopt("test pipe", p[1], err, sizeof err), 0);
	ck_assert_int_eq(logsink_async(1), 0);
	before = harbor_log_dropped();
	/* Nobody reads: the pipe fills, the writer waits on it, the queue
	 * fills; these calls still all return. */
	for (i = 0; i < LINES; i++)
		harbor_log(HARBOR_LOG_NOTICE, "line %d %s", i, pad);
	dropped = harbor_log_dropped() - before;
	ck_assert_msg(dropped > 0, "a full log dropped nothing");
	ck_assert_msg(dropped < LINES, "everything was dropped");
	/* Now read: the queue drains, and the count adds up. */
	r.fd = p[0];
	ck_assert_int_eq(pthread_create(&t, NULL, read_all, &r), 0);
	ck_assert_int_eq(logsink_async(0), 0);
	logsink_close();	/* closes the pipe's write end: EOF */
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	(void)close(p[0]);
	ck_assert_uint_eq(r.lines + (size_t)dropped, LINES);
}
END_TEST

START_TEST(test_order_and_flush)
{
	struct reader	 r = { -1, 0 };
	char		 err[256], buf[65536];
	ssize_t		 n;
	size_t		 got = 0;
	int		 p[2], i, last = -1, v;
	char		*at;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(logsink_adopt("test pipe", p[1], err, sizeof err), 0);
	ck_assert_int_eq(logsink_async(1), 0);
	for (i = 0; i < 100; i++)
		harbor_log(HARBOR_LOG_NOTICE, "seq %d", i);
	/* The starter's copy is switched only after what came before it
	 * is out. */
	logsink_tee(-1);
	while (got < sizeof buf - 1 && (n = read(p[0], buf + got,
	    sizeof buf - 1 - got)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "seq 99\n") != NULL)
			break;
	}
	buf[got] = '\0';
	for (at = buf; (at = strstr(at, "seq ")) != NULL; at += 4) {
		v = atoi(at + 4);
		ck_assert_int_eq(v, last + 1);
		last = v;
	}
	ck_assert_int_eq(last, 99);
	ck_assert_int_eq(logsink_async(0), 0);
	logsink_close();
	(void)close(p[0]);
	(void)r;
}
END_TEST
#endif

int
main(void)
{
	Suite *s = suite_create("logqueue");
	TCase *tc = tcase_create("logqueue");

	tcase_set_timeout(tc, 30);
	add_test_not_windows(tc, test_full_log_never_blocks, "no pipe(2) to "
	    "fill on Windows");
	add_test_not_windows(tc, test_order_and_flush, "no pipe(2) to fill on "
	    "Windows");
	suite_add_tcase(s, tc);
	return check_run(s);
}
