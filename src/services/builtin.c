/*
 * The builtin handlers by name, the classic small services of RFCs 862 to
 * 868.
 */
#include "autoconfig.h"

#include <string.h>

#include "harbor.h"
#include "services.h"

static const struct harbor_handler *const builtins[] = {
	&handler_echo, &handler_discard, &handler_chargen, &handler_daytime,
	&handler_time, &handler_qotd
};

static const char *const builtin_names[] = {
	"echo", "discard", "chargen", "daytime", "time", "qotd", NULL
};

const struct harbor_handler *
harbor_builtin_handler(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strcmp(builtins[i]->name, name) == 0)
			return builtins[i];
	return NULL;
}

const char *const *
harbor_builtin_handler_names(void)
{
	return builtin_names;
}
