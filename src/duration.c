/* Durations and sizes as config values: a number and an optional unit. */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

struct unit {
	const char		*suffix;
	unsigned long long	 factor;
};

static int
parse_scaled(const char *text, const struct unit *units,
    unsigned long long dflt, unsigned long long max, unsigned long long *out,
    const char *what, char *err, size_t errlen)
{
	unsigned long long	 v = 0, factor = dflt;
	const char		*p = text;
	size_t			 i;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max + 9) / 10)
			goto too_big;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (*p != '\0') {
		for (i = 0; units[i].suffix != NULL; i++)
			if (strcmp(p, units[i].suffix) == 0)
				break;
		if (units[i].suffix == NULL)
			goto bad;
		factor = units[i].factor;
	}
	if (v != 0 && v > max / factor)
		goto too_big;
	*out = v * factor;
	return 0;
bad:
	snprintf(err, errlen, "bad %s '%s'", what, text);
	return -1;
too_big:
	snprintf(err, errlen, "%s '%s' is too large", what, text);
	return -1;
}

static const struct unit duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	{ "d", 86400000 }, { NULL, 0 }
};

static const struct unit size_units[] = {
	{ "k", 1024 }, { "K", 1024 }, { "m", 1024 * 1024 },
	{ "M", 1024 * 1024 }, { NULL, 0 }
};

int
parse_duration_ms(const char *text, unsigned long long max,
    unsigned long long *ms, char *err, size_t errlen)
{
	if (parse_scaled(text, duration_units, 1000, max, ms, "duration",
	    err, errlen) == -1) {
		if (strncmp(err, "bad", 3) == 0)
			snprintf(err, errlen, "bad duration '%s' (expected a "
			    "number with ms, s, m, h or d, such as 30s)", text);
		return -1;
	}
	return 0;
}

int
parse_size(const char *text, unsigned long long max,
    unsigned long long *bytes, char *err, size_t errlen)
{
	if (parse_scaled(text, size_units, 1, max, bytes, "size", err,
	    errlen) == -1) {
		if (strncmp(err, "bad", 3) == 0)
			snprintf(err, errlen, "bad size '%s' (expected a number "
			    "of bytes, optionally with k or m)", text);
		else
			snprintf(err, errlen, "size '%s' is too large (at most "
			    "%llu bytes)", text, max);
		return -1;
	}
	return 0;
}
