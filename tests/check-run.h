/* Runs a Check suite the way every unit suite does; the exit status
 * make check reads. */
#ifndef CHECK_RUN_H
#define CHECK_RUN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* A test that cannot apply on this system is left out of its suite, and
 * says so in the test program's log. */
static inline void
check_skip(const char *test, const char *reason)
{
	printf("SKIP: %s: %s\n", test, reason);
	fflush(stdout);
}

/* A test that cannot apply on Windows, where it is not even compiled. */
#ifdef _WIN32
#define add_test_not_windows(tc, t, why)	check_skip(#t, why)
#else
#define add_test_not_windows(tc, t, why)	tcase_add_test(tc, t)
#endif

static inline int
check_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
