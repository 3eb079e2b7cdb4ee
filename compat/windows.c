/*
 * What only Windows needs: the system's words for an error, and a file
 * beside the program (harbord.log, harbord.ctl), where a Unix build has
 * its paths from configure.  Built only for Windows.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include <winsock2.h>
#include <windows.h>

#include "compat.h"

const char *
compat_win_strerror(unsigned long e, char *buf, size_t len)
{
	size_t	n;

	if (FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
	    FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)e, 0, buf, (DWORD)len,
	    NULL) == 0) {
		snprintf(buf, len, "error %lu", e);
		return buf;
	}
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '.'))
		buf[--n] = '\0';
	return buf;
}

const char *
compat_beside_program(const char *name, char *buf, size_t len)
{
	char	*slash;
	DWORD	 n;

	n = GetModuleFileNameA(NULL, buf, (DWORD)len);
	if (n == 0 || n >= len || (slash = strrchr(buf, '\\')) == NULL ||
	    (size_t)(slash + 1 - buf) + strlen(name) >= len)
		snprintf(buf, len, "%s", name);
	else
		memcpy(slash + 1, name, strlen(name) + 1);
	return buf;
}
