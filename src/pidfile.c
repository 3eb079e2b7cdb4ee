#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include "pidfile.h"

/* The pid in an existing file, if that process is alive and not us. */
static long
pidfile_holder(const char *path)
{
	FILE	*f;
	long	 pid = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || pid == (long)getpid())
		return 0;
#ifdef _WIN32
	{
		HANDLE	h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
		int	gone;

		/* Not there, or there and finished; a process we may not
		 * open counts as running, as EPERM does below. */
		if (h == NULL)
			return GetLastError() == ERROR_ACCESS_DENIED ? pid : 0;
		gone = WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
		CloseHandle(h);
		if (gone)
			return 0;
	}
#else
	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
		return 0;
#endif
	return pid;
}

int
pidfile_check(const char *path, char *err, size_t errlen)
{
	long	holder;

	if ((holder = pidfile_holder(path)) != 0) {
		snprintf(err, errlen, "pid file %s names process %ld, which is "
		    "running: is harbord already running?", path, holder);
		return -1;
	}
	return 0;
}

int
pidfile_write(const char *path, char *err, size_t errlen)
{
	char	buf[32];
	int	fd, n;

	if (pidfile_check(path, err, errlen) == -1)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd == -1) {
		snprintf(err, errlen, "cannot write pid file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "cannot write pid file %s: %s", path,
		    strerror(errno));
		(void)close(fd);
		(void)unlink(path);
		return -1;
	}
	(void)close(fd);
	return 0;
}

void
pidfile_remove(const char *path)
{
	(void)unlink(path);
}
