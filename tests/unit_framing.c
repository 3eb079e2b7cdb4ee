/* Framing: raw chunks, complete lines, over-long lines, the last line. */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "util.h"
#include "check-run.h"

static struct evbuffer *
buf_of(const char *s)
{
	struct evbuffer	*b = evbuffer_new();

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(evbuffer_add(b, s, strlen(s)), 0);
	return b;
}

START_TEST(test_raw_passes_everything)
{
	struct evbuffer	*b = buf_of("abc\0def");
	size_t		 len = 0;

	ck_assert_int_eq(evbuffer_add(b, "\0\xff", 2), 0);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_RAW, 4, 0, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 5);	/* "abc" + NUL + 0xff */
	evbuffer_free(b);
}
END_TEST

START_TEST(test_raw_chunks_large_input)
{
	struct evbuffer	*b = evbuffer_new();
	char		 block[4096];
	size_t		 len = 0, total = 0;
	int		 i;

	memset(block, 'x', sizeof block);
	for (i = 0; i < 64; i++)
		evbuffer_add(b, block, sizeof block);
	while (frame_next(b, HARBOR_FRAMING_RAW, 0, 0, &len) == FRAME_READY) {
		ck_assert_uint_le(len, 16 * 1024);
		ck_assert_uint_gt(len, 0);
		total += len;
		evbuffer_drain(b, len);
	}
	ck_assert_uint_eq(total, 64 * sizeof block);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_empty_is_none)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 len = 0;

	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_RAW, 8, 0, &len),
	    FRAME_NONE);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 1, &len),
	    FRAME_NONE);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_lines_lf_and_crlf)
{
	struct evbuffer	*b = buf_of("one\ntwo\r\nthr");
	size_t		 len = 0;

	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 0, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 4);
	evbuffer_drain(b, len);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 0, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 5);	/* "two\r\n", ending included */
	evbuffer_drain(b, len);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 0, &len),
	    FRAME_NONE);
	/* At the end of input the partial line is delivered. */
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 1, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 3);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_max_line_boundaries)
{
	struct evbuffer	*b;
	size_t		 len = 0;

	/* Exactly max-line bytes, with either ending, is fine. */
	b = buf_of("12345678\n");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 9);
	evbuffer_free(b);
	b = buf_of("12345678\r\n");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 10);
	evbuffer_free(b);
	/* One more is too long, ended or not. */
	b = buf_of("123456789\n");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &len),
	    FRAME_TOO_LONG);
	evbuffer_free(b);
	b = buf_of("123456789\r\n");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &len),
	    FRAME_TOO_LONG);
	evbuffer_free(b);
	b = buf_of("1234567890");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &len),
	    FRAME_TOO_LONG);
	evbuffer_free(b);
	/* An unended line that may still be ended in time waits... */
	b = buf_of("12345678\r");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &len),
	    FRAME_NONE);
	/* ...but at the end of input its "\r" is content, one too many. */
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 1, &len),
	    FRAME_TOO_LONG);
	evbuffer_free(b);
	b = buf_of("12345678");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 1, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 8);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_binary_in_lines)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 len = 0;

	evbuffer_add(b, "a\0b\xff\n", 5);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 5);
	evbuffer_free(b);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("framing");
	TCase	*tc = tcase_create("frames");

	tcase_add_test(tc, test_raw_passes_everything);
	tcase_add_test(tc, test_raw_chunks_large_input);
	tcase_add_test(tc, test_empty_is_none);
	tcase_add_test(tc, test_lines_lf_and_crlf);
	tcase_add_test(tc, test_max_line_boundaries);
	tcase_add_test(tc, test_binary_in_lines);
	suite_add_tcase(s, tc);
	return check_run(s);
}
