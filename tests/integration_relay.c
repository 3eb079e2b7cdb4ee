/*
 * exec and forward against the real daemon: real programs (/bin/cat,
 * /bin/sh -c, env, wc, id) run per client, and clients relayed to real
 * backends (harbord's own services, and sockets this test holds so it can
 * half-close, stall and read PROXY headers), with half-close both ways,
 * backpressure both ways, timeouts and limits.
 */
#include "harness.h"	/* first: feature macros */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <dirent.h>
#include <pwd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#endif
#include <unistd.h>

#include "check-run.h"
#include "preload.h"

#define NO_EXEC	"exec is not available on Windows"

#ifndef _WIN32
/* The pid in the daemon's "conn N: started pid P" line for service svc. */
static long
started_pid(struct hdaemon *d, const char *svc)
{
	char	*want = harness_fmt("service %s: conn ", svc);
	char	*line = NULL, *p;
	long	 pid = -1;
	long long deadline = harness_now_ms() + 5000;

	while (harness_now_ms() < deadline) {
		free(line);
		line = hd_find_line(d, "started pid ", 200);
		if (line != NULL && strstr(line, want) != NULL)
			break;
	}
	if (line != NULL && (p = strstr(line, "started pid ")) != NULL)
		pid = strtol(p + strlen("started pid "), NULL, 10);
	free(line);
	free(want);
	HD_ASSERT(d, pid > 0, "no 'started pid' line for service %s", svc);
	return pid;
}
#endif

/* n pseudo-random bytes to the service at port, the client's sending side
 * shut after the last: all of them come back, then the end. */
static void
expect_echo_half_closed(struct hdaemon *d, int port, size_t n, uint32_t seed)
{
	unsigned char	*out = malloc(n), *in = malloc(n);
	int		 fd = hc_connect_ok(port);
	bool		 eof;

	harness_fill_bytes(out, n, seed);
	HD_ASSERT(d, hc_exchange(fd, out, n, in, n, true, 20000),
	    "%zu bytes did not come back", n);
	ck_assert(memcmp(in, out, n) == 0);
	ck_assert_uint_eq(hc_read_eof(fd, in, 1, 5000, &eof), 0);
	ck_assert(eof);
	hc_close(fd);
	free(out);
	free(in);
}

/* --- exec ------------------------------------------------------------------ */

START_TEST(test_exec_cat_half_close)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d = hd_start("service cat {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/cat\n"
	    "}\n", NULL);
	/* cat sees its EOF only after the last byte. */
	expect_echo_half_closed(d, hd_port(d, "cat"), 3 * 1024 * 1024 + 17, 7);
	HD_EXPECT_LOG(d, "exited with status 0 after ", 5000);
	HD_EXPECT_LOG(d, "both sides closed", 5000);
	hd_finish(d);
#endif
}
END_TEST

/* A request, then the client's FIN; the reply comes only after the FIN
 * (wc counts to the end).  ncat and xinetd lose it. */
START_TEST(test_exec_reply_after_client_fin)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d = hd_start("service wc {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /usr/bin/wc -c\n"
	    "}\n", NULL);
	size_t		 n = 200000;
	char		*out = malloc(n), reply[64] = "";
	int		 fd = hc_connect_ok(hd_port(d, "wc"));
	bool		 eof;

	memset(out, 'x', n);
	ck_assert(hc_exchange(fd, out, n, NULL, 0, true, 10000));
	(void)hc_read_eof(fd, reply, sizeof reply - 1, 10000, &eof);
	ck_assert(eof);
	ck_assert_str_eq(reply, "200000\n");
	hc_close(fd);
	free(out);
	hd_finish(d);
#endif
}
END_TEST

START_TEST(test_exec_environment)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d;
	char		 buf[4096] = "", *want;
	bool		 eof, v6 = harness_have_ipv6();
	int		 fd, port;

	/* harbord passes on only what passenv names. */
	setenv("RELAY_PASSED", "from harbord's environment", 1);
	setenv("RELAY_SECRET", "must not leak", 1);
	d = hd_start(v6 ? "service env {\n"
	    "    listen 127.0.0.1:0 [::1]:0\n"
	    "    exec /usr/bin/env\n"
	    "    env GREETING=hello \"SPACED=a b\"\n"
	    "    env GREETING=hello-again\n"
	    "    passenv RELAY_PASSED NOT_SET_ANYWHERE\n"
	    "}\n" : "service env {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /usr/bin/env\n"
	    "    env GREETING=hello \"SPACED=a b\"\n"
	    "    env GREETING=hello-again\n"
	    "    passenv RELAY_PASSED NOT_SET_ANYWHERE\n"
	    "}\n", NULL);
	port = hd_port_host(d, "env", "127.0.0.1");
	fd = hc_connect_ok(port);
	(void)hc_read_eof(fd, buf, sizeof buf - 1, 5000, &eof);
	ck_assert(eof);
	want = harness_fmt("PROTO=TCP\nTCPLOCALIP=127.0.0.1\nTCPLOCALPORT=%d\n"
	    "TCPREMOTEIP=127.0.0.1\nTCPREMOTEPORT=%d\nTCPCONNNUM=1\n"
	    "RELAY_PASSED=from harbord's environment\nGREETING=hello-again\n"
	    "SPACED=a b\n", port, hc_local_port(fd));
	ck_assert_str_eq(buf, want);
	free(want);
	hc_close(fd);

	if (v6) {
		port = hd_port_host(d, "env", "[::1]");
		fd = hc_connect6(port);
		ck_assert_int_ge(fd, 0);
		memset(buf, 0, sizeof buf);
		(void)hc_read_eof(fd, buf, sizeof buf - 1, 5000, &eof);
		want = harness_fmt("TCPLOCALIP=::1\nTCPLOCALPORT=%d\n"
		    "TCPREMOTEIP=::1\nTCPREMOTEPORT=%d\n", port,
		    hc_local_port(fd));
		ck_assert_msg(strstr(buf, want) != NULL, "got:\n%s", buf);
		free(want);
		hc_close(fd);
	}
	hd_finish(d);
#endif
}
END_TEST

START_TEST(test_exec_stderr_and_exit)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d = hd_start("service sh {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/sh -c \"echo to the client; "
	    "echo to the log >&2; printf 'no newline\\\\033[2J' >&2; exit 7\"\n"
	    "}\n", NULL);
	char		 buf[256] = "", *want;
	int		 fd = hc_connect_ok(hd_port(d, "sh"));
	bool		 eof;
	long		 pid;

	(void)hc_read_eof(fd, buf, sizeof buf - 1, 5000, &eof);
	ck_assert(eof);
	ck_assert_str_eq(buf, "to the client\n");
	hc_close(fd);
	pid = started_pid(d, "sh");
	want = harness_fmt("service sh: pid %ld: to the log", pid);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	/* A control character cannot reach the log as it is. */
	want = harness_fmt("service sh: pid %ld: no newline?[2J", pid);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	want = harness_fmt("service sh: conn 1: pid %ld exited with status 7 "
	    "after ", pid);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	hd_finish(d);
#endif
}
END_TEST

/* A program whose standard error outlives it (a process of another
 * group holds it open): what it wrote after its last newline is logged
 * when it is reaped, not lost with its record. */
START_TEST(test_exec_stderr_tail_kept)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d;
	char		 buf[64] = "", *want;
	int		 fd;
	bool		 eof;
	long		 pid;

	if (system("command -v setsid >/dev/null 2>&1") != 0)
		HARNESS_SKIP("no setsid(1) here");
	d = hd_start("service sh {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/sh -c \"printf 'no end of line' >&2; "
	    "setsid sleep 3 & exit 0\"\n"
	    "}\n", NULL);
	fd = hc_connect_ok(hd_port(d, "sh"));
	(void)hc_read_eof(fd, buf, sizeof buf - 1, 5000, &eof);
	hc_close(fd);
	pid = started_pid(d, "sh");
	want = harness_fmt("service sh: pid %ld: no end of line", pid);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	hd_finish(d);
#endif
}
END_TEST

/* A program that floods its standard error: the log gets what
 * stderr-rate allows, a long line is cut, the rest is counted, and
 * harbord spends little time on it. */
START_TEST(test_exec_stderr_flood)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d = hd_start("service sh {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/sh -c \"head -c 3000 /dev/zero | tr '\\\\0' x >&2; "
	    "echo >&2; echo ready; exec yes 'a line of standard error' >&2\"\n"
	    "    stderr-rate 2k\n"
	    "    stderr-line-max 100\n"
	    "}\n", NULL);
	int		 fd = hc_connect_ok(hd_port(d, "sh"));
	char		 buf[8];
	long long	 t0 = harness_now_ms(), took;
	double		 cpu0 = -1, cpu;
	long		 pid, lines;
	char		*want, *line;

	ck_assert_uint_eq(hc_read_n(fd, buf, 6, 5000), 6);
	if (harness_have_proc())
		cpu0 = harness_proc_cpu_s(hd_serving_pid(d));
	harness_sleep_ms(2000);
	if (cpu0 >= 0) {
		cpu = harness_proc_cpu_s(hd_serving_pid(d)) - cpu0;
		HD_ASSERT(d, cpu < 0.5, "harbord used %.2f s of CPU in 2 s on a "
		    "program flooding its standard error", cpu);
	}
	hc_reset(fd);
	took = harness_now_ms() - t0;
	pid = started_pid(d, "sh");
	/* The 3000-byte line, cut at 100. */
	want = harness_fmt("service sh: pid %ld: %.100s [cut]", pid,
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	want = harness_fmt("service sh: pid %ld: standard error over "
	    "stderr-rate 2048 bytes/s; dropping what exceeds it", pid);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	want = harness_fmt(": pid %ld: %s", pid, "bytes of its standard "
	    "error dropped (over stderr-rate 2048 bytes/s, or past "
	    "stderr-line-max 100 in a line)");
	line = hd_find_line(d, " bytes of its standard error dropped", 10000);
	HD_ASSERT(d, line != NULL, "no count of what was dropped");
	free(line);
	free(want);
	/* 25 bytes a line, newline included: a second's worth at once, then
	 * 2 KiB a second, give or take the cut line. */
	want = harness_fmt("service sh: pid %ld: a line of standard error",
	    pid);
	lines = hd_count_log(d, want);
	free(want);
	HD_ASSERT(d, lines > 10 && lines <= (2048 + 2048 * (took / 1000 + 1)) /
	    25, "%ld lines logged in %lld ms at stderr-rate 2k", lines, took);
	hd_finish(d);
#endif
}
END_TEST

START_TEST(test_exec_killed_by_signal)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d = hd_start("service sh {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/sh -c \"kill -KILL $$\"\n"
	    "}\n", NULL);
	int		 fd = hc_connect_ok(hd_port(d, "sh"));

	ck_assert(hc_wait_eof(fd, 5000, NULL));
	hc_close(fd);
	HD_EXPECT_LOG(d, "killed by signal 9 (", 5000);
	hd_finish(d);
#endif
}
END_TEST

/* The child has 0, 1 and 2 open and nothing else, though another client
 * is connected meanwhile: read from /proc while it runs. */
START_TEST(test_exec_no_fd_leaks)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d;
	char		*dir, *path, link0[256], link1[256], link2[256];
	DIR		*dp;
	struct dirent	*e;
	int		 fd, other, nfds = 0;
	long		 pid;
	ssize_t		 n;

	if (!harness_have_proc())
		HARNESS_SKIP("no /proc to look at the child's descriptors");
	d = hd_start("log file /dev/null\n"	/* one more fd in harbord */
	    "service cat {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/cat\n"
	    "}\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n", NULL);
	other = hc_connect_ok(hd_port(d, "echo"));
	ck_assert(hc_echo_ok(other, "and me\n"));
	fd = hc_connect_ok(hd_port(d, "cat"));
	ck_assert(hc_echo_ok(fd, "still there?\n"));
	pid = started_pid(d, "cat");
	dir = harness_fmt("/proc/%ld/fd", pid);
	ck_assert_ptr_nonnull(dp = opendir(dir));
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		ck_assert_msg(strcmp(e->d_name, "0") == 0 ||
		    strcmp(e->d_name, "1") == 0 || strcmp(e->d_name, "2") == 0,
		    "fd %s is open in the child", e->d_name);
		nfds++;
	}
	closedir(dp);
	ck_assert_int_eq(nfds, 3);
	path = harness_fmt("%s/0", dir);
	ck_assert_int_gt(n = readlink(path, link0, sizeof link0 - 1), 0);
	link0[n] = '\0';
	free(path);
	path = harness_fmt("%s/1", dir);
	ck_assert_int_gt(n = readlink(path, link1, sizeof link1 - 1), 0);
	link1[n] = '\0';
	free(path);
	path = harness_fmt("%s/2", dir);
	ck_assert_int_gt(n = readlink(path, link2, sizeof link2 - 1), 0);
	link2[n] = '\0';
	free(path);
	free(dir);
	/* stdin and stdout one socket, stderr a pipe. */
	ck_assert_str_eq(link0, link1);
	ck_assert(strncmp(link0, "socket:", 7) == 0);
	ck_assert(strncmp(link2, "pipe:", 5) == 0);
	hc_close(fd);
	hc_close(other);
	HD_EXPECT_LOG(d, "exited with status 0", 5000);
	hd_finish(d);
#endif
}
END_TEST

START_TEST(test_exec_max_children)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d = hd_start("service cat {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/cat\n"
	    "    max-children 2\n"
	    "}\n", NULL);
	int		 port = hd_port(d, "cat");
	int		 a = hc_connect_ok(port), b = hc_connect_ok(port), c;

	ck_assert(hc_echo_ok(a, "one\n"));
	ck_assert(hc_echo_ok(b, "two\n"));
	c = hc_connect_ok(port);
	ck_assert(hc_wait_eof(c, 5000, NULL));
	hc_close(c);
	HD_EXPECT_LOG(d, "refused 127.0.0.1:", 5000);
	HD_EXPECT_LOG(d, "max-children 2 reached", 5000);
	/* One leaves, its child is reaped, and there is room again. */
	hd_mark(d);
	hc_close(a);
	HD_EXPECT_LOG(d, "exited with status 0", 5000);
	c = hc_connect_ok(port);
	HD_ASSERT(d, hc_echo_ok(c, "three\n"), "not served after a child "
	    "was reaped");
	hc_close(b);
	hc_close(c);
	hd_finish(d);
#endif
}
END_TEST

#ifndef _WIN32
/* The pid of what the program started, which it wrote as a line. */
static pid_t
read_pid_line(int fd)
{
	char	line[32] = "";
	size_t	i;

	for (i = 0; i + 1 < sizeof line; i++)
		if (hc_read_n(fd, line + i, 1, 5000) != 1 || line[i] == '\n')
			break;
	return (pid_t)atol(line);
}
#endif

/* A client cut off stops the program's whole process group: what it
 * started in the background goes too. */
START_TEST(test_exec_group_stopped)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d = hd_start("service sh {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/sh -c \"sleep 60 </dev/null >/dev/null 2>&1 & "
	    "echo $!; exec cat\"\n"
	    "}\n", NULL);
	int		 fd = hc_connect_ok(hd_port(d, "sh"));
	pid_t		 bg = read_pid_line(fd);
	long long	 deadline;

	ck_assert_int_gt(bg, 1);
	ck_assert(harness_pid_alive(bg));
	hc_reset(fd);
	/* The program is stopped with its group; or, slowed down (a
	 * sanitizer), it sees the end of its input first and exits, and
	 * what it left in its group is stopped after it. */
	deadline = harness_now_ms() + 5000;
	while (hd_count_log(d, "killed by signal 15 (") == 0 &&
	    hd_count_log(d, "left ended after") == 0 &&
	    harness_now_ms() < deadline)
		harness_sleep_ms(20);
	HD_ASSERT(d, hd_count_log(d, "killed by signal 15 (") > 0 ||
	    hd_count_log(d, "left ended after") > 0, "the program's group "
	    "was not stopped");
	deadline = harness_now_ms() + 5000;
	while (harness_pid_alive(bg) && harness_now_ms() < deadline)
		harness_sleep_ms(20);
	HD_ASSERT(d, !harness_pid_alive(bg), "pid %ld, started by the "
	    "program in the background, outlived its client", (long)bg);
	hd_finish(d);
#endif
}
END_TEST

/* What a program leaves running holds its max-children place until it
 * ends: the program alone does not bound what a client can start. */
START_TEST(test_exec_leftovers_count)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d = hd_start("service sh {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/sh -c \"sleep 2 </dev/null >/dev/null 2>&1 & "
	    "echo $!\"\n"
	    "    max-children 1\n"
	    "}\n", NULL);
	int		 port = hd_port(d, "sh");
	int		 fd = hc_connect_ok(port);
	pid_t		 bg = read_pid_line(fd);

	ck_assert_int_gt(bg, 1);
	ck_assert(hc_wait_eof(fd, 5000, NULL));
	hc_close(fd);
	HD_EXPECT_LOG(d, "left processes running in its group", 5000);
	/* The shell is gone, its sleep is not: no place for another. */
	fd = hc_connect_ok(port);
	HD_ASSERT(d, hc_wait_eof(fd, 5000, NULL), "a second client got a "
	    "program while the first one's sleep ran (max-children 1)");
	hc_close(fd);
	HD_EXPECT_LOG(d, "max-children 1 reached", 5000);
	HD_ASSERT(d, harness_pid_alive(bg), "the background sleep is gone "
	    "already");
	/* Once it ends, the place is back. */
	HD_EXPECT_LOG(d, "the processes pid ", 10000);
	HD_EXPECT_LOG(d, " left ended after ", 1000);
	fd = hc_connect_ok(port);
	HD_ASSERT(d, read_pid_line(fd) > 1, "not served once the leftovers "
	    "ended");
	hc_close(fd);
	hd_finish(d);
#endif
}
END_TEST

/* A child still running when its client is cut off (here: idle) is told
 * to stop. */
START_TEST(test_exec_timeout_stops_child)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d = hd_start("service sleep {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/sleep 60\n"
	    "    idle-timeout 500ms\n"
	    "}\n", NULL);
	int		 fd = hc_connect_ok(hd_port(d, "sleep"));

	ck_assert(hc_wait_eof(fd, 5000, NULL));
	hc_close(fd);
	HD_EXPECT_LOG(d, "idle timeout", 5000);
	HD_EXPECT_LOG(d, "killed by signal 15 (", 5000);
	hd_finish(d);
#endif
}
END_TEST

/* A program that floods a client that does not read: harbord holds a
 * bounded amount, and the flow resumes when the client reads. */
START_TEST(test_exec_backpressure)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct hdaemon	*d;
	long		 before, after;
	char		 buf[65536];
	size_t		 got = 0, n;
	int		 fd;

	if (!harness_have_proc())
		HARNESS_SKIP("no /proc to read harbord's memory");
	d = hd_start("service zero {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/cat /dev/zero\n"
	    "}\n", NULL);
	fd = hc_connect_ok(hd_port(d, "zero"));
	harness_sleep_ms(300);
	before = harness_proc_rss_kb(hd_serving_pid(d));
	harness_sleep_ms(1500);
	after = harness_proc_rss_kb(hd_serving_pid(d));
	/* Loose enough for a sanitizer build's allocator; a relay without
	 * backpressure would grow by what cat writes, a GiB a second. */
	HD_ASSERT(d, after - before < 16 * 1024, "harbord grew from %ld to "
	    "%ld KiB for a client that does not read", before, after);
	while (got < 8 * 1024 * 1024 && (n = hc_read_n(fd, buf, sizeof buf,
	    5000)) > 0)
		got += n;
	ck_assert_uint_ge(got, 8 * 1024 * 1024);
	hc_close(fd);
	/* cat ends, by harbord's SIGTERM or by the error of its next
	 * write, whichever comes first. */
	HD_EXPECT_LOG(d, "conn 1: pid ", 5000);
	hd_finish(d);
#endif
}
END_TEST

START_TEST(test_exec_as_user)
{
#ifdef _WIN32
	HARNESS_SKIP(NO_EXEC);
#else
	struct passwd	*pw;
	struct hdaemon	*d;
	char		 buf[128] = "", *want;
	bool		 eof;
	int		 fd;

	if (geteuid() != 0)
		HARNESS_SKIP("only root can run a child as another user");
	if ((pw = getpwnam("nobody")) == NULL)
		HARNESS_SKIP("there is no user nobody");
	d = hd_start("service id {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/sh -c \"id -u; id -g; id -G\"\n"
	    "    user nobody\n"
	    "}\n", NULL);
	fd = hc_connect_ok(hd_port(d, "id"));
	(void)hc_read_eof(fd, buf, sizeof buf - 1, 5000, &eof);
	/* Its uid and gid, and no supplementary group of harbord's. */
	want = harness_fmt("%ld\n%ld\n%ld\n", (long)pw->pw_uid,
	    (long)pw->pw_gid, (long)pw->pw_gid);
	ck_assert_str_eq(buf, want);
	free(want);
	hc_close(fd);
	hd_finish(d);
#endif
}
END_TEST

/* --- forward ----------------------------------------------------------- */

/* A daemon with one forward service to 127.0.0.1:port (or host:port),
 * with more options in extra. */
static struct hdaemon *
start_forward(const char *host, int port, const char *extra)
{
	char		*cfg = harness_fmt("service fwd {\n"
	    "    listen 127.0.0.1:0\n"
	    "    forward %s:%d\n"
	    "%s"
	    "}\n", host, port, extra != NULL ? extra : "");
	struct hdaemon	*d = hd_start(cfg, NULL);

	free(cfg);
	return d;
}

/* Through forward to harbord's own echo, by name, large and half-closed. */
START_TEST(test_forward_to_echo)
{
	struct hdaemon	*backend = hd_start("service echo {\n"
	    "    listen 127.0.0.1:0\n"
	    "    handler echo\n"
	    "}\n", NULL);
	struct hdaemon	*d = start_forward("localhost",
	    hd_port(backend, "echo"), NULL);

	expect_echo_half_closed(d, hd_port(d, "fwd"), 2 * 1024 * 1024 + 5, 11);
	HD_EXPECT_LOG(d, "both sides closed", 5000);
	hd_finish(d);
	hd_finish(backend);
}
END_TEST

static void
read_exactly(int fd, const char *want)
{
	size_t	n = strlen(want);
	char	*buf = calloc(1, n + 1);

	ck_assert_uint_eq(hc_read_n(fd, buf, n, 5000), n);
	ck_assert_str_eq(buf, want);
	free(buf);
}

static void
read_to_eof(int fd, const char *want)
{
	size_t	n = strlen(want);
	char	*buf = calloc(1, n + 2);
	bool	 eof;

	ck_assert_uint_eq(hc_read_eof(fd, buf, n + 1, 5000, &eof), n);
	ck_assert_msg(eof, "no EOF after \"%s\"", want);
	ck_assert_str_eq(buf, want);
	free(buf);
}

/* Either side may stop sending first and still hear the other out. */
START_TEST(test_forward_half_close_both_ways)
{
	int		 lport, lfd = harness_listen_ip("127.0.0.1", 0, &lport);
	struct hdaemon	*d = start_forward("127.0.0.1", lport, NULL);
	int		 c, b;

	/* The client finishes first: the backend sees the request, then
	 * EOF, and its reply still reaches the client. */
	c = hc_connect_ok(hd_port(d, "fwd"));
	ck_assert_int_ge(b = harness_accept(lfd, 5000), 0);
	ck_assert(hc_send_str(c, "request\n"));
	ck_assert_int_eq(shutdown(c, SHUT_WR), 0);
	read_to_eof(b, "request\n");
	ck_assert(hc_send_str(b, "reply, "));
	read_exactly(c, "reply, ");
	ck_assert(hc_send_str(b, "all of it\n"));
	ck_assert_int_eq(shutdown(b, SHUT_WR), 0);
	read_to_eof(c, "all of it\n");
	hc_close(c);
	hc_close(b);
	HD_EXPECT_LOG(d, "both sides closed", 5000);

	/* The backend finishes first: the client sees EOF, and what it
	 * sends afterwards still reaches the backend. */
	hd_mark(d);
	c = hc_connect_ok(hd_port(d, "fwd"));
	ck_assert_int_ge(b = harness_accept(lfd, 5000), 0);
	ck_assert(hc_send_str(b, "greeting\n"));
	ck_assert_int_eq(shutdown(b, SHUT_WR), 0);
	read_to_eof(c, "greeting\n");
	ck_assert(hc_send_str(c, "late words\n"));
	read_exactly(b, "late words\n");
	ck_assert_int_eq(shutdown(c, SHUT_WR), 0);
	read_to_eof(b, "");
	hc_close(c);
	hc_close(b);
	HD_EXPECT_LOG(d, "both sides closed", 5000);
	hc_close(lfd);
	hd_finish(d);
}
END_TEST

START_TEST(test_forward_refused)
{
	/* Bound, not listening: refused, and harbord cannot be given the
	 * port for its own listener. */
	int		 port, bfd = harness_bind_ip("127.0.0.1", 0, &port);
	struct hdaemon	*d;
	char		*want;
	int		 c;

	ck_assert_int_ge(bfd, 0);
	d = start_forward("127.0.0.1", port, NULL);
	c = hc_connect_ok(hd_port(d, "fwd"));
	ck_assert(hc_wait_eof(c, 5000, NULL));
	hc_close(c);
	want = harness_fmt("cannot connect to backend 127.0.0.1:%d: ", port);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	hc_close(bfd);
	hd_finish(d);
}
END_TEST

/* A service that forwards to its own address would multiply connections
 * without end; each is refused at once instead. */
/* A free port on 127.0.0.1, for a config that names it twice. */
static int
free_port(void)
{
	int	port, fd = harness_bind_ip("127.0.0.1", 0, &port);

	ck_assert_int_ge(fd, 0);
	hc_close(fd);
	return port;
}

/* x -> y -> z -> x: the connection that comes back to x is refused, at
 * once, whatever the services between; a chain that ends somewhere else
 * (w -> echo) is served. */
START_TEST(test_forward_loop_through_services)
{
	int		 px = free_port(), py = free_port(), pz = free_port();
	int		 pw = free_port(), pe = free_port();
	struct hdaemon	*d;
	char		*cfg;
	int		 c;

	cfg = harness_fmt(
	    "service x { listen 127.0.0.1:%d; forward 127.0.0.1:%d }\n"
	    "service y { listen 127.0.0.1:%d; forward 127.0.0.1:%d }\n"
	    "service z { listen 127.0.0.1:%d; forward 127.0.0.1:%d }\n"
	    "service w { listen 127.0.0.1:%d; forward 127.0.0.1:%d }\n"
	    "service e { listen 127.0.0.1:%d; handler echo }\n",
	    px, py, py, pz, pz, px, pw, pe, pe);
	d = hd_start(cfg, NULL);
	free(cfg);
	c = hc_connect_ok(px);
	HD_ASSERT(d, hc_wait_eof(c, 5000, NULL), "a client in a forwarding "
	    "loop was kept");
	hc_close(c);
	HD_EXPECT_LOG(d, "service x: refused 127.0.0.1:", 5000);
	HD_EXPECT_LOG(d, ": forwarding loop (forwarded here by service z, "
	    "after this one)", 1000);
	/* Three connections in all: the client's, x's and y's. */
	harness_sleep_ms(300);
	HD_ASSERT(d, hd_count_log(d, ": accepted ") == 3, "%d connections "
	    "accepted", hd_count_log(d, ": accepted "));
	/* Not a loop: forwarded from one service of harbord to another. */
	c = hc_connect_ok(pw);
	HD_ASSERT(d, hc_echo_ok(c, "through w to e\n"), "a forward to "
	    "another service of the same harbord was refused");
	hc_close(c);
	hd_finish(d);
}
END_TEST

START_TEST(test_forward_loop)
{
	int		 port, bfd = harness_bind_ip("127.0.0.1", 0, &port);
	struct hdaemon	*d;
	char		*cfg;
	int		 c;

	ck_assert_int_ge(bfd, 0);
	hc_close(bfd);		/* a free port, for both ends */
	cfg = harness_fmt("service fwd {\n"
	    "    listen 127.0.0.1:%d\n"
	    "    forward 127.0.0.1:%d\n"
	    "}\n", port, port);
	d = hd_start(cfg, NULL);
	free(cfg);
	c = hc_connect_ok(port);
	ck_assert(hc_wait_eof(c, 5000, NULL));
	hc_close(c);
	HD_EXPECT_LOG(d, ": it is this service's own address (a forwarding "
	    "loop)", 5000);
	/* No connection was made to itself. */
	harness_sleep_ms(200);
	HD_ASSERT(d, hd_count_log(d, ": accepted ") == 1, "%d connections "
	    "accepted", hd_count_log(d, ": accepted "));
	hd_finish(d);
}
END_TEST

/* A backend whose listen queue is full never answers the SYN. */
START_TEST(test_forward_connect_timeout)
{
#ifdef _WIN32
	HARNESS_SKIP("Windows refuses a connection when the listen queue is "
	    "full, so nothing waits for the timeout");
#else
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	struct hdaemon		*d;
	int			 lfd, fill[4], i, c;
	long long		 t0;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001);
	ck_assert_int_ge(lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		(void)connect(fill[i], (struct sockaddr *)&sin, sizeof sin);
	}
	harness_sleep_ms(100);
	d = start_forward("127.0.0.1", ntohs(sin.sin_port),
	    "    connect-timeout 400ms\n");
	c = hc_connect_ok(hd_port(d, "fwd"));
	t0 = harness_now_ms();
	ck_assert(hc_wait_eof(c, 5000, NULL));
	ck_assert_int_ge(harness_now_ms() - t0, 300);
	hc_close(c);
	HD_EXPECT_LOG(d, "no answer in 400 ms", 5000);
	for (i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
	hd_finish(d);
#endif
}
END_TEST

/* A client address other than the forwarder's own 127.0.0.1. */
#define OTHER_SOURCE	"127.0.0.2"
#define OTHER_SOURCE_LAST 2

/* send-proxy v1 (_i 0) and v2 (_i 1): the backend reads the header that
 * names the client, then the client's bytes. */
START_TEST(test_forward_send_proxy)
{
	int		 lport, lfd = harness_listen_ip("127.0.0.1", 0, &lport);
	struct hdaemon	*d = start_forward("127.0.0.1", lport, _i == 0 ?
	    "    send-proxy v1\n" : "    send-proxy v2\n");
	int		 fport = hd_port(d, "fwd"), c, b, cport;
	unsigned char	 hdr[28];

	c = hc_connect_from(OTHER_SOURCE, "127.0.0.1", fport, 5000);
	ck_assert_int_ge(c, 0);
	cport = hc_local_port(c);
	ck_assert_int_ge(b = harness_accept(lfd, 5000), 0);
	ck_assert(hc_send_str(c, "data"));
	if (_i == 0) {
		char *want = harness_fmt("PROXY TCP4 %s 127.0.0.1 %d %d\r\ndata",
		    OTHER_SOURCE, cport, fport);

		read_exactly(b, want);
		free(want);
	} else {
		static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a,
		    0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
		static const unsigned char src[4] = { 127, 0, 0,
		    OTHER_SOURCE_LAST };

		ck_assert_uint_eq(hc_read_n(b, hdr, sizeof hdr, 5000),
		    sizeof hdr);
		ck_assert(memcmp(hdr, sig, 12) == 0);
		ck_assert_int_eq(hdr[12], 0x21);	/* v2, PROXY */
		ck_assert_int_eq(hdr[13], 0x11);	/* TCP over IPv4 */
		ck_assert_int_eq(hdr[14] * 256 + hdr[15], 12);
		ck_assert(memcmp(hdr + 16, src, 4) == 0);
		ck_assert(memcmp(hdr + 20, "\x7f\0\0\x01", 4) == 0);
		ck_assert_int_eq(hdr[24] * 256 + hdr[25], cport);
		ck_assert_int_eq(hdr[26] * 256 + hdr[27], fport);
		read_exactly(b, "data");
	}
	hc_close(c);
	hc_close(b);
	hc_close(lfd);
	hd_finish(d);
}
END_TEST

/* harbord in front of harbord: the second learns the real client from the
 * first's PROXY v2 header. */
START_TEST(test_forward_send_proxy_to_harbord)
{
	struct hdaemon	*backend = hd_start("service echo {\n"
	    "    listen 127.0.0.1:0\n"
	    "    handler echo\n"
	    "    proxy-protocol v2\n"
	    "    trusted-proxies 127.0.0.1\n"
	    "}\n", NULL);
	struct hdaemon	*d = start_forward("127.0.0.1",
	    hd_port(backend, "echo"), "    send-proxy v2\n");
	int		 c = hc_connect_from(OTHER_SOURCE, "127.0.0.1",
	    hd_port(d, "fwd"), 5000);
	char		*want;

	ck_assert_int_ge(c, 0);
	HD_ASSERT(d, hc_echo_ok(c, "who am I?\n"), "no echo through the "
	    "proxy");
	want = harness_fmt(" is %s:%d via proxy 127.0.0.1:", OTHER_SOURCE,
	    hc_local_port(c));
	HD_EXPECT_LOG(backend, want, 5000);
	free(want);
	hc_close(c);
	hd_finish(d);
	hd_finish(backend);
}
END_TEST

/* The backend is looked up again on reload: new clients go to the new
 * one, a client relayed before the reload stays with the old. */
START_TEST(test_forward_reload)
{
	int		 aport, a = harness_listen_ip("127.0.0.1", 0, &aport);
	int		 bport, b = harness_listen_ip("127.0.0.1", 0, &bport);
	struct hdaemon	*d = start_forward("localhost", aport, NULL);
	int		 fport = hd_port(d, "fwd"), c1, c2, s1, s2;
	char		*cfg;

	c1 = hc_connect_ok(fport);
	ck_assert_int_ge(s1 = harness_accept(a, 5000), 0);
	/* The same listen address keeps its socket (and port). */
	cfg = harness_fmt("service fwd {\n"
	    "    listen 127.0.0.1:0\n"
	    "    forward localhost:%d\n"
	    "}\n", bport);
	hd_rewrite_config(d, cfg);
	free(cfg);
	hd_mark(d);
	ck_assert_int_eq(hd_reload(d), 0);
	HD_EXPECT_LOG(d, "configuration reloaded: 1 service", 5000);
	c2 = hc_connect_ok(hd_port(d, "fwd"));
	ck_assert_int_ge(s2 = harness_accept(b, 5000), 0);
	ck_assert(hc_send_str(c2, "to the new backend\n"));
	read_exactly(s2, "to the new backend\n");
	ck_assert(hc_send_str(c1, "still to the old one\n"));
	read_exactly(s1, "still to the old one\n");
	hc_close(c1);
	hc_close(c2);
	hc_close(s1);
	hc_close(s2);
	hc_close(a);
	hc_close(b);
	hd_finish(d);
}
END_TEST

/* Sends until nothing more is taken for a second; returns the bytes. */
static size_t
flood(int fd)
{
	static char	buf[65536];
	size_t		total = 0;

	memset(buf, 'f', sizeof buf);
	while (total < (size_t)512 * 1024 * 1024) {
		struct pollfd p = { fd, POLLOUT, 0 };
		ssize_t n;

		if (hc_poll(&p, 1, 1000) <= 0)
			break;
		n = hc_send(fd, buf, sizeof buf);
		if (n > 0)
			total += (size_t)n;
		else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			break;
	}
	return total;
}

static size_t
drain(int fd, size_t want)
{
	static char	buf[65536];
	size_t		got = 0, n;

	while (got < want && (n = hc_read_n(fd, buf, want - got <
	    sizeof buf ? want - got : sizeof buf, 5000)) > 0)
		got += n;
	return got;
}

/* Neither a client nor a backend that stops reading makes harbord buffer
 * without bound; what was sent arrives in full once they read again. */
START_TEST(test_forward_backpressure)
{
	int		 lport, lfd = harness_listen_ip("127.0.0.1", 0, &lport);
	struct hdaemon	*d = start_forward("127.0.0.1", lport, NULL);
	long		 rss0 = -1, rss1;
	size_t		 sent;
	int		 c, b, dir;

	for (dir = 0; dir < 2; dir++) {
		c = hc_connect_ok(hd_port(d, "fwd"));
		ck_assert_int_ge(b = harness_accept(lfd, 5000), 0);
		if (harness_have_proc())
			rss0 = harness_proc_rss_kb(hd_serving_pid(d));
		/* dir 0: the client floods a backend that does not read;
		 * dir 1: the backend floods a client that does not read. */
		sent = flood(dir == 0 ? c : b);
		/* Without backpressure harbord would take all flood() offers
		 * (512 MiB); with it, the sender stops at socket buffers. */
		ck_assert_uint_lt(sent, 64 * 1024 * 1024);
		if (rss0 != -1) {
			rss1 = harness_proc_rss_kb(hd_serving_pid(d));
			HD_ASSERT(d, rss1 - rss0 < 16 * 1024, "harbord grew from %ld "
			    "to %ld KiB relaying %zu bytes nobody read", rss0,
			    rss1, sent);
		}
		ck_assert_uint_eq(drain(dir == 0 ? b : c, sent), sent);
		hc_close(c);
		hc_close(b);
	}
	hc_close(lfd);
	hd_finish(d);
}
END_TEST

/* --- a socket that does not splice ---------------------------------------- */

#if HAVE_DECL_SPLICE && HAVE_DECL_SPLICE_F_NONBLOCK && !defined(_WIN32)
#define RELAY_SPLICES	1
#endif
#ifdef RELAY_SPLICES
static const char	*splice_shim;		/* built, or NULL */
static const char	*splice_shim_why;	/* why not */

/* Before the case's tests: the harness empties its directory after each
 * case. */
static void
splice_shim_build(void)
{
	splice_shim = preload_build("splice-shim", &splice_shim_why);
}

/* Streams through forward and exec when splice(2) refuses sockets at `end`
 * ("from": those read, "to": those written), as the kernel refuses one
 * that cannot splice: each relay goes on with copies, with what its pipe
 * already held, and every byte arrives once and in order. */
static void
expect_copies_when_refused(const char *end)
{
	struct hdaemon	*backend, *d;
	char		*dir, *path, *cfg, *refused, *p;
	int		 n = 0;

	if (splice_shim == NULL)
		HARNESS_SKIP("%s", splice_shim_why);
	dir = harness_fmt("%s/splice.%s.%ld", harness_tmpdir(), end,
	    (long)getpid());
	ck_assert_msg(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir,
	    strerror(errno));
	ck_assert(setenv("HARBOR_SHIM_DIR", dir, 1) == 0);
	ck_assert(setenv("HARBOR_SHIM_SPLICE", end, 1) == 0);
	preload_use(splice_shim);
	backend = hd_start("service echo {\n"
	    "    listen 127.0.0.1:0\n"
	    "    handler echo\n"
	    "}\n", NULL);
	cfg = harness_fmt("service fwd {\n"
	    "    listen 127.0.0.1:0\n"
	    "    forward 127.0.0.1:%d\n"
	    "}\n"
	    "service cat {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/cat\n"
	    "}\n", hd_port(backend, "echo"));
	d = hd_start(cfg, NULL);
	free(cfg);
	expect_echo_half_closed(d, hd_port(d, "fwd"), 3 * 1024 * 1024 + 7, 23);
	expect_echo_half_closed(d, hd_port(d, "cat"), 3 * 1024 * 1024 + 9, 29);
	/* Each session streamed both ways, and its pipes were refused. */
	path = harness_fmt("%s/refused", dir);
	refused = harness_read_file(path);
	for (p = refused; p != NULL && (p = strchr(p, '\n')) != NULL; p++)
		n++;
	HD_ASSERT(d, n >= 2, "splice refused %d times: the copies were not "
	    "taken", n);
	free(refused);
	free(path);
	free(dir);
	hd_finish(d);
	hd_finish(backend);
}

START_TEST(test_relay_socket_not_read_by_splice)
{
	expect_copies_when_refused("from");
}
END_TEST

START_TEST(test_relay_socket_not_written_by_splice)
{
	expect_copies_when_refused("to");
}
END_TEST
#endif /* RELAY_SPLICES */

int
main(void)
{
	Suite	*s = suite_create("relay");
	TCase	*tc = harness_tcase("exec");

	harness_init();
	tcase_add_test(tc, test_exec_cat_half_close);
	tcase_add_test(tc, test_exec_reply_after_client_fin);
	tcase_add_test(tc, test_exec_environment);
	tcase_add_test(tc, test_exec_stderr_and_exit);
	tcase_add_test(tc, test_exec_stderr_tail_kept);
	tcase_add_test(tc, test_exec_stderr_flood);
	tcase_add_test(tc, test_exec_killed_by_signal);
	tcase_add_test(tc, test_exec_no_fd_leaks);
	tcase_add_test(tc, test_exec_max_children);
	tcase_add_test(tc, test_exec_timeout_stops_child);
	tcase_add_test(tc, test_exec_group_stopped);
	tcase_add_test(tc, test_exec_leftovers_count);
	tcase_add_test(tc, test_exec_backpressure);
	tcase_add_test(tc, test_exec_as_user);
	suite_add_tcase(s, tc);
	tc = harness_tcase("forward");
	tcase_add_test(tc, test_forward_to_echo);
	tcase_add_test(tc, test_forward_half_close_both_ways);
	tcase_add_test(tc, test_forward_refused);
	tcase_add_test(tc, test_forward_loop);
	tcase_add_test(tc, test_forward_loop_through_services);
	tcase_add_test(tc, test_forward_connect_timeout);
	tcase_add_loop_test(tc, test_forward_send_proxy, 0, 2);
	tcase_add_test(tc, test_forward_send_proxy_to_harbord);
	tcase_add_test(tc, test_forward_backpressure);
	tcase_add_test(tc, test_forward_reload);
	suite_add_tcase(s, tc);
#ifdef RELAY_SPLICES
	tc = harness_tcase("splice");
	tcase_add_unchecked_fixture(tc, splice_shim_build, NULL);
	tcase_add_test(tc, test_relay_socket_not_read_by_splice);
	tcase_add_test(tc, test_relay_socket_not_written_by_splice);
	suite_add_tcase(s, tc);
#else
	check_skip("test_relay_socket_not_read_by_splice and "
	    "test_relay_socket_not_written_by_splice",
	    "harbord relays with copies only here");
#endif
	return harness_run_suite(s);
}
