/*
 * upgrade.c: starting a new harbord binary with this one's sockets, and
 * handing over to it once it serves.
 */
#ifndef HARBORD_UPGRADE_H
#define HARBORD_UPGRADE_H

#include <stddef.h>
#include <sys/types.h>

struct harbord;

/* A socket to pass: its descriptor and the name it goes by (the
 * service's, or UPGRADE_CONTROL_NAME). */
struct upgrade_socket {
	int		 fd;
	const char	*name;
};
#define UPGRADE_CONTROL_NAME	"harbord-control-socket"
/* As many as a service manager may pass (activation.c's bound). */
#define UPGRADE_SOCKETS_MAX	200
/* How long a new harbord has to serve before the upgrade is given up. */
#define UPGRADE_READY_MS	30000

#ifndef _WIN32
/* Starts the new harbord with the services' listening sockets and the
 * control socket (-1: none): its pid, and in *sock this side of the pair
 * it answers on (readable: upgrade_hear); -1 with why. */
pid_t	upgrade_spawn(struct harbord *hd, const struct upgrade_socket *socks,
	    size_t n, int control_fd, int *sock, char *why, size_t whylen);
/* What came on the pair: 1, it serves; 0, nothing yet; -1, it failed
 * (why). */
int	upgrade_hear(int sock, char *why, size_t whylen);
/* It serves: this harbord lets go of the pid file and the control
 * socket's file, tells the service manager, and answers it. */
void	upgrade_hand_over(struct harbord *hd, int sock, long new_pid);
#endif

/* The new harbord: whether it was started by an upgrade (-1: a bad
 * variable, said). */
int	upgrade_init(struct harbord *hd);
/* Serving: tells the old harbord, waits for it to let go, and takes the
 * pid file.  0, or -1 with why. */
int	upgrade_announce(struct harbord *hd, char *why, size_t whylen);

#endif
