/*
 * The configuration file (harbord.conf(5)): files, includes and blocks,
 * each statement read by its keyword's entry in the table (conf-table.c);
 * the keywords with a syntax of their own are in conf-special.c, the
 * checks that need the whole file in conf-check.c.
 *
 * An error skips to the next statement and the rest of the file is still
 * checked: harbord -n lists every mistake at once, each with
 * file:line:column.
 */
#include "autoconfig.h"

#include <errno.h>
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

#include "compat.h"
#include "conf-table.h"

#define CONF_FILE_MAX		(16 * 1024 * 1024)
#define CONF_INCLUDE_DEPTH	16

static int	parse_file(struct parser *, const char *path,
		    const struct conf_pos *from);
static void	parse_text(struct parser *, const char *file, const char *text,
		    size_t len);

/* --- includes -------------------------------------------------------------- */

static int
has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* What a pattern matched, kept for the snapshot: the names, each ending
 * with its NUL. */
static void
include_recorded(struct parser *ps, const char *pattern, char *const *names,
    size_t n)
{
	char	*buf, *p;
	size_t	 len = 0, i;

	if (ps->record == NULL)
		return;
	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	if ((buf = malloc(len + 1)) == NULL) {
		ps->record_failed = 1;
		return;
	}
	for (p = buf, i = 0; i < n; i++) {
		memcpy(p, names[i], strlen(names[i]) + 1);
		p += strlen(names[i]) + 1;
	}
	if (conf_snapshot_add(ps->record, CONF_SNAP_PATTERN, pattern, buf,
	    len) == -1)
		ps->record_failed = 1;
	free(buf);
}

/* A pattern, replayed: the files it matched when the snapshot was made. */
static void
include_replayed(struct parser *ps, const char *pattern,
    const struct conf_pos *pos)
{
	const char	*names, *p;
	size_t		 len;

	if ((names = conf_snapshot_find(ps->replay, CONF_SNAP_PATTERN,
	    pattern, &len)) == NULL) {
		conf_error(ps->errs, pos, "cannot expand '%s': not among the "
		    "patterns read", pattern);
		return;
	}
	for (p = names; p < names + len; p += strlen(p) + 1)
		(void)parse_file(ps, p, pos);
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
	const char		 *sep = conf_path_last_separator(pattern);
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
		if ((name = conf_malloc(ps->errs, pos, dirlen +
		    strlen(fd.cFileName) + 1)) == NULL)
			break;
		memcpy(name, pattern, dirlen);
		strcpy(name + dirlen, fd.cFileName);
		if ((grown = conf_realloc(ps->errs, pos, names, (n + 1) *
		    sizeof *names)) == NULL) {
			free(name);
			break;
		}
		names = grown;
		names[n++] = name;
	} while (FindNextFileA(h, &fd));
	FindClose(h);
	qsort(names, n, sizeof *names, compare_names);
	include_recorded(ps, pattern, names, n);
	for (i = 0; i < n; i++) {
		(void)parse_file(ps, names[i], pos);
		free(names[i]);
	}
	free(names);
}
#endif

int
conf_parse_include(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	char	*path;

	if (conf_want_args(ps, st, 1, 1) == -1)
		return -1;
	if (ps->depth >= CONF_INCLUDE_DEPTH) {
		conf_error(ps->errs, &st->tok[1].pos, "includes nested more "
		    "than %d deep (an include loop?)", CONF_INCLUDE_DEPTH);
		return -1;
	}
	if ((path = conf_resolve_path(ps, &st->tok[1])) == NULL)
		return -1;
	if (has_glob_chars(path) && ps->replay != NULL)
		include_replayed(ps, path, &st->tok[1].pos);
	else if (has_glob_chars(path)) {
#ifdef HAVE_GLOB
		glob_t	g;
		size_t	i;
		int	r = glob(path, 0, NULL, &g);

		if (r == 0) {
			include_recorded(ps, path, g.gl_pathv, g.gl_pathc);
			for (i = 0; i < g.gl_pathc; i++)
				(void)parse_file(ps, g.gl_pathv[i],
				    &st->tok[1].pos);
			globfree(&g);
		} else if (r == GLOB_NOMATCH)
			include_recorded(ps, path, NULL, 0);
		else
			conf_error(ps->errs, &st->tok[1].pos, "cannot expand "
			    "'%s'%s", path, r == GLOB_NOSPACE ?
			    ": out of memory" : "");
#elif defined(_WIN32)
		include_pattern(ps, path, &st->tok[1].pos);
#else
		conf_error(ps->errs, &st->tok[1].pos, "patterns in include "
		    "are not supported on this system");
#endif
	} else
		(void)parse_file(ps, path, &st->tok[1].pos);
	free(path);
	return 0;
}

/* --- blocks ----------------------------------------------------------------- */

static void
conf_service_free_fields(struct conf_service *svc)
{
	size_t	i;

	conf_words_free(&svc->listen);
	for (i = 0; i < svc->rules.n; i++)
		free(svc->rules.v[i].net);
	free(svc->rules.v);
	for (i = 0; i < svc->trusted.n; i++)
		free(svc->trusted.v[i].net);
	free(svc->trusted.v);
	free(svc->name);
	free(svc->handler);
	free(svc->quote_file);
	conf_words_free(&svc->exec_argv);
	free(svc->forward_to);
	conf_words_free(&svc->env);
	conf_words_free(&svc->passenv);
	free(svc->user);
	free(svc->group);
	for (i = 0; i < svc->nopts; i++) {
		free(svc->opts[i].name);
		free(svc->opts[i].value);
	}
	free(svc->opts);
}

/* One statement of a service block, or of a defaults block; first is
 * where each keyword first stood in the block. */
static void
service_statement(struct parser *ps, struct conf_service *svc,
    int is_defaults, struct statement *st, struct conf_pos *first)
{
	const struct conf_keyword	*kw;
	char				 where[128];

	if ((kw = conf_keyword_named(st->tok[0].text, CONF_SERVICE)) == NULL) {
		if (is_defaults)
			snprintf(where, sizeof where, " in defaults");
		else
			snprintf(where, sizeof where, " in service '%s'",
			    svc->name);
		conf_unknown_keyword(ps, &st->tok[0], CONF_SERVICE, where);
		return;
	}
	if (is_defaults && (kw->flags & CONF_NOT_DEFAULTS)) {
		conf_error(ps->errs, &st->tok[0].pos, "'%s' is not allowed in "
		    "defaults (each service has its own)", kw->name);
		return;
	}
	if (conf_keyword_again(ps, kw, st, first))
		return;
	conf_keyword_read(ps, kw, st, svc, svc->set);
}

/* Reads a block's statements up to its "}".  Several defaults blocks
 * fill one struct, a later value replacing an earlier one: a keyword
 * stands once in each block, not once in them all. */
static void
parse_block(struct parser *ps, struct lexer *lx, struct conf_service *svc,
    int is_defaults, const struct conf_pos *open)
{
	struct statement	*st;
	struct conf_pos		 first[CONF_KEYWORDS_MAX];

	if ((st = conf_malloc(ps->errs, open, sizeof *st)) == NULL) {
		skip_block(lx);
		return;
	}
	memset(st, 0, sizeof *st);
	memset(first, 0, sizeof first);
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
				service_statement(ps, svc, is_defaults, st,
				    first);
		}
		if (st->end.type == TOK_EOF)
			conf_error(ps->errs, open, "'{' is never closed");
		if (st->end.type == TOK_EOF || st->end.type == TOK_CLOSE)
			break;
		statement_clear(st);
	}
	statement_clear(st);
	free(st);
}

static struct conf_service *
find_service(struct config *conf, const char *name)
{
	struct conf_service	*s;

	for (s = conf->services; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static int
service_name_ok(const char *p)
{
	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.'))
			return 0;
	return 1;
}

static void
parse_service_block(struct parser *ps, struct lexer *lx, struct statement *st)
{
	struct config		*conf = ps->conf;
	struct conf_service	*svc, *dup, **tail;

	if (st->n != 2) {
		conf_error(ps->errs, st->n < 2 ? &st->end.pos :
		    &st->tok[2].pos, "expected 'service NAME {'");
		skip_block(lx);
		return;
	}
	if (!service_name_ok(st->tok[1].text)) {
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
	if ((svc = conf_malloc(ps->errs, &st->tok[1].pos, sizeof *svc)) ==
	    NULL) {
		skip_block(lx);
		return;
	}
	memset(svc, 0, sizeof *svc);
	svc->name = statement_take(st, 1);
	svc->pos = st->tok[1].pos;
	svc->block_pos = st->tok[0].pos;
	for (tail = &conf->services; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = svc;
	conf->nservices++;
	parse_block(ps, lx, svc, 0, &st->end.pos);
}

/* --- the top level ---------------------------------------------------------- */

static void
parse_global(struct parser *ps, struct lexer *lx, struct statement *st)
{
	struct config			*conf = ps->conf;
	const char			*kw = st->tok[0].text;
	const struct conf_keyword	*k;

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
	if (strcmp(kw, "service") == 0 || strcmp(kw, "defaults") == 0)
		conf_error(ps->errs, &st->end.pos, "expected '{' after '%s%s%s'",
		    kw, st->n > 1 ? " " : "", st->n > 1 ? st->tok[1].text : "");
	else if ((k = conf_keyword_named(kw, CONF_GLOBAL)) != NULL) {
		if (!conf_keyword_again(ps, k, st, ps->global_first))
			conf_keyword_read(ps, k, st, conf, conf->set);
	}
	else
		conf_unknown_keyword(ps, &st->tok[0], CONF_GLOBAL, "");
}

static void
parse_text(struct parser *ps, const char *file, const char *text, size_t len)
{
	struct lexer		 lx;
	struct statement	*st;
	struct conf_pos		 start = { file, 1, 1 };

	lexer_init(&lx, file, text, len, ps->errs);
	if ((st = conf_malloc(ps->errs, &start, sizeof *st)) == NULL)
		return;
	memset(st, 0, sizeof *st);
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
		if (st->end.type == TOK_EOF)
			break;
		statement_clear(st);
	}
	statement_clear(st);
	free(st);
}

/* Keeps the name for the config's lifetime: positions point at it. */
static const char *
remember_file(struct parser *ps, const char *path,
    const struct conf_pos *from)
{
	struct config	*conf = ps->conf;
	char		**grown, *copy;

	if ((copy = conf_strdup(ps->errs, from, path)) == NULL)
		return NULL;
	if ((grown = conf_realloc(ps->errs, from, conf->files,
	    (conf->nfiles + 1) * sizeof *grown)) == NULL) {
		free(copy);
		return NULL;
	}
	conf->files = grown;
	conf->files[conf->nfiles++] = copy;
	return copy;
}

/* The file's text: from the snapshot replayed, or read (and recorded).
 * NULL after an error, said. */
static char *
file_text(struct parser *ps, const char *path, const struct conf_pos *from,
    size_t *len)
{
	FILE		*f;
	char		*buf;
	const char	*kept;
	size_t		 n;

	if (ps->replay != NULL) {
		if ((kept = conf_snapshot_find(ps->replay, CONF_SNAP_FILE, path,
		    &n)) == NULL) {
			conf_error(ps->errs, from, "cannot open %s: not among "
			    "the files read", path);
			return NULL;
		}
		if ((buf = conf_malloc(ps->errs, from, n + 1)) != NULL)
			memcpy(buf, kept, n + 1);
		*len = n;
		return buf;
	}
	if ((f = fopen(path, "rb")) == NULL) {
		conf_error(ps->errs, from, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((buf = conf_malloc(ps->errs, from, CONF_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, CONF_FILE_MAX + 1, f);
	if (ferror(f)) {
		conf_error(ps->errs, from, "cannot read %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (n > CONF_FILE_MAX) {
		conf_error(ps->errs, from, "%s is larger than %d bytes", path,
		    CONF_FILE_MAX);
		goto fail;
	}
	if (ps->record != NULL && conf_snapshot_add(ps->record, CONF_SNAP_FILE,
	    path, buf, n) == -1)
		ps->record_failed = 1;
	fclose(f);
	*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

static int
parse_file(struct parser *ps, const char *path, const struct conf_pos *from)
{
	char		*buf;
	size_t		 n;
	const char	*name;

	if ((buf = file_text(ps, path, from, &n)) == NULL)
		return -1;
	if ((name = remember_file(ps, path, from)) != NULL) {
		ps->depth++;
		parse_text(ps, name, buf, n);
		ps->depth--;
	}
	free(buf);
	return 0;
}

/* --- the whole configuration ------------------------------------------------ */

static struct config *
config_new(struct conf_errors *errs)
{
	struct config	*conf;
	size_t		 i, n = conf_keyword_count();

	conf_alloc_start();
	if ((conf = conf_malloc(errs, NULL, sizeof *conf)) == NULL)
		return NULL;
	memset(conf, 0, sizeof *conf);
	for (i = 0; i < n; i++)
		if (conf_keywords[i].flags & CONF_DEFAULTED)
			*CONF_FIELD(conf, &conf_keywords[i], long long) =
			    conf_keywords[i].dflt;
	return conf;
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
	free(conf->control_socket);
	free(conf->control_group);
	free(conf->user);
	free(conf->group);
	free(conf->chroot_dir);
	for (i = 0; i < conf->nfiles; i++)
		free(conf->files[i]);
	free(conf->files);
	for (i = 0; i < conf->nmodules; i++)
		free(conf->modules[i].path);
	free(conf->modules);
	for (i = 0; i < conf->naccounts; i++)
		free(conf->accounts[i].name);
	free(conf->accounts);
	free(conf);
}

static struct config *
config_finish(struct config *conf, struct conf_errors *errs)
{
	conf_check_handlers(conf, errs);
	if (!conf_failed(errs))
		conf_check(conf, errs);
	if (conf_failed(errs)) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

/* A new configuration and a parser for it; NULL after an error. */
static struct config *
parser_start(struct parser *ps, struct conf_errors *errs, int depth)
{
	memset(ps, 0, sizeof *ps);
	if ((ps->conf = config_new(errs)) == NULL)
		return NULL;
	ps->errs = errs;
	ps->depth = depth;
	return ps->conf;
}

struct config *
config_load_file(const char *path, struct conf_errors *errs)
{
	struct parser	ps;

	if (parser_start(&ps, errs, 0) == NULL)
		return NULL;
	(void)parse_file(&ps, path, NULL);
	return config_finish(ps.conf, errs);
}

struct config *
config_load_file_recorded(const char *path, struct conf_errors *errs,
    struct conf_snapshot **snap)
{
	struct parser	ps;

	*snap = NULL;
	if (parser_start(&ps, errs, 0) == NULL)
		return NULL;
	if ((ps.record = conf_snapshot_new()) == NULL)
		ps.record_failed = 1;
	(void)parse_file(&ps, path, NULL);
	if (ps.record_failed)
		conf_error(errs, NULL, "out of memory keeping %s as read, or "
		    "more than %d bytes or %d files", path, CONF_SNAP_BYTES_MAX,
		    CONF_SNAP_ENTRIES_MAX);
	if ((ps.conf = config_finish(ps.conf, errs)) == NULL)
		conf_snapshot_free(ps.record);
	else
		*snap = ps.record;
	return ps.conf;
}

struct config *
config_load_snapshot(const struct conf_snapshot *snap,
    struct conf_errors *errs)
{
	struct parser	 ps;
	const char	*path = conf_snapshot_main(snap);

	if (parser_start(&ps, errs, 0) == NULL)
		return NULL;
	ps.replay = snap;
	if (path == NULL)
		conf_error(errs, NULL, "an empty configuration snapshot");
	else
		(void)parse_file(&ps, path, NULL);
	if (conf_snapshot_take_accounts(snap, ps.conf) == -1)
		conf_error(errs, NULL, "a malformed account in the "
		    "configuration snapshot");
	return config_finish(ps.conf, errs);
}

struct config *
config_load_string(const char *name, const char *text,
    struct conf_errors *errs)
{
	struct parser	 ps;
	const char	*file;

	if (parser_start(&ps, errs, 1) == NULL)
		return NULL;
	if ((file = remember_file(&ps, name, NULL)) != NULL)
		parse_text(&ps, file, text, strlen(text));
	return config_finish(ps.conf, errs);
}
