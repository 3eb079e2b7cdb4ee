/*
 * The built-in handlers, and what of them the tests and fuzzers reach.
 * They are written against <harbor.h> alone, as a module would be, with
 * compat's threads and resolver for the platform.
 */
#ifndef HARBOR_SERVICES_H
#define HARBOR_SERVICES_H

#include <stddef.h>

#include "harbor.h"

extern const struct harbor_handler handler_echo;
extern const struct harbor_handler handler_discard;
extern const struct harbor_handler handler_chargen;
extern const struct harbor_handler handler_daytime;
extern const struct harbor_handler handler_time;
extern const struct harbor_handler handler_qotd;
extern const struct harbor_handler handler_exec;
extern const struct harbor_handler handler_forward;
extern const struct harbor_handler handler_metrics;

/* chargen.c: the RFC 864 line that starts with character 32 + (n mod
 * 95), CRLF included; buf holds CHARGEN_LINE bytes. */
#define CHARGEN_LINE	74
void	chargen_line(unsigned n, char *buf);

/* qotd.c: parses a quote file's text (path names it in errors) into the
 * state quotes_free() frees. */
int	qotd_parse(const char *text, size_t size, const char *path,
	    void **quotes, char *err, size_t errlen);
void	quotes_free(void *quotes);
size_t	quotes_count(const void *quotes);
/* The i-th quote as sent: CRLF line endings, under 512 bytes. */
const char *quotes_get(const void *quotes, size_t i, size_t *len);

#endif
