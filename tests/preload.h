/*
 * Shared objects a test preloads into the harbord it starts (LD_PRELOAD on
 * Linux): a stand-in for a system call or a library function, to see
 * harbord meet what the system here does not do by itself.
 */
#ifndef HARBOR_TESTS_PRELOAD_H
#define HARBOR_TESTS_PRELOAD_H

/* Builds tests/NAME.c as a shared object in the harness's temporary
 * directory, with the compiler make check names (CC), plainly: no
 * sanitizer's runtime is asked of the shell that libtool's wrapper runs
 * first.  Call before the tests of a case run (its unchecked fixture, or
 * main for a suite of one case: the harness empties the directory after
 * each case).  Its path (malloc'd), or NULL and *why. */
const char	*preload_build(const char *name, const char **why);
/* The harbord this test starts preloads so (Check runs each test in a
 * child of its own: the environment goes with it). */
void		 preload_use(const char *so);

#endif
