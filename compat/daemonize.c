#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"

#ifndef _WIN32
/* The starter: copies the detached process's words to stderr until the
 * NUL that ends them, and exits with the status byte after it. */
static void
wait_for_report(int fd)
{
	char	buf[512], *nul;
	ssize_t	n;
	int	ended = 0;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (ended) {
			_exit((unsigned char)buf[0]);
		}
		if ((nul = memchr(buf, '\0', (size_t)n)) == NULL) {
			(void)!write(2, buf, (size_t)n);
			continue;
		}
		(void)!write(2, buf, (size_t)(nul - buf));
		if (nul + 1 < buf + n)
			_exit((unsigned char)nul[1]);
		ended = 1;
	}
	if (!ended)
		(void)!write(2, "harbord: ended before it was ready\n", 35);
	_exit(1);
}
#endif

int
daemonize(int *report)
{
#ifdef _WIN32
	/* No detaching on Windows: a service manager runs it as it is. */
	*report = -1;
	return 0;
#else
	int	fd, p[2];

	*report = -1;
	if (pipe(p) == -1)
		return -1;
	switch (fork()) {
	case -1:
		(void)close(p[0]);
		(void)close(p[1]);
		return -1;
	case 0:
		break;
	default:
		(void)close(p[1]);
		wait_for_report(p[0]);
	}
	(void)close(p[0]);
	(void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if (setsid() == -1 || chdir("/") == -1 ||
	    (fd = open("/dev/null", O_RDWR)) == -1) {
		(void)close(p[1]);
		return -1;
	}
	(void)dup2(fd, 0);
	(void)dup2(fd, 1);
	(void)dup2(fd, 2);
	if (fd > 2)
		(void)close(fd);
	*report = p[1];
	return 0;
#endif
}

void
daemonize_report(int report, int status)
{
#ifndef _WIN32
	unsigned char	end[2] = { 0, (unsigned char)status };

	if (report == -1)
		return;
	(void)!write(report, end, sizeof end);
	(void)close(report);
#else
	(void)report;
	(void)status;
#endif
}
