/*
 * I/O loops: an event_base, usually on a thread of its own, that owns the
 * bufferevents of its connections.  Other threads never touch those; they
 * post a task to the loop's inbox, and the loop runs it on its own thread.
 * With io-threads 0 the single loop is the main loop, unthreaded.
 */
#include "autoconfig.h"

#include <stdlib.h>

#include "runtime.h"

struct loop_task {
	void			(*fn)(void *);
	void			 *arg;
	struct loop_task	 *next;
};

static void
loop_drain_inbox(evutil_socket_t fd, short what, void *arg)
{
	struct loop		*loop = arg;
	struct loop_task	*task, *next;
	struct loop_call	*call, *cnext;

	mutex_lock(&loop->lock);
	task = loop->inbox_head;
	loop->inbox_head = loop->inbox_tail = NULL;
	call = loop->calls_head;
	loop->calls_head = NULL;
	loop->calls_tail = &loop->calls_head;
	mutex_unlock(&loop->lock);

	for (; task != NULL; task = next) {
		next = task->next;
		task->fn(task->arg);
		free(task);
	}
	for (; call != NULL; call = cnext) {
		cnext = call->next;
		/* Asked again from here on: queued anew, called again. */
		atomic_store(&call->queued, 0);
		call->fn(call->arg);
	}
}

/* One activation of the wakeup event runs everything posted and called
 * before it runs: only the first into both lists activates it. */
static int
loop_idle_locked(const struct loop *loop)
{
	return loop->inbox_head == NULL && loop->calls_head == NULL;
}

int
loop_call(struct loop *loop, struct loop_call *l)
{
	int	was_empty;

	if (atomic_exchange(&l->queued, 1))
		return 0;
	l->next = NULL;
	mutex_lock(&loop->lock);
	was_empty = loop_idle_locked(loop);
	*loop->calls_tail = l;
	loop->calls_tail = &l->next;
	mutex_unlock(&loop->lock);
	if (was_empty)
		event_active(loop->wakeup, EV_READ, 0);
	return 1;
}

/* The calls queued before this one ran; those they queue run next, in
 * the same pass of the loop (libevent runs what becomes active while it
 * runs callbacks before it waits again). */
static void
loop_run_later(evutil_socket_t fd, short what, void *arg)
{
	struct loop		*loop = arg;
	struct loop_later	*l, *next;

	(void)fd;
	(void)what;
	l = loop->later_head;
	loop->later_head = NULL;
	loop->later_tail = &loop->later_head;
	for (; l != NULL; l = next) {
		next = l->next;
		l->next = NULL;
		l->queued = 0;
		l->fn(l->arg);
	}
}

void
loop_later(struct loop *loop, struct loop_later *l)
{
	if (l->queued)
		return;
	l->queued = 1;
	l->next = NULL;
	*loop->later_tail = l;
	loop->later_tail = &l->next;
	if (loop->later_head == l)
		event_active(loop->later_ev, EV_TIMEOUT, 0);
}

int
loop_init(struct loop *loop, struct event_base *shared_base)
{
	loop->threaded = shared_base == NULL;
	loop->base = shared_base != NULL ? shared_base : event_base_new();
	if (loop->base == NULL)
		return -1;
	mutex_init(&loop->lock);
	atomic_init(&loop->nconns, 0);
	loop->wakeup = event_new(loop->base, -1, 0, loop_drain_inbox, loop);
	loop->later_ev = event_new(loop->base, -1, 0, loop_run_later, loop);
	loop->later_head = NULL;
	loop->later_tail = &loop->later_head;
	loop->calls_head = NULL;
	loop->calls_tail = &loop->calls_head;
	if (loop->wakeup == NULL || loop->later_ev == NULL) {
		if (loop->wakeup != NULL)
			event_free(loop->wakeup);
		if (loop->later_ev != NULL)
			event_free(loop->later_ev);
		if (loop->threaded)
			event_base_free(loop->base);
		loop->base = NULL;
		mutex_destroy(&loop->lock);
		return -1;
	}
	return 0;
}

static void
loop_main(void *arg)
{
	struct loop	*loop = arg;

	(void)event_base_loop(loop->base, EVLOOP_NO_EXIT_ON_EMPTY);
}

int
loop_run_thread(struct loop *loop)
{
	if (!loop->threaded)
		return 0;
	if (thread_create(&loop->thread, loop_main, loop) == -1)
		return -1;
	loop->running = 1;
	return 0;
}

int
loop_post(struct loop *loop, void (*fn)(void *), void *arg)
{
	struct loop_task	*task;
	int			 was_empty;

	if ((task = malloc(sizeof *task)) == NULL)
		return -1;
	task->fn = fn;
	task->arg = arg;
	task->next = NULL;

	mutex_lock(&loop->lock);
	was_empty = loop_idle_locked(loop);
	if (loop->inbox_tail != NULL)
		loop->inbox_tail->next = task;
	else
		loop->inbox_head = task;
	loop->inbox_tail = task;
	mutex_unlock(&loop->lock);

	if (was_empty)
		event_active(loop->wakeup, EV_READ, 0);
	return 0;
}

/* loop_run's call (on its caller's stack: never queued before, so queued
 * now, and not touched by the loop once its fn has run), and how its
 * caller learns that it ran. */
struct loop_run_call {
	struct loop_call	 call;
	void			(*fn)(void *);
	void			*arg;
	mutex_t			 lock;
	cond_t			 ran;
	int			 done;
};

static void
loop_run_task(void *arg)
{
	struct loop_run_call	*call = arg;

	call->fn(call->arg);
	mutex_lock(&call->lock);
	call->done = 1;
	cond_signal(&call->ran);
	mutex_unlock(&call->lock);
}

void
loop_run(struct loop *loop, void (*fn)(void *), void *arg)
{
	struct loop_run_call	call;

	/* No thread of its own, or none now: this thread is the loop's. */
	if (!loop->threaded || !loop->running) {
		fn(arg);
		return;
	}
	call.fn = fn;
	call.arg = arg;
	call.done = 0;
	call.call.fn = loop_run_task;
	call.call.arg = &call;
	atomic_init(&call.call.queued, 0);
	mutex_init(&call.lock);
	cond_init(&call.ran);
	(void)loop_call(loop, &call.call);
	mutex_lock(&call.lock);
	while (!call.done)
		cond_wait(&call.ran, &call.lock);
	mutex_unlock(&call.lock);
	cond_destroy(&call.ran);
	mutex_destroy(&call.lock);
}

static void
loop_break(void *arg)
{
	struct loop	*loop = arg;

	(void)event_base_loopbreak(loop->base);
}

void
loop_stop(struct loop *loop)
{
	if (!loop->running)
		return;
	if (loop_post(loop, loop_break, loop) == 0)
		thread_join(loop->thread);
	loop->running = 0;
}

void
loop_free(struct loop *loop)
{
	if (loop->base == NULL)
		return;
	/* Tasks posted after the loop stopped still own memory. */
	loop_drain_inbox(-1, 0, loop);
	loop_run_later(-1, 0, loop);
	event_free(loop->wakeup);
	event_free(loop->later_ev);
	if (loop->threaded)
		event_base_free(loop->base);
	mutex_destroy(&loop->lock);
	loop->base = NULL;
}
