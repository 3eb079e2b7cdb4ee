/*
 * The configuration's checks that need the whole file: handlers that
 * exist, keywords given to a service whose handler does not take them,
 * services without a handler or an address, addresses used twice,
 * programs run as another user by a harbord that will not keep root, and
 * reuse-port where the system has none.  And for a reload, the settings
 * that changed but take a restart.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "compat.h"
#include "conf-table.h"

static const char *
handler_of(const struct conf_service *s, const struct conf_service *d)
{
	return s->handler != NULL ? s->handler : d->handler;
}

static int
handler_is_builtin(const char *name)
{
	return harbor_builtin_handler(name) != NULL ||
	    strcmp(name, "exec") == 0 || strcmp(name, "forward") == 0;
}

void
conf_unknown_handler(struct conf_errors *errs, const struct conf_pos *pos,
    const char *name)
{
	const char *const	*names = harbor_builtin_handler_names();
	char			 expected[256] = "";
	size_t			 i;

	for (i = 0; names[i] != NULL; i++) {
		if (i > 0)
			strlcat(expected, ", ", sizeof expected);
		strlcat(expected, names[i], sizeof expected);
	}
	conf_error(errs, pos, "unknown handler '%s' (expected %s, or a "
	    "handler of a module)", name, expected);
}

/* A handler name no built-in has is a module's: with no module to load,
 * it is a mistake now.  Known once the whole file is read, whatever else
 * is wrong in it. */
void
conf_check_handlers(const struct config *conf, struct conf_errors *errs)
{
	const struct conf_service	*s, *d = &conf->defaults;

	if (conf->nmodules > 0)
		return;		/* config_make_services looks them up */
	if (d->handler != NULL && !handler_is_builtin(d->handler))
		conf_unknown_handler(errs, &d->handler_pos, d->handler);
	for (s = conf->services; s != NULL; s = s->next)
		if (s->handler != NULL && !handler_is_builtin(s->handler))
			conf_unknown_handler(errs, &s->handler_pos,
			    s->handler);
}

static int
pos_before(const struct conf_pos *a, const struct conf_pos *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/* Keywords of one handler (the table's), given to a service of another,
 * each said, in the order of the file.  In defaults they are for the
 * services of their handler only. */
static void
check_handler_keywords(const struct conf_service *s, const char *handler,
    struct conf_errors *errs)
{
	const struct conf_keyword	*kw;
	const struct conf_pos		*after = NULL;
	size_t				 i, next, n = conf_keyword_count();

	for (;;) {
		next = n;
		for (i = 0; i < n; i++) {
			kw = &conf_keywords[i];
			if (kw->handler == NULL || s->set[i].kw.line == 0 ||
			    strcmp(kw->handler, handler) == 0 ||
			    (after != NULL &&
			    !pos_before(after, &s->set[i].kw)) ||
			    (next < n && !pos_before(&s->set[i].kw,
			    &s->set[next].kw)))
				continue;
			next = i;
		}
		if (next == n)
			return;
		kw = &conf_keywords[next];
		conf_error(errs, &s->set[next].kw, "'%s' is only for %s "
		    "services, and service '%s' has handler %s", kw->name,
		    kw->handler, s->name, handler);
		after = &s->set[next].kw;
	}
}

/* Ports 0 pick a new port each time, so they may repeat. */
static int
same_address(const char *a, const char *b)
{
	char	ca[2][HARBOR_ADDRSTRLEN], cb[2][HARBOR_ADDRSTRLEN];
	char	err[256];
	size_t	na, nb, x, y;

	if (harbor_listen_address_check(a, ca, &na, err, sizeof err) == -1 ||
	    harbor_listen_address_check(b, cb, &nb, err, sizeof err) == -1)
		return 0;
	for (x = 0; x < na; x++)
		for (y = 0; y < nb; y++)
			if (strcmp(ca[x], cb[y]) == 0 &&
			    strcmp(ca[x] + strlen(ca[x]) - 2, ":0") != 0)
				return 1;
	return 0;
}

/* The same address twice could never bind: each address against those
 * before it, in this service and those before. */
static void
check_addresses(const struct config *conf, const struct conf_service *s,
    struct conf_errors *errs)
{
	const struct conf_service	*t;
	size_t				 i, j;

	for (i = 0; i < s->listen.n; i++) {
		for (t = conf->services; t != NULL; t = t->next) {
			for (j = 0; j < t->listen.n; j++) {
				if (t == s && j >= i)
					break;
				if (!same_address(s->listen.v[i],
				    t->listen.v[j]))
					continue;
				conf_error(errs, &s->listen.pos[i], "address %s "
				    "is already used by service '%s' (at "
				    "%s:%u:%u)", s->listen.v[i], t->name,
				    t->listen.pos[j].file,
				    t->listen.pos[j].line,
				    t->listen.pos[j].col);
				goto next;
			}
			if (t == s)
				break;
		}
next:		;
	}
}

/* reuse-port yes where the system has no SO_REUSEPORT: said where it is
 * set (in a service, or in defaults), not when a socket is bound. */
static void
check_reuse_port(const struct conf_service *block, struct conf_errors *errs)
{
	int	i = conf_keyword_find("reuse-port", CONF_SERVICE);

	if (compat_reuseport_name() == NULL && block->set[i].kw.line > 0 &&
	    block->reuse_port)
		conf_error(errs, &block->set[i].value, "reuse-port yes: this "
		    "system has no SO_REUSEPORT");
}

void
conf_check(struct config *conf, struct conf_errors *errs)
{
	const struct conf_service	*s, *d = &conf->defaults;
	const char			*handler;

	check_reuse_port(d, errs);
	for (s = conf->services; s != NULL; s = s->next) {
		handler = handler_of(s, d);
		if (handler == NULL)
			conf_error(errs, &s->block_pos, "service '%s' has no "
			    "handler", s->name);
		if (s->listen.n == 0)
			conf_error(errs, &s->block_pos, "service '%s' has no "
			    "listen address", s->name);
		if (handler != NULL)
			check_handler_keywords(s, handler, errs);
		check_addresses(conf, s, errs);
		check_reuse_port(s, errs);
	}
}

/* --- what a reload cannot apply ---------------------------------------------- */

static int
same_string(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int
global_changed(const struct conf_keyword *kw, const struct config *old,
    const struct config *new)
{
	switch (kw->type) {
	case CONF_NUMBER:
	case CONF_DURATION:
	case CONF_SIZE:
	case CONF_CHOICE:
		return CONF_VALUE(old, kw, long long) !=
		    CONF_VALUE(new, kw, long long);
	case CONF_PATH:
	case CONF_WORD:
		return !same_string(CONF_VALUE(old, kw, char *),
		    CONF_VALUE(new, kw, char *));
	case CONF_SPECIAL:
		if (kw->parse == conf_parse_control_socket)
			return old->control_off != new->control_off ||
			    !same_string(old->control_socket,
			    new->control_socket);
		return 1;
	default:
		/* A value of its own shape: never passed over in silence
		 * (unit_conftable changes each one and wants it said). */
		return 1;
	}
}

/* A service keyword's number for service s, from s or the defaults, or
 * the table's default. */
static long long
service_number(const struct conf_keyword *kw, const struct config *conf,
    const struct conf_service *s)
{
	const struct conf_service	*from;

	from = conf_source(kw, s, &conf->defaults, handler_of(s,
	    &conf->defaults));
	return from != NULL ? CONF_VALUE(from, kw, long long) : kw->dflt;
}

/* A service keyword that needs a restart (a number: reuse-port), changed
 * for a service of that name in both: each said, as "service NAME's
 * KEYWORD". */
static size_t
service_changes(const struct conf_keyword *kw, const struct config *old,
    const struct config *new, struct conf_restart *out, size_t max)
{
	const struct conf_service	*s, *was;
	size_t				 n = 0;

	for (s = new->services; s != NULL && n < max; s = s->next) {
		for (was = old->services; was != NULL; was = was->next)
			if (strcmp(was->name, s->name) == 0)
				break;
		if (was == NULL || service_number(kw, old, was) ==
		    service_number(kw, new, s))
			continue;
		snprintf(out[n++].what, sizeof out->what, "service %s's %s",
		    s->name, kw->name);
	}
	return n;
}

size_t
config_restart_changes(const struct config *old, const struct config *new,
    struct conf_restart *out, size_t max)
{
	const struct conf_keyword	*kw;
	size_t				 i, n = 0, k = conf_keyword_count();

	for (i = 0; i < k && n < max; i++) {
		kw = &conf_keywords[i];
		if (!(kw->flags & CONF_RESTART))
			continue;
		if (kw->flags & CONF_SERVICE) {
			n += service_changes(kw, old, new, out + n, max - n);
			continue;
		}
		if (!global_changed(kw, old, new))
			continue;
		/* max-connections is a service's too: say which. */
		snprintf(out[n++].what, sizeof out->what, "%s%s",
		    conf_keyword_find(kw->name, CONF_SERVICE) != -1 ?
		    "the global " : "", kw->name);
	}
	return n;
}
