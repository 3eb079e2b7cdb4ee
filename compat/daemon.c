#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "compat.h"

/* Where libc has no daemon(3): detach from the terminal the classic way. */
int
daemon(int nochdir, int noclose)
{
#ifdef _WIN32
	errno = ENOSYS;
	return -1;
#else
	int	fd;

	switch (fork()) {
	case -1:
		return -1;
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		return -1;
	if (!nochdir && chdir("/") == -1)
		return -1;
	if (!noclose && (fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		if (fd > 2)
			(void)close(fd);
	}
	return 0;
#endif
}
