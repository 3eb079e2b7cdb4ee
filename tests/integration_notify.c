/*
 * integration_notify.c -- harbord under a service manager that speaks
 * systemd's readiness protocol: READY=1 once it serves, RELOADING=1 (with
 * MONOTONIC_USEC) and READY=1 around each reload, a STATUS= that says
 * what failed, STOPPING=1 when it stops; and no program it runs sees
 * NOTIFY_SOCKET.  The test is the manager: it binds the datagram socket.
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
#include <sys/un.h>
#include <unistd.h>
#endif

#include <check.h>

#include "check-run.h"

#ifndef _WIN32
/* The manager's end: bound at a path in the test's directory, and named
 * to harbord by NOTIFY_SOCKET. */
static int
manager_socket(void)
{
	struct sockaddr_un	sun;
	char			*path;
	int			fd;

	path = harness_fmt("%s/notify.sock", harness_tmpdir());
	(void)unlink(path);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof sun.sun_path);
	strcpy(sun.sun_path, path);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
	free(path);
	return fd;
}

/* The next message that holds want, within timeout_ms; malloc'd, or NULL.
 * The messages before it are passed over. */
static char *
expect_message(int fd, const char *want, int timeout_ms)
{
	long long	deadline = harness_now_ms() + timeout_ms;
	struct pollfd	p = { fd, POLLIN, 0 };
	char		buf[2048];
	ssize_t		n;
	int		left;

	for (;;) {
		if ((left = (int)(deadline - harness_now_ms())) <= 0)
			return NULL;
		if (poll(&p, 1, left) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof buf - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			return harness_fmt("%s", buf);
	}
}

START_TEST(test_readiness_protocol)
{
	struct hdaemon	*d;
	char		*m, *bad;
	int		 fd = manager_socket(), env, port;
	char		 buf[4096];
	size_t		 n;
	bool		 eof;

	d = hd_start("service echo { listen 127.0.0.1:0; handler echo }\n"
	    "service env { listen 127.0.0.1:0; exec /usr/bin/env }\n", NULL);
	m = expect_message(fd, "READY=1", 5000);
	ck_assert_msg(m != NULL, "no READY=1");
	ck_assert_msg(strstr(m, "STATUS=") != NULL && strstr(m,
	    "2 services") != NULL, "READY without the services: %s", m);
	free(m);

	/* What harbord runs does not see the manager's socket. */
	env = hd_port(d, "env");
	{
		int c = hc_connect_ok(env);

		n = hc_read_eof(c, buf, sizeof buf - 1, 5000, &eof);
		buf[n] = '\0';
		hc_close(c);
		ck_assert_msg(strstr(buf, "TCPREMOTEIP=") != NULL, "no env: %s",
		    buf);
		ck_assert_msg(strstr(buf, "NOTIFY_SOCKET") == NULL, "a program "
		    "saw NOTIFY_SOCKET:\n%s", buf);
	}

	/* A reload: RELOADING=1 with the time, then READY=1. */
	ck_assert_int_eq(hd_reload(d), 0);
	m = expect_message(fd, "RELOADING=1", 5000);
	ck_assert_msg(m != NULL && strstr(m, "\nMONOTONIC_USEC=") != NULL,
	    "RELOADING: %s", m != NULL ? m : "none");
	free(m);
	ck_assert_ptr_nonnull(m = expect_message(fd, "READY=1", 5000));
	free(m);

	/* A reload that fails says why, and harbord stays ready. */
	port = hd_port(d, "echo");
	bad = harness_fmt("service echo { listen 127.0.0.1:%d; handler echo; "
	    "lisen x }\n", port);
	hd_rewrite_config(d, bad);
	ck_assert_int_eq(hd_reload(d), 0);
	m = expect_message(fd, "STATUS=reload failed", 5000);
	ck_assert_msg(m != NULL, "no failed reload said");
	ck_assert_msg(strstr(m, "READY=1") != NULL && strstr(m, ":1:") != NULL,
	    "the failure: %s", m);
	free(m);
	free(bad);

	ck_assert_int_eq(hd_signal(d, SIGTERM), 0);
	ck_assert_ptr_nonnull(m = expect_message(fd, "STOPPING=1", 5000));
	free(m);
	hd_finish(d);
	(void)close(fd);
}
END_TEST
#endif

int
main(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	harness_init();
	tcase_set_timeout(tc, 60);
#ifndef _WIN32
	tcase_add_test(tc, test_readiness_protocol);
#else
	check_skip("test_readiness_protocol", "no service manager protocol on "
	    "Windows");
#endif
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
