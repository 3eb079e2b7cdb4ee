/*
 * From a configuration to libharbor services: each service's handler
 * made, its addresses and options given, then each keyword of the table
 * that it or the defaults set applied with the library's setter, in the
 * table's order.  A setter that refuses is an error at the keyword.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_PWD_H
#include <pwd.h>
#endif
#ifdef HAVE_GRP_H
#include <grp.h>
#endif

#include "compat.h"
#include "conf-table.h"

/* Where the block that has kw's value gave it. */
static const struct conf_pos *
set_at(const struct conf_service *from, const struct conf_keyword *kw)
{
	return &from->set[kw - conf_keywords].value;
}

static int
cannot_apply(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from, const char *why)
{
	conf_error(a->errs, set_at(from, kw), "service '%s': %s: %s",
	    a->s->name, kw->name, why);
	return -1;
}

int
conf_apply_number(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	long long	v = CONF_VALUE(from, kw, long long);
	int		r = 0;

	switch (kw->setter) {
	case SET_UINT:
		kw->set.uint_fn(a->svc, (unsigned)v);
		break;
	case SET_UINT_CHECKED:
		r = kw->set.uint_checked(a->svc, (unsigned)v);
		break;
	case SET_SIZE_CHECKED:
		r = kw->set.size_checked(a->svc, (size_t)v);
		break;
	default:
		r = -1;
		break;
	}
	return r == -1 ? cannot_apply(a, kw, from, "the library refuses it") :
	    0;
}

int
conf_apply_rate(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	struct conf_rate	r = CONF_VALUE(from, kw, struct conf_rate);

	kw->set.rate_fn(a->svc, (unsigned)r.milli, (unsigned)r.burst);
	return 0;
}

/* A pool in defaults is for the handlers that can have it. */
int
conf_apply_dispatch(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	if (harbor_service_set_dispatch(a->svc, (enum harbor_dispatch)
	    CONF_VALUE(from, kw, long long)) == 0 || from == a->d)
		return 0;
	conf_error(a->errs, &a->s->pos, "service '%s': %s runs on its "
	    "connections' I/O loops, not on the pool (dispatch pool)",
	    a->s->name, a->handler);
	return -1;
}

int
conf_apply_log_level(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	(void)harbor_service_set_log_level(a->svc,
	    (int)CONF_VALUE(from, kw, long long));
	return 0;
}

int
conf_apply_log_connections(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	harbor_service_set_log_connections(a->svc,
	    (int)CONF_VALUE(from, kw, long long));
	return 0;
}

int
conf_apply_framing(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	harbor_service_set_framing(a->svc, (enum harbor_framing)
	    CONF_VALUE(from, kw, long long));
	return 0;
}

/* A service with rules of its own does not take the defaults' (xinetd's
 * only_from works the same way): allow and deny are one list. */
int
conf_apply_rules(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	const struct conf_rules	*rules = CONF_FIELD(from, kw,
				    const struct conf_rules);
	char			 err[512];
	size_t			 i;

	for (i = 0; i < rules->n; i++)
		if ((rules->v[i].allow ? harbor_service_allow :
		    harbor_service_deny)(a->svc, rules->v[i].net, err,
		    sizeof err) == -1) {
			conf_error(a->errs, &rules->v[i].pos, "%s", err);
			return -1;
		}
	return 0;
}

/* A keyword applied with another: its value for this service, or NULL. */
static const struct conf_service *
with(struct conf_apply *a, const char *name,
    const struct conf_keyword **kw)
{
	*kw = conf_keyword_named(name, CONF_SERVICE);
	return conf_source(*kw, a->s, a->d, a->handler);
}

/* proxy-protocol, with trusted-proxies and proxy-header-timeout. */
int
conf_apply_proxy(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	const struct conf_keyword	*tkw, *tokw;
	const struct conf_service	*trusted, *timeout;
	const struct conf_rules		*list;
	char				 err[512];
	size_t				 i;

	if (from == NULL || CONF_VALUE(from, kw, long long) == 0)
		return 0;
	timeout = with(a, "proxy-header-timeout", &tokw);
	harbor_service_set_proxy_protocol(a->svc,
	    (int)CONF_VALUE(from, kw, long long), timeout == NULL ? 0 :
	    (unsigned)CONF_VALUE(timeout, tokw, long long));
	if ((trusted = with(a, "trusted-proxies", &tkw)) == NULL) {
		conf_error(a->errs, set_at(from, kw), "service '%s' takes "
		    "PROXY headers but trusts no proxy: add trusted-proxies",
		    a->s->name);
		return -1;
	}
	list = CONF_FIELD(trusted, tkw, const struct conf_rules);
	for (i = 0; i < list->n; i++)
		if (harbor_service_trust_proxy(a->svc, list->v[i].net, err,
		    sizeof err) == -1) {
			conf_error(a->errs, &list->v[i].pos, "%s", err);
			return -1;
		}
	return 0;
}

int
conf_apply_quote_file(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	if (harbor_service_set_option(a->svc, "quote-file",
	    CONF_VALUE(from, kw, char *)) == -1)
		return cannot_apply(a, kw, from, "out of memory");
	return 0;
}

int
conf_apply_send_proxy(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	if (harbor_service_set_send_proxy(a->svc,
	    (int)CONF_VALUE(from, kw, long long)) == -1)
		return cannot_apply(a, kw, from, "the library refuses it");
	return 0;
}

/* Where the system has no SO_REUSEPORT, conf_check has said so already. */
int
conf_apply_reuse_port(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	char	err[512];

	if (harbor_service_set_reuse_port(a->svc,
	    (int)CONF_VALUE(from, kw, long long), err, sizeof err) == -1) {
		conf_error(a->errs, set_at(from, kw), "%s", err);
		return -1;
	}
	return 0;
}

unsigned
config_listen_flags(const struct config *conf, const struct conf_service *s)
{
	const struct conf_keyword	*kw;
	const struct conf_service	*from;

	kw = conf_keyword_named("reuse-port", CONF_SERVICE);
	from = conf_source(kw, s, &conf->defaults, s->handler != NULL ?
	    s->handler : conf->defaults.handler);
	return from != NULL && CONF_VALUE(from, kw, long long) != 0 ?
	    HARBOR_LISTEN_REUSE_PORT : 0;
}

/* stderr-rate, with stderr-line-max; both checked as they were read. */
int
conf_apply_stderr(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	const struct conf_keyword	*lkw;
	const struct conf_service	*line = with(a, "stderr-line-max", &lkw);

	if (from == NULL && line == NULL)
		return 0;
	if (harbor_service_set_stderr_limits(a->svc, from == NULL ?
	    HARBOR_STDERR_RATE_DEFAULT : (unsigned)CONF_VALUE(from, kw,
	    long long), line == NULL ? HARBOR_STDERR_LINE_DEFAULT :
	    (size_t)CONF_VALUE(line, lkw, long long)) == -1)
		return cannot_apply(a, kw, from != NULL ? from : line,
		    "the library refuses it");
	return 0;
}

/* env and passenv: the defaults', then the service's (a later one of a
 * name winning), passenv from harbord's own environment. */
static int
exec_env_from(struct conf_apply *a, const struct conf_service *b)
{
	char		 err[512], *nv;
	const char	*value;
	size_t		 i, len;

	for (i = 0; i < b->passenv.n; i++) {
		if ((value = getenv(b->passenv.v[i])) == NULL)
			continue;
		len = strlen(b->passenv.v[i]) + strlen(value) + 2;
		if ((nv = conf_malloc(a->errs, &b->passenv.pos[i], len)) ==
		    NULL)
			return -1;
		snprintf(nv, len, "%s=%s", b->passenv.v[i], value);
		if (harbor_service_exec_setenv(a->svc, nv, err,
		    sizeof err) == -1) {
			conf_error(a->errs, &b->passenv.pos[i], "%s", err);
			free(nv);
			return -1;
		}
		free(nv);
	}
	for (i = 0; i < b->env.n; i++)
		if (harbor_service_exec_setenv(a->svc, b->env.v[i], err,
		    sizeof err) == -1) {
			conf_error(a->errs, &b->env.pos[i], "%s", err);
			return -1;
		}
	return 0;
}

int
conf_apply_exec_env(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	return exec_env_from(a, a->d) == -1 || exec_env_from(a, a->s) == -1 ?
	    -1 : 0;
}

/* user and group, into ids as the program will run. */
int
conf_apply_credentials(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from)
{
	const struct conf_keyword	*gkw;
	const struct conf_service	*gfrom = with(a, "group", &gkw);
	long				 uid = -1, gid = -1;
	char				 err[512];

	if (from == NULL && gfrom == NULL)
		return 0;
	if (from != NULL) {
		const char	*user = CONF_VALUE(from, kw, char *);

		if (conf_account_user(a->conf, user, &uid, &gid) == -1) {
			conf_error(a->errs, set_at(from, kw), "service '%s': no "
			    "user '%s'", a->s->name, user);
			return -1;
		}
	}
	if (gfrom != NULL) {
		const char	*group = CONF_VALUE(gfrom, gkw, char *);

		if (conf_account_group(a->conf, group, &gid) == -1) {
			conf_error(a->errs, set_at(gfrom, gkw), "service '%s': "
			    "no group '%s'", a->s->name, group);
			return -1;
		}
	}
	if (harbor_service_exec_credentials(a->svc, uid, gid, err,
	    sizeof err) == -1) {
		conf_error(a->errs, set_at(from != NULL ? from : gfrom,
		    from != NULL ? kw : gkw), "%s", err);
		return -1;
	}
	return 0;
}

int
config_exec_program(const struct config *conf, const char *service,
    const struct conf_words **argv, long *uid, long *gid,
    const struct conf_pos **at)
{
	const struct conf_service	*s, *d = &conf->defaults, *from;
	const struct conf_keyword	*ukw, *gkw;
	const char			*handler;

	for (s = conf->services; s != NULL; s = s->next)
		if (strcmp(s->name, service) == 0)
			break;
	if (s == NULL)
		return -1;
	handler = s->handler != NULL ? s->handler : d->handler;
	if (handler == NULL || strcmp(handler, "exec") != 0)
		return -1;
	*argv = s->exec_argv.n > 0 ? &s->exec_argv : &d->exec_argv;
	*uid = *gid = -1;
	*at = NULL;
	ukw = conf_keyword_named("user", CONF_SERVICE);
	gkw = conf_keyword_named("group", CONF_SERVICE);
	if ((from = conf_source(ukw, s, d, handler)) != NULL) {
		*at = set_at(from, ukw);
		if (conf_account_user(conf, CONF_VALUE(from, ukw, char *), uid,
		    gid) == -1)
			return -1;
	}
	if ((from = conf_source(gkw, s, d, handler)) != NULL) {
		if (*at == NULL)
			*at = set_at(from, gkw);
		if (conf_account_group(conf, CONF_VALUE(from, gkw, char *),
		    gid) == -1)
			return -1;
	}
	(void)from;
	return 0;
}

/* --- the services ----------------------------------------------------------- */

/* Where a service that its handler refused is reported: at the option
 * the message names ('NAME', as harbord.conf(5) asks modules to write;
 * the last of them), the quote file, or the handler. */
static const struct conf_pos *
check_error_pos(const struct conf_service *s, const struct conf_service *d,
    const char *handler, const char *err)
{
	const struct conf_keyword	*qkw;
	const struct conf_service	*quotes;
	char				 quoted[128];
	size_t				 i;

	/* The last of the options it names: the value a handler reads with
	 * harbor_service_option(). */
	for (i = s->nopts; i-- > 0;) {
		snprintf(quoted, sizeof quoted, "'%s'", s->opts[i].name);
		if (strstr(err, quoted) != NULL)
			return &s->opts[i].pos;
	}
	qkw = conf_keyword_named("quote-file", CONF_SERVICE);
	if ((quotes = conf_source(qkw, s, d, handler)) != NULL)
		return set_at(quotes, qkw);
	return s->handler != NULL ? &s->handler_pos : &s->pos;
}

/* The service, its handler made: exec and forward by their own calls,
 * the others found by name. */
static struct harbor_service *
service_new(const struct conf_service *s, const struct conf_service *d,
    const char *handler, struct conf_errors *errs)
{
	const struct conf_pos	*at = s->handler != NULL ? &s->handler_pos :
				    &d->handler_pos;
	struct harbor_service	*svc;
	char			 err[512];

	if (strcmp(handler, "exec") == 0)
		svc = harbor_service_new_exec(s->name,
		    (const char *const *)s->exec_argv.v, err, sizeof err);
	else if (strcmp(handler, "forward") == 0)
		svc = harbor_service_new_forward(s->name, s->forward_to, err,
		    sizeof err);
	else if (harbor_handler_find(handler) == NULL) {
		conf_unknown_handler(errs, at, handler);
		return NULL;
	} else {
		svc = harbor_service_new(s->name, harbor_handler_find(handler));
		snprintf(err, sizeof err, "service '%s': out of memory",
		    s->name);
	}
	if (svc == NULL)
		conf_error(errs, at, "%s", err);
	return svc;
}

/* Addresses and options: the service's own. */
static int
service_own(const struct conf_service *s, struct harbor_service *svc,
    struct conf_errors *errs)
{
	char	err[512];
	size_t	i;

	for (i = 0; i < s->nopts; i++)
		if (harbor_service_add_option(svc, s->opts[i].name,
		    s->opts[i].value) == -1) {
			conf_error(errs, &s->opts[i].pos, "out of memory");
			return -1;
		}
	for (i = 0; i < s->listen.n; i++)
		if (harbor_service_add_listen(svc, s->listen.v[i], err,
		    sizeof err) == -1) {
			conf_error(errs, &s->listen.pos[i], "%s", err);
			return -1;
		}
	return 0;
}

/* Each keyword of the table with an apply, that the service or the
 * defaults set (or every one that is always applied), for the service's
 * handler. */
static int
service_apply(struct conf_apply *a)
{
	const struct conf_keyword	*kw;
	const struct conf_service	*from;
	size_t				 i, n = conf_keyword_count();

	for (i = 0; i < n; i++) {
		kw = &conf_keywords[i];
		if (!(kw->flags & CONF_SERVICE) || kw->apply == NULL ||
		    (kw->handler != NULL && strcmp(kw->handler,
		    a->handler) != 0))
			continue;
		from = conf_source(kw, a->s, a->d, a->handler);
		if (from == NULL && !(kw->flags & CONF_APPLY_ALWAYS))
			continue;
		if (kw->apply(a, kw, from) == -1)
			return -1;
	}
	return 0;
}

int
config_load_modules(const struct config *conf, struct conf_errors *errs)
{
	char	err[512];
	size_t	i;

	for (i = 0; i < conf->nmodules; i++)
		if (harbor_module_load(conf->modules[i].path, err,
		    sizeof err) == NULL) {
			conf_error(errs, &conf->modules[i].pos, "%s", err);
			return -1;
		}
	return 0;
}

struct harbor_service **
config_make_services(const struct config *conf, size_t *nout,
    struct conf_errors *errs)
{
	const struct conf_service	*d = &conf->defaults, *s;
	struct harbor_service		**svcs, *svc;
	struct conf_apply		 a;
	char				 err[512];
	size_t				 n = 0, i;

	if (config_load_modules(conf, errs) == -1)
		return NULL;
	if ((svcs = calloc(conf->nservices + 1, sizeof *svcs)) == NULL) {
		conf_error(errs, NULL, "out of memory");
		return NULL;
	}
	a.conf = conf;
	for (s = conf->services; s != NULL; s = s->next) {
		a.s = s;
		a.d = d;
		a.handler = s->handler != NULL ? s->handler : d->handler;
		a.errs = errs;
		if ((svc = service_new(s, d, a.handler, errs)) == NULL)
			goto fail;
		svcs[n++] = svc;
		a.svc = svc;
		if (service_own(s, svc, errs) == -1 || service_apply(&a) == -1)
			goto fail;
		if (harbor_service_check(svc, err, sizeof err) == -1) {
			conf_error(errs, check_error_pos(s, d, a.handler, err),
			    "%s", err);
			goto fail;
		}
	}
	*nout = n;
	return svcs;
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
