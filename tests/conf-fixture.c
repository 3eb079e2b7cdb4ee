/* conf-fixture.c -- see conf-fixture.h. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "conf-fixture.h"

struct conf_errors errs;

void
setup(void)
{
	memset(&errs, 0, sizeof errs);
}

void
teardown(void)
{
	conf_errors_clear(&errs);
}

struct config *
good(const char *text)
{
	struct config	*conf = config_load_string("t.conf", text, &errs);
	size_t		 i;

	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "unexpected: %s\n", errs.msg[i]);
	ck_assert_ptr_nonnull(conf);
	return conf;
}

void
bad(const char *text, const char *want)
{
	struct config	*conf = config_load_string("t.conf", text, &errs);

	ck_assert_ptr_null(conf);
	ck_assert_uint_ge(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], want);
	conf_errors_clear(&errs);
}
