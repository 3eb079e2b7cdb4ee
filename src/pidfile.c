/*
 * harbord's pid file, locked for as long as harbord runs.  Whether harbord
 * runs is the lock's answer, not the pid's: a file left by a harbord that
 * died names a pid the system may have given to anything since, and
 * nothing here (nor the contrib scripts, which test the lock with
 * flock(1) first) ever signals it.  flock(2) where the system has it --
 * the lock flock(1) sees -- fcntl(2)'s otherwise, and on Windows a
 * LockFileEx() of a byte past the pid; each is taken by
 * the process that stays (after detaching), and released by the system
 * whatever way it ends.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#ifdef HAVE_SYS_FILE_H
#include <sys/file.h>
#endif
#include <unistd.h>
#ifdef _WIN32
#include <windows.h>
#include <io.h>
#endif

#include "compat.h"
#include "harbor.h"
#include "pidfile.h"

struct pidfile {
	char	*path;
	int	 fd;
};

#ifndef O_BINARY
#define O_BINARY	0
#endif

/* 0: locked here; 1: another process holds it; -1: cannot lock. */
static int
lock_file(int fd)
{
#ifdef _WIN32
	/* A byte far past the pid, so that others may still read it. */
	OVERLAPPED	ov;
	HANDLE		h = (HANDLE)_get_osfhandle(fd);

	memset(&ov, 0, sizeof ov);
	ov.Offset = 0x40000000;
	if (LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY,
	    0, 1, 0, &ov))
		return 0;
	if (GetLastError() == ERROR_LOCK_VIOLATION) {
		errno = EWOULDBLOCK;
		return 1;
	}
	errno = EACCES;
	return -1;
#elif defined(HAVE_FLOCK) && defined(LOCK_NB)
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK || errno == EAGAIN ? 1 : -1;
#else
	struct flock	fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	return errno == EACCES || errno == EAGAIN ? 1 : -1;
#endif
}

/* The pid a file names, 0 if none. */
static long
pid_in(int fd)
{
	char	buf[32];
	ssize_t	n;

	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    (n = read(fd, buf, sizeof buf - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

struct pidfile *
pidfile_lock(const char *path, char *err, size_t errlen)
{
	struct pidfile	*pf;
	long		 holder;
	int		 fd;

	fd = open(path, O_RDWR | O_CREAT | O_BINARY, 0644);
	if (fd == -1) {
		snprintf(err, errlen, "cannot open pid file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
#ifdef FD_CLOEXEC
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
	switch (lock_file(fd)) {
	case 0:
		if ((holder = pid_in(fd)) > 0 && holder != (long)getpid())
			harbor_log(HARBOR_LOG_NOTICE, "pid file %s named process "
			    "%ld, which did not hold its lock: a stale file, "
			    "taken over", path, holder);
		break;
	case 1:
		holder = pid_in(fd);
		if (holder > 0)
			snprintf(err, errlen, "harbord is already running: "
			    "process %ld holds the lock on %s", holder, path);
		else
			snprintf(err, errlen, "harbord is already running: "
			    "another process holds the lock on %s", path);
		(void)close(fd);
		return NULL;
	default:
		snprintf(err, errlen, "cannot lock pid file %s: %s", path,
		    strerror(errno));
		(void)close(fd);
		return NULL;
	}
	if ((pf = malloc(sizeof *pf)) == NULL ||
	    (pf->path = strdup(path)) == NULL) {
		free(pf);
		(void)close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pf->fd = fd;
	return pf;
}

int
pidfile_write(struct pidfile *pf, char *err, size_t errlen)
{
	char	buf[32];
	int	n;

	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(pf->fd, 0) == -1 || lseek(pf->fd, 0, SEEK_SET) == -1 ||
	    write(pf->fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "cannot write pid file %s: %s", pf->path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
pidfile_forget(struct pidfile *pf)
{
	if (pf == NULL)
		return;
	(void)close(pf->fd);
	free(pf->path);
	free(pf);
}

void
pidfile_remove(struct pidfile *pf)
{
	if (pf == NULL)
		return;
#ifdef _WIN32
	/* Windows unlinks no open file. */
	char	*path = pf->path;

	pf->path = NULL;
	pidfile_forget(pf);
	(void)unlink(path);
	free(path);
#else
	/* Unlinked while still locked, so no second harbord can take a
	 * file that is about to go. */
	(void)unlink(pf->path);
	pidfile_forget(pf);
#endif
}
