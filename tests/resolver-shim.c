/*
 * resolver-shim: a stand-in for the system resolver, preloaded into
 * harbord (LD_PRELOAD) by tests/integration_resolve.c, for the one name
 * SHIM_NAME; every other name goes to the real getaddrinfo.  No network is
 * needed to see a name that does not resolve at first and resolves later,
 * or a resolver that takes its time.  The test steers it with files in
 * the directory $HARBOR_SHIM_DIR:
 *
 *	calls		a line is appended for each lookup of the name
 *	delay-ms	the lookup takes this long first
 *	answer		while it exists the name is 127.0.0.1; until then
 *			the lookup fails as when DNS is not up (EAI_AGAIN)
 *
 * Built by the test at run time with plain $CC (tests/preload.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1	/* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SHIM_NAME	"backend.shim.invalid"

typedef int getaddrinfo_fn(const char *, const char *,
    const struct addrinfo *, struct addrinfo **);

static int
shim_file(const char *dir, const char *name, char *path, size_t len)
{
	return snprintf(path, len, "%s/%s", dir, name) < (int)len ? 0 : -1;
}

static long
shim_delay_ms(const char *dir)
{
	char	path[1024], buf[32];
	ssize_t	n;
	int	fd;

	if (shim_file(dir, "delay-ms", path, sizeof path) == -1 ||
	    (fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	(void)close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	getaddrinfo_fn	*real = (getaddrinfo_fn *)dlsym(RTLD_NEXT,
			    "getaddrinfo");
	const char	*dir = getenv("HARBOR_SHIM_DIR");
	struct addrinfo	 numeric;
	struct timespec	 ts;
	char		 path[1024];
	long		 ms;
	int		 fd;

	if (real == NULL)
		return EAI_FAIL;
	if (dir == NULL || node == NULL || strcmp(node, SHIM_NAME) != 0)
		return real(node, service, hints, res);
	if (shim_file(dir, "calls", path, sizeof path) == 0 &&
	    (fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
		(void)write(fd, "call\n", 5);
		(void)close(fd);
	}
	if ((ms = shim_delay_ms(dir)) > 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	if (shim_file(dir, "answer", path, sizeof path) == -1 ||
	    access(path, F_OK) == -1)
		return EAI_AGAIN;
	memset(&numeric, 0, sizeof numeric);
	if (hints != NULL)
		numeric = *hints;
	numeric.ai_flags |= AI_NUMERICHOST;
	return real("127.0.0.1", service, &numeric, res);
}
