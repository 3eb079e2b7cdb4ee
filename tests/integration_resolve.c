/*
 * forward's backend name, against the real daemon: a name that does not
 * resolve at start is a warning there and in -n, and is resolved again
 * when clients come, off the loops, at most once a second.
 *
 * The real resolver is asked about a name under .invalid, which never
 * resolves (RFC 6761).  A name that resolves later, and a resolver that
 * takes its time, come from tests/resolver-shim.c, preloaded into harbord
 * where the system has LD_PRELOAD; elsewhere those tests say SKIP.
 */
#include "harness.h"	/* first: feature macros */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#endif
#include <unistd.h>

#include "check-run.h"
#include "preload.h"

#define NOWHERE		"nowhere.invalid:80"
#define SHIM_NAME	"backend.shim.invalid"

/* A daemon, debug messages on, with one forward service to target and
 * more lines of it in extra, after the global lines in global. */
static struct hdaemon *
start_forward(const char *global, const char *target, const char *extra)
{
	struct hd_opts	 opts = { .args = { "-v", NULL } };
	char		*cfg = harness_fmt("%s"
	    "service fwd {\n"
	    "    listen 127.0.0.1:0\n"
	    "    forward %s\n"
	    "%s"
	    "}\n", global != NULL ? global : "", target,
	    extra != NULL ? extra : "");
	struct hdaemon	*d = hd_start(cfg, &opts);

	free(cfg);
	return d;
}

/* What the system's resolver says of host, or NULL if it resolves. */
static char *
resolver_reason(const char *host, int *code)
{
#ifdef _WIN32
	(void)host;
	*code = 0;
	return NULL;
#else
	struct addrinfo	hints, *res;
	int		r;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, "80", &hints, &res)) == 0) {
		freeaddrinfo(res);
		return NULL;
	}
	*code = r;
	return strdup(gai_strerror(r));
#endif
}

/* A client is let go at once, nothing sent to it. */
static void
expect_let_go(struct hdaemon *d)
{
	int	fd = hc_connect_ok(hd_port(d, "fwd"));
	size_t	n = 0;

	HD_ASSERT(d, hc_wait_eof(fd, 5000, &n) && n == 0, "the client was "
	    "not let go at once");
	hc_close(fd);
}

START_TEST(test_unresolved_at_start)
{
	struct hdaemon	*d = start_forward(NULL, NOWHERE, NULL);
	char		*reason, *want;
	int		 code;

	HD_EXPECT_LOG(d, "service fwd: backend '" NOWHERE "' does not resolve "
	    "now (", 5000);
	HD_EXPECT_LOG(d, "); it will be resolved again when a client "
	    "connects", 5000);
	/* In the system's words (glibc's, not libevent's BSD texts). */
	if ((reason = resolver_reason("nowhere.invalid", &code)) != NULL) {
		want = harness_fmt("does not resolve now (%s); it", reason);
		HD_EXPECT_LOG(d, want, 5000);
		free(want);
	}
	/* A client: let go, the reason in the log. */
	expect_let_go(d);
	want = harness_fmt("cannot resolve backend '" NOWHERE "': %s",
	    reason != NULL ? reason : "");
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	free(reason);
	hd_finish(d);
}
END_TEST

/* The first client more than a second after the last attempt asks the
 * resolver again; one in the second after a failure does not. */
START_TEST(test_resolved_again_once_a_second)
{
	struct hdaemon	*d = start_forward(NULL, NOWHERE, NULL);
	const char	*again = "resolving backend '" NOWHERE "' again";

	HD_EXPECT_LOG(d, "does not resolve now", 5000);
	harness_sleep_ms(1100);
	hd_mark(d);
	expect_let_go(d);
	HD_EXPECT_LOG(d, again, 5000);
	HD_EXPECT_LOG(d, "closed 127.0.0.1", 5000);
	/* Right after that failure: its reason, no query. */
	expect_let_go(d);
	HD_EXPECT_LOG(d, "tried again at most once a second", 5000);
	HD_ASSERT(d, hd_count_log(d, again) == 1, "a client in the second "
	    "after a failure made the resolver try again");
	harness_sleep_ms(1100);
	expect_let_go(d);
	HD_ASSERT(d, hd_wait_count(d, again, 2, 5000), "a client more than a "
	    "second after the last failure did not make the resolver try "
	    "again");
	hd_finish(d);
}
END_TEST

/* -n says the same and finds the configuration OK, as the start does;
 * a bad target stays an error there. */
START_TEST(test_check_mode_warns)
{
	char		*cfg = harness_daemon_config("service fwd {\n"
	    "    listen 127.0.0.1:0\n"
	    "    forward " NOWHERE "\n"
	    "}\n");
	char		*path = harness_write_temp("resolve.conf", cfg);
	const char	*args[] = { "-n", "-f", path, NULL };
	struct hrun	 r;

	harness_run(args, 20000, &r);
	ck_assert_msg(r.code == 0, "-n exited %d: %s", r.code, r.err);
	ck_assert_str_eq(r.out, "configuration OK\n");
	ck_assert_msg(strstr(r.err, "warning: service fwd: backend '" NOWHERE
	    "' does not resolve now (") != NULL, "no warning from -n: \"%s\"",
	    r.err);
	harness_run_free(&r);
	free(cfg);

	cfg = harness_daemon_config("service fwd {\n"
	    "    listen 127.0.0.1:0\n"
	    "    forward nowhere.invalid\n"
	    "}\n");
	harness_write_file(path, cfg);
	harness_run(args, 20000, &r);
	ck_assert_int_eq(r.code, 78);
	ck_assert_msg(strstr(r.err, ":3:13: bad backend 'nowhere.invalid'") !=
	    NULL, "no error at the target: \"%s\"", r.err);
	harness_run_free(&r);
	free(cfg);
	free(path);
}
END_TEST

/* --- with the resolver shim ------------------------------------------------ */

#ifndef _WIN32
static const char *shim_so;		/* built, or NULL */
static const char *shim_why;		/* why not */

/* The shim's directory for this test, and the daemon's environment. */
static char *
shim_setup(void)
{
	char	*dir = harness_fmt("%s/shim.%ld", harness_tmpdir(),
		    (long)getpid());

	ck_assert_msg(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir,
	    strerror(errno));
	/* Check runs each test in a child of its own: this goes with it. */
	ck_assert(setenv("HARBOR_SHIM_DIR", dir, 1) == 0);
	preload_use(shim_so);
	return dir;
}

static void
shim_set(const char *dir, const char *file, const char *text)
{
	char	*path = harness_fmt("%s/%s", dir, file);

	harness_write_file(path, text);
	free(path);
}

/* The lookups of the shim's name so far. */
static int
shim_calls(const char *dir)
{
	char	*path = harness_fmt("%s/calls", dir);
	char	*text = harness_read_file(path), *p;
	int	 n = 0;

	for (p = text; p != NULL && (p = strchr(p, '\n')) != NULL; p++)
		n++;
	free(text);
	free(path);
	return n;
}

/* A forward to the shim's name, which does not resolve at start. */
static struct hdaemon *
start_shim_forward(const char *dir, const char *global, int port,
    const char *extra)
{
	char		*target = harness_fmt(SHIM_NAME ":%d", port);
	struct hdaemon	*d = start_forward(global, target, extra);

	free(target);
	HD_EXPECT_LOG(d, "does not resolve now", 5000);
	if (shim_calls(dir) != 1) {
		hd_finish(d);
		return NULL;
	}
	return d;
}

#define SHIM_START(d, dir, global, port, extra) do {			\
	if (shim_so == NULL)						\
		HARNESS_SKIP("%s", shim_why);				\
	(dir) = shim_setup();						\
	if (((d) = start_shim_forward((dir), (global), (port),		\
	    (extra))) == NULL)						\
		HARNESS_SKIP("the resolver shim was not preloaded");	\
} while (0)

/* The client and the backend hear each other. */
static void
expect_relayed(struct hdaemon *d, int client, int backend)
{
	char	buf[16] = "";

	HD_ASSERT(d, hc_send_str(client, "ping\n") &&
	    hc_read_n(backend, buf, 5, 5000) == 5 &&
	    strcmp(buf, "ping\n") == 0, "the backend did not hear the client");
	HD_ASSERT(d, hc_send_str(backend, "pong\n") &&
	    hc_read_n(client, buf, 5, 5000) == 5 &&
	    strcmp(buf, "pong\n") == 0, "the client did not hear the backend");
}

/* DNS comes up after harbord: the next client is served, and the
 * addresses are kept. */
START_TEST(test_resolves_later)
{
	int		 port, lfd = harness_listen_ip("127.0.0.1", 0, &port);
	struct hdaemon	*d;
	char		*dir, *want;
	int		 c, b;

	SHIM_START(d, dir, NULL, port, NULL);
	want = harness_fmt("does not resolve now (%s)", gai_strerror(EAI_AGAIN));
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	shim_set(dir, "answer", "127.0.0.1\n");
	harness_sleep_ms(1100);
	c = hc_connect_ok(hd_port(d, "fwd"));
	HD_ASSERT(d, (b = harness_accept(lfd, 5000)) >= 0, "the backend saw "
	    "no connection");
	expect_relayed(d, c, b);
	want = harness_fmt("backend '" SHIM_NAME ":%d' resolves now, to 1 "
	    "address", port);
	HD_EXPECT_LOG(d, want, 5000);
	free(want);
	hc_close(c);
	hc_close(b);
	/* Known now: no lookup for the next client. */
	c = hc_connect_ok(hd_port(d, "fwd"));
	HD_ASSERT(d, (b = harness_accept(lfd, 5000)) >= 0, "the backend saw "
	    "no second connection");
	expect_relayed(d, c, b);
	HD_ASSERT(d, shim_calls(dir) == 2, "%d lookups for two clients after "
	    "the start's (1 expected)", shim_calls(dir) - 1);
	hc_close(c);
	hc_close(b);
	hc_close(lfd);
	hd_finish(d);
	free(dir);
}
END_TEST

/* Clients that come while a lookup runs wait for that one. */
START_TEST(test_clients_wait_for_one_lookup)
{
	int		 port, lfd = harness_listen_ip("127.0.0.1", 0, &port);
	struct hdaemon	*d;
	char		*dir;
	int		 c[3], b[3], i;

	SHIM_START(d, dir, NULL, port, NULL);
	shim_set(dir, "delay-ms", "1500\n");
	shim_set(dir, "answer", "127.0.0.1\n");
	harness_sleep_ms(1100);
	for (i = 0; i < 3; i++)
		c[i] = hc_connect_ok(hd_port(d, "fwd"));
	for (i = 0; i < 3; i++)
		HD_ASSERT(d, (b[i] = harness_accept(lfd, 8000)) >= 0,
		    "client %d did not reach the backend", i);
	HD_ASSERT(d, shim_calls(dir) == 2, "%d lookups for three clients "
	    "(1 expected)", shim_calls(dir) - 1);
	HD_ASSERT(d, hd_count_log(d, "resolving backend") == 1, "more than "
	    "one lookup started");
	for (i = 0; i < 3; i++) {
		hc_close(c[i]);
		hc_close(b[i]);
	}
	hc_close(lfd);
	hd_finish(d);
	free(dir);
}
END_TEST

/* connect-timeout bounds the wait; the lookup goes on, and outlives its
 * service when a reload replaces it meanwhile. */
START_TEST(test_lookup_too_slow)
{
	struct hdaemon	*d;
	char		*dir;
	long long	 t0;
	int		 c;

	SHIM_START(d, dir, NULL, 9, "    connect-timeout 500ms\n");
	shim_set(dir, "delay-ms", "2500\n");
	harness_sleep_ms(1100);
	t0 = harness_now_ms();
	c = hc_connect_ok(hd_port(d, "fwd"));
	HD_ASSERT(d, hc_wait_eof(c, 3000, NULL), "the client waited beyond "
	    "connect-timeout");
	HD_ASSERT(d, harness_now_ms() - t0 < 2000, "the client waited %lld "
	    "ms for a 500 ms connect-timeout", harness_now_ms() - t0);
	hc_close(c);
	HD_EXPECT_LOG(d, "cannot resolve backend '" SHIM_NAME ":9': no answer "
	    "from the resolver in 500 ms", 5000);
	/* The old service goes with its last connection, before the lookup
	 * ends. */
	hd_rewrite_config(d, "service fwd {\n"
	    "    listen 127.0.0.1:0\n"
	    "    forward 127.0.0.1:9\n"
	    "}\n");
	ck_assert_int_eq(hd_reload(d), 0);
	HD_EXPECT_LOG(d, "configuration reloaded: 1 service", 5000);
	HD_ASSERT(d, harness_now_ms() - t0 < 2500, "the reload came after the "
	    "lookup's end");
	harness_sleep_ms((int)(t0 + 3000 - harness_now_ms()));
	hd_finish(d);
	free(dir);
}
END_TEST

/* A client waiting for a lookup when harbord stops is let go when the
 * grace period ends, the lookup still running. */
START_TEST(test_stop_while_waiting)
{
	struct hdaemon	*d;
	char		*dir;
	long long	 t0;
	int		 c;

	SHIM_START(d, dir, "shutdown-timeout 1s\n", 9, NULL);
	shim_set(dir, "delay-ms", "5000\n");
	harness_sleep_ms(1100);
	c = hc_connect_ok(hd_port(d, "fwd"));
	HD_EXPECT_LOG(d, "resolving backend '" SHIM_NAME ":9' again", 5000);
	t0 = harness_now_ms();
	ck_assert_int_eq(hd_signal(d, SIGTERM), 0);
	HD_ASSERT(d, hc_wait_eof(c, 3000, NULL), "the waiting client was not "
	    "let go when harbord stopped");
	ck_assert_int_eq(hd_wait_exit(d, 3000), 0);
	ck_assert_msg(harness_now_ms() - t0 < 3000, "the stop waited %lld ms "
	    "for the lookup", harness_now_ms() - t0);
	hc_close(c);
	hd_free(d);
	free(dir);
}
END_TEST

/* A reload while a lookup runs: the client waiting for it is served by
 * the service it came to, once the lookup is done. */
START_TEST(test_reload_while_waiting)
{
	int		 aport, a = harness_listen_ip("127.0.0.1", 0, &aport);
	int		 bport, b = harness_listen_ip("127.0.0.1", 0, &bport);
	struct hdaemon	*d;
	char		*dir, *cfg;
	int		 c1, c2, s1, s2;

	SHIM_START(d, dir, NULL, aport, NULL);
	shim_set(dir, "delay-ms", "2000\n");
	shim_set(dir, "answer", "127.0.0.1\n");
	harness_sleep_ms(1100);
	c1 = hc_connect_ok(hd_port(d, "fwd"));
	HD_EXPECT_LOG(d, "resolving backend", 5000);
	cfg = harness_fmt("service fwd {\n"
	    "    listen 127.0.0.1:0\n"
	    "    forward 127.0.0.1:%d\n"
	    "}\n", bport);
	hd_rewrite_config(d, cfg);
	free(cfg);
	hd_mark(d);
	ck_assert_int_eq(hd_reload(d), 0);
	HD_EXPECT_LOG(d, "configuration reloaded: 1 service", 5000);
	c2 = hc_connect_ok(hd_port(d, "fwd"));
	HD_ASSERT(d, (s2 = harness_accept(b, 5000)) >= 0, "the new service "
	    "did not forward");
	expect_relayed(d, c2, s2);
	HD_ASSERT(d, (s1 = harness_accept(a, 8000)) >= 0, "the client that "
	    "waited did not reach the old service's backend");
	expect_relayed(d, c1, s1);
	hc_close(c1);
	hc_close(c2);
	hc_close(s1);
	hc_close(s2);
	hc_close(a);
	hc_close(b);
	hd_finish(d);
	free(dir);
}
END_TEST
#endif /* !_WIN32 */

int
main(void)
{
	Suite	*s = suite_create("resolve");
	TCase	*tc = harness_tcase("resolve");

	harness_init();
	tcase_add_test(tc, test_unresolved_at_start);
	tcase_add_test(tc, test_resolved_again_once_a_second);
	tcase_add_test(tc, test_check_mode_warns);
#ifdef _WIN32
	check_skip("test_resolves_later and the others of the resolver shim",
	    "no LD_PRELOAD on Windows");
#else
	shim_so = preload_build("resolver-shim", &shim_why);
	tcase_add_test(tc, test_resolves_later);
	tcase_add_test(tc, test_clients_wait_for_one_lookup);
	tcase_add_test(tc, test_lookup_too_slow);
	tcase_add_test(tc, test_stop_while_waiting);
	tcase_add_test(tc, test_reload_while_waiting);
#endif
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
