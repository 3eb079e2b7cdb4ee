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
/* Queues jobs[0..n) in order with one lock, as many as fit without
 * deferring any, and wakes a worker: how many it queued.  The caller
 * submits the rest with pool_submit. */
unsigned pool_submit_many(struct pool *pool, struct pool_job **jobs,
	    unsigned n);
/* Runs every queued and deferred job, then joins the threads. */
void	pool_free(struct pool *pool);
unsigned pool_queued(struct pool *pool);

/* loop.c */
struct loop_task;
struct harbor_conn;
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
#define LOOP_BATCH	64
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
	struct loop_call	*calls_head, **calls_tail; /* lock */
	/* Jobs for the pool, submitted together once the callbacks that
	 * made them are done (batch_later). */
	struct pool_job		*batch[LOOP_BATCH];
	unsigned		 nbatch;
	struct loop_later	 batch_later;
	atomic_uint		 nconns;
	struct harbor_conn	*conns;		/* loop thread only */
	unsigned		 index;		/* its stats slot */
};
/* A call any thread asks of the loop, made once however often it was
 * asked before it ran (loop_call): for work another thread hands back,
 * as a worker does a connection whose output it added to.  Its owner
 * embeds it, fn and arg set and queued 0. */
struct loop_call {
	void			(*fn)(void *);
	void			*arg;
	struct loop_call	*next;
	atomic_int		 queued;
};
int	loop_init(struct loop *loop, struct event_base *shared_base);
/* Queues l (its fn and arg set) unless it is queued: loop thread only. */
void	loop_later(struct loop *loop, struct loop_later *l);
int	loop_run_thread(struct loop *loop);
/* Queues l unless it is queued, its fn to run on the loop's thread: 1 if
 * this queued it, 0 if it was queued.  It is asked again if asked while
 * its fn runs.  Any thread. */
int	loop_call(struct loop *loop, struct loop_call *l);
/* Runs fn(arg) on the loop's thread.  Any thread. */
int	loop_post(struct loop *loop, void (*fn)(void *), void *arg);
/* Runs fn(arg) on the loop's thread and returns once it has run: for
 * what only the loop may do to what it owns (its listeners).  It cannot
 * fail.  The main thread only, never a loop's (two loops waiting for
 * each other would wait for ever). */
void	loop_run(struct loop *loop, void (*fn)(void *), void *arg);
void	loop_stop(struct loop *loop);
void	loop_free(struct loop *loop);

#endif
