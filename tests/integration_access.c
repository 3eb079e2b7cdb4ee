/*
 * Admission control against the real daemon: allow/deny rules with IPv4
 * and IPv6 clients (127.0.0.1, 127.0.0.2 and ::1 are distinct sources),
 * and the limits: per source, per service, global, and connection rates,
 * hit and recovered.
 */
#include "harness.h"	/* first: feature macros */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/wait.h>
#endif
#include <unistd.h>

#include "check-run.h"

/* On Windows (under wine) what needs a signal or fork() is left out: no
 * signal reaches harbord from the harness there (see harness.h). */
#define HAPROXY	"/usr/sbin/haproxy"

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
	ck_assert_int_eq(hd_reload(d), 0);
	HD_EXPECT_LOG(d, "configuration reloaded", 5000);
	ck_assert_int_eq(hd_port(d, "echo"), port);
	expect_refused(d, "127.0.0.2", "127.0.0.1", ": deny 127.0.0.2");
	expect_allowed(d, "127.0.0.1", "127.0.0.1");
	hd_finish(d);
}
END_TEST

/* A client from src that gets in and stays: returns its fd. */
static int
hold_open(struct hdaemon *d, const char *src, const char *service)
{
	int fd = hc_connect_from(src, "127.0.0.1", hd_port(d, service), 5000);

	ck_assert_msg(fd >= 0, "connect from %s: %s", src, strerror(errno));
	HD_ASSERT(d, hc_echo_ok(fd, "hold\n"), "%s was not served", src);
	return fd;
}

static void
expect_closed_from(struct hdaemon *d, const char *src, const char *service,
    const char *why)
{
	int fd = hc_connect_from(src, "127.0.0.1", hd_port(d, service), 5000);

	ck_assert_msg(fd >= 0, "connect from %s: %s", src, strerror(errno));
	ck_assert_msg(hc_wait_eof(fd, 5000, NULL), "%s was not refused", src);
	hc_close(fd);
	HD_EXPECT_LOG(d, why, 5000);
}

START_TEST(test_max_per_source)
{
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo; "
	    "max-per-source 2 }\n", NULL);
	int a = hold_open(d, "127.0.0.1", "echo");
	int b = hold_open(d, "127.0.0.1", "echo");
	int c;

	hd_mark(d);
	expect_closed_from(d, "127.0.0.1", "echo",
	    "refused 127.0.0.1:");
	HD_EXPECT_LOG(d, ": max-per-source 2 reached", 1000);
	/* Another source is another count. */
	c = hold_open(d, "127.0.0.2", "echo");
	/* The slot comes back when a connection ends. */
	hc_close(a);
	HD_EXPECT_LOG(d, "closed 127.0.0.1:", 5000);
	a = hold_open(d, "127.0.0.1", "echo");
	hc_close(a);
	hc_close(b);
	hc_close(c);
	hd_finish(d);
}
END_TEST

/* Unless set, max-per-source is an eighth of max-connections: one
 * address cannot take all of a service. */
START_TEST(test_default_per_source)
{
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo; "
	    "max-connections 16 }\n", NULL);
	int a = hold_open(d, "127.0.0.1", "echo");
	int b = hold_open(d, "127.0.0.1", "echo");
	int c;

	expect_closed_from(d, "127.0.0.1", "echo", ": max-per-source 2 reached");
	c = hold_open(d, "127.0.0.2", "echo");
	hc_close(a);
	hc_close(b);
	hc_close(c);
	hd_finish(d);
}
END_TEST

START_TEST(test_rate_throttles_and_recovers)
{
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo; rate 2 2 }\n"
	    "service other { listen 127.0.0.1:0; handler echo }\n", NULL);
	int fd, refused = 0, i;

	/* A burst of 2, then refusals for the moment... */
	for (i = 0; i < 6; i++) {
		fd = hc_connect_ok(hd_port(d, "echo"));
		if (!hc_echo_ok(fd, "x\n"))
			refused++;
		hc_close(fd);
	}
	ck_assert_msg(refused >= 3, "only %d of 6 quick clients refused",
	    refused);
	HD_EXPECT_LOG(d, ": rate 2.000/s (burst 2) exceeded", 2000);
	/* ...while other services are untouched... */
	fd = hc_connect_ok(hd_port(d, "other"));
	HD_ASSERT(d, hc_echo_ok(fd, "other\n"), "another service suffered");
	hc_close(fd);
	/* ...and the service comes back by itself. */
	harness_sleep_ms(1200);
	fd = hc_connect_ok(hd_port(d, "echo"));
	HD_ASSERT(d, hc_echo_ok(fd, "back\n"), "the service did not recover "
	    "after the rate limit");
	hc_close(fd);
	hd_finish(d);
}
END_TEST

START_TEST(test_rate_per_source)
{
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo; "
	    "rate-per-source 1 1 }\n", NULL);
	int fd = hold_open(d, "127.0.0.1", "echo");

	hc_close(fd);
	expect_closed_from(d, "127.0.0.1", "echo",
	    ": rate-per-source 1.000/s (burst 1) exceeded");
	/* Another source has its own bucket. */
	fd = hold_open(d, "127.0.0.2", "echo");
	hc_close(fd);
	harness_sleep_ms(1100);
	fd = hold_open(d, "127.0.0.1", "echo");
	hc_close(fd);
	hd_finish(d);
}
END_TEST

START_TEST(test_global_max_connections)
{
	struct hdaemon *d = hd_start(
	    "max-connections 2\n"
	    "service a { listen 127.0.0.1:0; handler echo }\n"
	    "service b { listen 127.0.0.1:0; handler echo }\n", NULL);
	int x = hold_open(d, "127.0.0.1", "a");
	int y = hold_open(d, "127.0.0.1", "b");

	expect_closed_from(d, "127.0.0.1", "b",
	    "service b: refused 127.0.0.1:");
	HD_EXPECT_LOG(d, ": global max-connections 2 reached", 1000);
	hc_close(x);
	HD_EXPECT_LOG(d, "service a: closed", 5000);
	x = hold_open(d, "127.0.0.1", "b");
	hc_close(x);
	hc_close(y);
	hd_finish(d);
}
END_TEST

/* Every I/O loop accepts, and admits at once with the others: clients
 * queued together, taken by four loops racing each other, get the
 * server's places one each and never more than there are. */
START_TEST(test_global_max_across_loops)
{
	enum { CLIENTS = 48, PLACES = 6 };
	struct hdaemon *d = hd_start(
	    "io-threads 4\n"
	    "max-connections 6\n"
	    "service echo { listen 127.0.0.1:0; handler echo; "
	    "max-per-source 0 }\n", NULL);
	int fd[CLIENTS], i, served = 0, port = hd_port(d, "echo");
	char buf[8];

	/* Connected by the kernel, all in the listen queue before harbord
	 * accepts the first. */
	for (i = 0; i < CLIENTS; i++) {
		fd[i] = hc_connect(port);
		ck_assert_msg(fd[i] >= 0, "connect %d: %s", i, strerror(errno));
	}
	for (i = 0; i < CLIENTS; i++)
		(void)hc_send_str(fd[i], "in?\n");
	for (i = 0; i < CLIENTS; i++)
		if (hc_read_n(fd[i], buf, 4, 5000) == 4 &&
		    memcmp(buf, "in?\n", 4) == 0)
			served++;
	HD_ASSERT(d, served == PLACES, "%d clients served with %d places",
	    served, PLACES);
	HD_EXPECT_LOG(d, ": global max-connections 6 reached", 1000);
	for (i = 0; i < CLIENTS; i++)
		hc_close(fd[i]);
	hd_finish(d);
}
END_TEST

/* Tokens go only to clients that are let in: nine clients refused per
 * source leave the service's bucket to a client from elsewhere.  The
 * rates are slow enough that no token comes back during the test. */
START_TEST(test_refused_clients_spend_no_service_token)
{
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo; "
	    "rate 0.1 10; rate-per-source 0.1 1 }\n", NULL);
	int fd, i;

	hc_close(hold_open(d, "127.0.0.1", "echo"));
	for (i = 0; i < 9; i++)
		expect_closed_from(d, "127.0.0.1", "echo",
		    ": rate-per-source 0.100/s (burst 1) exceeded");
	HD_ASSERT(d, hd_count_log(d, "rate 0.100/s (burst 10) exceeded") == 0,
	    "a per-source refusal spent the service's tokens");
	fd = hold_open(d, "127.0.0.2", "echo");
	hc_close(fd);
	hd_finish(d);
}
END_TEST

/* The sum of the "N similar messages suppressed" lines for kind. */
static int
suppressed_count(struct hdaemon *d, const char *kind)
{
	char	*log = hd_log(d), *p = log, *hit, *suffix;
	int	 total = 0;

	suffix = harness_fmt(" similar messages suppressed (%s)", kind);
	while ((hit = strstr(p, suffix)) != NULL) {
		char *start = hit;

		while (start > log && start[-1] != ' ')
			start--;
		total += atoi(start);
		p = hit + 1;
	}
	free(suffix);
	free(log);
	return total;
}

/* A flood of refused clients costs a few log lines a second, and none is
 * lost: what is held back is counted. */
START_TEST(test_refusals_log_limited)
{
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo; "
	    "max-per-source 1; log-rate 1 3 }\n", NULL);
	int a = hold_open(d, "127.0.0.1", "echo"), fd, i, logged, held = 0;
	long long t0 = harness_now_ms(), took, deadline;

	for (i = 0; i < 40; i++) {
		fd = hc_connect_ok(hd_port(d, "echo"));
		ck_assert(hc_wait_eof(fd, 5000, NULL));
		hc_close(fd);
	}
	took = harness_now_ms() - t0;
	/* The held-back count comes a second after the first held back. */
	deadline = harness_now_ms() + 5000;
	do {
		logged = hd_count_log(d, ": max-per-source 1 reached");
		held = suppressed_count(d, "refused: max-per-source");
		if (logged + held == 40)
			break;
		harness_sleep_ms(50);
	} while (harness_now_ms() < deadline);
	HD_ASSERT(d, logged + held == 40, "%d refusals logged and %d counted "
	    "as suppressed, of 40", logged, held);
	HD_ASSERT(d, logged <= 3 + took / 1000 + 1, "%d refusals logged in "
	    "%lld ms with log-rate 1 3", logged, took);
	hc_close(a);
	hd_finish(d);
}
END_TEST

START_TEST(test_counts_survive_reload)
{
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo; "
	    "max-connections 2; max-per-source 0 }\n", NULL);
	int a = hold_open(d, "127.0.0.1", "echo");
	int b = hold_open(d, "127.0.0.1", "echo");

	/* The two open connections still count after a reload. */
	hd_rewrite_config(d, "service echo { listen 127.0.0.1:0; "
	    "handler echo; max-connections 3; max-per-source 0 }\n");
	hd_mark(d);
	ck_assert_int_eq(hd_reload(d), 0);
	HD_EXPECT_LOG(d, "configuration reloaded", 5000);
	hc_close(hold_open(d, "127.0.0.1", "echo"));
	HD_EXPECT_LOG(d, "closed 127.0.0.1", 5000);
	{
		int c = hold_open(d, "127.0.0.1", "echo");

		expect_closed_from(d, "127.0.0.1", "echo",
		    ": max-connections 3 reached");
		hc_close(c);
	}
	hc_close(a);
	hc_close(b);
	hd_finish(d);
}
END_TEST

/* --- PROXY protocol ---------------------------------------------------- */

static const char proxied_cfg[] =
    "service echo {\n"
    "    listen 127.0.0.1:0\n"
    "    handler echo\n"
    "    dispatch %s\n"
    "    proxy-protocol any\n"
    "    trusted-proxies %s\n"
    "    proxy-header-timeout 1s\n"
    "    deny 198.51.100.0/24\n"
    "}\n";

static struct hdaemon *
start_proxied(int mode, const char *trusted)
{
	char *cfg = harness_fmt(proxied_cfg, harness_dispatch_name[mode],
	    trusted);
	struct hdaemon *d = hd_start(cfg, NULL);

	free(cfg);
	return d;
}

static const unsigned char v2_tcp4[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
	0x21, 0x11, 0x00, 0x0c,
	192, 0, 2, 77,  203, 0, 113, 9,  0x1f, 0x90,  0x00, 0x07
};

START_TEST(test_proxy_headers)
{
	struct hdaemon *d = start_proxied(_i, "127.0.0.0/8");
	int fd;

	/* v1, with client data in the same packet as the header. */
	fd = hc_connect_ok(hd_port(d, "echo"));
	ck_assert(hc_send_str(fd, "PROXY TCP4 192.0.2.1 203.0.113.9 51234 7"
	    "\r\nhello\n"));
	{
		char buf[6];

		ck_assert_uint_eq(hc_read_n(fd, buf, 6, 5000), 6);
		ck_assert(memcmp(buf, "hello\n", 6) == 0);
	}
	HD_ASSERT(d, hc_echo_ok(fd, "more\n"), "no echo after a v1 header");
	hc_close(fd);
	HD_EXPECT_LOG(d, "is 192.0.2.1:51234 via proxy 127.0.0.1:", 5000);
	HD_EXPECT_LOG(d, "(PROXY v1)", 1000);
	HD_EXPECT_LOG(d, "closed 192.0.2.1:51234 (conn", 5000);

	/* v2, binary. */
	fd = hc_connect_ok(hd_port(d, "echo"));
	ck_assert(hc_send_all(fd, v2_tcp4, sizeof v2_tcp4, 5000));
	HD_ASSERT(d, hc_echo_ok(fd, "binary header\n"), "no echo after a v2 "
	    "header");
	hc_close(fd);
	HD_EXPECT_LOG(d, "is 192.0.2.77:8080 via proxy 127.0.0.1:", 5000);
	HD_EXPECT_LOG(d, "(PROXY v2)", 1000);
	hd_finish(d);
}
END_TEST

START_TEST(test_proxy_refusals)
{
	struct hdaemon *d = start_proxied(_i, "127.0.0.1");
	int fd;

	/* allow/deny judge the client the header names. */
	fd = hc_connect_ok(hd_port(d, "echo"));
	ck_assert(hc_send_str(fd, "PROXY TCP4 198.51.100.7 203.0.113.9 4000 7"
	    "\r\nhi\n"));
	ck_assert_msg(hc_wait_eof(fd, 5000, NULL), "a denied client behind "
	    "the proxy was served");
	hc_close(fd);
	HD_EXPECT_LOG(d, "refused 198.51.100.7:4000 via proxy 127.0.0.1:",
	    5000);
	HD_EXPECT_LOG(d, ": deny 198.51.100.0/24", 1000);

	/* A proxy not trusted is refused before anything is read. */
	fd = hc_connect_from("127.0.0.2", "127.0.0.1", hd_port(d, "echo"),
	    5000);
	ck_assert(fd >= 0);
	ck_assert(hc_wait_eof(fd, 5000, NULL));
	hc_close(fd);
	HD_EXPECT_LOG(d, "refused 127.0.0.2:", 5000);
	HD_EXPECT_LOG(d, ": not a trusted proxy (trusted-proxies)", 1000);

	/* A malformed header, and none at all, close the connection. */
	fd = hc_connect_ok(hd_port(d, "echo"));
	ck_assert(hc_send_str(fd, "GET / HTTP/1.0\r\n\r\n"));
	ck_assert(hc_wait_eof(fd, 5000, NULL));
	hc_close(fd);
	HD_EXPECT_LOG(d, ": bad PROXY header: neither a v1 nor a v2 header",
	    5000);
	fd = hc_connect_ok(hd_port(d, "echo"));
	ck_assert_msg(hc_wait_eof(fd, 5000, NULL), "a connection that sent no "
	    "header was kept past proxy-header-timeout 1s");
	hc_close(fd);
	HD_EXPECT_LOG(d, ": no PROXY header in 1000 ms", 5000);
	HD_EXPECT_LOG(d, "no PROXY header in time;", 5000);
	hd_finish(d);
}
END_TEST

/* Connections waiting for their header hold places: the service's
 * max-connections is not passed while they wait, and the header's client
 * is not counted twice. */
START_TEST(test_header_stage_counts)
{
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo; "
	    "proxy-protocol v1; trusted-proxies 127.0.0.1; "
	    "proxy-header-timeout 30s; max-connections 2 }\n", NULL);
	int a, b, c;

	a = hc_connect_ok(hd_port(d, "echo"));
	b = hc_connect_ok(hd_port(d, "echo"));
	HD_EXPECT_LOG(d, "accepted 127.0.0.1", 5000);
	ck_assert(hd_wait_count(d, "accepted 127.0.0.1", 2, 5000));
	c = hc_connect_ok(hd_port(d, "echo"));
	ck_assert_msg(hc_wait_eof(c, 5000, NULL), "a third connection was "
	    "kept while two waited for their headers (max-connections 2)");
	hc_close(c);
	HD_EXPECT_LOG(d, "refused 127.0.0.1:", 5000);
	HD_EXPECT_LOG(d, ": max-connections 2 reached", 1000);
	ck_assert(hc_send_str(a, "PROXY TCP4 192.0.2.1 203.0.113.9 4000 7\r\n"));
	HD_ASSERT(d, hc_echo_ok(a, "counted once\n"), "no echo after the "
	    "header");
	hc_close(b);
	HD_EXPECT_LOG(d, "closed 127.0.0.1:", 5000);
	/* b's place is back, and a holds only one. */
	b = hc_connect_ok(hd_port(d, "echo"));
	ck_assert(hc_send_str(b, "PROXY TCP4 192.0.2.2 203.0.113.9 4000 7\r\n"));
	HD_ASSERT(d, hc_echo_ok(b, "second\n"), "a place was not given back");
	hc_close(a);
	hc_close(b);
	hd_finish(d);
}
END_TEST

/* The header's deadline runs from accept: a proxy address that sends a
 * byte now and then cannot stretch it. */
START_TEST(test_header_deadline_is_absolute)
{
	static const char header[] = "PROXY TCP4 192.0.2.1 203.0.113.9 4000 7\r\n";
	struct hdaemon *d = hd_start(
	    "service echo { listen 127.0.0.1:0; handler echo; "
	    "proxy-protocol v1; trusted-proxies 127.0.0.1; "
	    "proxy-header-timeout 1s }\n", NULL);
	int fd = hc_connect_ok(hd_port(d, "echo"));
	long long start = harness_now_ms(), took;
	size_t i;
	bool closed = false;

	for (i = 0; i + 1 < sizeof header - 1 && !closed; i++) {
		if (hc_send(fd, header + i, 1) != 1)
			break;
		closed = !hc_silent(fd, 250);
	}
	took = harness_now_ms() - start;
	ck_assert_msg(closed || hc_wait_eof(fd, 5000, NULL), "the header "
	    "stage lasted %lld ms with a byte every 250 ms", took);
	took = harness_now_ms() - start;
	HD_ASSERT(d, took < 2500, "closed after %lld ms against "
	    "proxy-header-timeout 1s", took);
	hc_close(fd);
	HD_EXPECT_LOG(d, ": no PROXY header in 1000 ms", 5000);
	hd_finish(d);
}
END_TEST

#ifndef _WIN32
/* HAProxy in front of harbord, sending the header version given. */
static pid_t
start_haproxy(const char *send_proxy, int backend_port, int *front_port)
{
	char *cfg, *path;
	int probe, fd;
	long long deadline;
	pid_t pid;

	probe = harness_listen_ip("127.0.0.1", 0, front_port);
	ck_assert(probe >= 0);
	close(probe);
	cfg = harness_fmt(
	    "global\n"
	    "    maxconn 100\n"
	    "defaults\n"
	    "    mode tcp\n"
	    "    timeout connect 5s\n"
	    "    timeout client 30s\n"
	    "    timeout server 30s\n"
	    "frontend front\n"
	    "    bind 127.0.0.1:%d\n"
	    "    default_backend harbord\n"
	    "backend harbord\n"
	    "    server h 127.0.0.1:%d %s\n", *front_port, backend_port,
	    send_proxy);
	path = harness_write_temp("haproxy.cfg", cfg);
	free(cfg);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		execl(HAPROXY, "haproxy", "-db", "-f", path, (char *)NULL);
		_exit(127);
	}
	free(path);
	harness_register_pid(pid);
	deadline = harness_now_ms() + 10000;
	while ((fd = hc_connect_ip("127.0.0.1", *front_port, 1000)) < 0) {
		ck_assert_msg(harness_now_ms() < deadline, "haproxy did not "
		    "start listening");
		harness_sleep_ms(50);
	}
	close(fd);
	return pid;
}

START_TEST(test_behind_haproxy)
{
	const char *send = _i == 0 ? "send-proxy" : "send-proxy-v2";
	struct hdaemon *d;
	int front, fd;
	pid_t hp;
	char *want;

	if (access(HAPROXY, X_OK) != 0) {
		fprintf(stderr, "SKIP test_behind_haproxy: %s not installed "
		    "(Debian package haproxy)\n", HAPROXY);
		return;
	}
	d = start_proxied(0, "127.0.0.1");
	hd_mark(d);
	hp = start_haproxy(send, hd_port(d, "echo"), &front);
	fd = hc_connect_ok(front);
	HD_ASSERT(d, hc_echo_ok(fd, "through haproxy\n"), "no echo through "
	    "haproxy (%s)", send);
	/* harbord knows the real client: this very socket. */
	want = harness_fmt("is 127.0.0.1:%d via proxy 127.0.0.1:",
	    hc_local_port(fd));
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	HD_EXPECT_LOG(d, _i == 0 ? "(PROXY v1)" : "(PROXY v2)", 1000);
	hc_close(fd);
	kill(hp, SIGTERM);
	waitpid(hp, NULL, 0);
	hd_finish(d);
}
END_TEST
#endif

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

	tc = harness_tcase("limits");
	tcase_add_test(tc, test_max_per_source);
	tcase_add_test(tc, test_default_per_source);
	tcase_add_test(tc, test_rate_throttles_and_recovers);
	tcase_add_test(tc, test_rate_per_source);
	tcase_add_test(tc, test_global_max_connections);
	tcase_add_test(tc, test_global_max_across_loops);
	tcase_add_test(tc, test_refused_clients_spend_no_service_token);
	tcase_add_test(tc, test_refusals_log_limited);
	tcase_add_test(tc, test_counts_survive_reload);
	suite_add_tcase(s, tc);

	tc = harness_tcase("proxy");
	tcase_add_loop_test(tc, test_proxy_headers, 0, 2);
	tcase_add_loop_test(tc, test_proxy_refusals, 0, 2);
	tcase_add_test(tc, test_header_stage_counts);
	tcase_add_test(tc, test_header_deadline_is_absolute);
#ifdef _WIN32
	check_skip("test_behind_haproxy", "HAProxy is started with fork() "
	    "and is no Windows program");
#else
	tcase_add_loop_test(tc, test_behind_haproxy, 0, 2);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	harness_init();
	return harness_run_suite(access_suite());
}
