/*
 * splice-shim: preloaded into harbord (LD_PRELOAD) by
 * tests/integration_relay.c, it makes splice(2) refuse a socket as the
 * kernel does one that cannot splice (EINVAL), so that a relay's way back
 * to copies is run, not only read.  HARBOR_SHIM_SPLICE says which end:
 *
 *	from	a socket to read from
 *	to	a socket to write to
 *
 * Each refusal appends a line to $HARBOR_SHIM_DIR/refused, so that the
 * test knows the path was taken.  Pipes still splice, and so does every
 * socket when HARBOR_SHIM_SPLICE is not set.
 *
 * Built by the test at run time with plain $CC (tests/preload.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1	/* RTLD_NEXT, splice */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef ssize_t splice_fn(int, loff_t *, int, loff_t *, size_t, unsigned);

static int
is_socket(int fd)
{
	struct stat	st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void
note_refusal(const char *end)
{
	const char	*dir = getenv("HARBOR_SHIM_DIR");
	char		 path[1024], line[64];
	int		 fd, n;
	ssize_t		 w;

	if (dir == NULL || snprintf(path, sizeof path, "%s/refused", dir) >=
	    (int)sizeof path)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1)
		return;
	n = snprintf(line, sizeof line, "%s\n", end);
	w = write(fd, line, (size_t)n);
	(void)w;	/* a note lost fails the test that looks for it */
	(void)close(fd);
}

ssize_t
splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t len,
    unsigned flags)
{
	splice_fn	*real = (splice_fn *)dlsym(RTLD_NEXT, "splice");
	const char	*end = getenv("HARBOR_SHIM_SPLICE");
	int		 refuse = 0;

	if (end != NULL && strcmp(end, "from") == 0)
		refuse = is_socket(in);
	else if (end != NULL && strcmp(end, "to") == 0)
		refuse = is_socket(out);
	if (refuse || real == NULL) {
		note_refusal(end != NULL ? end : "?");
		errno = EINVAL;
		return -1;
	}
	return real(in, in_off, out, out_off, len, flags);
}
