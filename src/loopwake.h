/*
 * A call on an event loop's thread that another thread asks for
 * (loopwake.c).  The Windows service's stop and reload come on a thread of
 * the Service Control Manager's; they must run on the main loop, as a
 * signal's would, since the server is the main loop's alone.
 */
#ifndef HARBORD_LOOPWAKE_H
#define HARBORD_LOOPWAKE_H

#include "thread.h"

struct event;
struct event_base;

/* what: every bit asked for since the last call. */
typedef void loopwake_fn(unsigned what, void *arg);

struct loopwake {
	mutex_t		 lock;		/* the fields below */
	struct event	*ev;		/* NULL: no loop attached */
	unsigned	 asked;		/* not yet handed to fn */
	loopwake_fn	*fn;
	void		*arg;
};

/* Before any thread may ask; destroyed when none can any more. */
void	loopwake_init(struct loopwake *w);
void	loopwake_destroy(struct loopwake *w);
/* From now on fn(what, arg) runs on base's loop for what is asked, and
 * at once for what was asked before: 0, or -1 (out of memory).  The base
 * must have been made after libevent's threading was enabled. */
int	loopwake_attach(struct loopwake *w, struct event_base *base,
	    loopwake_fn *fn, void *arg);
/* On the loop's thread: no more calls.  What is asked from now on waits
 * for another attach. */
void	loopwake_detach(struct loopwake *w);
/* From any thread: what (bits) for fn, which runs soon on the loop. */
void	loopwake_ask(struct loopwake *w, unsigned what);

#endif
