/*
 * libFuzzer target: listen addresses and allow/deny networks.  A listen
 * address that parses must print back to something that parses to the
 * same address; a network that parses must have a prefix its family
 * allows and contain its own address.
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
	struct harbor_addr	a[ADDR_PARSE_MAX], b[ADDR_PARSE_MAX];
	char			text[128], printed[HARBOR_ADDRSTRLEN], err[256];
	size_t			n, m, i;

	if (size >= sizeof text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	{
		struct cidr	net;

		if (cidr_parse(text, &net, err, sizeof err) == 0 &&
		    (net.prefix > (net.family == AF_INET ? 32u : 128u) ||
		    !cidr_contains(&net, net.family, net.addr)))
			abort();
	}
	if (addr_parse(text, a, &n, err, sizeof err) == -1)
		return 0;
	if (n < 1 || n > ADDR_PARSE_MAX)
		abort();
	for (i = 0; i < n; i++) {
		addr_format((struct sockaddr *)&a[i].ss, printed,
		    sizeof printed);
		if (addr_parse(printed, b, &m, err, sizeof err) == -1 ||
		    m != 1 || b[0].len != a[i].len ||
		    memcmp(&b[0].ss, &a[i].ss, a[i].len) != 0)
			abort();
	}
	return 0;
}
