/*
 * Framing: cutting a connection's input into the pieces its handler is
 * called with.  Raw framing passes on whatever arrived; line framing waits
 * for a complete line and refuses one longer than max-line, so that a
 * client can never make harbor buffer more than that for it.
 */
#include "autoconfig.h"

#include <sys/types.h>

#include <event2/buffer.h>

#include "util.h"

/* Raw input is handed on in chunks no larger than this. */
#define RAW_CHUNK	(16 * 1024)

/* The offset of the first "\n" in in, searching from where the last
 * search stopped; scan->scanned moves past what was searched, so that a
 * line that comes in pieces is searched once in all, not once a piece.
 * -1: none there. */
static ssize_t
find_lf(struct evbuffer *in, size_t have, struct frame_scan *scan)
{
	struct evbuffer_ptr	at, lf;

	if (scan->scanned >= have ||
	    evbuffer_ptr_set(in, &at, scan->scanned, EVBUFFER_PTR_SET) != 0)
		return -1;
	lf = evbuffer_search_eol(in, &at, NULL, EVBUFFER_EOL_LF);
	if (lf.pos == -1) {
		scan->examined += have - scan->scanned;
		scan->scanned = have;
		return -1;
	}
	scan->examined += (size_t)lf.pos - scan->scanned + 1;
	scan->scanned = (size_t)lf.pos;
	return (ssize_t)lf.pos;
}

void
frame_scan_drained(struct frame_scan *scan, size_t n)
{
	scan->scanned = scan->scanned > n ? scan->scanned - n : 0;
}

enum frame_result
frame_next(struct evbuffer *in, enum harbor_framing framing, size_t max_line,
    int eof, struct frame_scan *scan, size_t *len)
{
	size_t	have = evbuffer_get_length(in), content;
	ssize_t	lf;
	char	c;

	if (have == 0)
		return FRAME_NONE;
	if (framing == HARBOR_FRAMING_RAW) {
		*len = have < RAW_CHUNK ? have : RAW_CHUNK;
		return FRAME_READY;
	}

	if ((lf = find_lf(in, have, scan)) == -1) {
		/* A line can be max_line bytes plus "\r" before its "\n". */
		if (have > max_line + 1)
			return FRAME_TOO_LONG;
		if (eof) {
			/* The client's last words, without an ending: no "\r"
			 * allowance, since no "\n" can follow it now. */
			if (have > max_line)
				return FRAME_TOO_LONG;
			*len = have;
			return FRAME_READY;
		}
		return FRAME_NONE;
	}
	content = (size_t)lf;
	if (content > max_line) {
		struct evbuffer_ptr	cr;

		/* "\r\n": the "\r" belongs to the ending, not the content. */
		if (content != max_line + 1 ||
		    evbuffer_ptr_set(in, &cr, content - 1,
		    EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(in, &cr, &c, 1) != 1 || c != '\r')
			return FRAME_TOO_LONG;
	}
	*len = content + 1;
	return FRAME_READY;
}
