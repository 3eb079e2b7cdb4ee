/*
 * integration_activation.c -- harbord started as systemd starts a service
 * of a .socket unit: listening sockets passed as descriptors 3 on, with
 * LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES.  A listen address bound by a
 * passed socket takes it (no bind of its own: the test holds the port, so
 * a bind would fail); a passed socket no service claims is said and
 * closed; no program harbord runs sees the variables; and a passed
 * socket is used as it was bound (its SO_REUSEPORT).
 */
#include "harness.h"	/* first: feature macros */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#endif

#include <check.h>

#include "check-run.h"

#ifndef _WIN32
/* A TCP socket listening on 127.0.0.1, its port in *port. */
static int
listening(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* What harbord wrote until it wrote want (or timeout_ms passed). */
static bool
read_until(int fd, char *buf, size_t cap, size_t *len, const char *want,
    int timeout_ms)
{
	long long	deadline = harness_now_ms() + timeout_ms;
	struct pollfd	p = { fd, POLLIN, 0 };
	ssize_t		n;
	int		left;

	while (strstr(buf, want) == NULL) {
		left = (int)(deadline - harness_now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return false;
		if ((n = read(fd, buf + *len, cap - 1 - *len)) <= 0)
			return false;
		*len += (size_t)n;
		buf[*len] = '\0';
	}
	return true;
}

/* alone: harbord started as nobody, as one process (the test is root);
 * otherwise as the test runs, which as root is two. */
static void
passed_sockets(bool alone)
{
	static char	 out[65536];
	char		*conf, *path, *want, *envfile, *seen;
	int		 echo_fd, spare_fd, echo_port, spare_port, p[2], fd, st;
	size_t		 len = 0;
	pid_t		 pid;

	echo_fd = listening(&echo_port);
	spare_fd = listening(&spare_port);
	envfile = harness_fmt("%s/activation-env", harness_tmpdir());
	(void)unlink(envfile);
	conf = harness_fmt("control-socket none\n"
	    "service echo {\n    listen 127.0.0.1:%d\n    handler echo\n}\n"
	    "service env {\n    listen 127.0.0.1:0\n"
	    "    exec /bin/sh -c \"env >%s\"\n}\n", echo_port,
	    alone ? "/dev/null" : envfile);
	if (alone) {
		/* Where nobody reads it. */
		path = harness_fmt("/tmp/harbord-activation.%ld.conf",
		    (long)getpid());
		harness_write_file(path, conf);
		ck_assert_int_eq(chmod(path, 0644), 0);
	} else {
		char *full = harness_daemon_config(conf);

		path = harness_write_temp("harbord.conf", full);
		free(full);
	}
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		char	num[32];

		/* As systemd passes them: 3 on, no gaps, named. */
		if (dup2(p[1], 1) == -1 || dup2(p[1], 2) == -1 ||
		    dup2(echo_fd, 3) == -1 || dup2(spare_fd, 4) == -1)
			_exit(127);
		/* Only the two, as descriptors 3 and 4. */
		if (echo_fd > 4)
			close(echo_fd);
		if (spare_fd > 4)
			close(spare_fd);
		close(p[0]);
		if (p[1] > 4)
			close(p[1]);
		if (alone && (setgid(65534) == -1 || setuid(65534) == -1))
			_exit(126);
		snprintf(num, sizeof num, "%ld", (long)getpid());
		setenv("LISTEN_PID", num, 1);
		setenv("LISTEN_FDS", "2", 1);
		setenv("LISTEN_FDNAMES", "echo:spare", 1);
		execl(harness_harbord(), harness_harbord(), "-d", "-f", path,
		    (char *)NULL);
		_exit(127);
	}
	harness_register_pid(pid);
	close(p[1]);
	/* Ours closed: what answers now is harbord's. */
	close(echo_fd);
	close(spare_fd);
	out[0] = '\0';
	want = harness_fmt("service echo listening on 127.0.0.1:%d", echo_port);
	ck_assert_msg(read_until(p[0], out, sizeof out, &len, want, 10000),
	    "harbord said: %s", out);
	ck_assert_msg(read_until(p[0], out, sizeof out, &len,
	    "service env listening on", 10000), "harbord said: %s", out);
	ck_assert_msg(strstr(out, "takes the listening socket on") != NULL, "%s", out);
	ck_assert_msg(!alone || strstr(out, "serving in one process") != NULL,
	    "%s", out);
	ck_assert_msg(read_until(p[0], out, sizeof out, &len, "named spare "
	    "(descriptor", 10000), "the spare socket is not said: %s", out);

	fd = hc_connect(echo_port);
	ck_assert(hc_echo_ok(fd, "passed\n"));
	hc_close(fd);
	ck_assert_int_eq(hc_connect_ip("127.0.0.1", spare_port, 2000), -1);

	/* The program of a service sees none of the variables. */
	if (!alone) {
		const char	*line = strstr(out, "service env listening on "
				    "127.0.0.1:");
		int		 port = atoi(line + strlen("service env "
				    "listening on 127.0.0.1:"));

		fd = hc_connect(port);
		(void)hc_wait_eof(fd, 5000, NULL);
		hc_close(fd);
		ck_assert_ptr_nonnull(seen = harness_wait_file(envfile, "PROTO=",
		    5000));
		ck_assert_msg(strstr(seen, "LISTEN_") == NULL, "%s", seen);
		free(seen);
	}
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(p[0]);
	(void)unlink(path);
	(void)unlink(envfile);
	free(envfile);
	free(want);
	free(path);
	free(conf);
}

START_TEST(test_passed_sockets)
{
	passed_sockets(false);
}
END_TEST

START_TEST(test_passed_sockets_alone)
{
	if (geteuid() != 0) {
		harness_skip_note("test_passed_sockets_alone", "not root: the "
		    "other test runs harbord as one process already");
		return;
	}
	passed_sockets(true);
}
END_TEST

#ifdef SO_REUSEPORT
/* A passed socket is used as the service manager bound it: for a
 * service with reuse-port yes, one without SO_REUSEPORT is said (it
 * cannot be given the option once bound), and serves. */
START_TEST(test_passed_socket_keeps_its_options)
{
	static char	 out[65536];
	char		*conf, *full, *path, *want;
	int		 lfd, port, p[2], fd, st;
	size_t		 len = 0;
	pid_t		 pid;

	lfd = listening(&port);
	conf = harness_fmt("control-socket none\n"
	    "service echo {\n    listen 127.0.0.1:%d\n    handler echo\n"
	    "    reuse-port yes\n}\n", port);
	full = harness_daemon_config(conf);
	path = harness_write_temp("harbord.conf", full);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		char	num[32];

		if (dup2(p[1], 1) == -1 || dup2(p[1], 2) == -1 ||
		    dup2(lfd, 3) == -1)
			_exit(127);
		if (lfd > 3)
			close(lfd);
		close(p[0]);
		if (p[1] > 3)
			close(p[1]);
		snprintf(num, sizeof num, "%ld", (long)getpid());
		setenv("LISTEN_PID", num, 1);
		setenv("LISTEN_FDS", "1", 1);
		execl(harness_harbord(), harness_harbord(), "-d", "-f", path,
		    (char *)NULL);
		_exit(127);
	}
	harness_register_pid(pid);
	close(p[1]);
	close(lfd);
	out[0] = '\0';
	want = harness_fmt("service echo listening on 127.0.0.1:%d", port);
	ck_assert_msg(read_until(p[0], out, sizeof out, &len, want, 10000),
	    "harbord said: %s", out);
	free(want);
	want = harness_fmt("service echo: the socket passed for 127.0.0.1:%d "
	    "has no SO_REUSEPORT, though reuse-port is yes: it is used as it "
	    "was bound", port);
	ck_assert_msg(strstr(out, want) != NULL, "not said: %s\nharbord "
	    "said: %s", want, out);
	fd = hc_connect(port);
	ck_assert(hc_echo_ok(fd, "as bound\n"));
	hc_close(fd);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(p[0]);
	free(want);
	free(path);
	free(full);
	free(conf);
}
END_TEST
#endif

#endif

int
main(void)
{
	Suite *s = suite_create("activation");
	TCase *tc = tcase_create("activation");

	harness_init();
	tcase_set_timeout(tc, 60);
	add_test_not_windows(tc, test_passed_sockets, "no socket activation on "
	    "Windows");
	add_test_not_windows(tc, test_passed_sockets_alone, "no socket "
	    "activation on Windows");
#ifdef SO_REUSEPORT
	tcase_add_test(tc, test_passed_socket_keeps_its_options);
#else
	check_skip("test_passed_socket_keeps_its_options", "no SO_REUSEPORT "
	    "(or no socket activation) here");
#endif
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
