/*
 * activation.c: listening sockets passed by a service manager (systemd's
 * LISTEN_FDS), taken by the services whose addresses they are bound to.
 */
#ifndef HARBORD_ACTIVATION_H
#define HARBORD_ACTIVATION_H

#include <stddef.h>

/* Reads and checks what the service manager passed, and takes the
 * variables out of the environment: how many sockets, or -1 (said). */
int	activation_init(void);
/* The passed socket bound to address (canonical) or named as service, now
 * the caller's; -1 if none.  flags are those the service would bind
 * with (harbor_listen_open_opts): a socket bound otherwise is said. */
int	activation_take(const char *service, const char *address,
	    unsigned flags);
/* The passed socket of that name, now the caller's; -1 if none. */
int	activation_take_named(const char *name);
/* Those no service took: said and closed. */
void	activation_close_unclaimed(void);
/* The address a socket is bound to, spelled as the library spells it
 * ("127.0.0.1:7", "[::1]:7"); "" if it cannot tell. */
void	activation_address(int fd, char *buf, size_t len);

#endif
