/* The configuration's words: quotes and escapes, NUL bytes, durations
 * and sizes, yes and no. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#endif

#include "compat.h"
#include "config.h"
#include "check-run.h"
#include "conf-fixture.h"

/* A file of this process's in the temporary directory. */
static void
temp_path(char *out, size_t size, const char *name)
{
#ifdef _WIN32
	char	dir[MAX_PATH];
	DWORD	n = GetTempPathA(sizeof dir, dir);

	ck_assert(n > 0 && n < sizeof dir);
	snprintf(out, size, "%sharbor-words-%lu-%s", dir,
	    (unsigned long)GetCurrentProcessId(), name);
#else
	const char	*dir = getenv("TMPDIR");

	snprintf(out, size, "%s/harbor-words-%ld-%s", dir != NULL &&
	    *dir != '\0' ? dir : "/tmp", (long)getpid(), name);
#endif
}

/* Quotes as in sh(1): single quotes take everything as it is, double
 * quotes four escapes and no other, and pieces with no blank between
 * them make one word. */
START_TEST(test_quoting)
{
	struct config			*conf = good(
	    "service x {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/echo \"a\\tb\" \"c\\nd\" \"e\\\"f\\\\g\" 'h\\ti' "
	    "'say \"hi\"' j\\k --name=\"my server\" \"it's\" 'a'\"b\"c \"\"\n"
	    "}\n");
	const struct conf_service	*x = conf->services;
	const char *const		 want[] = { "/bin/echo", "a\tb", "c\nd",
		"e\"f\\g", "h\\ti", "say \"hi\"", "j\\k", "--name=my server",
		"it's", "abc", "" };
	size_t				 i;

	ck_assert_uint_eq(x->exec_argv.n, sizeof want / sizeof want[0]);
	for (i = 0; i < x->exec_argv.n; i++)
		ck_assert_str_eq(x->exec_argv.v[i], want[i]);
	config_free(conf);

	/* Every unknown escape is said, at its backslash. */
	ck_assert_ptr_null(config_load_string("t.conf", "service x {\n"
	    "  exec /bin/echo \"a\\qb\" ok \"\\x\\\\\\$\"\n}\n", &errs));
	ck_assert_uint_ge(errs.n, 3);
	ck_assert_str_eq(errs.msg[0], "t.conf:2:20: unknown escape '\\q' in a "
	    "double-quoted string (expected \\\\, \\\", \\t or \\n; single "
	    "quotes take a backslash as it is)");
	ck_assert(strncmp(errs.msg[1], "t.conf:2:29: unknown escape '\\x'",
	    32) == 0);
	ck_assert(strncmp(errs.msg[2], "t.conf:2:33: unknown escape '\\$'",
	    32) == 0);
	conf_errors_clear(&errs);
	bad("workers \"\\\t4\"\n", "t.conf:1:10: unknown escape: a backslash "
	    "and byte 0x09 in a double-quoted string (expected \\\\, \\\", \\t "
	    "or \\n)");
	/* A quoted piece ends on its line: a backslash does not go on. */
	bad("workers \"4\\\n\"\n", "t.conf:1:9: unterminated string");
	bad("workers '4\n", "t.conf:1:9: unterminated string");
	bad("workers 4'\n", "t.conf:1:10: unterminated string");
	/* A quote in a keyword makes it a string. */
	bad("work'ers' 4\n",
	    "t.conf:1:1: expected a keyword, not a quoted string");
}
END_TEST

/* A NUL byte ends no string early: it is an error, quoted or not. */
START_TEST(test_nul_bytes)
{
	static const char	text[] = "workers \"1\0\"\nio-threads 2\0\n";
	char			path[512], want[600];
	struct config		*conf;
	FILE			*f;

	temp_path(path, sizeof path, "nul.conf");
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(text, 1, sizeof text - 1, f), sizeof text - 1);
	fclose(f);
	conf = config_load_file(path, &errs);
	(void)remove(path);
	ck_assert_ptr_null(conf);
	ck_assert_uint_eq(errs.n, 2);
	snprintf(want, sizeof want, "%s:1:11: NUL byte in the file", path);
	ck_assert_str_eq(errs.msg[0], want);
	snprintf(want, sizeof want, "%s:2:13: NUL byte in the file", path);
	ck_assert_str_eq(errs.msg[1], want);
}
END_TEST

START_TEST(test_durations_and_sizes)
{
	unsigned long long	v;
	char			err[256];

	ck_assert_int_eq(parse_duration_ms("30", 1ULL << 40, &v, err,
	    sizeof err), 0);
	ck_assert_uint_eq(v, 30000);
	ck_assert_int_eq(parse_duration_ms("250ms", 1ULL << 40, &v, err,
	    sizeof err), 0);
	ck_assert_uint_eq(v, 250);
	ck_assert_int_eq(parse_duration_ms("5m", 1ULL << 40, &v, err,
	    sizeof err), 0);
	ck_assert_uint_eq(v, 300000);
	ck_assert_int_eq(parse_duration_ms("2h", 1ULL << 40, &v, err,
	    sizeof err), 0);
	ck_assert_uint_eq(v, 7200000);
	ck_assert_int_eq(parse_duration_ms("0", 1ULL << 40, &v, err,
	    sizeof err), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_duration_ms("31d", 30ULL * 86400000, &v, err,
	    sizeof err), -1);
	ck_assert_str_eq(err, "duration '31d' is too large");
	ck_assert_int_eq(parse_duration_ms("99999999999999999999999s",
	    1ULL << 40, &v, err, sizeof err), -1);
	ck_assert_int_eq(parse_duration_ms("s", 1ULL << 40, &v, err,
	    sizeof err), -1);
	ck_assert_int_eq(parse_duration_ms("1.5s", 1ULL << 40, &v, err,
	    sizeof err), -1);
	ck_assert_int_eq(parse_size("64k", 1ULL << 30, &v, err, sizeof err),
	    0);
	ck_assert_uint_eq(v, 65536);
	ck_assert_int_eq(parse_size("2M", 1ULL << 30, &v, err, sizeof err),
	    0);
	ck_assert_uint_eq(v, 2097152);
	ck_assert_int_eq(parse_size("17m", 16ULL << 20, &v, err, sizeof err),
	    -1);
}
END_TEST

/* reuse-port: yes or no, in a service or in defaults (the service's own
 * winning), and nothing else; yes only where the system has SO_REUSEPORT,
 * said where it is written. */
START_TEST(test_yes_and_no)
{
	const char		*text =
	    "defaults { reuse-port yes }\n"
	    "service a { listen 127.0.0.1:0; handler echo }\n"
	    "service b {\n  listen 127.0.0.1:0; handler echo\n"
	    "  reuse-port no\n}\n";
	struct config		*conf;
	const struct conf_service *a, *b;

	if (compat_reuseport_name() == NULL) {
		bad(text, "t.conf:1:23: reuse-port yes: this system has no "
		    "SO_REUSEPORT");
		conf = good("defaults { reuse-port no }\n"
		    "service a { listen 127.0.0.1:0; handler echo }\n");
		ck_assert_uint_eq(config_listen_flags(conf, conf->services),
		    0);
		config_free(conf);
	} else {
		conf = good(text);
		a = conf->services;
		b = a->next;
		ck_assert_int_eq(conf->defaults.reuse_port, 1);
		ck_assert(conf_service_sets(&conf->defaults, "reuse-port"));
		ck_assert(!conf_service_sets(a, "reuse-port"));
		ck_assert_int_eq(b->reuse_port, 0);
		ck_assert(conf_service_sets(b, "reuse-port"));
		ck_assert_uint_eq(config_listen_flags(conf, a),
		    HARBOR_LISTEN_REUSE_PORT);
		ck_assert_uint_eq(config_listen_flags(conf, b), 0);
		config_free(conf);
		conf = good("service a { listen 127.0.0.1:0; handler echo }\n");
		ck_assert_uint_eq(config_listen_flags(conf, conf->services),
		    0);
		config_free(conf);
	}
	bad("service a { listen 127.0.0.1:0; handler echo\n"
	    "  reuse-port on }\n",
	    "t.conf:2:14: unknown value 'on' for 'reuse-port' (expected yes "
	    "or no)");
	bad("defaults {\n\treuse-port 1\n}\n",
	    "t.conf:2:13: unknown value '1' for 'reuse-port' (expected yes or "
	    "no)");
	bad("defaults { reuse-port }\n",
	    "t.conf:1:12: 'reuse-port' needs a value");
	bad("defaults { reuse-port yes no }\n",
	    "t.conf:1:27: unexpected 'no' after 'reuse-port'");
	bad("reuse-port yes\n", "t.conf:1:1: unknown keyword 'reuse-port' "
	    "(see harbord.conf(5))");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("confwords");
	TCase	*tc = tcase_create("words");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_quoting);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_durations_and_sizes);
	tcase_add_test(tc, test_yes_and_no);
	suite_add_tcase(s, tc);
	return check_run(s);
}
