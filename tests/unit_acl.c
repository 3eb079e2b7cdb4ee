/* Networks and allow/deny lists: parsing, matching, most specific wins. */
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
#include "test-peer.h"

static void
add(struct acl *acl, const char *rules)
{
	char	buf[512], err[256], *word, *save = NULL;
	int	allow = 1;

	strlcpy(buf, rules, sizeof buf);
	for (word = strtok_r(buf, " ", &save); word != NULL;
	    word = strtok_r(NULL, " ", &save)) {
		if (strcmp(word, "allow") == 0 || strcmp(word, "deny") == 0) {
			allow = word[0] == 'a';
			continue;
		}
		ck_assert_msg(acl_add(acl, word, allow, err, sizeof err) == 0,
		    "%s: %s", word, err);
	}
}

/* Whether ip is let in, and by (or despite) which rule. */
static void
expect(const struct acl *acl, const char *ip, int want, const char *rule)
{
	int			allowed = -1;
	const struct acl_rule	*r = acl_match(acl, peer(ip), &allowed);

	ck_assert_msg(allowed == want, "%s: %s, expected %s", ip,
	    allowed ? "allowed" : "denied", want ? "allowed" : "denied");
	if (rule == NULL)
		ck_assert_msg(r == NULL, "%s: matched '%s'", ip, r->text);
	else {
		ck_assert_msg(r != NULL, "%s: no rule matched", ip);
		ck_assert_str_eq(r->text, rule);
	}
}

START_TEST(test_most_specific_wins)
{
	struct acl acl = { 0 };

	add(&acl, "deny 10.1.0.0/16 allow 10.0.0.0/8 deny all");
	expect(&acl, "10.2.3.4", 1, "allow 10.0.0.0/8");
	expect(&acl, "10.1.3.4", 0, "deny 10.1.0.0/16");
	expect(&acl, "192.168.1.1", 0, "deny all");
	expect(&acl, "::1", 0, "deny all");
	acl_clear(&acl);
}
END_TEST

START_TEST(test_defaults_without_a_match)
{
	struct acl acl = { 0 };

	/* Only deny rules: everyone else may come. */
	add(&acl, "deny 127.0.0.2 deny 2001:db8::/32");
	expect(&acl, "127.0.0.2", 0, "deny 127.0.0.2");
	expect(&acl, "127.0.0.1", 1, NULL);
	expect(&acl, "2001:db8:1::5", 0, "deny 2001:db8::/32");
	expect(&acl, "2001:db9::5", 1, NULL);
	acl_clear(&acl);
	/* An allow rule: only who it names. */
	add(&acl, "allow ::1");
	expect(&acl, "::1", 1, "allow ::1");
	expect(&acl, "127.0.0.1", 0, NULL);
	expect(&acl, "::2", 0, NULL);
	acl_clear(&acl);
}
END_TEST

START_TEST(test_tie_goes_to_deny)
{
	struct acl acl = { 0 };

	add(&acl, "allow 192.0.2.0/24 deny 192.0.2.0/24");
	expect(&acl, "192.0.2.9", 0, "deny 192.0.2.0/24");
	acl_clear(&acl);
	add(&acl, "deny 192.0.2.0/24 allow 192.0.2.0/24");
	expect(&acl, "192.0.2.9", 0, "deny 192.0.2.0/24");
	acl_clear(&acl);
}
END_TEST

START_TEST(test_mapped_ipv4)
{
	struct acl acl = { 0 };

	/* A v4 client reaching a v6 socket is still that v4 address. */
	add(&acl, "allow 127.0.0.0/8");
	expect(&acl, "::ffff:127.0.0.1", 1, "allow 127.0.0.0/8");
	expect(&acl, "::ffff:10.0.0.1", 0, NULL);
	acl_clear(&acl);
	add(&acl, "deny ::ffff:10.0.0.0/104");
	expect(&acl, "10.9.9.9", 0, "deny ::ffff:10.0.0.0/104");
	expect(&acl, "11.0.0.1", 1, NULL);
	acl_clear(&acl);
}
END_TEST

START_TEST(test_prefix_edges)
{
	struct acl acl = { 0 };

	add(&acl, "allow 10.128.0.0/9 allow 2001:db8::/33 allow 0.0.0.0/0");
	expect(&acl, "10.200.0.1", 1, "allow 10.128.0.0/9");
	expect(&acl, "10.100.0.1", 1, "allow 0.0.0.0/0");
	expect(&acl, "2001:db8:7fff::1", 1, "allow 2001:db8::/33");
	expect(&acl, "2001:db8:8000::1", 0, NULL);
	acl_clear(&acl);
}
END_TEST

static void
bad(const char *text, const char *want)
{
	struct cidr	c;
	char		err[256] = "";

	ck_assert_msg(cidr_parse(text, &c, err, sizeof err) == -1,
	    "'%s' parsed", text);
	ck_assert_str_eq(err, want);
}

START_TEST(test_bad_networks)
{
	bad("10.0.0.0/33", "bad prefix length in '10.0.0.0/33' (expected "
	    "/0../32)");
	bad("::/129", "bad prefix length in '::/129' (expected /0../128)");
	bad("10.0.0.0/", "bad prefix length in '10.0.0.0/' (expected "
	    "/0../32)");
	bad("10.0.0.0/8x", "bad prefix length in '10.0.0.0/8x' (expected "
	    "/0../32)");
	bad("10.0.0.1/8", "network '10.0.0.1/8' has host bits set beyond /8");
	bad("example.com", "bad network 'example.com' (expected an address "
	    "such as 10.0.0.0/8 or ::1, or all)");
	bad("", "bad network '' (expected an address such as 10.0.0.0/8 or "
	    "::1, or all)");
	bad("::ffff:10.0.0.0/95", "bad prefix length in '::ffff:10.0.0.0/95' "
	    "(expected /0../32)");
	ck_assert_int_eq(harbor_network_check("all", NULL, 0), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("acl");
	TCase	*tc = tcase_create("rules");

	tcase_add_test(tc, test_most_specific_wins);
	tcase_add_test(tc, test_defaults_without_a_match);
	tcase_add_test(tc, test_tie_goes_to_deny);
	tcase_add_test(tc, test_mapped_ipv4);
	tcase_add_test(tc, test_prefix_edges);
	tcase_add_test(tc, test_bad_networks);
	suite_add_tcase(s, tc);
	return check_run(s);
}
