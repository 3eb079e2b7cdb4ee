/*
 * Services: a handler, the addresses it listens on, and its limits.  A
 * service is shared by its listeners and by every connection it accepted,
 * and lives until the last of them lets go, so connections accepted before
 * a reload finish under the settings they started with.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* The first version's handler ends with its close callback. */
#define HANDLER_V1_SIZE	(offsetof(struct harbor_handler, close) + \
			 sizeof(((struct harbor_handler *)NULL)->close))

/* Built for this interface?  Only abi_version and size may be read
 * before that is known. */
static int
handler_abi_ok(const struct harbor_handler *h)
{
	return h->abi_version == HARBOR_ABI_VERSION &&
	    h->size >= HANDLER_V1_SIZE;
}

struct harbor_service *
harbor_service_new(const char *name, const struct harbor_handler *handler)
{
	struct harbor_service	*svc;

	if (handler == NULL || (svc = calloc(1, sizeof *svc)) == NULL)
		return NULL;
	if ((svc->name = strdup(name)) == NULL) {
		free(svc);
		return NULL;
	}
	if ((svc->limits = limits_new(name)) == NULL) {
		free(svc->name);
		free(svc);
		return NULL;
	}
	svc->handler = handler;
	svc->handler_ok = handler_abi_ok(handler);
	svc->loop_id = loopguard_service_id(name);
	svc->limit.max_connections = DEFAULT_MAX_CONNECTIONS;
	svc->log_level = -1;
	svc->log_connections = 1;
	svc->limit.v6_prefix = DEFAULT_SOURCE_PREFIX6;
	svc->limit.log_rate.milli_per_sec = DEFAULT_LOG_RATE_MILLI;
	svc->limit.log_rate.burst = DEFAULT_LOG_BURST;
	svc->proxy_timeout_ms = DEFAULT_PROXY_TIMEOUT_MS;
	svc->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
	svc->max_line = DEFAULT_MAX_LINE;
	svc->max_input = DEFAULT_MAX_INPUT;
	svc->output_low = DEFAULT_OUTPUT_LOW;
	svc->output_high = DEFAULT_OUTPUT_HIGH;
	svc->stderr_rate = HARBOR_STDERR_RATE_DEFAULT;
	svc->stderr_line_max = HARBOR_STDERR_LINE_DEFAULT;
	svc->backlog = DEFAULT_BACKLOG;
	atomic_init(&svc->refs, 1);
	atomic_init(&svc->said_overconsumed, 0);
	return svc;
}

void
harbor_service_set_max_children(struct harbor_service *svc, unsigned max)
{
	svc->limit.max_children = max;
}

int
harbor_service_set_stderr_limits(struct harbor_service *svc,
    unsigned bytes_per_sec, size_t line_max)
{
	if (line_max < 16 || line_max > STDERR_LINE_MAX ||
	    bytes_per_sec > HARBOR_STDERR_RATE_MAX)
		return -1;
	svc->stderr_rate = bytes_per_sec;
	svc->stderr_line_max = line_max;
	return 0;
}

unsigned
harbor_service_connections(struct harbor_service *svc)
{
	return limits_active(svc->limits);
}

static void
service_destroy(struct harbor_service *svc)
{
	struct service_option	*o, *next;
	size_t			 i;

	if (svc->started && svc->handler->service_free != NULL)
		svc->handler->service_free(svc->state);
	for (o = svc->options; o != NULL; o = next) {
		next = o->next;
		free(o->name);
		free(o->value);
		free(o);
	}
	for (i = 0; i < svc->nlisten; i++)
		free(svc->listen[i]);
	free(svc->listen);
	acl_clear(&svc->acl);
	acl_clear(&svc->trusted_proxies);
	limits_release(svc->limits);
	stats_release(svc->stats);
	free(svc->name);
	free(svc);
}

void
harbor_service_free(struct harbor_service *svc)
{
	if (svc != NULL)
		service_release(svc);
}

void
service_hold(struct harbor_service *svc)
{
	atomic_fetch_add(&svc->refs, 1);
}

void
service_release(struct harbor_service *svc)
{
	if (atomic_fetch_sub(&svc->refs, 1) == 1)
		service_destroy(svc);
}

int
harbor_service_add_listen(struct harbor_service *svc, const char *text,
    char *err, size_t errlen)
{
	struct harbor_addr	 a[ADDR_PARSE_MAX];
	size_t			 n;
	char			**grown, *copy;

	if (addr_parse(text, a, &n, err, errlen) == -1)
		return -1;
	grown = realloc(svc->listen, (svc->nlisten + 1) * sizeof *grown);
	if (grown == NULL || (copy = strdup(text)) == NULL) {
		if (grown != NULL)
			svc->listen = grown;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	svc->listen = grown;
	svc->listen[svc->nlisten++] = copy;
	return 0;
}

int
harbor_service_set_backlog(struct harbor_service *svc, unsigned n)
{
	if (n == 0)
		return -1;
	svc->backlog = n;
	return 0;
}

int
harbor_service_set_reuse_port(struct harbor_service *svc, int on, char *err,
    size_t errlen)
{
	if (on && compat_reuseport_name() == NULL) {
		snprintf(err, errlen, "service '%s': reuse-port: this system "
		    "has no SO_REUSEPORT", svc->name);
		return -1;
	}
	svc->reuse_port = on != 0;
	return 0;
}

int
harbor_service_set_dispatch(struct harbor_service *svc,
    enum harbor_dispatch dispatch)
{
	if (dispatch == HARBOR_DISPATCH_POOL && svc->handler_ok &&
	    (svc->handler->flags & HARBOR_HANDLER_INLINE_ONLY))
		return -1;
	svc->dispatch = dispatch;
	return 0;
}

void
harbor_service_set_framing(struct harbor_service *svc,
    enum harbor_framing framing)
{
	svc->framing = framing;
}

void
harbor_service_set_max_connections(struct harbor_service *svc, unsigned max)
{
	svc->limit.max_connections = max;
}

void
harbor_service_set_max_per_source(struct harbor_service *svc, unsigned max)
{
	svc->limit.max_per_source = max;
	svc->per_source_set = 1;
}

int
harbor_service_set_source_prefix6(struct harbor_service *svc, unsigned bits)
{
	if (bits > 128)
		return -1;
	svc->limit.v6_prefix = bits;
	return 0;
}

static void
set_rate(struct rate *r, unsigned milli_per_sec, unsigned burst)
{
	r->milli_per_sec = milli_per_sec;
	r->burst = milli_per_sec == 0 ? 0 : burst > 0 ? burst :
	    (milli_per_sec + 999) / 1000;
}

void
harbor_service_set_rate(struct harbor_service *svc, unsigned milli_per_sec,
    unsigned burst)
{
	set_rate(&svc->limit.rate, milli_per_sec, burst);
}

void
harbor_service_set_rate_per_source(struct harbor_service *svc,
    unsigned milli_per_sec, unsigned burst)
{
	set_rate(&svc->limit.rate_per_source, milli_per_sec, burst);
}

void
harbor_service_set_log_rate(struct harbor_service *svc,
    unsigned milli_per_sec, unsigned burst)
{
	set_rate(&svc->limit.log_rate, milli_per_sec, burst);
}

int
harbor_service_set_log_level(struct harbor_service *svc, int level)
{
	if (level < -1 || level > HARBOR_LOG_DEBUG)
		return -1;
	svc->log_level = level;
	return 0;
}

void
harbor_service_set_log_connections(struct harbor_service *svc, int on)
{
	svc->log_connections = on != 0;
}

int
svc_log_enabled(const struct harbor_service *svc, enum harbor_log_level level)
{
	return svc->log_level == -1 ? log_enabled(level) :
	    (int)level <= svc->log_level;
}

void
svc_log(const struct harbor_service *svc, enum harbor_log_level level,
    const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	if (!svc_log_enabled(svc, level))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_emit(level, msg);
}

void
harbor_service_set_idle_timeout(struct harbor_service *svc, unsigned ms)
{
	svc->idle_timeout_ms = ms;
}

void
harbor_service_set_session_timeout(struct harbor_service *svc, unsigned ms)
{
	svc->session_timeout_ms = ms;
}

int
harbor_service_set_max_line(struct harbor_service *svc, size_t bytes)
{
	if (bytes == 0)
		return -1;
	svc->max_line = bytes;
	return 0;
}

int
harbor_service_set_max_input(struct harbor_service *svc, size_t bytes)
{
	if (bytes == 0)
		return -1;
	svc->max_input = bytes;
	return 0;
}

int
harbor_service_set_output_watermarks(struct harbor_service *svc, size_t low,
    size_t high)
{
	if (high == 0 || low > high)
		return -1;
	svc->output_low = low;
	svc->output_high = high;
	return 0;
}

/* Options keep the order they were given in: a handler may take one
 * several times (exec's arguments, a module's repeated option). */
static struct service_option *
option_new(const char *name, const char *value)
{
	struct service_option	*o;

	if ((o = calloc(1, sizeof *o)) == NULL)
		return NULL;
	if ((o->name = strdup(name)) == NULL ||
	    (o->value = strdup(value)) == NULL) {
		free(o->name);
		free(o);
		return NULL;
	}
	return o;
}

int
harbor_service_add_option(struct harbor_service *svc, const char *name,
    const char *value)
{
	struct service_option	*o, **tail;

	if ((o = option_new(name, value)) == NULL)
		return -1;
	for (tail = &svc->options; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = o;
	return 0;
}

int
harbor_service_set_option(struct harbor_service *svc, const char *name,
    const char *value)
{
	struct service_option	*o, **prev, *made;

	if ((made = option_new(name, value)) == NULL)
		return -1;
	for (prev = &svc->options; (o = *prev) != NULL; ) {
		if (strcmp(o->name, name) == 0) {
			*prev = o->next;
			free(o->name);
			free(o->value);
			free(o);
		} else
			prev = &o->next;
	}
	*prev = made;
	return 0;
}

const char *
harbor_service_option(const struct harbor_service *svc, const char *name)
{
	const struct service_option	*o;
	const char			*last = NULL;

	for (o = svc->options; o != NULL; o = o->next)
		if (strcmp(o->name, name) == 0)
			last = o->value;
	return last;
}

const char *
harbor_service_option_at(const struct harbor_service *svc, const char *name,
    size_t i)
{
	const struct service_option	*o;

	for (o = svc->options; o != NULL; o = o->next)
		if (strcmp(o->name, name) == 0 && i-- == 0)
			return o->value;
	return NULL;
}

const char *
harbor_service_option_name(const struct harbor_service *svc, size_t i)
{
	const struct service_option	*o;

	for (o = svc->options; o != NULL; o = o->next)
		if (i-- == 0)
			return o->name;
	return NULL;
}

int
harbor_service_check_options(const struct harbor_service *svc,
    const char *const *known, char *err, size_t errlen)
{
	const struct service_option	*o;
	char				 expected[256] = "";
	size_t				 i;

	for (i = 0; known != NULL && known[i] != NULL; i++) {
		if (i > 0)
			strlcat(expected, known[i + 1] == NULL ? " or " : ", ",
			    sizeof expected);
		strlcat(expected, known[i], sizeof expected);
	}
	for (o = svc->options; o != NULL; o = o->next) {
		for (i = 0; known != NULL && known[i] != NULL; i++)
			if (strcmp(o->name, known[i]) == 0)
				break;
		if (known != NULL && known[i] != NULL)
			continue;
		if (expected[0] == '\0')
			snprintf(err, errlen, "option '%s': handler %s takes no "
			    "options", o->name, svc->handler->name);
		else
			snprintf(err, errlen, "unknown option '%s' (handler %s "
			    "takes %s)", o->name, svc->handler->name, expected);
		return -1;
	}
	return 0;
}

const struct harbor_handler *
harbor_service_handler(const struct harbor_service *svc)
{
	return svc->handler;
}

const char *
harbor_service_name(const struct harbor_service *svc)
{
	return svc->name;
}

/* A handler's message as one line of the log: what it did not say is
 * said for it, and line breaks and other controls become spaces. */
static const char *
one_line(char *msg, size_t size, const char *handler)
{
	char	*p;

	msg[size - 1] = '\0';
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (msg[0] == '\0')
		snprintf(msg, size, "handler %s refused it without saying why",
		    handler != NULL ? handler : "(unnamed)");
	return msg;
}

int
service_start(struct harbor_service *svc, char *err, size_t errlen)
{
	char	herr[256] = "";

	if (svc->started)
		return 0;
	if (!svc->handler_ok) {
		snprintf(err, errlen, "service '%s': its handler was built for "
		    "version %u of libharbor's handler interface (%zu bytes); "
		    "this libharbor has version %d (%zu bytes)", svc->name,
		    svc->handler->abi_version, svc->handler->size,
		    HARBOR_ABI_VERSION, (size_t)HANDLER_V1_SIZE);
		return -1;
	}
	if (svc->dispatch == HARBOR_DISPATCH_POOL &&
	    (svc->handler->flags & HARBOR_HANDLER_INLINE_ONLY)) {
		snprintf(err, errlen, "service '%s': handler %s runs on its "
		    "connections' loops only, not on the pool", svc->name,
		    svc->handler->name);
		return -1;
	}
	if (svc->proxy_versions != 0 && svc->trusted_proxies.n == 0) {
		snprintf(err, errlen, "service '%s' takes PROXY headers but "
		    "trusts no proxy (trusted-proxies)", svc->name);
		return -1;
	}
	if (svc->nlisten == 0) {
		snprintf(err, errlen, "service '%s' has no listen address",
		    svc->name);
		return -1;
	}
	/* A handler that reads nothing at its start can take no option:
	 * one given to it is a mistake to say, not to drop. */
	if (svc->handler->service_init == NULL &&
	    harbor_service_check_options(svc, NULL, herr, sizeof herr) == -1) {
		snprintf(err, errlen, "service '%s': %s", svc->name, herr);
		return -1;
	}
	if (svc->handler->service_init != NULL &&
	    svc->handler->service_init(svc, &svc->state, herr,
	    sizeof herr) == -1) {
		snprintf(err, errlen, "service '%s': %s", svc->name,
		    one_line(herr, sizeof herr, svc->handler->name));
		return -1;
	}
	if (!svc->per_source_set)
		svc->limit.max_per_source = svc->limit.max_connections == 0 ?
		    0 : svc->limit.max_connections >=
		    DEFAULT_PER_SOURCE_DIVISOR ? svc->limit.max_connections /
		    DEFAULT_PER_SOURCE_DIVISOR : 1;
	limits_configure(svc->limits, &svc->limit);
	svc->started = 1;
	return 0;
}

int
harbor_service_check(struct harbor_service *svc, char *err, size_t errlen)
{
	return service_start(svc, err, errlen);
}

int
harbor_service_allow(struct harbor_service *svc, const char *net, char *err,
    size_t errlen)
{
	return acl_add(&svc->acl, net, 1, err, errlen);
}

int
harbor_service_deny(struct harbor_service *svc, const char *net, char *err,
    size_t errlen)
{
	return acl_add(&svc->acl, net, 0, err, errlen);
}

void
harbor_service_set_proxy_protocol(struct harbor_service *svc, int versions,
    unsigned timeout_ms)
{
	svc->proxy_versions = versions & (PROXY_V1 | PROXY_V2);
	if (timeout_ms != 0)
		svc->proxy_timeout_ms = timeout_ms;
}

int
harbor_service_trust_proxy(struct harbor_service *svc, const char *net,
    char *err, size_t errlen)
{
	return acl_add(&svc->trusted_proxies, net, 1, err, errlen);
}

int
harbor_network_check(const char *net, char *err, size_t errlen)
{
	struct cidr	c;

	if (strcmp(net, "all") == 0)
		return 0;
	return cidr_parse(net, &c, err, errlen);
}
