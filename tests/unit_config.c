/* The config parser: good files give the right settings, bad ones give
 * errors at the right file:line:column. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include "config.h"
#include "check-run.h"
#include "conf-fixture.h"

static const struct conf_service *
service(const struct config *conf, const char *name)
{
	const struct conf_service	*s;

	for (s = conf->services; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	ck_abort_msg("no service %s", name);
	return NULL;
}

START_TEST(test_full_file)
{
	struct config	*conf = good(
	    "# a comment\n"
	    "io-threads 3\n"
	    "workers 5   # trailing comment\n"
	    "queue-size 64\n"
	    "log file /var/log/harbord.log\n"
	    "pidfile /run/harbord.pid\n"
	    "shutdown-timeout 2500ms\n"
	    "defaults {\n"
	    "    idle-timeout 5m\n"
	    "    max-connections 100\n"
	    "}\n"
	    "service echo {\n"
	    "    listen 127.0.0.1:7 [::1]:7\n"
	    "    handler echo\n"
	    "    dispatch pool\n"
	    "    framing line\n"
	    "    max-line 4k\n"
	    "}\n"
	    "service q { listen *:17; handler qotd; quote-file \"/etc/q t\" }\n");
	const struct conf_service *e, *q;

	ck_assert_int_eq(conf->io_threads, 3);
	ck_assert_int_eq(conf->workers, 5);
	ck_assert_uint_eq(conf->queue_size, 64);
	ck_assert_int_eq(conf->log, CONF_LOG_FILE);
	ck_assert_str_eq(conf->log_file, "/var/log/harbord.log");
	ck_assert_str_eq(conf->pidfile, "/run/harbord.pid");
	ck_assert_uint_eq(conf->shutdown_ms, 2500);
	ck_assert_uint_eq(conf->nservices, 2);
	ck_assert_int_eq(conf->defaults.idle_timeout_ms, 300000);
	ck_assert_int_eq(conf->defaults.max_connections, 100);
	e = service(conf, "echo");
	ck_assert_uint_eq(e->listen.n, 2);
	ck_assert_str_eq(e->listen.v[0], "127.0.0.1:7");
	ck_assert_str_eq(e->listen.v[1], "[::1]:7");
	ck_assert_uint_eq(e->listen.pos[1].line, 13);
	ck_assert_uint_eq(e->listen.pos[1].col, 24);
	ck_assert_str_eq(e->handler, "echo");
	ck_assert_int_eq(e->dispatch, HARBOR_DISPATCH_POOL);
	ck_assert_int_eq(e->framing, HARBOR_FRAMING_LINE);
	ck_assert_int_eq(e->max_line, 4096);
	ck_assert(!conf_service_sets(e, "idle-timeout")); /* defaults' */
	q = service(conf, "q");
	ck_assert_str_eq(q->quote_file, "/etc/q t");
	ck_assert(!conf_service_sets(q, "dispatch"));
	config_free(conf);
}
END_TEST

#ifdef _WIN32
#define NO_SYSLOG	"'log syslog' is not available: Windows has no " \
			"syslog (use 'log stderr' or 'log file PATH')"
#endif

START_TEST(test_defaults_and_syslog)
{
#ifdef _WIN32
	/* No syslog there: stderr is the default, and syslog an error. */
	struct config	*conf = good("service a { listen 127.0.0.1:1\n"
	    "handler time }\n");

	bad("log syslog local3\n", "t.conf:1:5: " NO_SYSLOG);
	ck_assert_int_eq(conf->log, CONF_LOG_STDERR);
#else
	struct config	*conf = good("service a { listen 127.0.0.1:1\n"
	    "handler time }\nlog syslog local3\n");

	ck_assert_int_eq(conf->log, CONF_LOG_SYSLOG);
	ck_assert_str_eq(conf->log_facility, "local3");
#endif
	ck_assert_int_eq(conf->io_threads, -1);
	ck_assert_int_eq(conf->workers, -1);
	ck_assert_uint_eq(conf->shutdown_ms, 10000);
	config_free(conf);
	conf = good("");
	ck_assert_uint_eq(conf->nservices, 0);
	config_free(conf);
}
END_TEST

START_TEST(test_builtin_default_parses)
{
	struct config	*conf = config_load_string("<built-in default>",
	    config_default_text, &errs);

	ck_assert_ptr_nonnull(conf);
	ck_assert_uint_eq(conf->nservices, 6);
	ck_assert_str_eq(service(conf, "chargen")->listen.v[0],
	    "127.0.0.1:7019");
	ck_assert_str_eq(service(conf, "time")->listen.v[0], "127.0.0.1:7037");
	config_free(conf);
}
END_TEST

START_TEST(test_unknown_keywords)
{
	bad("service echo {\n    lisen 127.0.0.1:7\n    handler echo\n}\n",
	    "t.conf:2:5: unknown keyword 'lisen' in service 'echo' (did you "
	    "mean 'listen'?)");
	bad("\n\n  threads 4\n",
	    "t.conf:3:3: unknown keyword 'threads' (see harbord.conf(5))");
	bad("worker 4\n",
	    "t.conf:1:1: unknown keyword 'worker' (did you mean 'workers'?)");
	bad("defaults { frob 1 }\n",
	    "t.conf:1:12: unknown keyword 'frob' in defaults (see "
	    "harbord.conf(5))");
	bad("defaults { max-per-sorce 1 }\n",
	    "t.conf:1:12: unknown keyword 'max-per-sorce' in defaults (did you "
	    "mean 'max-per-source'?)");
}
END_TEST

START_TEST(test_bad_values)
{
	bad("service e {\n\tlisten 127.0.0.1:70000\n\thandler echo\n}\n",
	    "t.conf:2:9: bad port '70000' (expected 0..65535)");
	bad("service e { listen localhost:7; handler echo }\n",
	    "t.conf:1:20: bad IPv4 address 'localhost' (expected a numeric "
	    "address such as 127.0.0.1, or *)");
	/* No other protocol, no scheme. */
	bad("service e { listen 127.0.0.1:7 udp:127.0.0.1:53; handler echo }\n",
	    "t.conf:1:32: bad listen address 'udp:127.0.0.1:53': harbord "
	    "serves TCP only, on ADDRESS:PORT, [IPv6]:PORT or *:PORT, with no "
	    "scheme such as 'udp:'");
	bad("service e { listen tcp6:[::1]:7; handler echo }\n",
	    "t.conf:1:20: bad listen address 'tcp6:[::1]:7': harbord serves "
	    "TCP only, on ADDRESS:PORT, [IPv6]:PORT or *:PORT, with no scheme "
	    "such as 'tcp6:'");
	bad("service e { listen unix:/run/h.sock; handler echo }\n",
	    "t.conf:1:20: bad listen address 'unix:/run/h.sock': harbord "
	    "serves TCP only, on ADDRESS:PORT, [IPv6]:PORT or *:PORT, with no "
	    "scheme such as 'unix:'");
	bad("service e { listen TCP-LISTEN:0.0.0.0:7; handler echo }\n",
	    "t.conf:1:20: bad listen address 'TCP-LISTEN:0.0.0.0:7': harbord "
	    "serves TCP only, on ADDRESS:PORT, [IPv6]:PORT or *:PORT, with no "
	    "scheme such as 'TCP-LISTEN:'");
	/* An unbracketed IPv6 address is not taken for one. */
	bad("service e { listen fe80::1:7; handler echo }\n",
	    "t.conf:1:20: bad address 'fe80::1:7' (write IPv6 addresses in "
	    "brackets: [::1]:7)");
	bad("service e { listen 127.0.0.1:7; handler ehco }\n",
	    "t.conf:1:41: unknown handler 'ehco' (expected echo, discard, "
	    "chargen, daytime, time, qotd, metrics, or a handler of a module)");
	bad("service e { listen 127.0.0.1:7; handler echo; dispatch fast }\n",
	    "t.conf:1:56: unknown value 'fast' for 'dispatch' (expected inline "
	    "or pool)");
	bad("workers 0\n", "t.conf:1:9: bad number '0' (expected 1..1024)");
	bad("io-threads -1\n",
	    "t.conf:1:12: bad number '-1' (expected 0..1024)");
	bad("shutdown-timeout 10 s\n",
	    "t.conf:1:21: unexpected 's' after 'shutdown-timeout'");
	bad("shutdown-timeout 10y\n", "t.conf:1:18: bad duration '10y' "
	    "(expected a number with ms, s, m, h or d, such as 30s)");
	bad("service e { listen 127.0.0.1:7; handler echo; max-line 0 }\n",
	    "t.conf:1:56: max-line must be at least 1");
	bad("service e { listen 127.0.0.1:7; handler echo; max-line 1g }\n",
	    "t.conf:1:56: bad size '1g' (expected a number of bytes, "
	    "optionally with k or m)");
#ifdef _WIN32
	bad("log syslog mars\n", "t.conf:1:5: " NO_SYSLOG);
#else
	bad("log syslog mars\n", "t.conf:1:12: unknown syslog facility "
	    "'mars' (expected daemon, user, local0..local7, auth, ...)");
#endif
	bad("log file\n", "t.conf:1:5: 'log file' needs a path");
	bad("pidfile\n", "t.conf:1:1: 'pidfile' needs a value");
}
END_TEST

START_TEST(test_structure_errors)
{
	bad("service echo {\n  listen 127.0.0.1:7; handler echo\n}\n"
	    "service echo {\n  listen 127.0.0.1:8; handler echo\n}\n",
	    "t.conf:4:9: duplicate service 'echo' (first defined at "
	    "t.conf:1:9)");
	bad("service x {\n  listen 127.0.0.1:7\n}\n",
	    "t.conf:1:1: service 'x' has no handler");
	bad("service x { handler echo }\n",
	    "t.conf:1:1: service 'x' has no listen address");
	bad("service x {\n  listen 127.0.0.1:7\n  handler echo\n",
	    "t.conf:1:11: '{' is never closed");
	bad("}\n", "t.conf:1:1: unexpected '}'");
	bad("service\n{ }\n", "t.conf:1:8: expected '{' after 'service'");
	bad("service a b { }\n", "t.conf:1:11: expected 'service NAME {'");
	bad("service a/b { }\n", "t.conf:1:9: bad service name 'a/b' "
	    "(letters, digits, '-', '_' and '.' only)");
	bad("defaults { listen 127.0.0.1:7 }\n", "t.conf:1:12: 'listen' is "
	    "not allowed in defaults (each service has its own)");
	bad("service a { listen 127.0.0.1:7; handler echo; "
	    "service b { } }\n",
	    "t.conf:1:57: unexpected '{' (blocks do not nest)");
	bad("workers \"4\n", "t.conf:1:9: unterminated string");
	bad("\"workers\" 4\n",
	    "t.conf:1:1: expected a keyword, not a quoted string");
	bad("service a { listen 127.0.0.1:7; handler echo }\n"
	    "service b { listen 127.0.0.1:7; handler echo }\n",
	    "t.conf:2:20: address 127.0.0.1:7 is already used by service 'a' "
	    "(at t.conf:1:20)");
	bad("service a { listen *:7; handler echo }\n"
	    "service b { listen [::]:7; handler echo }\n",
	    "t.conf:2:20: address [::]:7 is already used by service 'a' "
	    "(at t.conf:1:20)");
	bad("service a { listen 127.0.0.1:9; handler echo; quote-file q }\n",
	    "t.conf:1:47: 'quote-file' is only for qotd services, and "
	    "service 'a' has handler echo");
}
END_TEST

START_TEST(test_access_rules)
{
	struct config	*conf = good(
	    "defaults { deny all; allow 10.0.0.0/8 }\n"
	    "service a { listen 127.0.0.1:0; handler echo\n"
	    "    allow 127.0.0.1 ::1\n    deny 127.0.0.2 }\n"
	    "service b { listen 127.0.0.1:0; handler echo }\n");
	const struct conf_service *a = service(conf, "a");

	ck_assert_uint_eq(conf->defaults.rules.n, 2);
	ck_assert_uint_eq(a->rules.n, 3);
	ck_assert_str_eq(a->rules.v[1].net, "::1");
	ck_assert_int_eq(a->rules.v[1].allow, 1);
	ck_assert_int_eq(a->rules.v[2].allow, 0);
	ck_assert_uint_eq(a->rules.v[2].pos.line, 4);
	ck_assert_uint_eq(a->rules.v[2].pos.col, 10);
	ck_assert_uint_eq(service(conf, "b")->rules.n, 0);
	config_free(conf);
	bad("service a { listen 127.0.0.1:0; handler echo; allow 10.0.0.1/8 }"
	    "\n", "t.conf:1:53: network '10.0.0.1/8' has host bits set beyond "
	    "/8");
	bad("defaults { deny everyone }\n", "t.conf:1:17: bad network "
	    "'everyone' (expected an address such as 10.0.0.0/8 or ::1, or "
	    "all)");
	bad("service a { listen 127.0.0.1:0; handler echo; deny }\n",
	    "t.conf:1:47: 'deny' needs a value");
}
END_TEST

START_TEST(test_limit_keywords)
{
	struct config	*conf = good(
	    "max-connections 5000\n"
	    "defaults { max-per-source 8; rate-per-source 0.5 3 }\n"
	    "service a { listen 127.0.0.1:0; handler echo\n"
	    "    rate 100; ipv6-source-prefix 56; backlog 4096 }\n");
	const struct conf_service *a = service(conf, "a");

	ck_assert_uint_eq(conf->max_connections, 5000);
	ck_assert_int_eq(conf->defaults.max_per_source, 8);
	ck_assert_int_eq(conf->defaults.source_rate.milli, 500);
	ck_assert_int_eq(conf->defaults.source_rate.burst, 3);
	ck_assert_int_eq(a->rate.milli, 100000);
	ck_assert_int_eq(a->rate.burst, 0);
	ck_assert_int_eq(a->source_prefix6, 56);
	ck_assert_int_eq(a->backlog, 4096);
	config_free(conf);
	conf = good("defaults { log-rate 5 10 }\n"
	    "service a { listen 127.0.0.1:0; handler echo; log-rate off }\n");
	ck_assert_int_eq(conf->defaults.log_rate.milli, 5000);
	ck_assert_int_eq(conf->defaults.log_rate.burst, 10);
	ck_assert_int_eq(service(conf, "a")->log_rate.milli, 0);
	config_free(conf);
	bad("defaults { log-rate none }\n",
	    "t.conf:1:21: bad rate 'none' (expected lines per second, such as "
	    "10 or 0.5, up to 1000000)");
	bad("defaults { backlog 0 }\n",
	    "t.conf:1:20: bad number '0' (expected 1..1000000)");
	bad("service a { listen 127.0.0.1:0; handler echo; rate 0 }\n",
	    "t.conf:1:52: bad rate '0' (expected connections per second, such "
	    "as 10 or 0.5, up to 1000000)");
	bad("service a { listen 127.0.0.1:0; handler echo; rate 1.2345 }\n",
	    "t.conf:1:52: bad rate '1.2345' (expected connections per second, "
	    "such as 10 or 0.5, up to 1000000)");
	bad("service a { listen 127.0.0.1:0; handler echo; rate 5 0 }\n",
	    "t.conf:1:54: bad number '0' (expected 1..1000000)");
	bad("defaults { ipv6-source-prefix 129 }\n",
	    "t.conf:1:31: bad number '129' (expected 0..128)");
}
END_TEST

START_TEST(test_port_zero_may_repeat)
{
	struct config	*conf = good(
	    "service a { listen 127.0.0.1:0; handler echo }\n"
	    "service b { listen 127.0.0.1:0 127.0.0.1:0; handler echo }\n");

	config_free(conf);
}
END_TEST

START_TEST(test_every_error_is_reported)
{
	struct config	*conf = config_load_string("t.conf",
	    "frob 1\nservice a { listen 1.2.3.4:99999; handler x }\n"
	    "workers many\n", &errs);

	ck_assert_ptr_null(conf);
	ck_assert_uint_eq(errs.n, 4);
	ck_assert_str_eq(errs.msg[0], "t.conf:1:1: unknown keyword 'frob' "
	    "(see harbord.conf(5))");
	ck_assert(strncmp(errs.msg[1], "t.conf:2:20: bad port", 21) == 0);
	ck_assert(strncmp(errs.msg[2], "t.conf:3:9: bad number 'many'",
	    29) == 0);
	/* Known once the file is read: it might have loaded a module. */
	ck_assert(strncmp(errs.msg[3], "t.conf:2:43: unknown handler 'x'",
	    32) == 0);
}
END_TEST

START_TEST(test_garbage_is_bounded)
{
	char	*text = malloc(200001);
	int	 i;

	for (i = 0; i < 200000; i++)
		text[i] = (char)(1 + (i * 7919) % 255);
	text[200000] = '\0';
	ck_assert_ptr_null(config_load_string("t.conf", text, &errs));
	ck_assert_uint_eq(errs.n, CONF_MAX_ERRORS);
	ck_assert_uint_gt(errs.dropped, 0);
	free(text);
}
END_TEST

/* --- files: include and relative paths ---------------------------------- */

static char	tmpdir[256];

static void
write_file(const char *name, const char *text)
{
	char	path[512];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

#ifdef _WIN32
/* No mkdtemp, mkdir -p or rm -rf there: the Win32 calls instead. */
static void
files_setup(void)
{
	char	base[MAX_PATH], sub[512];
	DWORD	n;

	setup();
	n = GetTempPathA(sizeof base, base);
	ck_assert(n > 0 && n < sizeof base);
	snprintf(tmpdir, sizeof tmpdir, "%sharbor-unit-%lu-%lu", base,
	    (unsigned long)GetCurrentProcessId(),
	    (unsigned long)GetTickCount());
	ck_assert(CreateDirectoryA(tmpdir, NULL));
	snprintf(sub, sizeof sub, "%s/conf.d", tmpdir);
	ck_assert(CreateDirectoryA(sub, NULL));
}

static void
remove_tree(const char *dir)
{
	WIN32_FIND_DATAA	fd;
	HANDLE			h;
	char			path[512];

	snprintf(path, sizeof path, "%s/*", dir);
	if ((h = FindFirstFileA(path, &fd)) != INVALID_HANDLE_VALUE) {
		do {
			if (strcmp(fd.cFileName, ".") == 0 ||
			    strcmp(fd.cFileName, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, fd.cFileName);
			if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
				remove_tree(path);
			else
				(void)DeleteFileA(path);
		} while (FindNextFileA(h, &fd));
		FindClose(h);
	}
	(void)RemoveDirectoryA(dir);
}

static void
files_teardown(void)
{
	teardown();
	remove_tree(tmpdir);
}
#else
static int
mkdir_sub(void)
{
	char	path[512];

	snprintf(path, sizeof path, "mkdir -p %s/conf.d", tmpdir);
	return system(path);
}

static void
files_setup(void)
{
	setup();
	strcpy(tmpdir, "/tmp/harbor-unit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(mkdir_sub(), 0);
}

static void
files_teardown(void)
{
	char	cmd[512];

	teardown();
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	(void)system(cmd);
}
#endif

#if defined(HAVE_GLOB) || defined(_WIN32)
START_TEST(test_include_glob_and_relative_paths)
{
	char		 path[512], want[512];
	struct config	*conf;

	write_file("main.conf", "pidfile run/h.pid\ninclude conf.d/*.conf\n"
	    "include none.d/*.conf\n");
	write_file("conf.d/a.conf", "service a { listen 127.0.0.1:0\n"
	    "handler qotd; quote-file quotes.txt }\n");
	write_file("conf.d/b.conf", "service b { listen 127.0.0.1:0; "
	    "handler echo }\n");
	snprintf(path, sizeof path, "%s/main.conf", tmpdir);
	conf = config_load_file(path, &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_uint_eq(conf->nservices, 2);
	snprintf(want, sizeof want, "%s/run/h.pid", tmpdir);
	ck_assert_str_eq(conf->pidfile, want);
	snprintf(want, sizeof want, "%s/conf.d/quotes.txt", tmpdir);
	ck_assert_str_eq(service(conf, "a")->quote_file, want);
	config_free(conf);
}
END_TEST
#endif

START_TEST(test_include_errors_name_the_included_file)
{
	char		 path[512], want[1400];
	struct config	*conf;

	write_file("main.conf", "include sub.conf\ninclude missing.conf\n");
	write_file("sub.conf", "\nworkers lots\n");
	snprintf(path, sizeof path, "%s/main.conf", tmpdir);
	conf = config_load_file(path, &errs);
	ck_assert_ptr_null(conf);
	ck_assert_uint_eq(errs.n, 2);
	snprintf(want, sizeof want, "%s/sub.conf:2:9: bad number 'lots' "
	    "(expected 1..1024)", tmpdir);
	ck_assert_str_eq(errs.msg[0], want);
	snprintf(want, sizeof want, "%s:2:9: cannot open %s/missing.conf: "
	    "No such file or directory", path, tmpdir);
	ck_assert_str_eq(errs.msg[1], want);
}
END_TEST

/* The global part is one block, across the files it includes. */
START_TEST(test_given_again_in_another_file)
{
	char	path[512], want[1400];

	write_file("main.conf", "user nobody\ninclude sub.conf\n");
	write_file("sub.conf", "# site settings\n  user root\n");
	snprintf(path, sizeof path, "%s/main.conf", tmpdir);
	ck_assert_ptr_null(config_load_file(path, &errs));
	ck_assert_uint_eq(errs.n, 1);
	snprintf(want, sizeof want, "%s/sub.conf:2:3: 'user' given again "
	    "(first at %s:1:1)", tmpdir, path);
	ck_assert_str_eq(errs.msg[0], want);
}
END_TEST

START_TEST(test_include_loop_stops)
{
	char		 path[512];
	struct config	*conf;

	write_file("main.conf", "include main.conf\n");
	snprintf(path, sizeof path, "%s/main.conf", tmpdir);
	conf = config_load_file(path, &errs);
	ck_assert_ptr_null(conf);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_ptr_nonnull(strstr(errs.msg[0], "includes nested more than "
	    "16 deep"));
}
END_TEST

START_TEST(test_make_services_reads_quote_files)
{
	char			 text[1024], want[1200], big[700];
	struct config		*conf;
	struct harbor_service	**svcs;
	size_t			 n = 0, i;

	/* A good fortune file, and one with an over-long quote. */
	write_file("good.txt", "one\n%\ntwo\nlines\n%\nthree\n");
	memset(big, 'x', sizeof big - 2);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	write_file("bad.txt", "short\n%\n");
	{
		char	path[512];
		FILE	*f;

		snprintf(path, sizeof path, "%s/bad.txt", tmpdir);
		f = fopen(path, "a");
		fputs(big, f);
		fclose(f);
	}
	snprintf(text, sizeof text, "service q {\n listen 127.0.0.1:0\n "
	    "handler qotd\n quote-file %s/good.txt\n}\n", tmpdir);
	conf = config_load_string("t.conf", text, &errs);
	ck_assert_ptr_nonnull(conf);
	svcs = config_make_services(conf, &n, &errs);
	ck_assert_ptr_nonnull(svcs);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(harbor_service_name(svcs[0]), "q");
	for (i = 0; i < n; i++)
		harbor_service_free(svcs[i]);
	free(svcs);
	config_free(conf);

	snprintf(text, sizeof text, "service q {\n listen 127.0.0.1:0\n "
	    "handler qotd\n quote-file %s/bad.txt\n}\n", tmpdir);
	conf = config_load_string("t.conf", text, &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_ptr_null(config_make_services(conf, &n, &errs));
	ck_assert_uint_eq(errs.n, 1);
	snprintf(want, sizeof want, "t.conf:4:13: service 'q': %s/bad.txt:3: "
	    "quote of 700 bytes is too long (RFC 865 allows fewer than 512)",
	    tmpdir);
	ck_assert_str_eq(errs.msg[0], want);
	conf_errors_clear(&errs);
	config_free(conf);

	conf = config_load_string("t.conf", "service q { listen 127.0.0.1:0; "
	    "handler qotd; quote-file /nonexistent/q }\n", &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_ptr_null(config_make_services(conf, &n, &errs));
	ck_assert_str_eq(errs.msg[0], "t.conf:1:58: service 'q': cannot open "
	    "quote-file /nonexistent/q: No such file or directory");
	config_free(conf);
}
END_TEST

START_TEST(test_exec_and_forward)
{
	struct config			*conf;
	const struct conf_service	*x, *f;

	conf = good("defaults { env LANG=C; max-children 5 }\n"
	    "service x {\n"
	    "    listen 127.0.0.1:0\n"
	    "    exec /bin/sh -c \"echo $TCPREMOTEIP\"\n"
	    "    env A=1 B=two=2\n"
	    "    passenv PATH HOME\n"
	    "    max-children 3\n"
	    "    stderr-rate 16k\n"
	    "    stderr-line-max 200\n"
	    "}\n"
	    "service f {\n"
	    "    listen 127.0.0.1:0\n"
	    "    forward [::1]:8080\n"
	    "    connect-timeout 2s\n"
	    "    send-proxy v2\n"
	    "}\n");
	x = service(conf, "x");
	ck_assert_str_eq(x->handler, "exec");
	ck_assert_str_eq(x->exec_argv.v[0], "/bin/sh");
	ck_assert_str_eq(x->exec_argv.v[1], "-c");
	ck_assert_str_eq(x->exec_argv.v[2], "echo $TCPREMOTEIP");
	ck_assert_ptr_null(x->exec_argv.v[3]);
	ck_assert_uint_eq(x->env.n, 2);
	ck_assert_str_eq(x->env.v[1], "B=two=2");
	ck_assert_uint_eq(x->passenv.n, 2);
	ck_assert_int_eq(x->max_children, 3);
	ck_assert_int_eq(conf->defaults.max_children, 5);
	ck_assert_int_eq(x->stderr_rate, 16384);
	ck_assert_int_eq(x->stderr_line_max, 200);
	f = service(conf, "f");
	ck_assert_str_eq(f->handler, "forward");
	ck_assert_str_eq(f->forward_to, "[::1]:8080");
	ck_assert_int_eq(f->connect_timeout_ms, 2000);
	ck_assert_int_eq(f->send_proxy, HARBOR_PROXY_V2);
	config_free(conf);

	bad("service x { listen 127.0.0.1:0; exec cat }\n",
	    "t.conf:1:38: exec needs the program's absolute path, not 'cat' "
	    "(there is no PATH search)");
	bad("defaults { exec /bin/cat }\n",
	    "t.conf:1:12: 'exec' is not allowed in defaults (each service "
	    "has its own)");
	bad("service x { listen 127.0.0.1:0; handler echo; exec /bin/cat }\n",
	    "t.conf:1:47: 'exec' conflicts with 'echo' at t.conf:1:41 (a "
	    "service has one handler)");
	bad("service x { listen 127.0.0.1:0; forward a:1; exec /bin/cat }\n",
	    "t.conf:1:46: 'exec' conflicts with 'forward' at t.conf:1:33 (a "
	    "service has one handler)");
	bad("service x { listen 127.0.0.1:0; exec /bin/cat; env 1A=b }\n",
	    "t.conf:1:52: bad environment entry '1A=b' (expected NAME=VALUE, "
	    "NAME of letters, digits and '_')");
	bad("service x { listen 127.0.0.1:0; exec /bin/cat; "
	    "stderr-line-max 8 }\n",
	    "t.conf:1:64: stderr-line-max must be at least 16");
	bad("service x { listen 127.0.0.1:0; exec /bin/cat; "
	    "stderr-line-max 2k }\n",
	    "t.conf:1:64: size '2k' is too large (at most 1024 bytes)");
	bad("service x { listen 127.0.0.1:0; handler echo; stderr-rate 1k }\n",
	    "t.conf:1:47: 'stderr-rate' is only for exec services, and "
	    "service 'x' has handler echo");
	bad("service x { listen 127.0.0.1:0; exec /bin/cat; passenv A-B }\n",
	    "t.conf:1:56: bad variable name 'A-B' (letters, digits and '_')");
	bad("service x { listen 127.0.0.1:0; handler echo; env A=b }\n",
	    "t.conf:1:47: 'env' is only for exec services, and service 'x' "
	    "has handler echo");
	bad("service x { listen 127.0.0.1:0; exec /bin/cat; send-proxy v1 }\n",
	    "t.conf:1:48: 'send-proxy' is only for forward services, and "
	    "service 'x' has handler exec");
	bad("service x { listen 127.0.0.1:0; forward 127.0.0.1 }\n",
	    "t.conf:1:41: bad backend '127.0.0.1' (expected HOST:PORT, or "
	    "[IPv6 address]:PORT)");
	bad("service x { listen 127.0.0.1:0; forward h:0 }\n",
	    "t.conf:1:41: bad backend port in 'h:0' (expected 1..65535)");
	bad("service x { listen 127.0.0.1:0; forward [::1:80 }\n",
	    "t.conf:1:41: bad backend '[::1:80' (expected [IPv6 address]:PORT)");
	bad("service x { listen 127.0.0.1:0; forward h:1; send-proxy v3 }\n",
	    "t.conf:1:57: unknown value 'v3' for 'send-proxy' (expected v1 or "
	    "v2)");
	bad("service x { listen 127.0.0.1:0; forward h:1; connect-timeout 0 }\n",
	    "t.conf:1:62: connect-timeout must be more than 0");
#ifndef _WIN32
	/* A program of its own user under a serving process that is not
	 * root: the privileged process starts it, so the file may say so
	 * (a harbord not started as root refuses it at start). */
	{
		struct config		*conf;
		const struct conf_words	*argv;
		const struct conf_pos	*at;
		long			 uid, gid;

		conf = good("user nobody\ndefaults { user daemon }\n"
		    "service x { listen 127.0.0.1:0; exec /bin/cat -u }\n");
		ck_assert_int_eq(config_exec_program(conf, "x", &argv, &uid,
		    &gid, &at), 0);
		ck_assert_uint_eq(argv->n, 2);
		ck_assert_str_eq(argv->v[1], "-u");
		ck_assert_int_ne(uid, -1);
		ck_assert_ptr_nonnull(at);
		ck_assert_uint_eq(at->line, 2);
		ck_assert_int_eq(config_exec_program(conf, "y", &argv, &uid,
		    &gid, &at), -1);
		config_free(conf);
	}
#endif
}
END_TEST

/* The first error config_make_services() reports for text. */
static void
make_fails(const char *text, const char *want)
{
	struct config	*conf = good(text);
	size_t		 n;

	ck_assert_ptr_null(config_make_services(conf, &n, &errs));
	ck_assert_uint_ge(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], want);
	conf_errors_clear(&errs);
	config_free(conf);
}

START_TEST(test_make_exec_and_forward)
{
	struct config		*conf;
	struct harbor_service	**svcs;
	size_t			  n, i;

	/* A pool in defaults is for the handlers that can have it. */
	conf = good("defaults { dispatch pool }\n"
	    "service f { listen 127.0.0.1:0; forward 127.0.0.1:9 }\n");
	ck_assert_ptr_nonnull(svcs = config_make_services(conf, &n, &errs));
	for (i = 0; i < n; i++)
		harbor_service_free(svcs[i]);
	free(svcs);
	config_free(conf);
	make_fails("service f { listen 127.0.0.1:0; forward 127.0.0.1:9;\n"
	    "    dispatch pool }\n", "t.conf:1:9: service 'f': forward runs "
	    "on its connections' I/O loops, not on the pool (dispatch pool)");
#ifdef _WIN32
	make_fails("service x { listen 127.0.0.1:0; exec /bin/cat }\n",
	    "t.conf:1:33: exec is not available on Windows: it hands the "
	    "client's socket to a child process as its standard input and "
	    "output, which Windows programs cannot use");
#else
	conf = good("service x { listen 127.0.0.1:0; exec /bin/cat; env A=1 }\n");
	ck_assert_ptr_nonnull(svcs = config_make_services(conf, &n, &errs));
	for (i = 0; i < n; i++)
		harbor_service_free(svcs[i]);
	free(svcs);
	config_free(conf);
	make_fails("service x { listen 127.0.0.1:0; exec /nonexistent/prog }\n",
	    "t.conf:1:33: service 'x': cannot run /nonexistent/prog: No such "
	    "file or directory");
	make_fails("service x { listen 127.0.0.1:0; exec /bin/cat;\n"
	    "  env TCPREMOTEIP=forged }\n", "t.conf:2:7: TCPREMOTEIP is set "
	    "for each connection and cannot be given");
	make_fails("service x { listen 127.0.0.1:0; exec /bin/cat;\n"
	    "  user no-such-user-here }\n", "t.conf:2:8: service 'x': no user "
	    "'no-such-user-here'");
#endif
}
END_TEST

/* A configuration read once, then again from what was read, with the
 * files gone: the same services, and the same positions in errors. */
START_TEST(test_snapshot_replays_what_was_read)
{
	char			 path[512], sub[512], want[1400];
	struct config		*conf;
	struct conf_snapshot	*snap, *back;
	unsigned char		*buf;
	size_t			 len, cut;

	write_file("main.conf", "include sub.conf\n"
#if defined(HAVE_GLOB) || defined(_WIN32)
	    "include conf.d/*.conf\n"
#endif
	    "service a { listen 127.0.0.1:0; handler echo }\n");
	write_file("sub.conf", "workers 3\n");
	write_file("conf.d/b.conf", "service b { listen 127.0.0.1:0; "
	    "handler discard }\n");
	snprintf(path, sizeof path, "%s/main.conf", tmpdir);
	conf = config_load_file_recorded(path, &errs, &snap);
	ck_assert_ptr_nonnull(conf);
	ck_assert_ptr_nonnull(snap);
	config_free(conf);
	ck_assert_int_eq(conf_snapshot_encode(snap, &buf, &len), 0);
	conf_snapshot_free(snap);
	/* Every truncation is refused, not read past. */
	for (cut = 0; cut < len; cut++)
		ck_assert_ptr_null(conf_snapshot_decode(buf, cut));
	ck_assert_ptr_nonnull(back = conf_snapshot_decode(buf, len));
	free(buf);

	ck_assert_int_eq(remove(path), 0);
	snprintf(sub, sizeof sub, "%s/sub.conf", tmpdir);
	ck_assert_int_eq(remove(sub), 0);
	snprintf(sub, sizeof sub, "%s/conf.d/b.conf", tmpdir);
	ck_assert_int_eq(remove(sub), 0);
	ck_assert_ptr_nonnull(conf = config_load_snapshot(back, &errs));
	ck_assert_int_eq(conf->workers, 3);
#if defined(HAVE_GLOB) || defined(_WIN32)
	ck_assert_uint_eq(conf->nservices, 2);
	ck_assert_ptr_nonnull(service(conf, "b"));
#else
	ck_assert_uint_eq(conf->nservices, 1);
#endif
	config_free(conf);
	conf_snapshot_free(back);

	/* An error found in the replay names the file it was read from. */
	write_file("main.conf", "include sub.conf\n");
	write_file("sub.conf", "\nworkers 3\nservice x { handler echo }\n");
	ck_assert_ptr_null(config_load_file_recorded(path, &errs, &snap));
	ck_assert_ptr_null(snap);
	ck_assert_uint_ge(errs.n, 1);
	snprintf(want, sizeof want, "%s", errs.msg[0]);
	conf_errors_clear(&errs);
	ck_assert_ptr_nonnull(snap = conf_snapshot_new());
	ck_assert_int_eq(conf_snapshot_add(snap, CONF_SNAP_FILE, path,
	    "include sub.conf\n", 17), 0);
	snprintf(sub, sizeof sub, "%s/sub.conf", tmpdir);
	ck_assert_int_eq(conf_snapshot_add(snap, CONF_SNAP_FILE, sub,
	    "\nworkers 3\nservice x { handler echo }\n", 37), 0);
	ck_assert_ptr_null(config_load_snapshot(snap, &errs));
	ck_assert_uint_ge(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], want);
	ck_assert_ptr_nonnull(strstr(want, "sub.conf:3:"));
	conf_snapshot_free(snap);
}
END_TEST

#ifndef _WIN32
/* The accounts exec services name go with the snapshot, and the process
 * that parses it takes them from there, not from its own /etc (a
 * chroot's). */
START_TEST(test_snapshot_carries_accounts)
{
	static const char	 text[] = "service x { listen 127.0.0.1:0; "
	    "exec /bin/cat; user nosuchuser-here; group nosuchgroup-here }\n";
	struct conf_snapshot	*snap;
	struct config		*conf;
	const struct conf_words	*argv;
	const struct conf_pos	*at;
	long			 uid, gid;

	/* As read, with no such accounts: none is recorded. */
	ck_assert_ptr_nonnull(conf = good(text));
	ck_assert_ptr_nonnull(snap = conf_snapshot_new());
	ck_assert_int_eq(config_resolve_accounts(conf, snap), 0);
	ck_assert_int_eq(config_exec_program(conf, "x", &argv, &uid, &gid,
	    &at), -1);
	config_free(conf);
	conf_snapshot_free(snap);

	/* As the privileged process saw them. */
	ck_assert_ptr_nonnull(snap = conf_snapshot_new());
	ck_assert_int_eq(conf_snapshot_add(snap, CONF_SNAP_FILE, "t.conf",
	    text, strlen(text)), 0);
	ck_assert_int_eq(conf_snapshot_add(snap, CONF_SNAP_ACCOUNT,
	    "u:nosuchuser-here", "4242 4343", 9), 0);
	ck_assert_int_eq(conf_snapshot_add(snap, CONF_SNAP_ACCOUNT,
	    "g:nosuchgroup-here", "4444", 4), 0);
	ck_assert_ptr_nonnull(conf = config_load_snapshot(snap, &errs));
	ck_assert_int_eq(config_exec_program(conf, "x", &argv, &uid, &gid,
	    &at), 0);
	ck_assert_int_eq(uid, 4242);
	ck_assert_int_eq(gid, 4444);
	config_free(conf);
	conf_snapshot_free(snap);

	/* A malformed one is refused. */
	ck_assert_ptr_nonnull(snap = conf_snapshot_new());
	ck_assert_int_eq(conf_snapshot_add(snap, CONF_SNAP_FILE, "t.conf",
	    text, strlen(text)), 0);
	ck_assert_int_eq(conf_snapshot_add(snap, CONF_SNAP_ACCOUNT,
	    "u:nosuchuser-here", "42x", 3), 0);
	ck_assert_ptr_null(config_load_snapshot(snap, &errs));
	conf_errors_clear(&errs);
	conf_snapshot_free(snap);
}
END_TEST
#endif

int
main(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("text");
	TCase	*tf = tcase_create("files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_defaults_and_syslog);
	tcase_add_test(tc, test_builtin_default_parses);
	tcase_add_test(tc, test_unknown_keywords);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_structure_errors);
	tcase_add_test(tc, test_port_zero_may_repeat);
	tcase_add_test(tc, test_access_rules);
	tcase_add_test(tc, test_limit_keywords);
	tcase_add_test(tc, test_every_error_is_reported);
	tcase_add_test(tc, test_garbage_is_bounded);
	tcase_add_test(tc, test_exec_and_forward);
#ifndef _WIN32
	tcase_add_test(tc, test_snapshot_carries_accounts);
#else
	check_skip("test_snapshot_carries_accounts", "no users on Windows");
#endif
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tf, files_setup, files_teardown);
#if defined(HAVE_GLOB) || defined(_WIN32)
	tcase_add_test(tf, test_include_glob_and_relative_paths);
#else
	check_skip("test_include_glob_and_relative_paths", "include patterns "
	    "need glob(3), which this system lacks");
#endif
	tcase_add_test(tf, test_include_errors_name_the_included_file);
	tcase_add_test(tf, test_include_loop_stops);
	tcase_add_test(tf, test_snapshot_replays_what_was_read);
	tcase_add_test(tf, test_given_again_in_another_file);
	tcase_add_test(tf, test_make_services_reads_quote_files);
	tcase_add_test(tf, test_make_exec_and_forward);
	suite_add_tcase(s, tf);
	return check_run(s);
}
