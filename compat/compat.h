/*
 * Replacements for what some platforms lack.  Each is built only where
 * configure found it missing (AC_REPLACE_FUNCS).
 */
#ifndef HARBOR_COMPAT_H
#define HARBOR_COMPAT_H

#include <stddef.h>

#ifndef HAVE_STRLCPY
size_t	strlcpy(char *dst, const char *src, size_t size);
#endif
#ifndef HAVE_DAEMON
int	daemon(int nochdir, int noclose);
#endif

#endif
