/*
 * libharbor's runtime: the I/O loops (each an event_base on a thread of
 * its own, and an inbox of tasks posted to it) and the worker pool.  Lock
 * order and thread ownership are in doc/threads.txt.
 */
#ifndef HARBOR_RUNTIME_H
#define HARBOR_RUNTIME_H

#include "util.h"

/* pool.c */
#define POOL_QUEUE_DEFAULT	1024
struct pool_job {
	void			(*run)(struct pool_job *job);
	/* Called by a worker when a deferred job gets a place in the queue. */
	void			(*admitted)(struct pool_job *job);
	struct pool_job		*next;
};
struct pool;
struct pool	*pool_new(int threads, unsigned queue_max);
/* 0: queued; 1: the queue is full, the job waits outside it (deferred)
 * and its admitted callback runs when it gets a place. */
int	pool_submit(struct pool *pool, struct pool_job *job);
/* Runs every queued and deferred job, then joins the threads. */
void	pool_free(struct pool *pool);
unsigned pool_queued(struct pool *pool);

/* loop.c */
struct loop_task;
struct harbor_conn;
struct loop {
	struct event_base	*base;
	int			 threaded;
	int			 running;	/* its thread was started */
	thread_t		 thread;
	mutex_t			 lock;		/* inbox */
	struct loop_task	*inbox_head;
	struct loop_task	*inbox_tail;
	struct event		*wakeup;
	struct event		*later_ev;	/* runs later_head's */
	struct loop_later	*later_head, **later_tail;
	atomic_uint		 nconns;
	struct harbor_conn	*conns;		/* loop thread only */
	unsigned		 index;		/* its stats slot */
};
/* A call the loop makes once the callbacks now running are done, before
 * it waits for events again (loop_later): for work that is cheaper done
 * once after several changes, as writing what a callback added to a
 * connection's output.  Its owner embeds it; queued once at most. */
struct loop_later {
	void			(*fn)(void *);
	void			*arg;
	struct loop_later	*next;
	int			 queued;
};
int	loop_init(struct loop *loop, struct event_base *shared_base);
/* Queues l (its fn and arg set) unless it is queued: loop thread only. */
void	loop_later(struct loop *loop, struct loop_later *l);
int	loop_run_thread(struct loop *loop);
/* Runs fn(arg) on the loop's thread.  Any thread. */
int	loop_post(struct loop *loop, void (*fn)(void *), void *arg);
void	loop_stop(struct loop *loop);
void	loop_free(struct loop *loop);

#endif
