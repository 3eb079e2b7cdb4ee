/*
 * daytime (RFC 867): the date and time as one line, then close.  The RFC
 * fixes no format; this is ctime(3)'s, in local time, as BSD inetd sends.
 */
#include "autoconfig.h"

#include <string.h>
#include <time.h>

#include "harbor.h"
#include "services.h"

static void
daytime_open(struct harbor_conn *conn)
{
	char		buf[64];
	time_t		now = time(NULL);
	struct tm	tm;
	size_t		n;

#ifdef _WIN32
	if (localtime_s(&tm, &now) != 0)
		memset(&tm, 0, sizeof tm);
#else
	if (localtime_r(&now, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
#endif
	/* ctime's day of the month is space-padded (%e), which msvcrt's
	 * strftime does not know: pad %d's zero by hand. */
	n = strftime(buf, sizeof buf, "%a %b %d %H:%M:%S %Y\r\n", &tm);
	if (n > 8 && buf[8] == '0')
		buf[8] = ' ';
	(void)harbor_conn_write(conn, buf, n);
	harbor_conn_close(conn);
}

const struct harbor_handler handler_daytime = {
	HARBOR_HANDLER_V1,
	.name = "daytime",
	.open = daytime_open,
};
