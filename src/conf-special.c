/*
 * The keywords with a syntax of their own, that the table (conf-table.c)
 * gives a function: log, module, listen, handler, exec, forward, option,
 * env and passenv.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "conf-table.h"

#ifdef _WIN32
#define MODULE_SUFFIX		".dll"
#else
#define MODULE_SUFFIX		".so"
#endif

static const char *const syslog_facilities[] = {
	"auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail",
	"news", "syslog", "user", "uucp", "local0", "local1", "local2",
	"local3", "local4", "local5", "local6", "local7", NULL
};

/* log stderr | syslog [FACILITY] | file PATH */
int
conf_parse_log(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct config	*conf = block;
	const char	*how;
	char		*v;
	int		 i;

	if (conf_want_args(ps, st, 1, 2) == -1)
		return -1;
	how = st->tok[1].text;
	if (strcmp(how, "stderr") == 0) {
		if (conf_want_args(ps, st, 1, 1) == -1)
			return -1;
		conf->log = CONF_LOG_STDERR;
	} else if (strcmp(how, "syslog") == 0) {
#ifdef _WIN32
		/* Said at load time, not when the log is opened: a config
		 * that passes harbord -n must run. */
		conf_error(ps->errs, &st->tok[1].pos, "'log syslog' is not "
		    "available: Windows has no syslog (use 'log stderr' or "
		    "'log file PATH')");
		return -1;
#endif
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
				return -1;
			}
			free(conf->log_facility);
			conf->log_facility = statement_take(st, 2);
		}
		conf->log = CONF_LOG_SYSLOG;
	} else if (strcmp(how, "file") == 0) {
		if (st->n != 3) {
			conf_error(ps->errs, &st->tok[1].pos, "'log file' needs "
			    "a path");
			return -1;
		}
		if ((v = conf_resolve_path(ps, &st->tok[2])) == NULL)
			return -1;
		free(conf->log_file);
		conf->log_file = v;
		conf->log = CONF_LOG_FILE;
	} else {
		conf_error(ps->errs, &st->tok[1].pos, "unknown log destination "
		    "'%s' (expected stderr, syslog or file)", how);
		return -1;
	}
	return 0;
}

/* "module PATH": a name without a directory is in the module directory
 * (with the system's suffix if it has none), a relative path is relative
 * to the including file's directory.  Loaded with the services. */
int
conf_parse_module(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct config		*conf = block;
	struct conf_module	*grown;
	const char		*name;
	char			*path;
	size_t			 len;

	if (conf_want_args(ps, st, 1, 1) == -1)
		return -1;
	name = st->tok[1].text;
	if (conf_path_last_separator(name) == NULL) {
		len = strlen(HARBOR_MODULEDIR) + strlen(name) +
		    sizeof MODULE_SUFFIX + 1;
		if ((path = conf_malloc(ps->errs, &st->tok[1].pos, len)) !=
		    NULL)
			snprintf(path, len, "%s/%s%s", HARBOR_MODULEDIR, name,
			    strchr(name, '.') != NULL ? "" : MODULE_SUFFIX);
	} else
		path = conf_resolve_path(ps, &st->tok[1]);
	if (path == NULL)
		return -1;
	if ((grown = conf_realloc(ps->errs, &st->tok[1].pos, conf->modules,
	    (conf->nmodules + 1) * sizeof *grown)) == NULL) {
		free(path);
		return -1;
	}
	conf->modules = grown;
	grown[conf->nmodules].path = path;
	grown[conf->nmodules].pos = st->tok[1].pos;
	conf->nmodules++;
	return 0;
}

/* Checks a word of a list: 0, or -1 having said what is wrong. */
typedef int word_check_fn(struct parser *ps, const struct token *t);

/* The statement's words, each checked, added to a list; a bad one is
 * said, and the others are still checked. */
static int
read_words(struct parser *ps, struct statement *st, struct conf_words *w,
    word_check_fn *ok)
{
	size_t	i;
	int	r = 0;

	if (conf_want_args(ps, st, 1, CONF_STATEMENT_MAX - 1) == -1)
		return -1;
	for (i = 1; i < st->n; i++) {
		if (ok(ps, &st->tok[i]) == -1)
			r = -1;
		else if (conf_words_add(ps, w, st, i) == -1)
			return -1;
	}
	return r;
}

/* The length of the scheme an address starts with ("udp:", "tcp6:",
 * "unix:", "tcp-listen:"), or 0.  A scheme is a letter and letters,
 * digits, '+', '-' or '.', with a letter that is no hex digit (so that
 * it is no piece of an unbracketed IPv6 address, "fe80::1"), and a ':'
 * after it that is not followed by a port alone: "localhost:7" is a host
 * name, which the library's message explains. */
static size_t
scheme_length(const char *a)
{
	const char	*p = a, *port;
	int		 hex_only = 1;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	for (; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.';
	    p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		    (*p >= 'A' && *p <= 'F')))
			hex_only = 0;
	if (*p != ':' || hex_only)
		return 0;
	for (port = p + 1; *port >= '0' && *port <= '9'; port++)
		;
	if (port > p + 1 && *port == '\0')
		return 0;
	return (size_t)(p + 1 - a);
}

static int
address_ok(struct parser *ps, const struct token *t)
{
	char	err[256];
	size_t	scheme = scheme_length(t->text);

	if (scheme > 0) {
		conf_error(ps->errs, &t->pos, "bad listen address '%s': "
		    "harbord serves TCP only, on ADDRESS:PORT, [IPv6]:PORT or "
		    "*:PORT, with no scheme such as '%.*s'", t->text,
		    (int)scheme, t->text);
		return -1;
	}
	if (harbor_listen_address_check(t->text, NULL, NULL, err,
	    sizeof err) == 0)
		return 0;
	conf_error(ps->errs, &t->pos, "%s", err);
	return -1;
}

/* listen ADDRESS... */
int
conf_parse_listen(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct conf_service	*svc = block;

	return read_words(ps, st, &svc->listen, address_ok);
}

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

/* handler NAME: a built-in one, or a module's (known once the modules
 * are loaded: check_handlers, config_make_services). */
int
conf_parse_handler(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct conf_service	*svc = block;

	if (conf_want_args(ps, st, 1, 1) == -1 ||
	    handler_conflict(ps, svc, st))
		return -1;
	svc->handler = statement_take(st, 1);
	svc->handler_pos = st->tok[1].pos;
	return 0;
}

static int
set_handler(struct parser *ps, struct conf_service *svc,
    const struct statement *st)
{
	if ((svc->handler = conf_strdup(ps->errs, &st->tok[0].pos,
	    st->tok[0].text)) == NULL)
		return -1;
	svc->handler_pos = st->tok[0].pos;
	return 0;
}

/* exec PROGRAM [ARG...] */
int
conf_parse_exec(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct conf_service	*svc = block;
	size_t			 i;

	if (conf_want_args(ps, st, 1, CONF_STATEMENT_MAX - 1) == -1 ||
	    handler_conflict(ps, svc, st))
		return -1;
	if (st->tok[1].text[0] != '/') {
		conf_error(ps->errs, &st->tok[1].pos, "exec needs the program's "
		    "absolute path, not '%s' (there is no PATH search)",
		    st->tok[1].text);
		return -1;
	}
	for (i = 1; i < st->n; i++)
		if (conf_words_add(ps, &svc->exec_argv, st, i) == -1)
			return -1;
	return set_handler(ps, svc, st);
}

/* forward HOST:PORT */
int
conf_parse_forward(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct conf_service	*svc = block;
	char			 err[256];

	if (conf_want_args(ps, st, 1, 1) == -1 ||
	    handler_conflict(ps, svc, st))
		return -1;
	if (harbor_forward_check(st->tok[1].text, err, sizeof err) == -1) {
		conf_error(ps->errs, &st->tok[1].pos, "%s", err);
		return -1;
	}
	svc->forward_to = statement_take(st, 1);
	return set_handler(ps, svc, st);
}

/* option NAME VALUE */
int
conf_parse_option(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct conf_service	*svc = block;
	struct conf_option	*grown;

	if (conf_want_args(ps, st, 2, 2) == -1)
		return -1;
	if ((grown = conf_realloc(ps->errs, &st->tok[0].pos, svc->opts,
	    (svc->nopts + 1) * sizeof *grown)) == NULL)
		return -1;
	svc->opts = grown;
	grown[svc->nopts].name = statement_take(st, 1);
	grown[svc->nopts].value = statement_take(st, 2);
	grown[svc->nopts].pos = st->tok[0].pos;
	svc->nopts++;
	return 0;
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

static int
env_entry_ok(struct parser *ps, const struct token *t)
{
	const char	*eq = strchr(t->text, '=');

	if (eq != NULL && env_name_ok(t->text, (size_t)(eq - t->text)))
		return 0;
	conf_error(ps->errs, &t->pos, "bad environment entry '%s' (expected "
	    "NAME=VALUE, NAME of letters, digits and '_')", t->text);
	return -1;
}

static int
env_variable_ok(struct parser *ps, const struct token *t)
{
	if (env_name_ok(t->text, strlen(t->text)))
		return 0;
	conf_error(ps->errs, &t->pos, "bad variable name '%s' (letters, "
	    "digits and '_')", t->text);
	return -1;
}

/* env NAME=VALUE... */
int
conf_parse_env(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct conf_service	*svc = block;

	return read_words(ps, st, &svc->env, env_entry_ok);
}

/* passenv NAME... */
int
conf_parse_passenv(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct conf_service	*svc = block;

	return read_words(ps, st, &svc->passenv, env_variable_ok);
}

/* control-socket PATH, or none. */
int
conf_parse_control_socket(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block)
{
	struct config	*conf = block;
	char		*path;

	(void)kw;
	if (conf_want_args(ps, st, 1, 1) == -1)
		return -1;
	free(conf->control_socket);
	conf->control_socket = NULL;
	conf->control_off = strcmp(st->tok[1].text, "none") == 0;
	if (conf->control_off)
		return 0;
	if ((path = conf_resolve_path(ps, &st->tok[1])) == NULL)
		return -1;
	conf->control_socket = path;
	return 0;
}
