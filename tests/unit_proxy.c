/* The PROXY protocol parser: v1 and v2, whole and in pieces, and every
 * way a header can be wrong. */
#include "autoconfig.h"

#include <check.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "check-run.h"

static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a,
	0x51, 0x55, 0x49, 0x54, 0x0a };

static void
addr_is(const struct sockaddr_storage *ss, const char *want)
{
	char	buf[HARBOR_ADDRSTRLEN];

	addr_format((const struct sockaddr *)ss, buf, sizeof buf);
	ck_assert_str_eq(buf, want);
}

/* Parses all of buf, also fed a byte at a time: every prefix but the
 * whole must ask for more (or already fail). */
static enum proxy_result
parse(const void *buf, size_t len, int versions, struct proxy_info *pi,
    size_t *used, char *err)
{
	enum proxy_result	r;
	size_t			i, u;
	struct proxy_info	tmp;
	char			e[256];

	for (i = 1; i < len; i++) {
		r = proxy_parse(buf, i, versions, &tmp, &u, e, sizeof e);
		if (r == PROXY_ERROR)
			break;
		if (r == PROXY_DONE) {
			ck_assert_uint_le(u, i);
			break;
		}
	}
	return proxy_parse(buf, len, versions, pi, used, err, 256);
}

START_TEST(test_v1)
{
	const char		*h = "PROXY TCP4 192.0.2.1 198.51.100.2 51234 7"
				    "\r\nhello";
	struct proxy_info	 pi;
	size_t			 used = 0;
	char			 err[256];

	ck_assert_int_eq(parse(h, strlen(h), PROXY_V1, &pi, &used, err),
	    PROXY_DONE);
	ck_assert_uint_eq(used, strlen(h) - 5);	/* "hello" is data */
	ck_assert_int_eq(pi.version, 1);
	ck_assert_int_eq(pi.local, 0);
	addr_is(&pi.src, "192.0.2.1:51234");
	addr_is(&pi.dst, "198.51.100.2:7");

	h = "PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n";
	ck_assert_int_eq(parse(h, strlen(h), PROXY_V1 | PROXY_V2, &pi, &used,
	    err), PROXY_DONE);
	addr_is(&pi.src, "[2001:db8::1]:65535");
	addr_is(&pi.dst, "[2001:db8::2]:0");

	/* What strictness must still take: zeros as fields, the extremes,
	 * IPv6's upper case, leading zeros in a hex group, a v4 tail. */
	h = "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n";
	ck_assert_int_eq(parse(h, strlen(h), PROXY_V1, &pi, &used, err),
	    PROXY_DONE);
	addr_is(&pi.src, "0.0.0.0:0");
	addr_is(&pi.dst, "255.255.255.255:65535");
	h = "PROXY TCP6 2001:0DB8::A ::ffff:10.0.0.1 1 2\r\n";
	ck_assert_int_eq(parse(h, strlen(h), PROXY_V1, &pi, &used, err),
	    PROXY_DONE);
	addr_is(&pi.src, "[2001:db8::a]:1");

	h = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
	ck_assert_int_eq(parse(h, strlen(h), PROXY_V1, &pi, &used, err),
	    PROXY_DONE);
	ck_assert_int_eq(pi.local, 1);
	h = "PROXY UNKNOWN\r\n";
	ck_assert_int_eq(parse(h, strlen(h), PROXY_V1, &pi, &used, err),
	    PROXY_DONE);
	ck_assert_uint_eq(used, strlen(h));
}
END_TEST

static void
v1_bad(const char *h, const char *want)
{
	struct proxy_info	pi;
	size_t			used;
	char			err[256] = "";

	ck_assert_msg(proxy_parse((const uint8_t *)h, strlen(h), PROXY_V1 |
	    PROXY_V2, &pi, &used, err, sizeof err) == PROXY_ERROR,
	    "accepted: %s", h);
	ck_assert_str_eq(err, want);
}

START_TEST(test_v1_bad)
{
	char	longline[200];

	v1_bad("PROXY TCP4 192.0.2.1 198.51.100.2 51234 7\n",
	    "bad PROXY header: v1 line not ended by CRLF");
	v1_bad("PROXY TCP4 192.0.2.1 198.51.100.2 51234 7\rX",
	    "bad PROXY header: v1 line not ended by CRLF");
	v1_bad("PROXY TCP5 1 2 3 4\r\n",
	    "bad PROXY header: v1 protocol is not TCP4, TCP6 or UNKNOWN");
	v1_bad("PROXY TCP4 192.0.2.1 198.51.100.2 51234\r\n",
	    "bad PROXY header: v1 line does not have 6 fields");
	v1_bad("PROXY TCP4 192.0.2.1 198.51.100.2 51234 7 8\r\n",
	    "bad PROXY header: v1 line does not have 6 fields");
	v1_bad("PROXY TCP4 192.0.2.1  198.51.100.2 51234 7\r\n",
	    "bad PROXY header: v1 line does not have 6 fields");
	v1_bad("PROXY TCP4 192.0.2.1 198.51.100.2 65536 7\r\n",
	    "bad PROXY header: v1 port is not 0..65535");
	v1_bad("PROXY TCP4 192.0.2.1 198.51.100.2 0123 7\r\n",
	    "bad PROXY header: v1 port is not 0..65535");
	v1_bad("PROXY TCP4 2001:db8::1 198.51.100.2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv4");
	v1_bad("PROXY TCP6 192.0.2.1 2001:db8::2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv6");
	/* Addresses exactly as written: no leading zeros (octal to some),
	 * four fields, nothing after -- a NUL included. */
	v1_bad("PROXY TCP4 01.2.3.4 198.51.100.2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv4");
	v1_bad("PROXY TCP4 001.002.003.004 198.51.100.2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv4");
	v1_bad("PROXY TCP4 1.2.3.04 198.51.100.2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv4");
	v1_bad("PROXY TCP4 256.2.3.4 198.51.100.2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv4");
	v1_bad("PROXY TCP4 1.2.3 198.51.100.2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv4");
	v1_bad("PROXY TCP4 1.2.3.4.5 198.51.100.2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv4");
	v1_bad("PROXY TCP4 1..3.4 198.51.100.2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv4");
	v1_bad("PROXY TCP4 1.2.3.4 198.51.100.2 1 +7\r\n",
	    "bad PROXY header: v1 port is not 0..65535");
	v1_bad("PROXY TCP6 2001:db8::1%eth0 2001:db8::2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv6");
	v1_bad("PROXY TCP6 ::ffff:1.2.3.04 2001:db8::2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv6");
	v1_bad("PROXY TCP6 2001:db8::g 2001:db8::2 1 7\r\n",
	    "bad PROXY header: v1 address is not IPv6");
	{
		static const char nul[] = "PROXY TCP4 1.2.3.4\0junk "
		    "198.51.100.2 1 7\r\n";
		struct proxy_info	pi;
		size_t			used;
		char			err[256] = "";

		ck_assert_int_eq(proxy_parse((const uint8_t *)nul,
		    sizeof nul - 1, PROXY_V1, &pi, &used, err, sizeof err),
		    PROXY_ERROR);
		ck_assert_str_eq(err, "bad PROXY header: v1 address is not "
		    "IPv4");
	}
	v1_bad("GET / HTTP/1.0\r\n\r\n",
	    "bad PROXY header: neither a v1 nor a v2 header");
	memset(longline, 'x', sizeof longline);
	memcpy(longline, "PROXY ", 6);
	longline[sizeof longline - 1] = '\0';
	v1_bad(longline, "bad PROXY header: v1 line longer than 107 bytes");
}
END_TEST

static size_t
v2(uint8_t *buf, uint8_t ver_cmd, uint8_t fam, const void *body,
    size_t len)
{
	memcpy(buf, sig, 12);
	buf[12] = ver_cmd;
	buf[13] = fam;
	buf[14] = (uint8_t)(len >> 8);
	buf[15] = (uint8_t)len;
	memcpy(buf + 16, body, len);
	return 16 + len;
}

START_TEST(test_v2)
{
	uint8_t			buf[4096], body[64];
	struct proxy_info	pi;
	size_t			n, used;
	char			err[256];

	/* IPv4, with a TLV after the addresses (skipped). */
	memcpy(body, "\xc0\x00\x02\x01\xc6\x33\x64\x02\xc8\x22\x00\x07"
	    "\x04\x00\x01\x00", 16);
	n = v2(buf, 0x21, 0x11, body, 16);
	memcpy(buf + n, "data", 4);
	ck_assert_int_eq(parse(buf, n + 4, PROXY_V2, &pi, &used, err),
	    PROXY_DONE);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(pi.version, 2);
	addr_is(&pi.src, "192.0.2.1:51234");
	addr_is(&pi.dst, "198.51.100.2:7");

	/* IPv6. */
	memset(body, 0, 36);
	body[0] = 0x20; body[1] = 0x01; body[15] = 1;
	body[16] = 0x20; body[17] = 0x01; body[31] = 2;
	body[32] = 0x01; body[33] = 0x00; body[34] = 0x00; body[35] = 0x07;
	n = v2(buf, 0x21, 0x21, body, 36);
	ck_assert_int_eq(parse(buf, n, PROXY_V1 | PROXY_V2, &pi, &used, err),
	    PROXY_DONE);
	addr_is(&pi.src, "[2001::1]:256");
	addr_is(&pi.dst, "[2001::2]:7");

	/* LOCAL: a health check; keep the connection's own addresses. */
	n = v2(buf, 0x20, 0x00, body, 0);
	ck_assert_int_eq(parse(buf, n, PROXY_V2, &pi, &used, err), PROXY_DONE);
	ck_assert_int_eq(pi.local, 1);
	ck_assert_uint_eq(used, 16);
}
END_TEST

START_TEST(test_v2_bad)
{
	uint8_t			buf[4096], body[2100];
	struct proxy_info	pi;
	size_t			n, used;
	char			err[256];

	memset(body, 0, sizeof body);
	n = v2(buf, 0x11, 0x11, body, 12);
	ck_assert_int_eq(proxy_parse(buf, n, PROXY_V2, &pi, &used, err,
	    sizeof err), PROXY_ERROR);
	ck_assert_str_eq(err, "bad PROXY header: v2 version is not 2");
	n = v2(buf, 0x22, 0x11, body, 12);
	ck_assert_int_eq(proxy_parse(buf, n, PROXY_V2, &pi, &used, err,
	    sizeof err), PROXY_ERROR);
	ck_assert_str_eq(err, "bad PROXY header: v2 command is neither LOCAL "
	    "nor PROXY");
	n = v2(buf, 0x21, 0x11, body, 8);
	ck_assert_int_eq(proxy_parse(buf, n, PROXY_V2, &pi, &used, err,
	    sizeof err), PROXY_ERROR);
	ck_assert_str_eq(err, "bad PROXY header: v2 IPv4 addresses cut short");
	n = v2(buf, 0x21, 0x12, body, 12);	/* UDP */
	ck_assert_int_eq(proxy_parse(buf, n, PROXY_V2, &pi, &used, err,
	    sizeof err), PROXY_ERROR);
	ck_assert_str_eq(err, "bad PROXY header: v2 protocol is not TCP over "
	    "IPv4 or IPv6");
	n = v2(buf, 0x21, 0x11, body, 2049);
	ck_assert_int_eq(proxy_parse(buf, n, PROXY_V2, &pi, &used, err,
	    sizeof err), PROXY_ERROR);
	ck_assert_str_eq(err, "bad PROXY header: v2 header longer than 2064 "
	    "bytes");
	/* A v1 header where only v2 is accepted, and the other way. */
	ck_assert_int_eq(proxy_parse((const uint8_t *)"PROXY TCP4", 10,
	    PROXY_V2, &pi, &used, err, sizeof err), PROXY_ERROR);
	ck_assert_str_eq(err, "bad PROXY header: expected a v2 header");
	n = v2(buf, 0x21, 0x11, body, 12);
	ck_assert_int_eq(proxy_parse(buf, n, PROXY_V1, &pi, &used, err,
	    sizeof err), PROXY_ERROR);
	ck_assert_str_eq(err, "bad PROXY header: expected a v1 header "
	    "(\"PROXY ...\")");
}
END_TEST

/* What send-proxy writes, read back by the parser. */
static void
round_trip(int version, const char *src, const char *dst, const char *want_src,
    const char *want_dst)
{
	struct harbor_addr	 s[ADDR_PARSE_MAX], d[ADDR_PARSE_MAX];
	struct proxy_info	 pi;
	uint8_t			 buf[PROXY_SEND_MAX];
	size_t			 n, ns, nd, used = 0;
	char			 err[256];

	ck_assert_int_eq(addr_parse(src, s, &ns, err, sizeof err), 0);
	ck_assert_int_eq(addr_parse(dst, d, &nd, err, sizeof err), 0);
	n = proxy_header_build(version, (struct sockaddr *)&s[0].ss,
	    (struct sockaddr *)&d[0].ss, buf, sizeof buf);
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(parse(buf, n, version, &pi, &used, err), PROXY_DONE);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(pi.version, version == PROXY_V1 ? 1 : 2);
	if (want_src == NULL) {
		ck_assert_int_eq(pi.local, 1);
		return;
	}
	ck_assert_int_eq(pi.local, 0);
	addr_is(&pi.src, want_src);
	addr_is(&pi.dst, want_dst);
}

START_TEST(test_build)
{
	int	v;

	for (v = PROXY_V1; v <= PROXY_V2; v++) {
		round_trip(v, "192.0.2.1:51234", "198.51.100.2:7",
		    "192.0.2.1:51234", "198.51.100.2:7");
		round_trip(v, "[2001:db8::1]:65535", "[2001:db8::2]:1",
		    "[2001:db8::1]:65535", "[2001:db8::2]:1");
		/* A dual-stack listener sees IPv4 clients as mapped. */
		round_trip(v, "[::ffff:192.0.2.9]:40000", "[::ffff:127.0.0.1]:80",
		    "192.0.2.9:40000", "127.0.0.1:80");
		round_trip(v, "192.0.2.1:1", "[2001:db8::2]:2", NULL, NULL);
	}
	{
		uint8_t			 small[20];
		struct harbor_addr	 a[ADDR_PARSE_MAX];
		size_t			 na;
		char			 err[256];

		ck_assert_int_eq(addr_parse("[2001:db8::1]:1", a, &na, err,
		    sizeof err), 0);
		ck_assert_uint_eq(proxy_header_build(PROXY_V1,
		    (struct sockaddr *)&a[0].ss, (struct sockaddr *)&a[0].ss,
		    small, sizeof small), 0);
		ck_assert_uint_eq(proxy_header_build(PROXY_V2,
		    (struct sockaddr *)&a[0].ss, (struct sockaddr *)&a[0].ss,
		    small, sizeof small), 0);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("proxy");
	TCase	*tc = tcase_create("headers");

	tcase_add_test(tc, test_v1);
	tcase_add_test(tc, test_v1_bad);
	tcase_add_test(tc, test_v2);
	tcase_add_test(tc, test_v2_bad);
	tcase_add_test(tc, test_build);
	suite_add_tcase(s, tc);
	return check_run(s);
}
