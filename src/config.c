/*
 * The configuration file (harbord.conf(5)).
 *
 * A statement is a keyword and its arguments, ended by a newline, ";" or
 * the "}" that closes its block; "service NAME {" and "defaults {" open
 * blocks of service options.  The parser reads a statement's tokens, then
 * interprets them, so an error skips to the next statement and the rest of
 * the file is still checked: harbord -n lists every mistake at once, each
 * with file:line:column.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_GLOB_H
#include <glob.h>
#endif
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#endif

#ifdef HAVE_PWD_H
#include <pwd.h>
#endif
#ifdef HAVE_GRP_H
#include <grp.h>
#endif

#include "compat.h"
#include "config.h"

#define CONF_FILE_MAX		(16 * 1024 * 1024)
#define CONF_INCLUDE_DEPTH	16
#define CONF_STATEMENT_MAX	256	/* tokens in one statement */
#define CONF_MAX_THREADS	1024
#define CONF_MAX_CONNECTIONS	10000000
#define CONF_MAX_LINE		(16 * 1024 * 1024)
#define CONF_MAX_BACKLOG	1000000
#ifdef _WIN32
#define MODULE_SUFFIX		".dll"
#else
#define MODULE_SUFFIX		".so"
#endif
#define CONF_MAX_DURATION_MS	(30ULL * 86400 * 1000)

enum tok_type {
	TOK_WORD,
	TOK_STRING,
	TOK_OPEN,		/* { */
	TOK_CLOSE,		/* } */
	TOK_END,		/* newline or ; */
	TOK_EOF
};

struct token {
	enum tok_type	 type;
	char		*text;		/* words and strings */
	struct conf_pos	 pos;
};

struct lexer {
	const char		*p, *end;
	struct conf_pos		 pos;
	struct conf_errors	*errs;
};

struct parser {
	struct config		*conf;
	struct conf_errors	*errs;
	int			 depth;		/* include nesting */
};

static int	parse_file(struct parser *, const char *path,
		    const struct conf_pos *from);
static void	parse_text(struct parser *, const char *file, const char *text,
		    size_t len);

/* --- errors ------------------------------------------------------------- */

void
conf_error(struct conf_errors *errs, const struct conf_pos *pos,
    const char *fmt, ...)
{
	char	msg[512], *line;
	va_list	ap;
	int	n;

	if (errs->n >= CONF_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (pos != NULL)
		n = snprintf(NULL, 0, "%s:%u:%u: %s", pos->file, pos->line,
		    pos->col, msg);
	else
		n = snprintf(NULL, 0, "%s", msg);
	if (n < 0 || (line = malloc((size_t)n + 1)) == NULL) {
		errs->dropped++;
		return;
	}
	if (pos != NULL)
		(void)snprintf(line, (size_t)n + 1, "%s:%u:%u: %s", pos->file,
		    pos->line, pos->col, msg);
	else
		(void)snprintf(line, (size_t)n + 1, "%s", msg);
	errs->msg[errs->n++] = line;
}

void
conf_errors_clear(struct conf_errors *errs)
{
	size_t	i;

	for (i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	errs->n = 0;
	errs->dropped = 0;
}

/* --- lexer -------------------------------------------------------------- */

static int
is_word_char(char c)
{
	return c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '#' &&
	    c != ';' && c != '{' && c != '}' && c != '"' && c != '\0';
}

static void
lex_advance(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->pos.line++;
		lx->pos.col = 1;
	} else
		lx->pos.col++;
	lx->p++;
}

/* Returns 0, or -1 after an error (the token is then skipped). */
static int
lex_next(struct lexer *lx, struct token *t)
{
	const char	*start;
	char		*out;
	size_t		 n;

	t->text = NULL;
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' ||
	    *lx->p == '\r'))
		lex_advance(lx);
	if (lx->p < lx->end && *lx->p == '#')
		while (lx->p < lx->end && *lx->p != '\n')
			lex_advance(lx);
	t->pos = lx->pos;
	if (lx->p >= lx->end) {
		t->type = TOK_EOF;
		return 0;
	}
	switch (*lx->p) {
	case '\n':
	case ';':
		t->type = TOK_END;
		lex_advance(lx);
		return 0;
	case '{':
		t->type = TOK_OPEN;
		lex_advance(lx);
		return 0;
	case '}':
		t->type = TOK_CLOSE;
		lex_advance(lx);
		return 0;
	case '"':
		lex_advance(lx);
		start = lx->p;
		n = 0;
		while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n') {
			if (*lx->p == '\\' && lx->p + 1 < lx->end &&
			    lx->p[1] != '\n')
				lex_advance(lx);
			lex_advance(lx);
			n++;
		}
		if (lx->p >= lx->end || *lx->p != '"') {
			conf_error(lx->errs, &t->pos, "unterminated string");
			t->type = TOK_STRING;
			return -1;
		}
		if ((out = t->text = malloc(n + 1)) == NULL)
			return -1;
		while (start < lx->p) {
			if (*start == '\\')
				start++;
			*out++ = *start++;
		}
		*out = '\0';
		lex_advance(lx);
		t->type = TOK_STRING;
		return 0;
	case '\0':
		conf_error(lx->errs, &t->pos, "NUL byte in the file");
		lex_advance(lx);
		t->type = TOK_END;
		return -1;
	default:
		start = lx->p;
		while (lx->p < lx->end && is_word_char(*lx->p))
			lex_advance(lx);
		n = (size_t)(lx->p - start);
		if ((t->text = malloc(n + 1)) == NULL)
			return -1;
		memcpy(t->text, start, n);
		t->text[n] = '\0';
		t->type = TOK_WORD;
		return 0;
	}
}

/* --- statements ----------------------------------------------------------- */

struct statement {
	struct token	tok[CONF_STATEMENT_MAX];
	size_t		n;
	struct token	end;		/* what ended it */
	int		bad;		/* an error already reported */
};

static void
statement_clear(struct statement *st)
{
	size_t	i;

	for (i = 0; i < st->n; i++)
		free(st->tok[i].text);
	free(st->end.text);
	st->n = 0;
	st->end.text = NULL;
	st->bad = 0;
}

/* Reads words up to a newline, ";", "{", "}" or the end of the file. */
static void
statement_read(struct lexer *lx, struct statement *st)
{
	struct token	t;

	st->n = 0;
	st->bad = 0;
	for (;;) {
		if (lex_next(lx, &t) == -1) {
			st->bad = 1;
			free(t.text);
			if (t.type == TOK_STRING)
				continue;
			t.text = NULL;
		}
		if (t.type == TOK_WORD || t.type == TOK_STRING) {
			if (st->n == CONF_STATEMENT_MAX) {
				if (!st->bad)
					conf_error(lx->errs, &t.pos, "too many "
					    "words in one statement (at most "
					    "%d)", CONF_STATEMENT_MAX);
				st->bad = 1;
				free(t.text);
				continue;
			}
			st->tok[st->n++] = t;
			continue;
		}
		st->end = t;
		return;
	}
}

/* After an error at a "{": skips to its "}". */
static void
skip_block(struct lexer *lx)
{
	struct token	t;
	int		depth = 1;

	while (depth > 0) {
		(void)lex_next(lx, &t);
		free(t.text);
		if (t.type == TOK_EOF)
			return;
		if (t.type == TOK_OPEN)
			depth++;
		else if (t.type == TOK_CLOSE)
			depth--;
	}
}

static int
want_args(struct parser *ps, const struct statement *st, size_t min,
    size_t max)
{
	const char	*kw = st->tok[0].text;

	if (st->n - 1 < min) {
		const struct conf_pos *pos = &st->tok[st->n - 1].pos;

		conf_error(ps->errs, pos, "'%s' needs %s", kw,
		    min == 1 ? "a value" : "more values");
		return -1;
	}
	if (st->n - 1 > max) {
		conf_error(ps->errs, &st->tok[max + 1].pos,
		    "unexpected '%s' after '%s'", st->tok[max + 1].text, kw);
		return -1;
	}
	return 0;
}

static int
number_arg(struct parser *ps, const struct token *t, long long min,
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

/* A rate in connections per second: "10", "0.5", "2.25" (to 1/1000),
 * into thousandths. */
static int
rate_arg(struct parser *ps, const struct token *t, const char *unit,
    long long *milli)
{
	const char	*p = t->text;
	long long	 whole = 0, frac = 0;
	int		 digits = 0;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > 1000000)
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
	if (*p != '\0' || whole * 1000 + frac == 0)
		goto bad;
	*milli = whole * 1000 + frac;
	return 0;
bad:
	conf_error(ps->errs, &t->pos, "bad rate '%s' (expected %s per second, "
	    "such as 10 or 0.5, up to 1000000)", t->text, unit);
	return -1;
}

static void
rate_option(struct parser *ps, struct statement *st, const char *unit,
    long long *milli, long long *burst)
{
	long long	m, b = 0;

	if (want_args(ps, st, 1, 2) == -1 || rate_arg(ps, &st->tok[1], unit,
	    &m) == -1)
		return;
	if (st->n == 3 && number_arg(ps, &st->tok[2], 1, 1000000, &b) == -1)
		return;
	*milli = m;
	*burst = b;
}

static int
duration_arg(struct parser *ps, const struct token *t, long long *out)
{
	unsigned long long	ms;
	char			err[256];

	if (parse_duration_ms(t->text, CONF_MAX_DURATION_MS, &ms, err,
	    sizeof err) == -1) {
		conf_error(ps->errs, &t->pos, "%s", err);
		return -1;
	}
	*out = (long long)ms;
	return 0;
}

static int
keyword_arg(struct parser *ps, const char *kw, const struct token *t,
    const char *const *choices, int *out)
{
	char	expected[256] = "";
	int	i;

	for (i = 0; choices[i] != NULL; i++) {
		if (strcmp(t->text, choices[i]) == 0) {
			*out = i;
			return 0;
		}
		if (i > 0)
			strncat(expected, i == 1 && choices[2] == NULL ? " or " :
			    ", ", sizeof expected - strlen(expected) - 1);
		strncat(expected, choices[i], sizeof expected -
		    strlen(expected) - 1);
	}
	conf_error(ps->errs, &t->pos, "unknown value '%s' for '%s' (expected "
	    "%s)", t->text, kw, expected);
	return -1;
}

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

static const char *
path_last_separator(const char *p)
{
	const char	*s, *b = strrchr(p, '\\');

	if ((s = strrchr(p, '/')) == NULL || (b != NULL && b > s))
		s = b;
	return s;
}
#else
#define path_is_absolute(p)	((p)[0] == '/')
#define path_last_separator(p)	strrchr((p), '/')
#endif

/* Relative paths in a file are relative to that file's directory: the
 * daemon changes to / when it detaches. */
static char *
resolve_path(const char *file, const char *path)
{
	const char	*slash;
	char		*out;
	size_t		 dirlen;

	slash = path_last_separator(file);
	if (path_is_absolute(path) || slash == NULL || file[0] == '<')
		return strdup(path);
	dirlen = (size_t)(slash - file);
	if ((out = malloc(dirlen + 1 + strlen(path) + 1)) == NULL)
		return NULL;
	memcpy(out, file, dirlen);
	out[dirlen] = '/';
	strcpy(out + dirlen + 1, path);
	return out;
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

/* --- unknown keywords --------------------------------------------------- */

static const char *const global_keywords[] = {
	"io-threads", "workers", "queue-size", "max-connections", "log",
	"pidfile", "user", "group", "chroot", "shutdown-timeout", "defaults",
	"service", "include", "module", NULL
};

static const char *const service_keywords[] = {
	"listen", "handler", "dispatch", "framing", "max-line", "quote-file",
	"allow", "deny", "max-connections", "max-per-source",
	"ipv6-source-prefix", "rate", "rate-per-source", "idle-timeout",
	"session-timeout", "proxy-protocol", "trusted-proxies",
	"proxy-header-timeout", "exec", "forward", "env", "passenv",
	"max-children", "user", "group", "connect-timeout", "send-proxy",
	"backlog", "log-rate", "stderr-rate", "stderr-line-max", "option", NULL
};

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

static void
unknown_keyword(struct parser *ps, const struct token *t,
    const char *const *known, const char *where)
{
	const char	*best = NULL;
	size_t		 d, best_d = 3;
	int		 i;

	for (i = 0; known[i] != NULL; i++)
		if ((d = distance(t->text, known[i])) < best_d) {
			best = known[i];
			best_d = d;
		}
	if (best != NULL)
		conf_error(ps->errs, &t->pos, "unknown keyword '%s'%s (did you "
		    "mean '%s'?)", t->text, where, best);
	else
		conf_error(ps->errs, &t->pos, "unknown keyword '%s'%s (see "
		    "harbord.conf(5))", t->text, where);
}

/* --- service options ---------------------------------------------------- */

static const char *const dispatch_names[] = { "inline", "pool", NULL };
/* In the order of their bits less one: v1 = 1, v2 = 2, any = 3. */
static const char *const proxy_names[] = { "v1", "v2", "any", NULL };

/* Networks for allow, deny or trusted-proxies, appended to a list. */
static void
network_list(struct parser *ps, struct statement *st, int allow,
    struct conf_rule **list, size_t *n)
{
	struct conf_rule	*r;
	char			 err[256];
	size_t			 i;

	if (want_args(ps, st, 1, CONF_STATEMENT_MAX - 2) == -1)
		return;
	for (i = 1; i < st->n; i++) {
		if (harbor_network_check(st->tok[i].text, err,
		    sizeof err) == -1) {
			conf_error(ps->errs, &st->tok[i].pos, "%s", err);
			continue;
		}
		if ((r = realloc(*list, (*n + 1) * sizeof *r)) == NULL)
			return;
		*list = r;
		r[*n].net = st->tok[i].text;
		r[*n].allow = allow;
		r[*n].pos = st->tok[i].pos;
		st->tok[i].text = NULL;
		(*n)++;
	}
}
static const char *const framing_names[] = { "raw", "line", NULL };
static const char *const send_proxy_names[] = { "v1", "v2", NULL };

/* One service, one handler: "handler", "exec" and "forward" exclude each
 * other. */
static int
handler_conflict(struct parser *ps, struct conf_service *svc,
    const struct statement *st)
{
	if (svc->handler == NULL)
		return 0;
	conf_error(ps->errs, &st->tok[0].pos, "'%s' conflicts with '%s' at "
	    "%s:%u:%u (a service has one handler)", st->tok[0].text,
	    svc->handler, svc->handler_pos.file, svc->handler_pos.line,
	    svc->handler_pos.col);
	return 1;
}

/* exec PROGRAM [ARG...], forward HOST:PORT */
static void
relay_handler(struct parser *ps, struct conf_service *svc, int is_defaults,
    struct statement *st)
{
	const char	*kw = st->tok[0].text;
	size_t		 i;

	if (is_defaults) {
		conf_error(ps->errs, &st->tok[0].pos, "'%s' is not allowed in "
		    "defaults (each service names its own %s)", kw,
		    kw[0] == 'e' ? "program" : "backend");
		return;
	}
	if (kw[0] == 'e' ? want_args(ps, st, 1, CONF_STATEMENT_MAX - 2) :
	    want_args(ps, st, 1, 1))
		return;
	if (handler_conflict(ps, svc, st))
		return;
	if (kw[0] == 'f') {
		char	err[256];

		if (harbor_forward_check(st->tok[1].text, err,
		    sizeof err) == -1) {
			conf_error(ps->errs, &st->tok[1].pos, "%s", err);
			return;
		}
		svc->forward_to = st->tok[1].text;
		st->tok[1].text = NULL;
	} else {
		if (st->tok[1].text[0] != '/') {
			conf_error(ps->errs, &st->tok[1].pos, "exec needs the "
			    "program's absolute path, not '%s' (there is no "
			    "PATH search)", st->tok[1].text);
			return;
		}
		if ((svc->exec_argv = calloc(st->n, sizeof *svc->exec_argv)) ==
		    NULL)
			return;
		for (i = 1; i < st->n; i++) {
			svc->exec_argv[i - 1] = st->tok[i].text;
			st->tok[i].text = NULL;
		}
	}
	svc->handler = strdup(kw);
	svc->handler_pos = st->tok[0].pos;
}

static int
env_name_ok(const char *p, size_t len)
{
	size_t	i;

	if (len == 0 || (p[0] >= '0' && p[0] <= '9'))
		return 0;
	for (i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return 0;
	return 1;
}

static void
append_word(char ***list, struct conf_pos **pos, size_t *n,
    struct token *t)
{
	char		**grown;
	struct conf_pos	 *pgrown;

	if ((grown = realloc(*list, (*n + 1) * sizeof *grown)) == NULL)
		return;
	*list = grown;
	if (pos != NULL) {
		if ((pgrown = realloc(*pos, (*n + 1) * sizeof *pgrown)) ==
		    NULL)
			return;
		*pos = pgrown;
		pgrown[*n] = t->pos;
	}
	grown[(*n)++] = t->text;
	t->text = NULL;
}

/* env, passenv, max-children, user, group, stderr-rate, stderr-line-max:
 * for exec services. */
/* The options only one handler takes; the first a service uses is kept
 * (by these names) to say so if the service has another handler. */
static const char *const exec_keywords[] = {
	"env", "passenv", "max-children", "user", "group", "stderr-rate",
	"stderr-line-max", NULL
};
static const char *const forward_keywords[] = {
	"connect-timeout", "send-proxy", NULL
};

/* kw as it stands in the list, or NULL. */
static const char *
keyword_in(const char *kw, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(kw, *list) == 0)
			return *list;
	return NULL;
}

static void
exec_option(struct parser *ps, struct conf_service *svc, const char *kw,
    struct statement *st)
{
	size_t		 i;

	if (svc->exec_opt == NULL) {
		svc->exec_opt_pos = st->tok[0].pos;
		svc->exec_opt = kw;
	}
	if (strcmp(kw, "env") == 0) {
		if (want_args(ps, st, 1, CONF_STATEMENT_MAX - 2) == -1)
			return;
		for (i = 1; i < st->n; i++) {
			const char *eq = strchr(st->tok[i].text, '=');

			if (eq == NULL || !env_name_ok(st->tok[i].text,
			    (size_t)(eq - st->tok[i].text))) {
				conf_error(ps->errs, &st->tok[i].pos, "bad "
				    "environment entry '%s' (expected "
				    "NAME=VALUE, NAME of letters, digits and "
				    "'_')", st->tok[i].text);
				continue;
			}
			append_word(&svc->env, &svc->env_pos, &svc->nenv,
			    &st->tok[i]);
		}
	} else if (strcmp(kw, "passenv") == 0) {
		if (want_args(ps, st, 1, CONF_STATEMENT_MAX - 2) == -1)
			return;
		for (i = 1; i < st->n; i++) {
			if (!env_name_ok(st->tok[i].text,
			    strlen(st->tok[i].text))) {
				conf_error(ps->errs, &st->tok[i].pos, "bad "
				    "variable name '%s' (letters, digits and "
				    "'_')", st->tok[i].text);
				continue;
			}
			append_word(&svc->passenv, NULL, &svc->npassenv,
			    &st->tok[i]);
		}
	} else if (strcmp(kw, "max-children") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)number_arg(ps, &st->tok[1], 0,
			    CONF_MAX_CONNECTIONS, &svc->max_children);
	} else if (strncmp(kw, "stderr-", 7) == 0) {
		int			 rate = strcmp(kw, "stderr-rate") == 0;
		unsigned long long	 v;
		char			 err[256];

		if (want_args(ps, st, 1, 1) == -1)
			return;
		if (parse_size(st->tok[1].text, rate ?
		    HARBOR_STDERR_RATE_MAX : 1024, &v, err,
		    sizeof err) == -1)
			conf_error(ps->errs, &st->tok[1].pos, "%s", err);
		else if (!rate && v < 16)
			conf_error(ps->errs, &st->tok[1].pos, "stderr-line-max "
			    "must be at least 16");
		else if (rate)
			svc->stderr_rate = (long long)v;
		else
			svc->stderr_line_max = (long long)v;
	} else if (want_args(ps, st, 1, 1) == 0) {
#ifdef _WIN32
		conf_error(ps->errs, &st->tok[0].pos, "'%s' is not available "
		    "on Windows", kw);
#else
		(void)replace_string(kw[0] == 'u' ? &svc->user : &svc->group,
		    strdup(st->tok[1].text));
#endif
	}
}

/* connect-timeout, send-proxy: for forward services. */
static void
forward_option(struct parser *ps, struct conf_service *svc, const char *kw,
    struct statement *st)
{
	int		 v;

	if (svc->forward_opt == NULL) {
		svc->forward_opt_pos = st->tok[0].pos;
		svc->forward_opt = kw;
	}
	if (want_args(ps, st, 1, 1) == -1)
		return;
	if (kw[0] == 'c') {
		if (duration_arg(ps, &st->tok[1],
		    &svc->connect_timeout_ms) == 0 &&
		    svc->connect_timeout_ms == 0) {
			conf_error(ps->errs, &st->tok[1].pos, "connect-timeout "
			    "must be more than 0");
			svc->connect_timeout_ms = -1;
		}
	} else if (keyword_arg(ps, kw, &st->tok[1], send_proxy_names,
	    &v) == 0)
		svc->send_proxy = v == 0 ? HARBOR_PROXY_V1 : HARBOR_PROXY_V2;
}

static void
service_option(struct parser *ps, struct conf_service *svc, int is_defaults,
    struct statement *st)
{
	const char	*kw = st->tok[0].text;
	const char	*where = is_defaults ? "defaults" : svc->name;
	const char	*name;
	size_t		 i;

	if (strcmp(kw, "listen") == 0) {
		if (is_defaults) {
			conf_error(ps->errs, &st->tok[0].pos, "'listen' is not "
			    "allowed in defaults (each service has its own "
			    "addresses)");
			return;
		}
		if (want_args(ps, st, 1, CONF_STATEMENT_MAX - 2) == -1)
			return;
		for (i = 1; i < st->n; i++) {
			char	err[256];
			char	**l;
			struct conf_pos *lp;

			if (harbor_listen_address_check(st->tok[i].text, NULL,
			    NULL, err, sizeof err) == -1) {
				conf_error(ps->errs, &st->tok[i].pos, "%s",
				    err);
				continue;
			}
			l = realloc(svc->listen, (svc->nlisten + 1) *
			    sizeof *l);
			if (l == NULL)
				return;
			svc->listen = l;
			lp = realloc(svc->listen_pos, (svc->nlisten + 1) *
			    sizeof *lp);
			if (lp == NULL)
				return;
			svc->listen_pos = lp;
			svc->listen[svc->nlisten] = st->tok[i].text;
			svc->listen_pos[svc->nlisten] = st->tok[i].pos;
			st->tok[i].text = NULL;
			svc->nlisten++;
		}
	} else if (strcmp(kw, "allow") == 0 || strcmp(kw, "deny") == 0) {
		network_list(ps, st, kw[0] == 'a', &svc->rules, &svc->nrules);
	} else if (strcmp(kw, "trusted-proxies") == 0) {
		network_list(ps, st, 1, &svc->trusted, &svc->ntrusted);
	} else if (strcmp(kw, "proxy-protocol") == 0) {
		int	v;

		if (want_args(ps, st, 1, 1) == 0 && keyword_arg(ps, kw,
		    &st->tok[1], proxy_names, &v) == 0) {
			svc->proxy_versions = v + 1;	/* v1, v2, any */
			svc->proxy_pos = st->tok[0].pos;
		}
	} else if (strcmp(kw, "proxy-header-timeout") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)duration_arg(ps, &st->tok[1],
			    &svc->proxy_timeout_ms);
	} else if (strcmp(kw, "handler") == 0) {
		const char *const *names = harbor_builtin_handler_names();
		char		   expected[256] = "";

		if (want_args(ps, st, 1, 1) == -1)
			return;
		/* Not a built-in: a module's, once the modules are loaded
		 * (check_config, config_make_services). */
		(void)names;
		(void)expected;
		if (handler_conflict(ps, svc, st))
			return;
		(void)replace_string(&svc->handler, st->tok[1].text);
		st->tok[1].text = NULL;
		svc->handler_pos = st->tok[1].pos;
	} else if (strcmp(kw, "exec") == 0 || strcmp(kw, "forward") == 0) {
		relay_handler(ps, svc, is_defaults, st);
	} else if ((name = keyword_in(kw, exec_keywords)) != NULL) {
		exec_option(ps, svc, name, st);
	} else if ((name = keyword_in(kw, forward_keywords)) != NULL) {
		forward_option(ps, svc, name, st);
	} else if (strcmp(kw, "dispatch") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)keyword_arg(ps, kw, &st->tok[1], dispatch_names,
			    &svc->dispatch);
	} else if (strcmp(kw, "framing") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)keyword_arg(ps, kw, &st->tok[1], framing_names,
			    &svc->framing);
	} else if (strcmp(kw, "max-line") == 0) {
		unsigned long long	v;
		char			err[256];

		if (want_args(ps, st, 1, 1) == -1)
			return;
		if (parse_size(st->tok[1].text, CONF_MAX_LINE, &v, err,
		    sizeof err) == -1) {
			conf_error(ps->errs, &st->tok[1].pos, "%s", err);
			return;
		}
		if (v == 0) {
			conf_error(ps->errs, &st->tok[1].pos, "max-line must "
			    "be at least 1");
			return;
		}
		svc->max_line = (long long)v;
	} else if (strcmp(kw, "max-connections") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)number_arg(ps, &st->tok[1], 0,
			    CONF_MAX_CONNECTIONS, &svc->max_connections);
	} else if (strcmp(kw, "backlog") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)number_arg(ps, &st->tok[1], 1, CONF_MAX_BACKLOG,
			    &svc->backlog);
	} else if (strcmp(kw, "max-per-source") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)number_arg(ps, &st->tok[1], 0,
			    CONF_MAX_CONNECTIONS, &svc->max_per_source);
	} else if (strcmp(kw, "ipv6-source-prefix") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)number_arg(ps, &st->tok[1], 0, 128,
			    &svc->source_prefix6);
	} else if (strcmp(kw, "rate") == 0) {
		rate_option(ps, st, "connections", &svc->rate_milli,
		    &svc->rate_burst);
	} else if (strcmp(kw, "rate-per-source") == 0) {
		rate_option(ps, st, "connections", &svc->source_rate_milli,
		    &svc->source_rate_burst);
	} else if (strcmp(kw, "log-rate") == 0) {
		if (st->n == 2 && strcmp(st->tok[1].text, "off") == 0)
			svc->log_rate_milli = svc->log_rate_burst = 0;
		else
			rate_option(ps, st, "lines", &svc->log_rate_milli,
			    &svc->log_rate_burst);
	} else if (strcmp(kw, "idle-timeout") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)duration_arg(ps, &st->tok[1],
			    &svc->idle_timeout_ms);
	} else if (strcmp(kw, "session-timeout") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)duration_arg(ps, &st->tok[1],
			    &svc->session_timeout_ms);
	} else if (strcmp(kw, "option") == 0) {
		struct conf_option	*grown;

		if (is_defaults) {
			conf_error(ps->errs, &st->tok[0].pos, "'option' is not "
			    "allowed in defaults (it is for one service's "
			    "handler)");
			return;
		}
		if (want_args(ps, st, 2, 2) == -1)
			return;
		if ((grown = realloc(svc->opts, (svc->nopts + 1) *
		    sizeof *grown)) == NULL) {
			conf_error(ps->errs, &st->tok[0].pos, "out of memory");
			return;
		}
		svc->opts = grown;
		grown[svc->nopts].name = st->tok[1].text;
		grown[svc->nopts].value = st->tok[2].text;
		grown[svc->nopts].pos = st->tok[0].pos;
		st->tok[1].text = st->tok[2].text = NULL;
		svc->nopts++;
	} else if (strcmp(kw, "quote-file") == 0) {
		if (want_args(ps, st, 1, 1) == -1)
			return;
		(void)replace_string(&svc->quote_file,
		    resolve_path(st->tok[1].pos.file, st->tok[1].text));
		svc->quote_file_pos = st->tok[1].pos;
	} else {
		char	in[128];

		if (is_defaults)
			snprintf(in, sizeof in, " in defaults");
		else
			snprintf(in, sizeof in, " in service '%s'", where);
		unknown_keyword(ps, &st->tok[0], service_keywords, in);
	}
}

static void
conf_service_init(struct conf_service *svc)
{
	memset(svc, 0, sizeof *svc);
	svc->dispatch = -1;
	svc->framing = -1;
	svc->max_connections = -1;
	svc->backlog = -1;
	svc->max_per_source = -1;
	svc->source_prefix6 = -1;
	svc->rate_milli = -1;
	svc->rate_burst = -1;
	svc->source_rate_milli = -1;
	svc->source_rate_burst = -1;
	svc->log_rate_milli = -1;
	svc->log_rate_burst = -1;
	svc->stderr_rate = -1;
	svc->stderr_line_max = -1;
	svc->idle_timeout_ms = -1;
	svc->session_timeout_ms = -1;
	svc->proxy_versions = -1;
	svc->proxy_timeout_ms = -1;
	svc->max_line = -1;
	svc->max_children = -1;
	svc->connect_timeout_ms = -1;
	svc->send_proxy = -1;
}

static void
conf_service_free_fields(struct conf_service *svc)
{
	size_t	i;

	for (i = 0; i < svc->nlisten; i++)
		free(svc->listen[i]);
	free(svc->listen);
	free(svc->listen_pos);
	for (i = 0; i < svc->nrules; i++)
		free(svc->rules[i].net);
	free(svc->rules);
	for (i = 0; i < svc->ntrusted; i++)
		free(svc->trusted[i].net);
	free(svc->trusted);
	free(svc->name);
	free(svc->handler);
	free(svc->quote_file);
	for (i = 0; svc->exec_argv != NULL && svc->exec_argv[i] != NULL; i++)
		free(svc->exec_argv[i]);
	free(svc->exec_argv);
	free(svc->forward_to);
	for (i = 0; i < svc->nenv; i++)
		free(svc->env[i]);
	free(svc->env);
	free(svc->env_pos);
	for (i = 0; i < svc->npassenv; i++)
		free(svc->passenv[i]);
	free(svc->passenv);
	free(svc->user);
	free(svc->group);
	for (i = 0; i < svc->nopts; i++) {
		free(svc->opts[i].name);
		free(svc->opts[i].value);
	}
	free(svc->opts);
}

/* Reads a block's statements up to its "}". */
static void
parse_block(struct parser *ps, struct lexer *lx, struct conf_service *svc,
    int is_defaults, const struct conf_pos *open)
{
	struct statement	*st;

	if ((st = calloc(1, sizeof *st)) == NULL)
		return;
	for (;;) {
		statement_read(lx, st);
		if (st->end.type == TOK_OPEN) {
			conf_error(ps->errs, &st->end.pos, "unexpected '{' "
			    "(blocks do not nest)");
			skip_block(lx);
		} else if (st->n > 0 && !st->bad) {
			if (st->tok[0].type != TOK_WORD)
				conf_error(ps->errs, &st->tok[0].pos,
				    "expected a keyword, not a quoted string");
			else
				service_option(ps, svc, is_defaults, st);
		}
		if (st->end.type == TOK_EOF) {
			conf_error(ps->errs, open, "'{' is never closed");
			statement_clear(st);
			break;
		}
		if (st->end.type == TOK_CLOSE) {
			statement_clear(st);
			break;
		}
		statement_clear(st);
	}
	free(st);
}

/* --- global statements -------------------------------------------------- */

static struct conf_service *
find_service(struct config *conf, const char *name)
{
	struct conf_service	*s;

	for (s = conf->services; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void
parse_service_block(struct parser *ps, struct lexer *lx, struct statement *st)
{
	struct config		*conf = ps->conf;
	struct conf_service	*svc, *dup, **tail;
	const char		*p;

	if (st->n != 2) {
		conf_error(ps->errs, st->n < 2 ? &st->end.pos :
		    &st->tok[2].pos, "expected 'service NAME {'");
		skip_block(lx);
		return;
	}
	for (p = st->tok[1].text; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.'))
			break;
	if (*p != '\0' || st->tok[1].text[0] == '\0') {
		conf_error(ps->errs, &st->tok[1].pos, "bad service name '%s' "
		    "(letters, digits, '-', '_' and '.' only)",
		    st->tok[1].text);
		skip_block(lx);
		return;
	}
	if ((dup = find_service(conf, st->tok[1].text)) != NULL) {
		conf_error(ps->errs, &st->tok[1].pos, "duplicate service '%s' "
		    "(first defined at %s:%u:%u)", st->tok[1].text,
		    dup->pos.file, dup->pos.line, dup->pos.col);
		skip_block(lx);
		return;
	}
	if ((svc = malloc(sizeof *svc)) == NULL) {
		skip_block(lx);
		return;
	}
	conf_service_init(svc);
	svc->name = st->tok[1].text;
	st->tok[1].text = NULL;
	svc->pos = st->tok[1].pos;
	svc->block_pos = st->tok[0].pos;
	for (tail = &conf->services; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = svc;
	conf->nservices++;
	parse_block(ps, lx, svc, 0, &st->end.pos);
}

static const char *const syslog_facilities[] = {
	"auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail",
	"news", "syslog", "user", "uucp", "local0", "local1", "local2",
	"local3", "local4", "local5", "local6", "local7", NULL
};

static void
parse_log(struct parser *ps, struct statement *st)
{
	struct config	*conf = ps->conf;
	const char	*how;
	int		 i;

	if (want_args(ps, st, 1, 2) == -1)
		return;
	how = st->tok[1].text;
	if (strcmp(how, "stderr") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			conf->log = CONF_LOG_STDERR;
	} else if (strcmp(how, "syslog") == 0) {
#ifdef _WIN32
		/* Said at load time, not when the log is opened: a config
		 * that passes harbord -n must run. */
		conf_error(ps->errs, &st->tok[1].pos, "'log syslog' is not "
		    "available: Windows has no syslog (use 'log stderr' or "
		    "'log file PATH')");
		return;
#endif
		conf->log = CONF_LOG_SYSLOG;
		if (st->n == 3) {
			for (i = 0; syslog_facilities[i] != NULL; i++)
				if (strcmp(st->tok[2].text,
				    syslog_facilities[i]) == 0)
					break;
			if (syslog_facilities[i] == NULL) {
				conf_error(ps->errs, &st->tok[2].pos, "unknown "
				    "syslog facility '%s' (expected daemon, "
				    "user, local0..local7, auth, ...)",
				    st->tok[2].text);
				return;
			}
			(void)replace_string(&conf->log_facility,
			    strdup(st->tok[2].text));
		}
	} else if (strcmp(how, "file") == 0) {
		if (st->n != 3) {
			conf_error(ps->errs, &st->tok[1].pos, "'log file' needs "
			    "a path");
			return;
		}
		conf->log = CONF_LOG_FILE;
		(void)replace_string(&conf->log_file,
		    resolve_path(st->tok[2].pos.file, st->tok[2].text));
	} else
		conf_error(ps->errs, &st->tok[1].pos, "unknown log destination "
		    "'%s' (expected stderr, syslog or file)", how);
}

static int
has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

#if !defined(HAVE_GLOB) && defined(_WIN32)
static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What glob(3) does for an include, with FindFirstFile: the wildcards
 * (* and ?) may stand in the last component only, and the files that
 * match, but for hidden ones (a leading dot), are read in alphabetical
 * order. */
static void
include_pattern(struct parser *ps, const char *pattern,
    const struct conf_pos *pos)
{
	WIN32_FIND_DATAA	  fd;
	HANDLE			  h;
	const char		 *sep = path_last_separator(pattern);
	size_t			  dirlen, n = 0, i;
	char			**names = NULL, **grown, *name;
	DWORD			  e;

	dirlen = sep != NULL ? (size_t)(sep - pattern) + 1 : 0;
	if ((h = FindFirstFileA(pattern, &fd)) == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		if (e != ERROR_FILE_NOT_FOUND && e != ERROR_PATH_NOT_FOUND)
			conf_error(ps->errs, pos, "cannot expand '%s'", pattern);
		return;
	}
	do {
		if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
		    fd.cFileName[0] == '.')
			continue;
		if ((name = malloc(dirlen + strlen(fd.cFileName) + 1)) == NULL)
			break;
		memcpy(name, pattern, dirlen);
		strcpy(name + dirlen, fd.cFileName);
		if ((grown = realloc(names, (n + 1) * sizeof *names)) == NULL) {
			free(name);
			break;
		}
		names = grown;
		names[n++] = name;
	} while (FindNextFileA(h, &fd));
	FindClose(h);
	qsort(names, n, sizeof *names, compare_names);
	for (i = 0; i < n; i++) {
		(void)parse_file(ps, names[i], pos);
		free(names[i]);
	}
	free(names);
}
#endif

static void
parse_include(struct parser *ps, struct statement *st)
{
	char	*path;

	if (want_args(ps, st, 1, 1) == -1)
		return;
	if (ps->depth >= CONF_INCLUDE_DEPTH) {
		conf_error(ps->errs, &st->tok[1].pos, "includes nested more "
		    "than %d deep (an include loop?)", CONF_INCLUDE_DEPTH);
		return;
	}
	if ((path = resolve_path(st->tok[1].pos.file, st->tok[1].text)) ==
	    NULL)
		return;
#ifdef HAVE_GLOB
	if (has_glob_chars(path)) {
		glob_t	g;
		size_t	i;
		int	r = glob(path, 0, NULL, &g);

		if (r == 0) {
			for (i = 0; i < g.gl_pathc; i++)
				(void)parse_file(ps, g.gl_pathv[i],
				    &st->tok[1].pos);
			globfree(&g);
		} else if (r != GLOB_NOMATCH)
			conf_error(ps->errs, &st->tok[1].pos, "cannot expand "
			    "'%s'", path);
		free(path);
		return;
	}
#elif defined(_WIN32)
	if (has_glob_chars(path)) {
		include_pattern(ps, path, &st->tok[1].pos);
		free(path);
		return;
	}
#else
	if (has_glob_chars(path)) {
		conf_error(ps->errs, &st->tok[1].pos, "patterns in include "
		    "are not supported on this system");
		free(path);
		return;
	}
#endif
	(void)parse_file(ps, path, &st->tok[1].pos);
	free(path);
}

/* "module PATH": a name without a directory is in the module directory
 * (with the system's suffix if it has none), a relative path is relative
 * to the including file's directory.  Loaded with the services. */
static void
parse_module(struct parser *ps, struct statement *st)
{
	struct config		*conf = ps->conf;
	struct conf_module	*grown;
	const char		*name;
	char			*path;
	size_t			 len;

	if (want_args(ps, st, 1, 1) == -1)
		return;
	name = st->tok[1].text;
	if (path_last_separator(name) == NULL) {
		len = strlen(HARBOR_MODULEDIR) + strlen(name) +
		    sizeof MODULE_SUFFIX + 1;
		if ((path = malloc(len)) != NULL)
			snprintf(path, len, "%s/%s%s", HARBOR_MODULEDIR, name,
			    strchr(name, '.') != NULL ? "" : MODULE_SUFFIX);
	} else
		path = resolve_path(st->tok[1].pos.file, name);
	if (path == NULL ||
	    (grown = realloc(conf->modules, (conf->nmodules + 1) *
	    sizeof *grown)) == NULL) {
		free(path);
		conf_error(ps->errs, &st->tok[1].pos, "out of memory");
		return;
	}
	conf->modules = grown;
	grown[conf->nmodules].path = path;
	grown[conf->nmodules].pos = st->tok[1].pos;
	conf->nmodules++;
}

static void
parse_global(struct parser *ps, struct lexer *lx, struct statement *st)
{
	struct config	*conf = ps->conf;
	const char	*kw = st->tok[0].text;
	long long	 v;

	if (st->end.type == TOK_OPEN) {
		if (strcmp(kw, "service") == 0)
			parse_service_block(ps, lx, st);
		else if (strcmp(kw, "defaults") == 0) {
			if (st->n != 1) {
				conf_error(ps->errs, &st->tok[1].pos,
				    "expected 'defaults {'");
				skip_block(lx);
			} else
				parse_block(ps, lx, &conf->defaults, 1,
				    &st->end.pos);
		} else {
			conf_error(ps->errs, &st->tok[0].pos, "'%s' takes no "
			    "block (blocks are 'service NAME {' and "
			    "'defaults {')", kw);
			skip_block(lx);
		}
		return;
	}
	if (strcmp(kw, "service") == 0 || strcmp(kw, "defaults") == 0) {
		conf_error(ps->errs, &st->end.pos, "expected '{' after '%s%s%s'",
		    kw, st->n > 1 ? " " : "", st->n > 1 ? st->tok[1].text : "");
	} else if (strcmp(kw, "io-threads") == 0) {
		if (want_args(ps, st, 1, 1) == 0 && number_arg(ps, &st->tok[1],
		    0, CONF_MAX_THREADS, &v) == 0)
			conf->io_threads = (int)v;
	} else if (strcmp(kw, "workers") == 0) {
		if (want_args(ps, st, 1, 1) == 0 && number_arg(ps, &st->tok[1],
		    1, CONF_MAX_THREADS, &v) == 0)
			conf->workers = (int)v;
	} else if (strcmp(kw, "max-connections") == 0) {
		if (want_args(ps, st, 1, 1) == 0 && number_arg(ps, &st->tok[1],
		    0, CONF_MAX_CONNECTIONS, &v) == 0)
			conf->max_connections = (unsigned)v;
	} else if (strcmp(kw, "queue-size") == 0) {
		if (want_args(ps, st, 1, 1) == 0 && number_arg(ps, &st->tok[1],
		    1, 10000000, &v) == 0)
			conf->queue_size = (unsigned)v;
	} else if (strcmp(kw, "log") == 0)
		parse_log(ps, st);
	else if (strcmp(kw, "pidfile") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)replace_string(&conf->pidfile,
			    resolve_path(st->tok[1].pos.file, st->tok[1].text));
	} else if (strcmp(kw, "user") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)replace_string(&conf->user,
			    strdup(st->tok[1].text));
	} else if (strcmp(kw, "group") == 0) {
		if (want_args(ps, st, 1, 1) == 0)
			(void)replace_string(&conf->group,
			    strdup(st->tok[1].text));
	} else if (strcmp(kw, "chroot") == 0) {
		if (want_args(ps, st, 1, 1) == 0) {
			if (st->tok[1].text[0] != '/')
				conf_error(ps->errs, &st->tok[1].pos, "chroot "
				    "needs an absolute path");
			else
				(void)replace_string(&conf->chroot_dir,
				    strdup(st->tok[1].text));
		}
	} else if (strcmp(kw, "shutdown-timeout") == 0) {
		if (want_args(ps, st, 1, 1) == 0 &&
		    duration_arg(ps, &st->tok[1], &v) == 0)
			conf->shutdown_ms = (unsigned)v;
	} else if (strcmp(kw, "include") == 0)
		parse_include(ps, st);
	else if (strcmp(kw, "module") == 0)
		parse_module(ps, st);
	else
		unknown_keyword(ps, &st->tok[0], global_keywords, "");
}

static void
parse_text(struct parser *ps, const char *file, const char *text, size_t len)
{
	struct lexer		 lx;
	struct statement	*st;

	lx.p = text;
	lx.end = text + len;
	lx.pos.file = file;
	lx.pos.line = 1;
	lx.pos.col = 1;
	lx.errs = ps->errs;
	if ((st = calloc(1, sizeof *st)) == NULL)
		return;
	for (;;) {
		statement_read(&lx, st);
		if (st->n > 0 && !st->bad) {
			if (st->tok[0].type != TOK_WORD)
				conf_error(ps->errs, &st->tok[0].pos,
				    "expected a keyword, not a quoted string");
			else
				parse_global(ps, &lx, st);
		} else if (st->end.type == TOK_OPEN) {
			if (st->n == 0)
				conf_error(ps->errs, &st->end.pos,
				    "unexpected '{'");
			skip_block(&lx);
		}
		if (st->end.type == TOK_CLOSE)
			conf_error(ps->errs, &st->end.pos, "unexpected '}'");
		if (st->end.type == TOK_EOF) {
			statement_clear(st);
			break;
		}
		statement_clear(st);
	}
	free(st);
}

/* Keeps the name for the config's lifetime: positions point at it. */
static const char *
remember_file(struct config *conf, const char *path)
{
	char	**grown, *copy;

	if ((copy = strdup(path)) == NULL)
		return NULL;
	grown = realloc(conf->files, (conf->nfiles + 1) * sizeof *grown);
	if (grown == NULL) {
		free(copy);
		return NULL;
	}
	conf->files = grown;
	conf->files[conf->nfiles++] = copy;
	return copy;
}

static int
parse_file(struct parser *ps, const char *path, const struct conf_pos *from)
{
	FILE		*f;
	char		*buf;
	size_t		 n;
	const char	*name;

	if ((f = fopen(path, "rb")) == NULL) {
		conf_error(ps->errs, from, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((buf = malloc(CONF_FILE_MAX + 1)) == NULL) {
		fclose(f);
		conf_error(ps->errs, from, "out of memory reading %s", path);
		return -1;
	}
	n = fread(buf, 1, CONF_FILE_MAX + 1, f);
	if (ferror(f))
		conf_error(ps->errs, from, "cannot read %s: %s", path,
		    strerror(errno));
	else if (n > CONF_FILE_MAX)
		conf_error(ps->errs, from, "%s is larger than %d bytes", path,
		    CONF_FILE_MAX);
	else if ((name = remember_file(ps->conf, path)) != NULL) {
		ps->depth++;
		parse_text(ps, name, buf, n);
		ps->depth--;
	}
	free(buf);
	fclose(f);
	return 0;
}

/* --- checks over the whole file --------------------------------------- */

static void
unknown_handler(struct conf_errors *errs, const struct conf_pos *pos,
    const char *name)
{
	const char *const	*names = harbor_builtin_handler_names();
	char			 expected[256] = "";
	size_t			 i;

	for (i = 0; names[i] != NULL; i++) {
		if (i > 0)
			strncat(expected, ", ", sizeof expected -
			    strlen(expected) - 1);
		strncat(expected, names[i], sizeof expected -
		    strlen(expected) - 1);
	}
	conf_error(errs, pos, "unknown handler '%s' (expected %s, or a "
	    "handler of a module)", name, expected);
}

static void
check_config(struct config *conf, struct conf_errors *errs)
{
	struct conf_service	*s, *t;
	const struct conf_service *d = &conf->defaults;
	char			 a[2][HARBOR_ADDRSTRLEN], b[2][HARBOR_ADDRSTRLEN];
	char			 err[256];
	const char		*handler;
	size_t			 i, j, na, nb, x, y;

	for (s = conf->services; s != NULL; s = s->next) {
		if (s->handler == NULL && d->handler == NULL)
			conf_error(errs, &s->block_pos, "service '%s' has no "
			    "handler", s->name);
		if (s->nlisten == 0)
			conf_error(errs, &s->block_pos, "service '%s' has no "
			    "listen address", s->name);
		handler = s->handler != NULL ? s->handler : d->handler;
		if (s->exec_opt != NULL && handler != NULL &&
		    strcmp(handler, "exec") != 0)
			conf_error(errs, &s->exec_opt_pos, "'%s' is only for "
			    "exec services, and service '%s' has handler %s",
			    s->exec_opt, s->name, handler);
		if (s->forward_opt != NULL && handler != NULL &&
		    strcmp(handler, "forward") != 0)
			conf_error(errs, &s->forward_opt_pos, "'%s' is only for "
			    "forward services, and service '%s' has handler "
			    "%s", s->forward_opt, s->name, handler);
		/* Switching to another user takes root; the user may come
		 * from defaults. */
		if (handler != NULL && strcmp(handler, "exec") == 0 &&
		    (s->user != NULL || s->group != NULL || d->user != NULL ||
		    d->group != NULL) && conf->user != NULL &&
		    strcmp(conf->user, "root") != 0)
			conf_error(errs, s->user != NULL || s->group != NULL ?
			    &s->exec_opt_pos : &d->exec_opt_pos, "service '%s' "
			    "runs its program as another user or group, which "
			    "harbord can do only if it keeps root ('user "
			    "root'), not as '%s'", s->name, conf->user);
		if (s->quote_file != NULL && s->handler != NULL &&
		    strcmp(s->handler, "qotd") != 0)
			conf_error(errs, &s->quote_file_pos, "quote-file is only "
			    "for handler qotd, and service '%s' has handler "
			    "%s", s->name, s->handler);
		/* The same address twice could never bind; port 0 picks a
		 * new port each time, so it may repeat. */
		for (i = 0; i < s->nlisten; i++) {
			if (harbor_listen_address_check(s->listen[i], a, &na,
			    err, sizeof err) == -1)
				continue;
			for (t = conf->services; t != NULL; t = t->next) {
				for (j = 0; j < t->nlisten; j++) {
					if (t == s && j >= i)
						break;
					if (harbor_listen_address_check(
					    t->listen[j], b, &nb, err,
					    sizeof err) == -1)
						continue;
					for (x = 0; x < na; x++)
						for (y = 0; y < nb; y++)
							if (strcmp(a[x],
							    b[y]) == 0 &&
							    strcmp(a[x] +
							    strlen(a[x]) - 2,
							    ":0") != 0)
								goto dup;
					continue;
dup:
					conf_error(errs, &s->listen_pos[i],
					    "address %s is already used by "
					    "service '%s' (at %s:%u:%u)",
					    s->listen[i], t->name,
					    t->listen_pos[j].file,
					    t->listen_pos[j].line,
					    t->listen_pos[j].col);
					goto next_listen;
				}
				if (t == s)
					break;
			}
next_listen:		;
		}
	}
}

static struct config *
config_new(void)
{
	struct config	*conf;

	if ((conf = calloc(1, sizeof *conf)) == NULL)
		return NULL;
	conf->io_threads = -1;
	conf->workers = -1;
#ifdef _WIN32
	conf->log = CONF_LOG_STDERR;	/* there is no syslog */
#else
	conf->log = CONF_LOG_SYSLOG;
#endif
	conf->shutdown_ms = CONF_DEFAULT_SHUTDOWN_MS;
	conf_service_init(&conf->defaults);
	return conf;
}

/* A handler name no built-in has is a module's: with no module to load,
 * it is a mistake now.  Known once the whole file is read, whatever else
 * is wrong in it. */
static void
check_handlers(const struct config *conf, struct conf_errors *errs)
{
	const struct conf_service	*s, *d = &conf->defaults;
	const char			*handler;

	if (conf->nmodules > 0)
		return;		/* config_make_services looks them up */
	if (d->handler != NULL && harbor_builtin_handler(d->handler) == NULL &&
	    strcmp(d->handler, "exec") != 0 &&
	    strcmp(d->handler, "forward") != 0)
		unknown_handler(errs, &d->handler_pos, d->handler);
	for (s = conf->services; s != NULL; s = s->next)
		if ((handler = s->handler) != NULL &&
		    harbor_builtin_handler(handler) == NULL &&
		    strcmp(handler, "exec") != 0 &&
		    strcmp(handler, "forward") != 0)
			unknown_handler(errs, &s->handler_pos, handler);
}

static struct config *
config_finish(struct config *conf, struct conf_errors *errs)
{
	check_handlers(conf, errs);
	if (errs->n == 0)
		check_config(conf, errs);
	if (errs->n > 0) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

struct config *
config_load_file(const char *path, struct conf_errors *errs)
{
	struct parser	 ps;
	struct config	*conf;

	if ((conf = config_new()) == NULL) {
		conf_error(errs, NULL, "out of memory");
		return NULL;
	}
	ps.conf = conf;
	ps.errs = errs;
	ps.depth = 0;
	if (parse_file(&ps, path, NULL) == -1) {
		config_free(conf);
		return NULL;
	}
	return config_finish(conf, errs);
}

struct config *
config_load_string(const char *name, const char *text,
    struct conf_errors *errs)
{
	struct parser	 ps;
	struct config	*conf;
	const char	*file;

	if ((conf = config_new()) == NULL ||
	    (file = remember_file(conf, name)) == NULL) {
		config_free(conf);
		conf_error(errs, NULL, "out of memory");
		return NULL;
	}
	ps.conf = conf;
	ps.errs = errs;
	ps.depth = 1;
	parse_text(&ps, file, text, strlen(text));
	return config_finish(conf, errs);
}

void
config_free(struct config *conf)
{
	struct conf_service	*s, *next;
	size_t			 i;

	if (conf == NULL)
		return;
	for (s = conf->services; s != NULL; s = next) {
		next = s->next;
		conf_service_free_fields(s);
		free(s);
	}
	conf_service_free_fields(&conf->defaults);
	free(conf->log_facility);
	free(conf->log_file);
	free(conf->pidfile);
	free(conf->user);
	free(conf->group);
	free(conf->chroot_dir);
	for (i = 0; i < conf->nfiles; i++)
		free(conf->files[i]);
	free(conf->files);
	for (i = 0; i < conf->nmodules; i++)
		free(conf->modules[i].path);
	free(conf->modules);
	free(conf);
}

/* --- from config to services ------------------------------------------ */

#define PICK(s, d, field, dflt) \
	((s)->field != -1 ? (s)->field : (d)->field != -1 ? (d)->field : (dflt))

#ifndef _WIN32
/* user and group names into ids, as the exec'd child will run. */
static int
exec_credentials(const struct conf_service *s, const struct conf_service *d,
    long *uid, long *gid, struct conf_errors *errs)
{
	const char		*user = s->user != NULL ? s->user : d->user;
	const char		*group = s->group != NULL ? s->group : d->group;
	const struct conf_pos	*at = s->user != NULL || s->group != NULL ?
				    &s->exec_opt_pos : &d->exec_opt_pos;

	*uid = *gid = -1;
#ifdef HAVE_PWD_H
	if (user != NULL) {
		struct passwd	*pw;

		if ((pw = getpwnam(user)) == NULL) {
			conf_error(errs, at, "service '%s': no user '%s'",
			    s->name, user);
			return -1;
		}
		*uid = (long)pw->pw_uid;
		*gid = (long)pw->pw_gid;
	}
#endif
#ifdef HAVE_GRP_H
	if (group != NULL) {
		struct group	*gr;

		if ((gr = getgrnam(group)) == NULL) {
			conf_error(errs, at, "service '%s': no group '%s'",
			    s->name, group);
			return -1;
		}
		*gid = (long)gr->gr_gid;
	}
#endif
	return 0;
}
#endif

/* env (the defaults', then the service's, a later one of a name winning),
 * passenv from harbord's own environment, max-children, user and group. */
static int
exec_settings(const struct conf_service *s, const struct conf_service *d,
    struct harbor_service *svc, struct conf_errors *errs)
{
	const struct conf_service *from[2] = { d, s };
	char			   err[512], *nv;
	const char		  *value;
	size_t			   i, k, len;
	long			   uid, gid;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < from[k]->npassenv; i++) {
			if ((value = getenv(from[k]->passenv[i])) == NULL)
				continue;
			len = strlen(from[k]->passenv[i]) + strlen(value) + 2;
			if ((nv = malloc(len)) == NULL)
				return -1;
			snprintf(nv, len, "%s=%s", from[k]->passenv[i], value);
			if (harbor_service_exec_setenv(svc, nv, err,
			    sizeof err) == -1) {
				conf_error(errs, &from[k]->exec_opt_pos, "%s",
				    err);
				free(nv);
				return -1;
			}
			free(nv);
		}
		for (i = 0; i < from[k]->nenv; i++)
			if (harbor_service_exec_setenv(svc, from[k]->env[i],
			    err, sizeof err) == -1) {
				conf_error(errs, &from[k]->env_pos[i], "%s",
				    err);
				return -1;
			}
	}
	if (PICK(s, d, max_children, -1) != -1)
		harbor_service_set_max_children(svc,
		    (unsigned)PICK(s, d, max_children, 0));
	/* Both were checked against their bounds as they were read. */
	if (PICK(s, d, stderr_rate, -1) != -1 ||
	    PICK(s, d, stderr_line_max, -1) != -1)
		(void)harbor_service_set_stderr_limits(svc,
		    (unsigned)PICK(s, d, stderr_rate,
		    HARBOR_STDERR_RATE_DEFAULT),
		    (size_t)PICK(s, d, stderr_line_max,
		    HARBOR_STDERR_LINE_DEFAULT));
#ifndef _WIN32
	if (exec_credentials(s, d, &uid, &gid, errs) == -1 ||
	    harbor_service_exec_credentials(svc, uid, gid, err,
	    sizeof err) == -1)
		return -1;
#else
	(void)uid;
	(void)gid;
#endif
	return 0;
}

/* Where a service that its handler refused is reported: at the option
 * the message names ('NAME', as harbord.conf(5) asks modules to write),
 * the quote file, or the handler. */
static const struct conf_pos *
check_error_pos(const struct conf_service *s, const struct conf_service *d,
    const char *quotes, const char *err)
{
	char	quoted[128];
	size_t	i;

	for (i = 0; i < s->nopts; i++) {
		snprintf(quoted, sizeof quoted, "'%s'", s->opts[i].name);
		if (strstr(err, quoted) != NULL)
			return &s->opts[i].pos;
	}
	if (s->quote_file != NULL)
		return &s->quote_file_pos;
	if (quotes != NULL)
		return &d->quote_file_pos;
	return s->handler != NULL ? &s->handler_pos : &s->pos;
}

struct harbor_service **
config_make_services(const struct config *conf, size_t *nout,
    struct conf_errors *errs)
{
	const struct conf_service *d = &conf->defaults;
	const struct conf_service *s, *rules, *rates;
	struct harbor_service	**svcs;
	struct harbor_service	 *svc;
	const char		 *handler, *quotes;
	char			  err[512];
	size_t			  n = 0, i;

	for (i = 0; i < conf->nmodules; i++)
		if (harbor_module_load(conf->modules[i].path, err,
		    sizeof err) == NULL) {
			conf_error(errs, &conf->modules[i].pos, "%s", err);
			return NULL;
		}
	if ((svcs = calloc(conf->nservices + 1, sizeof *svcs)) == NULL) {
		conf_error(errs, NULL, "out of memory");
		return NULL;
	}
	for (s = conf->services; s != NULL; s = s->next) {
		handler = s->handler != NULL ? s->handler : d->handler;
		if (strcmp(handler, "exec") == 0)
			svc = harbor_service_new_exec(s->name,
			    (const char *const *)s->exec_argv, err, sizeof err);
		else if (strcmp(handler, "forward") == 0)
			svc = harbor_service_new_forward(s->name, s->forward_to,
			    err, sizeof err);
		else if (harbor_handler_find(handler) == NULL) {
			unknown_handler(errs, s->handler != NULL ?
			    &s->handler_pos : &d->handler_pos, handler);
			goto fail;
		} else {
			svc = harbor_service_new(s->name,
			    harbor_handler_find(handler));
			snprintf(err, sizeof err, "cannot set up service '%s'",
			    s->name);
		}
		if (svc == NULL) {
			conf_error(errs, s->handler != NULL ? &s->handler_pos :
			    &s->pos, "%s", err);
			goto fail;
		}
		for (i = 0; i < s->nopts; i++)
			if (harbor_service_add_option(svc, s->opts[i].name,
			    s->opts[i].value) == -1) {
				conf_error(errs, &s->opts[i].pos, "out of "
				    "memory");
				goto fail_svc;
			}
		svcs[n++] = svc;
		if (strcmp(handler, "exec") == 0 &&
		    exec_settings(s, d, svc, errs) == -1)
			goto fail;
		if (strcmp(handler, "forward") == 0) {
			if (PICK(s, d, connect_timeout_ms, -1) != -1)
				(void)harbor_service_set_connect_timeout(svc,
				    (unsigned)PICK(s, d, connect_timeout_ms, 0));
			(void)harbor_service_set_send_proxy(svc,
			    (int)PICK(s, d, send_proxy, 0));
		}
		for (i = 0; i < s->nlisten; i++)
			if (harbor_service_add_listen(svc, s->listen[i], err,
			    sizeof err) == -1) {
				conf_error(errs, &s->listen_pos[i], "%s", err);
				goto fail;
			}
		/* A pool in defaults is for the handlers that can have it. */
		if (harbor_service_set_dispatch(svc, (enum harbor_dispatch)
		    PICK(s, d, dispatch, HARBOR_DISPATCH_INLINE)) == -1 &&
		    s->dispatch != -1) {
			conf_error(errs, &s->pos, "service '%s': %s runs on its "
			    "connections' I/O loops, not on the pool (dispatch "
			    "pool)", s->name, handler);
			goto fail;
		}
		harbor_service_set_framing(svc, (enum harbor_framing)
		    PICK(s, d, framing, HARBOR_FRAMING_RAW));
		if (PICK(s, d, max_connections, -1) != -1)
			harbor_service_set_max_connections(svc,
			    (unsigned)PICK(s, d, max_connections, 0));
		if (PICK(s, d, backlog, -1) != -1)
			(void)harbor_service_set_backlog(svc,
			    (unsigned)PICK(s, d, backlog, 0));
		if (PICK(s, d, max_per_source, -1) != -1)
			harbor_service_set_max_per_source(svc,
			    (unsigned)PICK(s, d, max_per_source, 0));
		if (PICK(s, d, source_prefix6, -1) != -1)
			(void)harbor_service_set_source_prefix6(svc,
			    (unsigned)PICK(s, d, source_prefix6, 0));
		/* A rate and its burst go together: both from the service,
		 * or both from defaults. */
		rates = s->rate_milli != -1 ? s : d;
		if (rates->rate_milli != -1)
			harbor_service_set_rate(svc,
			    (unsigned)rates->rate_milli,
			    (unsigned)rates->rate_burst);
		rates = s->source_rate_milli != -1 ? s : d;
		if (rates->source_rate_milli != -1)
			harbor_service_set_rate_per_source(svc,
			    (unsigned)rates->source_rate_milli,
			    (unsigned)rates->source_rate_burst);
		rates = s->log_rate_milli != -1 ? s : d;
		if (rates->log_rate_milli != -1)
			harbor_service_set_log_rate(svc,
			    (unsigned)rates->log_rate_milli,
			    (unsigned)rates->log_rate_burst);
		if (PICK(s, d, idle_timeout_ms, -1) != -1)
			harbor_service_set_idle_timeout(svc,
			    (unsigned)PICK(s, d, idle_timeout_ms, 0));
		if (PICK(s, d, session_timeout_ms, -1) != -1)
			harbor_service_set_session_timeout(svc,
			    (unsigned)PICK(s, d, session_timeout_ms, 0));
		if (PICK(s, d, max_line, -1) != -1)
			(void)harbor_service_set_max_line(svc,
			    (size_t)PICK(s, d, max_line, 0));
		/* A service with rules of its own does not take the
		 * defaults' (xinetd's only_from works the same way). */
		rules = s->nrules > 0 ? s : d;
		for (i = 0; i < rules->nrules; i++) {
			const struct conf_rule *r = &rules->rules[i];

			if ((r->allow ? harbor_service_allow :
			    harbor_service_deny)(svc, r->net, err,
			    sizeof err) == -1) {
				conf_error(errs, &r->pos, "%s", err);
				goto fail;
			}
		}
		if (PICK(s, d, proxy_versions, 0) > 0) {
			const struct conf_service *t = s->ntrusted > 0 ? s : d;

			harbor_service_set_proxy_protocol(svc,
			    (int)PICK(s, d, proxy_versions, 0),
			    (unsigned)PICK(s, d, proxy_timeout_ms, 0));
			if (t->ntrusted == 0) {
				conf_error(errs, s->proxy_versions > 0 ?
				    &s->proxy_pos : &d->proxy_pos, "service "
				    "'%s' takes PROXY headers but trusts no "
				    "proxy: add trusted-proxies", s->name);
				goto fail;
			}
			for (i = 0; i < t->ntrusted; i++)
				if (harbor_service_trust_proxy(svc,
				    t->trusted[i].net, err, sizeof err) == -1) {
					conf_error(errs, &t->trusted[i].pos,
					    "%s", err);
					goto fail;
				}
		}
		quotes = s->quote_file != NULL ? s->quote_file :
		    strcmp(handler, "qotd") == 0 ? d->quote_file : NULL;
		if (quotes != NULL &&
		    harbor_service_set_option(svc, "quote-file", quotes) == -1) {
			conf_error(errs, &s->pos, "out of memory");
			goto fail;
		}
		if (harbor_service_check(svc, err, sizeof err) == -1) {
			conf_error(errs, check_error_pos(s, d, quotes, err),
			    "%s", err);
			goto fail;
		}
	}
	*nout = n;
	return svcs;
fail_svc:
	harbor_service_free(svc);
fail:
	for (i = 0; i < n; i++)
		harbor_service_free(svcs[i]);
	free(svcs);
	return NULL;
}

const char config_default_text[] =
	"# harbord's built-in default: the classic small services on\n"
	"# 127.0.0.1, at 7000 plus their well-known ports.\n"
	"service echo    { listen 127.0.0.1:7007; handler echo }\n"
	"service discard { listen 127.0.0.1:7009; handler discard }\n"
	"service daytime { listen 127.0.0.1:7013; handler daytime }\n"
	"service qotd    { listen 127.0.0.1:7017; handler qotd }\n"
	"service chargen { listen 127.0.0.1:7019; handler chargen }\n"
	"service time    { listen 127.0.0.1:7037; handler time }\n";
