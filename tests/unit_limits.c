/* Limits: token buckets, per-source counts, IPv6 prefixes, bounded
 * tables, and a reload's shared counts. */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harbor-internal.h"
#include "check-run.h"
#include "test-peer.h"

static struct limits *
limits_with(struct limits_settings set)
{
	struct limits	*lim = limits_new();

	ck_assert_ptr_nonnull(lim);
	if (set.v6_prefix == 0)
		set.v6_prefix = DEFAULT_SOURCE_PREFIX6;
	limits_configure(lim, &set);
	return lim;
}

/* Admits ip at now_ms; NULL or the reason. */
static const char *
admit(struct limits *lim, const char *ip, int64_t now_ms,
    struct source_key *key)
{
	static char	why[128];
	struct source_key tmp;

	return limits_admit(lim, peer(ip), key != NULL ? key : &tmp, now_ms,
	    why, sizeof why);
}

START_TEST(test_max_connections_and_leave)
{
	struct limits		*lim = limits_with((struct limits_settings){
				    .max_connections = 2 });
	struct source_key	 a, b;

	ck_assert_ptr_null(admit(lim, "10.0.0.1", 1, &a));
	ck_assert_ptr_null(admit(lim, "10.0.0.2", 1, &b));
	ck_assert_str_eq(admit(lim, "10.0.0.3", 1, NULL),
	    "max-connections 2 reached");
	limits_leave(lim, &a);
	ck_assert_ptr_null(admit(lim, "10.0.0.3", 1, NULL));
	limits_release(lim);
}
END_TEST

START_TEST(test_per_source_and_ipv6_prefix)
{
	struct limits		*lim = limits_with((struct limits_settings){
				    .max_per_source = 2 });
	struct source_key	 k[4];

	ck_assert_ptr_null(admit(lim, "192.0.2.1", 1, &k[0]));
	ck_assert_ptr_null(admit(lim, "192.0.2.1", 1, &k[1]));
	ck_assert_str_eq(admit(lim, "192.0.2.1", 1, NULL),
	    "max-per-source 2 reached");
	ck_assert_ptr_null(admit(lim, "192.0.2.2", 1, NULL));
	/* A v4 client on a v6 socket is the same source. */
	ck_assert_str_eq(admit(lim, "::ffff:192.0.2.1", 1, NULL),
	    "max-per-source 2 reached");
	/* Two addresses of one /64 are one source... */
	ck_assert_ptr_null(admit(lim, "2001:db8:1:2::a", 1, &k[2]));
	ck_assert_ptr_null(admit(lim, "2001:db8:1:2:ffff::b", 1, &k[3]));
	ck_assert_str_eq(admit(lim, "2001:db8:1:2::c", 1, NULL),
	    "max-per-source 2 reached");
	/* ...another /64 is another. */
	ck_assert_ptr_null(admit(lim, "2001:db8:1:3::a", 1, NULL));
	limits_leave(lim, &k[0]);
	ck_assert_ptr_null(admit(lim, "192.0.2.1", 1, NULL));
	limits_release(lim);

	/* With /128, every address is its own source. */
	lim = limits_with((struct limits_settings){ .max_per_source = 1,
	    .v6_prefix = 128 });
	ck_assert_ptr_null(admit(lim, "2001:db8::1", 1, NULL));
	ck_assert_ptr_null(admit(lim, "2001:db8::2", 1, NULL));
	ck_assert_ptr_nonnull(admit(lim, "2001:db8::2", 1, NULL));
	limits_release(lim);
}
END_TEST

START_TEST(test_rate_recovers)
{
	struct limits	*lim = limits_with((struct limits_settings){
			    .rate = { 2000, 3 } });	/* 2/s, burst 3 */
	struct source_key k;
	int		 i;

	for (i = 0; i < 3; i++) {
		ck_assert_ptr_null(admit(lim, "10.0.0.1", 1000, &k));
		limits_leave(lim, &k);
	}
	ck_assert_str_eq(admit(lim, "10.0.0.9", 1000, NULL),
	    "rate 2.000/s (burst 3) exceeded");
	/* Half a second later one token is back, not two. */
	ck_assert_ptr_null(admit(lim, "10.0.0.9", 1500, &k));
	limits_leave(lim, &k);
	ck_assert_ptr_nonnull(admit(lim, "10.0.0.9", 1500, NULL));
	/* Long idle: the bucket fills to its burst, no more. */
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_null(admit(lim, "10.0.0.1", 60000, &k));
		limits_leave(lim, &k);
	}
	ck_assert_ptr_nonnull(admit(lim, "10.0.0.1", 60000, NULL));
	limits_release(lim);
}
END_TEST

START_TEST(test_rate_per_source_is_per_source)
{
	struct limits	*lim = limits_with((struct limits_settings){
			    .rate_per_source = { 500, 1 } });	/* 1 per 2 s */
	struct source_key k;

	ck_assert_ptr_null(admit(lim, "10.0.0.1", 1000, &k));
	limits_leave(lim, &k);
	ck_assert_str_eq(admit(lim, "10.0.0.1", 1100, NULL),
	    "rate-per-source 0.500/s (burst 1) exceeded");
	ck_assert_ptr_null(admit(lim, "10.0.0.2", 1100, NULL));
	ck_assert_ptr_null(admit(lim, "10.0.0.1", 3000, NULL));
	limits_release(lim);
}
END_TEST

START_TEST(test_refused_spends_no_token)
{
	struct limits	*lim = limits_with((struct limits_settings){
			    .max_per_source = 1, .rate = { 1000, 2 } });
	struct source_key k;

	ck_assert_ptr_null(admit(lim, "10.0.0.1", 1000, &k));
	/* Refused by max-per-source: the rate's token stays. */
	ck_assert_ptr_nonnull(admit(lim, "10.0.0.1", 1000, NULL));
	ck_assert_ptr_nonnull(admit(lim, "10.0.0.1", 1000, NULL));
	ck_assert_ptr_null(admit(lim, "10.0.0.2", 1000, NULL));
	limits_release(lim);
}
END_TEST

START_TEST(test_source_table_is_bounded)
{
	struct limits	*lim = limits_with((struct limits_settings){
			    .rate_per_source = { 1000, 1 } });
	struct source_key k;
	char		 ip[64];
	unsigned	 i;

	/* Far more sources than the table keeps, each connecting and
	 * leaving: each is still judged, the table stays bounded. */
	for (i = 0; i < 200000; i++) {
		snprintf(ip, sizeof ip, "2001:db8:%x:%x::1", i >> 16,
		    i & 0xffff);
		if (admit(lim, ip, 1000 + i / 1000, &k) == NULL)
			limits_leave(lim, &k);
		ck_assert_uint_le(lim->nsources, 65536);
	}
	limits_release(lim);
}
END_TEST

START_TEST(test_full_table_of_busy_sources)
{
	struct limits	*lim = limits_with((struct limits_settings){
			    .max_per_source = 1 });
	char		 ip[64];
	unsigned	 i, refused = 0;

	/* Every source keeps its connection open: past the table's bound
	 * new sources are refused, cheaply, until a second has passed. */
	for (i = 0; i < 70000; i++) {
		snprintf(ip, sizeof ip, "10.%u.%u.%u", i >> 16, (i >> 8) & 0xff,
		    i & 0xff);
		if (admit(lim, ip, 1000, NULL) != NULL)
			refused++;
	}
	ck_assert_uint_eq(refused, 70000 - 65536);
	ck_assert_str_eq(admit(lim, "11.0.0.1", 1000, NULL),
	    "too many sources to track");
	limits_release(lim);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc = tcase_create("limits");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_max_connections_and_leave);
	tcase_add_test(tc, test_per_source_and_ipv6_prefix);
	tcase_add_test(tc, test_rate_recovers);
	tcase_add_test(tc, test_rate_per_source_is_per_source);
	tcase_add_test(tc, test_refused_spends_no_token);
	tcase_add_test(tc, test_source_table_is_bounded);
	tcase_add_test(tc, test_full_table_of_busy_sources);
	suite_add_tcase(s, tc);
	return check_run(s);
}
