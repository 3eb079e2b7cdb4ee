/* The privileged process's listening sockets (parent-listen.c). */
#ifndef HARBORD_PARENT_LISTEN_H
#define HARBORD_PARENT_LISTEN_H

#include <stddef.h>

#include "config.h"

/* A listening socket the parent holds. */
struct bound {
	char	*service;
	char	*address;	/* canonical, as configured */
	char	 actual[HARBOR_ADDRSTRLEN];	/* as bound (port 0's port) */
	char	*asked;		/* as the configuration being sent has it */
	int	 fd;
	int	 wanted;	/* by the configuration being sent */
	int	 fresh;		/* bound for it */
};

struct listen_table {
	struct bound	*b;
	size_t		 n;
};

/* The sockets conf listens on: those held already kept, the rest bound
 * (with the service's reuse-port), each marked wanted (and fresh if bound
 * now), each with the address the configuration calls it.  On failure the fresh ones are closed and
 * nothing changes: -1 with why. */
int	listen_table_for(struct listen_table *lt, const struct config *conf,
	    char *err, size_t errlen);
/* After the serving process answered: applied, what is not wanted goes;
 * not, what was bound for it goes.  All that stays is wanted from now. */
void	listen_table_settle(struct listen_table *lt, int applied);
/* Closes and forgets the i-th. */
void	listen_table_close(struct listen_table *lt, size_t i);

#endif
