/* The configuration's keyword table: it and harbord.conf(5) describe the
 * same keywords, each where it may stand; a keyword the table takes
 * reaches the library; and no allocation that fails while parsing loses a
 * statement without an error. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "config.h"
#include "check-run.h"

/* --- the table and the manual ----------------------------------------------- */

static FILE *
open_page(const char *name)
{
	char		 path[4096];
	const char	*srcdir = getenv("HARBOR_TEST_SRCDIR");
	FILE		*f;

	ck_assert_msg(srcdir != NULL, "HARBOR_TEST_SRCDIR is not set");
	/* The page's template: its words are those of the page made. */
	snprintf(path, sizeof path, "%s/../man/%s.in", srcdir, name);
	ck_assert_msg((f = fopen(path, "r")) != NULL, "cannot open %s", path);
	return f;
}

static int
read_line(FILE *f, char *line, size_t size)
{
	if (fgets(line, (int)size, f) == NULL)
		return 0;
	line[strcspn(line, "\n")] = '\0';
	return 1;
}

/* The .It Ic keywords of a section of harbord.conf(5), whether each
 * entry says "Not in .Ic defaults", and whether it says that a change
 * "needs a restart" (entries on .It lines one after the other share
 * their text: user, group and chroot). */
struct doc_keyword {
	char	name[64];
	int	not_in_defaults;
	int	needs_restart;
};

static size_t
doc_keywords(const char *section, struct doc_keyword *out, size_t max)
{
	char		 line[1024], prev[1024] = "";
	FILE		*f = open_page("harbord.conf.5");
	size_t		 n = 0, first = 0, i;
	int		 in = 0;

	while (read_line(f, line, sizeof line)) {
		if (strncmp(line, ".Sh ", 4) == 0)
			in = strcmp(line + 4, section) == 0;
		else if (in && strncmp(line, ".It Ic ", 7) == 0 && n < max) {
			if (strncmp(prev, ".It Ic ", 7) != 0)
				first = n;
			sscanf(line + 7, "%63s", out[n].name);
			out[n].not_in_defaults = 0;
			out[n].needs_restart = 0;
			/* "log stderr", "log syslog", "log file": one keyword */
			if (n == 0 || strcmp(out[n - 1].name, out[n].name) != 0)
				n++;
		} else if (in && n > 0 && strcmp(prev, "Not in") == 0 &&
		    strncmp(line, ".Ic defaults", 12) == 0)
			out[n - 1].not_in_defaults = 1;
		else if (in && n > 0 && strstr(line, "needs a restart") != NULL)
			for (i = first; i < n; i++)
				out[i].needs_restart = 1;
		strcpy(prev, line);
	}
	fclose(f);
	return n;
}

static int
documented(const struct doc_keyword *doc, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(doc[i].name, name) == 0)
			return (int)i;
	return -1;
}

START_TEST(test_table_and_manual_agree)
{
	struct doc_keyword	global[64], service[64];
	size_t			ng, ns, i, k = conf_keyword_count();
	int			d;

	ng = doc_keywords("GLOBAL CONFIGURATION", global, 64);
	ns = doc_keywords("SERVICES", service, 64);
	ck_assert_uint_gt(ng, 5);
	ck_assert_uint_gt(ns, 20);

	for (i = 0; i < k; i++) {
		const char	*name = conf_keyword_name(i);
		unsigned	 scope = conf_keyword_scope(i);

		if (scope & CONF_GLOBAL) {
			d = documented(global, ng, name);
			ck_assert_msg(d != -1, "global keyword '%s' is not in "
			    "harbord.conf(5)'s GLOBAL CONFIGURATION", name);
			ck_assert_msg(global[d].needs_restart ==
			    conf_keyword_needs_restart(i), "harbord.conf(5) "
			    "says a change of '%s' needs %s restart; the table, "
			    "the opposite", name, global[d].needs_restart ?
			    "a" : "no");
		}
		if (scope & CONF_SERVICE) {
			d = documented(service, ns, name);
			ck_assert_msg(d != -1, "service keyword '%s' is not in "
			    "harbord.conf(5)'s SERVICES", name);
			ck_assert_msg(service[d].not_in_defaults ==
			    !!(scope & CONF_NOT_DEFAULTS), "harbord.conf(5) "
			    "says '%s' is%s in defaults; the table, the "
			    "opposite", name, service[d].not_in_defaults ?
			    " not" : "");
			ck_assert_msg(service[d].needs_restart ==
			    conf_keyword_needs_restart(i), "harbord.conf(5) "
			    "says a change of service keyword '%s' needs %s "
			    "restart; the table, the opposite", name,
			    service[d].needs_restart ? "a" : "no");
		}
	}
	for (i = 0; i < ng; i++)
		ck_assert_msg(conf_keyword_find(global[i].name,
		    CONF_GLOBAL) != -1, "harbord.conf(5) documents global "
		    "keyword '%s', which the table lacks", global[i].name);
	/* "service NAME {" heads the list of service keywords. */
	for (i = 0; i < ns; i++)
		ck_assert_msg(strcmp(service[i].name, "service") == 0 ||
		    conf_keyword_find(service[i].name, CONF_SERVICE) != -1,
		    "harbord.conf(5) documents service keyword '%s', which "
		    "the table lacks", service[i].name);
}
END_TEST

/* Whether name is in the list of n names. */
static int
listed(char (*names)[64], size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/* Each keyword the table lets repeat, and no other, is in the lists of
 * harbord.conf(5)'s "Keywords given more than once": one for the global
 * part, one for services and defaults. */
START_TEST(test_repeats_documented)
{
	char	line[1024], global[64][64], service[64][64];
	FILE	*f = open_page("harbord.conf.5");
	size_t	ng = 0, ns = 0, i, k = conf_keyword_count();
	int	in = 0, list = 0;

	while (read_line(f, line, sizeof line)) {
		if (strncmp(line, ".Ss ", 4) == 0 || strncmp(line, ".Sh ", 4) == 0)
			in = strcmp(line, ".Ss Keywords given more than once") ==
			    0;
		else if (in && strncmp(line, ".It ", 4) == 0)
			list = strncmp(line, ".It The global", 14) == 0 ?
			    CONF_GLOBAL : strncmp(line, ".It A service", 13) ==
			    0 ? CONF_SERVICE : 0;
		else if (in && strcmp(line, ".El") == 0)
			list = 0;
		else if (in && list == CONF_GLOBAL && ng < 64 &&
		    strncmp(line, ".Ic ", 4) == 0)
			sscanf(line + 4, "%63s", global[ng++]);
		else if (in && list == CONF_SERVICE && ns < 64 &&
		    strncmp(line, ".Ic ", 4) == 0)
			sscanf(line + 4, "%63s", service[ns++]);
	}
	fclose(f);
	ck_assert_uint_gt(ng, 0);
	ck_assert_uint_gt(ns, 0);
	for (i = 0; i < k; i++) {
		const char	*name = conf_keyword_name(i);
		unsigned	 scope = conf_keyword_scope(i);

		if (scope & CONF_GLOBAL)
			ck_assert_msg(listed(global, ng, name) ==
			    conf_keyword_repeats(i), "global keyword '%s' "
			    "%s in harbord.conf(5)'s list of those that may "
			    "repeat; the table says it may%s", name,
			    listed(global, ng, name) ? "is" : "is not",
			    conf_keyword_repeats(i) ? "" : " not");
		if (scope & CONF_SERVICE)
			ck_assert_msg(listed(service, ns, name) ==
			    conf_keyword_repeats(i), "service keyword '%s' "
			    "%s in harbord.conf(5)'s list of those that may "
			    "repeat; the table says it may%s", name,
			    listed(service, ns, name) ? "is" : "is not",
			    conf_keyword_repeats(i) ? "" : " not");
	}
	for (i = 0; i < ng; i++)
		ck_assert_msg(conf_keyword_find(global[i], CONF_GLOBAL) != -1,
		    "harbord.conf(5) says '%s' may repeat in the global part, "
		    "where the table has no such keyword", global[i]);
	for (i = 0; i < ns; i++)
		ck_assert_msg(conf_keyword_find(service[i], CONF_SERVICE) != -1,
		    "harbord.conf(5) says '%s' may repeat in a service, where "
		    "the table has no such keyword", service[i]);
}
END_TEST

/* harbord(8)'s SIGHUP names the settings that need a restart ("changes
 * to .Ic ... need a restart"): those of the table, global or a
 * service's. */
START_TEST(test_restarts_documented)
{
	char	line[1024], names[64][64];
	FILE	*f = open_page("harbord.8");
	size_t	n = 0, i, k = conf_keyword_count(), want = 0;
	int	section = 0, in = 0;

	while (read_line(f, line, sizeof line)) {
		if (strncmp(line, ".Sh ", 4) == 0)
			section = strcmp(line, ".Sh SIGNALS") == 0;
		else if (section && strcmp(line, "changes to") == 0)
			in = 1;
		else if (in && strncmp(line, "need a restart", 14) == 0)
			in = 0;
		else if (in && n < 64 && strncmp(line, ".Ic ", 4) == 0)
			sscanf(line + 4, "%63s", names[n++]);
	}
	fclose(f);
	ck_assert_msg(n > 0, "harbord(8)'s SIGNALS has no \"changes to ... "
	    "need a restart\"");
	for (i = 0; i < k; i++) {
		if (!conf_keyword_needs_restart(i))
			continue;
		want++;
		ck_assert_msg(listed(names, n, conf_keyword_name(i)),
		    "harbord(8)'s SIGHUP does not say that '%s' needs a "
		    "restart, which the table says", conf_keyword_name(i));
	}
	for (i = 0; i < n; i++) {
		int	j = conf_keyword_find(names[i], CONF_GLOBAL |
			    CONF_SERVICE);

		ck_assert_msg(j != -1 && conf_keyword_needs_restart((size_t)j),
		    "harbord(8)'s SIGHUP says '%s' needs a restart; the "
		    "table does not", names[i]);
	}
	ck_assert_uint_eq(n, want);
}
END_TEST

/* The escapes of double-quoted strings in harbord.conf(5)'s Syntax
 * (".It Ql \\e..." lines, in mdoc's spelling) are the lexer's. */
START_TEST(test_escapes_documented)
{
	char		 line[1024], doc[16] = "", *p;
	const char	*lexer = conf_string_escapes();
	FILE		*f = open_page("harbord.conf.5");
	size_t		 n = 0, i;
	int		 in = 0;

	while (read_line(f, line, sizeof line)) {
		if (strncmp(line, ".Ss ", 4) == 0 || strncmp(line, ".Sh ", 4) == 0)
			in = strcmp(line, ".Ss Syntax") == 0;
		else if (in && strncmp(line, ".It Ql \\e", 9) == 0 &&
		    n < sizeof doc - 1) {
			p = line + 9;
			if (strcmp(p, "\\e") == 0)
				doc[n++] = '\\';
			else if (strcmp(p, "\\(dq") == 0)
				doc[n++] = '"';
			else {
				ck_assert_msg(strlen(p) == 1, "harbord.conf(5): "
				    "cannot read the escape of '%s'", line);
				doc[n++] = *p;
			}
		}
	}
	fclose(f);
	ck_assert_msg(n == strlen(lexer), "harbord.conf(5) lists %zu escapes "
	    "(%s), the lexer %zu (%s)", n, doc, strlen(lexer), lexer);
	for (i = 0; i < n; i++)
		ck_assert_msg(strchr(lexer, doc[i]) != NULL, "harbord.conf(5) "
		    "lists the escape \\%c, which the lexer lacks", doc[i]);
}
END_TEST

/* --- keywords reach the library ---------------------------------------------- */

static void
free_services(struct harbor_service **svcs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		harbor_service_free(svcs[i]);
	free(svcs);
}

START_TEST(test_max_input)
{
	struct conf_errors	 errs = { .n = 0 };
	struct harbor_service	**svcs;
	struct config		*conf;
	size_t			 n;

	conf = config_load_string("t.conf", "defaults { max-input 1m }\n"
	    "service a { listen 127.0.0.1:0; handler echo }\n"
	    "service b { listen 127.0.0.1:0; handler echo; max-input 100 }\n",
	    &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_int_eq(conf->defaults.max_input, 1024 * 1024);
	ck_assert(!conf_service_sets(conf->services, "max-input"));
	ck_assert_int_eq(conf->services->next->max_input, 100);
	ck_assert_ptr_nonnull(svcs = config_make_services(conf, &n, &errs));
	free_services(svcs, n);
	config_free(conf);

	ck_assert_ptr_null(config_load_string("t.conf", "service a { "
	    "listen 127.0.0.1:0; handler echo; max-input 0 }\n", &errs));
	ck_assert_str_eq(errs.msg[0], "t.conf:1:57: max-input must be at "
	    "least 1");
	conf_errors_clear(&errs);
}
END_TEST

START_TEST(test_handler_keywords_are_checked)
{
	struct conf_errors	 errs = { .n = 0 };
	struct config		*conf;

	/* In defaults, they are for their handler's services only... */
	conf = config_load_string("t.conf", "defaults { connect-timeout 2s; "
	    "max-children 3 }\n"
	    "service a { listen 127.0.0.1:0; handler echo }\n", &errs);
	ck_assert_ptr_nonnull(conf);
	config_free(conf);
	/* ...in a service, each one is an error of its own. */
	ck_assert_ptr_null(config_load_string("t.conf", "service a { "
	    "listen 127.0.0.1:0\n handler echo; max-children 3\n"
	    " send-proxy v2 }\n", &errs));
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.msg[0], "t.conf:2:16: 'max-children' is only for "
	    "exec services, and service 'a' has handler echo");
	ck_assert_str_eq(errs.msg[1], "t.conf:3:2: 'send-proxy' is only for "
	    "forward services, and service 'a' has handler echo");
	conf_errors_clear(&errs);
}
END_TEST

/* An option its handler does not take is an error at its line. */
static void
make_fails(const char *text, const char *want)
{
	struct conf_errors	 errs = { .n = 0 };
	struct config		*conf = config_load_string("t.conf", text,
				    &errs);
	size_t			 n;

	ck_assert_ptr_nonnull(conf);
	ck_assert_ptr_null(config_make_services(conf, &n, &errs));
	ck_assert_uint_ge(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], want);
	conf_errors_clear(&errs);
	config_free(conf);
}

START_TEST(test_unknown_options)
{
	make_fails("service e { listen 127.0.0.1:0; handler echo\n"
	    "  option colour blue }\n",
	    "t.conf:2:3: service 'e': option 'colour': handler echo takes no "
	    "options");
	make_fails("service q { listen 127.0.0.1:0; handler qotd\n"
	    "  option quote-fil /etc/motd }\n",
	    "t.conf:2:3: service 'q': unknown option 'quote-fil' (handler "
	    "qotd takes quote-file)");
	make_fails("service f { listen 127.0.0.1:0; forward 127.0.0.1:9\n"
	    "  option timeout 5 }\n",
	    "t.conf:2:3: service 'f': unknown option 'timeout' (handler "
	    "forward takes target, connect-timeout or send-proxy)");
}
END_TEST

/* --- keywords given twice ------------------------------------------------------ */

/* A statement of each keyword, as it stands in its block. */
static const struct {
	unsigned	 scope;
	const char	*statement;
} samples[] = {
	{ CONF_GLOBAL, "io-threads 1" }, { CONF_GLOBAL, "workers 1" },
	{ CONF_GLOBAL, "queue-size 5" }, { CONF_GLOBAL, "max-connections 5" },
	{ CONF_GLOBAL, "log stderr" }, { CONF_GLOBAL, "pidfile /run/h.pid" },
	{ CONF_GLOBAL, "user root" }, { CONF_GLOBAL, "group wheel" },
	{ CONF_GLOBAL, "chroot /var/empty" },
	{ CONF_GLOBAL, "shutdown-timeout 1" },
	{ CONF_GLOBAL, "control-socket /run/h.sock" },
	{ CONF_GLOBAL, "log-level notice" },
	{ CONF_GLOBAL, "control-group wheel" },
	{ CONF_GLOBAL, "include /nonexistent/h.conf" },
	{ CONF_GLOBAL, "module /nonexistent/m.so" },
	{ CONF_SERVICE, "listen 127.0.0.1:0" }, { CONF_SERVICE, "backlog 5" },
	{ CONF_SERVICE, "reuse-port no" },
	{ CONF_SERVICE, "handler echo" }, { CONF_SERVICE, "exec /bin/cat" },
	{ CONF_SERVICE, "forward 127.0.0.1:9" }, { CONF_SERVICE, "env A=1" },
	{ CONF_SERVICE, "passenv A" }, { CONF_SERVICE, "max-children 1" },
	{ CONF_SERVICE, "stderr-rate 1k" },
	{ CONF_SERVICE, "stderr-line-max 100" },
	{ CONF_SERVICE, "user nobody" }, { CONF_SERVICE, "group nogroup" },
	{ CONF_SERVICE, "connect-timeout 1s" },
	{ CONF_SERVICE, "send-proxy v1" }, { CONF_SERVICE, "dispatch pool" },
	{ CONF_SERVICE, "framing line" }, { CONF_SERVICE, "max-line 10" },
	{ CONF_SERVICE, "max-input 10" }, { CONF_SERVICE, "option a b" },
	{ CONF_SERVICE, "quote-file /q" }, { CONF_SERVICE, "allow all" },
	{ CONF_SERVICE, "deny all" }, { CONF_SERVICE, "proxy-protocol v1" },
	{ CONF_SERVICE, "trusted-proxies 127.0.0.1" },
	{ CONF_SERVICE, "proxy-header-timeout 1s" },
	{ CONF_SERVICE, "max-connections 1" },
	{ CONF_SERVICE, "max-per-source 1" },
	{ CONF_SERVICE, "ipv6-source-prefix 64" }, { CONF_SERVICE, "rate 1" },
	{ CONF_SERVICE, "rate-per-source 1" }, { CONF_SERVICE, "log-rate 1" },
	{ CONF_SERVICE, "log-level debug" },
	{ CONF_SERVICE, "log-connections no" },
	{ CONF_SERVICE, "idle-timeout 1s" },
	{ CONF_SERVICE, "session-timeout 1s" },
};

static const char *
sample(const char *name, unsigned scope)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < sizeof samples / sizeof samples[0]; i++)
		if (samples[i].scope == scope &&
		    strncmp(samples[i].statement, name, len) == 0 &&
		    samples[i].statement[len] == ' ')
			return samples[i].statement;
	return NULL;
}

/* Whether loading text says exactly want among its errors. */
static int
says(const char *text, const char *want)
{
	struct conf_errors	 errs = { .n = 0 };
	struct config		*conf = config_load_string("t.conf", text,
				    &errs);
	size_t			 i;
	int			 found = 0;

	for (i = 0; i < errs.n; i++)
		if (strstr(errs.msg[i], want) != NULL)
			found = 1;
	conf_errors_clear(&errs);
	config_free(conf);
	return found;
}

/* Each keyword of the table, twice in its block: an error naming both
 * places, unless the table lets it repeat.  Several defaults blocks are
 * several blocks. */
START_TEST(test_keywords_given_twice)
{
	char		 text[512], want[256];
	const char	*st;
	size_t		 i, k = conf_keyword_count();

	for (i = 0; i < k; i++) {
		const char	*name = conf_keyword_name(i);
		unsigned	 scope = conf_keyword_scope(i);
		int		 repeats = conf_keyword_repeats(i);

		/* The blocks themselves: duplicate services have their own
		 * error, defaults blocks merge. */
		if (strcmp(name, "service") == 0 ||
		    strcmp(name, "defaults") == 0) {
			ck_assert(repeats);
			continue;
		}
		st = sample(name, scope & (CONF_GLOBAL | CONF_SERVICE));
		ck_assert_msg(st != NULL, "no sample statement of '%s' for "
		    "this test", name);
		if (scope & CONF_GLOBAL) {
			snprintf(text, sizeof text, "%s\n%s\n", st, st);
			snprintf(want, sizeof want, "t.conf:2:1: '%s' given "
			    "again (first at t.conf:1:1)", name);
			ck_assert_msg(says(text, want) == !repeats, "global "
			    "'%s' twice: '%s' %s", name, want, repeats ?
			    "said, yet it may repeat" : "not said");
			continue;
		}
		snprintf(text, sizeof text, "service s {\n%s\n%s\n}\n", st, st);
		snprintf(want, sizeof want, "t.conf:3:1: '%s' given again "
		    "(first at t.conf:2:1)", name);
		ck_assert_msg(says(text, want) == !repeats, "'%s' twice in a "
		    "service: '%s' %s", name, want, repeats ?
		    "said, yet it may repeat" : "not said");
		if (scope & CONF_NOT_DEFAULTS)
			continue;
		snprintf(text, sizeof text, "defaults {\n%s\n%s\n}\n", st, st);
		ck_assert_msg(says(text, want) == !repeats, "'%s' twice in "
		    "defaults: '%s' %s", name, want, repeats ?
		    "said, yet it may repeat" : "not said");
		snprintf(text, sizeof text, "defaults {\n%s\n}\ndefaults {\n"
		    "%s\n}\n", st, st);
		ck_assert_msg(!says(text, "given again"), "'%s' in two "
		    "defaults blocks is said to be given again", name);
	}
}
END_TEST

/* --- what a reload cannot apply ------------------------------------------------ */

/* Two statements of a global keyword, each with a value of its own: the
 * sample, and the sample with "2" after its value ("io-threads 12",
 * "user root2", "chroot /var/empty2"), or, for a keyword of named
 * choices, another choice. */
static void
two_values(const char *name, char *a, char *b, size_t size)
{
	static const struct {
		const char	*name, *other;
	} choices[] = {
		{ "log-level", "log-level debug" },
	};
	const char	*st = sample(name, CONF_GLOBAL);
	size_t		 i;

	ck_assert_msg(st != NULL, "no sample statement of '%s'", name);
	snprintf(a, size, "%s\n", st);
	snprintf(b, size, "%s2\n", st);
	for (i = 0; i < sizeof choices / sizeof choices[0]; i++)
		if (strcmp(name, choices[i].name) == 0)
			snprintf(b, size, "%s\n", choices[i].other);
}

static struct config *
load(const char *text)
{
	struct conf_errors	 errs = { .n = 0 };
	struct config		*conf = config_load_string("t.conf", text,
				    &errs);

	ck_assert_msg(conf != NULL, "%s: %s", text, errs.n > 0 ? errs.msg[0] :
	    "(no message)");
	return conf;
}

/* Each global keyword changed on its own: said by
 * config_restart_changes() if the table says it needs a restart, and
 * only then. */
START_TEST(test_restart_changes)
{
	struct conf_restart	 out[CONF_KEYWORDS_MAX];
	struct config		*before, *after;
	char			 a[256], b[256], what[128];
	size_t			 i, n, k = conf_keyword_count(), said = 0;

	for (i = 0; i < k; i++) {
		const char	*name = conf_keyword_name(i);

		/* log has words of its own; it is below. */
		if (!(conf_keyword_scope(i) & CONF_GLOBAL) ||
		    conf_keyword_repeats(i) || strcmp(name, "log") == 0)
			continue;
#ifdef _WIN32
		if (conf_keyword_posix_only(i))
			continue;	/* an error there */
#endif
		two_values(name, a, b, sizeof a);
		before = load(a);
		after = load(b);
		ck_assert_uint_eq(config_restart_changes(before, before, out,
		    CONF_KEYWORDS_MAX), 0);
		n = config_restart_changes(before, after, out,
		    CONF_KEYWORDS_MAX);
		if (!conf_keyword_needs_restart(i))
			ck_assert_msg(n == 0, "'%s' changed: a restart is "
			    "said to be needed", name);
		else {
			snprintf(what, sizeof what, "%s%s",
			    conf_keyword_find(name, CONF_SERVICE) != -1 ?
			    "the global " : "", name);
			ck_assert_msg(n == 1, "'%s' changed: %zu changes "
			    "said", name, n);
			ck_assert_str_eq(out[0].what, what);
			said++;
		}
		/* From the default to a value is a change too. */
		config_free(after);
		after = load("");
		n = config_restart_changes(after, before, out,
		    CONF_KEYWORDS_MAX);
		ck_assert_msg(n == (size_t)conf_keyword_needs_restart(i),
		    "'%s' set: %zu changes said", name, n);
		config_free(after);
		config_free(before);
	}
	ck_assert_uint_gt(said, 0);

	/* Several at once, in the table's order; no more than asked. */
	before = load("workers 2\nuser a\nlog stderr\n");
	after = load("workers 3\nuser b\ngroup c\nshutdown-timeout 2s\n"
	    "log file /var/log/h.log\n");
	ck_assert_uint_eq(config_restart_changes(before, after, out,
	    CONF_KEYWORDS_MAX), 3);
	ck_assert_str_eq(out[0].what, "workers");
	/* Not a program's user and group, which a reload applies. */
	ck_assert_str_eq(out[1].what, "the global user");
	ck_assert_str_eq(out[2].what, "the global group");
	ck_assert_uint_eq(config_restart_changes(before, after, out, 1), 1);
	config_free(before);
	config_free(after);
}
END_TEST

/* A service's reuse-port, changed for a service that stays (in its block
 * or through the defaults): said, with the service's name; set to what it
 * was, or for a service that is new, not. */
START_TEST(test_service_restart_changes)
{
	struct conf_restart	 out[CONF_KEYWORDS_MAX];
	struct config		*before, *after;

	before = load("service a { listen 127.0.0.1:0; handler echo }\n"
	    "service b { listen 127.0.0.1:0; handler echo; reuse-port yes }\n");
	after = load("service a { listen 127.0.0.1:0; handler echo; "
	    "reuse-port yes }\n"
	    "service b { listen 127.0.0.1:0; handler echo; reuse-port yes }\n");
	ck_assert_uint_eq(config_restart_changes(before, after, out,
	    CONF_KEYWORDS_MAX), 1);
	ck_assert_str_eq(out[0].what, "service a's reuse-port");
	ck_assert_uint_eq(config_restart_changes(after, before, out,
	    CONF_KEYWORDS_MAX), 1);
	config_free(after);

	after = load("defaults { reuse-port yes }\n"
	    "service a { listen 127.0.0.1:0; handler echo }\n"
	    "service b { listen 127.0.0.1:0; handler echo; reuse-port no }\n"
	    "service c { listen 127.0.0.1:0; handler echo }\n");
	ck_assert_uint_eq(config_restart_changes(before, after, out,
	    CONF_KEYWORDS_MAX), 2);
	ck_assert_str_eq(out[0].what, "service a's reuse-port");
	ck_assert_str_eq(out[1].what, "service b's reuse-port");
	ck_assert_uint_eq(config_restart_changes(before, after, out, 1), 1);
	config_free(after);

	/* "no" is what a service has unless set. */
	after = load("defaults { reuse-port no }\n"
	    "service a { listen 127.0.0.1:0; handler echo; reuse-port no }\n"
	    "service b { listen 127.0.0.1:0; handler echo; reuse-port yes }\n");
	ck_assert_uint_eq(config_restart_changes(before, after, out,
	    CONF_KEYWORDS_MAX), 0);
	config_free(after);
	config_free(before);
}
END_TEST

/* --- out of memory ------------------------------------------------------------ */

/* Statements of every kind the parser stores: words, lists, paths,
 * numbers, rules, options, blocks. */
static const char oom_text[] =
	"io-threads 2\n"
	"log file /var/log/h.log\n"
	"pidfile /run/h.pid\n"
	"module /usr/lib/harbord/x.so\n"
	"defaults { idle-timeout 1m; allow 10.0.0.0/8; rate 5 10 }\n"
	"service a {\n"
	"    listen 127.0.0.1:7 [::1]:7\n"
	"    handler x\n"
	"    allow 192.168.0.0/16 ::1\n"
	"    deny 192.168.1.0/24\n"
	"    trusted-proxies 127.0.0.1\n"
	"    proxy-protocol v1\n"
	"    option greeting \"hello there\"\n"
	"    option delay-ms 5\n"
	"}\n"
	"service b { listen 127.0.0.1:8; exec /bin/cat -u; env A=1 B=2 }\n"
	"service c { listen 127.0.0.1:9; forward 127.0.0.1:80 }\n";

/* Whether conf holds everything oom_text says. */
static int
complete(const struct config *conf)
{
	const struct conf_service	*a = conf->services, *b, *c;

	if (conf->nservices != 3 || conf->nmodules != 1 ||
	    conf->io_threads != 2 || conf->log_file == NULL ||
	    conf->pidfile == NULL || conf->defaults.rules.n != 1 ||
	    conf->defaults.rate.milli != 5000)
		return 0;
	b = a->next;
	c = b->next;
	return a->listen.n == 2 && strcmp(a->handler, "x") == 0 &&
	    a->rules.n == 3 && a->trusted.n == 1 && a->nopts == 2 &&
	    strcmp(a->opts[0].value, "hello there") == 0 &&
	    b->exec_argv.n == 2 && b->env.n == 2 &&
	    strcmp(c->forward_to, "127.0.0.1:80") == 0;
}

START_TEST(test_out_of_memory_is_an_error)
{
	struct conf_errors	 errs = { .n = 0 };
	struct config		*conf;
	unsigned long		 at;
	size_t			 i;
	int			 said, failed = 0;

	/* Each allocation in turn fails: the load either says "out of
	 * memory" (or counts an error it had no memory to say) and gives
	 * nothing, or it did not need that allocation and gives all. */
	for (at = 1; at < 400; at++) {
		conf_alloc_fail_at = at;
		conf = config_load_string("t.conf", oom_text, &errs);
		conf_alloc_fail_at = 0;
		if (conf != NULL) {
			ck_assert_msg(complete(conf), "allocation %lu failed "
			    "and the configuration lost a statement", at);
			ck_assert_uint_eq(errs.n, 0);
			config_free(conf);
			break;		/* past the last allocation */
		}
		for (said = 0, i = 0; i < errs.n; i++)
			if (strstr(errs.msg[i], "out of memory") != NULL)
				said = 1;
		ck_assert_msg(said || errs.dropped > 0, "allocation %lu failed "
		    "without a word: %s", at, errs.n > 0 ? errs.msg[0] : "");
		failed++;
		conf_errors_clear(&errs);
	}
	ck_assert_int_gt(failed, 20);
	ck_assert_uint_lt(at, 400);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("conftable");
	TCase	*tc = tcase_create("table");

	tcase_add_test(tc, test_table_and_manual_agree);
	tcase_add_test(tc, test_repeats_documented);
	tcase_add_test(tc, test_restarts_documented);
	tcase_add_test(tc, test_escapes_documented);
	tcase_add_test(tc, test_max_input);
	tcase_add_test(tc, test_handler_keywords_are_checked);
	tcase_add_test(tc, test_unknown_options);
	tcase_add_test(tc, test_keywords_given_twice);
	tcase_add_test(tc, test_restart_changes);
	if (compat_reuseport_name() != NULL)
		tcase_add_test(tc, test_service_restart_changes);
	else
		check_skip("test_service_restart_changes", "no SO_REUSEPORT "
		    "here: reuse-port yes is an error");
	tcase_add_test(tc, test_out_of_memory_is_an_error);
	suite_add_tcase(s, tc);
	return check_run(s);
}
