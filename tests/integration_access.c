/*
 * Admission control against the real daemon: allow/deny rules with IPv4
 * and IPv6 clients (127.0.0.1, 127.0.0.2 and ::1 are distinct sources).
 */
#include "harness.h"	/* first: feature macros */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A client from src to the service's address host ("127.0.0.1" or
 * "[::1]"): let in (echoes) or refused (closed at once). */
static void
expect_allowed(struct hdaemon *d, const char *src, const char *host)
{
	const char *ip = strcmp(host, "[::1]") == 0 ? "::1" : host;
	int fd = hc_connect_from(src, ip, hd_port_host(d, "echo", host), 5000);

	ck_assert_msg(fd >= 0, "connect from %s: %s", src, strerror(errno));
	HD_ASSERT(d, hc_echo_ok(fd, "let me in\n"), "%s was not served", src);
	hc_close(fd);
}

static void
expect_refused(struct hdaemon *d, const char *src, const char *host,
    const char *why)
{
	const char *ip = strcmp(host, "[::1]") == 0 ? "::1" : host;
	int fd = hc_connect_from(src, ip, hd_port_host(d, "echo", host), 5000);
	char *want;

	ck_assert_msg(fd >= 0, "connect from %s: %s", src, strerror(errno));
	(void)hc_send_str(fd, "let me in\n");
	ck_assert_msg(hc_wait_eof(fd, 5000, NULL), "%s was not closed", src);
	hc_close(fd);
	want = harness_fmt("service echo: refused %s:", strcmp(src, "::1") == 0 ?
	    "[::1]" : src);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	HD_EXPECT_LOG(d, why, 1000);
}

START_TEST(test_allow_and_deny)
{
	bool v6 = harness_have_ipv6();
	char *cfg = harness_fmt(
	    "service echo {\n"
	    "    listen 127.0.0.1:0%s\n"
	    "    handler echo\n"
	    "    dispatch %s\n"
	    "    allow 127.0.0.0/8 ::1\n"
	    "    deny 127.0.0.2\n"
	    "}\n", v6 ? " [::1]:0" : "", harness_dispatch_name[_i]);
	struct hdaemon *d = hd_start(cfg, NULL);

	free(cfg);

	expect_allowed(d, "127.0.0.1", "127.0.0.1");
	expect_allowed(d, "127.0.0.3", "127.0.0.1");
	expect_refused(d, "127.0.0.2", "127.0.0.1", ": deny 127.0.0.2");
	if (v6)
		expect_allowed(d, "::1", "[::1]");
	else
		fprintf(stderr, "SKIP part: no IPv6 loopback here\n");
	/* A refused client harms no one: the allowed ones go on. */
	expect_allowed(d, "127.0.0.1", "127.0.0.1");
	ck_assert_int_eq(hd_count_log(d, "accepted 127.0.0.2"), 0);
	hd_finish(d);
}
END_TEST

START_TEST(test_allow_list_refuses_the_rest)
{
	bool v6 = harness_have_ipv6();
	char *cfg = harness_fmt(
	    "service echo {\n"
	    "    listen 127.0.0.1:0%s\n"
	    "    handler echo\n"
	    "    allow 127.0.0.1\n"
	    "}\n", v6 ? " [::1]:0" : "");
	struct hdaemon *d = hd_start(cfg, NULL);

	free(cfg);

	expect_allowed(d, "127.0.0.1", "127.0.0.1");
	hd_mark(d);
	expect_refused(d, "127.0.0.5", "127.0.0.1", "no allow rule matches");
	if (v6) {
		hd_mark(d);
		expect_refused(d, "::1", "[::1]", "no allow rule matches");
	}
	hd_finish(d);
}
END_TEST

START_TEST(test_defaults_rules_and_their_override)
{
	struct hdaemon *d = hd_start(
	    "defaults { deny 127.0.0.2 }\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n"
	    "service open { listen 127.0.0.1:0; handler echo; allow all }\n",
	    NULL);
	int fd;

	/* echo has no rules of its own: the defaults' deny applies. */
	expect_refused(d, "127.0.0.2", "127.0.0.1", ": deny 127.0.0.2");
	/* open has its own: the defaults' do not apply. */
	fd = hc_connect_from("127.0.0.2", "127.0.0.1", hd_port(d, "open"),
	    5000);
	ck_assert(fd >= 0);
	HD_ASSERT(d, hc_echo_ok(fd, "open to all\n"), "allow all was not "
	    "applied");
	hc_close(fd);
	hd_finish(d);
}
END_TEST

START_TEST(test_rules_change_on_reload)
{
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo }\n", NULL);
	int port = hd_port(d, "echo");

	expect_allowed(d, "127.0.0.2", "127.0.0.1");
	hd_rewrite_config(d, "service echo { listen 127.0.0.1:0; "
	    "handler echo; deny 127.0.0.2 }\n");
	hd_mark(d);
	ck_assert_int_eq(hd_signal(d, SIGHUP), 0);
	HD_EXPECT_LOG(d, "configuration reloaded", 5000);
	ck_assert_int_eq(hd_port(d, "echo"), port);
	expect_refused(d, "127.0.0.2", "127.0.0.1", ": deny 127.0.0.2");
	expect_allowed(d, "127.0.0.1", "127.0.0.1");
	hd_finish(d);
}
END_TEST

static Suite *
access_suite(void)
{
	Suite *s = suite_create("integration_access");
	TCase *tc = harness_tcase("acl");

	tcase_add_loop_test(tc, test_allow_and_deny, 0, 2);
	tcase_add_test(tc, test_allow_list_refuses_the_rest);
	tcase_add_test(tc, test_defaults_rules_and_their_override);
	tcase_add_test(tc, test_rules_change_on_reload);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	harness_init();
	return harness_run_suite(access_suite());
}
