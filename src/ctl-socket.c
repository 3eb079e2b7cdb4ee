/*
 * The control socket's file: made listening by harbord (the privileged
 * process when there is one, so that it can sit where only root writes),
 * connected to by harborctl.  A Unix socket: its file's owner, group and
 * mode say who may steer harbord.  (Windows: ctl-socket-win.c.)
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"

#ifndef HARBORD_CONTROL
#define HARBORD_CONTROL	"/var/run/harbord/harbord.sock"
#endif

static int
address_of(const char *path, struct sockaddr_un *sun, char *why,
    size_t whylen)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path) {
		snprintf(why, whylen, "control socket %s: the path is too "
		    "long for a socket (%zu bytes; at most %zu)", path,
		    strlen(path), sizeof sun->sun_path - 1);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* A socket file already there: left by a harbord that is gone (removed),
 * or another's (an error). */
static int
clear_stale(const char *path, const struct sockaddr_un *sun, char *why,
    size_t whylen)
{
	struct stat	st;
	int		fd, r, e;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, whylen, "control socket %s: the path exists and "
		    "is not a socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	r = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	e = errno;
	(void)close(fd);
	if (r == 0) {
		snprintf(why, whylen, "control socket %s: another harbord "
		    "answers there", path);
		return -1;
	}
	if (e != ECONNREFUSED && e != ENOENT) {
		errno = e;
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
ctl_socket_listen(const char *path, long gid, char key[CTL_KEY_SIZE],
    char *why, size_t whylen)
{
	struct sockaddr_un	sun;
	mode_t			mask;
	int			fd, r;

	/* Its mode says who may connect: no key. */
	key[0] = '\0';
	*why = '\0';
	if (address_of(path, &sun, why, whylen) == -1)
		return -1;
	if (clear_stale(path, &sun, why, whylen) == -1)
		goto fail;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		goto fail;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* Never, even for a moment, open to others. */
	mask = umask(0117);
	r = bind(fd, (const struct sockaddr *)&sun, sizeof sun);
	(void)umask(mask);
	if (r == -1 ||
	    (gid != -1 && chown(path, (uid_t)-1, (gid_t)gid) == -1) ||
	    chmod(path, 0660) == -1 || listen(fd, CTL_CLIENTS_MAX) == -1) {
		r = errno;
		if (r != EADDRINUSE)
			(void)unlink(path);
		(void)close(fd);
		errno = r;
		goto fail;
	}
	return fd;
fail:
	if (*why == '\0')
		snprintf(why, whylen, "control socket %s: %s", path,
		    strerror(errno));
	return -1;
}

int
ctl_socket_connect(const char *path, char *why, size_t whylen)
{
	struct sockaddr_un	sun;
	int			fd, e;

	if (address_of(path, &sun, why, whylen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&sun, sizeof sun) == 0)
		return fd;
	e = errno;
	(void)close(fd);
	switch (e) {
	case ENOENT:
		snprintf(why, whylen, "%s: no such socket (is harbord "
		    "running, with this control-socket?)", path);
		break;
	case ECONNREFUSED:
		snprintf(why, whylen, "%s: nothing answers (harbord is not "
		    "running)", path);
		break;
	case EACCES:
	case EPERM:
		snprintf(why, whylen, "%s: permission denied (root and the "
		    "control-group may use it)", path);
		break;
	default:
		snprintf(why, whylen, "%s: %s", path, strerror(e));
		break;
	}
	return -1;
}

void
ctl_socket_close(int fd)
{
	(void)close(fd);
}

const char *
ctl_socket_default(void)
{
	return HARBORD_CONTROL;
}
