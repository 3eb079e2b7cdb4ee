/*
 * The configuration file's words: tokens, statements, and the errors and
 * allocations of the parser.
 *
 * A statement is a keyword and its arguments, ended by a newline, ";",
 * "{" or "}".  Words are runs of anything but blanks and those; a quoted
 * string may hold them, with "\" escaping the next character.  "#" starts
 * a comment to the end of the line.
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

/* A quoted string, the opening quote read: its text without the escapes. */
static int
lex_string(struct lexer *lx, struct token *t)
{
	const char	*start = lx->p;
	char		*out;
	size_t		 n = 0;

	t->type = TOK_STRING;
	while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n') {
		if (*lx->p == '\\' && lx->p + 1 < lx->end && lx->p[1] != '\n')
			lex_advance(lx);
		lex_advance(lx);
		n++;
	}
	if (lx->p >= lx->end || *lx->p != '"') {
		conf_error(lx->errs, &t->pos, "unterminated string");
		return -1;
	}
	if ((out = t->text = conf_malloc(lx->errs, &t->pos, n + 1)) == NULL) {
		lex_advance(lx);
		return -1;
	}
	while (start < lx->p) {
		if (*start == '\\')
			start++;
		*out++ = *start++;
	}
	*out = '\0';
	lex_advance(lx);
	return 0;
}

/* Returns 0, or -1 after an error (the token is then skipped). */
static int
lex_next(struct lexer *lx, struct token *t)
{
	const char	*start;
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
		return lex_string(lx, t);
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
		t->type = TOK_WORD;
		if ((t->text = conf_malloc(lx->errs, &t->pos, n + 1)) == NULL)
			return -1;
		memcpy(t->text, start, n);
		t->text[n] = '\0';
		return 0;
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
