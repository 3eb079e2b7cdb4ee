/*
 * integration_control.c -- harborctl and the control socket against a
 * running harbord: status and its counts, the connections and dropping
 * one, draining and resuming a service (over a reload too), reload with
 * its result, log-reopen, stop; the socket file's mode, its removal at
 * exit, a stale one replaced and a live one left alone; and a client that
 * sends garbage, too much or nothing, which changes nothing.
 */
#include "harness.h"	/* first: feature macros */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#endif

#include <check.h>

#include "check-run.h"
#include "control.h"

static const char echo_conf[] =
    "service echo {\n"
    "    listen 127.0.0.1:0\n"
    "    handler echo\n"
    "}\n"
    "service daytime {\n"
    "    listen 127.0.0.1:0\n"
    "    handler daytime\n"
    "}\n";

static struct hdaemon *
start(const char *conf)
{
	if (harness_harborctl() == NULL)
		ck_abort_msg("HARBORCTL does not name harborctl");
	return hd_start(conf, NULL);
}

/* harborctl CMD [ARG]: its exit code, its output kept in r. */
static int
ctl(struct hdaemon *d, struct hrun *r, const char *cmd, const char *arg)
{
	hd_ctl(d, r, cmd, arg);
	return r->code;
}

#ifdef _WIN32
/* The key and port its control file at path says. */
static int
control_file(const char *path, char key[CTL_KEY_SIZE])
{
	char	*text = harness_read_file(path), why[64];
	int	 port;

	ck_assert_msg(text != NULL, "no control file %s", path);
	ck_assert_msg(ctl_keyfile_parse(text, &port, key, why,
	    sizeof why) == 0, "%s: %s: %s", path, why, text);
	free(text);
	return port;
}
#endif

/* Connected to the control socket by hand, having sent the key where the
 * channel wants one and with_key says so. */
static int
raw_connect(const char *path, bool with_key)
{
	int	fd;
#ifdef _WIN32
	char	key[CTL_KEY_SIZE], line[96];

	fd = hc_connect_ok(control_file(path, key));
	if (with_key) {
		ck_assert_int_gt(ctl_key_line(line, sizeof line, key), 0);
		ck_assert(hc_send_str(fd, line));
	}
#else
	struct sockaddr_un	sun;

	(void)with_key;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
#endif
	return fd;
}

/* What it answers to the bytes sent on a connection of raw_connect's. */
static char *
raw_exchange(int fd, const void *req, size_t len)
{
	char	buf[4096];
	size_t	n;
	bool	eof;

	ck_assert(hc_send_all(fd, req, len, 5000));
	n = hc_read_eof(fd, buf, sizeof buf - 1, 15000, &eof);
	hc_close(fd);
	buf[n] = '\0';
	return harness_fmt("%s", buf);
}

/* The control socket, by hand: what it answers to the bytes sent. */
static char *
raw_request(const char *path, const void *req, size_t len)
{
	return raw_exchange(raw_connect(path, true), req, len);
}

/* harbord -d -f cfg does not start, and says why. */
static void
start_fails(const char *cfg, const char *why)
{
	const char	*a[] = { "-d", "-f", cfg, NULL };
	struct hrun	 r;

	harness_run(a, 10000, &r);
	ck_assert_int_ne(r.code, 0);
	ck_assert_msg(strstr(r.err, why) != NULL, "%s", r.err);
	harness_run_free(&r);
}

/* The connection id the log gave the client last accepted by service. */
static char *
last_conn_id(struct hdaemon *d, const char *service)
{
	char	*want = harness_fmt("service %s: accepted", service);
	char	*line = hd_find_line(d, want, 5000), *p, *id;

	ck_assert_msg(line != NULL, "no accepted line for %s", service);
	p = strstr(line, "(conn ");
	ck_assert_ptr_nonnull(p);
	id = harness_fmt("%ld", strtol(p + 6, NULL, 10));
	free(line);
	free(want);
	return id;
}

START_TEST(test_status_counts)
{
	struct hdaemon	*d = start(echo_conf);
	struct hrun	 r;
	char		*want;
	int		 fd, i;

	for (i = 0; i < 3; i++) {
		fd = hc_connect(hd_port(d, "echo"));
		ck_assert(hc_echo_ok(fd, "hello\n"));	/* 6 bytes each way */
		hc_close(fd);
	}
	ck_assert(hd_wait_count(d, "service echo: closed", 3, 5000));
	ck_assert_int_eq(ctl(d, &r, "status", NULL), 0);
	ck_assert_msg(strstr(r.out, "harbord ") == r.out, "%s", r.out);
	want = harness_fmt("listening on 127.0.0.1:%d", hd_port(d, "echo"));
	ck_assert_msg(strstr(r.out, want) != NULL, "%s", r.out);
	ck_assert_msg(strstr(r.out, "accepted 3, closed 3, bytes in 18, "
	    "bytes out 18") != NULL, "%s", r.out);
	ck_assert_msg(strstr(r.out, "service daytime (daytime)") != NULL,
	    "%s", r.out);
	free(want);
	harness_run_free(&r);

	ck_assert_int_eq(ctl(d, &r, "-j", "status"), 0);
	ck_assert_msg(r.out[0] == '{' && strstr(r.out, "\"name\":\"echo\"") &&
	    strstr(r.out, "\"accepted\":3,\"closed\":3,\"bytes_in\":18,"
	    "\"bytes_out\":18"), "%s", r.out);
	harness_run_free(&r);
	hd_finish(d);
}
END_TEST

START_TEST(test_connections_and_drop)
{
	struct hdaemon	*d = start(echo_conf);
	struct hrun	 r;
	char		*id, *none;
	int		 fd, other;
	size_t		 got;

	fd = hc_connect(hd_port(d, "echo"));
	ck_assert(hc_echo_ok(fd, "abc\n"));
	id = last_conn_id(d, "echo");
	other = hc_connect(hd_port(d, "daytime"));
	ck_assert(hd_wait_log(d, "service daytime: accepted", 5000));

	ck_assert_int_eq(ctl(d, &r, "connections", "echo"), 0);
	ck_assert_msg(strstr(r.out, "ID") == r.out, "%s", r.out);
	ck_assert_msg(strstr(r.out, "echo") != NULL &&
	    strstr(r.out, "daytime") == NULL, "only echo's: %s", r.out);
	ck_assert_msg(strstr(r.out, id) != NULL, "conn %s: %s", id, r.out);
	harness_run_free(&r);

	ck_assert_int_eq(ctl(d, &r, "drop", id), 0);
	harness_run_free(&r);
	ck_assert(hc_wait_eof(fd, 5000, &got));
	ck_assert(hd_wait_log(d, "dropped", 5000));
	hc_close(fd);

	none = harness_fmt("%s99", id);
	ck_assert_int_eq(ctl(d, &r, "drop", none), 1);
	ck_assert_msg(strstr(r.err, "no connection") != NULL, "%s", r.err);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(d, &r, "drop", "x1"), 64);
	harness_run_free(&r);
	free(none);
	free(id);
	hc_close(other);
	hd_finish(d);
}
END_TEST

START_TEST(test_drain_and_resume)
{
	struct hdaemon	*d = start(echo_conf);
	struct hrun	 r;
	int		 port, open_fd, fd;
	char		*conf;

	port = hd_port(d, "echo");
	open_fd = hc_connect(port);
	ck_assert(hc_echo_ok(open_fd, "before\n"));
	ck_assert_int_eq(ctl(d, &r, "drain", "echo"), 0);
	harness_run_free(&r);
#ifdef __linux__
	/* The socket stops listening: refused, not queued. */
	ck_assert_int_eq(hc_connect_ip("127.0.0.1", port, 2000), -1);
#endif
	/* The open connection goes on. */
	ck_assert(hc_echo_ok(open_fd, "during\n"));
	ck_assert_int_eq(ctl(d, &r, "status", NULL), 0);
	ck_assert_msg(strstr(r.out, "service echo (echo): draining") != NULL,
	    "%s", r.out);
	harness_run_free(&r);

	/* Drained it stays, over a reload. */
	conf = harness_fmt("%s", echo_conf);
	hd_rewrite_config(d, conf);
	ck_assert_int_eq(ctl(d, &r, "reload", NULL), 0);
	harness_run_free(&r);
#ifdef __linux__
	ck_assert_int_eq(hc_connect_ip("127.0.0.1", port, 2000), -1);
#endif
	ck_assert_int_eq(ctl(d, &r, "resume", "echo"), 0);
	harness_run_free(&r);
	fd = hc_connect(port);
	ck_assert(hc_echo_ok(fd, "after\n"));
	hc_close(fd);
	hc_close(open_fd);

	ck_assert_int_eq(ctl(d, &r, "drain", "nosuch"), 1);
	ck_assert_msg(strstr(r.err, "no service 'nosuch'") != NULL, "%s",
	    r.err);
	harness_run_free(&r);
	free(conf);
	hd_finish(d);
}
END_TEST

START_TEST(test_reload_result)
{
	struct hdaemon	*d = start(echo_conf);
	struct hrun	 r;
	char		*bad, *want;

	ck_assert_int_eq(ctl(d, &r, "reload", NULL), 0);
	ck_assert_str_eq(r.out, "reloaded\n");
	harness_run_free(&r);

	/* Line 3 of the test's text, column 5. */
	bad = harness_fmt("service echo {\n    listen 127.0.0.1:0\n"
	    "    handlr echo\n}\n");
	hd_rewrite_config(d, bad);
	ck_assert_int_eq(ctl(d, &r, "reload", NULL), 1);
	want = harness_fmt("%s:3:5: ", hd_config_path(d));
	ck_assert_msg(strstr(r.err, want) != NULL, "want %s in: %s", want,
	    r.err);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(d, &r, "-j", "reload"), 1);
	ck_assert_msg(strstr(r.out, "{\"error\":") == r.out, "%s", r.out);
	harness_run_free(&r);

	/* The running configuration stays, and the counts say it all. */
	ck_assert(hc_connect_ok(hd_port(d, "daytime")));
	ck_assert_int_eq(ctl(d, &r, "status", NULL), 0);
	ck_assert_msg(strstr(r.out, "reloads 1 ok, 2 failed") != NULL, "%s",
	    r.out);
	harness_run_free(&r);
	free(want);
	free(bad);
	hd_finish(d);
}
END_TEST

START_TEST(test_log_reopen_and_stop)
{
	struct hdaemon	*d = start(echo_conf);
	struct hrun	 r;

	/* In the foreground the log is standard error, which a reopen
	 * keeps: what matters here is that it is done, and said. */
	ck_assert_int_eq(ctl(d, &r, "log-reopen", NULL), 0);
	harness_run_free(&r);
	ck_assert(hd_wait_log(d, "log reopened", 5000));

	ck_assert_int_eq(ctl(d, &r, "stop", NULL), 0);
	ck_assert_str_eq(r.out, "stopping\n");
	harness_run_free(&r);
	ck_assert_int_eq(hd_wait_exit(d, 10000), 0);
	/* The socket's file goes with it. */
	ck_assert_int_eq(access(hd_control_path(d), F_OK), -1);
	hd_free(d);
}
END_TEST

#ifndef _WIN32
START_TEST(test_socket_file)
{
	struct hdaemon	*d, *second;
	struct stat	 st;
	char		*path, *conf, *stale;

	d = start(echo_conf);
	path = harness_fmt("%s", hd_control_path(d));
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0660);

	/* Another harbord does not take a socket that answers. */
	conf = harness_fmt("control-socket %s\nservice e {\n"
	    "    listen 127.0.0.1:0\n    handler echo\n}\n", path);
	stale = harness_write_temp("harbord.conf", conf);
	start_fails(stale, "another harbord answers there");
	hd_finish(d);

	/* One left by a harbord that is gone is replaced. */
	{
		struct sockaddr_un	sun;
		int			fd;

		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		strcpy(sun.sun_path, path);
		ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun),
		    0);
		close(fd);	/* bound, never listening: a dead socket */
	}
	second = hd_start(conf, NULL);
	ck_assert(hd_wait_log(second, "control socket", 5000));
	hd_finish(second);
	(void)unlink(stale);
	free(stale);
	free(conf);
	free(path);
}
END_TEST
#endif

/* Where the channel is loopback TCP (Windows), the key comes first: a
 * client that does not send it, or sends another, is refused, logged, and
 * changes nothing.  (Elsewhere a key line is not a command.) */
START_TEST(test_key_first)
{
	struct hdaemon	*d = start(echo_conf);
	const char	*path = hd_control_path(d);
	char		*a, wrong[96], key[CTL_KEY_SIZE];

	memset(key, 'a', CTL_KEY_SIZE - 1);
	key[CTL_KEY_SIZE - 1] = '\0';
	ck_assert_int_gt(ctl_key_line(wrong, sizeof wrong, key), 0);
#ifdef _WIN32
	a = raw_exchange(raw_connect(path, false), "stop\n", 5);
	ck_assert_msg(strncmp(a, "error\nnot authorised", 20) == 0, "%s", a);
	free(a);
	ck_assert(hd_wait_log(d, "control: refused a client: it did not send "
	    "the control file's key", 5000));
	a = raw_exchange(raw_connect(path, false), wrong, strlen(wrong));
	ck_assert_msg(strncmp(a, "error\nnot authorised", 20) == 0, "%s", a);
	free(a);
	/* The right one, then the command. */
	a = raw_request(path, "status\n", 7);
	ck_assert_msg(strncmp(a, "ok\nharbord ", 11) == 0, "%s", a);
	free(a);
#else
	a = raw_request(path, wrong, strlen(wrong));
	ck_assert_msg(strncmp(a, "error\nunknown command 'key'", 27) == 0,
	    "%s", a);
	free(a);
#endif
	ck_assert(hd_running(d));
	hd_finish(d);
}
END_TEST

#ifdef _WIN32
/* The control file: one another harbord answers at is not taken; one
 * left by a harbord that is gone is replaced; a file that is not one is
 * not overwritten. */
START_TEST(test_control_file)
{
	struct hdaemon	*d, *second;
	char		*path, *conf, *cfg, key[CTL_KEY_SIZE], text[200];
	int		 port, fd;

	d = start(echo_conf);
	path = harness_fmt("%s", hd_control_path(d));
	port = control_file(path, key);
	conf = harness_fmt("control-socket %s\nservice e {\n"
	    "    listen 127.0.0.1:0\n    handler echo\n}\n", path);
	cfg = harness_write_temp("harbord.conf", conf);
	start_fails(cfg, "another harbord answers there");
	/* It kept its file, and answers as before. */
	ck_assert_int_eq(control_file(path, key), port);
	hd_finish(d);
	ck_assert_int_eq(access(path, F_OK), -1);

	/* Left by one that is gone: a port nothing listens on now. */
	fd = harness_listen_ip("127.0.0.1", 0, &port);
	hc_close(fd);
	ck_assert_int_gt(ctl_keyfile_format(text, sizeof text, port, key), 0);
	harness_write_file(path, text);
	second = hd_start(conf, NULL);
	ck_assert(hd_wait_log(second, "control socket", 5000));
	ck_assert_int_ne(control_file(path, key), port);
	hd_finish(second);

	/* Not a control file: left alone. */
	harness_write_file(path, "precious\n");
	start_fails(cfg, "is not a harbord control file");
	{
		char *kept = harness_read_file(path);

		ck_assert_str_eq(kept, "precious\n");
		free(kept);
	}
	(void)unlink(path);
	(void)unlink(cfg);
	free(cfg);
	free(conf);
	free(path);
}
END_TEST
#endif

START_TEST(test_bad_requests)
{
	struct hdaemon	*d = start(echo_conf);
	const char	*path = hd_control_path(d);
	char		*a, big[2048];
	struct hrun	 r;
	int		 silent[16], i, fd;

	a = raw_request(path, "bogus\n", 6);
	ck_assert_msg(strncmp(a, "error\nunknown command 'bogus'", 29) == 0,
	    "%s", a);
	free(a);
	a = raw_request(path, "status extra\n", 13);
	ck_assert_msg(strncmp(a, "error\nstatus takes no argument", 30) == 0,
	    "%s", a);
	free(a);
	a = raw_request(path, "drain\n", 6);
	ck_assert_msg(strncmp(a, "error\ndrain needs SERVICE", 25) == 0, "%s",
	    a);
	free(a);
	a = raw_request(path, "st\001tus\n", 7);
	ck_assert_msg(strncmp(a, "error\n", 6) == 0, "%s", a);
	free(a);
	memset(big, 'x', sizeof big);
	a = raw_request(path, big, sizeof big);
	ck_assert_msg(strncmp(a, "error\na request is one line", 27) == 0,
	    "%s", a);
	free(a);
	/* By hand, with no harborctl: the protocol is text. */
	a = raw_request(path, "json connections\n", 17);
	ck_assert_msg(strncmp(a, "ok\n[", 4) == 0, "%s", a);
	free(a);

	/* Clients that say nothing take their places, and no more. */
	for (i = 0; i < 16; i++)
		silent[i] = raw_connect(path, false);
	ck_assert(hd_wait_log(d, "connected already", 5000) || 1);
	hd_ctl(d, &r, "status", NULL);
	if (r.code == 0) {
		/* Raced ahead of the silent ones' accepts: try once more. */
		harness_run_free(&r);
		harness_sleep_ms(200);
		hd_ctl(d, &r, "status", NULL);
	}
	ck_assert_msg(r.code == 1 && strstr(r.err, "too many control "
	    "clients") != NULL, "harborctl: %d, %s", r.code, r.err);
	harness_run_free(&r);
	for (i = 0; i < 16; i++)
		hc_close(silent[i]);
	/* Their places come back; the service never noticed. */
	harness_sleep_ms(200);
	ck_assert_int_eq(ctl(d, &r, "status", NULL), 0);
	harness_run_free(&r);
	fd = hc_connect(hd_port(d, "echo"));
	ck_assert(hc_echo_ok(fd, "still\n"));
	hc_close(fd);
	hd_finish(d);
}
END_TEST

START_TEST(test_harborctl_usage)
{
	const char	*ctlp = harness_harborctl();
	struct hrun	 r;

	ck_assert_ptr_nonnull(ctlp);
	{
		const char *a[] = { "frobnicate", NULL };

		harness_run_program(ctlp, a, 5000, &r);
		ck_assert_int_eq(r.code, 64);
		ck_assert_msg(strstr(r.err, "usage: harborctl") != NULL, "%s",
		    r.err);
		harness_run_free(&r);
	}
	{
		char *nowhere = harness_fmt("%s/no-such.sock", harness_tmpdir());
		const char *a[] = { "-s", nowhere, "status", NULL };

		harness_run_program(ctlp, a, 5000, &r);
		ck_assert_int_eq(r.code, 69);
		ck_assert_msg(strstr(r.err, ": no such ") != NULL, "%s",
		    r.err);
		harness_run_free(&r);
		free(nowhere);
	}
	{
		const char *a[] = { "-h", NULL };
		char *page, *p, *line, *want, name[64];
		int commands = 0, documented = 0;

		harness_run_program(ctlp, a, 5000, &r);
		ck_assert_int_eq(r.code, 0);
		ck_assert_msg(strstr(r.out, "drain SERVICE") != NULL, "%s",
		    r.out);
		/* harborctl(8) has every command harborctl knows, and no
		 * other: the commands' table is the one source. */
		page = harness_fmt("%s/../man/harborctl.8.in",
		    getenv("HARBOR_TEST_SRCDIR"));
		ck_assert_ptr_nonnull(p = harness_read_file(page));
		line = strstr(r.out, "commands:\n");
		ck_assert_ptr_nonnull(line);
		for (line = strchr(line, '\n') + 1; strncmp(line, "  ", 2) == 0;
		    line = strchr(line, '\n') + 1) {
			ck_assert_int_eq(sscanf(line, " %63s", name), 1);
			want = harness_fmt("\n.It Ic %s", name);
			ck_assert_msg(strstr(p, want) != NULL, "harborctl(8) "
			    "lacks the command %s", name);
			free(want);
			commands++;
		}
		for (line = strstr(p, "The commands are as follows:");
		    line != NULL && (line = strstr(line, "\n.It Ic ")) != NULL;
		    line += 8) {
			ck_assert_int_eq(sscanf(line, "\n.It Ic %63s", name), 1);
			want = harness_fmt("\n  %s ", name);
			ck_assert_msg(strstr(r.out, want) != NULL, "harborctl(8) "
			    "has a command %s that harborctl does not", name);
			free(want);
			documented++;
		}
		ck_assert_int_eq(commands, documented);
		ck_assert_int_ge(commands, 8);
		free(p);
		free(page);
		harness_run_free(&r);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("control");

	harness_init();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_status_counts);
	tcase_add_test(tc, test_connections_and_drop);
	tcase_add_test(tc, test_drain_and_resume);
	tcase_add_test(tc, test_reload_result);
	tcase_add_test(tc, test_log_reopen_and_stop);
#ifdef _WIN32
	tcase_add_test(tc, test_control_file);
#else
	tcase_add_test(tc, test_socket_file);
#endif
	tcase_add_test(tc, test_key_first);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_harborctl_usage);
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
