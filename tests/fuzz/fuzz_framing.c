/*
 * libFuzzer target: the framer, as a client drives it.  The first byte
 * picks max-line and the framing; the rest arrives in pieces whose sizes
 * the input also decides.  Every frame must lie within what arrived, and a
 * line frame must respect max-line and hold one line: the search that goes
 * on from where it stopped skips no line end.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer		*in;
	struct frame_scan	 scan = { 0, 0 };
	enum harbor_framing	 framing;
	enum frame_result	 r;
	size_t			 max_line, len, off = 1, piece;
	int			 eof = 0;

	if (size < 2)
		return 0;
	framing = (data[0] & 1) ? HARBOR_FRAMING_LINE : HARBOR_FRAMING_RAW;
	max_line = 1 + (data[0] >> 1);
	if ((in = evbuffer_new()) == NULL)
		return 0;
	while (!eof) {
		piece = 1 + data[off] % 64;
		off++;
		if (off + piece >= size) {
			piece = size - off;
			eof = 1;
		}
		evbuffer_add(in, data + off, piece);
		off += piece;
		for (;;) {
			size_t have = evbuffer_get_length(in);

			r = frame_next(in, framing, max_line, eof, &scan,
			    &len);
			if (r != FRAME_READY)
				break;
			if (len == 0 || len > have)
				abort();
			if (framing == HARBOR_FRAMING_LINE) {
				const char *p = (const char *)
				    evbuffer_pullup(in, (ev_ssize_t)len);
				size_t content = len;

				if (p[len - 1] == '\n') {
					content--;
					if (content > 0 && p[content - 1] ==
					    '\r')
						content--;
				} else if (!eof)
					abort();	/* unended, not last */
				if (content > max_line)
					abort();
				if (memchr(p, '\n', len - 1) != NULL)
					abort();	/* two lines in one */
			}
			evbuffer_drain(in, len);
			frame_scan_drained(&scan, len);
		}
		if (r == FRAME_TOO_LONG) {
			if (framing != HARBOR_FRAMING_LINE)
				abort();
			break;
		}
	}
	evbuffer_free(in);
	return 0;
}
