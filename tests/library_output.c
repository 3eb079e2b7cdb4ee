/*
 * A connection's output at its edges, as a program sees it, inline and on
 * the pool: replies far larger than the socket takes, to a client that
 * stops reading in the middle and reads again, arrive whole and in order,
 * and the library holds no more of them than its high-water mark lets the
 * handler write; a reply written and then the write side shut, or the
 * connection closed, in the same call arrives whole before the end; and a
 * handler that writes from its writable callback is called again each
 * time its output drains.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <time.h>
#endif

#include "harbor.h"
#include "check-run.h"
#include "embed.h"

#define REPLY		(256 * 1024)	/* bytes each input byte asks */
#define ASKS		40		/* 10 MiB in all */
#define HIGH		(64 * 1024)

static void
pause_ms(int ms)
{
#ifdef _WIN32
	Sleep((DWORD)ms);
#else
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	(void)nanosleep(&ts, NULL);
#endif
}

/* The byte at offset n of everything the amplifier sends. */
static unsigned char
pattern(size_t n)
{
	return (unsigned char)(n * 7 + n / 251);
}

struct amp {
	size_t	sent;
};

static atomic_size_t	most_pending;	/* over every call */

/* Each byte of input asks for REPLY bytes of the pattern, written while
 * output is below its high-water mark; input waits while it is not. */
static size_t
amp_input(struct harbor_conn *c, const char *data, size_t len)
{
	struct amp	*a = harbor_conn_get_data(c);
	unsigned char	 buf[4096];
	size_t		 i, k, n, used = 0, pending;

	if (a == NULL) {
		a = calloc(1, sizeof *a);
		ck_assert_ptr_nonnull(a);
		harbor_conn_set_data(c, a);
	}
	(void)data;
	while (used < len && !harbor_conn_output_full(c)) {
		for (k = 0; k < REPLY; k += n) {
			n = REPLY - k < sizeof buf ? REPLY - k : sizeof buf;
			for (i = 0; i < n; i++)
				buf[i] = pattern(a->sent + i);
			ck_assert_int_eq(harbor_conn_write(c, buf, n), 0);
			a->sent += n;
		}
		used++;
		pending = harbor_conn_output_pending(c);
		if (pending > atomic_load(&most_pending))
			atomic_store(&most_pending, pending);
	}
	return used;
}

static void
amp_close(struct harbor_conn *c)
{
	free(harbor_conn_get_data(c));
}

static const struct harbor_handler amp = {
	HARBOR_HANDLER_V1,
	.name = "amp",
	.input = amp_input,
	.close = amp_close,
};

START_TEST(test_client_stops_reading_mid_reply)
{
	struct harbor_service	*svc;
	unsigned char		*got;
	char			 asks[ASKS];
	size_t			 n, i, bad = 0;
	int			 fd;

	atomic_store(&most_pending, 0);
	svc = embed_service("amp", &amp, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW);
	ck_assert_int_eq(harbor_service_set_output_watermarks(svc, 16 * 1024,
	    HIGH), 0);
	embed_start1(svc, 1);
	fd = embed_client(embed_port("amp"));
	memset(asks, 'a', sizeof asks);
	ck_assert_int_eq(embed_send(fd, asks, sizeof asks), 0);
	/* A little, then nothing for a while: the socket fills. */
	got = malloc((size_t)REPLY * ASKS);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(embed_read_n(fd, got, 1000, 5000), 1000);
	pause_ms(300);
	n = 1000 + embed_read_n(fd, got + 1000, (size_t)REPLY * ASKS - 1000,
	    20000);
	ck_assert_uint_eq(n, (size_t)REPLY * ASKS);
	for (i = 0; i < n; i++)
		if (got[i] != pattern(i))
			bad++;
	ck_assert_msg(bad == 0, "%zu bytes out of order or wrong", bad);
	/* What the handler could write past the mark is one reply. */
	ck_assert_msg(atomic_load(&most_pending) <= HIGH + REPLY,
	    "%zu bytes pending at most (high-water mark %d)",
	    atomic_load(&most_pending), HIGH);
	free(got);
	embed_close(fd);
	embed_stop();
}
END_TEST

/* --- a reply, then the end, in one call --------------------------------------- */

static size_t
bye_input(struct harbor_conn *c, const char *data, size_t len)
{
	static char	 big[200000];

	memset(big, 'b', sizeof big);
	big[sizeof big - 1] = '\n';
	if (len > 0 && data[0] == 's') {
		ck_assert_int_eq(harbor_conn_write(c, big, sizeof big), 0);
		ck_assert_int_eq(harbor_conn_shutdown_write(c), 0);
	} else if (len > 0 && data[0] == 'c') {
		ck_assert_int_eq(harbor_conn_write(c, big, sizeof big), 0);
		harbor_conn_close(c);
	}
	return len;
}

static const struct harbor_handler bye = {
	HARBOR_HANDLER_V1,
	.name = "bye",
	.input = bye_input,
};

START_TEST(test_reply_then_end)
{
	static char	buf[200000];
	const char	*how[] = { "s", "c" };
	size_t		j;
	int		fd;

	embed_start1(embed_service("bye", &bye, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 1);
	for (j = 0; j < 2; j++) {
		fd = embed_client(embed_port("bye"));
		ck_assert_int_eq(embed_send_str(fd, how[j]), 0);
		ck_assert_uint_eq(embed_read_n(fd, buf, sizeof buf, 5000),
		    sizeof buf);
		ck_assert(buf[0] == 'b' && buf[sizeof buf - 1] == '\n');
		ck_assert_msg(embed_wait_eof(fd, 5000), "no end after the "
		    "reply (%s)", how[j]);
		embed_close(fd);
	}
	embed_stop();
}
END_TEST

/* --- the writable callback ------------------------------------------------- */

static atomic_int	writables;

static void
gen_writable(struct harbor_conn *c)
{
	static const char	chunk[4096] = { 'g' };
	size_t			wrote = 0;

	atomic_fetch_add(&writables, 1);
	/* At most 64 KiB a call: on the pool the loop may send as fast as
	 * this writes, and output would never look full. */
	while (!harbor_conn_output_full(c) && wrote < 64 * 1024) {
		ck_assert_int_eq(harbor_conn_write(c, chunk, sizeof chunk), 0);
		wrote += sizeof chunk;
	}
}

static const struct harbor_handler gen = {
	HARBOR_HANDLER_V1,
	.name = "gen",
	.open = gen_writable,
	.writable = gen_writable,
};

START_TEST(test_writable_each_time_output_drains)
{
	static char	buf[1024 * 1024];
	int		fd, before;

	atomic_store(&writables, 0);
	embed_start1(embed_service("gen", &gen, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 1);
	fd = embed_client(embed_port("gen"));
	ck_assert_uint_eq(embed_read_n(fd, buf, 4096, 5000), 4096);
	before = atomic_load(&writables);
	/* 4 MiB more than it wrote at first, 64 KiB a call at most: it
	 * must have been called again, and again. */
	ck_assert_uint_eq(embed_read_n(fd, buf, sizeof buf, 5000),
	    sizeof buf);
	ck_assert_uint_eq(embed_read_n(fd, buf, sizeof buf, 5000),
	    sizeof buf);
	ck_assert_uint_eq(embed_read_n(fd, buf, sizeof buf, 5000),
	    sizeof buf);
	ck_assert_uint_eq(embed_read_n(fd, buf, sizeof buf, 5000),
	    sizeof buf);
	ck_assert_int_gt(atomic_load(&writables), before + 4);
	embed_close(fd);
	embed_stop();
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("library_output");
	TCase	*tc = tcase_create("output");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_client_stops_reading_mid_reply, 0, 2);
	tcase_add_loop_test(tc, test_reply_then_end, 0, 2);
	tcase_add_loop_test(tc, test_writable_each_time_output_drains, 0, 2);
	suite_add_tcase(s, tc);
	return check_run(s);
}
