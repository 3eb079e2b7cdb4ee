/*
 * An event on a loop that any thread may make active.  The asking thread
 * only ORs its bits in and activates the event under the lock, which is
 * what keeps the event from being freed meanwhile: the lock is taken
 * before the base's own (event_active), never after it, and libevent
 * runs fn with no lock of its held.
 */
#include "autoconfig.h"

#include <stddef.h>

#include <event2/event.h>

#include "loopwake.h"

static void
loopwake_run(evutil_socket_t fd, short events, void *arg)
{
	struct loopwake	*w = arg;
	loopwake_fn	*fn;
	void		*fnarg;
	unsigned	 what;

	(void)fd;
	(void)events;
	mutex_lock(&w->lock);
	what = w->asked;
	w->asked = 0;
	fn = w->fn;
	fnarg = w->arg;
	mutex_unlock(&w->lock);
	/* Asks that came together are one call. */
	if (what != 0 && fn != NULL)
		fn(what, fnarg);
}

void
loopwake_init(struct loopwake *w)
{
	mutex_init(&w->lock);
	w->ev = NULL;
	w->asked = 0;
	w->fn = NULL;
	w->arg = NULL;
}

void
loopwake_destroy(struct loopwake *w)
{
	mutex_destroy(&w->lock);
}

int
loopwake_attach(struct loopwake *w, struct event_base *base,
    loopwake_fn *fn, void *arg)
{
	struct event	*ev;

	if ((ev = event_new(base, -1, 0, loopwake_run, w)) == NULL)
		return -1;
	mutex_lock(&w->lock);
	w->ev = ev;
	w->fn = fn;
	w->arg = arg;
	/* Asked before there was a loop to run it: now. */
	if (w->asked != 0)
		event_active(ev, EV_READ, 0);
	mutex_unlock(&w->lock);
	return 0;
}

void
loopwake_detach(struct loopwake *w)
{
	struct event	*ev;

	mutex_lock(&w->lock);
	ev = w->ev;
	w->ev = NULL;
	w->fn = NULL;
	w->arg = NULL;
	if (ev != NULL)
		event_free(ev);
	mutex_unlock(&w->lock);
}

void
loopwake_ask(struct loopwake *w, unsigned what)
{
	mutex_lock(&w->lock);
	w->asked |= what;
	if (w->ev != NULL)
		event_active(w->ev, EV_READ, 0);
	mutex_unlock(&w->lock);
}
