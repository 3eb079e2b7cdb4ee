/* Programs run as their service's user for a serving process that gave up
 * root (privsep-spawn.c). */
#ifndef HARBORD_PRIVSEP_SPAWN_H
#define HARBORD_PRIVSEP_SPAWN_H

#include <sys/types.h>

#include "config.h"

struct harbor_spawn;

struct spawn_request {
	char	 *service;
	long	  uid, gid;
	char	**argv;		/* NULL-terminated */
	char	**envp;
};

int	spawn_request_encode(const char *service, const struct harbor_spawn *sp,
	    unsigned char **buf, size_t *len);
/* Checks every length and count; -1 for anything malformed. */
int	spawn_request_decode(const unsigned char *buf, size_t len,
	    struct spawn_request *rq);
void	spawn_request_free(struct spawn_request *rq);
/* Whether conf has rq->service run exactly this program, as these ids,
 * with an environment of UCSPI's variables and its own: 0, or -1 with
 * why. */
int	spawn_request_allowed(const struct config *conf,
	    const struct spawn_request *rq, char *why, size_t whylen);
/* The parent: forks, and in the child joins a group of its own, takes io
 * as standard input and output and err as standard error, chroots,
 * becomes the ids, execs.  The pid, or -1 with why (the exec's error
 * too). */
pid_t	spawn_start(const struct spawn_request *rq, int io, int err,
	    const char *chroot_dir, char *why, size_t whylen);

/* The parent: the process groups it started for the serving process, kept
 * while they have members (a group id is not reused until then), so that
 * it signals no other. */
struct spawned_groups {
	pid_t	*pid;
	size_t	 n;
};
/* Forgets the groups that are empty. */
void	spawned_prune(struct spawned_groups *g);
int	spawned_known(const struct spawned_groups *g, pid_t pid);
/* Room for one more (pruned first): 0, or -1 out of memory. */
int	spawned_room(struct spawned_groups *g);
/* Signals every group still there, saying so. */
void	spawned_signal_all(struct spawned_groups *g, int sig);

/* The serving process: the channel to ask on, and the spawner's calls
 * (struct harbor_spawner). */
void	spawn_client_init(int sock);
pid_t	spawn_client_spawn(void *arg, const char *service,
	    const struct harbor_spawn *sp, int io, int err, char *why,
	    size_t whylen);
int	spawn_client_kill(void *arg, pid_t pid, int sig);

#endif
