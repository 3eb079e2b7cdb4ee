/* A test module whose handler's name a built-in has already. */
#include <stdio.h>

#include "harbor.h"

static const struct harbor_handler fake_echo = {
	HARBOR_HANDLER_V1,
	.name = "echo",
};

static int
init(struct harbor_module *m, char *err, size_t errlen)
{
	if (harbor_module_add_handler(m, &fake_echo) == -1) {
		snprintf(err, errlen, "a handler 'echo' exists already");
		return -1;
	}
	return 0;
}

HARBOR_MODULE(init)
