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

#include "util.h"
#include "check-run.h"
#include "test-peer.h"

static struct limits *
limits_with(struct limits_settings set)
{
	struct limits	*lim = limits_new("test");

	ck_assert_ptr_nonnull(lim);
	if (set.v6_prefix == 0)
		set.v6_prefix = DEFAULT_SOURCE_PREFIX6;
	limits_configure(lim, &set);
	return lim;
}

/* Admits ip at now_ms, with a max-children place if child; NULL or the
 * reason.  The ticket, if t is not NULL, is the caller's to return. */
static const char *
admit_as(struct limits *lim, const char *ip, int64_t now_ms, int child,
    struct limits_ticket *t)
{
	static char		why[128];
	struct limits_ticket	tmp;

	if (t == NULL)
		t = &tmp;
	memset(t, 0, sizeof *t);
	return limits_admit(lim, peer(ip), child, t, now_ms, why,
	    sizeof why) == REFUSE_NONE ? NULL : why;
}

static const char *
admit(struct limits *lim, const char *ip, int64_t now_ms,
    struct limits_ticket *t)
{
	return admit_as(lim, ip, now_ms, 0, t);
}

START_TEST(test_max_connections_and_leave)
{
	struct limits		*lim = limits_with((struct limits_settings){
				    .max_connections = 2 });
	struct limits_ticket	 a, b;

	ck_assert_ptr_null(admit(lim, "10.0.0.1", 1, &a));
	ck_assert_ptr_null(admit(lim, "10.0.0.2", 1, &b));
	ck_assert_str_eq(admit(lim, "10.0.0.3", 1, NULL),
	    "max-connections 2 reached");
	limits_ticket_return(lim, &a);
	ck_assert_ptr_null(admit(lim, "10.0.0.3", 1, NULL));
	limits_release(lim);
}
END_TEST

START_TEST(test_per_source_and_ipv6_prefix)
{
	struct limits		*lim = limits_with((struct limits_settings){
				    .max_per_source = 2 });
	struct limits_ticket	 k[4];

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
	limits_ticket_return(lim, &k[0]);
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
	struct limits_ticket k;
	int		 i;

	for (i = 0; i < 3; i++) {
		ck_assert_ptr_null(admit(lim, "10.0.0.1", 1000, &k));
		limits_ticket_return(lim, &k);
	}
	ck_assert_str_eq(admit(lim, "10.0.0.9", 1000, NULL),
	    "rate 2.000/s (burst 3) exceeded");
	/* Half a second later one token is back, not two. */
	ck_assert_ptr_null(admit(lim, "10.0.0.9", 1500, &k));
	limits_ticket_return(lim, &k);
	ck_assert_ptr_nonnull(admit(lim, "10.0.0.9", 1500, NULL));
	/* Long idle: the bucket fills to its burst, no more. */
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_null(admit(lim, "10.0.0.1", 60000, &k));
		limits_ticket_return(lim, &k);
	}
	ck_assert_ptr_nonnull(admit(lim, "10.0.0.1", 60000, NULL));
	limits_release(lim);
}
END_TEST

START_TEST(test_rate_per_source_is_per_source)
{
	struct limits	*lim = limits_with((struct limits_settings){
			    .rate_per_source = { 500, 1 } });	/* 1 per 2 s */
	struct limits_ticket k;

	ck_assert_ptr_null(admit(lim, "10.0.0.1", 1000, &k));
	limits_ticket_return(lim, &k);
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
	struct limits_ticket k;

	ck_assert_ptr_null(admit(lim, "10.0.0.1", 1000, &k));
	/* Refused by max-per-source: the rate's token stays. */
	ck_assert_ptr_nonnull(admit(lim, "10.0.0.1", 1000, NULL));
	ck_assert_ptr_nonnull(admit(lim, "10.0.0.1", 1000, NULL));
	ck_assert_ptr_null(admit(lim, "10.0.0.2", 1000, NULL));
	limits_release(lim);
}
END_TEST

/* rate 10 10 and rate-per-source 1 1: clients refused per source leave
 * the service's tokens to everyone else. */
START_TEST(test_refused_per_source_spends_no_service_token)
{
	struct limits	*lim = limits_with((struct limits_settings){
			    .rate = { 10000, 10 },
			    .rate_per_source = { 1000, 1 } });
	int		 i;

	ck_assert_ptr_null(admit(lim, "127.0.0.1", 1000, NULL));
	for (i = 0; i < 9; i++)
		ck_assert_str_eq(admit(lim, "127.0.0.1", 1000, NULL),
		    "rate-per-source 1.000/s (burst 1) exceeded");
	/* Nine tokens of the service's ten are left. */
	for (i = 0; i < 9; i++) {
		char	ip[32];

		snprintf(ip, sizeof ip, "127.0.0.%d", i + 2);
		ck_assert_ptr_null(admit(lim, ip, 1000, NULL));
	}
	ck_assert_str_eq(admit(lim, "127.0.1.1", 1000, NULL),
	    "rate 10.000/s (burst 10) exceeded");
	limits_release(lim);
}
END_TEST

/* max-children is decided with the rest: a client refused for want of a
 * child place spends no token, and a place comes back with its ticket. */
START_TEST(test_max_children_decided_first)
{
	struct limits		*lim = limits_with((struct limits_settings){
				    .rate = { 1000, 2 }, .max_children = 1 });
	struct limits_ticket	 t;

	ck_assert_ptr_null(admit_as(lim, "10.0.0.1", 1000, 1, &t));
	ck_assert_uint_eq(t.child, 1);
	ck_assert_str_eq(admit_as(lim, "10.0.0.2", 1000, 1, NULL),
	    "max-children 1 reached");
	ck_assert_str_eq(admit_as(lim, "10.0.0.3", 1000, 1, NULL),
	    "max-children 1 reached");
	ck_assert_uint_eq(limits_active(lim), 1);
	limits_ticket_return(lim, &t);
	ck_assert_uint_eq(limits_active(lim), 0);
	/* The second of the burst's two tokens is still there. */
	ck_assert_ptr_null(admit_as(lim, "10.0.0.2", 1000, 1, NULL));
	limits_release(lim);
}
END_TEST

/* A client behind a PROXY header holds a place from accept on: places
 * taken so count against max-connections, and its admission after the
 * header does not count it twice. */
START_TEST(test_place_taken_before_the_client_is_known)
{
	struct limits		*lim = limits_with((struct limits_settings){
				    .max_connections = 2,
				    .max_per_source = 1 });
	struct limits_ticket	 a, b, c;
	char			 why[128];

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	ck_assert_int_eq(limits_take_place(lim, &a, why, sizeof why),
	    REFUSE_NONE);
	ck_assert_int_eq(limits_take_place(lim, &b, why, sizeof why),
	    REFUSE_NONE);
	ck_assert_int_eq(limits_take_place(lim, &c, why, sizeof why),
	    REFUSE_MAX_CONNECTIONS);
	ck_assert_str_eq(why, "max-connections 2 reached");
	ck_assert_int_eq(limits_admit(lim, peer("192.0.2.1"), 0, &a, 1000,
	    why, sizeof why), REFUSE_NONE);
	ck_assert_uint_eq(limits_active(lim), 2);
	/* The second header names the same client: refused per source, it
	 * still holds its place until it is given back. */
	ck_assert_int_eq(limits_admit(lim, peer("192.0.2.1"), 0, &b, 1000,
	    why, sizeof why), REFUSE_PER_SOURCE);
	ck_assert_uint_eq(limits_active(lim), 2);
	limits_ticket_return(lim, &b);
	ck_assert_uint_eq(limits_active(lim), 1);
	limits_ticket_return(lim, &a);
	ck_assert_uint_eq(limits_active(lim), 0);
	ck_assert_uint_eq(lim->nsources, 0);
	limits_release(lim);
}
END_TEST

START_TEST(test_source_table_is_bounded)
{
	struct limits	*lim = limits_with((struct limits_settings){
			    .rate_per_source = { 1000, 1 } });
	struct limits_ticket k;
	char		 ip[64];
	unsigned	 i;

	/* Far more sources than the table keeps, each connecting and
	 * leaving: each is still judged, the table stays bounded. */
	for (i = 0; i < 200000; i++) {
		snprintf(ip, sizeof ip, "2001:db8:%x:%x::1", i >> 16,
		    i & 0xffff);
		if (admit(lim, ip, 1000 + i / 1000, &k) == NULL)
			limits_ticket_return(lim, &k);
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

/* Lines of one kind pass a bucket; those held back are counted, the
 * first of them asks for a flush, and the count is said once. */
START_TEST(test_log_limit)
{
	struct loglimit	ll;
	struct rate	r = { 1000, 2 };	/* 1 a second, 2 at once */
	int		i;

	loglimit_init(&ll);
	loglimit_configure(&ll, &r);
	ck_assert_int_eq(loglimit_pass(&ll, "t", REFUSE_RATE, "rate", 1000),
	    1);
	ck_assert_int_eq(loglimit_pass(&ll, "t", REFUSE_RATE, "rate", 1000),
	    1);
	ck_assert_int_eq(loglimit_pass(&ll, "t", REFUSE_RATE, "rate", 1000),
	    -1);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(loglimit_pass(&ll, "t", REFUSE_RATE, "rate",
		    1000), 0);
	ck_assert_uint_eq(ll.kind[REFUSE_RATE].suppressed, 6);
	/* Another kind has a bucket of its own. */
	ck_assert_int_eq(loglimit_pass(&ll, "t", REFUSE_ACL, "acl", 1000), 1);
	/* A second later one passes, and the count went with it. */
	ck_assert_int_eq(loglimit_pass(&ll, "t", REFUSE_RATE, "rate", 2000),
	    1);
	ck_assert_uint_eq(ll.kind[REFUSE_RATE].suppressed, 0);
	ck_assert_int_eq(loglimit_pass(&ll, "t", REFUSE_RATE, "rate", 2000),
	    -1);
	loglimit_flush(&ll, "t");
	ck_assert_uint_eq(ll.kind[REFUSE_RATE].suppressed, 0);
	/* Burst 0: no limit. */
	r.burst = 0;
	loglimit_configure(&ll, &r);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(loglimit_pass(&ll, "t", REFUSE_RATE, "rate",
		    2000), 1);
	loglimit_destroy(&ll, "t");
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
	tcase_add_test(tc, test_refused_per_source_spends_no_service_token);
	tcase_add_test(tc, test_max_children_decided_first);
	tcase_add_test(tc, test_place_taken_before_the_client_is_known);
	tcase_add_test(tc, test_log_limit);
	tcase_add_test(tc, test_source_table_is_bounded);
	tcase_add_test(tc, test_full_table_of_busy_sources);
	suite_add_tcase(s, tc);
	return check_run(s);
}
