/*
 * The configuration file's words: tokens, statements, and the errors and
 * allocations of the parser.
 *
 * A statement is a keyword and its arguments, ended by a newline, ";",
 * "{" or "}".  "#" starts a comment to the end of the line.  A word is
 * made as sh(1) makes one, of pieces with no blank between them:
 * unquoted runs of anything but blanks, those, "#" and quotes, taken as
 * they are (a backslash too: C:\dir is a Windows path), and quoted
 * strings that may hold them all, up to the end of their line: between
 * single quotes as they are, between double quotes with the escapes of
 * string_escapes[] and no other.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "conf-table.h"

unsigned long	conf_alloc_fail_at;
static unsigned long	conf_allocs;

/* --- errors ----------------------------------------------------------------- */

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
	if (pos != NULL && pos->line > 0)
		n = snprintf(NULL, 0, "%s:%u:%u: %s", pos->file, pos->line,
		    pos->col, msg);
	else
		n = snprintf(NULL, 0, "%s", msg);
	/* With no memory for the line, it is counted: the caller sees that
	 * something failed, and harbord says how many it could not show. */
	if (n < 0 || (line = malloc((size_t)n + 1)) == NULL) {
		errs->dropped++;
		return;
	}
	if (pos != NULL && pos->line > 0)
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

int
conf_failed(const struct conf_errors *errs)
{
	return errs->n > 0 || errs->dropped > 0;
}

/* --- allocation ------------------------------------------------------------- */

void
conf_alloc_start(void)
{
	conf_allocs = 0;
}

static int
conf_alloc_fails(void)
{
	return conf_alloc_fail_at != 0 && ++conf_allocs >= conf_alloc_fail_at;
}

static void
out_of_memory(struct conf_errors *errs, const struct conf_pos *pos)
{
	conf_error(errs, pos, "out of memory");
}

void *
conf_malloc(struct conf_errors *errs, const struct conf_pos *pos, size_t n)
{
	void	*p = conf_alloc_fails() ? NULL : malloc(n > 0 ? n : 1);

	if (p == NULL)
		out_of_memory(errs, pos);
	return p;
}

void *
conf_realloc(struct conf_errors *errs, const struct conf_pos *pos, void *p,
    size_t n)
{
	void	*grown = conf_alloc_fails() ? NULL : realloc(p, n > 0 ? n : 1);

	if (grown == NULL)
		out_of_memory(errs, pos);
	return grown;
}

char *
conf_strdup(struct conf_errors *errs, const struct conf_pos *pos,
    const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*copy = conf_malloc(errs, pos, n);

	if (copy != NULL)
		memcpy(copy, s, n);
	return copy;
}

/* --- tokens ----------------------------------------------------------------- */

void
lexer_init(struct lexer *lx, const char *file, const char *text, size_t len,
    struct conf_errors *errs)
{
	lx->p = text;
	lx->end = text + len;
	lx->pos.file = file;
	lx->pos.line = 1;
	lx->pos.col = 1;
	lx->errs = errs;
}

static int
is_word_char(char c)
{
	return c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '#' &&
	    c != ';' && c != '{' && c != '}' && c != '"' && c != '\'' &&
	    c != '\0';
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

/* What may follow a backslash between double quotes, and what the pair
 * stands for; harbord.conf(5) lists the same (unit_conftable checks). */
static const struct {
	char	name;
	char	value;
} string_escapes[] = {
	{ '\\', '\\' }, { '"', '"' }, { 't', '\t' }, { 'n', '\n' }
};
#define NESCAPES	(sizeof string_escapes / sizeof string_escapes[0])

const char *
conf_string_escapes(void)
{
	static char	names[NESCAPES + 1];
	size_t		i;

	for (i = 0; i < NESCAPES; i++)
		names[i] = string_escapes[i].name;
	return names;
}

static void
bad_escape(struct lexer *lx, char c)
{
	char	expected[4 * NESCAPES * 4], one[16];
	size_t	i;

	expected[0] = '\0';
	for (i = 0; i < NESCAPES; i++) {
		if (i > 0)
			strlcat(expected, i == NESCAPES - 1 ? " or " : ", ",
			    sizeof expected);
		snprintf(one, sizeof one, "\\%c", string_escapes[i].name);
		strlcat(expected, one, sizeof expected);
	}
	if (c > ' ' && c < 0x7f)
		conf_error(lx->errs, &lx->pos, "unknown escape '\\%c' in a "
		    "double-quoted string (expected %s; single quotes take "
		    "a backslash as it is)", c, expected);
	else
		conf_error(lx->errs, &lx->pos, "unknown escape: a backslash "
		    "and byte 0x%02x in a double-quoted string (expected %s)",
		    (unsigned)(unsigned char)c, expected);
}

/* A backslash between double quotes and what follows it: the character
 * it stands for, or -1 after an error. */
static int
lex_escape(struct lexer *lx)
{
	char	c = lx->p[1];
	size_t	i;

	for (i = 0; i < NESCAPES; i++)
		if (string_escapes[i].name == c)
			break;
	if (i == NESCAPES)
		bad_escape(lx, c);
	lex_advance(lx);
	lex_advance(lx);
	return i == NESCAPES ? -1 : (unsigned char)string_escapes[i].value;
}

/* A quoted piece of a value, at its opening quote, to its closing quote
 * on the same line, appended at *out (NULL: no memory, read all the
 * same).  Each mistake in it is said; then -1. */
static int
lex_quoted(struct lexer *lx, char **out)
{
	struct conf_pos	 open = lx->pos;
	char		 quote = *lx->p;
	int		 c, r = 0;

	lex_advance(lx);
	while (lx->p < lx->end && *lx->p != quote && *lx->p != '\n') {
		if (*lx->p == '\0') {
			conf_error(lx->errs, &lx->pos, "NUL byte in the file");
			lex_advance(lx);
			r = -1;
			continue;
		}
		/* A backslash at the end of the line is left to end the
		 * string unterminated. */
		if (quote == '"' && *lx->p == '\\' && lx->p + 1 < lx->end &&
		    lx->p[1] != '\n') {
			if ((c = lex_escape(lx)) == -1)
				r = -1;
		} else {
			c = (unsigned char)*lx->p;
			lex_advance(lx);
		}
		if (*out != NULL && c != -1)
			*(*out)++ = (char)c;
	}
	if (lx->p >= lx->end || *lx->p != quote) {
		conf_error(lx->errs, &open, "unterminated string");
		return -1;
	}
	lex_advance(lx);
	return r;
}

/* A value: unquoted and quoted pieces with nothing between them make
 * one word, as in sh(1) (--name="a b" is "--name=a b").  A value with a
 * quoted piece is a TOK_STRING, which no keyword is. */
static int
lex_value(struct lexer *lx, struct token *t)
{
	const char	*eol = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
	size_t		 room = (size_t)((eol != NULL ? eol : lx->end) - lx->p);
	char		*out;
	int		 r = 0;

	t->type = TOK_WORD;
	/* A value ends on its line, and escapes only shorten it: what is
	 * left of the line holds it.  Without memory it is still read to
	 * its end, so that the next token starts where it should. */
	if ((out = t->text = conf_malloc(lx->errs, &t->pos, room + 1)) == NULL)
		r = -1;
	while (lx->p < lx->end) {
		if (*lx->p == '"' || *lx->p == '\'') {
			t->type = TOK_STRING;
			if (lex_quoted(lx, &out) == -1)
				r = -1;
		} else if (is_word_char(*lx->p)) {
			if (out != NULL)
				*out++ = *lx->p;
			lex_advance(lx);
		} else
			break;
	}
	if (out != NULL)
		*out = '\0';
	return r;
}

/* Returns 0, or -1 after an error (the token is then skipped). */
static int
lex_next(struct lexer *lx, struct token *t)
{
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
	case '\0':
		conf_error(lx->errs, &t->pos, "NUL byte in the file");
		lex_advance(lx);
		t->type = TOK_END;
		return -1;
	default:
		return lex_value(lx, t);
	}
}

/* --- statements ------------------------------------------------------------- */

void
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

void
statement_read(struct lexer *lx, struct statement *st)
{
	struct token	t;

	st->n = 0;
	st->bad = 0;
	for (;;) {
		if (lex_next(lx, &t) == -1) {
			/* Said already; the statement is not used. */
			st->bad = 1;
			free(t.text);
			t.text = NULL;
			if (t.type == TOK_STRING || t.type == TOK_WORD)
				continue;
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

void
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

char *
statement_take(struct statement *st, size_t i)
{
	char	*text = st->tok[i].text;

	st->tok[i].text = NULL;
	return text;
}
