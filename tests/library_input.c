/*
 * A handler's input at its edges, as a program sees it: what it leaves is
 * offered again while it consumes some; a pause and a resume in one call
 * ask nothing; a handler that says it consumed more than it was offered
 * is told once in the log; and a connection that fails while held lets
 * its client go at once.  Each runs inline and on the pool.
 */
#include "autoconfig.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harbor.h"
#include "check-run.h"
#include "embed.h"

/* --- one frame a call -------------------------------------------------------- */

/* Consumes one 4-byte frame a call and writes nothing until the third:
 * nothing but the library offers the second and third again. */
static atomic_int frames_seen;

static size_t
one_frame_input(struct harbor_conn *c, const char *data, size_t len)
{
	if (len < 4)
		return 0;
	if (atomic_fetch_add(&frames_seen, 1) + 1 == 3)
		(void)harbor_conn_write(c, "3\n", 2);
	return 4;
}

static const struct harbor_handler one_frame = {
	HARBOR_HANDLER_V1,
	.name = "one-frame",
	.input = one_frame_input,
};

START_TEST(test_what_is_left_is_offered_again)
{
	char	line[16];
	int	fd;

	atomic_store(&frames_seen, 0);
	embed_start1(embed_service("f", &one_frame, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 1);
	fd = embed_client(embed_port("f"));
	ck_assert_int_eq(embed_send_str(fd, "aaaabbbbcccc"), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "3\n");
	embed_close(fd);
	embed_stop();
}
END_TEST

/* --- a pause and a resume in one call ------------------------------------------ */

static atomic_int offers;

/* "P" pauses and resumes and consumes nothing: the same input is not
 * offered again until more comes. */
static size_t
fidget_input(struct harbor_conn *c, const char *data, size_t len)
{
	atomic_fetch_add(&offers, 1);
	if (memchr(data, '\n', len) == NULL) {
		harbor_conn_pause_input(c);
		harbor_conn_resume_input(c);
		return 0;
	}
	(void)harbor_conn_write(c, "ok\n", 3);
	return len;
}

static const struct harbor_handler fidget = {
	HARBOR_HANDLER_V1,
	.name = "fidget",
	.input = fidget_input,
};

START_TEST(test_pause_resume_in_one_call_asks_nothing)
{
	char	line[16];
	int	fd, other;

	atomic_store(&offers, 0);
	embed_start1(embed_service("p", &fidget, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 1);
	fd = embed_client(embed_port("p"));
	ck_assert_int_eq(embed_send_str(fd, "P"), 0);
	/* Another client of the same loop is served meanwhile. */
	other = embed_client(embed_port("p"));
	ck_assert_int_eq(embed_send_str(other, "hello\n"), 0);
	ck_assert_str_eq(embed_read_line(other, line, sizeof line), "ok\n");
	ck_assert(embed_silent(fd, 200));
	ck_assert_int_eq(embed_send_str(fd, "\n"), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "ok\n");
	/* "P", then "P\n"; and the other client's line: not a loop. */
	ck_assert_int_le(atomic_load(&offers), 4);
	embed_close(other);
	embed_close(fd);
	embed_stop();
}
END_TEST

/* --- consuming more than offered ----------------------------------------------- */

static atomic_int overconsumed_said;

static void
count_sink(enum harbor_log_level level, const char *msg, void *arg)
{
	if (level == HARBOR_LOG_WARNING &&
	    strstr(msg, "handler greedy says it consumed") != NULL)
		atomic_fetch_add(&overconsumed_said, 1);
}

static size_t
greedy_input(struct harbor_conn *c, const char *data, size_t len)
{
	(void)harbor_conn_write(c, data, len);
	return len + 5;
}

static const struct harbor_handler greedy = {
	HARBOR_HANDLER_V1,
	.name = "greedy",
	.input = greedy_input,
};

START_TEST(test_overconsuming_is_said_once)
{
	char	line[16];
	int	fd;

	atomic_store(&overconsumed_said, 0);
	harbor_log_set_sink(count_sink, NULL);
	embed_start1(embed_service("g", &greedy, embed_dispatch_of(_i),
	    HARBOR_FRAMING_LINE), 1);
	fd = embed_client(embed_port("g"));
	ck_assert_int_eq(embed_send_str(fd, "one\n"), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "one\n");
	ck_assert_int_eq(embed_send_str(fd, "two\n"), 0);
	ck_assert_str_eq(embed_read_line(fd, line, sizeof line), "two\n");
	embed_close(fd);
	embed_stop();
	harbor_log_set_sink(NULL, NULL);
	ck_assert_int_eq(atomic_load(&overconsumed_said), 1);
}
END_TEST

/* --- failing while held ---------------------------------------------------------- */

static struct harbor_conn	*held;
static pthread_mutex_t		 held_lock = PTHREAD_MUTEX_INITIALIZER;

/* Holds the connection for work elsewhere, then fails it: the client's
 * socket is closed then, not when the work lets go. */
static size_t
hold_fail_input(struct harbor_conn *c, const char *data, size_t len)
{
	harbor_conn_hold(c);
	pthread_mutex_lock(&held_lock);
	held = c;
	pthread_mutex_unlock(&held_lock);
	(void)harbor_conn_fail(c, "refused while held");
	return len;
}

static const struct harbor_handler hold_fail = {
	HARBOR_HANDLER_V1,
	.name = "hold-fail",
	.input = hold_fail_input,
};

START_TEST(test_failed_while_held_lets_the_client_go)
{
	struct harbor_conn	*c;
	int			 fd, eof;

	held = NULL;
	embed_start1(embed_service("h", &hold_fail, embed_dispatch_of(_i),
	    HARBOR_FRAMING_RAW), 1);
	fd = embed_client(embed_port("h"));
	ck_assert_int_eq(embed_send_str(fd, "x"), 0);
	/* Still held: the work has not let go. */
	eof = embed_wait_eof(fd, 3000);
	pthread_mutex_lock(&held_lock);
	c = held;
	pthread_mutex_unlock(&held_lock);
	ck_assert_ptr_nonnull(c);
	harbor_conn_release(c);
	ck_assert_msg(eof, "the client was kept until the hold was released");
	embed_close(fd);
	embed_stop();
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("library_input");
	TCase	*tc = tcase_create("input");

	harbor_log_set_level(HARBOR_LOG_WARNING);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_what_is_left_is_offered_again, 0, 2);
	tcase_add_loop_test(tc, test_pause_resume_in_one_call_asks_nothing, 0,
	    2);
	tcase_add_loop_test(tc, test_overconsuming_is_said_once, 0, 2);
	tcase_add_loop_test(tc, test_failed_while_held_lets_the_client_go, 0,
	    2);
	suite_add_tcase(s, tc);
	return check_run(s);
}
