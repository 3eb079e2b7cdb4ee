/*
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
 * 2): a proxy in front of harbord says who the client really is.
 *
 * Version 1 is one text line of at most 107 bytes:
 *	PROXY TCP4 192.0.2.1 198.51.100.2 51234 7\r\n
 *	PROXY UNKNOWN ...\r\n		(the proxy does not know: keep ours)
 * Version 2 is binary: a 12-byte signature, a version/command byte, a
 * family/protocol byte, a 16-bit length, the addresses, then TLVs, which
 * harbord skips.  Its LOCAL command (a proxy's own health check) keeps the
 * connection's addresses too.
 *
 * The parser is incremental: it says how much more it needs, and never
 * reads past the header, so what follows is the client's data.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "util.h"

#define V1_MAX		107		/* the longest valid v1 line */
#define V2_HEADER	16
#define V2_MAX_BODY	2048		/* addresses and TLVs we accept */

static const uint8_t v2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static enum proxy_result
fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "bad PROXY header: %s", what);
	return PROXY_ERROR;
}

static int
parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Dotted decimal as RFC 1123 writes it, and nothing looser: four fields
 * of 0..255, no leading zeros (which inet_pton takes in some libcs, and
 * others read as octal), nothing after. */
static int
ipv4_strict(const char *s, size_t len, uint8_t out[4])
{
	size_t		i = 0, n;
	unsigned	v, part;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
		for (n = 0, v = 0; i < len && s[i] >= '0' && s[i] <= '9';
		    i++, n++) {
			v = v * 10 + (unsigned)(s[i] - '0');
			if (n == 3 || v > 255)
				return -1;
		}
		if (n == 0 || (n > 1 && s[i - n] == '0'))
			return -1;
		out[part] = (uint8_t)v;
	}
	return i == len ? 0 : -1;
}

/* RFC 4291's text forms: hex groups, "::", and a dotted IPv4 tail, which
 * is held to ipv4_strict too.  No zone, no spaces, no NUL. */
static int
ipv6_strict(const char *s, size_t len, uint8_t out[16])
{
	char		buf[INET6_ADDRSTRLEN];
	const char	*dot = NULL;
	uint8_t		v4[4];
	size_t		i, tail;

	if (len == 0 || len >= sizeof buf)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (dot == NULL)
				dot = s + i;
		} else if (s[i] != ':' && !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return -1;
	}
	if (dot != NULL) {
		for (tail = (size_t)(dot - s); tail > 0 && s[tail - 1] != ':';
		    tail--)
			;
		if (ipv4_strict(s + tail, len - tail, v4) == -1)
			return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return evutil_inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

static int
set_addr(struct sockaddr_storage *ss, int family, const char *text,
    size_t len, uint16_t port)
{
	memset(ss, 0, sizeof *ss);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (ipv4_strict(text, len, (uint8_t *)&sin->sin_addr) == -1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (ipv6_strict(text, len, (uint8_t *)&sin6->sin6_addr) == -1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return 0;
}

static enum proxy_result
parse_v1(const uint8_t *buf, size_t len, struct proxy_info *out,
    size_t *used, char *err, size_t errlen)
{
	const char	*line = (const char *)buf, *field[6], *p, *end;
	size_t		 flen[6], n = 0, linelen;
	int		 family;
	const uint8_t	*cr;

	/* The line ends at the first CR or LF, which must be CR LF. */
	for (cr = buf; cr < buf + (len < V1_MAX ? len : V1_MAX); cr++)
		if (*cr == '\r' || *cr == '\n')
			break;
	if (cr == buf + len)
		return PROXY_NEED_MORE;
	if (cr == buf + V1_MAX)
		return fail(err, errlen, "v1 line longer than 107 bytes");
	if (*cr == '\n')
		return fail(err, errlen, "v1 line not ended by CRLF");
	if ((size_t)(cr - buf) + 1 >= len)
		return PROXY_NEED_MORE;
	if (cr[1] != '\n')
		return fail(err, errlen, "v1 line not ended by CRLF");
	linelen = (size_t)(cr - buf);
	*used = linelen + 2;

	/* "PROXY" and up to five fields, one space apart. */
	end = line + linelen;
	for (p = line; p <= end && n < 6; ) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));

		field[n] = p;
		flen[n] = (size_t)((sp != NULL ? sp : end) - p);
		n++;
		if (sp == NULL)
			break;
		p = sp + 1;
	}
	if (n < 2 || flen[0] != 5 || memcmp(field[0], "PROXY", 5) != 0)
		return fail(err, errlen, "v1 line does not start with "
		    "\"PROXY \"");
	if (flen[1] == 7 && memcmp(field[1], "UNKNOWN", 7) == 0) {
		/* Anything may follow; the addresses stay ours. */
		out->version = 1;
		out->local = 1;
		return PROXY_DONE;
	}
	if (flen[1] == 4 && memcmp(field[1], "TCP4", 4) == 0)
		family = AF_INET;
	else if (flen[1] == 4 && memcmp(field[1], "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return fail(err, errlen, "v1 protocol is not TCP4, TCP6 or "
		    "UNKNOWN");
	if (n != 6 || memchr(field[5], ' ', (size_t)(end - field[5])) != NULL)
		return fail(err, errlen, "v1 line does not have 6 fields");
	{
		uint16_t	sport, dport;

		if (parse_port(field[4], flen[4], &sport) == -1 ||
		    parse_port(field[5], flen[5], &dport) == -1)
			return fail(err, errlen, "v1 port is not 0..65535");
		if (set_addr(&out->src, family, field[2], flen[2], sport) ==
		    -1 || set_addr(&out->dst, family, field[3], flen[3],
		    dport) == -1)
			return fail(err, errlen, family == AF_INET ?
			    "v1 address is not IPv4" :
			    "v1 address is not IPv6");
	}
	out->version = 1;
	out->local = 0;
	return PROXY_DONE;
}

static enum proxy_result
parse_v2(const uint8_t *buf, size_t len, struct proxy_info *out,
    size_t *used, char *err, size_t errlen)
{
	size_t	body;
	uint8_t	cmd, fam;

	if (len < V2_HEADER)
		return PROXY_NEED_MORE;
	if ((buf[12] & 0xf0) != 0x20)
		return fail(err, errlen, "v2 version is not 2");
	cmd = buf[12] & 0x0f;
	fam = buf[13];
	body = ((size_t)buf[14] << 8) | buf[15];
	if (body > V2_MAX_BODY)
		return fail(err, errlen, "v2 header longer than 2064 bytes");
	if (len < V2_HEADER + body)
		return PROXY_NEED_MORE;
	*used = V2_HEADER + body;
	out->version = 2;
	if (cmd == 0x0) {		/* LOCAL: the proxy's own connection */
		out->local = 1;
		return PROXY_DONE;
	}
	if (cmd != 0x1)
		return fail(err, errlen, "v2 command is neither LOCAL nor "
		    "PROXY");
	out->local = 0;
	switch (fam) {
	case 0x11: {			/* TCP over IPv4 */
		struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;

		if (body < 12)
			return fail(err, errlen, "v2 IPv4 addresses cut short");
		memset(&out->src, 0, sizeof out->src);
		memset(&out->dst, 0, sizeof out->dst);
		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, buf + 16, 4);
		memcpy(&d->sin_addr, buf + 20, 4);
		memcpy(&s->sin_port, buf + 24, 2);
		memcpy(&d->sin_port, buf + 26, 2);
		return PROXY_DONE;
	}
	case 0x21: {			/* TCP over IPv6 */
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;

		if (body < 36)
			return fail(err, errlen, "v2 IPv6 addresses cut short");
		memset(&out->src, 0, sizeof out->src);
		memset(&out->dst, 0, sizeof out->dst);
		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, buf + 16, 16);
		memcpy(&d->sin6_addr, buf + 32, 16);
		memcpy(&s->sin6_port, buf + 48, 2);
		memcpy(&d->sin6_port, buf + 50, 2);
		return PROXY_DONE;
	}
	case 0x00:			/* UNSPEC: keep ours */
		out->local = 1;
		return PROXY_DONE;
	default:
		return fail(err, errlen, "v2 protocol is not TCP over IPv4 or "
		    "IPv6");
	}
}

enum proxy_result
proxy_parse(const uint8_t *buf, size_t len, int versions,
    struct proxy_info *out, size_t *used, char *err, size_t errlen)
{
	size_t	n;

	if (len == 0)
		return PROXY_NEED_MORE;
	/* Which version: decided by as many bytes as are here. */
	n = len < sizeof v2_signature ? len : sizeof v2_signature;
	if ((versions & PROXY_V2) && memcmp(buf, v2_signature, n) == 0) {
		if (len < sizeof v2_signature)
			return PROXY_NEED_MORE;
		return parse_v2(buf, len, out, used, err, errlen);
	}
	n = len < 6 ? len : 6;
	if ((versions & PROXY_V1) && memcmp(buf, "PROXY ", n) == 0)
		return n < 6 ? PROXY_NEED_MORE :
		    parse_v1(buf, len, out, used, err, errlen);
	if (versions == PROXY_V1)
		return fail(err, errlen, "expected a v1 header (\"PROXY ...\")");
	if (versions == PROXY_V2)
		return fail(err, errlen, "expected a v2 header");
	return fail(err, errlen, "neither a v1 nor a v2 header");
}

/* --- writing a header (send-proxy) ----------------------------------------- */

size_t
proxy_header_build(int version, const struct sockaddr *src,
    const struct sockaddr *dst, uint8_t *buf, size_t len)
{
	struct sockaddr_in	 sbuf, dbuf;
	const void		*sa, *da, *sp, *dp;
	char			 st[INET6_ADDRSTRLEN], dt[INET6_ADDRSTRLEN];
	uint16_t		 sport, dport;
	size_t			 alen;
	int			 n, af;

	/* One family for both ends: a dual-stack listener's IPv4 client is
	 * an IPv4-mapped IPv6 address. */
	src = addr_unmapped(src, &sbuf);
	dst = addr_unmapped(dst, &dbuf);
	af = src->sa_family;
	if (af != dst->sa_family || (af != AF_INET && af != AF_INET6)) {
		/* Nothing to say about addresses of two families. */
		if (version == PROXY_V1) {
			n = snprintf((char *)buf, len, "PROXY UNKNOWN\r\n");
			return n > 0 && (size_t)n < len ? (size_t)n : 0;
		}
		if (len < V2_HEADER)
			return 0;
		memcpy(buf, v2_signature, sizeof v2_signature);
		buf[12] = 0x21;			/* version 2, PROXY */
		buf[13] = 0x00;			/* UNSPEC */
		buf[14] = buf[15] = 0;
		return V2_HEADER;
	}
	if (af == AF_INET) {
		const struct sockaddr_in *s = (const void *)src;
		const struct sockaddr_in *d = (const void *)dst;

		sa = &s->sin_addr;
		da = &d->sin_addr;
		sp = &s->sin_port;
		dp = &d->sin_port;
		alen = 4;
	} else {
		const struct sockaddr_in6 *s = (const void *)src;
		const struct sockaddr_in6 *d = (const void *)dst;

		sa = &s->sin6_addr;
		da = &d->sin6_addr;
		sp = &s->sin6_port;
		dp = &d->sin6_port;
		alen = 16;
	}
	if (version == PROXY_V1) {
		memcpy(&sport, sp, 2);
		memcpy(&dport, dp, 2);
		(void)evutil_inet_ntop(af, sa, st, sizeof st);
		(void)evutil_inet_ntop(af, da, dt, sizeof dt);
		n = snprintf((char *)buf, len, "PROXY %s %s %s %u %u\r\n",
		    af == AF_INET ? "TCP4" : "TCP6", st, dt, ntohs(sport),
		    ntohs(dport));
		return n > 0 && (size_t)n < len ? (size_t)n : 0;
	}
	/* v2: addresses, then ports, in network order as they are. */
	if (len < V2_HEADER + 2 * alen + 4)
		return 0;
	memcpy(buf, v2_signature, sizeof v2_signature);
	buf[12] = 0x21;				/* version 2, PROXY */
	buf[13] = af == AF_INET ? 0x11 : 0x21;	/* TCP over IPv4 / IPv6 */
	buf[14] = 0;
	buf[15] = (uint8_t)(2 * alen + 4);
	memcpy(buf + 16, sa, alen);
	memcpy(buf + 16 + alen, da, alen);
	memcpy(buf + 16 + 2 * alen, sp, 2);
	memcpy(buf + 18 + 2 * alen, dp, 2);
	return V2_HEADER + 2 * alen + 4;
}

size_t
harbor_proxy_header(int version, const struct sockaddr *src,
    const struct sockaddr *dst, void *buf, size_t len)
{
	if ((version != HARBOR_PROXY_V1 && version != HARBOR_PROXY_V2) ||
	    len < PROXY_SEND_MAX)
		return 0;
	return proxy_header_build(version == HARBOR_PROXY_V1 ? PROXY_V1 :
	    PROXY_V2, src, dst, buf, len);
}
