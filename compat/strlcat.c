#include "autoconfig.h"

#include <string.h>

#include "compat.h"

/* Appends to dst, of size bytes, as much of src as fits, always
 * terminated; returns the length it tried to make, so a caller can tell
 * it was cut. */
size_t
strlcat(char *dst, const char *src, size_t size)
{
	size_t	have = strnlen(dst, size);

	if (have == size)
		return size + strlen(src);
	return have + strlcpy(dst + have, src, size - have);
}
