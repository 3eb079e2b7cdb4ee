/*
 * The examples in contrib/examples, end to end: kv (a program embedding
 * libharbor), and the delay, lookup and lenframe modules in harbord.
 */
#include "harness.h"	/* first: feature macros */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <sys/wait.h>
#endif
#include <unistd.h>

#include "check-run.h"

#define NO_EXAMPLES	"the examples are built where shared libraries are " \
			"(modules), and kv is started with fork()"

static const char *
examples_dir(void)
{
	const char *d = getenv("HARBOR_TEST_EXAMPLES");

	return d != NULL && d[0] != '\0' ? d : NULL;
}

#define NEED_EXAMPLES() do {						\
	if (examples_dir() == NULL)					\
		HARNESS_SKIP("%s", NO_EXAMPLES);			\
} while (0)

/* A line from fd (bounded by 5 s), without its CRLF; "" at the end. */
static char *
line_of(int fd, char *buf, size_t size)
{
	size_t	n = 0;

	while (n + 1 < size && hc_read_n(fd, buf + n, 1, 5000) == 1 &&
	    buf[n] != '\n')
		n++;
	while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
		n--;
	buf[n] = '\0';
	return buf;
}

static void
ask(int fd, const char *question, const char *answer)
{
	char	buf[256];

	ck_assert(hc_send_str(fd, question));
	ck_assert_str_eq(line_of(fd, buf, sizeof buf), answer);
}

#ifndef _WIN32
/* A byte from a pipe, within 10 s. */
static bool
pipe_byte(int fd, char *c)
{
	struct pollfd	p = { fd, POLLIN, 0 };

	return poll(&p, 1, 10000) == 1 && read(fd, c, 1) == 1;
}

/* kv -p 0, its port read from its "listening" line. */
static pid_t
start_kv(int *port)
{
	char	 path[1024], line[512], *p;
	int	 pe[2];
	size_t	 n = 0;
	pid_t	 pid;

	snprintf(path, sizeof path, "%s/kv", examples_dir());
	ck_assert_int_eq(pipe(pe), 0);
	if ((pid = fork()) == 0) {
		dup2(pe[1], 2);
		close(pe[0]);
		execl(path, "kv", "-p", "0", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	harness_register_pid(pid);
	close(pe[1]);
	*port = -1;
	while (n + 1 < sizeof line && pipe_byte(pe[0], line + n))
		if (line[n++] == '\n') {
			line[n] = '\0';
			if ((p = strstr(line, "listening on 127.0.0.1:")) !=
			    NULL) {
				*port = atoi(p + strlen("listening on "
				    "127.0.0.1:"));
				break;
			}
			n = 0;
		}
	close(pe[0]);
	ck_assert_msg(*port > 0, "kv did not say where it listens");
	return pid;
}
#endif

START_TEST(test_kv)
{
#ifdef _WIN32
	HARNESS_SKIP("%s", NO_EXAMPLES);
#else
	int	port, a, b, status;
	pid_t	pid;

	NEED_EXAMPLES();
	pid = start_kv(&port);
	a = hc_connect_ok(port);
	b = hc_connect_ok(port);
	ask(a, "SET greeting hello world\n", "OK");
	ask(b, "GET greeting\n", "VALUE hello world");
	ask(b, "GET nothing\n", "NOTFOUND");
	ask(a, "SET greeting hi\r\n", "OK");
	ask(b, "GET greeting\n", "VALUE hi");
	ask(b, "frobnicate\n", "ERROR");
	ask(b, "GET\n", "ERROR");
	ask(a, "DEL greeting\n", "OK");
	ask(a, "DEL greeting\n", "NOTFOUND");
	ask(b, "GET greeting\n", "NOTFOUND");
	ask(b, "QUIT\n", "BYE");
	ck_assert(hc_wait_eof(b, 5000, NULL));
	ask(a, "GET greeting\n", "NOTFOUND");
	hc_close(a);
	hc_close(b);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "kv ended with status %d", status);
#endif
}
END_TEST

/* A harbord with an example module, one service of its handler. */
static struct hdaemon *
start_module(const char *module, const char *handler, const char *extra)
{
	struct hdaemon	*d;
	char		*cfg;

	cfg = harness_fmt("workers 2\nmodule %s/.libs/%s.so\n"
	    "service m {\n"
	    "    listen 127.0.0.1:0\n"
	    "    handler %s\n"
	    "    max-per-source 0\n"
	    "%s"
	    "}\n", examples_dir(), module, handler, extra != NULL ? extra : "");
	d = hd_start(cfg, NULL);
	free(cfg);
	return d;
}

#define NDELAY	500

START_TEST(test_delay)
{
	static struct pollfd	 p[NDELAY];
	static long long	 sent[NDELAY];
	struct hdaemon		*d;
	long long		 t0, deadline;
	char			 buf[16];
	int			 i, port, left = NDELAY;

	NEED_EXAMPLES();
	d = start_module("delay", "delay", "    framing line\n"
	    "    dispatch pool\n    option delay-ms 200\n");
	port = hd_port(d, "m");
	for (i = 0; i < NDELAY; i++)
		p[i].fd = hc_connect_ok(port);
	t0 = harness_now_ms();
	for (i = 0; i < NDELAY; i++) {
		sent[i] = harness_now_ms();
		ck_assert(hc_send_str(p[i].fd, "ping\n"));
		p[i].events = POLLIN;
	}
	/* Two workers, five hundred waits of 200 ms: answered together,
	 * as no thread waits. */
	deadline = t0 + 10000;
	while (left > 0 && harness_now_ms() < deadline) {
		if (hc_poll(p, NDELAY, 100) <= 0)
			continue;
		for (i = 0; i < NDELAY; i++) {
			if ((int)p[i].fd < 0 || p[i].revents == 0)
				continue;
			HD_ASSERT(d, hc_read_n(p[i].fd, buf, 5, 1000) == 5 &&
			    memcmp(buf, "ping\n", 5) == 0, "client %d: bad "
			    "answer", i);
			HD_ASSERT(d, harness_now_ms() - sent[i] >= 190,
			    "client %d answered after %lld ms of 200", i,
			    harness_now_ms() - sent[i]);
			hc_close(p[i].fd);
			p[i].fd = -1;
			left--;
		}
	}
	HD_ASSERT(d, left == 0, "%d of %d clients not answered in 10 s", left,
	    NDELAY);
	/* Serialized on two workers it would take 50 s; sanitizer builds are
	 * slower than plain ones: a bound far from both. */
	HD_ASSERT(d, harness_now_ms() - t0 < 5000, "500 answers of 200 ms "
	    "took %lld ms", harness_now_ms() - t0);
	/* Its end: the last line comes back, then it closes. */
	i = hc_connect_ok(port);
	ck_assert(hc_send_str(i, "one\ntwo\n"));
	shutdown(i, SHUT_WR);
	{
		char	all[16] = "";
		bool	eof;

		(void)hc_read_eof(i, all, sizeof all - 1, 5000, &eof);
		ck_assert(eof);
		ck_assert_str_eq(all, "one\ntwo\n");
	}
	hc_close(i);
	hd_finish(d);
}
END_TEST

START_TEST(test_lookup)
{
	struct hdaemon	*d;
	char		 buf[256];
	int		 fd, i;

	NEED_EXAMPLES();
	d = start_module("lookup", "lookup", "    framing line\n");
	fd = hc_connect_ok(hd_port(d, "m"));
	ask(fd, "127.0.0.1\n", "127.0.0.1");
	ck_assert(hc_send_str(fd, "localhost\n"));
	line_of(fd, buf, sizeof buf);
	ck_assert_msg(strcmp(buf, "127.0.0.1") == 0 || strcmp(buf, "::1") == 0,
	    "localhost is %s", buf);
	ask(fd, "\n", "ERROR no name");
	hc_close(fd);
	/* Clients gone before their answers: told, not crashed. */
	for (i = 0; i < 20; i++) {
		int	j;

		fd = hc_connect_ok(hd_port(d, "m"));
		for (j = 0; j < 20; j++)
			ck_assert(hc_send_str(fd, "localhost\n"));
		hc_reset(fd);
	}
	fd = hc_connect_ok(hd_port(d, "m"));
	ask(fd, "127.0.0.1\n", "127.0.0.1");
	hc_close(fd);
	hd_finish(d);
}
END_TEST

/* A frame: the length (4 bytes, big-endian), then len bytes of c. */
static unsigned char *
frame(size_t len, int c, size_t *total)
{
	unsigned char	*f = malloc(len + 4);

	ck_assert_ptr_nonnull(f);
	f[0] = (unsigned char)(len >> 24);
	f[1] = (unsigned char)(len >> 16);
	f[2] = (unsigned char)(len >> 8);
	f[3] = (unsigned char)len;
	memset(f + 4, c, len);
	if (len > 1)
		f[4] = 'A';	/* comes back last */
	*total = len + 4;
	return f;
}

START_TEST(test_lenframe)
{
	struct hdaemon	*d;
	unsigned char	*f, *g, *got;
	size_t		 fl, gl, i;
	int		 fd;

	NEED_EXAMPLES();
	d = start_module("lenframe", "lenframe", NULL);
	fd = hc_connect_ok(hd_port(d, "m"));
	/* A small frame a byte at a time, then a 1 MiB one. */
	f = frame(5, 'x', &fl);
	for (i = 0; i < fl; i++)
		ck_assert(hc_send_all(fd, f + i, 1, 5000));
	ck_assert_ptr_nonnull(got = malloc(1024 * 1024 + 4));
	ck_assert_uint_eq(hc_read_n(fd, got, fl, 5000), fl);
	ck_assert(memcmp(got, "\0\0\0\5xxxxA", 9) == 0);
	free(f);
	f = frame(1024 * 1024, 'y', &fl);
	ck_assert(hc_exchange(fd, f, fl, got, fl, false, 10000));
	ck_assert(got[fl - 1] == 'A' && got[4] == 'y');
	free(f);
	/* Two in one write. */
	f = frame(3, 'a', &fl);
	g = frame(2, 'b', &gl);
	ck_assert(hc_send_all(fd, f, fl, 5000));
	ck_assert(hc_send_all(fd, g, gl, 5000));
	ck_assert_uint_eq(hc_read_n(fd, got, fl + gl, 5000), fl + gl);
	ck_assert(memcmp(got, "\0\0\0\3aaA\0\0\0\2bA", fl + gl) == 0);
	free(f);
	free(g);
	hc_close(fd);
	/* One byte too long: refused, closed. */
	fd = hc_connect_ok(hd_port(d, "m"));
	f = frame(1024 * 1024 + 1, 'z', &fl);
	ck_assert(hc_send_all(fd, f, 4, 5000));
	ck_assert(hc_wait_eof(fd, 5000, NULL));
	HD_EXPECT_LOG(d, "frame of 1048577 bytes refused (at most 1048576)",
	    5000);
	HD_EXPECT_LOG(d, "frame too long", 5000);
	free(f);
	free(got);
	hc_close(fd);
	hd_finish(d);
}
END_TEST

int
main(void)
{
	Suite	*s;
	TCase	*tc;

	harness_init();
	s = suite_create("integration_examples");
	tc = harness_tcase("examples");
	tcase_add_test(tc, test_kv);
	tcase_add_test(tc, test_delay);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_lenframe);
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
