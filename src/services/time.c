/*
 * time (RFC 868): the seconds since 1900-01-01 00:00 UTC as a 32-bit
 * big-endian number, then close.  The count wraps in 2036, as the RFC's
 * clients expect.
 */
#include "autoconfig.h"

#include <time.h>

#include "harbor.h"
#include "services.h"

/* Seconds from 1900-01-01 to 1970-01-01. */
#define RFC868_EPOCH_OFFSET	2208988800UL

static void
time_open(struct harbor_conn *conn)
{
	uint32_t	t = (uint32_t)((unsigned long long)time(NULL) +
			    RFC868_EPOCH_OFFSET);
	unsigned char	buf[4];

	buf[0] = (unsigned char)(t >> 24);
	buf[1] = (unsigned char)(t >> 16);
	buf[2] = (unsigned char)(t >> 8);
	buf[3] = (unsigned char)t;
	(void)harbor_conn_write(conn, buf, sizeof buf);
	harbor_conn_close(conn);
}

const struct harbor_handler handler_time = {
	HARBOR_HANDLER_V1,
	.name = "time",
	.open = time_open,
};
