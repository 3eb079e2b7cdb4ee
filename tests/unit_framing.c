/* Framing: raw chunks, complete lines, over-long lines, the last line; a
 * line that comes in pieces searched once, not once a piece. */
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
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_RAW, 4, 0, &(struct frame_scan){ 0 }, &len),
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
	while (frame_next(b, HARBOR_FRAMING_RAW, 0, 0, &(struct frame_scan){ 0 }, &len) == FRAME_READY) {
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

	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_RAW, 8, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_NONE);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 1, &(struct frame_scan){ 0 }, &len),
	    FRAME_NONE);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_lines_lf_and_crlf)
{
	struct evbuffer	*b = buf_of("one\ntwo\r\nthr");
	size_t		 len = 0;

	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 4);
	evbuffer_drain(b, len);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 5);	/* "two\r\n", ending included */
	evbuffer_drain(b, len);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_NONE);
	/* At the end of input the partial line is delivered. */
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 1, &(struct frame_scan){ 0 }, &len),
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
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 9);
	evbuffer_free(b);
	b = buf_of("12345678\r\n");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 10);
	evbuffer_free(b);
	/* One more is too long, ended or not. */
	b = buf_of("123456789\n");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_TOO_LONG);
	evbuffer_free(b);
	b = buf_of("123456789\r\n");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_TOO_LONG);
	evbuffer_free(b);
	b = buf_of("1234567890");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_TOO_LONG);
	evbuffer_free(b);
	/* An unended line that may still be ended in time waits... */
	b = buf_of("12345678\r");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_NONE);
	/* ...but at the end of input its "\r" is content, one too many. */
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 1, &(struct frame_scan){ 0 }, &len),
	    FRAME_TOO_LONG);
	evbuffer_free(b);
	b = buf_of("12345678");
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 1, &(struct frame_scan){ 0 }, &len),
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
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 8, 0, &(struct frame_scan){ 0 }, &len),
	    FRAME_READY);
	ck_assert_uint_eq(len, 5);
	evbuffer_free(b);
}
END_TEST

/* A line of n bytes and its "\n", fed a piece at a time as reads would
 * add it, with max-line above it: the bytes searched for its end. */
static uint64_t
searched_feeding(size_t n, size_t piece)
{
	struct evbuffer		*b = evbuffer_new();
	struct frame_scan	 scan = { 0, 0 };
	char			*line = malloc(n + 1);
	size_t			 off, len = 0, k, wrong = 0;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(line);
	memset(line, 'x', n);
	line[n] = '\n';
	/* Counted, not asserted a piece: Check records every assertion. */
	for (off = 0; off < n + 1; off += k) {
		k = n + 1 - off < piece ? n + 1 - off : piece;
		if (evbuffer_add(b, line + off, k) != 0)
			wrong++;
		if (off + k < n + 1 && frame_next(b, HARBOR_FRAMING_LINE,
		    2 * n, 0, &scan, &len) != FRAME_NONE)
			wrong++;
	}
	ck_assert_uint_eq(wrong, 0);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 2 * n, 0, &scan,
	    &len), FRAME_READY);
	ck_assert_uint_eq(len, n + 1);
	free(line);
	evbuffer_free(b);
	return scan.examined;
}

/* 1 MiB a byte at a time costs what it costs at once: each byte is
 * searched once (it was every byte buffered, each time). */
START_TEST(test_line_in_pieces_searched_once)
{
	const size_t	n = 1024 * 1024;
	uint64_t	whole = searched_feeding(n, n + 1);
	uint64_t	bytes = searched_feeding(n, 1);
	uint64_t	blocks = searched_feeding(n, 1000);

	ck_assert_uint_eq(whole, n + 1);
	ck_assert_msg(bytes <= 2 * whole, "a byte at a time: %llu bytes "
	    "searched for a line of %zu", (unsigned long long)bytes, n);
	ck_assert_msg(blocks <= 2 * whole, "in pieces of 1000: %llu bytes "
	    "searched for a line of %zu", (unsigned long long)blocks, n);
}
END_TEST

/* Where the search stopped follows what is taken from the front: lines
 * that arrive in pieces, several to a piece, each found whole. */
START_TEST(test_scan_follows_drains)
{
	static const char	 text[] = "alpha\nbeta\r\ngamma and more\n\nz\n";
	struct evbuffer		*b = evbuffer_new();
	struct frame_scan	 scan = { 0, 0 };
	const char		*want[] = { "alpha\n", "beta\r\n",
				    "gamma and more\n", "\n", "z\n" };
	size_t			 piece, off, len, got;
	char			 line[32];

	ck_assert_ptr_nonnull(b);
	for (piece = 1; piece < sizeof text; piece++) {
		got = 0;
		for (off = 0; off < sizeof text - 1; off += piece) {
			size_t k = sizeof text - 1 - off < piece ?
			    sizeof text - 1 - off : piece;

			ck_assert_int_eq(evbuffer_add(b, text + off, k), 0);
			while (frame_next(b, HARBOR_FRAMING_LINE, 16, 0, &scan,
			    &len) == FRAME_READY) {
				ck_assert_uint_lt(got, 5);
				ck_assert_uint_eq(len, strlen(want[got]));
				ck_assert_int_eq(evbuffer_remove(b, line, len),
				    (int)len);
				frame_scan_drained(&scan, len);
				ck_assert(memcmp(line, want[got], len) == 0);
				got++;
			}
		}
		ck_assert_uint_eq(got, 5);
		ck_assert_uint_eq(evbuffer_get_length(b), 0);
		ck_assert_uint_eq(scan.scanned, 0);
	}
	/* Taken from the front in part: the search goes on from where it
	 * is in what is left. */
	ck_assert_int_eq(evbuffer_add(b, "abcdef", 6), 0);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 0, &scan,
	    &len), FRAME_NONE);
	ck_assert_uint_eq(scan.scanned, 6);
	ck_assert_int_eq(evbuffer_drain(b, 2), 0);
	frame_scan_drained(&scan, 2);
	ck_assert_uint_eq(scan.scanned, 4);
	ck_assert_int_eq(evbuffer_add(b, "g\n", 2), 0);
	ck_assert_int_eq(frame_next(b, HARBOR_FRAMING_LINE, 16, 0, &scan,
	    &len), FRAME_READY);
	ck_assert_uint_eq(len, 6);	/* "cdefg\n" */
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
	/* It counts, not times: a loaded machine must not fail it. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_line_in_pieces_searched_once);
	tcase_add_test(tc, test_scan_follows_drains);
	suite_add_tcase(s, tc);
	return check_run(s);
}
