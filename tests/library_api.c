/*
 * The handler interface, version 1, as a program uses it: the ABI check,
 * settings that say their size, capabilities, input that says how much it consumed, the client's end.
 * Each test runs its handler inline and on the pool.
 */
#include "autoconfig.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#include <io.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include "harbor.h"
#include "check-run.h"
#include "embed.h"

/* --- the ABI check --------------------------------------------------------- */

static const struct harbor_handler from_the_future = {
	.abi_version = 2,
	.size = sizeof(struct harbor_handler) + 64,
	.name = "future",
};

static const struct harbor_handler too_small = {
	.abi_version = HARBOR_ABI_VERSION,
	.size = 16,
	.name = "small",
};

START_TEST(test_abi_is_checked)
{
	struct harbor_server	*s = harbor_server_new(NULL);
	struct harbor_service	*svc;
	char			 err[512] = "", want[512];

	svc = harbor_service_new("f", &from_the_future);
	ck_assert_ptr_nonnull(svc);
	ck_assert_int_eq(harbor_service_add_listen(svc, "127.0.0.1:0", err,
	    sizeof err), 0);
	ck_assert_int_eq(harbor_server_add_service(s, svc, err, sizeof err),
	    -1);
	snprintf(want, sizeof want, "service 'f': its handler was built for "
	    "version 2 of libharbor's handler interface (%zu bytes); this "
	    "libharbor has version %d", sizeof(struct harbor_handler) + 64,
	    HARBOR_ABI_VERSION);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);

	svc = harbor_service_new("s", &too_small);
	ck_assert_int_eq(harbor_service_add_listen(svc, "127.0.0.1:0", err,
	    sizeof err), 0);
	ck_assert_int_eq(harbor_server_add_service(s, svc, err, sizeof err),
	    -1);
	ck_assert_msg(strstr(err, "(16 bytes)") != NULL, "%s", err);
	harbor_server_free(s);
}
END_TEST

/* --- settings, sized ------------------------------------------------------ */

static char	settings_said[512];

static void
settings_sink(enum harbor_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	snprintf(settings_said, sizeof settings_said, "%s", msg);
}

/* A program built against a later header: settings this library lacks,
 * after those it has. */
struct later_settings {
	struct harbor_server_settings	now;
	unsigned			later;
};

START_TEST(test_settings_say_their_size)
{
	struct harbor_server_settings	 set, got;
	struct later_settings		 later;
	struct harbor_server		*s;

	harbor_log_set_sink(settings_sink, NULL);

	/* Not made by settings_default: refused, and said so. */
	memset(&set, 0, sizeof set);
	set.io_threads = 1;
	settings_said[0] = '\0';
	ck_assert_ptr_null(harbor_server_new(&set));
	ck_assert_msg(strstr(settings_said, "settings of 0 bytes") != NULL,
	    "%s", settings_said);

	/* A later program that sets nothing new is served... */
	memset(&later, 0, sizeof later);
	harbor_server_settings_default(&later.now);
	later.now.size = sizeof later;
	later.now.workers = 3;
	s = harbor_server_new(&later.now);
	ck_assert_ptr_nonnull(s);
	harbor_server_settings_default(&got);
	harbor_server_get_settings(s, &got);
	ck_assert_int_eq(got.workers, 3);
	ck_assert_uint_eq(got.size, sizeof got);
	harbor_server_free(s);

	/* ...one that asks for what this library lacks is not. */
	later.later = 1;
	settings_said[0] = '\0';
	ck_assert_ptr_null(harbor_server_new(&later.now));
	ck_assert_msg(strstr(settings_said, "needs a newer libharbor") !=
	    NULL, "%s", settings_said);

	/* A caller whose settings end before max_connections gets only
	 * what it has room for. */
	memset(&got, 0x55, sizeof got);
	got.size = offsetof(struct harbor_server_settings, queue_size);
	s = harbor_server_new(NULL);
	harbor_server_get_settings(s, &got);
	ck_assert_int_eq(got.workers, harbor_cpu_count());
	ck_assert_uint_eq(got.queue_size, 0x55555555u);
	harbor_server_free(s);

	harbor_log_set_sink(NULL, NULL);
}
END_TEST

static const struct harbor_handler loop_bound = {
	HARBOR_HANDLER_V1,
	.name = "loop-bound",
	.flags = HARBOR_HANDLER_INLINE_ONLY,
};

START_TEST(test_inline_only_stays_inline)
{
	struct harbor_service	*svc = harbor_service_new("l", &loop_bound);

	ck_assert_int_eq(harbor_service_set_dispatch(svc,
	    HARBOR_DISPATCH_POOL), -1);
	ck_assert_int_eq(harbor_service_set_dispatch(svc,
	    HARBOR_DISPATCH_INLINE), 0);
	harbor_service_free(svc);
}
END_TEST

/* --- input consumed: a length-prefixed protocol ------------------------------ */

/* A 4-byte big-endian length, then that many bytes; the reply is the
 * payload reversed.  Nothing is consumed until a whole frame is there. */
/* Calls with less input than the handler said it needs. */
static atomic_int short_calls;

static size_t
frames_input(struct harbor_conn *c, const char *data, size_t len)
{
	const unsigned char	*p = (const unsigned char *)data;
	size_t			 used = 0, n, i;
	char			 out[256];

	if (len < (uintptr_t)harbor_conn_get_data(c))
		atomic_fetch_add(&short_calls, 1);
	harbor_conn_set_data(c, NULL);
	while (len - used >= 4) {
		n = (size_t)p[used] << 24 | (size_t)p[used + 1] << 16 |
		    (size_t)p[used + 2] << 8 | p[used + 3];
		if (n > sizeof out) {
			harbor_conn_close(c);
			return len;
		}
		if (len - used - 4 < n) {
			/* Not called again before the frame is whole. */
			if (used == 0) {
				ck_assert_int_eq(harbor_conn_need_input(c,
				    4 + n), 0);
				harbor_conn_set_data(c, (void *)(4 + n));
			}
			break;
		}
		for (i = 0; i < n; i++)
			out[i] = data[used + 4 + n - 1 - i];
		(void)harbor_conn_write(c, out, n);
		used += 4 + n;
	}
	return used;
}

static const struct harbor_handler frames = {
	HARBOR_HANDLER_V1,
	.name = "frames",
	.input = frames_input,
};

static void
frame_of(const char *payload, char *out, size_t *len)
{
	size_t	n = strlen(payload);

	out[0] = 0;
	out[1] = 0;
	out[2] = (char)(n >> 8);
	out[3] = (char)n;
	memcpy(out + 4, payload, n);
	*len = n + 4;
}

START_TEST(test_input_consumed)
{
	char	a[64], b[64], both[128], got[64];
	size_t	alen, blen, i;
	int	fd;

	atomic_store(&short_calls, 0);
	embed_start1(embed_service("f", &frames, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 2);
	fd = embed_client(embed_port("f"));
	/* A byte at a time: nothing comes back until the frame is whole,
	 * and once the length is known, input waits for it all. */
	frame_of("hello", a, &alen);
	for (i = 0; i + 1 < alen; i++) {
		ck_assert_int_eq(embed_send(fd, a + i, 1), 0);
		ck_assert(embed_silent(fd, 20));
	}
	ck_assert_int_eq(embed_send(fd, a + i, 1), 0);
	ck_assert_uint_eq(embed_read_n(fd, got, 5, 5000), 5);
	ck_assert(memcmp(got, "olleh", 5) == 0);
	ck_assert_int_eq(atomic_load(&short_calls), 0);
	/* Two frames and a half in one write, the rest later. */
	frame_of("abc", a, &alen);
	frame_of("0123456789", b, &blen);
	memcpy(both, a, alen);
	memcpy(both + alen, b, blen);
	memcpy(both + alen + blen, a, 5);
	ck_assert_int_eq(embed_send(fd, both, alen + blen + 5), 0);
	ck_assert_uint_eq(embed_read_n(fd, got, 13, 5000), 13);
	ck_assert(memcmp(got, "cba9876543210", 13) == 0);
	ck_assert(embed_silent(fd, 50));
	ck_assert_int_eq(embed_send(fd, a + 5, alen - 5), 0);
	ck_assert_uint_eq(embed_read_n(fd, got, 3, 5000), 3);
	ck_assert(memcmp(got, "cba", 3) == 0);
	embed_close(fd);
	embed_stop();
}
END_TEST

/* What the handler leaves cannot fill the connection's input: at
 * max-input, it is closed. */
static size_t
hoard_input(struct harbor_conn *c, const char *data, size_t len)
{
	(void)c;
	(void)data;
	(void)len;
	return 0;
}

static const struct harbor_handler hoarder = {
	HARBOR_HANDLER_V1,
	.name = "hoarder",
	.input = hoard_input,
};

START_TEST(test_input_left_at_max_input_closes)
{
	struct harbor_service	*svc = embed_service("h", &hoarder,
				    embed_dispatch_of(_i), HARBOR_FRAMING_RAW);
	char			 buf[3000];
	int			 fd;

	ck_assert_int_eq(harbor_service_set_max_input(svc, 1024), 0);
	ck_assert_int_eq(harbor_service_set_max_input(svc, 0), -1);
	embed_start1(svc, 2);
	fd = embed_client(embed_port("h"));
	memset(buf, 'h', sizeof buf);
	ck_assert_int_eq(embed_send(fd, buf, 100), 0);
	ck_assert(embed_silent(fd, 100));	/* under max-input: waits */
	ck_assert_int_eq(embed_send(fd, buf, sizeof buf), 0);
	ck_assert_msg(embed_wait_eof(fd, 5000), "a connection whose handler "
	    "left max-input unconsumed was kept");
	embed_close(fd);
	embed_stop();
}
END_TEST

/* --- the client's end ------------------------------------------------------ */

/* Counts what comes; at the client's end, says how much, then closes. */
static size_t
count_input(struct harbor_conn *c, const char *data, size_t len)
{
	uintptr_t	n = (uintptr_t)harbor_conn_get_data(c);

	(void)data;
	harbor_conn_set_data(c, (void *)(n + len));
	return len;
}

static atomic_int ends;

static void
count_end(struct harbor_conn *c)
{
	atomic_fetch_add(&ends, 1);
	(void)harbor_conn_printf(c, "%lu bytes\n",
	    (unsigned long)(uintptr_t)harbor_conn_get_data(c));
	harbor_conn_close(c);
}

static const struct harbor_handler counter = {
	HARBOR_HANDLER_V1,
	.name = "counter",
	.input = count_input,
	.end = count_end,
};

START_TEST(test_end_of_input)
{
	char	buf[10000], line[64];
	int	fd;

	atomic_store(&ends, 0);
	embed_start1(embed_service("c", &counter, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 2);
	fd = embed_client(embed_port("c"));
	memset(buf, 'c', sizeof buf);
	ck_assert_int_eq(embed_send(fd, buf, sizeof buf), 0);
	/* The handler answers only after the client's end. */
	ck_assert(embed_silent(fd, 50));
	embed_shutdown_write(fd);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line),
	    "10000 bytes\n");
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "");
	embed_close(fd);
	embed_stop();
	ck_assert_int_eq(atomic_load(&ends), 1);
}
END_TEST

/* --- output by reference and from a file; the end of sending ------------- */

static const char	ref_text[] = "by reference\n";
static atomic_int	ref_done;
static int		file_fd = -1;
#define FILE_BYTES	(1024 * 1024 + 17)

static void
ref_sent(const void *data, size_t len, void *arg)
{
	ck_assert_ptr_eq(data, ref_text);
	ck_assert_uint_eq(len, sizeof ref_text - 1);
	ck_assert_ptr_eq(arg, &ref_done);
	atomic_fetch_add(&ref_done, 1);
}

static void
serve_open(struct harbor_conn *c)
{
	ck_assert_int_eq(harbor_conn_printf(c, "%d bytes follow\n",
	    (int)(sizeof ref_text - 1 + FILE_BYTES)), 0);
	ck_assert_int_eq(harbor_conn_write_ref(c, ref_text,
	    sizeof ref_text - 1, ref_sent, &ref_done), 0);
	ck_assert_int_eq(harbor_conn_write_file(c, file_fd, 0, FILE_BYTES),
	    0);
	file_fd = -1;		/* the library's now */
	/* The client reads to its end of file; we go on reading. */
	ck_assert_int_eq(harbor_conn_shutdown_write(c), 0);
	ck_assert_int_eq(harbor_conn_write(c, "late", 4), -1);
}

static size_t
serve_input(struct harbor_conn *c, const char *data, size_t len)
{
	uintptr_t	n = (uintptr_t)harbor_conn_get_data(c);

	(void)data;
	harbor_conn_set_data(c, (void *)(n + len));
	return len;
}

static atomic_int served_after_shutdown;

static void
serve_end(struct harbor_conn *c)
{
	atomic_store(&served_after_shutdown,
	    (int)(uintptr_t)harbor_conn_get_data(c));
	harbor_conn_close(c);
}

static const struct harbor_handler server_of_files = {
	HARBOR_HANDLER_V1,
	.name = "files",
	.open = serve_open,
	.input = serve_input,
	.end = serve_end,
};

START_TEST(test_ref_file_and_shutdown_write)
{
	char		 path[] = "harbor-file-XXXXXX", line[64];
	unsigned char	*want, *got;
	size_t		 i;
	int		 fd;

	ck_assert_ptr_nonnull(want = malloc(FILE_BYTES));
	ck_assert_ptr_nonnull(got = malloc(FILE_BYTES + 64));
	for (i = 0; i < FILE_BYTES; i++)
		want[i] = (unsigned char)(i * 31 + (i >> 9));
	ck_assert_int_ge(file_fd = mkstemp(path), 0);
	(void)unlink(path);
	ck_assert_int_eq(write(file_fd, want, FILE_BYTES), FILE_BYTES);
	atomic_store(&ref_done, 0);
	atomic_store(&served_after_shutdown, 0);
	embed_start1(embed_service("s", &server_of_files, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 2);
	fd = embed_client(embed_port("s"));
	snprintf((char *)got, 64, "%d bytes follow\n",
	    (int)(sizeof ref_text - 1 + FILE_BYTES));
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line),
	    (char *)got);
	ck_assert_uint_eq(embed_read_n(fd, got, sizeof ref_text - 1 +
	    FILE_BYTES + 1, 10000), sizeof ref_text - 1 + FILE_BYTES);
	ck_assert(memcmp(got, ref_text, sizeof ref_text - 1) == 0);
	ck_assert(memcmp(got + sizeof ref_text - 1, want, FILE_BYTES) == 0);
	/* Its sending is over; ours is not. */
	ck_assert_int_eq(embed_send_str(fd, "after your end\n"), 0);
	embed_shutdown_write(fd);
	ck_assert(embed_wait_eof(fd, 5000));
	embed_close(fd);
	embed_stop();
	ck_assert_int_eq(atomic_load(&ref_done), 1);
	ck_assert_int_eq(atomic_load(&served_after_shutdown), 15);
	free(want);
	free(got);
}
END_TEST

/* --- timers, pause and resume ----------------------------------------------- */

/* Each line comes back 50 ms later; "hold" pauses input for 200 ms. */
struct later {
	struct harbor_timer	*echo, *unpause;
	char			 line[64];
	size_t			 len;
};

static atomic_int timer_calls_after_close, closes;

static void
later_echo(struct harbor_conn *c, void *arg)
{
	struct later	*l = arg;

	if (atomic_load(&closes) > 0 && harbor_conn_get_data(c) == NULL)
		atomic_fetch_add(&timer_calls_after_close, 1);
	(void)harbor_conn_write(c, l->line, l->len);
	l->len = 0;
	harbor_conn_resume_input(c);
}

static void
later_unpause(struct harbor_conn *c, void *arg)
{
	(void)arg;
	(void)harbor_conn_write(c, "resumed\n", 8);
	harbor_conn_resume_input(c);
}

static void
later_open(struct harbor_conn *c)
{
	struct later	*l = calloc(1, sizeof *l);

	ck_assert_ptr_nonnull(l);
	ck_assert_ptr_nonnull(l->echo = harbor_timer_new(c, later_echo, l));
	ck_assert_ptr_nonnull(l->unpause = harbor_timer_new(c, later_unpause,
	    l));
	harbor_conn_set_data(c, l);
}

static size_t
later_input(struct harbor_conn *c, const char *data, size_t len)
{
	struct later	*l = harbor_conn_get_data(c);

	if (len == 5 && memcmp(data, "hold\n", 5) == 0) {
		harbor_conn_pause_input(c);
		ck_assert_int_eq(harbor_timer_start(l->unpause, 200), 0);
		return len;
	}
	if (l->len > 0 || len > sizeof l->line)
		return 0;	/* one at a time: this one waits */
	memcpy(l->line, data, len);
	l->len = len;
	harbor_conn_pause_input(c);
	ck_assert_int_eq(harbor_timer_start(l->echo, 50), 0);
	return len;
}

static void
later_close(struct harbor_conn *c)
{
	free(harbor_conn_get_data(c));
	harbor_conn_set_data(c, NULL);
	atomic_fetch_add(&closes, 1);
}

static const struct harbor_handler later = {
	HARBOR_HANDLER_V1,
	.name = "later",
	.open = later_open,
	.input = later_input,
	.close = later_close,
};

START_TEST(test_timers_pause_resume)
{
	char		line[64];
	long long	t0;
	int		fd;

	atomic_store(&timer_calls_after_close, 0);
	atomic_store(&closes, 0);
	embed_start1(embed_service("l", &later, embed_dispatch_of(_i),
	    HARBOR_FRAMING_LINE), _i < 2 ? 2 : 0);
	fd = embed_client(embed_port("l"));
	t0 = embed_now_ms();
	ck_assert_int_eq(embed_send_str(fd, "one\ntwo\n"), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "one\n");
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "two\n");
	/* The second waited for the first: two 50 ms timers, one after the
	 * other.  libevent times them on its coarse monotonic clock (a tick
	 * of up to 4 ms) and this clock is read to the millisecond, so each
	 * may seem a few ms short; one timer's worth would be 50. */
	ck_assert_int_ge(embed_now_ms() - t0, 100 - 2 * 5);
	/* Paused: a line sent meanwhile waits for the unpause. */
	ck_assert_int_eq(embed_send_str(fd, "hold\nthree\n"), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line),
	    "resumed\n");
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "three\n");
	/* Closed with a timer running: it does not fire after close. */
	ck_assert_int_eq(embed_send_str(fd, "four\n"), 0);
	embed_close(fd);
	fd = embed_client(embed_port("l"));
	ck_assert_int_eq(embed_send_str(fd, "five\n"), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "five\n");
	embed_close(fd);
	embed_stop();
	ck_assert_int_eq(atomic_load(&timer_calls_after_close), 0);
	ck_assert_int_eq(atomic_load(&closes), 2);
}
END_TEST

/* --- work on another thread, answered in the connection's order ------------- */

struct lookup {
	struct harbor_conn	*conn;
	char			 word[32];
	int			 delay_ms;
};

static atomic_int answered, gone_told;

static void
answer(struct harbor_conn *c, void *arg, int gone)
{
	struct lookup	*lk = arg;
	size_t		 i, n = strlen(lk->word);

	if (gone)
		atomic_fetch_add(&gone_told, 1);
	else {
		for (i = 0; i < n / 2; i++) {
			char t = lk->word[i];

			lk->word[i] = lk->word[n - 1 - i];
			lk->word[n - 1 - i] = t;
		}
		(void)harbor_conn_printf(c, "%s\n", lk->word);
		atomic_fetch_add(&answered, 1);
	}
	free(lk);
}

static void *
worker(void *arg)
{
	struct lookup		*lk = arg;
	struct harbor_conn	*c = lk->conn;
	struct timespec		 ts = { 0, lk->delay_ms * 1000000L };

	(void)nanosleep(&ts, NULL);
	ck_assert_int_eq(harbor_conn_post(c, answer, lk), 0);
	harbor_conn_release(c);
	return NULL;
}

static size_t
async_input(struct harbor_conn *c, const char *data, size_t len)
{
	struct lookup	*lk = calloc(1, sizeof *lk);
	pthread_t	 t;

	ck_assert_ptr_nonnull(lk);
	lk->conn = c;
	lk->delay_ms = len > 0 && data[0] == 's' ? 300 : 20;
	snprintf(lk->word, sizeof lk->word, "%.*s", (int)(len - 1), data);
	harbor_conn_hold(c);
	ck_assert_int_eq(pthread_create(&t, NULL, worker, lk), 0);
	ck_assert_int_eq(pthread_detach(t), 0);
	return len;
}

static const struct harbor_handler asyncer = {
	HARBOR_HANDLER_V1,
	.name = "async",
	.input = async_input,
};

START_TEST(test_post_from_another_thread)
{
	char	line[64];
	int	fd;

	atomic_store(&answered, 0);
	atomic_store(&gone_told, 0);
	embed_start1(embed_service("a", &asyncer, embed_dispatch_of(_i),
	    HARBOR_FRAMING_LINE), 2);
	fd = embed_client(embed_port("a"));
	ck_assert_int_eq(embed_send_str(fd, "stressed\n"), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line),
	    "desserts\n");
	/* The client goes before its slow answer: told, not crashed. */
	ck_assert_int_eq(embed_send_str(fd, "slow\n"), 0);
	embed_close(fd);
	/* The server waits for the hold at shutdown. */
	embed_stop();
	ck_assert_int_eq(atomic_load(&answered), 1);
	ck_assert_int_eq(atomic_load(&gone_told), 1);
}
END_TEST

/* --- addresses ---------------------------------------------------------------- */

static atomic_int peer_port, local_port, proxied;
/* What the handler was told as text, written before the close the test
 * waits for. */
static char	peer_text[64], local_text[64];

/* An address's port, its length checked against its family. */
static int
port_of(const struct sockaddr *sa, size_t len)
{
	ck_assert_ptr_nonnull(sa);
	if (sa->sa_family == AF_INET6) {
		ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	ck_assert_int_eq(sa->sa_family, AF_INET);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static void
where_open(struct harbor_conn *c)
{
	const struct sockaddr	*sa;
	size_t			 len;

	sa = harbor_conn_peer_addr(c, &len);
	atomic_store(&peer_port, port_of(sa, len));
	sa = harbor_conn_local_addr(c, &len);
	atomic_store(&local_port, port_of(sa, len));
	/* Asked twice: the same text both times. */
	snprintf(peer_text, sizeof peer_text, "%s", harbor_conn_peer(c));
	snprintf(local_text, sizeof local_text, "%s", harbor_conn_local(c));
	ck_assert_str_eq(harbor_conn_peer(c), peer_text);
	ck_assert_str_eq(harbor_conn_local(c), local_text);
	atomic_store(&proxied, harbor_conn_proxied(c));
	harbor_conn_close(c);
}

static const struct harbor_handler where = {
	HARBOR_HANDLER_V1,
	.name = "where",
	.open = where_open,
};

START_TEST(test_addresses)
{
	char	peer[64], local[64];
	int	fd;

	atomic_store(&proxied, -1);
	embed_start1(embed_service("w", &where, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 2);
	fd = embed_client(embed_port("w"));
	ck_assert(embed_wait_eof(fd, 5000));
	embed_addresses(fd, peer, local, sizeof peer);
	ck_assert_int_eq(atomic_load(&peer_port),
	    atoi(strrchr(peer, ':') + 1));
	ck_assert_int_eq(atomic_load(&local_port),
	    atoi(strrchr(local, ':') + 1));
	ck_assert_str_eq(peer_text, peer);
	ck_assert_str_eq(local_text, local);
	ck_assert_int_eq(atomic_load(&proxied), 0);
	embed_close(fd);
	embed_stop();
}
END_TEST

#ifndef _WIN32
static const struct harbor_handler silent = {
	HARBOR_HANDLER_V1,
	.name = "silent",
};

/* This process's end of the client connected from fd, or -1. */
static int
server_end_of(int fd)
{
	struct sockaddr_storage	 mine, theirs, a, b;
	socklen_t		 len;
	int			 s;

	len = sizeof mine;
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&mine, &len), 0);
	len = sizeof theirs;
	ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&theirs, &len), 0);
	for (s = 3; s < 4096; s++) {
		if (s == fd)
			continue;
		len = sizeof a;
		if (getpeername(s, (struct sockaddr *)&a, &len) == -1 ||
		    memcmp(&a, &mine, len) != 0)
			continue;
		len = sizeof b;
		if (getsockname(s, (struct sockaddr *)&b, &len) == 0 &&
		    memcmp(&b, &theirs, len) == 0)
			return s;
	}
	return -1;
}
#endif

/* A program that runs another (fork and exec, system(3)) hands it no
 * client's socket: the loops accept them close-on-exec. */
START_TEST(test_clients_close_on_exec)
{
#ifdef _WIN32
	return;
#else
	int	fd, s = -1, tries;

	embed_start1(embed_service("s", &silent, HARBOR_DISPATCH_INLINE,
	    HARBOR_FRAMING_RAW), 2);
	fd = embed_client(embed_port("s"));
	for (tries = 0; tries < 500 && (s = server_end_of(fd)) == -1; tries++) {
		struct timespec	ts = { 0, 10 * 1000 * 1000 };

		(void)nanosleep(&ts, NULL);
	}
	ck_assert_msg(s != -1, "the server's end of the client not found");
	ck_assert(fcntl(s, F_GETFD) & FD_CLOEXEC);
	embed_close(fd);
	embed_stop();
#endif
}
END_TEST

/* Through a PROXY header, the handler sees the addresses it names, as
 * structures and as text. */
START_TEST(test_addresses_proxied)
{
	const char		*hdr = "PROXY TCP6 2001:db8::7 2001:db8::1 "
				    "40123 443\r\n";
	struct harbor_service	*svc;
	char			 err[256];
	int			 fd;

	atomic_store(&proxied, -1);
	svc = embed_service("w", &where, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW);
	harbor_service_set_proxy_protocol(svc, HARBOR_PROXY_V1, 5000);
	ck_assert_msg(harbor_service_trust_proxy(svc, "127.0.0.1", err,
	    sizeof err) == 0, "%s", err);
	embed_start1(svc, 2);
	fd = embed_client(embed_port("w"));
	ck_assert_int_eq(embed_send(fd, hdr, strlen(hdr)), 0);
	ck_assert(embed_wait_eof(fd, 5000));
	ck_assert_int_eq(atomic_load(&proxied), 1);
	ck_assert_int_eq(atomic_load(&peer_port), 40123);
	ck_assert_int_eq(atomic_load(&local_port), 443);
	ck_assert_str_eq(peer_text, "[2001:db8::7]:40123");
	ck_assert_str_eq(local_text, "[2001:db8::1]:443");
	embed_close(fd);
	embed_stop();
}
END_TEST

/* --- listening sockets from the program ------------------------------------ */

static char	listen_asked[64];
static int	listen_calls;

static harbor_socket_t
listen_opened_here(const char *service, const char *address,
    const struct sockaddr *sa, size_t salen, void *arg, char *err,
    size_t errlen)
{
	(void)sa; (void)salen; (void)arg;
	listen_calls++;
	snprintf(listen_asked, sizeof listen_asked, "%s %s", service, address);
	return harbor_listen_open(address, 16, err, errlen);
}

static harbor_socket_t
listen_refused(const char *service, const char *address,
    const struct sockaddr *sa, size_t salen, void *arg, char *err,
    size_t errlen)
{
	(void)service; (void)address; (void)sa; (void)salen; (void)arg;
	snprintf(err, errlen, "not this one");
	return -1;
}

#ifndef _WIN32
static harbor_socket_t
listen_not_a_socket(const char *service, const char *address,
    const struct sockaddr *sa, size_t salen, void *arg, char *err,
    size_t errlen)
{
	int	*p = arg;

	(void)service; (void)address; (void)sa; (void)salen; (void)err; (void)errlen;
	return p[0];
}
#endif

/* The server binds nothing itself: what the function gives, it serves. */
START_TEST(test_listen_fn_gives_the_sockets)
{
	char	 buf[8], err[256];
	int	 fd;

	listen_calls = 0;
	embed_listen_fn = listen_opened_here;
	embed_start1(embed_service("e", harbor_builtin_handler("echo"),
	    HARBOR_DISPATCH_INLINE, HARBOR_FRAMING_RAW), 0);
	embed_listen_fn = NULL;
	ck_assert_int_eq(listen_calls, 1);
	ck_assert_str_eq(listen_asked, "e 127.0.0.1:0");
	fd = embed_client(embed_port("e"));
	ck_assert_int_eq(embed_send_str(fd, "hi\n"), 0);
	ck_assert_uint_eq(embed_read_n(fd, buf, 3, 5000), 3);
	ck_assert(memcmp(buf, "hi\n", 3) == 0);
	embed_close(fd);
	embed_stop();

	/* "*:7" is two sockets: harbor_listen_open wants one address. */
	ck_assert_int_eq(harbor_listen_open("*:0", 5, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "give one"));
	ck_assert_int_eq(harbor_listen_open("127.0.0.1:x", 5, err,
	    sizeof err), -1);
}
END_TEST

START_TEST(test_listen_fn_refusals)
{
	struct harbor_server	*srv;
	char			 err[256];
#ifndef _WIN32
	int			 p[2];
#endif

	ck_assert_ptr_nonnull(srv = harbor_server_new(NULL));
	ck_assert_int_eq(harbor_server_add_service(srv, embed_service("e",
	    harbor_builtin_handler("echo"), HARBOR_DISPATCH_INLINE,
	    HARBOR_FRAMING_RAW), err, sizeof err), 0);
	harbor_server_set_listen_fn(srv, listen_refused, NULL);
	ck_assert_int_eq(harbor_server_bind(srv, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "cannot listen on 127.0.0.1:0: not this "
	    "one") != NULL, "%s", err);
#ifndef _WIN32
	/* A descriptor that is no socket is refused, and not served. */
	ck_assert_int_eq(pipe(p), 0);
	harbor_server_set_listen_fn(srv, listen_not_a_socket, p);
	ck_assert_int_eq(harbor_server_bind(srv, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "cannot listen on 127.0.0.1:0") != NULL,
	    "%s", err);
	(void)close(p[1]);
#endif
	harbor_server_free(srv);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("library_api");
	TCase	*tc = tcase_create("handler");

	harbor_log_set_level(HARBOR_LOG_WARNING);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_abi_is_checked);
	tcase_add_test(tc, test_settings_say_their_size);
	tcase_add_test(tc, test_inline_only_stays_inline);
	tcase_add_loop_test(tc, test_input_consumed, 0, 2);
	tcase_add_loop_test(tc, test_input_left_at_max_input_closes, 0, 2);
	tcase_add_loop_test(tc, test_end_of_input, 0, 2);
	tcase_add_loop_test(tc, test_ref_file_and_shutdown_write, 0, 2);
	/* inline and pool with I/O threads, then on the main loop */
	tcase_add_loop_test(tc, test_timers_pause_resume, 0, 4);
	tcase_add_loop_test(tc, test_post_from_another_thread, 0, 2);
	tcase_add_loop_test(tc, test_addresses, 0, 2);
	tcase_add_loop_test(tc, test_addresses_proxied, 0, 2);
	tcase_add_test(tc, test_clients_close_on_exec);
	tcase_add_test(tc, test_listen_fn_gives_the_sockets);
	tcase_add_test(tc, test_listen_fn_refusals);
	suite_add_tcase(s, tc);
	return check_run(s);
}
