/*
 * integration_badinput.c -- nothing lost, nothing unbounded on bad input:
 * over-long lines, binary garbage, idle clients, clients that never read,
 * connection limits, fd exhaustion and connect/close floods.
 */
#include "harness.h"	/* first: feature macros */

#ifndef _WIN32
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#endif

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check-run.h"



/* The daemon closes fd (EOF or reset) within timeout_ms; any data sent
 * before that is discarded. */
static void
expect_closed(int fd, int timeout_ms, const char *what)
{
	ck_assert_msg(hc_wait_eof(fd, timeout_ms, NULL), "%s: connection not "
	    "closed within %d ms", what, timeout_ms);
}

/* --- over-long lines ------------------------------------------------------- */

START_TEST(test_line_too_long)
{
	struct hdaemon *d = hd_start_service("echo", _i, "    framing line\n"
	    "    max-line 16\n");
	int port = hd_port(d, "echo"), a, b, c, e, lport;
	char big[100], *want;

	a = hc_connect_ok(port);
	/* 16 bytes, ending excluded: fits, with LF or CRLF. */
	ck_assert(hc_echo_ok(a, "sixteen-bytes-ok\n"));
	ck_assert(hc_echo_ok(a, "sixteen-bytes-ok\r\n"));

	/* 17 bytes: closed, logged with the limit. */
	b = hc_connect_ok(port);
	lport = hc_local_port(b);
	hd_mark(d);
	ck_assert(hc_send_str(b, "seventeen-bytes-x\n"));
	expect_closed(b, 5000, "17-byte line");
	want = harness_fmt("service echo: closed 127.0.0.1:%d (conn ", lport);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	HD_EXPECT_LOG(d, "): line too long (max-line 16); ", 1000);
	hc_close(b);

	/* A long line with no newline at all is not buffered forever. */
	c = hc_connect_ok(port);
	memset(big, 'L', sizeof big);
	ck_assert(hc_send_all(c, big, sizeof big, 5000));
	expect_closed(c, 5000, "100 bytes without a newline");
	hc_close(c);

	/* The other client is unaffected, and new ones are served. */
	ck_assert(hc_echo_ok(a, "still here\n"));
	e = hc_connect_ok(port);
	ck_assert(hc_echo_ok(e, "newcomer\r\n"));
	hc_close(e);
	hc_close(a);
	hd_finish(d);
}
END_TEST

/* --- binary garbage -------------------------------------------------------- */

START_TEST(test_garbage_raw_echo)
{
	const size_t n = 256 * 1024;
	struct hdaemon *d = hd_start_service("echo", _i, NULL);
	unsigned char *out = malloc(n), *in = malloc(n);
	int fd = hc_connect_ok(hd_port(d, "echo"));

	ck_assert(out != NULL && in != NULL);
	for (int round = 0; round < 3; round++) {
		harness_fill_bytes(out, n, 4242u + (uint32_t)round);
		memset(in, 0, n);
		ck_assert(hc_exchange(fd, out, n, in, n, false, 20000));
		ck_assert_msg(memcmp(in, out, n) == 0, "round %d: garbage "
		    "did not come back intact", round);
	}
	hc_close(fd);
	free(out);
	free(in);
	hd_finish(d);
}
END_TEST

/* Garbage (NULs, bare CRs, high bytes, many LFs) into a line service:
 * complete lines come back byte for byte and the daemon lives on. */
START_TEST(test_garbage_line_echo)
{
	const size_t n = 64 * 1024;
	struct hdaemon *d = hd_start_service("echo", _i, "    framing line\n");
	unsigned char *out = malloc(n), *in = malloc(n);
	int fd = hc_connect_ok(hd_port(d, "echo"));
	size_t gap = 0, maxgap = 0;

	ck_assert(out != NULL && in != NULL);
	harness_fill_bytes(out, n, 31337u);
	out[n - 1] = '\n';
	for (size_t i = 0; i < n; i++) {
		gap = out[i] == '\n' ? 0 : gap + 1;
		if (gap > maxgap)
			maxgap = gap;
	}
	ck_assert_msg(maxgap < 8192, "test data has a %zu-byte line", maxgap);

	ck_assert_msg(hc_exchange(fd, out, n, in, n, false, 20000),
	    "the line echo of binary data did not complete");
	ck_assert_msg(memcmp(in, out, n) == 0,
	    "the line echo changed binary data");
	hc_close(fd);

	fd = hc_connect_ok(hd_port(d, "echo"));
	ck_assert(hc_echo_ok(fd, "plain text after the garbage\n"));
	hc_close(fd);
	free(out);
	free(in);
	hd_finish(d);
}
END_TEST

/* Garbage into a line service whose lines are short: closed, daemon fine. */
START_TEST(test_garbage_line_short_max)
{
	const size_t n = 16 * 1024;
	struct hdaemon *d = hd_start_service("echo", _i, "    framing line\n"
	    "    max-line 16\n");
	unsigned char *out = malloc(n);
	int fd = hc_connect_ok(hd_port(d, "echo"));

	ck_assert(out != NULL);
	harness_fill_bytes(out, n, 99u);
	/* The daemon may close before taking it all. */
	(void)hc_send_all(fd, out, n, 5000);
	expect_closed(fd, 5000, "garbage with max-line 16");
	hc_close(fd);
	ck_assert(hd_running(d));
	fd = hc_connect_ok(hd_port(d, "echo"));
	ck_assert(hc_echo_ok(fd, "short\n"));
	hc_close(fd);
	free(out);
	hd_finish(d);
}
END_TEST

/* --- idle timeout ---------------------------------------------------------- */

START_TEST(test_idle_timeout)
{
	struct hdaemon *d = hd_start_service("echo", _i, "    idle-timeout 1s\n");
	int port = hd_port(d, "echo");
	int idle = hc_connect_ok(port), busy = hc_connect_ok(port);
	int lport = hc_local_port(idle);
	long long t0 = harness_now_ms(), closed_at = -1;
	char *want;

	/* busy talks every 250 ms; idle says nothing. */
	while (harness_now_ms() - t0 < 2500) {
		HD_ASSERT(d, hc_echo_ok(busy, "keepalive\n"), "the busy "
		    "client was disconnected after %lld ms",
		    harness_now_ms() - t0);
		if (closed_at < 0 && hc_wait_eof(idle, 250, NULL))
			closed_at = harness_now_ms() - t0;
		else if (closed_at >= 0)
			harness_sleep_ms(250);
	}
	if (closed_at < 0 && hc_wait_eof(idle, 2500, NULL))
		closed_at = harness_now_ms() - t0;
	ck_assert_msg(closed_at >= 0, "idle client still open after 5 s with "
	    "idle-timeout 1s");
	ck_assert_msg(closed_at >= 800, "idle client closed after only %lld "
	    "ms", closed_at);
	want = harness_fmt("service echo: closed 127.0.0.1:%d (conn ", lport);
	HD_EXPECT_LOG(d, want, 2000);
	free(want);
	HD_EXPECT_LOG(d, "): idle timeout; ", 2000);

	ck_assert(hc_echo_ok(busy, "still busy\n"));
	hc_close(busy);
	hc_close(idle);
	hd_finish(d);
}
END_TEST

/* Many silent clients, each closed on time: within a small tolerance of
 * idle-timeout after it connected, never a second period later.  Three
 * shapes: I/O on the main loop, on two I/O threads, and the handler on
 * the pool. */
#define NIDLE		100
#define IDLE_MS		2000
#define IDLE_LATE_MS	1200	/* well under a second period */

static const char *const idle_shape[] = {
	"io-threads 0\nworkers 1\n",
	"io-threads 2\nworkers 2\n",
	"io-threads 2\nworkers 2\n",
};

START_TEST(test_idle_timeout_on_time)
{
	struct hdaemon *d;
	struct pollfd p[NIDLE];
	long long opened[NIDLE], took[NIDLE], deadline, now;
	char *cfg;
	int i, open_left = NIDLE, port;

	cfg = harness_fmt("%sservice echo { listen 127.0.0.1:0; handler echo; "
	    "dispatch %s; idle-timeout %dms; max-per-source 0 }\n",
	    idle_shape[_i], _i == 2 ? "pool" : "inline", IDLE_MS);
	d = hd_start(cfg, NULL);
	free(cfg);
	port = hd_port(d, "echo");
	for (i = 0; i < NIDLE; i++) {
		opened[i] = harness_now_ms();
		p[i].fd = hc_connect_ok(port);
		p[i].events = POLLIN;
		took[i] = -1;
	}
	deadline = harness_now_ms() + 3 * IDLE_MS + 5000;
	while (open_left > 0 && (now = harness_now_ms()) < deadline) {
		if (hc_poll(p, NIDLE, 100) < 0)
			continue;
		now = harness_now_ms();
		for (i = 0; i < NIDLE; i++) {
			if ((int)p[i].fd < 0 || p[i].revents == 0)
				continue;
			took[i] = now - opened[i];
			hc_close(p[i].fd);
			p[i].fd = -1;	/* polled no more */
			open_left--;
		}
	}
	for (i = 0; i < NIDLE; i++) {
		HD_ASSERT(d, took[i] >= 0, "connection %d still open after "
		    "%lld ms with idle-timeout %d ms", i,
		    harness_now_ms() - opened[i], IDLE_MS);
		HD_ASSERT(d, took[i] >= IDLE_MS - 50 &&
		    took[i] <= IDLE_MS + IDLE_LATE_MS, "connection %d closed "
		    "after %lld ms with idle-timeout %d ms", i, took[i],
		    IDLE_MS);
	}
	HD_ASSERT(d, hd_wait_count(d, "): idle timeout; ", NIDLE, 5000),
	    "not every close was logged as an idle timeout");
	hd_finish(d);
}
END_TEST

/* --- clients that never read ---------------------------------------------- */

#define NSTUCK 8

START_TEST(test_chargen_nonreader_memory)
{
	struct hdaemon *d;
	int stuck[NSTUCK], echo, line;
	long rss0, rss, rss_max;
	double cpu0, cpu;
	long long t0;
	unsigned char *buf;
	size_t n = 100 * 1024;

	if (!harness_have_proc())
		HARNESS_SKIP("no /proc: cannot read the daemon's VmRSS");
	d = hd_start(
	    "io-threads 2\nworkers 2\n"
	    "service chargen { listen 127.0.0.1:0; handler chargen; "
	    "dispatch pool }\n"
	    "service chargen2 { listen 127.0.0.1:0; handler chargen }\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n", NULL);
	echo = hc_connect_ok(hd_port(d, "echo"));
	ck_assert(hc_echo_ok(echo, "warm up\n"));
	harness_sleep_ms(100);
	rss0 = harness_proc_rss_kb(hd_serving_pid(d));
	ck_assert_int_gt(rss0, 0);

	for (int i = 0; i < NSTUCK; i++)
		stuck[i] = hc_connect_ok(hd_port(d, i % 2 ? "chargen" :
		    "chargen2"));
	cpu0 = harness_proc_cpu_s(hd_serving_pid(d));
	rss_max = rss0;
	/* ~2 s of the clients not reading, while echo keeps being served. */
	for (t0 = harness_now_ms(); harness_now_ms() - t0 < 2000;) {
		HD_ASSERT(d, hc_echo_ok(echo, "are you there?\n"), "echo not "
		    "served while chargen clients are stuck");
		rss = harness_proc_rss_kb(hd_serving_pid(d));
		if (rss > rss_max)
			rss_max = rss;
		harness_sleep_ms(100);
	}
	cpu = harness_proc_cpu_s(hd_serving_pid(d)) - cpu0;
	ck_assert_msg(rss_max - rss0 < 16 * 1024, "VmRSS grew from %ld kB to "
	    "%ld kB with %d chargen clients not reading", rss0, rss_max,
	    NSTUCK);
	ck_assert_msg(cpu < 1.0, "harbord used %.2f s of CPU in 2 s with "
	    "stuck chargen clients (busy loop?)", cpu);

	/* Nothing was lost: a stuck client's stream is intact from line 0. */
	buf = malloc(n);
	ck_assert(buf != NULL);
	ck_assert_uint_eq(hc_read_n(stuck[0], buf, n, 10000), n);
	for (size_t i = 0; i < n; i++) {
		size_t pos = i % 74;
		unsigned char want;

		line = (int)(i / 74);
		want = pos < 72 ? (unsigned char)(32 + (line + (int)pos) % 95) :
		    pos == 72 ? '\r' : '\n';
		ck_assert_msg(buf[i] == want, "chargen byte %zu (line %d) "
		    "wrong after backpressure", i, line);
	}
	free(buf);

	for (int i = 0; i < NSTUCK; i++)
		hc_close(stuck[i]);
	hc_close(echo);
	hd_finish(d);
}
END_TEST

/* --- max-connections ------------------------------------------------------- */

START_TEST(test_max_connections)
{
	struct hdaemon *d = hd_start_service("echo", _i, "    max-connections 2\n"
	    "    max-per-source 0\n");
	int port = hd_port(d, "echo"), a, b, c, e, lport;
	size_t got = 0;
	char *want;

	a = hc_connect_ok(port);
	b = hc_connect_ok(port);
	ck_assert(hc_echo_ok(a, "first\n"));
	ck_assert(hc_echo_ok(b, "second\n"));

	/* The third is accepted, logged as refused, and closed at once. */
	hd_mark(d);
	c = hc_connect_ok(port);
	lport = hc_local_port(c);
	ck_assert_msg(hc_wait_eof(c, 3000, &got), "third client not closed");
	ck_assert_msg(got == 0, "third client got %zu bytes", got);
	want = harness_fmt("service echo: refused 127.0.0.1:%d: "
	    "max-connections 2 reached", lport);
	HD_EXPECT_LOG(d, want, 2000);
	free(want);
	hc_close(c);

	ck_assert(hc_echo_ok(a, "first again\n"));
	ck_assert(hc_echo_ok(b, "second again\n"));

	/* One leaves: a new one gets in. */
	lport = hc_local_port(a);
	hd_mark(d);
	hc_close(a);
	want = harness_fmt("service echo: closed 127.0.0.1:%d (conn ", lport);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	e = hc_connect_ok(port);
	HD_ASSERT(d, hc_echo_ok(e, "fourth\n"), "no room after a client left");
	ck_assert(hc_echo_ok(b, "second still\n"));
	hc_close(e);
	hc_close(b);
	hd_finish(d);
}
END_TEST

/* --- fd exhaustion --------------------------------------------------------- */

#define NFLOOD_FDS 60

/* _i 0: one I/O loop; 1: three, each accepting, all paused together. */
START_TEST(test_fd_exhaustion)
{
	struct hd_opts opts = { .nofile = 40 };
	struct hdaemon *d;
	int fds[NFLOOD_FDS], nfds = 0, port, fd;
	char *want;

#ifdef _WIN32
	HARNESS_SKIP("Windows has no descriptor limit (RLIMIT_NOFILE) to "
	    "give the daemon");
#endif
	d = hd_start(_i == 0 ? "io-threads 1\nworkers 1\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n" :
	    "io-threads 3\nworkers 1\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n", &opts);
	port = hd_port(d, "echo");
	hd_mark(d);

	for (int i = 0; i < NFLOOD_FDS; i++) {
		fd = hc_connect_ip("127.0.0.1", port, 2000);
		if (fd == -1)
			break;	/* backlog full: enough */
		fds[nfds++] = fd;
	}
	ck_assert_msg(nfds >= 10, "only %d connections to a daemon limited to "
	    "40 fds", nfds);
	HD_EXPECT_LOG(d, " failed: Too many open files; pausing accept for "
	    "1 s", 5000);

	/* Paused, not spinning. */
	if (!harness_have_proc())
		harness_skip_note(__func__, "no /proc: not measuring CPU time "
		    "while accept is paused");
	else {
		double cpu0 = harness_proc_cpu_s(hd_serving_pid(d)), cpu;

		harness_sleep_ms(2000);
		cpu = harness_proc_cpu_s(hd_serving_pid(d)) - cpu0;
		ck_assert_msg(cpu < 0.5, "harbord used %.2f s of CPU in 2 s "
		    "while out of fds", cpu);
	}
	ck_assert(hd_running(d));
	/* The first client was accepted before the fds ran out. */
	HD_ASSERT(d, hc_echo_ok(fds[0], "first\n"), "an accepted client is "
	    "not served while accept is paused");

	for (int i = 0; i < nfds; i++)
		hc_close(fds[i]);
	hd_mark(d);
	HD_EXPECT_LOG(d, "accepting again", 10000);

	/* Served again. */
	fd = hc_connect_ok(port);
	HD_ASSERT(d, hc_echo_ok(fd, "after the storm\n"), "not served after "
	    "the clients went away");
	hc_close(fd);

	/* The warning names the listening address. */
	hd_set_mark(d, 0);
	want = harness_fmt("accept on 127.0.0.1:%d failed: Too many open "
	    "files; pausing accept for 1 s", port);
	HD_EXPECT_LOG(d, want, 0);
	free(want);
	hd_finish(d);
}
END_TEST

/* --- connect/close flood --------------------------------------------------- */

#ifdef __linux__
/* How many of n connects to port complete while nothing accepts them:
 * Linux queues backlog + 1 and drops the SYNs beyond (the client would
 * retry a second later; these give up sooner). */
static int
connects_queued(int port, int n)
{
	struct sockaddr_in sin;
	struct pollfd p[600];
	long long deadline;
	int i, done = 0, err;
	socklen_t len;

	ck_assert_int_le(n, 600);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	for (i = 0; i < n; i++) {
		p[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ck_assert_int_ge(p[i].fd, 0);
		p[i].events = POLLOUT;
		if (connect(p[i].fd, (struct sockaddr *)&sin, sizeof sin) == 0)
			p[i].events = 0;	/* connected already */
		else
			ck_assert_int_eq(errno, EINPROGRESS);
	}
	deadline = harness_now_ms() + 700;
	while (harness_now_ms() < deadline)
		(void)poll(p, (nfds_t)n, 100);
	(void)poll(p, (nfds_t)n, 0);
	for (i = 0; i < n; i++) {
		len = sizeof err;
		if ((p[i].events == 0 || (p[i].revents & POLLOUT)) &&
		    getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err == 0)
			done++;
		close(p[i].fd);
	}
	return done;
}

/* The queue is the backlog harbord asks for (511 unless set), not the
 * 128 a second listen(2) used to make of it; "backlog" sets it, and a
 * reload changes it on the socket it keeps. */
START_TEST(test_backlog)
{
	struct hdaemon *d;
	int port, n, somaxconn = -1;
	char *text, *want;

	d = hd_start("service echo { listen 127.0.0.1:0; handler echo }\n",
	    NULL);
	port = hd_port(d, "echo");
	ck_assert_int_eq(hd_signal(d, SIGSTOP), 0);
	n = connects_queued(port, 400);
	ck_assert_int_eq(hd_signal(d, SIGCONT), 0);
	HD_ASSERT(d, n == 400, "%d of 400 connects queued with the default "
	    "backlog 511", n);
	hd_finish(d);

	d = hd_start("service echo { listen 127.0.0.1:0; handler echo; "
	    "backlog 16 }\n", NULL);
	port = hd_port(d, "echo");
	ck_assert_int_eq(hd_signal(d, SIGSTOP), 0);
	n = connects_queued(port, 100);
	ck_assert_int_eq(hd_signal(d, SIGCONT), 0);
	HD_ASSERT(d, n >= 16 && n <= 18, "%d connects queued with backlog 16",
	    n);
	/* Every queued client is served once harbord runs again. */
	harness_sleep_ms(500);
	hd_rewrite_config(d, "service echo { listen 127.0.0.1:0; handler echo; "
	    "backlog 40 }\n");
	hd_mark(d);
	ck_assert_int_eq(hd_reload(d), 0);
	HD_EXPECT_LOG(d, "configuration reloaded", 5000);
	port = hd_port(d, "echo");
	ck_assert_int_eq(hd_signal(d, SIGSTOP), 0);
	n = connects_queued(port, 100);
	ck_assert_int_eq(hd_signal(d, SIGCONT), 0);
	HD_ASSERT(d, n >= 40 && n <= 42, "%d connects queued after a reload "
	    "to backlog 40", n);
	hd_finish(d);

	/* Beyond the system's bound: capped, and said. */
	if ((text = harness_read_file("/proc/sys/net/core/somaxconn")) != NULL)
		somaxconn = atoi(text);
	free(text);
	if (somaxconn <= 0 || somaxconn >= 1000000)
		HARNESS_SKIP("net.core.somaxconn unreadable or too large to "
		    "pass");
	d = hd_start("service echo { listen 127.0.0.1:0; handler echo; "
	    "backlog 1000000 }\n", NULL);
	want = harness_fmt("service echo: backlog 1000000 is more than the "
	    "system allows; %d (somaxconn) it is", somaxconn);
	hd_set_mark(d, 0);
	HD_EXPECT_LOG(d, want, 2000);
	free(want);
	hd_finish(d);
}
END_TEST
#endif

START_TEST(test_connect_flood)
{
	struct hdaemon *d = hd_start_service("echo", _i, NULL);
	int port = hd_port(d, "echo"), p, fd, accepted = 0, closed = 0;
	long long deadline;

	p = hc_connect_ok(port);
	ck_assert(hc_echo_ok(p, "persistent\n"));
	for (int i = 0; i < 300; i++) {
		fd = hc_connect_ok(port);
		if (i % 2)
			hc_reset(fd);
		else
			hc_close(fd);
		if (i % 10 == 9)
			HD_ASSERT(d, hc_echo_ok(p, "still fine?\n"),
			    "the persistent client failed after %d "
			    "connect/close cycles", i + 1);
	}
	ck_assert(hc_echo_ok(p, "done\n"));
	fd = hc_connect_ok(port);
	ck_assert(hc_echo_ok(fd, "a newcomer\n"));
	hc_close(fd);

	/* Every connection but the persistent one is closed and logged. */
	deadline = harness_now_ms() + 10000;
	do {
		accepted = hd_count_log(d, "service echo: accepted ");
		closed = hd_count_log(d, "service echo: closed ");
		if (accepted >= 152 && closed == accepted - 1)
			break;
		harness_sleep_ms(50);
	} while (harness_now_ms() < deadline);
	if (closed != accepted - 1)
		hd_dump_log(d, "accepted/closed mismatch");
	ck_assert_msg(accepted >= 152, "only %d accepted lines", accepted);
	ck_assert_msg(closed == accepted - 1, "%d accepted, %d closed (one "
	    "should be open)", accepted, closed);
	ck_assert(hc_echo_ok(p, "bye\n"));
	hc_close(p);
	hd_finish(d);
}
END_TEST

/* session-timeout ends even a busy connection: a chargen client that
 * reads all along. */
START_TEST(test_session_timeout)
{
	struct hdaemon *d = hd_start_service("chargen", _i,
	    "    session-timeout 1s\n");
	int fd = hc_connect_ok(hd_port(d, "chargen"));
	long long t0 = harness_now_ms();
	size_t got = 0;

	ck_assert_msg(hc_wait_eof(fd, 10000, &got), "a busy connection "
	    "outlived session-timeout 1s by 9 s");
	ck_assert_msg(harness_now_ms() - t0 >= 900, "closed too early");
	ck_assert_msg(got > 0, "chargen sent nothing");
	hc_close(fd);
	HD_EXPECT_LOG(d, "): session timeout;", 5000);
	hd_finish(d);
}
END_TEST

static Suite *
badinput_suite(void)
{
	Suite *s = suite_create("integration_badinput");
	TCase *tc;

	tc = harness_tcase("lines");
	tcase_add_loop_test(tc, test_line_too_long, 0, 2);
	suite_add_tcase(s, tc);

	tc = harness_tcase("garbage");
	tcase_add_loop_test(tc, test_garbage_raw_echo, 0, 2);
	tcase_add_loop_test(tc, test_garbage_line_echo, 0, 2);
	tcase_add_loop_test(tc, test_garbage_line_short_max, 0, 2);
	suite_add_tcase(s, tc);

	tc = harness_tcase("idle");
	tcase_add_loop_test(tc, test_idle_timeout, 0, 2);
	tcase_add_loop_test(tc, test_idle_timeout_on_time, 0, 3);
	tcase_add_loop_test(tc, test_session_timeout, 0, 2);
	suite_add_tcase(s, tc);

	tc = harness_tcase("backpressure");
	tcase_add_test(tc, test_chargen_nonreader_memory);
	suite_add_tcase(s, tc);

	tc = harness_tcase("limits");
	tcase_add_loop_test(tc, test_max_connections, 0, 2);
	tcase_add_loop_test(tc, test_fd_exhaustion, 0, 2);
	tcase_add_loop_test(tc, test_connect_flood, 0, 2);
#ifdef __linux__
	tcase_add_test(tc, test_backlog);
#else
	check_skip("test_backlog", "how a full listen queue behaves (SYNs "
	    "dropped, backlog + 1 queued) is Linux's");
#endif
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	harness_init();
	return harness_run_suite(badinput_suite());
}
