/* systemd's readiness protocol (sdnotify.c). */
#ifndef HARBORD_SDNOTIFY_H
#define HARBORD_SDNOTIFY_H

/* Takes NOTIFY_SOCKET out of the environment, keeping where it points. */
void	sdnotify_init(void);
/* Where NOTIFY_SOCKET pointed, for a harbord that takes over; NULL. */
const char *sdnotify_socket(void);
/* A process that is not the one systemd watches says nothing. */
void	sdnotify_forget(void);
/* Sends "NAME=VALUE" lines; 0, or -1 (logged).  Nothing without a
 * NOTIFY_SOCKET. */
int	sdnotify(const char *state);
/* RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload asks. */
int	sdnotify_reloading(void);

#endif
