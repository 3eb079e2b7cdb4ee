/* Dropping root after the listening sockets are bound. */
#ifndef HARBORD_PRIVDROP_H
#define HARBORD_PRIVDROP_H

#include <stddef.h>

struct privdrop {
	const char	*user;		/* NULL: as started */
	const char	*group;		/* NULL: the user's */
	const char	*chroot_dir;	/* NULL: none */
};

/* Looks the accounts up (before any chroot, while /etc is there); fails
 * with a message when harbord runs as root and the config names no user,
 * or names one a non-root harbord cannot become. */
int	privdrop_prepare(const struct privdrop *pd, char *err, size_t errlen);
/* chroot, then groups, gid and uid; checks root cannot be had back. */
int	privdrop_apply(char *err, size_t errlen);

#endif
