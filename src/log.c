/*
 * The library's logging: formats a message and hands it, as one line, to
 * the program's sink (harbor_log_set_sink).  Without a sink messages go to
 * stderr.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static harbor_log_fn	*log_sink;
static void		*log_sink_arg;
static atomic_int	 log_max_level = HARBOR_LOG_INFO;
static atomic_uint_least64_t log_dropped;

static const char *const level_names[] = {
	"err", "warning", "notice", "info", "debug"
};

const char *
harbor_log_level_name(enum harbor_log_level level)
{
	if ((unsigned)level >= sizeof level_names / sizeof level_names[0])
		return "?";
	return level_names[level];
}

void
harbor_log_set_sink(harbor_log_fn *fn, void *arg)
{
	log_sink = fn;
	log_sink_arg = arg;
}

void
harbor_log_set_level(enum harbor_log_level max_level)
{
	atomic_store(&log_max_level, (int)max_level);
}

enum harbor_log_level
harbor_log_get_level(void)
{
	return (enum harbor_log_level)atomic_load(&log_max_level);
}

int
log_enabled(enum harbor_log_level level)
{
	return (int)level <= atomic_load(&log_max_level);
}

void
log_emit(enum harbor_log_level level, const char *msg)
{
	if (log_sink != NULL)
		log_sink(level, msg, log_sink_arg);
	else
		(void)fprintf(stderr, "%s: %s\n", harbor_log_level_name(level),
		    msg);
}

void
harbor_log(enum harbor_log_level level, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_emit(level, msg);
}

void
harbor_log_count_dropped(void)
{
	atomic_fetch_add_explicit(&log_dropped, 1, memory_order_relaxed);
}

uint64_t
harbor_log_dropped(void)
{
	return atomic_load_explicit(&log_dropped, memory_order_relaxed);
}

const char *
harbor_version(void)
{
	return PACKAGE_VERSION;
}
