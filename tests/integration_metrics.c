/*
 * integration_metrics.c -- the metrics handler as Prometheus scrapes it:
 * the exposition checked line by line against the text format 0.0.4 (no
 * promtool here: the parser below is strict), its numbers against what the
 * test did (connections, bytes, refusals, durations, reloads), and HTTP:
 * 404 for another path, 400 and a close for garbage, 405 for POST, HEAD,
 * and the service's allow/deny.
 */
#include "harness.h"	/* first: feature macros */

#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check-run.h"

/* --- the exposition format, strictly ----------------------------------------- */

#define FAMILIES_MAX	64
#define SAMPLES_MAX	2048

struct sample {
	char	name[128];
	char	labels[512];	/* as written, between the braces */
	double	value;
};

struct exposition {
	char		families[FAMILIES_MAX][128];
	char		types[FAMILIES_MAX][16];
	int		nfamilies;
	struct sample	samples[SAMPLES_MAX];
	int		nsamples;
};

static int
name_char(int c, int first, int colon)
{
	return isalpha(c) || c == '_' || (colon && c == ':') ||
	    (!first && isdigit(c));
}

/* The family a sample's name belongs to: a histogram's _bucket, _sum and
 * _count are its own. */
static int
family_of(const struct exposition *e, const char *name)
{
	char	base[128];
	size_t	n = strlen(name);
	int	i;

	for (i = e->nfamilies - 1; i >= 0; i--)
		if (strcmp(e->families[i], name) == 0)
			return i;
	for (i = e->nfamilies - 1; i >= 0; i--) {
		if (strcmp(e->types[i], "histogram") != 0)
			continue;
		snprintf(base, sizeof base, "%s", e->families[i]);
		if ((n == strlen(base) + 7 && strncmp(name, base, strlen(base)) ==
		    0 && strcmp(name + strlen(base), "_bucket") == 0) ||
		    (n == strlen(base) + 4 && strncmp(name, base, strlen(base)) ==
		    0 && strcmp(name + strlen(base), "_sum") == 0) ||
		    (n == strlen(base) + 6 && strncmp(name, base, strlen(base)) ==
		    0 && strcmp(name + strlen(base), "_count") == 0))
			return i;
	}
	return -1;
}

/* Parses the whole text, failing the test at the first line that breaks
 * the format. */
static void
parse_exposition(const char *text, struct exposition *e)
{
	const char	*p = text, *eol, *q;
	char		 line[2048], *end;
	int		 lineno = 0, current = -1, f, i;
	size_t		 n;

	memset(e, 0, sizeof *e);
	ck_assert_msg(*text != '\0', "empty exposition");
	for (; *p != '\0'; p = eol + 1) {
		lineno++;
		eol = strchr(p, '\n');
		ck_assert_msg(eol != NULL, "line %d has no newline", lineno);
		n = (size_t)(eol - p);
		ck_assert_msg(n > 0 && n < sizeof line, "line %d: empty or too "
		    "long", lineno);
		memcpy(line, p, n);
		line[n] = '\0';
		if (strncmp(line, "# HELP ", 7) == 0 ||
		    strncmp(line, "# TYPE ", 7) == 0) {
			char	name[128], rest[1024];

			ck_assert_msg(sscanf(line + 7, "%127s %1023[^\n]", name,
			    rest) == 2, "line %d: %s", lineno, line);
			for (q = name; *q; q++)
				ck_assert_msg(name_char(*q, q == name, 1),
				    "line %d: bad name %s", lineno, name);
			if (line[2] == 'T') {
				ck_assert_msg(strcmp(rest, "counter") == 0 ||
				    strcmp(rest, "gauge") == 0 ||
				    strcmp(rest, "histogram") == 0 ||
				    strcmp(rest, "summary") == 0 ||
				    strcmp(rest, "untyped") == 0,
				    "line %d: type %s", lineno, rest);
				for (i = 0; i < e->nfamilies; i++)
					ck_assert_msg(strcmp(e->families[i],
					    name) != 0, "line %d: family %s "
					    "again", lineno, name);
				ck_assert_int_lt(e->nfamilies, FAMILIES_MAX);
				snprintf(e->families[e->nfamilies],
				    sizeof e->families[0], "%s", name);
				snprintf(e->types[e->nfamilies],
				    sizeof e->types[0], "%.15s", rest);
				current = e->nfamilies++;
				if (strcmp(rest, "counter") == 0)
					ck_assert_msg(strlen(name) > 6 &&
					    strcmp(name + strlen(name) - 6,
					    "_total") == 0, "line %d: counter "
					    "%s without _total", lineno, name);
			}
			continue;
		}
		ck_assert_msg(line[0] != '#', "line %d: a comment of no known "
		    "kind: %s", lineno, line);
		/* A sample: name{labels} value */
		ck_assert_int_lt(e->nsamples, SAMPLES_MAX);
		{
			struct sample	*s = &e->samples[e->nsamples];
			size_t		 k = 0;

			for (q = line; name_char(*q, q == line, 1); q++)
				s->name[k++] = *q;
			s->name[k] = '\0';
			ck_assert_msg(k > 0, "line %d: no name", lineno);
			if (*q == '{') {
				const char *lstart = ++q;

				while (*q != '}') {
					ck_assert_msg(name_char(*q, 1, 0),
					    "line %d: label name", lineno);
					while (name_char(*q, 0, 0))
						q++;
					ck_assert_msg(q[0] == '=' && q[1] == '"',
					    "line %d: label = \"", lineno);
					for (q += 2; *q != '"'; q++) {
						ck_assert_msg(*q != '\0',
						    "line %d: open label", lineno);
						if (*q == '\\') {
							q++;
							ck_assert_msg(*q == '\\' ||
							    *q == '"' || *q == 'n',
							    "line %d: escape \\%c",
							    lineno, *q);
						}
					}
					q++;
					if (*q == ',')
						q++;
					else
						ck_assert_msg(*q == '}', "line %d: "
						    "after a label: %c", lineno, *q);
				}
				snprintf(s->labels, sizeof s->labels, "%.*s",
				    (int)(q - lstart), lstart);
				q++;
			}
			ck_assert_msg(*q == ' ', "line %d: no space before the "
			    "value", lineno);
			q++;
			if (strcmp(q, "+Inf") == 0)
				s->value = INFINITY;
			else if (strcmp(q, "-Inf") == 0)
				s->value = -INFINITY;
			else if (strcmp(q, "NaN") == 0)
				s->value = NAN;
			else {
				s->value = strtod(q, &end);
				ck_assert_msg(end != q && *end == '\0',
				    "line %d: value '%s'", lineno, q);
			}
			f = family_of(e, s->name);
			ck_assert_msg(f != -1, "line %d: %s has no TYPE before "
			    "it", lineno, s->name);
			ck_assert_msg(f == current, "line %d: %s outside its "
			    "family's lines", lineno, s->name);
			for (i = 0; i < e->nsamples; i++)
				ck_assert_msg(strcmp(e->samples[i].name,
				    s->name) != 0 || strcmp(e->samples[i].labels,
				    s->labels) != 0, "line %d: %s{%s} twice",
				    lineno, s->name, s->labels);
			e->nsamples++;
		}
	}
}

/* The value of name{labels}; the test fails if there is none. */
static double
value_of(const struct exposition *e, const char *name, const char *labels)
{
	int	i;

	for (i = 0; i < e->nsamples; i++)
		if (strcmp(e->samples[i].name, name) == 0 &&
		    strcmp(e->samples[i].labels, labels) == 0)
			return e->samples[i].value;
	ck_abort_msg("no sample %s{%s}", name, labels);
	return 0;
}

/* Each service's histogram: buckets in order of le, counts that never
 * fall, +Inf equal to _count. */
static void
check_histogram(const struct exposition *e, const char *fam,
    const char *service)
{
	char	want[160], bucket[160], lab[256];
	double	last_le = -1, last = 0, le;
	int	i, n = 0;

	snprintf(want, sizeof want, "service=\"%s\",le=\"", service);
	snprintf(bucket, sizeof bucket, "%s_bucket", fam);
	for (i = 0; i < e->nsamples; i++) {
		if (strcmp(e->samples[i].name, bucket) != 0 ||
		    strncmp(e->samples[i].labels, want, strlen(want)) != 0)
			continue;
		le = strncmp(e->samples[i].labels + strlen(want), "+Inf", 4) ==
		    0 ? INFINITY : strtod(e->samples[i].labels + strlen(want),
		    NULL);
		ck_assert_msg(le > last_le, "%s buckets out of order", service);
		ck_assert_msg(e->samples[i].value >= last, "%s bucket counts "
		    "fall", service);
		last_le = le;
		last = e->samples[i].value;
		n++;
	}
	ck_assert_msg(n > 1 && isinf(last_le), "%s: no +Inf bucket", service);
	snprintf(lab, sizeof lab, "service=\"%s\"", service);
	snprintf(bucket, sizeof bucket, "%s_count", fam);
	ck_assert(value_of(e, bucket, lab) == last);
	snprintf(bucket, sizeof bucket, "%s_sum", fam);
	ck_assert(value_of(e, bucket, lab) >= 0);
}

/* --- HTTP ---------------------------------------------------------------------- */

/* What the service answers to request (it closes after). */
static char *
http(int port, const char *request)
{
	char	*buf = malloc(1 << 20);
	size_t	 n;
	bool	 eof;
	int	 fd = hc_connect(port);

	ck_assert_ptr_nonnull(buf);
	ck_assert(hc_send_str(fd, request));
	n = hc_read_eof(fd, buf, (1 << 20) - 1, 10000, &eof);
	ck_assert_msg(eof, "the metrics service did not close");
	buf[n] = '\0';
	hc_close(fd);
	return buf;
}

static const char *
body_of(const char *answer)
{
	const char	*b = strstr(answer, "\r\n\r\n");

	ck_assert_ptr_nonnull(b);
	return b + 4;
}

static const char conf[] =
    "service echo {\n"
    "    listen 127.0.0.1:0\n"
    "    handler echo\n"
    "}\n"
    "service shut {\n"
    "    listen 127.0.0.1:0\n"
    "    handler echo\n"
    "    allow 10.0.0.0/8\n"
    "    deny all\n"
    "}\n"
    "service metrics {\n"
    "    listen 127.0.0.1:0\n"
    "    handler metrics\n"
    "}\n";

START_TEST(test_scrape)
{
	struct hdaemon		*d = hd_start(conf, NULL);
	static struct exposition e;
	char			*a;
	int			 fd, i, port = hd_port(d, "metrics");

	for (i = 0; i < 4; i++) {
		fd = hc_connect(hd_port(d, "echo"));
		ck_assert(hc_echo_ok(fd, "0123456789\n"));	/* 11 bytes */
		hc_close(fd);
	}
	fd = hc_connect(hd_port(d, "shut"));
	ck_assert(hc_wait_eof(fd, 5000, NULL));
	hc_close(fd);
	ck_assert(hd_wait_count(d, "service echo: closed", 4, 5000));
	ck_assert(hd_wait_log(d, "service shut: refused", 5000));

	a = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_msg(strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", a);
	ck_assert_msg(strstr(a, "\r\nContent-Type: text/plain; version=0.0.4")
	    != NULL, "%s", a);
	{
		char	 *cl = strstr(a, "Content-Length: ");

		ck_assert_ptr_nonnull(cl);
		ck_assert_uint_eq(strtoul(cl + 16, NULL, 10),
		    strlen(body_of(a)));
	}
	parse_exposition(body_of(a), &e);
	ck_assert(value_of(&e, "harbord_connections_accepted_total",
	    "service=\"echo\"") == 4);
	ck_assert(value_of(&e, "harbord_bytes_received_total",
	    "service=\"echo\"") == 44);
	ck_assert(value_of(&e, "harbord_bytes_sent_total",
	    "service=\"echo\"") == 44);
	ck_assert(value_of(&e, "harbord_connections_open",
	    "service=\"echo\"") == 0);
	ck_assert(value_of(&e, "harbord_connections_open",
	    "service=\"metrics\"") == 1);	/* this scrape */
	ck_assert(value_of(&e, "harbord_connections_refused_total",
	    "service=\"shut\",reason=\"acl\"") == 1);
	ck_assert(value_of(&e, "harbord_connections_refused_total",
	    "service=\"echo\",reason=\"acl\"") == 0);
	ck_assert(value_of(&e, "harbord_session_duration_seconds_count",
	    "service=\"echo\"") == 4);
	check_histogram(&e, "harbord_session_duration_seconds", "echo");
	check_histogram(&e, "harbord_session_duration_seconds", "metrics");
	ck_assert(value_of(&e, "harbord_build_info", "version=\"0.1.0\"") ==
	    1 || strstr(body_of(a), "harbord_build_info{version=") != NULL);
	ck_assert(value_of(&e, "harbord_exec_children", "service=\"echo\"")
	    == 0);
	ck_assert(value_of(&e, "harbord_pool_queue_length", "") >= 0);
	ck_assert(value_of(&e, "harbord_log_lines_dropped_total", "") == 0);
	ck_assert(value_of(&e, "harbord_reloads_total", "result=\"ok\"") == 0);
	free(a);

	/* A reload that works, one that fails: counted by result. */
	hd_rewrite_config(d, conf);
	ck_assert_int_eq(hd_reload(d), 0);
	ck_assert(hd_wait_log(d, "configuration reloaded", 5000));
	hd_rewrite_config(d, "service broken {\n");
	ck_assert_int_eq(hd_reload(d), 0);
	ck_assert(hd_wait_log(d, "reload failed", 5000));
	/* The serving process hears how the reload ended just after. */
	harness_sleep_ms(300);
	port = hd_port(d, "metrics");
	a = http(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	ck_assert_msg(strncmp(a, "HTTP/1.0 200 OK\r\n", 17) == 0, "%s", a);
	parse_exposition(body_of(a), &e);
	ck_assert(value_of(&e, "harbord_reloads_total", "result=\"ok\"") == 1);
	ck_assert(value_of(&e, "harbord_reloads_total",
	    "result=\"failed\"") == 1);
	/* Counted on from where they were. */
	ck_assert(value_of(&e, "harbord_connections_accepted_total",
	    "service=\"echo\"") == 4);
	free(a);
	hd_finish(d);
}
END_TEST

START_TEST(test_http)
{
	struct hdaemon	*d = hd_start(conf, NULL);
	int		 port = hd_port(d, "metrics"), fd;
	char		*a, junk[9000];
	bool		 eof;

	a = http(port, "GET / HTTP/1.1\r\n\r\n");
	ck_assert_msg(strncmp(a, "HTTP/1.1 404 ", 13) == 0, "%s", a);
	free(a);
	a = http(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	ck_assert_msg(strncmp(a, "HTTP/1.1 405 ", 13) == 0, "%s", a);
	free(a);
	a = http(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
	ck_assert_msg(strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", a);
	ck_assert_str_eq(body_of(a), "");
	free(a);
	/* Garbage: a 400 as soon as its first line is in, and the end. */
	a = http(port, "\x16\x03\x01 hello\n");
	ck_assert_msg(strncmp(a, "HTTP/1.0 400 ", 13) == 0, "%s", a);
	free(a);
	a = http(port, "GET /metrics HTTP/2.0\r\n\r\n");
	ck_assert_msg(strncmp(a, "HTTP/1.0 400 ", 13) == 0, "%s", a);
	free(a);
	/* A line that never ends is cut at 8 KiB, not kept. */
	memset(junk, 'a', sizeof junk);
	fd = hc_connect(port);
	ck_assert(hc_send_all(fd, junk, sizeof junk, 5000));
	{
		char	buf[512];
		size_t	n = hc_read_eof(fd, buf, sizeof buf - 1, 10000, &eof);

		buf[n] = '\0';
		ck_assert_msg(eof && strncmp(buf, "HTTP/1.0 400 ", 13) == 0,
		    "%s", buf);
	}
	hc_close(fd);
	hd_finish(d);

	/* Its allow/deny are the service's, as anyone's. */
	d = hd_start("service metrics {\n    listen 127.0.0.1:0\n"
	    "    handler metrics\n    deny all\n}\n", NULL);
	fd = hc_connect(hd_port(d, "metrics"));
	(void)hc_send_str(fd, "GET /metrics HTTP/1.0\r\n\r\n");
	{
		char	buf[64];

		ck_assert_uint_eq(hc_read_eof(fd, buf, sizeof buf, 5000, &eof),
		    0);
		ck_assert(eof);
	}
	hc_close(fd);
	ck_assert(hd_wait_log(d, "service metrics: refused", 5000));
	hd_finish(d);
}
END_TEST

/* Many clients open: the gauge counts them, and a scrape is one pass
 * over the services, not the connections. */
START_TEST(test_many_open)
{
	struct hd_opts		 o = { .nofile = 4096 };
	char			*many = harness_fmt("defaults {\n"
				    "    max-connections 2000\n"
				    "    max-per-source 2000\n}\n%s", conf);
	struct hdaemon		*d = hd_start(many, &o);
	static struct exposition e;
	static int		 fds[1000];
	char			*a;
	int			 i, n = 1000;

	for (i = 0; i < n; i++) {
		fds[i] = hc_connect(hd_port(d, "echo"));
		ck_assert_int_ge(fds[i], 0);
	}
	ck_assert(hd_wait_count(d, "service echo: accepted", n, 20000));
	a = http(hd_port(d, "metrics"), "GET /metrics HTTP/1.1\r\n\r\n");
	parse_exposition(body_of(a), &e);
	ck_assert(value_of(&e, "harbord_connections_open",
	    "service=\"echo\"") == n);
	free(a);
	for (i = 0; i < n; i++)
		hc_close(fds[i]);
	hd_finish(d);
	free(many);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	harness_init();
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_scrape);
	tcase_add_test(tc, test_http);
	tcase_add_test(tc, test_many_open);
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
