#include "autoconfig.h"

#include <string.h>

#include "compat.h"

/* Copies at most size-1 bytes, always terminates; returns strlen(src) so a
 * caller can tell it was truncated. */
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src);

	if (size != 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
