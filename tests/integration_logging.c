/*
 * integration_logging.c -- log-level (global, per service, and changed by
 * a reload) and log-connections: which lines a running harbord writes.
 */
#include "harness.h"	/* first: feature macros */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check-run.h"

/* A client that says a line and hangs up, and the line back. */
static void
visit(struct hdaemon *d, const char *service)
{
	int	fd = hc_connect(hd_port(d, service));

	ck_assert(hc_echo_ok(fd, "hi\n"));
	hc_close(fd);
}

START_TEST(test_per_service)
{
	struct hdaemon	*d;

	d = hd_start("service quiet {\n    listen 127.0.0.1:0\n"
	    "    handler echo\n    log-connections no\n}\n"
	    "service terse {\n    listen 127.0.0.1:0\n    handler echo\n"
	    "    log-level notice\n}\n"
	    "service plain {\n    listen 127.0.0.1:0\n    handler echo\n}\n"
	    "service shut {\n    listen 127.0.0.1:0\n    handler echo\n"
	    "    log-connections no\n    deny all\n}\n", NULL);
	visit(d, "quiet");
	visit(d, "terse");
	visit(d, "plain");
	ck_assert(hd_wait_log(d, "service plain: closed", 5000));
	/* Lines are written in order; the others' would be in by now. */
	ck_assert_int_eq(hd_count_log(d, "service quiet: accepted"), 0);
	ck_assert_int_eq(hd_count_log(d, "service quiet: closed"), 0);
	ck_assert_int_eq(hd_count_log(d, "service terse: accepted"), 0);
	ck_assert_int_eq(hd_count_log(d, "service plain: accepted"), 1);
	/* A refusal is not a connection's line: still said. */
	{
		int	fd = hc_connect(hd_port(d, "shut"));

		ck_assert(hc_wait_eof(fd, 5000, NULL));
		hc_close(fd);
	}
	ck_assert(hd_wait_log(d, "service shut: refused", 5000));
	hd_finish(d);
}
END_TEST

START_TEST(test_global_and_reload)
{
	const char	*conf =
	    "log-level notice\n"
	    "service low {\n    listen 127.0.0.1:0\n    handler echo\n}\n"
	    "service loud {\n    listen 127.0.0.1:0\n    handler echo\n"
	    "    log-level info\n}\n";
	struct hdaemon	*d = hd_start(conf, NULL);
	char		*info;

	visit(d, "low");
	visit(d, "loud");
	ck_assert(hd_wait_log(d, "service loud: closed", 5000));
	ck_assert_int_eq(hd_count_log(d, "service low: accepted"), 0);

	/* A reload sets the level it says, in every process. */
	info = harness_fmt("log-level info\n%s", strchr(conf, '\n') + 1);
	hd_rewrite_config(d, info);
	hd_mark(d);
	ck_assert_int_eq(hd_reload(d), 0);
	ck_assert(hd_wait_log(d, "configuration reloaded", 5000));
	visit(d, "low");
	ck_assert(hd_wait_log(d, "service low: closed", 5000));
	free(info);
	hd_finish(d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("logging");
	TCase *tc = tcase_create("logging");

	harness_init();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_per_service);
	tcase_add_test(tc, test_global_and_reload);
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
