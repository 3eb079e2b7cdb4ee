/*
 * libharbor embedded in a program, without harbord: a handler of the
 * program's own, the connection API it is given, both dispatch modes,
 * reload and shutdown through the API, several sockets on one port.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <event2/event.h>

#include "harbor.h"
#include "check-run.h"
#include "embed.h"

/* --- a handler: greets, answers each line with its length, counts ------ */

struct greeter_state {
	char	greeting[32];
	int	freed;
};

static atomic_int opened, closed, service_frees;

static int
greeter_init(struct harbor_service *svc, void **state, char *err,
    size_t errlen)
{
	struct greeter_state	*gs;
	const char		*g = harbor_service_option(svc, "greeting");

	if (g == NULL) {
		snprintf(err, errlen, "no greeting");
		return -1;
	}
	if ((gs = calloc(1, sizeof *gs)) == NULL)
		return -1;
	snprintf(gs->greeting, sizeof gs->greeting, "%s", g);
	*state = gs;
	return 0;
}

static void
greeter_free(void *state)
{
	free(state);
	atomic_fetch_add(&service_frees, 1);
}

static void
greeter_open(struct harbor_conn *c)
{
	struct greeter_state	*gs = harbor_conn_service_state(c);

	atomic_fetch_add(&opened, 1);
	harbor_conn_set_data(c, (void *)(uintptr_t)0);
	(void)harbor_conn_printf(c, "%s %s from %s to %s #%llu\n",
	    gs->greeting, harbor_service_name(harbor_conn_service(c)),
	    harbor_conn_peer(c), harbor_conn_local(c),
	    (unsigned long long)harbor_conn_id(c));
}

static size_t
greeter_input(struct harbor_conn *c, const char *line, size_t len)
{
	uintptr_t	n = (uintptr_t)harbor_conn_get_data(c) + 1;

	harbor_conn_set_data(c, (void *)n);
	if (len >= 4 && memcmp(line, "quit", 4) == 0) {
		(void)harbor_conn_printf(c, "bye after %lu lines\n",
		    (unsigned long)n);
		harbor_conn_close(c);
		return len;
	}
	(void)harbor_conn_printf(c, "%zu\n", len);
	return len;
}

static void
greeter_close(struct harbor_conn *c)
{
	atomic_fetch_add(&closed, 1);
}

static const struct harbor_handler greeter = {
	HARBOR_HANDLER_V1,
	.name = "greeter",
	.service_init = greeter_init,
	.service_free = greeter_free,
	.open = greeter_open,
	.input = greeter_input,
	.close = greeter_close,
};

/* --- running a server on a thread ---------------------------------------- */

static struct harbor_service *
greeter_service(const char *name, const char *greeting,
    enum harbor_dispatch how)
{
	struct harbor_service	*svc = embed_service(name, &greeter, how,
				    HARBOR_FRAMING_LINE);

	ck_assert_int_eq(harbor_service_set_option(svc, "greeting",
	    greeting), 0);
	return svc;
}

static void
reset_counts(void)
{
	atomic_store(&opened, 0);
	atomic_store(&closed, 0);
	atomic_store(&service_frees, 0);
}

/* A server of one service, run on a thread of its own. */
static void
start_server_with(struct harbor_service *svc, int io_threads)
{
	reset_counts();
	embed_start1(svc, io_threads);
}

static void
start_server(enum harbor_dispatch how, int io_threads)
{
	start_server_with(greeter_service("g", "hello", how), io_threads);
}

START_TEST(test_handler_sees_its_connection)
{
	enum harbor_dispatch	how = _i % 2 ? HARBOR_DISPATCH_POOL :
				    HARBOR_DISPATCH_INLINE;
	char			line[256], want[256], peer[64], local[64];
	int			fd, fd2, i;

	start_server(how, _i < 2 ? 2 : 0);
	fd = embed_client(embed_port("g"));
	embed_addresses(fd, peer, local, sizeof peer);
	snprintf(want, sizeof want, "hello g from %s to %s #1\n", peer, local);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), want);
	fd2 = embed_client(embed_port("g"));
	ck_assert(strstr(embed_read_line(fd2, line, sizeof line), " #2\n") != NULL);

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(embed_send(fd, "abcd\r\n", 6), 0);
		ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "6\n");
	}
	ck_assert_uint_eq(harbor_server_connection_count(embed_srv), 2);
	ck_assert_int_eq(embed_send(fd, "quit\n", 5), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line),
	    "bye after 4 lines\n");
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "");	/* closed */
	embed_close(fd);
	embed_close(fd2);
	embed_stop();
	ck_assert_int_eq(atomic_load(&opened), 2);
	ck_assert_int_eq(atomic_load(&closed), 2);
	ck_assert_int_eq(atomic_load(&service_frees), 1);
}
END_TEST

/* --- closing in the middle of input ----------------------------------- */

/* Echoes until it sees QUIT; then closes, and still reads all it was
 * given (the data stays valid until the callback returns). */
static atomic_int	inputs_after_close, quit_ok;

static size_t
quitter_input(struct harbor_conn *c, const char *data, size_t len)
{
	size_t		i, qs = 0, other = 0;
	const char	*q;

	if (harbor_conn_get_data(c) != NULL) {
		atomic_fetch_add(&inputs_after_close, 1);
		return len;
	}
	if ((q = memchr(data, 'Q', len)) == NULL) {
		(void)harbor_conn_write(c, data, len);
		return len;
	}
	harbor_conn_set_data(c, c);
	harbor_conn_close(c);
	/* After the close: every byte given is still the client's. */
	for (i = 0; i < len; i++)
		if (data[i] == 'Q')
			qs++;
		else if (data[i] != 'x' && data[i] != '\n')
			other++;
	if (qs == 1 && other == 0)
		atomic_store(&quit_ok, 1);
	return len;
}

static const struct harbor_handler quitter = {
	HARBOR_HANDLER_V1,
	.name = "quitter",
	.input = quitter_input,
};

START_TEST(test_close_then_read_input)
{
	struct harbor_service	*svc = harbor_service_new("q", &quitter);
	char			 err[256], buf[64 * 1024], line[8];
	int			 fd;

	ck_assert_ptr_nonnull(svc);
	ck_assert_int_eq(harbor_service_add_listen(svc, "127.0.0.1:0", err,
	    sizeof err), 0);
	harbor_service_set_dispatch(svc, _i % 2 ? HARBOR_DISPATCH_POOL :
	    HARBOR_DISPATCH_INLINE);
	harbor_service_set_framing(svc, _i < 2 ? HARBOR_FRAMING_RAW :
	    HARBOR_FRAMING_LINE);
	harbor_service_set_max_line(svc, sizeof buf);
	atomic_store(&inputs_after_close, 0);
	atomic_store(&quit_ok, 0);
	start_server_with(svc, 2);
	fd = embed_client(embed_port("q"));
	/* "xxx...Qxxx...\n" then more lines, in one go. */
	memset(buf, 'x', sizeof buf);
	buf[100] = 'Q';
	buf[sizeof buf / 2 - 1] = '\n';
	buf[sizeof buf - 1] = '\n';
	ck_assert_int_eq(embed_send(fd, buf, sizeof buf), 0);
	/* Whatever came before the Q is echoed, then it closes. */
	while (embed_read_line(fd, line, sizeof line)[0] != '\0')
		;
	embed_close(fd);
	embed_stop();
	ck_assert_int_eq(atomic_load(&inputs_after_close), 0);
	ck_assert_int_eq(atomic_load(&quit_ok), 1);
}
END_TEST

#ifndef _WIN32
/* --- SIGPIPE ------------------------------------------------------------- */

/* A program that keeps SIGPIPE's default action survives clients that
 * hang up, whichever thread writes to them: 1000 chargen clients that
 * read a little and go, and 1000 echo clients that send 64 KiB and go
 * before reading (the first echo is answered by a reset, the next write
 * to them is a broken pipe). */
START_TEST(test_no_sigpipe)
{
	static char		 big[64 * 1024];
	struct harbor_service	*svc;
	char			 err[256], buf[1024];
	int			 fd, i, port;

	(void)signal(SIGPIPE, SIG_DFL);
	svc = harbor_service_new("c", harbor_builtin_handler(_i < 3 ?
	    "chargen" : "echo"));
	ck_assert_ptr_nonnull(svc);
	ck_assert_int_eq(harbor_service_add_listen(svc, "127.0.0.1:0", err,
	    sizeof err), 0);
	harbor_service_set_max_per_source(svc, 0);
	start_server_with(svc, _i % 3);
	port = embed_port("c");
	for (i = 0; i < 1000; i++) {
		fd = embed_client(port);
		if (_i < 3)
			ck_assert_uint_eq(embed_read_n(fd, buf, 1, 5000), 1);
		else
			ck_assert_int_eq(embed_send(fd, big, sizeof big), 0);
		embed_close(fd);
	}
	fd = embed_client(port);
	if (_i >= 3)
		ck_assert_int_eq(embed_send(fd, "x", 1), 0);
	ck_assert_uint_eq(embed_read_n(fd, buf, 1, 5000), 1);
	embed_close(fd);
	embed_stop();
}
END_TEST
#endif

START_TEST(test_service_init_failure_is_reported)
{
	struct harbor_server	*s = harbor_server_new(NULL);
	struct harbor_service	*svc = harbor_service_new("bare", &greeter);
	struct harbor_server_settings set;
	char			 err[256] = "";

	/* Defaults come back resolved: an I/O loop per CPU but one, a
	 * worker per CPU. */
	harbor_server_settings_default(&set);
	harbor_server_get_settings(s, &set);
	ck_assert_int_eq(set.io_threads, harbor_cpu_count() > 1 ?
	    harbor_cpu_count() - 1 : 1);
	ck_assert_int_eq(set.workers, harbor_cpu_count());

	ck_assert_int_eq(harbor_service_add_listen(svc, "127.0.0.1:0", err,
	    sizeof err), 0);
	/* No "greeting" option: the handler refuses, the server says so. */
	ck_assert_int_eq(harbor_server_add_service(s, svc, err, sizeof err),
	    -1);
	ck_assert_str_eq(err, "service 'bare': no greeting");
	harbor_server_free(s);
}
END_TEST

/* A handler's refusal is one line of the log, said even when it says
 * nothing. */
static int
mumbler_init(struct harbor_service *svc, void **state, char *err,
    size_t errlen)
{
	const char	*say = harbor_service_option(svc, "say");

	snprintf(err, errlen, "%s", say != NULL ? say : "");
	return -1;
}

static const struct harbor_handler mumbler = {
	HARBOR_HANDLER_V1,
	.name = "mumbler",
	.service_init = mumbler_init,
};

START_TEST(test_service_init_message_is_one_line)
{
	struct harbor_service	*svc = harbor_service_new("m", &mumbler);
	char			 err[256];

	ck_assert_int_eq(harbor_service_add_listen(svc, "127.0.0.1:0", err,
	    sizeof err), 0);
	ck_assert_int_eq(harbor_service_check(svc, err, sizeof err), -1);
	ck_assert_str_eq(err, "service 'm': handler mumbler refused it "
	    "without saying why");
	harbor_service_free(svc);

	svc = harbor_service_new("m", &mumbler);
	ck_assert_int_eq(harbor_service_add_listen(svc, "127.0.0.1:0", err,
	    sizeof err), 0);
	ck_assert_int_eq(harbor_service_set_option(svc, "say",
	    "two\nlines\r\tand a tab"), 0);
	ck_assert_int_eq(harbor_service_check(svc, err, sizeof err), -1);
	ck_assert_str_eq(err, "service 'm': two lines  and a tab");
	harbor_service_free(svc);
}
END_TEST

static struct harbor_service	*replacement[2];
static int			 replace_result;
static char			 replace_err[256];

static void
do_replace(void *arg)
{
	replace_result = harbor_server_replace_services(embed_srv, replacement,
	    (size_t)(uintptr_t)arg, replace_err, sizeof replace_err);
}

START_TEST(test_replace_services)
{
	char	 line[256], err[256];
	int	 port, fd, busy;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	start_server(HARBOR_DISPATCH_INLINE, 1);
	port = embed_port("g");
	fd = embed_client(port);
	ck_assert(strncmp(embed_read_line(fd, line, sizeof line), "hello g", 7) ==
	    0);

	/* A replacement that cannot bind changes nothing. */
	busy = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(busy, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(busy, 1), 0);
	ck_assert_int_eq(getsockname(busy, (struct sockaddr *)&sin, &len), 0);
	replacement[0] = greeter_service("g", "hi", HARBOR_DISPATCH_INLINE);
	replacement[1] = greeter_service("h", "hey", HARBOR_DISPATCH_POOL);
	snprintf(line, sizeof line, "127.0.0.1:%u", ntohs(sin.sin_port));
	ck_assert_int_eq(harbor_service_add_listen(replacement[1], line, err,
	    sizeof err), 0);
	embed_on_loop(do_replace, (void *)(uintptr_t)2);
	ck_assert_int_eq(replace_result, -1);
	ck_assert_msg(strstr(replace_err, "cannot listen on") != NULL, "%s",
	    replace_err);
	ck_assert_int_eq(embed_port("g"), port);
	embed_close(busy);

	/* One that works: g keeps its port and its open connection. */
	replacement[0] = greeter_service("g", "hi", HARBOR_DISPATCH_INLINE);
	replacement[1] = greeter_service("h", "hey", HARBOR_DISPATCH_POOL);
	embed_on_loop(do_replace, (void *)(uintptr_t)2);
	ck_assert_int_eq(replace_result, 0);
	ck_assert_int_eq(embed_port("g"), port);
	ck_assert_int_eq(embed_send(fd, "xy\n", 3), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "3\n");
	embed_close(fd);
	fd = embed_client(port);
	ck_assert(strncmp(embed_read_line(fd, line, sizeof line), "hi g", 4) == 0);
	embed_close(fd);
	fd = embed_client(embed_port("h"));
	ck_assert(strncmp(embed_read_line(fd, line, sizeof line), "hey h", 5) == 0);
	embed_close(fd);
	embed_stop();
	/* The old g, and the two of the failed replacement, and the new
	 * ones: every service's state was freed once. */
	ck_assert_int_eq(atomic_load(&service_frees), 5);
}
END_TEST

/* --- several sockets on one port ----------------------------------------- */

/* A flag of a later library is refused, not ignored; where the system has
 * no SO_REUSEPORT, asking for it is refused, saying so. */
START_TEST(test_reuse_port_refusals)
{
	struct harbor_service	*svc;
	char			 err[256];
	harbor_socket_t		 fd;

	ck_assert_int_eq(harbor_listen_open_opts("127.0.0.1:0", 5, 0x80, err,
	    sizeof err), -1);
	ck_assert_str_eq(err, "cannot listen on 127.0.0.1:0: unknown flags "
	    "0x80");
	svc = harbor_service_new("r", harbor_builtin_handler("echo"));
	ck_assert_int_eq(harbor_service_set_reuse_port(svc, 0, err,
	    sizeof err), 0);
#ifdef _WIN32
	ck_assert_int_eq(harbor_listen_open_opts("127.0.0.1:0", 5,
	    HARBOR_LISTEN_REUSE_PORT, err, sizeof err), -1);
	ck_assert_str_eq(err, "cannot listen on 127.0.0.1:0: this system has "
	    "no SO_REUSEPORT");
	ck_assert_int_eq(harbor_service_set_reuse_port(svc, 1, err,
	    sizeof err), -1);
	ck_assert_str_eq(err, "service 'r': reuse-port: this system has no "
	    "SO_REUSEPORT");
	(void)fd;
#else
	ck_assert_int_eq(harbor_service_set_reuse_port(svc, 1, err,
	    sizeof err), 0);
	fd = harbor_listen_open_opts("127.0.0.1:0", 5,
	    HARBOR_LISTEN_REUSE_PORT, err, sizeof err);
	ck_assert_msg(fd != -1, "%s", err);
	(void)close((int)fd);
#endif
	harbor_service_free(svc);
}
END_TEST

#ifndef _WIN32
/* The port a socket listens on. */
static int
port_of(int fd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* Whether a socket with SO_REUSEPORT (with: 1) or without (0) can
 * listen on 127.0.0.1:port now, beside what listens there. */
static int
can_share(int port, int with)
{
	char		addr[64], err[256];
	harbor_socket_t	fd;

	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	fd = harbor_listen_open_opts(addr, 5, with ? HARBOR_LISTEN_REUSE_PORT :
	    0, err, sizeof err);
	if (fd == -1) {
		ck_assert_msg(strstr(err, "Address already in use") != NULL,
		    "%s", err);
		return 0;
	}
	(void)close((int)fd);
	return 1;
}

/* Servers whose services have reuse-port bind one port, beside a socket
 * of the program's that has it too; a server whose service has not cannot
 * bind it then. */
START_TEST(test_reuse_port_shares_a_port)
{
	struct harbor_server	*srv[3];
	struct harbor_service	*svc;
	harbor_socket_t		 own;
	char			 addr[64], err[256];
	int			 i, port;

	own = harbor_listen_open_opts("127.0.0.1:0", 5,
	    HARBOR_LISTEN_REUSE_PORT, err, sizeof err);
	ck_assert_msg(own != -1, "%s", err);
	port = port_of((int)own);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	ck_assert(!can_share(port, 0));
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(srv[i] = harbor_server_new(NULL));
		svc = harbor_service_new("r", harbor_builtin_handler("echo"));
		ck_assert_int_eq(harbor_service_add_listen(svc, addr, err,
		    sizeof err), 0);
		ck_assert_int_eq(harbor_service_set_reuse_port(svc, i < 2, err,
		    sizeof err), 0);
		ck_assert_int_eq(harbor_server_add_service(srv[i], svc, err,
		    sizeof err), 0);
		if (i < 2)
			ck_assert_msg(harbor_server_bind(srv[i], err,
			    sizeof err) == 0, "server %d: %s", i, err);
		else {
			ck_assert_int_eq(harbor_server_bind(srv[i], err,
			    sizeof err), -1);
			ck_assert_msg(strstr(err, "Address already in use") !=
			    NULL, "%s", err);
		}
	}
	for (i = 0; i < 3; i++)
		harbor_server_free(srv[i]);
	(void)close((int)own);
}
END_TEST

static struct harbor_service	*reused[2];
static int			 reuse_result;
static char			 reuse_err[256];

static void
do_reuse_replace(void *arg)
{
	reuse_result = harbor_server_replace_services(embed_srv, reused,
	    (size_t)(uintptr_t)arg, reuse_err, sizeof reuse_err);
}

/* A reload opens the addresses it adds as the new services ask, and
 * keeps the sockets of those that stay as they were opened. */
START_TEST(test_reuse_port_on_reload)
{
	char	err[256];
	int	port;

	start_server(HARBOR_DISPATCH_INLINE, 1);
	reused[0] = greeter_service("g", "hello", HARBOR_DISPATCH_INLINE);
	reused[1] = greeter_service("r", "hello", HARBOR_DISPATCH_INLINE);
	ck_assert_int_eq(harbor_service_set_reuse_port(reused[1], 1, err,
	    sizeof err), 0);
	embed_on_loop(do_reuse_replace, (void *)(uintptr_t)2);
	ck_assert_msg(reuse_result == 0, "%s", reuse_err);
	port = embed_port("r");
	ck_assert(can_share(port, 1));
	ck_assert(!can_share(port, 0));
	/* g's socket was opened without it, r's with it: as they stay. */
	ck_assert(!can_share(embed_port("g"), 1));
	reused[0] = greeter_service("g", "hello", HARBOR_DISPATCH_INLINE);
	ck_assert_int_eq(harbor_service_set_reuse_port(reused[0], 1, err,
	    sizeof err), 0);
	reused[1] = greeter_service("r", "hello", HARBOR_DISPATCH_INLINE);
	embed_on_loop(do_reuse_replace, (void *)(uintptr_t)2);
	ck_assert_msg(reuse_result == 0, "%s", reuse_err);
	ck_assert_int_eq(embed_port("r"), port);
	ck_assert(can_share(port, 1));
	ck_assert(!can_share(embed_port("g"), 1));
	embed_stop();
}
END_TEST
#endif

int
main(void)
{
	Suite	*s = suite_create("library");
	TCase	*tc = tcase_create("embedded");

	harbor_log_set_level(HARBOR_LOG_WARNING);
	tcase_set_timeout(tc, 30);
	/* inline and pool, with I/O threads and with I/O on the main loop */
	tcase_add_loop_test(tc, test_handler_sees_its_connection, 0, 4);
	/* raw and line framing, inline and pool */
	tcase_add_loop_test(tc, test_close_then_read_input, 0, 4);
#ifndef _WIN32
	/* chargen, then echo, each with io-threads 0 (the program's thread
	 * writes), 1 and 2 */
	tcase_add_loop_test(tc, test_no_sigpipe, 0, 6);
#endif
	tcase_add_test(tc, test_service_init_failure_is_reported);
	tcase_add_test(tc, test_service_init_message_is_one_line);
	tcase_add_test(tc, test_replace_services);
	tcase_add_test(tc, test_reuse_port_refusals);
#ifdef _WIN32
	check_skip("test_reuse_port_shares_a_port", "no SO_REUSEPORT");
	check_skip("test_reuse_port_on_reload", "no SO_REUSEPORT");
#else
	tcase_add_test(tc, test_reuse_port_shares_a_port);
	tcase_add_test(tc, test_reuse_port_on_reload);
#endif
	suite_add_tcase(s, tc);
	return check_run(s);
}
