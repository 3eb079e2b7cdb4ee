/*
 * Framing: cutting a connection's input into the pieces its handler is
 * called with.  Raw framing passes on whatever arrived; line framing waits
 * for a complete line and refuses one longer than max-line, so that a
 * client can never make harbor buffer more than that for it.
 */
#include "autoconfig.h"

#include <event2/buffer.h>

#include "util.h"

/* Raw input is handed on in chunks no larger than this. */
#define RAW_CHUNK	(16 * 1024)

enum frame_result
frame_next(struct evbuffer *in, enum harbor_framing framing, size_t max_line,
    int eof, size_t *len)
{
	size_t			have = evbuffer_get_length(in);
	struct evbuffer_ptr	eol;
	size_t			eol_len = 0;

	if (have == 0)
		return FRAME_NONE;
	if (framing == HARBOR_FRAMING_RAW) {
		*len = have < RAW_CHUNK ? have : RAW_CHUNK;
		return FRAME_READY;
	}

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos == -1) {
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
	{
		size_t	content = (size_t)eol.pos;

		if (content > 0 && max_line < content) {
			/* "\r" belongs to the ending, not the content. */
			struct evbuffer_ptr cr;

			if (content == max_line + 1 &&
			    evbuffer_ptr_set(in, &cr, content - 1,
			    EVBUFFER_PTR_SET) == 0) {
				char c;

				if (evbuffer_copyout_from(in, &cr, &c, 1) == 1 &&
				    c == '\r') {
					*len = content + eol_len;
					return FRAME_READY;
				}
			}
			return FRAME_TOO_LONG;
		}
		*len = content + eol_len;
		return FRAME_READY;
	}
}
