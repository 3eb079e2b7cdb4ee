/* harbord's pid file: locked while harbord runs (see pidfile.c). */
#ifndef HARBORD_PIDFILE_H
#define HARBORD_PIDFILE_H

#include <stddef.h>

struct pidfile;

/* Opens and locks it (creating it); fails, naming the holder, when a
 * running harbord has it locked.  What the file said before is not
 * trusted: an unlocked file is stale, whatever pid it names. */
struct pidfile *pidfile_lock(const char *path, char *err, size_t errlen);
/* Writes this process's pid into it. */
int	pidfile_write(struct pidfile *pf, char *err, size_t errlen);
/* Unlinks and closes it (the lock goes with it). */
void	pidfile_remove(struct pidfile *pf);
/* Closes this process's hold of it, leaving the file: a child that goes
 * on without it. */
void	pidfile_forget(struct pidfile *pf);

#endif
