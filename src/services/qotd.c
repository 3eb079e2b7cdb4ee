/*
 * qotd (RFC 865): one quote, picked at random, then close.
 *
 * Quotes come from the service's quote-file, read once when the service
 * starts (and again on reload): quotes separated by lines holding a single
 * "%" (fortune(6) format) or, in a file with no such line, one quote per
 * non-empty line.  The RFC asks for under 512 characters; a longer quote is
 * an error naming its line, not something cut short at serving time.
 * Quotes are stored with CRLF line endings, ready to send.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>

#include "harbor.h"
#include "services.h"

#define QOTD_MAX		512		/* RFC 865: fewer than this */
#define QOTD_FILE_MAX		(4 * 1024 * 1024)

struct quote {
	char	*text;
	size_t	 len;
};

struct quotes {
	struct quote	*q;
	size_t		 n;
};

static const char *const builtin_quotes[] = {
	"A journey of a thousand miles begins with a single step.",
	"Measure twice, cut once.",
	"Still waters run deep.",
	"Many hands make light work.",
	"The early bird catches the worm.",
	"Where there is smoke, there is fire.",
	"A rolling stone gathers no moss.",
	"Fortune favours the prepared mind.",
};

void
quotes_free(void *arg)
{
	struct quotes	*qs = arg;
	size_t		 i;

	if (qs == NULL)
		return;
	for (i = 0; i < qs->n; i++)
		free(qs->q[i].text);
	free(qs->q);
	free(qs);
}

/* Adds lines [first, end) of the text as one quote, with CRLF endings. */
static int
quotes_add(struct quotes *qs, const char *first, const char *end,
    const char *path, unsigned line, char *err, size_t errlen)
{
	struct quote	*grown;
	const char	*p, *eol;
	char		*text;
	size_t		 len = 0, cap;

	/* Trailing blank lines are not part of the quote. */
	while (end > first && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (end == first)
		return 0;
	cap = (size_t)(end - first) * 2 + 3;
	if ((text = malloc(cap)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (p = first; p < end; p = eol + 1) {
		size_t	n;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		memcpy(text + len, p, n);
		len += n;
		text[len++] = '\r';
		text[len++] = '\n';
	}
	if (len >= QOTD_MAX) {
		free(text);
		snprintf(err, errlen, "%s:%u: quote of %zu bytes is too long "
		    "(RFC 865 allows fewer than %d)", path, line, len, QOTD_MAX);
		return -1;
	}
	grown = realloc(qs->q, (qs->n + 1) * sizeof *grown);
	if (grown == NULL) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	qs->q = grown;
	qs->q[qs->n].text = text;
	qs->q[qs->n].len = len;
	qs->n++;
	return 0;
}

static int
is_separator(const char *line, const char *eol)
{
	return eol - line >= 1 && line[0] == '%' &&
	    (eol - line == 1 || (eol - line == 2 && line[1] == '\r'));
}

int
qotd_parse(const char *text, size_t size, const char *path, void **out,
    char *err, size_t errlen)
{
	struct quotes	*qs;
	const char	*p, *eol, *end = text + size, *start;
	unsigned	 line, start_line;
	int		 fortune = 0;

	if ((qs = calloc(1, sizeof *qs)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (memchr(text, '\0', size) != NULL) {
		snprintf(err, errlen, "%s: not a text file (NUL byte)", path);
		goto fail;
	}
	for (p = text; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (is_separator(p, eol)) {
			fortune = 1;
			break;
		}
	}

	start = text;
	start_line = 1;
	for (p = text, line = 1; p < end; p = eol + 1, line++) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (fortune ? is_separator(p, eol) : 1) {
			const char *qend = fortune ? p :
			    (eol < end ? eol + 1 : end);
			const char *qstart = fortune ? start : p;
			unsigned    qline = fortune ? start_line : line;

			/* Leading blank lines are not part of it either. */
			while (qstart < qend &&
			    (*qstart == '\n' || *qstart == '\r')) {
				if (*qstart == '\n')
					qline++;
				qstart++;
			}
			if (quotes_add(qs, qstart, qend, path, qline, err,
			    errlen) == -1)
				goto fail;
			start = eol < end ? eol + 1 : end;
			start_line = line + 1;
		}
	}
	if (fortune) {
		while (start < end && (*start == '\n' || *start == '\r')) {
			if (*start == '\n')
				start_line++;
			start++;
		}
		if (quotes_add(qs, start, end, path, start_line, err,
		    errlen) == -1)
			goto fail;
	}
	if (qs->n == 0) {
		snprintf(err, errlen, "%s: no quotes in it", path);
		goto fail;
	}
	*out = qs;
	return 0;
fail:
	quotes_free(qs);
	return -1;
}

size_t
quotes_count(const void *quotes)
{
	return ((const struct quotes *)quotes)->n;
}

const char *
quotes_get(const void *quotes, size_t i, size_t *len)
{
	const struct quotes	*qs = quotes;

	*len = qs->q[i].len;
	return qs->q[i].text;
}

static int
qotd_load(const char *path, void **out, char *err, size_t errlen)
{
	FILE	*f;
	char	*buf;
	size_t	 n;
	int	 r;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "cannot open quote-file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((buf = malloc(QOTD_FILE_MAX + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = fread(buf, 1, QOTD_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read quote-file %s: %s", path,
		    strerror(errno));
		r = -1;
	} else if (n > QOTD_FILE_MAX) {
		snprintf(err, errlen, "quote-file %s is larger than %d bytes",
		    path, QOTD_FILE_MAX);
		r = -1;
	} else
		r = qotd_parse(buf, n, path, out, err, errlen);
	free(buf);
	fclose(f);
	return r;
}

static const char *const qotd_options[] = { "quote-file", NULL };

static int
qotd_service_init(struct harbor_service *svc, void **state, char *err,
    size_t errlen)
{
	const char	*path = harbor_service_option(svc, "quote-file");
	struct quotes	*qs;
	size_t		 i;

	if (harbor_service_check_options(svc, qotd_options, err,
	    errlen) == -1)
		return -1;
	if (path != NULL)
		return qotd_load(path, state, err, errlen);
	if ((qs = calloc(1, sizeof *qs)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < sizeof builtin_quotes / sizeof builtin_quotes[0]; i++) {
		const char *t = builtin_quotes[i];

		if (quotes_add(qs, t, t + strlen(t), "built-in quotes",
		    (unsigned)i + 1, err, errlen) == -1) {
			quotes_free(qs);
			return -1;
		}
	}
	*state = qs;
	return 0;
}

static void
qotd_open(struct harbor_conn *conn)
{
	const struct quotes	*qs = harbor_conn_service_state(conn);
	uint32_t		 r;

	const char		*text;
	size_t			 len;

	evutil_secure_rng_get_bytes(&r, sizeof r);
	text = quotes_get(qs, r % quotes_count(qs), &len);
	(void)harbor_conn_write(conn, text, len);
	harbor_conn_close(conn);
}

const struct harbor_handler handler_qotd = {
	HARBOR_HANDLER_V1,
	.name = "qotd",
	.service_init = qotd_service_init,
	.service_free = quotes_free,
	.open = qotd_open,
};
