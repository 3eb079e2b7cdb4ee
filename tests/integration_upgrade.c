/*
 * integration_upgrade.c -- harborctl upgrade (and SIGUSR2): a new harbord
 * takes over the listening sockets while a client connects about a
 * thousand times a second, none refused or reset; a connection open
 * before finishes on the old one; the control socket and the pid file go
 * to the new one; and a new harbord that cannot start leaves the old one
 * serving.
 */
#include "harness.h"	/* first: feature macros */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <check.h>

#include "check-run.h"

#ifndef _WIN32
struct hammer {
	int		 port;
	atomic_int	 stop;
	unsigned	 ok, failed;
	char		 first_error[128];
};

/* Connect, say a line, hear it back, close: over and over, counting. */
static void *
hammer_main(void *arg)
{
	struct hammer	*h = arg;
	int		 fd;

	while (!atomic_load(&h->stop)) {
		fd = hc_connect_ip("127.0.0.1", h->port, 2000);
		if (fd != -1 && hc_echo_ok(fd, "ping\n"))
			h->ok++;
		else {
			if (h->failed++ == 0)
				snprintf(h->first_error, sizeof h->first_error,
				    "%s after %u good", fd == -1 ?
				    "connect failed" : "no echo", h->ok);
		}
		if (fd != -1)
			hc_close(fd);
		harness_sleep_ms(1);
	}
	return NULL;
}

/* The privileged (or only) process of the harbord that answers now. */
static long
serving_main_pid(struct hdaemon *d)
{
	struct hrun	 r;
	const char	*p;
	long		 pid;

	hd_ctl(d, &r, "-j", "status");
	ck_assert_int_eq(r.code, 0);
	p = strstr(r.out, "\"privileged_pid\":");
	ck_assert_ptr_nonnull(p);
	pid = strtol(p + 17, NULL, 10);
	if (pid <= 0) {
		p = strstr(r.out, "\"pid\":");
		pid = strtol(p + 6, NULL, 10);
	}
	harness_run_free(&r);
	return pid;
}

static const char conf_text[] =
    "service echo {\n    listen 127.0.0.1:0\n    handler echo\n}\n";

START_TEST(test_upgrade_under_load)
{
	struct hdaemon	*d;
	struct hammer	 h;
	struct hrun	 r;
	pthread_t	 t;
	char		*pidfile, *conf, *text;
	long		 old_pid, new_pid;
	int		 held;

	pidfile = harness_fmt("%s/upgrade.pid", harness_tmpdir());
	conf = harness_fmt("pidfile %s\n%s", pidfile, conf_text);
	d = hd_start(conf, NULL);
	old_pid = serving_main_pid(d);
	ck_assert_int_eq(old_pid, (long)hd_pid(d));

	held = hc_connect(hd_port(d, "echo"));
	ck_assert(hc_echo_ok(held, "before\n"));
	memset(&h, 0, sizeof h);
	atomic_init(&h.stop, 0);
	h.port = hd_port(d, "echo");
	ck_assert_int_eq(pthread_create(&t, NULL, hammer_main, &h), 0);
	harness_sleep_ms(500);

	hd_ctl(d, &r, "upgrade", NULL);
	ck_assert_msg(r.code == 0, "upgrade: %d %s%s", r.code, r.out, r.err);
	ck_assert_msg(strstr(r.out, "upgraded") != NULL, "%s", r.out);
	harness_run_free(&r);
	harness_sleep_ms(1000);
	atomic_store(&h.stop, 1);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(h.failed == 0, "%u of %u clients failed: %s", h.failed,
	    h.ok + h.failed, h.first_error);
	ck_assert_uint_gt(h.ok, 200);

	/* The control socket and the pid file are the new one's. */
	new_pid = serving_main_pid(d);
	ck_assert_int_ne(new_pid, old_pid);
	harness_register_pid((pid_t)new_pid);
	ck_assert_ptr_nonnull(text = harness_read_file(pidfile));
	ck_assert_int_eq(strtol(text, NULL, 10), new_pid);
	free(text);

	/* The connection from before finishes on the old one, which then
	 * exits, as from SIGTERM. */
	ck_assert(hc_echo_ok(held, "after\n"));
	hc_close(held);
	ck_assert_int_eq(hd_wait_exit(d, 15000), 0);
	hd_free(d);

	/* The new one stops as any harbord. */
	ck_assert_int_eq(kill((pid_t)new_pid, SIGTERM), 0);
	{
		long long deadline = harness_now_ms() + 15000;

		while (kill((pid_t)new_pid, 0) == 0 &&
		    harness_now_ms() < deadline)
			harness_sleep_ms(50);
		ck_assert_msg(kill((pid_t)new_pid, 0) == -1, "the new harbord "
		    "did not stop");
	}
	(void)unlink(pidfile);
	free(conf);
	free(pidfile);
}
END_TEST

START_TEST(test_failed_upgrade_keeps_serving)
{
	struct hdaemon	*d = hd_start(conf_text, NULL);
	struct hrun	 r;
	char		*bad;
	long		 pid = serving_main_pid(d);
	int		 fd;

	/* What the new harbord would read fails to load. */
	bad = harness_fmt("%sservice broken {\n", conf_text);
	hd_rewrite_config(d, bad);
	hd_ctl(d, &r, "upgrade", NULL);
	ck_assert_msg(r.code == 1, "upgrade: %d %s%s", r.code, r.out, r.err);
	ck_assert_msg(strstr(r.err, "the new harbord ended before it served")
	    != NULL, "%s", r.err);
	harness_run_free(&r);
	ck_assert(hd_wait_log(d, "upgrade failed", 5000));
	ck_assert_int_eq(serving_main_pid(d), pid);
	fd = hc_connect(hd_port(d, "echo"));
	ck_assert(hc_echo_ok(fd, "still\n"));
	hc_close(fd);

	/* SIGUSR2 does the same, and a good binary and file succeed. */
	hd_rewrite_config(d, conf_text);
	ck_assert_int_eq(hd_signal(d, SIGUSR2), 0);
	ck_assert(hd_wait_log(d, "upgraded: harbord pid", 15000));
	/* The old one's serving process leaves the control socket to the
	 * new one as soon as it hears. */
	{
		long long deadline = harness_now_ms() + 5000;

		while ((pid = serving_main_pid(d)) == (long)hd_pid(d) &&
		    harness_now_ms() < deadline)
			harness_sleep_ms(50);
	}
	ck_assert_int_ne(pid, (long)hd_pid(d));
	harness_register_pid((pid_t)pid);
	ck_assert_int_eq(hd_wait_exit(d, 15000), 0);
	hd_free(d);
	ck_assert_int_eq(kill((pid_t)pid, SIGTERM), 0);
	{
		long long deadline = harness_now_ms() + 15000;

		while (kill((pid_t)pid, 0) == 0 && harness_now_ms() < deadline)
			harness_sleep_ms(50);
	}
	free(bad);
}
END_TEST

/* As one process (not root): the same, without a privileged process. */
START_TEST(test_upgrade_alone)
{
	char		*dir, *conf, *path, *sock;
	const char	*ctlp = harness_harborctl();
	struct hrun	 r;
	long		 new_pid;
	pid_t		 pid;
	int		 st, port, lfd, fd = -1;

	if (geteuid() != 0) {
		harness_skip_note("test_upgrade_alone", "not root: the other "
		    "tests run harbord as one process already");
		return;
	}
	/* A port of our choosing, free: the two processes share it. */
	lfd = harness_listen_ip("127.0.0.1", 0, &port);
	close(lfd);
	dir = harness_fmt("/tmp/harbord-upgrade.%ld", (long)getpid());
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	sock = harness_fmt("%s/ctl.sock", dir);
	path = harness_fmt("%s/h.conf", dir);
	conf = harness_fmt("control-socket %s\npidfile %s/h.pid\n"
	    "service echo {\n    listen 127.0.0.1:%d\n    handler echo\n}\n",
	    sock, dir, port);
	harness_write_file(path, conf);
	ck_assert_int_eq(chmod(path, 0644), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int	null = open("/dev/null", O_WRONLY);

		if (null == -1 || dup2(null, 1) == -1 || dup2(null, 2) == -1 ||
		    setgid(65534) == -1 || setuid(65534) == -1)
			_exit(126);
		execl(harness_harbord(), harness_harbord(), "-d", "-f", path,
		    (char *)NULL);
		_exit(127);
	}
	harness_register_pid(pid);
	{
		long long deadline = harness_now_ms() + 10000;

		while ((access(sock, F_OK) != 0 ||
		    (fd = hc_connect_ip("127.0.0.1", port, 1000)) == -1) &&
		    harness_now_ms() < deadline)
			harness_sleep_ms(50);
		ck_assert_msg(access(sock, F_OK) == 0, "harbord as nobody "
		    "did not start");
		if (fd != -1)
			hc_close(fd);
	}
	fd = hc_connect(port);
	ck_assert(hc_echo_ok(fd, "before\n"));
	{
		const char *a[] = { "-s", sock, "upgrade", NULL };

		harness_run_program(ctlp, a, 40000, &r);
		ck_assert_msg(r.code == 0, "upgrade: %d %s%s", r.code, r.out,
		    r.err);
		harness_run_free(&r);
	}
	{
		const char *a[] = { "-s", sock, "-j", "status", NULL };
		const char *p;

		harness_run_program(ctlp, a, 10000, &r);
		ck_assert_int_eq(r.code, 0);
		ck_assert_ptr_nonnull(p = strstr(r.out, "\"pid\":"));
		new_pid = strtol(p + 6, NULL, 10);
		ck_assert_int_ne(new_pid, (long)pid);
		harness_register_pid((pid_t)new_pid);
		harness_run_free(&r);
	}
	/* The old one finishes the connection it has, then exits 0. */
	ck_assert(hc_echo_ok(fd, "after\n"));
	hc_close(fd);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fd = hc_connect(port);
	ck_assert(hc_echo_ok(fd, "new\n"));
	hc_close(fd);
	ck_assert_int_eq(kill((pid_t)new_pid, SIGTERM), 0);
	{
		long long deadline = harness_now_ms() + 15000;

		while (kill((pid_t)new_pid, 0) == 0 &&
		    harness_now_ms() < deadline)
			harness_sleep_ms(50);
	}
	{
		char *f = harness_fmt("%s/h.pid", dir);

		(void)unlink(f);
		free(f);
	}
	(void)unlink(sock);
	(void)unlink(path);
	(void)rmdir(dir);
	free(dir);
	free(sock);
	free(path);
	free(conf);
}
END_TEST
#endif

int
main(void)
{
	Suite *s = suite_create("upgrade");
	TCase *tc = tcase_create("upgrade");

	harness_init();
	tcase_set_timeout(tc, 90);
	add_test_not_windows(tc, test_upgrade_under_load, "no upgrade on "
	    "Windows: no descriptors to pass to a new process");
	add_test_not_windows(tc, test_failed_upgrade_keeps_serving, "no "
	    "upgrade on Windows");
	add_test_not_windows(tc, test_upgrade_alone, "no upgrade on Windows");
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
