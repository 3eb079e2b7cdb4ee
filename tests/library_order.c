/*
 * Many clients at once, each sending a run of numbered lines without
 * waiting for answers, to a handler that answers each: inline, and on the
 * pool with a queue of a few jobs, so that most jobs the loop hands over
 * in one batch wait their turn (deferred).  Every answer comes, whole and
 * in its client's order; the handler sees each client's lines in order,
 * never two calls of one connection at once.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harbor.h"
#include "check-run.h"
#include "embed.h"

#define CLIENTS		40
#define LINES		300

struct seen {
	unsigned	next;		/* the line number expected */
	atomic_int	busy;		/* inside a call of this connection */
};

static atomic_int	out_of_order;
static atomic_int	overlapped;

static size_t
number_input(struct harbor_conn *c, const char *data, size_t len)
{
	struct seen	*s = harbor_conn_get_data(c);
	char		 line[64];
	unsigned	 client, n;

	if (s == NULL) {
		ck_assert_ptr_nonnull(s = calloc(1, sizeof *s));
		harbor_conn_set_data(c, s);
	}
	if (atomic_exchange(&s->busy, 1))
		atomic_fetch_add(&overlapped, 1);
	if (len >= sizeof line)
		len = sizeof line - 1;
	memcpy(line, data, len);
	line[len] = '\0';
	if (sscanf(line, "%u %u", &client, &n) != 2 || n != s->next)
		atomic_fetch_add(&out_of_order, 1);
	s->next = n + 1;
	(void)harbor_conn_printf(c, "%u %u ok\n", client, n);
	atomic_store(&s->busy, 0);
	return len;
}

static void
number_close(struct harbor_conn *c)
{
	free(harbor_conn_get_data(c));
}

static const struct harbor_handler numbers = {
	HARBOR_HANDLER_V1,
	.name = "numbers",
	.input = number_input,
	.close = number_close,
};

START_TEST(test_many_clients_in_order)
{
	static char	 out[LINES * 16];
	int		 fds[CLIENTS];
	char		 buf[64], want[64];
	size_t		 len;
	int		 i, k, wrong = 0, missing = 0;

	atomic_store(&out_of_order, 0);
	atomic_store(&overlapped, 0);
	embed_queue_size = 4;
	embed_start1(embed_service("numbers", &numbers, embed_dispatch_of(_i),
	    HARBOR_FRAMING_LINE), 1);
	for (i = 0; i < CLIENTS; i++)
		fds[i] = embed_client(embed_port("numbers"));
	/* Every client's lines first, a third at a time: the loop finds
	 * input on many connections at once. */
	for (k = 0; k < 3; k++)
		for (i = 0; i < CLIENTS; i++) {
			int	line, from = k * LINES / 3, to = (k + 1) * LINES / 3;

			for (len = 0, line = from; line < to; line++)
				len += (size_t)snprintf(out + len,
				    sizeof out - len, "%d %d\n", i, line);
			ck_assert_int_eq(embed_send(fds[i], out, len), 0);
		}
	for (i = 0; i < CLIENTS; i++) {
		for (k = 0; k < LINES; k++) {
			if (embed_read_line(fds[i], buf, sizeof buf) == NULL ||
			    buf[0] == '\0') {
				missing += LINES - k;
				break;
			}
			(void)snprintf(want, sizeof want, "%d %d ok\n", i, k);
			if (strcmp(buf, want) != 0 && wrong++ == 0)
				fprintf(stderr, "client %d: \"%s\" for \"%s\"\n",
				    i, buf, want);
		}
		embed_close(fds[i]);
	}
	embed_stop();
	embed_queue_size = 0;
	ck_assert_msg(missing == 0, "%d answers missing", missing);
	ck_assert_msg(wrong == 0, "%d answers wrong or out of order", wrong);
	ck_assert_int_eq(atomic_load(&out_of_order), 0);
	ck_assert_int_eq(atomic_load(&overlapped), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("order");
	TCase	*tc = tcase_create("pipelined");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_many_clients_in_order, 0, 2);
	suite_add_tcase(s, tc);
	return check_run(s);
}
