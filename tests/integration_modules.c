/*
 * Modules in the daemon: "module PATH" loads a shared object of handlers,
 * "handler NAME" finds them, "option NAME VALUE" reaches them, and every
 * way a module can be wrong is a file:line:column error from harbord -n.
 * The test modules are built beside this program (tests/modules/).
 */
#include "harness.h"	/* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"

#define EXIT_CONFIG	78

static const char *
modules_dir(void)
{
	return getenv("HARBOR_TEST_MODULES");
}

#define NEED_MODULES() do {						\
	if (modules_dir() == NULL || modules_dir()[0] == '\0')		\
		HARNESS_SKIP("no shared modules in this build "		\
		    "(--disable-shared)");				\
} while (0)

/* harbord -n on config (the module directory as %1$s); its output. */
static void
check(const char *fmt, struct hrun *r, char **path)
{
	char		*text = harness_fmt(fmt, modules_dir());
	const char	*args[] = { "-n", "-f", NULL, NULL };

	*path = harness_write_temp("modules.conf", text);
	free(text);
	args[2] = *path;
	harness_run(args, 10000, r);
}

/* -n fails with exactly this error: where (after the file name) and what. */
static void
expect_error(const char *fmt, const char *where_what)
{
	struct hrun	 r;
	char		*path, *want, *what;

	check(fmt, &r, &path);
	what = harness_fmt(where_what, modules_dir());
	want = harness_fmt("%s:%s", path, what);
	ck_assert_msg(r.code == EXIT_CONFIG, "exit %d, stderr: %s", r.code,
	    r.err);
	ck_assert_msg(strstr(r.err, want) != NULL, "wanted \"%s\" in: %s",
	    want, r.err);
	free(want);
	free(what);
	free(path);
	harness_run_free(&r);
}

START_TEST(test_module_serves)
{
	struct hdaemon	*d;
	char		*cfg;
	int		 fd;

	NEED_MODULES();
	cfg = harness_fmt("module %s/mod_upper.so\n"
	    "service u { listen 127.0.0.1:0; handler upper; framing line;\n"
	    "    option shout yes }\n"
	    "service v { listen 127.0.0.1:0; handler upper; framing line;\n"
	    "    dispatch pool }\n", modules_dir());
	d = hd_start(cfg, NULL);
	free(cfg);
	fd = hc_connect_ok(hd_port(d, "u"));
	HD_ASSERT(d, hc_send_str(fd, "hello\n"), "send");
	{
		char buf[8] = "";

		ck_assert_uint_eq(hc_read_n(fd, buf, 7, 5000), 7);
		ck_assert_str_eq(buf, "HELLO!\n");
	}
	hc_close(fd);
	fd = hc_connect_ok(hd_port(d, "v"));
	HD_ASSERT(d, hc_send_str(fd, "quiet\n"), "send");
	{
		char buf[8] = "";

		ck_assert_uint_eq(hc_read_n(fd, buf, 6, 5000), 6);
		ck_assert_str_eq(buf, "QUIET\n");
	}
	hc_close(fd);
	hd_finish(d);
}
END_TEST

START_TEST(test_module_checked_by_n)
{
	struct hrun	 r;
	char		*path;

	NEED_MODULES();
	check("module %1$s/mod_upper.so\n"
	    "service u { listen 127.0.0.1:0; handler upper }\n", &r, &path);
	ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
	free(path);
	harness_run_free(&r);

	/* The same object by another path is the module loaded already. */
	check("module %1$s/mod_upper.so\n"
	    "module %1$s/../.libs/mod_upper.so\n"
	    "service u { listen 127.0.0.1:0; handler upper }\n", &r, &path);
	ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
	free(path);
	harness_run_free(&r);
}
END_TEST

START_TEST(test_module_errors)
{
	NEED_MODULES();
	expect_error("module /nonexistent/mod.so\n"
	    "service u { listen 127.0.0.1:0; handler echo }\n",
	    "1:8: cannot load module /nonexistent/mod.so: ");
	expect_error("module %1$s/mod_noentry.so\n"
	    "service u { listen 127.0.0.1:0; handler echo }\n",
	    "1:8: %1$s/mod_noentry.so is not a harbord module: it has no "
	    "harbor_module_abi_version");
	expect_error("module %1$s/mod_oldabi.so\n"
	    "service u { listen 127.0.0.1:0; handler echo }\n",
	    "1:8: module %1$s/mod_oldabi.so was built for version 99 of "
	    "libharbor's handler interface; this libharbor has version 1");
	expect_error("module %1$s/mod_clash.so\n"
	    "service u { listen 127.0.0.1:0; handler echo }\n",
	    "1:8: module %1$s/mod_clash.so: a handler 'echo' exists already");
	expect_error("module %1$s/mod_upper.so\n"
	    "service u {\n"
	    "    listen 127.0.0.1:0\n"
	    "    handler uper\n"
	    "}\n",
	    "4:13: unknown handler 'uper' (expected echo, discard, chargen, "
	    "daytime, time, qotd, metrics, or a handler of a module)");
	expect_error("module %1$s/mod_upper.so\n"
	    "service u {\n"
	    "    listen 127.0.0.1:0\n"
	    "    handler upper\n"
	    "    option shout maybe\n"
	    "}\n",
	    "5:5: service 'u': option 'shout' must be yes or no, not "
	    "'maybe'");
	/* Given twice, the value the handler takes is the last. */
	expect_error("module %1$s/mod_upper.so\n"
	    "service u {\n"
	    "    listen 127.0.0.1:0; handler upper\n"
	    "    option shout yes\n"
	    "    option shout maybe\n"
	    "}\n",
	    "5:5: service 'u': option 'shout' must be yes or no, not "
	    "'maybe'");
	expect_error("module %1$s/mod_upper.so\n"
	    "defaults { option shout yes }\n",
	    "2:12: 'option' is not allowed in defaults");
}
END_TEST

int
main(void)
{
	Suite	*s;
	TCase	*tc;

	harness_init();
	s = suite_create("integration_modules");
	tc = harness_tcase("modules");
	tcase_add_test(tc, test_module_serves);
	tcase_add_test(tc, test_module_checked_by_n);
	tcase_add_test(tc, test_module_errors);
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
