/* Dropping root after the listening sockets are bound. */
#ifndef HARBORD_PRIVDROP_H
#define HARBORD_PRIVDROP_H

#include <stddef.h>

struct privdrop {
	const char	*user;		/* NULL: as started */
	const char	*group;		/* NULL: the user's */
	const char	*chroot_dir;	/* NULL: none */
};

#ifndef HARBORD_DEFAULT_USER
#define HARBORD_DEFAULT_USER	"nobody"
#endif

#if !defined(_WIN32)
/* An account by name, or by number when no account has that name. */
struct passwd	*privdrop_user(const char *name);
struct group	*privdrop_group(const char *name);
#endif

/* Looks the accounts up (before any chroot, while /etc is there); fails
 * with a message when an account does not exist, or is one a non-root
 * harbord cannot become.  Run as root with no user named: nobody. */
int	privdrop_prepare(const struct privdrop *pd, char *err, size_t errlen);
/* Who harbord serves as, once the plan is applied: "user nobody (uid
 * 65534), group of user nobody (gid 65534), chrooted to /var/empty". */
void	privdrop_describe(char *buf, size_t len);
/* chroot, then groups, gid and uid; checks root cannot be had back. */
int	privdrop_apply(char *err, size_t errlen);

#endif
