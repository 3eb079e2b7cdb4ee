/*
 * libFuzzer target: the PROXY protocol parser, on bytes from anywhere.
 * The first byte picks the versions accepted.  A header must never claim
 * more bytes than there are, and feeding the same bytes in two pieces must
 * give the same answer as feeding them at once.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info	pi, pj;
	enum proxy_result	r, q;
	size_t			used = 0, used2 = 0, cut;
	char			err[256];
	int			versions;

	if (size < 2)
		return 0;
	versions = 1 + data[0] % 3;	/* v1, v2 or both */
	data++;
	size--;
	r = proxy_parse(data, size, versions, &pi, &used, err, sizeof err);
	if (r == PROXY_DONE && (used == 0 || used > size))
		abort();
	/* Any prefix: more needed, the same error or the same header. */
	cut = size / 2;
	q = proxy_parse(data, cut, versions, &pj, &used2, err, sizeof err);
	if (q == PROXY_DONE && (r != PROXY_DONE || used2 != used))
		abort();
	if (r == PROXY_NEED_MORE && q == PROXY_ERROR)
		abort();
	return 0;
}
