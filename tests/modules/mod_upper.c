/*
 * A test module: "upper" answers each line in capitals; option "shout"
 * (yes or no, no unless given) adds "!" before the line ending.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harbor.h"

static int
upper_init(struct harbor_service *svc, void **state, char *err,
    size_t errlen)
{
	static const char *const known[] = { "shout", NULL };
	const char	*shout = harbor_service_option(svc, "shout");
	static int	 yes = 1, no = 0;

	if (harbor_service_check_options(svc, known, err, errlen) == -1)
		return -1;
	if (shout != NULL && strcmp(shout, "yes") != 0 &&
	    strcmp(shout, "no") != 0) {
		snprintf(err, errlen, "option 'shout' must be yes or no, not "
		    "'%s'", shout);
		return -1;
	}
	*state = shout != NULL && strcmp(shout, "yes") == 0 ? &yes : &no;
	return 0;
}

static size_t
upper_input(struct harbor_conn *c, const char *line, size_t len)
{
	const int	*shout = harbor_conn_service_state(c);
	char		 out[1024];
	size_t		 i, n = 0, body = len;

	while (body > 0 && (line[body - 1] == '\n' || line[body - 1] == '\r'))
		body--;
	for (i = 0; i < body && n < sizeof out - 3; i++)
		out[n++] = (char)toupper((unsigned char)line[i]);
	if (*shout)
		out[n++] = '!';
	out[n++] = '\n';
	(void)harbor_conn_write(c, out, n);
	return len;
}

static const struct harbor_handler upper = {
	HARBOR_HANDLER_V1,
	.name = "upper",
	.service_init = upper_init,
	.input = upper_input,
};

static int
init(struct harbor_module *m, char *err, size_t errlen)
{
	if (harbor_module_add_handler(m, &upper) == -1) {
		snprintf(err, errlen, "cannot add handler 'upper'");
		return -1;
	}
	return 0;
}

HARBOR_MODULE(init)
