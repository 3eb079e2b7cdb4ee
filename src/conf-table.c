/*
 * The configuration's keywords, one table: where each may stand, what it
 * takes (a type and its bounds), where its value lands, the one handler
 * it is for if any, the value a global one has unless set, and how a
 * service's reaches the library.  The parser reads statements with it,
 * suggests from it, checks handlers against it, and the services are made
 * from it (conf-services.c); tests check it against harbord.conf(5).
 *
 * The library's defaults are its own (harbor_service_set_*(3)): a service
 * keyword not set is not applied.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "conf-table.h"

#define MAX_THREADS		1024
#define MAX_CONNECTIONS		10000000
#define MAX_QUEUE		10000000
#define MAX_BACKLOG		1000000
#define MAX_LINE		(16 * 1024 * 1024)
#define MAX_INPUT		(64 * 1024 * 1024)
#define MAX_DURATION_MS		(30LL * 86400 * 1000)
#define MAX_RATE		1000000		/* a second */
#define DEFAULT_SHUTDOWN_MS	10000
#ifdef _WIN32
#define DEFAULT_LOG		CONF_LOG_STDERR	/* there is no syslog */
#else
#define DEFAULT_LOG		CONF_LOG_SYSLOG
#endif

#define G(field)	offsetof(struct config, field)
#define S(field)	offsetof(struct conf_service, field)
#define GLOBAL		CONF_GLOBAL
#define SERVICE		CONF_SERVICE
#define OWN		(CONF_SERVICE | CONF_NOT_DEFAULTS)
#define DEFAULTED	(CONF_GLOBAL | CONF_DEFAULTED)
#define REPEATS		CONF_REPEATS
#define RESTART		CONF_RESTART

static const struct conf_choice dispatch_choices[] = {
	{ "inline", HARBOR_DISPATCH_INLINE }, { "pool", HARBOR_DISPATCH_POOL },
	{ NULL, 0 }
};
static const struct conf_choice framing_choices[] = {
	{ "raw", HARBOR_FRAMING_RAW }, { "line", HARBOR_FRAMING_LINE },
	{ NULL, 0 }
};
static const struct conf_choice proxy_choices[] = {
	{ "v1", HARBOR_PROXY_V1 }, { "v2", HARBOR_PROXY_V2 },
	{ "any", HARBOR_PROXY_V1 | HARBOR_PROXY_V2 }, { NULL, 0 }
};
static const struct conf_choice level_choices[] = {
	{ "err", HARBOR_LOG_ERR }, { "warning", HARBOR_LOG_WARNING },
	{ "notice", HARBOR_LOG_NOTICE }, { "info", HARBOR_LOG_INFO },
	{ "debug", HARBOR_LOG_DEBUG }, { NULL, 0 }
};
static const struct conf_choice yes_no_choices[] = {
	{ "yes", 1 }, { "no", 0 }, { NULL, 0 }
};
static const struct conf_choice send_proxy_choices[] = {
	{ "v1", HARBOR_PROXY_V1 }, { "v2", HARBOR_PROXY_V2 }, { NULL, 0 }
};

/* In the order of harbord.conf(5).  A keyword applied with another (deny
 * with allow, the PROXY settings with proxy-protocol, passenv with env,
 * group with user, stderr-line-max with stderr-rate) has no apply of its
 * own.  A keyword stands once in its block unless it REPEATS (its values
 * add up); a global the running server was made with, which a reload
 * cannot change, needs a RESTART, as does reuse-port, which the sockets
 * a reload keeps were bound with. */
const struct conf_keyword conf_keywords[] = {
	/* global */
	{ "io-threads", DEFAULTED | RESTART, CONF_NUMBER, 0, MAX_THREADS, .dflt = -1,
	    .offset = G(io_threads) },
	{ "workers", DEFAULTED | RESTART, CONF_NUMBER, 1, MAX_THREADS, .dflt = -1,
	    .offset = G(workers) },
	{ "queue-size", DEFAULTED | RESTART, CONF_NUMBER, 1, MAX_QUEUE, .dflt = 0,
	    .offset = G(queue_size) },
	{ "max-connections", DEFAULTED | RESTART, CONF_NUMBER, 0,
	    MAX_CONNECTIONS, .dflt = 0, .offset = G(max_connections) },
	{ "log", DEFAULTED, CONF_SPECIAL, .dflt = DEFAULT_LOG, .offset = G(log),
	    .parse = conf_parse_log },
	{ "log-level", DEFAULTED, CONF_CHOICE, .choices = level_choices,
	    .dflt = HARBOR_LOG_INFO, .offset = G(log_level) },
	{ "pidfile", GLOBAL | RESTART, CONF_PATH, .offset = G(pidfile) },
	{ "user", GLOBAL | RESTART, CONF_WORD, .offset = G(user) },
	{ "group", GLOBAL | RESTART, CONF_WORD, .offset = G(group) },
	{ "chroot", GLOBAL | RESTART | CONF_ABSOLUTE, CONF_PATH,
	    .offset = G(chroot_dir) },
	{ "shutdown-timeout", DEFAULTED, CONF_DURATION, 0, MAX_DURATION_MS,
	    .dflt = DEFAULT_SHUTDOWN_MS, .offset = G(shutdown_ms) },
	{ "control-socket", GLOBAL | RESTART, CONF_SPECIAL,
	    .offset = G(control_socket), .parse = conf_parse_control_socket },
	{ "control-group", GLOBAL | RESTART | CONF_POSIX, CONF_WORD,
	    .offset = G(control_group) },
	/* the blocks, read by conf-parse.c */
	{ "defaults", GLOBAL | REPEATS, CONF_SPECIAL, .parse = NULL },
	{ "service", GLOBAL | REPEATS, CONF_SPECIAL, .parse = NULL },
	{ "include", GLOBAL | REPEATS, CONF_SPECIAL,
	    .parse = conf_parse_include },
	{ "module", GLOBAL | REPEATS, CONF_SPECIAL,
	    .parse = conf_parse_module },

	/* service: addresses and handler */
	{ "listen", OWN | REPEATS, CONF_SPECIAL, .offset = S(listen),
	    .parse = conf_parse_listen },
	{ "backlog", SERVICE, CONF_NUMBER, 1, MAX_BACKLOG, .offset = S(backlog),
	    .apply = conf_apply_number, .setter = SET_UINT_CHECKED,
	    .set.uint_checked = harbor_service_set_backlog },
	{ "reuse-port", SERVICE | RESTART, CONF_CHOICE,
	    .choices = yes_no_choices, .offset = S(reuse_port), .dflt = 0,
	    .apply = conf_apply_reuse_port },
	{ "handler", SERVICE, CONF_SPECIAL, .offset = S(handler),
	    .parse = conf_parse_handler },
	{ "exec", OWN, CONF_SPECIAL, .offset = S(exec_argv),
	    .parse = conf_parse_exec },
	{ "forward", OWN, CONF_SPECIAL, .offset = S(forward_to),
	    .parse = conf_parse_forward },
	/* exec */
	{ "env", SERVICE | REPEATS | CONF_MERGED | CONF_APPLY_ALWAYS,
	    CONF_SPECIAL, .offset = S(env), .handler = "exec",
	    .parse = conf_parse_env, .apply = conf_apply_exec_env },
	{ "passenv", SERVICE | REPEATS | CONF_MERGED, CONF_SPECIAL,
	    .offset = S(passenv), .handler = "exec",
	    .parse = conf_parse_passenv },
	{ "max-children", SERVICE, CONF_NUMBER, 0, MAX_CONNECTIONS,
	    .offset = S(max_children), .handler = "exec",
	    .apply = conf_apply_number, .setter = SET_UINT,
	    .set.uint_fn = harbor_service_set_max_children },
	{ "stderr-rate", SERVICE | CONF_APPLY_ALWAYS, CONF_SIZE, 0,
	    HARBOR_STDERR_RATE_MAX, .offset = S(stderr_rate),
	    .handler = "exec", .apply = conf_apply_stderr },
	{ "stderr-line-max", SERVICE, CONF_SIZE, 16, 1024,
	    .offset = S(stderr_line_max), .handler = "exec" },
	{ "user", SERVICE | CONF_POSIX | CONF_APPLY_ALWAYS, CONF_WORD,
	    .offset = S(user), .handler = "exec",
	    .apply = conf_apply_credentials },
	{ "group", SERVICE | CONF_POSIX, CONF_WORD, .offset = S(group),
	    .handler = "exec" },
	/* forward */
	{ "connect-timeout", SERVICE, CONF_DURATION, 1, MAX_DURATION_MS,
	    .offset = S(connect_timeout_ms), .handler = "forward",
	    .apply = conf_apply_number, .setter = SET_UINT_CHECKED,
	    .set.uint_checked = harbor_service_set_connect_timeout },
	{ "send-proxy", SERVICE, CONF_CHOICE, .choices = send_proxy_choices,
	    .offset = S(send_proxy), .handler = "forward",
	    .apply = conf_apply_send_proxy },
	/* the handler's input and output */
	{ "dispatch", SERVICE, CONF_CHOICE, .choices = dispatch_choices,
	    .offset = S(dispatch), .apply = conf_apply_dispatch },
	{ "framing", SERVICE, CONF_CHOICE, .choices = framing_choices,
	    .offset = S(framing), .apply = conf_apply_framing },
	{ "max-line", SERVICE, CONF_SIZE, 1, MAX_LINE, .offset = S(max_line),
	    .apply = conf_apply_number, .setter = SET_SIZE_CHECKED,
	    .set.size_checked = harbor_service_set_max_line },
	{ "max-input", SERVICE, CONF_SIZE, 1, MAX_INPUT, .offset = S(max_input),
	    .apply = conf_apply_number, .setter = SET_SIZE_CHECKED,
	    .set.size_checked = harbor_service_set_max_input },
	{ "option", OWN | REPEATS, CONF_SPECIAL, .offset = S(opts),
	    .parse = conf_parse_option },
	{ "quote-file", SERVICE, CONF_PATH, .offset = S(quote_file),
	    .handler = "qotd", .apply = conf_apply_quote_file },
	/* who may connect */
	{ "allow", SERVICE | REPEATS, CONF_NETWORKS, .offset = S(rules),
	    .apply = conf_apply_rules },
	{ "deny", SERVICE | REPEATS | CONF_DENY, CONF_NETWORKS,
	    .offset = S(rules) },
	{ "proxy-protocol", SERVICE | CONF_APPLY_ALWAYS, CONF_CHOICE,
	    .choices = proxy_choices, .offset = S(proxy_versions),
	    .apply = conf_apply_proxy },
	{ "trusted-proxies", SERVICE | REPEATS, CONF_NETWORKS,
	    .offset = S(trusted) },
	{ "proxy-header-timeout", SERVICE, CONF_DURATION, 1, MAX_DURATION_MS,
	    .offset = S(proxy_timeout_ms) },
	/* limits */
	{ "max-connections", SERVICE, CONF_NUMBER, 0, MAX_CONNECTIONS,
	    .offset = S(max_connections), .apply = conf_apply_number,
	    .setter = SET_UINT,
	    .set.uint_fn = harbor_service_set_max_connections },
	{ "max-per-source", SERVICE, CONF_NUMBER, 0, MAX_CONNECTIONS,
	    .offset = S(max_per_source), .apply = conf_apply_number,
	    .setter = SET_UINT, .set.uint_fn = harbor_service_set_max_per_source },
	{ "ipv6-source-prefix", SERVICE, CONF_NUMBER, 0, 128,
	    .offset = S(source_prefix6), .apply = conf_apply_number,
	    .setter = SET_UINT_CHECKED,
	    .set.uint_checked = harbor_service_set_source_prefix6 },
	{ "rate", SERVICE, CONF_RATE, .unit = "connections", .offset = S(rate),
	    .apply = conf_apply_rate, .setter = SET_RATE,
	    .set.rate_fn = harbor_service_set_rate },
	{ "rate-per-source", SERVICE, CONF_RATE, .unit = "connections",
	    .offset = S(source_rate), .apply = conf_apply_rate,
	    .setter = SET_RATE, .set.rate_fn = harbor_service_set_rate_per_source },
	{ "log-level", SERVICE, CONF_CHOICE, .choices = level_choices,
	    .offset = S(log_level), .apply = conf_apply_log_level },
	{ "log-connections", SERVICE, CONF_CHOICE, .choices = yes_no_choices,
	    .offset = S(log_connections), .apply = conf_apply_log_connections },
	{ "log-rate", SERVICE | CONF_OFF, CONF_RATE, .unit = "lines",
	    .offset = S(log_rate), .apply = conf_apply_rate, .setter = SET_RATE,
	    .set.rate_fn = harbor_service_set_log_rate },
	{ "idle-timeout", SERVICE, CONF_DURATION, 0, MAX_DURATION_MS,
	    .offset = S(idle_timeout_ms), .apply = conf_apply_number,
	    .setter = SET_UINT, .set.uint_fn = harbor_service_set_idle_timeout },
	{ "session-timeout", SERVICE, CONF_DURATION, 0, MAX_DURATION_MS,
	    .offset = S(session_timeout_ms), .apply = conf_apply_number,
	    .setter = SET_UINT,
	    .set.uint_fn = harbor_service_set_session_timeout },
	{ .name = NULL }
};

static size_t
table_size(void)
{
	size_t	n = 0;

	while (conf_keywords[n].name != NULL)
		n++;
	return n;
}

size_t
conf_keyword_count(void)
{
	static size_t	n;

	/* The table is constant: counted once, on the main thread, at the
	 * first load. */
	if (n == 0) {
		n = table_size();
		if (n > CONF_KEYWORDS_MAX)
			abort();	/* CONF_KEYWORDS_MAX is too small */
	}
	return n;
}

const char *
conf_keyword_name(size_t i)
{
	return conf_keywords[i].name;
}

unsigned
conf_keyword_scope(size_t i)
{
	return conf_keywords[i].flags & (CONF_GLOBAL | CONF_SERVICE |
	    CONF_NOT_DEFAULTS);
}

int
conf_keyword_repeats(size_t i)
{
	return (conf_keywords[i].flags & CONF_REPEATS) != 0;
}

int
conf_keyword_posix_only(size_t i)
{
	return (conf_keywords[i].flags & CONF_POSIX) != 0;
}

int
conf_keyword_needs_restart(size_t i)
{
	return (conf_keywords[i].flags & CONF_RESTART) != 0;
}

int
conf_keyword_find(const char *name, unsigned scope)
{
	size_t	i, n = conf_keyword_count();

	for (i = 0; i < n; i++)
		if ((conf_keywords[i].flags & scope) &&
		    strcmp(conf_keywords[i].name, name) == 0)
			return (int)i;
	return -1;
}

const struct conf_keyword *
conf_keyword_named(const char *name, unsigned scope)
{
	int	i = conf_keyword_find(name, scope);

	return i == -1 ? NULL : &conf_keywords[i];
}

/* Whether block sets kw's value: kw itself, or a keyword that shares its
 * value (allow and deny make one list). */
static int
block_sets(const struct conf_service *block, const struct conf_keyword *kw)
{
	size_t	i, n = conf_keyword_count();

	for (i = 0; i < n; i++)
		if ((conf_keywords[i].flags & CONF_SERVICE) &&
		    conf_keywords[i].offset == kw->offset &&
		    block->set[i].kw.line > 0)
			return 1;
	return 0;
}

int
conf_service_sets(const struct conf_service *svc, const char *name)
{
	const struct conf_keyword	*kw = conf_keyword_named(name,
					    CONF_SERVICE);

	return kw != NULL && svc->set[kw - conf_keywords].kw.line > 0;
}

const struct conf_service *
conf_source(const struct conf_keyword *kw, const struct conf_service *s,
    const struct conf_service *d, const char *handler)
{
	if (block_sets(s, kw))
		return s;
	if (block_sets(d, kw) && (kw->handler == NULL ||
	    (handler != NULL && strcmp(kw->handler, handler) == 0)))
		return d;
	return NULL;
}

const struct conf_pos *
config_value_pos(const struct config *conf, const struct conf_service *s,
    const char *name)
{
	const struct conf_keyword	*kw;
	const struct conf_service	*from;
	const struct conf_pos		*at;

	if (s == NULL) {
		if ((kw = conf_keyword_named(name, CONF_GLOBAL)) == NULL)
			return NULL;
		at = &conf->set[kw - conf_keywords].value;
		return at->line != 0 ? at : NULL;
	}
	if ((kw = conf_keyword_named(name, CONF_SERVICE)) == NULL ||
	    (from = conf_source(kw, s, &conf->defaults, s->handler != NULL ?
	    s->handler : conf->defaults.handler)) == NULL)
		return NULL;
	return &from->set[kw - conf_keywords].value;
}

int
conf_keyword_again(struct parser *ps, const struct conf_keyword *kw,
    const struct statement *st, struct conf_pos *first)
{
	struct conf_pos	*at = &first[kw - conf_keywords];

	if (at->line == 0) {
		*at = st->tok[0].pos;
		return 0;
	}
	if (kw->flags & CONF_REPEATS)
		return 0;
	conf_error(ps->errs, &st->tok[0].pos, "'%s' given again (first at "
	    "%s:%u:%u)", kw->name, at->file, at->line, at->col);
	return 1;
}

/* --- reading values --------------------------------------------------------- */

int
conf_want_args(struct parser *ps, const struct statement *st, size_t min,
    size_t max)
{
	const char	*kw = st->tok[0].text;

	if (st->n - 1 < min) {
		conf_error(ps->errs, &st->tok[st->n - 1].pos, "'%s' needs %s",
		    kw, min == 1 ? "a value" : "more values");
		return -1;
	}
	/* A statement holds at most CONF_STATEMENT_MAX words: with max the
	 * most it can have after its keyword, there is nothing beyond. */
	if (st->n - 1 > max && max + 1 < CONF_STATEMENT_MAX) {
		conf_error(ps->errs, &st->tok[max + 1].pos,
		    "unexpected '%s' after '%s'", st->tok[max + 1].text, kw);
		return -1;
	}
	return 0;
}

static int
read_number(struct parser *ps, const struct token *t, long long min,
    long long max, long long *out)
{
	const char	*p = t->text;
	long long	 v = 0;

	if (*p == '\0')
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (*p - '0');
		if (v > max)
			goto bad;
	}
	if (v < min)
		goto bad;
	*out = v;
	return 0;
bad:
	conf_error(ps->errs, &t->pos, "bad number '%s' (expected %lld..%lld)",
	    t->text, min, max);
	return -1;
}

/* "10", "0.5", "2.25": to 1/1000, into thousandths. */
static int
read_rate(struct parser *ps, const struct token *t, const char *unit,
    long long *milli)
{
	const char	*p = t->text;
	long long	 whole = 0, frac = 0;
	int		 digits = 0;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > MAX_RATE)
			goto bad;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 3)
				goto bad;
			frac = frac * 10 + (*p - '0');
		}
		if (digits == 0)
			goto bad;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (*p != '\0' || whole * 1000 + frac == 0 ||
	    whole * 1000 + frac > MAX_RATE * 1000LL)
		goto bad;
	*milli = whole * 1000 + frac;
	return 0;
bad:
	conf_error(ps->errs, &t->pos, "bad rate '%s' (expected %s per second, "
	    "such as 10 or 0.5, up to %d)", t->text, unit, MAX_RATE);
	return -1;
}

static int
read_rate_statement(struct parser *ps, const struct conf_keyword *kw,
    const struct statement *st, struct conf_rate *out)
{
	long long	m, b = 0;

	if ((kw->flags & CONF_OFF) && st->n == 2 &&
	    strcmp(st->tok[1].text, "off") == 0) {
		out->milli = out->burst = 0;
		return 0;
	}
	if (conf_want_args(ps, st, 1, 2) == -1 ||
	    read_rate(ps, &st->tok[1], kw->unit, &m) == -1)
		return -1;
	if (st->n == 3 && read_number(ps, &st->tok[2], 1, MAX_RATE, &b) == -1)
		return -1;
	out->milli = m;
	out->burst = b;
	return 0;
}

/* Durations and sizes: the text's checks, then the keyword's least. */
static int
read_amount(struct parser *ps, const struct conf_keyword *kw,
    const struct token *t, long long *out)
{
	unsigned long long	v;
	char			err[256];
	int			r;

	if (kw->type == CONF_DURATION)
		r = parse_duration_ms(t->text, (unsigned long long)kw->max, &v,
		    err, sizeof err);
	else
		r = parse_size(t->text, (unsigned long long)kw->max, &v, err,
		    sizeof err);
	if (r == -1) {
		conf_error(ps->errs, &t->pos, "%s", err);
		return -1;
	}
	if ((long long)v < kw->min) {
		if (kw->type == CONF_DURATION)
			conf_error(ps->errs, &t->pos, "%s must be more than 0",
			    kw->name);
		else
			conf_error(ps->errs, &t->pos, "%s must be at least %lld",
			    kw->name, kw->min);
		return -1;
	}
	*out = (long long)v;
	return 0;
}

static int
read_choice(struct parser *ps, const struct conf_keyword *kw,
    const struct token *t, long long *out)
{
	char	expected[256] = "";
	size_t	i, n;

	for (n = 0; kw->choices[n].name != NULL; n++)
		;
	for (i = 0; i < n; i++) {
		if (strcmp(t->text, kw->choices[i].name) == 0) {
			*out = kw->choices[i].value;
			return 0;
		}
		if (i > 0)
			strlcat(expected, i == n - 1 ? " or " : ", ",
			    sizeof expected);
		strlcat(expected, kw->choices[i].name, sizeof expected);
	}
	conf_error(ps->errs, &t->pos, "unknown value '%s' for '%s' (expected "
	    "%s)", t->text, kw->name, expected);
	return -1;
}

/* Networks for allow, deny or trusted-proxies, appended to a list; a bad
 * one is said, and the others are still checked. */
static int
read_networks(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, struct conf_rules *list)
{
	struct conf_rule	*grown;
	char			 err[256];
	size_t			 i;
	int			 r = 0;

	if (conf_want_args(ps, st, 1, CONF_STATEMENT_MAX - 1) == -1)
		return -1;
	for (i = 1; i < st->n; i++) {
		if (harbor_network_check(st->tok[i].text, err,
		    sizeof err) == -1) {
			conf_error(ps->errs, &st->tok[i].pos, "%s", err);
			r = -1;
			continue;
		}
		if ((grown = conf_realloc(ps->errs, &st->tok[i].pos, list->v,
		    (list->n + 1) * sizeof *grown)) == NULL)
			return -1;
		list->v = grown;
		grown[list->n].net = statement_take(st, i);
		grown[list->n].allow = !(kw->flags & CONF_DENY);
		grown[list->n].pos = st->tok[i].pos;
		list->n++;
	}
	return r;
}

static int
replace_string(char **slot, char *value)
{
	if (value == NULL)
		return -1;
	free(*slot);
	*slot = value;
	return 0;
}

void
conf_keyword_read(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block, struct conf_set_at *set)
{
	int	r = -1;

#ifdef _WIN32
	if (kw->flags & CONF_POSIX) {
		conf_error(ps->errs, &st->tok[0].pos, "'%s' is not available "
		    "on Windows", kw->name);
		return;
	}
#endif
	switch (kw->type) {
	case CONF_NUMBER:
		if (conf_want_args(ps, st, 1, 1) == 0)
			r = read_number(ps, &st->tok[1], kw->min, kw->max,
			    CONF_FIELD(block, kw, long long));
		break;
	case CONF_DURATION:
	case CONF_SIZE:
		if (conf_want_args(ps, st, 1, 1) == 0)
			r = read_amount(ps, kw, &st->tok[1],
			    CONF_FIELD(block, kw, long long));
		break;
	case CONF_RATE:
		r = read_rate_statement(ps, kw, st,
		    CONF_FIELD(block, kw, struct conf_rate));
		break;
	case CONF_CHOICE:
		if (conf_want_args(ps, st, 1, 1) == 0)
			r = read_choice(ps, kw, &st->tok[1],
			    CONF_FIELD(block, kw, long long));
		break;
	case CONF_NETWORKS:
		r = read_networks(ps, kw, st,
		    CONF_FIELD(block, kw, struct conf_rules));
		break;
	case CONF_PATH:
		if (conf_want_args(ps, st, 1, 1) == -1)
			break;
		if ((kw->flags & CONF_ABSOLUTE) &&
		    st->tok[1].text[0] != '/') {
			conf_error(ps->errs, &st->tok[1].pos, "%s needs an "
			    "absolute path", kw->name);
			break;
		}
		r = replace_string(CONF_FIELD(block, kw, char *),
		    conf_resolve_path(ps, &st->tok[1]));
		break;
	case CONF_WORD:
		if (conf_want_args(ps, st, 1, 1) == 0)
			r = replace_string(CONF_FIELD(block, kw, char *),
			    statement_take(st, 1));
		break;
	case CONF_SPECIAL:
		r = kw->parse(ps, kw, st, block);
		break;
	}
	if (r == 0 && set != NULL) {
		set[kw - conf_keywords].kw = st->tok[0].pos;
		set[kw - conf_keywords].value = st->tok[st->n > 1 ? 1 : 0].pos;
	}
}

/* --- paths ------------------------------------------------------------------ */

#ifdef _WIN32
/* On Windows C:\x, C:/x, \x and \\server\share are not relative, and
 * either slash separates directories. */
static int
path_is_absolute(const char *p)
{
	return p[0] == '/' || p[0] == '\\' ||
	    (((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) &&
	    p[1] == ':');
}

const char *
conf_path_last_separator(const char *p)
{
	const char	*s, *b = strrchr(p, '\\');

	if ((s = strrchr(p, '/')) == NULL || (b != NULL && b > s))
		s = b;
	return s;
}
#else
#define path_is_absolute(p)	((p)[0] == '/')

const char *
conf_path_last_separator(const char *p)
{
	return strrchr(p, '/');
}
#endif

int
conf_path_is_absolute(const char *path)
{
	return path_is_absolute(path);
}

/* Relative paths in a file are relative to that file's directory: the
 * daemon changes to / when it detaches. */
char *
conf_resolve_path(struct parser *ps, const struct token *t)
{
	const char	*file = t->pos.file, *path = t->text;
	const char	*slash = conf_path_last_separator(file);
	char		*out;
	size_t		 dirlen;

	if (path_is_absolute(path) || slash == NULL || file[0] == '<')
		return conf_strdup(ps->errs, &t->pos, path);
	dirlen = (size_t)(slash - file);
	if ((out = conf_malloc(ps->errs, &t->pos, dirlen + 1 + strlen(path) +
	    1)) == NULL)
		return NULL;
	memcpy(out, file, dirlen);
	out[dirlen] = '/';
	strcpy(out + dirlen + 1, path);
	return out;
}

/* --- lists of words --------------------------------------------------------- */

int
conf_words_add(struct parser *ps, struct conf_words *w, struct statement *st,
    size_t i)
{
	char		**v;
	struct conf_pos	 *pos;

	/* One more for the NULL that ends v. */
	if ((v = conf_realloc(ps->errs, &st->tok[i].pos, w->v,
	    (w->n + 2) * sizeof *v)) == NULL)
		return -1;
	w->v = v;
	if ((pos = conf_realloc(ps->errs, &st->tok[i].pos, w->pos,
	    (w->n + 1) * sizeof *pos)) == NULL)
		return -1;
	w->pos = pos;
	pos[w->n] = st->tok[i].pos;
	v[w->n++] = statement_take(st, i);
	v[w->n] = NULL;
	return 0;
}

void
conf_words_free(struct conf_words *w)
{
	size_t	i;

	for (i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	free(w->pos);
	w->v = NULL;
	w->pos = NULL;
	w->n = 0;
}

/* --- unknown keywords ------------------------------------------------------- */

/* Edit distance, for "did you mean"; words are short. */
static size_t
distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j;
	size_t	row[64], prev, tmp;

	if (la >= 64 || lb >= 64)
		return 64;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

void
conf_unknown_keyword(struct parser *ps, const struct token *t,
    unsigned scope, const char *where)
{
	const char	*best = NULL;
	size_t		 d, best_d = 3, i, n = conf_keyword_count();

	for (i = 0; i < n; i++)
		if ((conf_keywords[i].flags & scope) &&
		    (d = distance(t->text, conf_keywords[i].name)) < best_d) {
			best = conf_keywords[i].name;
			best_d = d;
		}
	if (best != NULL)
		conf_error(ps->errs, &t->pos, "unknown keyword '%s'%s (did you "
		    "mean '%s'?)", t->text, where, best);
	else
		conf_error(ps->errs, &t->pos, "unknown keyword '%s'%s (see "
		    "harbord.conf(5))", t->text, where);
}
