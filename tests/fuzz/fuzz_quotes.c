/*
 * libFuzzer target: the qotd quote file parser.  Every quote it accepts
 * must be under RFC 865's 512 bytes.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>

#include "services.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void		*quotes;
	char		 err[256];
	const char	*q;
	size_t		 i, len;

	if (qotd_parse((const char *)data, size, "fuzz.txt", &quotes, err,
	    sizeof err) == -1)
		return 0;
	if (quotes_count(quotes) == 0)
		abort();
	for (i = 0; i < quotes_count(quotes); i++) {
		q = quotes_get(quotes, i, &len);
		if (len < 2 || len >= 512 || q[len - 2] != '\r' ||
		    q[len - 1] != '\n')
			abort();
	}
	quotes_free(quotes);
	return 0;
}
