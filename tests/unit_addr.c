/* Listen addresses: what parses, what does not, and how they print. */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "check-run.h"

static void
parses_to(const char *text, size_t n, const char *first, const char *second)
{
	struct harbor_addr	a[ADDR_PARSE_MAX];
	char			err[256], buf[HARBOR_ADDRSTRLEN];
	size_t			got = 0;

	ck_assert_msg(addr_parse(text, a, &got, err, sizeof err) == 0,
	    "%s: %s", text, err);
	ck_assert_uint_eq(got, n);
	addr_format((struct sockaddr *)&a[0].ss, buf, sizeof buf);
	ck_assert_str_eq(buf, first);
	if (n > 1) {
		addr_format((struct sockaddr *)&a[1].ss, buf, sizeof buf);
		ck_assert_str_eq(buf, second);
	}
}

static void
fails_with(const char *text, const char *needle)
{
	struct harbor_addr	a[ADDR_PARSE_MAX];
	char			err[256] = "";
	size_t			n;

	ck_assert_msg(addr_parse(text, a, &n, err, sizeof err) == -1,
	    "'%s' should not parse", text);
	ck_assert_msg(strstr(err, needle) != NULL, "'%s': error '%s' lacks "
	    "'%s'", text, err, needle);
}

START_TEST(test_ipv4)
{
	parses_to("127.0.0.1:7", 1, "127.0.0.1:7", NULL);
	parses_to("0.0.0.0:65535", 1, "0.0.0.0:65535", NULL);
	parses_to("10.1.2.3:0", 1, "10.1.2.3:0", NULL);
}
END_TEST

START_TEST(test_ipv6)
{
	parses_to("[::1]:7", 1, "[::1]:7", NULL);
	parses_to("[::]:80", 1, "[::]:80", NULL);
	parses_to("[2001:db8:0:0::1]:443", 1, "[2001:db8::1]:443", NULL);
	parses_to("[::ffff:127.0.0.1]:9", 1, "[::ffff:127.0.0.1]:9", NULL);
}
END_TEST

START_TEST(test_wildcard)
{
	parses_to("*:7", 2, "0.0.0.0:7", "[::]:7");
}
END_TEST

START_TEST(test_bad_ports)
{
	fails_with("127.0.0.1:70000", "bad port '70000'");
	fails_with("127.0.0.1:65536", "expected 0..65535");
	fails_with("127.0.0.1:-1", "bad port");
	fails_with("127.0.0.1:7a", "bad port");
	fails_with("127.0.0.1:", "missing port");
	fails_with("[::1]:99999999999999999999", "bad port");
}
END_TEST

START_TEST(test_bad_hosts)
{
	fails_with("localhost:7", "bad IPv4 address 'localhost'");
	fails_with("256.0.0.1:7", "bad IPv4 address");
	fails_with("127.0.0.1", "expected ADDRESS:PORT");
	fails_with(":7", "expected ADDRESS:PORT");
	fails_with("::1:7", "brackets");
	fails_with("[::1:7", "missing ']'");
	fails_with("[::1]7", "expected [IPv6]:PORT");
	fails_with("[]:7", "bad IPv6 address");
	fails_with("[127.0.0.1]:7", "bad IPv6 address");
	fails_with("[fe80::zz]:7", "bad IPv6 address");
}
END_TEST

START_TEST(test_public_check)
{
	char	canon[2][HARBOR_ADDRSTRLEN], err[256];
	size_t	n = 0;

	ck_assert_int_eq(harbor_listen_address_check("*:21", canon, &n, err,
	    sizeof err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(canon[0], "0.0.0.0:21");
	ck_assert_str_eq(canon[1], "[::]:21");
	ck_assert_int_eq(harbor_listen_address_check("[0::1]:7", canon, &n,
	    err, sizeof err), 0);
	ck_assert_str_eq(canon[0], "[::1]:7");
	ck_assert_int_eq(harbor_listen_address_check("x:7", NULL, NULL, err,
	    sizeof err), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("addr");
	TCase	*tc = tcase_create("parse");

	tcase_add_test(tc, test_ipv4);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_wildcard);
	tcase_add_test(tc, test_bad_ports);
	tcase_add_test(tc, test_bad_hosts);
	tcase_add_test(tc, test_public_check);
	suite_add_tcase(s, tc);
	return check_run(s);
}
