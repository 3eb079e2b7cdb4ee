/*
 * chargen (RFC 864): 72-character lines of the 95 printable ASCII
 * characters, each starting one character further on, CRLF-terminated,
 * for as long as the client reads.  Input is ignored.  It writes only up to
 * the output high-water mark and waits for its writable callback, so a
 * client that does not read costs a bounded amount of memory.
 */
#include "autoconfig.h"

#include <stdint.h>

#include "harbor.h"
#include "services.h"

#define PRINTABLE_FIRST	32
#define PRINTABLE_COUNT	95
#define LINE_CHARS	72
#define LINES_PER_WRITE	64

void
chargen_line(unsigned n, char *buf)
{
	unsigned	i;

	for (i = 0; i < LINE_CHARS; i++)
		buf[i] = (char)(PRINTABLE_FIRST + (n + i) % PRINTABLE_COUNT);
	buf[LINE_CHARS] = '\r';
	buf[LINE_CHARS + 1] = '\n';
}

static void
chargen_writable(struct harbor_conn *conn)
{
	char		buf[CHARGEN_LINE * LINES_PER_WRITE];
	unsigned	next = (unsigned)(uintptr_t)harbor_conn_get_data(conn);
	int		i;

	while (!harbor_conn_output_full(conn)) {
		for (i = 0; i < LINES_PER_WRITE; i++) {
			chargen_line(next, buf + i * CHARGEN_LINE);
			next = (next + 1) % PRINTABLE_COUNT;
		}
		if (harbor_conn_write(conn, buf, sizeof buf) == -1)
			break;
	}
	harbor_conn_set_data(conn, (void *)(uintptr_t)next);
}

const struct harbor_handler handler_chargen = {
	HARBOR_HANDLER_V1,
	.name = "chargen",
	.open = chargen_writable,
	.writable = chargen_writable,
};
