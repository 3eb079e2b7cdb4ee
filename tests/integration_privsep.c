/*
 * integration_privsep.c -- harbord started as root: a privileged process
 * and a serving one.  What must keep working after the serving process has
 * become nobody: log rotation, reloads that bind low ports, reloads under
 * chroot, a relative -f, a serving process that dies; and what the starter
 * is told when the serving process cannot start.  Every test here needs
 * root and /proc, and says SKIP otherwise.
 */
#include "harness.h"	/* first: feature macros */

#include <sys/types.h>
#include <sys/stat.h>
#ifndef _WIN32
#include <sys/wait.h>
#include <pwd.h>
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check-run.h"

#define EXIT_CONFIG	78

#ifndef _WIN32
static bool
need_root(const char *test)
{
	if (geteuid() == 0 && harness_have_proc() &&
	    getpwnam("nobody") != NULL)
		return true;
	fprintf(stderr, "SKIP %s: needs root, /proc and a user nobody "
	    "(privilege separation)\n", test);
	return false;
}

/* A harbord that chroots goes unchecked for leaks in an AddressSanitizer
 * build: LeakSanitizer needs /proc at exit, which a jail lacks.  Check
 * forks each test, so the change stays in the test that makes it. */
static void
no_leak_check_in_jail(void)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char *opts = harness_fmt("%s%sdetect_leaks=0", asan != NULL ? asan : "",
	    asan != NULL && *asan ? ":" : "");

	setenv("ASAN_OPTIONS", opts, 1);
	free(opts);
}

/* The real uid of a process, from /proc: malloc'd. */
static char *
proc_uid(pid_t pid)
{
	char *path = harness_fmt("/proc/%ld/status", (long)pid);
	char *text = harness_read_file(path), *line;
	long uid = -1;

	free(path);
	if (text != NULL && (line = strstr(text, "\nUid:")) != NULL)
		uid = strtol(line + 5, NULL, 10);
	free(text);
	return harness_fmt("%ld", uid);
}

static int
count(const char *text, const char *s)
{
	int n = 0;

	for (; text != NULL && (text = strstr(text, s)) != NULL; text++)
		n++;
	return n;
}

/* A harbord that detached, as an init script starts it. */
struct detached {
	char	*dir;
	char	*log;
	char	*pidfile;
	pid_t	 pid;
	int	 port;		/* service echo's */
};

/* Starts `cd dir && harbord -f conf` with conf written into dir (so -f
 * may be relative), the log and pid file there too; waits for echo's
 * listening line. */
static void
detached_start(struct detached *dt, const char *name, const char *conf,
    const char *conf_arg)
{
	char *full, *path, *cmd, *text, *p;
	int st;

	dt->dir = harness_fmt("%s/%s", harness_tmpdir(), name);
	ck_assert_int_eq(mkdir(dt->dir, 0755), 0);
	dt->log = harness_fmt("%s/h.log", dt->dir);
	dt->pidfile = harness_fmt("%s/h.pid", dt->dir);
	full = harness_fmt("log file %s\npidfile %s\n%s", dt->log, dt->pidfile,
	    conf);
	path = harness_fmt("%s/h.conf", dt->dir);
	harness_write_file(path, full);
	cmd = harness_fmt("cd %s && %s -f %s", dt->dir, harness_harbord(),
	    conf_arg != NULL ? conf_arg : path);
	st = system(cmd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status "
	    "0x%x", cmd, st);
	text = harness_wait_file(dt->pidfile, "\n", 5000);
	ck_assert_msg(text != NULL, "no pid file %s", dt->pidfile);
	dt->pid = (pid_t)atol(text);
	free(text);
	harness_register_pid(dt->pid);
	text = harness_wait_file(dt->log, "service echo listening on 127.0.0.1:", 5000);
	ck_assert_msg(text != NULL, "no listening line in %s", dt->log);
	p = strstr(text, "service echo listening on 127.0.0.1:");
	dt->port = atoi(p + strlen("service echo listening on 127.0.0.1:"));
	free(text);
	free(cmd);
	free(path);
	free(full);
}

/* SIGTERM, then waits for the pid file to go. */
static void
detached_stop(struct detached *dt)
{
	long long deadline = harness_now_ms() + 15000;

	ck_assert_int_eq(kill(dt->pid, SIGTERM), 0);
	while (access(dt->pidfile, F_OK) == 0 && harness_now_ms() < deadline)
		harness_sleep_ms(20);
	ck_assert_msg(access(dt->pidfile, F_OK) == -1, "pid file %s still "
	    "there after SIGTERM", dt->pidfile);
}

static void
detached_free(struct detached *dt)
{
	free(dt->dir);
	free(dt->log);
	free(dt->pidfile);
}

static void
echo_once(int port, const char *msg)
{
	int fd = hc_connect_ok(port);

	ck_assert_msg(hc_echo_ok(fd, msg), "no echo of %s", msg);
	hc_close(fd);
}

/* mv + SIGUSR1, as logrotate does, with the serving process nobody: every
 * connection's line is in one file or the other, the new file is root's
 * to open, and nothing complains. */
START_TEST(test_rotation_loses_no_line)
{
	struct detached dt;
	char *rotated, *old, *new, *both, *want, *s;
	int i, port;

	if (!need_root("test_rotation_loses_no_line"))
		return;
	detached_start(&dt, "rotate", "user nobody\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n", NULL);
	port = dt.port;
	for (i = 0; i < 5; i++)
		echo_once(port, "before\n");
	rotated = harness_fmt("%s.1", dt.log);
	ck_assert_int_eq(rename(dt.log, rotated), 0);
	ck_assert_int_eq(kill(dt.pid, SIGUSR1), 0);
	new = harness_wait_file(dt.log, "log reopened", 5000);
	ck_assert_msg(new != NULL, "no 'log reopened' in a new %s", dt.log);
	free(new);
	for (i = 0; i < 5; i++)
		echo_once(port, "after\n");
	/* SIGHUP reopens it too, and must not complain either. */
	ck_assert_int_eq(kill(dt.pid, SIGHUP), 0);
	ck_assert_ptr_nonnull(s = harness_wait_file(dt.log, "configuration reloaded",
	    5000));
	free(s);
	detached_stop(&dt);

	old = harness_read_file(rotated);
	new = harness_read_file(dt.log);
	ck_assert_ptr_nonnull(old);
	ck_assert_ptr_nonnull(new);
	both = harness_fmt("%s%s", old, new);
	want = harness_fmt("service echo: closed 127.0.0.1:");
	ck_assert_msg(count(both, want) == 10, "%d of 10 closed lines in the "
	    "two files:\n--- old\n%s--- new\n%s", count(both, want), old, new);
	/* The five after it in the new file (the last before it may end
	 * there too: its client returns before the server logs the end). */
	ck_assert_int_ge(count(new, want), 5);
	ck_assert_msg(strstr(both, "cannot open log file") == NULL &&
	    strstr(both, "Permission denied") == NULL, "a complaint:\n%s",
	    both);
	ck_assert_ptr_nonnull(strstr(new, "notice: exiting"));
	free(want);
	free(both);
	free(old);
	free(new);
	free(rotated);
	detached_free(&dt);
}
END_TEST

/* A relative -f, detached (so in /): a reload reads the same file. */
START_TEST(test_relative_config_reloads)
{
	struct detached dt;
	char *text, *path, *full;

	if (!need_root("test_relative_config_reloads"))
		return;
	detached_start(&dt, "relative", "user nobody\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n", "h.conf");
	path = harness_fmt("%s/h.conf", dt.dir);
	full = harness_fmt("log file %s\npidfile %s\nuser nobody\n"
	    "service echo { listen 127.0.0.1:%d; handler echo }\n"
	    "service daytime { listen 127.0.0.1:0; handler daytime }\n",
	    dt.log, dt.pidfile, dt.port);
	harness_write_file(path, full);
	ck_assert_int_eq(kill(dt.pid, SIGHUP), 0);
	text = harness_wait_file(dt.log, "configuration reloaded: 2 services", 5000);
	ck_assert_msg(text != NULL, "no reload in %s", dt.log);
	ck_assert_msg(strstr(text, path) != NULL, "the reload does not name "
	    "%s:\n%s", path, text);
	ck_assert(strstr(text, "cannot open") == NULL);
	free(text);
	echo_once(dt.port, "kept\n");
	detached_stop(&dt);
	detached_free(&dt);
	free(full);
	free(path);
}
END_TEST

/* A free port below 1024 on 127.0.0.1, or 0. */
static int
free_low_port(void)
{
	int port, l;

	for (port = 1023; port > 900; port--) {
		if ((l = harness_listen_ip("127.0.0.1", port, NULL)) != -1) {
			hc_close(l);
			return port;
		}
	}
	return 0;
}

/* After the drop, a reload still binds a port below 1024: the
 * privileged process does. */
START_TEST(test_reload_binds_low_port)
{
	struct hdaemon *d;
	char *cfg, *want;
	int low = free_low_port(), fd;

	if (!need_root("test_reload_binds_low_port"))
		return;
	ck_assert_int_gt(low, 0);
	d = hd_start("user nobody\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n", NULL);
	cfg = harness_fmt("user nobody\n"
	    "service echo { listen 127.0.0.1:%d; handler echo }\n"
	    "service low { listen 127.0.0.1:%d; handler echo }\n",
	    hd_port(d, "echo"), low);
	hd_rewrite_config(d, cfg);
	hd_mark(d);
	ck_assert_int_eq(hd_reload(d), 0);
	HD_EXPECT_LOG(d, "configuration reloaded: 2 services", 5000);
	want = harness_fmt("service low listening on 127.0.0.1:%d", low);
	HD_EXPECT_LOG(d, want, 1000);
	fd = hc_connect_ok(low);
	ck_assert(hc_echo_ok(fd, "low\n"));
	hc_close(fd);
	/* Dropping it again closes it. */
	free(cfg);
	cfg = harness_fmt("user nobody\n"
	    "service echo { listen 127.0.0.1:%d; handler echo }\n",
	    hd_port(d, "echo"));
	hd_rewrite_config(d, cfg);
	hd_mark(d);
	ck_assert_int_eq(hd_reload(d), 0);
	HD_EXPECT_LOG(d, "configuration reloaded: 1 service", 5000);
	harness_sleep_ms(200);
	ck_assert_int_eq(hc_connect_ip("127.0.0.1", low, 1000), -1);
	free(want);
	free(cfg);
	hd_finish(d);
}
END_TEST

/* Under chroot a reload reads the file from outside the jail, and the
 * serving process stays inside it. */
START_TEST(test_reload_under_chroot)
{
	char *dir, *cfg, *link, target[4096];
	struct hdaemon *d;
	ssize_t n;
	int fd;

	if (!need_root("test_reload_under_chroot"))
		return;
	dir = harness_fmt("%s/jail", harness_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	no_leak_check_in_jail();
	cfg = harness_fmt("user nobody\nchroot %s\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n", dir);
	d = hd_start(cfg, NULL);
	free(cfg);
	cfg = harness_fmt("user nobody\nchroot %s\n"
	    "service echo { listen 127.0.0.1:%d; handler echo }\n"
	    "service daytime { listen 127.0.0.1:0; handler daytime }\n",
	    dir, hd_port(d, "echo"));
	hd_rewrite_config(d, cfg);
	hd_mark(d);
	ck_assert_int_eq(hd_reload(d), 0);
	HD_EXPECT_LOG(d, "configuration reloaded: 2 services", 5000);
	ck_assert_int_eq(hd_count_log(d, "reload failed"), 0);
	fd = hc_connect_ok(hd_port(d, "daytime"));
	{
		char buf[128];
		bool eof;

		ck_assert_uint_gt(hc_read_eof(fd, buf, sizeof buf, 5000, &eof),
		    0);
	}
	hc_close(fd);
	link = harness_fmt("/proc/%ld/root", (long)hd_serving_pid(d));
	n = readlink(link, target, sizeof target - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_str_eq(target, dir);
	free(link);
	hd_finish(d);
	rmdir(dir);
	free(cfg);
	free(dir);
}
END_TEST

/* SIGKILL to the serving process: the privileged one says so, starts
 * another, and the same port serves again. */
START_TEST(test_serving_process_restarted)
{
	struct hdaemon *d;
	pid_t first, second;
	int fd, port;

	if (!need_root("test_serving_process_restarted"))
		return;
	d = hd_start("user nobody\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n", NULL);
	port = hd_port(d, "echo");
	first = hd_serving_pid(d);
	hd_mark(d);
	ck_assert_int_eq(kill(first, SIGKILL), 0);
	HD_EXPECT_LOG(d, "the serving process was killed by signal 9; "
	    "starting another in 1000 ms", 5000);
	HD_EXPECT_LOG(d, "notice: harbord " HARBORD_VERSION " starting", 5000);
	second = hd_serving_pid(d);
	ck_assert_int_ne(first, second);
	fd = hc_connect_ok(port);
	ck_assert(hc_echo_ok(fd, "again\n"));
	hc_close(fd);
	ck_assert(hd_running(d));
	hd_finish(d);
}
END_TEST

/* When the serving process cannot start, the starter (detaching) prints
 * why and exits with its status; nothing is left running. */
START_TEST(test_serving_failure_reaches_starter)
{
	const char *args[4];
	char *dir, *path, *cfg;
	struct hrun r;

	if (!need_root("test_serving_failure_reaches_starter"))
		return;
	no_leak_check_in_jail();
	dir = harness_fmt("%s/failjail", harness_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	/* The quote file exists outside the jail, not inside it. */
	cfg = harness_fmt("user nobody\nchroot %s\npidfile %s/f.pid\n"
	    "service q { listen 127.0.0.1:0; handler qotd; "
	    "quote-file /etc/hostname }\n", dir, dir);
	path = harness_write_temp("fail.conf", cfg);
	args[0] = "-f";
	args[1] = path;
	args[2] = NULL;
	harness_run(args, 10000, &r);
	if (r.code != EXIT_CONFIG)
		fprintf(stderr, "exit %d\nstderr:\n%s\n", r.code, r.err);
	ck_assert_int_eq(r.code, EXIT_CONFIG);
	ck_assert_msg(strstr(r.err, "harbord: err: ") != NULL &&
	    strstr(r.err, "/etc/hostname") != NULL, "stderr:\n%s", r.err);
	harness_sleep_ms(100);
	free(cfg);
	cfg = harness_fmt("%s/f.pid", dir);
	ck_assert_msg(access(cfg, F_OK) == -1, "pid file left behind");
	harness_run_free(&r);
	free(cfg);
	free(path);
	free(dir);
}
END_TEST

/* -n and a start agree, on each thing a start checks as root, and say
 * where: each case's configuration, what -n prints (NULL: OK). */
struct agree_case {
	const char	*name;
	const char	*conf;		/* %s: a directory of the test's */
	const char	*error;		/* %s: the file's path */
};

static const struct agree_case agree_cases[] = {
	{ "no such user", "user nosuchuser\n"
	  "service e { listen 127.0.0.1:0; handler echo }\n",
	  "%s:1:6: user 'nosuchuser': no such user" },
	{ "no such group", "user nobody\ngroup nosuchgroup\n"
	  "service e { listen 127.0.0.1:0; handler echo }\n",
	  "%s:2:7: group 'nosuchgroup': no such group" },
	{ "a user by number", "user 65534\n"
	  "service e { listen 127.0.0.1:0; handler echo }\n", NULL },
	{ "no user: nobody", "service e { listen 127.0.0.1:0; "
	  "handler echo }\n", NULL },
	{ "chroot missing", "user nobody\nchroot %s/none\n"
	  "service e { listen 127.0.0.1:0; handler echo }\n",
	  "%s:2:8: chroot " },
	/* Its own user is the host's, not looked up in the empty jail. */
	{ "exec outside the jail", "user nobody\nchroot %s\n"
	  "service x {\n  listen 127.0.0.1:0\n  exec /bin/cat\n"
	  "  user daemon\n}\n",
	  "%s:5:8: service 'x': cannot run /bin/cat: No such file or "
	  "directory (inside the chroot " },
	{ "quote file nobody cannot read", "user nobody\n"
	  "service q { listen 127.0.0.1:0; handler qotd;\n"
	  "  quote-file %s/secret }\n",
	  "%s:3:14: service 'q': cannot open quote-file " },
};

START_TEST(test_check_agrees_with_start)
{
	const struct agree_case *c = &agree_cases[_i];
	char *dir, *conf, *path, *want = NULL, *secret;
	const char *args[5];
	struct hrun r;

	if (!need_root("test_check_agrees_with_start"))
		return;
	no_leak_check_in_jail();
	dir = harness_fmt("%s/agree%d", harness_tmpdir(), _i);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	secret = harness_fmt("%s/secret", dir);
	harness_write_file(secret, "only root reads this\n");
	ck_assert_int_eq(chmod(secret, 0600), 0);
	conf = harness_fmt(c->conf, dir);
	path = harness_write_temp("agree.conf", conf);
	if (c->error != NULL)
		want = harness_fmt(c->error, path);

	args[0] = "-n";
	args[1] = "-f";
	args[2] = path;
	args[3] = NULL;
	harness_run(args, 10000, &r);
	ck_assert_msg(c->error == NULL ? r.code == 0 : r.code == EXIT_CONFIG,
	    "%s: -n exit %d\n%s", c->name, r.code, r.err);
	if (want != NULL)
		ck_assert_msg(strstr(r.err, want) != NULL, "%s: -n said\n%s"
		    "without\n%s", c->name, r.err, want);
	/* A service's user is the host's, whatever a jail's /etc says. */
	ck_assert_msg(strstr(r.err, "no user 'daemon'") == NULL, "%s: -n "
	    "said\n%s", c->name, r.err);
	harness_run_free(&r);

	/* A start: stays up if -n said OK (stopped by the timeout then),
	 * or exits as -n did, saying the same. */
	args[0] = "-d";
	harness_run(args, c->error == NULL ? 1500 : 10000, &r);
	if (c->error == NULL)
		ck_assert_msg(r.code == -1, "%s: a start exited %d\n%s",
		    c->name, r.code, r.err);
	else {
		ck_assert_msg(r.code == EXIT_CONFIG, "%s: a start exited %d\n%s",
		    c->name, r.code, r.err);
		ck_assert_msg(strstr(r.err, want + strlen(path) + 1) != NULL,
		    "%s: a start said\n%s", c->name, r.err);
	}
	harness_run_free(&r);
	unlink(secret);
	rmdir(dir);
	free(want);
	free(path);
	free(conf);
	free(secret);
	free(dir);
}
END_TEST

/* An exec service with a user of its own, the serving process nobody:
 * the privileged process starts the program as that user, the serving
 * process learns when it ends (its max-children place comes back), and a
 * program cut off by a timeout is stopped through the privileged
 * process. */
START_TEST(test_exec_user_without_root)
{
	struct passwd *daemon_pw;
	struct hdaemon *d;
	char buf[64], *want;
	bool eof;
	size_t n;
	int fd, i;

	if (!need_root("test_exec_user_without_root"))
		return;
	/* After need_root's getpwnam, whose result this one replaces. */
	daemon_pw = getpwnam("daemon");
	ck_assert_msg(daemon_pw != NULL, "no user daemon here");
	d = hd_start("user nobody\n"
	    "service idu {\n  listen 127.0.0.1:0\n  exec /usr/bin/id -u\n"
	    "  user daemon\n  max-children 1\n}\n"
	    "service slow {\n  listen 127.0.0.1:0\n  exec /bin/sleep 30\n"
	    "  user daemon\n  session-timeout 500ms\n}\n", NULL);
	want = harness_fmt("%ld\n", (long)daemon_pw->pw_uid);
	for (i = 0; i < 3; i++) {
		fd = hc_connect_ok(hd_port(d, "idu"));
		n = hc_read_eof(fd, buf, sizeof buf - 1, 5000, &eof);
		buf[n] = '\0';
		ck_assert_msg(eof && strcmp(buf, want) == 0, "client %d: the "
		    "program said '%s', not '%s'", i, buf, want);
		hc_close(fd);
		/* Its end, told by the privileged process, gives the one
		 * max-children place back for the next. */
		ck_assert(hd_wait_count(d, "exited with status 0", i + 1,
		    5000));
	}
	free(want);
	want = proc_uid(hd_serving_pid(d));
	ck_assert_msg(strcmp(want, "65534") == 0, "serving uid %s", want);
	free(want);

	hd_mark(d);
	fd = hc_connect_ok(hd_port(d, "slow"));
	HD_EXPECT_LOG(d, "killed by signal 15", 5000);
	(void)hc_read_eof(fd, buf, sizeof buf, 5000, &eof);
	ck_assert(eof);
	hc_close(fd);
	ck_assert_int_eq(hd_count_log(d, "refused to"), 0);
	hd_finish(d);
}
END_TEST

/* SIGHUPs in a row: one that comes while another is being applied is
 * done after it, from the file as it is then. */
START_TEST(test_reloads_in_a_row)
{
	struct hdaemon *d;
	char *cfg;
	int echo, i;

	if (!need_root("test_reloads_in_a_row"))
		return;
	d = hd_start("user nobody\n"
	    "service echo { listen 127.0.0.1:0; handler echo }\n", NULL);
	echo = hd_port(d, "echo");
	hd_mark(d);
	for (i = 0; i < 3; i++) {
		cfg = harness_fmt("user nobody\n"
		    "service echo { listen 127.0.0.1:%d; handler echo }\n"
		    "service s%d { listen 127.0.0.1:0; handler discard }\n",
		    echo, i);
		hd_rewrite_config(d, cfg);
		free(cfg);
		ck_assert_int_eq(hd_reload(d), 0);
	}
	HD_EXPECT_LOG(d, "service s2 listening on 127.0.0.1:", 5000);
	ck_assert(hd_wait_log(d, "configuration reloaded: 2 services", 5000));
	ck_assert_int_eq(hd_count_log(d, "reload failed"), 0);
	echo_once(echo, "after three\n");
	hd_finish(d);
}
END_TEST
#endif /* !_WIN32 */

int
main(void)
{
	Suite *s = suite_create("privsep");
	TCase *tc = tcase_create("privsep");

	harness_init();
	tcase_set_timeout(tc, 60);
#ifndef _WIN32
	tcase_add_test(tc, test_rotation_loses_no_line);
	tcase_add_test(tc, test_relative_config_reloads);
	tcase_add_test(tc, test_reload_binds_low_port);
	tcase_add_test(tc, test_reload_under_chroot);
	tcase_add_test(tc, test_serving_process_restarted);
	tcase_add_test(tc, test_serving_failure_reaches_starter);
	tcase_add_test(tc, test_exec_user_without_root);
	tcase_add_test(tc, test_reloads_in_a_row);
	tcase_add_loop_test(tc, test_check_agrees_with_start, 0,
	    (int)(sizeof agree_cases / sizeof agree_cases[0]));
#else
	check_skip("privsep", "no root, no fork, no privilege separation on "
	    "Windows");
#endif
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
