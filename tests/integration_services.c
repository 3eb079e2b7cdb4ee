/*
 * integration_services.c -- the six built-in services, byte for byte, as an
 * ordinary client sees them.  Every service test runs twice through
 * tcase_add_loop_test: _i == 0 with `dispatch inline`, _i == 1 with
 * `dispatch pool`.
 */
#include "harness.h"	/* first: feature macros */

#ifndef _WIN32
#include <sys/socket.h>
#include <arpa/inet.h>
#include <poll.h>
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>



static size_t
first_difference(const unsigned char *a, const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return i;
}

/* --- echo (raw) ------------------------------------------------------------ */

START_TEST(test_echo_all_byte_values)
{
	struct hdaemon *d = hd_start_service("echo", _i, NULL);
	unsigned char out[256], in[256];
	int fd = hc_connect_ok(hd_port(d, "echo"));

	for (int i = 0; i < 256; i++)
		out[i] = (unsigned char)i;
	/* Twice: once in one write, once a byte at a time. */
	ck_assert(hc_send_all(fd, out, sizeof out, 5000));
	ck_assert_uint_eq(hc_read_n(fd, in, sizeof in, 5000), sizeof in);
	ck_assert_msg(memcmp(in, out, sizeof out) == 0,
	    "echo differs at byte %zu", first_difference(in, out, sizeof in));

	memset(in, 0, sizeof in);
	for (int i = 0; i < 256; i++)
		ck_assert(hc_send_all(fd, out + i, 1, 5000));
	ck_assert_uint_eq(hc_read_n(fd, in, sizeof in, 5000), sizeof in);
	ck_assert_msg(memcmp(in, out, sizeof out) == 0,
	    "echo differs at byte %zu", first_difference(in, out, sizeof in));
	ck_assert(hc_silent(fd, 200));

	hc_close(fd);
	hd_finish(d);
}
END_TEST

START_TEST(test_echo_1mib_concurrent)
{
	const size_t n = 1024 * 1024;
	struct hdaemon *d = hd_start_service("echo", _i, NULL);
	unsigned char *out = malloc(n), *in = calloc(1, n);
	int fd = hc_connect_ok(hd_port(d, "echo"));

	ck_assert(out != NULL && in != NULL);
	harness_fill_bytes(out, n, 0x9e3779b9u + (uint32_t)_i);
	/* Send and read at the same time: neither side's buffers can hold
	 * 1 MiB, so a client that sent everything first would deadlock. */
	ck_assert_msg(hc_exchange(fd, out, n, in, n, false, 20000),
	    "1 MiB echo exchange did not complete");
	ck_assert_msg(memcmp(in, out, n) == 0, "echo differs at byte %zu",
	    first_difference(in, out, n));
	ck_assert(hc_silent(fd, 200));

	hc_close(fd);
	free(out);
	free(in);
	hd_finish(d);
}
END_TEST

START_TEST(test_echo_half_close)
{
	const size_t n = 100 * 1024;
	struct hdaemon *d = hd_start_service("echo", _i, NULL);
	unsigned char *out = malloc(n), *in = calloc(1, n);
	int fd = hc_connect_ok(hd_port(d, "echo"));

	ck_assert(out != NULL && in != NULL);
	harness_fill_bytes(out, n, 12345u + (uint32_t)_i);
	/* Data, then shutdown(SHUT_WR): the whole echo still comes back. */
	ck_assert_msg(hc_exchange(fd, out, n, in, n, true, 20000),
	    "echo after half-close did not complete");
	ck_assert_msg(memcmp(in, out, n) == 0, "echo differs at byte %zu",
	    first_difference(in, out, n));
	/* Nothing more to echo: the service closes its side. */
	ck_assert_msg(hc_wait_eof(fd, 5000, NULL),
	    "no EOF after the echo of a half-closed client");

	hc_close(fd);
	free(out);
	free(in);
	hd_finish(d);
}
END_TEST

START_TEST(test_echo_ipv6)
{
	struct hdaemon *d;
	int fd4, fd6, port4, port6;

	if (!harness_have_ipv6())
		HARNESS_SKIP("::1 cannot be bound on this host");
	d = hd_start("io-threads 2\nworkers 2\n"
	    "service echo {\n"
	    "    listen 127.0.0.1:0 [::1]:0\n"
	    "    handler echo\n"
	    "}\n", NULL);
	port4 = hd_port_host(d, "echo", "127.0.0.1");
	port6 = hd_port_host(d, "echo", "[::1]");
	ck_assert_msg(port4 > 0, "no 'service echo listening on 127.0.0.1:' line");
	ck_assert_msg(port6 > 0, "no 'service echo listening on [::1]:' line");

	fd4 = hc_connect_ok(port4);
	fd6 = hc_connect6(port6);
	ck_assert_msg(fd6 >= 0, "connect to [::1]:%d: %s", port6,
	    strerror(errno));
	ck_assert(hc_echo_ok(fd4, "over IPv4\r\n"));
	ck_assert(hc_echo_ok(fd6, "over IPv6\r\n"));

	hc_close(fd4);
	hc_close(fd6);
	hd_finish(d);
}
END_TEST

/* --- echo (framing line) --------------------------------------------------- */

START_TEST(test_echo_line_framing)
{
	static const char rest[] = "ma\ndelta\r\n\nepsilon\n";
	struct hdaemon *d = hd_start_service("echo", _i, "    framing line\n");
	int fd = hc_connect_ok(hd_port(d, "echo"));
	char buf[128];

	/* LF and CRLF lines come back exactly as sent. */
	ck_assert(hc_echo_ok(fd, "alpha\n"));
	ck_assert(hc_echo_ok(fd, "beta\r\n"));
	ck_assert(hc_echo_ok(fd, "two\nlines\r\n"));

	/* A partial line is held until its newline arrives. */
	ck_assert(hc_send_str(fd, "gam"));
	ck_assert_msg(hc_silent(fd, 300), "a partial line was echoed");
	ck_assert(hc_send_str(fd, rest));
	memset(buf, 0, sizeof buf);
	ck_assert_uint_eq(hc_read_n(fd, buf, 3 + sizeof rest - 1, 5000),
	    3 + sizeof rest - 1);
	ck_assert_str_eq(buf, "gamma\ndelta\r\n\nepsilon\n");

	/* Byte by byte, including the line ending. */
	for (const char *p = "zeta\r\n"; *p != '\0'; p++)
		ck_assert(hc_send_all(fd, p, 1, 5000));
	memset(buf, 0, sizeof buf);
	ck_assert_uint_eq(hc_read_n(fd, buf, 6, 5000), 6);
	ck_assert_str_eq(buf, "zeta\r\n");
	ck_assert(hc_silent(fd, 200));

	hc_close(fd);
	hd_finish(d);
}
END_TEST

/* --- discard --------------------------------------------------------------- */

START_TEST(test_discard)
{
	const size_t n = 64 * 1024;
	struct hdaemon *d = hd_start_service("discard", _i, NULL);
	int fd = hc_connect_ok(hd_port(d, "discard"));
	unsigned char *out = malloc(n);

	ck_assert(out != NULL);
	harness_fill_bytes(out, n, 777u);
	ck_assert(hc_send_all(fd, out, n, 10000));
	/* Nothing comes back and the connection stays open. */
	ck_assert_msg(hc_silent(fd, 500), "discard sent data or closed");
	ck_assert(hc_send_str(fd, "more\r\n"));
	ck_assert_msg(hc_silent(fd, 300), "discard sent data or closed");
	ck_assert(hc_send_all(fd, out, n, 10000));
	ck_assert_msg(hc_silent(fd, 300), "discard sent data or closed");

	hc_close(fd);
	free(out);
	hd_finish(d);
}
END_TEST

/* --- chargen --------------------------------------------------------------- */

#define CHARGEN_LINE 74		/* 72 characters + CRLF */

/* Offset of the first byte that is not chargen output from line 0 on, or
 * len if all are right. */
static size_t
chargen_check(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		size_t line = i / CHARGEN_LINE, pos = i % CHARGEN_LINE;
		unsigned char want;

		if (pos < 72)
			want = (unsigned char)(32 + (line + pos) % 95);
		else
			want = pos == 72 ? '\r' : '\n';
		if (buf[i] != want)
			return i;
	}
	return len;
}

START_TEST(test_chargen_first_lines)
{
	static const char want[] =
	    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "[\\]^_`abcdefg\r\n"
	    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "[\\]^_`abcdefgh\r\n"
	    "\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "[\\]^_`abcdefghi\r\n";
	struct hdaemon *d = hd_start_service("chargen", _i, NULL);
	int fd = hc_connect_ok(hd_port(d, "chargen"));
	char buf[sizeof want];

	ck_assert_uint_eq(sizeof want - 1, 3 * CHARGEN_LINE);
	memset(buf, 0, sizeof buf);
	ck_assert_uint_eq(hc_read_n(fd, buf, sizeof want - 1, 5000),
	    sizeof want - 1);
	ck_assert_str_eq(buf, want);

	hc_close(fd);
	hd_finish(d);
}
END_TEST

START_TEST(test_chargen_200k)
{
	const size_t n = 200 * 1024;
	struct hdaemon *d = hd_start_service("chargen", _i, NULL);
	int fd = hc_connect_ok(hd_port(d, "chargen"));
	unsigned char *buf = malloc(n);
	size_t bad;

	ck_assert(buf != NULL);
	/* Input is ignored. */
	ck_assert(hc_send_str(fd, "ignored input\r\n"));
	ck_assert_uint_eq(hc_read_n(fd, buf, n, 20000), n);
	bad = chargen_check(buf, n);
	ck_assert_msg(bad == n, "chargen byte %zu (line %zu, column %zu) is "
	    "0x%02x", bad, bad / CHARGEN_LINE, bad % CHARGEN_LINE,
	    bad < n ? buf[bad] : 0);

	/* Go away in the middle of a line; the daemon must not mind. */
	hc_close(fd);
	free(buf);
	fd = hc_connect_ok(hd_port(d, "chargen"));
	buf = malloc(CHARGEN_LINE);
	ck_assert_uint_eq(hc_read_n(fd, buf, CHARGEN_LINE, 5000),
	    CHARGEN_LINE);
	ck_assert_uint_eq(chargen_check(buf, CHARGEN_LINE), CHARGEN_LINE);
	hc_close(fd);
	free(buf);
	hd_finish(d);
}
END_TEST

/* --- daytime, time --------------------------------------------------------- */

START_TEST(test_daytime)
{
	struct hdaemon *d = hd_start_service("daytime", _i, NULL);
	int fd = hc_connect_ok(hd_port(d, "daytime"));
	char buf[128];
	bool eof, match = false;
	size_t n;
	time_t now;

	memset(buf, 0, sizeof buf);
	n = hc_read_eof(fd, buf, sizeof buf - 1, 5000, &eof);
	now = time(NULL);
	ck_assert_msg(eof, "daytime did not close the connection");
	ck_assert_msg(n == 26, "daytime sent %zu bytes: \"%s\"", n, buf);
	ck_assert_msg(buf[24] == '\r' && buf[25] == '\n',
	    "daytime line does not end in CRLF");
	/* ctime() of now in local time (the daemon inherits our TZ), give
	 * or take ten seconds: asctime's format as the C standard gives it
	 * ("Tue Dec  1 00:29:09 2026"), which msvcrt's ctime does not keep
	 * (it pads the day with a zero). */
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char want[64] = "";

	for (int k = -10; k <= 10 && !match; k++) {
		time_t t = now + k;
		struct tm *tm = localtime(&t);

		snprintf(want, sizeof want, "%.3s %.3s%3d %.2d:%.2d:%.2d %d",
		    days[tm->tm_wday], months[tm->tm_mon], tm->tm_mday,
		    tm->tm_hour, tm->tm_min, tm->tm_sec, 1900 + tm->tm_year);
		match = strncmp(buf, want, 24) == 0;
	}
	ck_assert_msg(match, "daytime \"%.24s\" is not ctime() of now (%s)",
	    buf, want);

	hc_close(fd);
	hd_finish(d);
}
END_TEST

START_TEST(test_time)
{
	struct hdaemon *d = hd_start_service("time", _i, NULL);
	int fd = hc_connect_ok(hd_port(d, "time"));
	unsigned char buf[16];
	uint32_t got, want;
	int32_t diff;
	bool eof;
	size_t n;

	n = hc_read_eof(fd, buf, sizeof buf, 5000, &eof);
	want = (uint32_t)((uint64_t)time(NULL) + 2208988800u);
	ck_assert_msg(eof, "time did not close the connection");
	ck_assert_uint_eq(n, 4);
	got = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	diff = (int32_t)(got - want);
	ck_assert_msg(diff >= -10 && diff <= 10, "time says %u, expected %u "
	    "(seconds since 1900) +- 10", got, want);

	hc_close(fd);
	hd_finish(d);
}
END_TEST

/* --- qotd ------------------------------------------------------------------ */

/* Read one quote: fails unless the daemon closes after < 512 bytes with CRLF
 * line endings.  Returns the quote (malloc'd). */
static char *
read_quote(int port)
{
	int fd = hc_connect_ok(port);
	char *buf = calloc(1, 1024);
	bool eof;
	size_t n;

	ck_assert(buf != NULL);
	n = hc_read_eof(fd, buf, 1023, 5000, &eof);
	hc_close(fd);
	ck_assert_msg(eof, "qotd did not close the connection (got %zu "
	    "bytes)", n);
	ck_assert_msg(n > 0 && n < 512, "qotd sent %zu bytes", n);
	ck_assert_uint_eq(strlen(buf), n);
	ck_assert_msg(n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n',
	    "quote does not end in CRLF: \"%s\"", buf);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(buf[i] != '\n' || (i > 0 && buf[i - 1] == '\r'),
		    "bare LF at byte %zu of quote \"%s\"", i, buf);
	return buf;
}

static void
qotd_from_file(int mode, const char *file_text, const char *const *want,
    int nwant)
{
	char *qpath = harness_write_temp("quotes", file_text);
	char *extra = harness_fmt("    quote-file \"%s\"\n", qpath);
	struct hdaemon *d = hd_start_service("qotd", mode, extra);
	int port = hd_port(d, "qotd"), seen = 0;

	for (int round = 0; round < 30; round++) {
		char *q = read_quote(port);
		int i;

		for (i = 0; i < nwant; i++)
			if (strcmp(q, want[i]) == 0)
				break;
		ck_assert_msg(i < nwant, "quote \"%s\" is not one of the "
		    "file's", q);
		seen |= 1 << i;
		free(q);
	}
	/* Random: 30 draws from 3 quotes all alike has odds 3^-29. */
	ck_assert_msg(__builtin_popcount((unsigned)seen) >= 2,
	    "30 quotes were all the same one");

	hd_finish(d);
	unlink(qpath);
	free(qpath);
	free(extra);
}

START_TEST(test_qotd_fortune_file)
{
	static const char *const want[] = {
		"The first quote,\r\non two lines.\r\n",
		"Second quote.\r\n",
		"Third:\ta \"quoted\" word.\r\n",
	};

	qotd_from_file(_i,
	    "The first quote,\n"
	    "on two lines.\n"
	    "%\n"
	    "Second quote.\n"
	    "%\n"
	    "Third:\ta \"quoted\" word.\n", want, 3);
}
END_TEST

START_TEST(test_qotd_line_file)
{
	static const char *const want[] = {
		"One line quote.\r\n",
		"Another one.\r\n",
		"A third, after a blank line.\r\n",
	};

	qotd_from_file(_i,
	    "One line quote.\n"
	    "Another one.\n"
	    "\n"
	    "A third, after a blank line.\n", want, 3);
}
END_TEST

START_TEST(test_qotd_builtin)
{
	struct hdaemon *d = hd_start_service("qotd", _i, NULL);
	int port = hd_port(d, "qotd");

	for (int round = 0; round < 10; round++)
		free(read_quote(port));
	hd_finish(d);
}
END_TEST

/* --- many clients at once -------------------------------------------------- */

#define NCLIENTS	200
#define NROUNDS		5

struct client {
	int	fd;
	int	round;
	size_t	len, got;
	char	msg[160];
	char	in[160];
};

static void
client_next(struct client *c, int id)
{
	int n = snprintf(c->msg, sizeof c->msg, "client %03d round %d "
	    "%.*s\r\n", id, c->round, 40 + (id * 7 + c->round) % 60,
	    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz");

	c->len = (size_t)n;
	c->got = 0;
	ck_assert_msg(hc_send_all(c->fd, c->msg, c->len, 5000),
	    "client %d: send failed: %s", id, strerror(errno));
}

/*
 * 200 echo clients connected at once, each doing NROUNDS round trips, all
 * driven by one poll loop.  _i: 0/1 = io-threads 2 inline/pool,
 * 2/3 = io-threads 0 inline/pool.
 */
START_TEST(test_many_echo_clients)
{
	static struct client cl[NCLIENTS];
	struct pollfd pfd[NCLIENTS];
	int io_threads = _i < 2 ? 2 : 0, mode = _i % 2, done = 0, port;
	long long deadline;
	struct hdaemon *d;
	char *cfg;

	/* All from one address, more than the default max-per-source. */
	cfg = harness_fmt("io-threads %d\nworkers 2\n"
	    "service echo {\n"
	    "    listen 127.0.0.1:0\n"
	    "    handler echo\n"
	    "    dispatch %s\n"
	    "    max-per-source 0\n"
	    "}\n", io_threads, harness_dispatch_name[mode]);
	d = hd_start(cfg, NULL);
	free(cfg);
	port = hd_port(d, "echo");

	for (int i = 0; i < NCLIENTS; i++) {
		memset(&cl[i], 0, sizeof cl[i]);
		cl[i].fd = hc_connect(port);
		ck_assert_msg(cl[i].fd >= 0, "client %d: connect: %s", i,
		    strerror(errno));
	}
	for (int i = 0; i < NCLIENTS; i++)
		client_next(&cl[i], i);

	deadline = harness_now_ms() + 20000;
	while (done < NCLIENTS) {
		int n = 0, r;
		long long left = deadline - harness_now_ms();

		ck_assert_msg(left > 0, "only %d of %d clients finished %d "
		    "round trips in 20 s", done, NCLIENTS, NROUNDS);
		for (int i = 0; i < NCLIENTS; i++) {
			pfd[i].fd = cl[i].round < NROUNDS ? cl[i].fd : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		r = hc_poll(pfd, NCLIENTS, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		ck_assert_int_ge(r, 0);
		for (int i = 0; i < NCLIENTS && n < r; i++) {
			struct client *c = &cl[i];
			ssize_t got;

			if (pfd[i].revents == 0)
				continue;
			n++;
			got = hc_recv(c->fd, c->in + c->got, c->len - c->got);
			if (got == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			ck_assert_msg(got > 0, "client %d round %d: %s", i,
			    c->round, got == 0 ? "connection closed" :
			    strerror(errno));
			c->got += (size_t)got;
			if (c->got < c->len)
				continue;
			ck_assert_msg(memcmp(c->in, c->msg, c->len) == 0,
			    "client %d round %d: got \"%.*s\", sent \"%.*s\"",
			    i, c->round, (int)c->len, c->in, (int)c->len,
			    c->msg);
			if (++c->round == NROUNDS)
				done++;
			else
				client_next(c, i);
		}
	}
	/* No client got anything extra. */
	for (int i = 0; i < NCLIENTS; i++)
		ck_assert_msg(hc_silent(cl[i].fd, i == 0 ? 200 : 0),
		    "client %d got unexpected data", i);
	for (int i = 0; i < NCLIENTS; i++)
		hc_close(cl[i].fd);
	hd_finish(d);
}
END_TEST

static Suite *
services_suite(void)
{
	Suite *s = suite_create("integration_services");
	TCase *tc;

	tc = harness_tcase("echo");
	tcase_add_loop_test(tc, test_echo_all_byte_values, 0, 2);
	tcase_add_loop_test(tc, test_echo_1mib_concurrent, 0, 2);
	tcase_add_loop_test(tc, test_echo_half_close, 0, 2);
	tcase_add_loop_test(tc, test_echo_line_framing, 0, 2);
	tcase_add_test(tc, test_echo_ipv6);
	suite_add_tcase(s, tc);

	tc = harness_tcase("discard");
	tcase_add_loop_test(tc, test_discard, 0, 2);
	suite_add_tcase(s, tc);

	tc = harness_tcase("chargen");
	tcase_add_loop_test(tc, test_chargen_first_lines, 0, 2);
	tcase_add_loop_test(tc, test_chargen_200k, 0, 2);
	suite_add_tcase(s, tc);

	tc = harness_tcase("daytime_time");
	tcase_add_loop_test(tc, test_daytime, 0, 2);
	tcase_add_loop_test(tc, test_time, 0, 2);
	suite_add_tcase(s, tc);

	tc = harness_tcase("qotd");
	tcase_add_loop_test(tc, test_qotd_fortune_file, 0, 2);
	tcase_add_loop_test(tc, test_qotd_line_file, 0, 2);
	tcase_add_loop_test(tc, test_qotd_builtin, 0, 2);
	suite_add_tcase(s, tc);

	tc = harness_tcase("many_clients");
	tcase_add_loop_test(tc, test_many_echo_clients, 0, 4);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	harness_init();
	return harness_run_suite(services_suite());
}
