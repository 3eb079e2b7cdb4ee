/*
 * The handler interface, version 1, as a program uses it: the ABI check,
 * capabilities, input that says how much it consumed, the client's end.
 * Each test runs its handler inline and on the pool.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harbor.h"
#include "check-run.h"
#include "embed.h"

static enum harbor_dispatch
dispatch_of(int i)
{
	return i % 2 ? HARBOR_DISPATCH_POOL : HARBOR_DISPATCH_INLINE;
}

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
static size_t
frames_input(struct harbor_conn *c, const char *data, size_t len)
{
	const unsigned char	*p = (const unsigned char *)data;
	size_t			 used = 0, n, i;
	char			 out[256];

	while (len - used >= 4) {
		n = (size_t)p[used] << 24 | (size_t)p[used + 1] << 16 |
		    (size_t)p[used + 2] << 8 | p[used + 3];
		if (n > sizeof out) {
			harbor_conn_close(c);
			return len;
		}
		if (len - used - 4 < n)
			break;
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

	embed_start1(embed_service("f", &frames, dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 2);
	fd = embed_client(embed_port("f"));
	/* A byte at a time: nothing comes back until the frame is whole. */
	frame_of("hello", a, &alen);
	for (i = 0; i + 1 < alen; i++) {
		ck_assert_int_eq(embed_send(fd, a + i, 1), 0);
		ck_assert(embed_silent(fd, 20));
	}
	ck_assert_int_eq(embed_send(fd, a + i, 1), 0);
	ck_assert_uint_eq(embed_read_n(fd, got, 5, 5000), 5);
	ck_assert(memcmp(got, "olleh", 5) == 0);
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
				    dispatch_of(_i), HARBOR_FRAMING_RAW);
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
	embed_start1(embed_service("c", &counter, dispatch_of(_i),
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

int
main(void)
{
	Suite	*s = suite_create("library_api");
	TCase	*tc = tcase_create("handler");

	harbor_log_set_level(HARBOR_LOG_WARNING);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_abi_is_checked);
	tcase_add_test(tc, test_inline_only_stays_inline);
	tcase_add_loop_test(tc, test_input_consumed, 0, 2);
	tcase_add_loop_test(tc, test_input_left_at_max_input_closes, 0, 2);
	tcase_add_loop_test(tc, test_end_of_input, 0, 2);
	suite_add_tcase(s, tc);
	return check_run(s);
}
