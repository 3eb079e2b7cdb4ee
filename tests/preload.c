/*
 * Preloaded stand-ins: see preload.h.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "preload.h"

#ifdef __linux__
/* Before the tests run, so without Check's assertions (an assertion that
 * holds reports progress, which only a test can). */
const char *
preload_build(const char *name, const char **why)
{
	const char	*cc = getenv("CC"), *src = getenv("HARBOR_TEST_SRCDIR");
	static char	 reason[256];
	char		 so[1024], cmd[4096], *copy;

	if (cc == NULL || *cc == '\0' || src == NULL) {
		snprintf(reason, sizeof reason, "no CC or HARBOR_TEST_SRCDIR "
		    "to build %s with", name);
		*why = reason;
		return NULL;
	}
	/* -ldl where dlsym is not in libc yet. */
	if (snprintf(so, sizeof so, "%s/%s.so", harness_tmpdir(), name) >=
	    (int)sizeof so || snprintf(cmd, sizeof cmd, "%s -shared -fPIC "
	    "-o '%s' '%s/%s.c' >/dev/null 2>&1 || %s -shared -fPIC -o '%s' "
	    "'%s/%s.c' -ldl >/dev/null 2>&1", cc, so, src, name, cc, so, src,
	    name) >= (int)sizeof cmd) {
		snprintf(reason, sizeof reason, "the paths to build %s are too "
		    "long", name);
		*why = reason;
		return NULL;
	}
	if (system(cmd) != 0) {
		snprintf(reason, sizeof reason, "%s cannot build %s", cc, name);
		*why = reason;
		return NULL;
	}
	if ((copy = strdup(so)) == NULL)
		*why = "out of memory";
	return copy;
}

void
preload_use(const char *so)
{
	const char	*asan = getenv("ASAN_OPTIONS");
	char		*opts = asan != NULL ?
			    harness_fmt("%s:verify_asan_link_order=0", asan) :
			    strdup("verify_asan_link_order=0");

	ck_assert(setenv("LD_PRELOAD", so, 1) == 0);
	/* A libasan that is not first in the list would refuse to run. */
	ck_assert(opts != NULL && setenv("ASAN_OPTIONS", opts, 1) == 0);
	free(opts);
}
#else
const char *
preload_build(const char *name, const char **why)
{
	(void)name;
	*why = "LD_PRELOAD is used on Linux only";
	return NULL;
}

void
preload_use(const char *so)
{
	(void)so;
	ck_abort_msg("nothing is preloaded here");
}
#endif
