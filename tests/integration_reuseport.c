/*
 * integration_reuseport.c -- reuse-port: two harbords listening on one
 * address and port, each serving a share of the clients; without the
 * option on both, the second cannot start; what a reload does with it
 * (a socket kept keeps its option, one bound for the reload has the new
 * one); and, on Linux, a drained harbord's clients going to the other.
 * The first three run harbord as the suite runs (as root: its two
 * processes, the privileged one binding), and as nobody (one process),
 * where the tests run as root and nobody can run the build's harbord.
 */
#include "harness.h"	/* first: feature macros */

#include <sys/types.h>
#include <sys/stat.h>
#ifndef _WIN32
#include <sys/socket.h>
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check-run.h"

#if !defined(_WIN32) && defined(SO_REUSEPORT)
#define EXIT_OSERR	71
/* Connections tried before two harbords on a port must both have
 * answered: the system picks one for each by a hash of the client's
 * port, so a handful do. */
#define SHARE_TRIES	200
#define SHARE_MS	10000

/* The ways a test runs harbord: as the suite runs, and as nobody. */
static const char *const run_as[] = { NULL, "nobody" };

/* Whether the test's way can run here; if not, says why. */
static bool
can_run(const char *test, int way)
{
	if (run_as[way] == NULL || harness_user_runs_harbord(run_as[way]))
		return true;
	fprintf(stderr, "SKIP %s as %s: the tests do not run as root, there "
	    "is no user %s, or it cannot run the build's harbord\n", test,
	    run_as[way], run_as[way]);
	return false;
}

/* A quote file holding one line, readable to any user. */
static char *
quote_file(const char *quote)
{
	char *text = harness_fmt("%s\n", quote);
	char *path = harness_write_temp("quotes", text);

	ck_assert_int_eq(chmod(path, 0644), 0);
	free(text);
	return path;
}

/* A qotd service q on 127.0.0.1:port telling the quote in path. */
static char *
qotd_service(int port, const char *path, const char *reuse)
{
	return harness_fmt("service q {\n  listen 127.0.0.1:%d\n"
	    "  handler qotd\n  quote-file %s\n  reuse-port %s\n}\n", port,
	    path, reuse);
}

/* The same, alone in a configuration without a control socket: a
 * harbord run as nobody could make none where the harness keeps them,
 * nor the default one. */
static char *
qotd_config(int port, const char *path, const char *reuse)
{
	char *svc = qotd_service(port, path, reuse);
	char *cfg = harness_fmt("control-socket none\n%s", svc);

	free(svc);
	return cfg;
}

/* harbord, as the way says: as nobody, one process. */
static struct hdaemon *
start(int way, const char *config)
{
	struct hd_opts opts = { .user = run_as[way] };
	struct hdaemon *d = hd_start(config, &opts);

	if (run_as[way] != NULL)
		HD_EXPECT_LOG(d, "not started as root: serving in one process",
		    1000);
	return d;
}

/* The quote one connection to port gets (malloc'd; "" if none). */
static char *
ask(int port)
{
	char buf[128];
	bool eof;
	size_t n;
	int fd;

	if ((fd = hc_connect_ip("127.0.0.1", port, 2000)) == -1)
		return harness_fmt("%s", "");
	n = hc_read_eof(fd, buf, sizeof buf - 1, 5000, &eof);
	hc_close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return harness_fmt("%s", buf);
}

/* Clients of port until each of the two quotes has come, bounded. */
static void
both_answer(struct hdaemon *a, int port)
{
	long long deadline = harness_now_ms() + SHARE_MS;
	int i, first = 0, second = 0, other = 0;
	char *q;

	for (i = 0; i < SHARE_TRIES && harness_now_ms() < deadline &&
	    (first == 0 || second == 0); i++) {
		q = ask(port);
		if (strcmp(q, "the first harbord") == 0)
			first++;
		else if (strcmp(q, "the second harbord") == 0)
			second++;
		else
			other++;
		free(q);
	}
	HD_ASSERT(a, first > 0 && second > 0 && other == 0, "after %d "
	    "clients of port %d: %d answers from the first harbord, %d from "
	    "the second, %d from neither", i, port, first, second, other);
}

/* Two harbords with reuse-port yes on one port: both start, and each
 * answers some of the clients. */
START_TEST(test_two_share_a_port)
{
	char *qa, *qb, *cfg, *q;
	struct hdaemon *a, *b;
	int port;

	if (!can_run("test_two_share_a_port", _i))
		return;
	qa = quote_file("the first harbord");
	qb = quote_file("the second harbord");
	cfg = qotd_config(0, qa, "yes");
	a = start(_i, cfg);
	port = hd_port(a, "q");
	free(cfg);
	cfg = qotd_config(port, qb, "yes");
	b = start(_i, cfg);
	ck_assert_int_eq(hd_port(b, "q"), port);
	both_answer(a, port);
	hd_finish(b);
	/* The port is the first one's alone again. */
	q = ask(port);
	ck_assert_str_eq(q, "the first harbord");
	free(q);
	hd_finish(a);
	free(cfg);
	free(qa);
	free(qb);
}
END_TEST

/* A second harbord on a port the first holds, one of them or both
 * without reuse-port: it cannot bind, says so, and exits EX_OSERR; the
 * first serves on. */
static const char *const mismatch[][2] = {
	{ "no", "no" }, { "yes", "no" }, { "no", "yes" },
};

START_TEST(test_second_needs_reuse_port_on_both)
{
	const char *args[4];
	int way = _i / 3, c = _i % 3, port;
	char *qa, *qb, *cfg, *path, *full, *q;
	struct hdaemon *a;
	struct hrun r;

	if (!can_run("test_second_needs_reuse_port_on_both", way))
		return;
	qa = quote_file("the first harbord");
	qb = quote_file("the second harbord");
	cfg = qotd_config(0, qa, mismatch[c][0]);
	a = start(way, cfg);
	port = hd_port(a, "q");
	free(cfg);
	cfg = qotd_config(port, qb, mismatch[c][1]);
	full = run_as[way] != NULL ? harness_fmt("%s", cfg) :
	    harness_daemon_config(cfg);
	path = harness_write_temp("second.conf", full);
	ck_assert_int_eq(chmod(path, 0644), 0);
	args[0] = "-d";
	args[1] = "-f";
	args[2] = path;
	args[3] = NULL;
	harness_run_as(run_as[way], args, 10000, &r);
	ck_assert_msg(r.code == EXIT_OSERR && strcasestr(r.err,
	    "address already in use") != NULL, "reuse-port %s, then %s: the "
	    "second exited %d, saying:\n%s", mismatch[c][0], mismatch[c][1],
	    r.code, r.err);
	q = ask(port);
	HD_ASSERT(a, strcmp(q, "the first harbord") == 0, "the first "
	    "harbord said '%s'", q);
	free(q);
	harness_run_free(&r);
	hd_finish(a);
	free(path);
	free(full);
	free(cfg);
	free(qa);
	free(qb);
}
END_TEST

/* A reload that turns reuse-port on keeps the socket as it was bound,
 * without it, and says so; the address it adds is bound with it, and a
 * second harbord can share that one. */
START_TEST(test_reload_binds_new_addresses_with_it)
{
	char *qa, *qb, *cfg, *q;
	struct hdaemon *a, *b;
	int port, added;

	if (!can_run("test_reload_binds_new_addresses_with_it", _i))
		return;
	qa = quote_file("the first harbord");
	qb = quote_file("the second harbord");
	cfg = qotd_config(0, qa, "no");
	a = start(_i, cfg);
	port = hd_port(a, "q");
	free(cfg);
	cfg = harness_fmt("control-socket none\n"
	    "service q {\n  listen 127.0.0.1:%d\n  handler qotd\n"
	    "  quote-file %s\n  reuse-port yes\n}\n"
	    "service r {\n  listen 127.0.0.1:0\n  handler qotd\n"
	    "  quote-file %s\n  reuse-port yes\n}\n", port, qa, qa);
	hd_rewrite_config(a, cfg);
	hd_mark(a);
	ck_assert_int_eq(hd_reload(a), 0);
	HD_EXPECT_LOG(a, "configuration reloaded: 2 services", 5000);
	HD_EXPECT_LOG(a, "warning: service q's reuse-port changed: takes "
	    "effect when harbord restarts", 1000);
	ck_assert_int_eq(hd_count_log(a, "reload failed"), 0);
	added = hd_port(a, "r");
	q = ask(port);
	HD_ASSERT(a, strcmp(q, "the first harbord") == 0, "q said '%s'", q);
	free(q);
	free(cfg);

	/* The socket kept has no SO_REUSEPORT: none beside it... */
	cfg = qotd_config(port, qb, "yes");
	{
		const char *args[] = { "-d", "-f", NULL, NULL };
		char *full = run_as[_i] != NULL ? harness_fmt("%s", cfg) :
		    harness_daemon_config(cfg);
		char *path = harness_write_temp("second.conf", full);
		struct hrun r;

		ck_assert_int_eq(chmod(path, 0644), 0);
		args[2] = path;
		harness_run_as(run_as[_i], args, 10000, &r);
		ck_assert_msg(r.code == EXIT_OSERR && strcasestr(r.err,
		    "address already in use") != NULL, "beside the socket "
		    "kept, the second exited %d, saying:\n%s", r.code, r.err);
		harness_run_free(&r);
		free(path);
		free(full);
	}
	free(cfg);
	/* ...and the one bound for the reload has it. */
	cfg = harness_fmt("control-socket none\n"
	    "service r {\n  listen 127.0.0.1:%d\n  handler qotd\n"
	    "  quote-file %s\n  reuse-port yes\n}\n", added, qb);
	b = start(_i, cfg);
	both_answer(a, added);
	hd_finish(b);
	hd_finish(a);
	free(cfg);
	free(qa);
	free(qb);
}
END_TEST
#ifdef __linux__
/* harborctl drain on one of two harbords sharing a port: on Linux its
 * socket stops listening, and the system gives every client to the
 * other; resume, and both answer again. */
START_TEST(test_drain_sends_clients_to_the_other)
{
	char *qa, *qb, *cfg, *q;
	struct hdaemon *a, *b;
	struct hrun r;
	int i, port;

	if (harness_harborctl() == NULL) {
		fprintf(stderr, "SKIP test_drain_sends_clients_to_the_other: "
		    "HARBORCTL names no harborctl\n");
		return;
	}
	qa = quote_file("the first harbord");
	qb = quote_file("the second harbord");
	cfg = qotd_service(0, qa, "yes");
	a = hd_start(cfg, NULL);
	port = hd_port(a, "q");
	free(cfg);
	cfg = qotd_service(port, qb, "yes");
	b = hd_start(cfg, NULL);
	both_answer(a, port);
	hd_ctl(a, &r, "drain", "q");
	HD_ASSERT(a, r.code == 0, "harborctl drain q: exit %d, %s", r.code,
	    r.err);
	harness_run_free(&r);
	for (i = 0; i < 20; i++) {
		q = ask(port);
		HD_ASSERT(a, strcmp(q, "the second harbord") == 0, "client %d "
		    "of the port, the first harbord drained, got '%s'", i, q);
		free(q);
	}
	hd_ctl(a, &r, "resume", "q");
	HD_ASSERT(a, r.code == 0, "harborctl resume q: exit %d, %s", r.code,
	    r.err);
	harness_run_free(&r);
	both_answer(a, port);
	hd_finish(b);
	hd_finish(a);
	free(cfg);
	free(qa);
	free(qb);
}
END_TEST
#endif
#endif /* !_WIN32 && SO_REUSEPORT */

int
main(void)
{
	Suite *s = suite_create("integration_reuseport");
	TCase *tc;

	harness_init();
	tc = harness_tcase("reuseport");
	tcase_set_timeout(tc, 60);
#if !defined(_WIN32) && defined(SO_REUSEPORT)
	tcase_add_loop_test(tc, test_two_share_a_port, 0, 2);
	tcase_add_loop_test(tc, test_second_needs_reuse_port_on_both, 0, 6);
	tcase_add_loop_test(tc, test_reload_binds_new_addresses_with_it, 0,
	    2);
#ifdef __linux__
	tcase_add_test(tc, test_drain_sends_clients_to_the_other);
#else
	check_skip("test_drain_sends_clients_to_the_other", "only Linux "
	    "stops a drained socket listening");
#endif
#else
	check_skip("reuseport", "no SO_REUSEPORT here (Windows): reuse-port "
	    "yes is a configuration error (tests/unit_confwords)");
#endif
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
