/* What the configuration's unit suites share: the errors of the text last
 * loaded, and a text that must load or must fail. */
#ifndef HARBOR_TEST_CONF_FIXTURE_H
#define HARBOR_TEST_CONF_FIXTURE_H

#include "config.h"

extern struct conf_errors errs;

/* Check fixtures: errs empty before a test, cleared after. */
void		 setup(void);
void		 teardown(void);
/* "t.conf" with text loads (anything it says is printed). */
struct config	*good(const char *text);
/* It fails, and its first error is exactly want. */
void		 bad(const char *text, const char *want);

#endif
