/*
 * The connection core's own header: what conn.c (the connection's life on
 * its loop), conn-run.c (the handler's calls), conn-work.c (timers, posted
 * work, asks of the loop) and conn-api.c (the harbor_conn_* calls) share.
 * What other parts of the library use of a connection is in
 * core.h.
 */
#ifndef HARBOR_CONN_H
#define HARBOR_CONN_H

#include "core.h"

/* conn.c */
/* Runs its handler calls on its own thread, not the pool's. */
int	conn_inline(const struct harbor_conn *c);
/* On the connection's loop: the loop may free it here. */
void	conn_release(struct harbor_conn *c);
/* Closing: stop reading, flush what was written, then finish.  Loop. */
void	conn_begin_close(struct harbor_conn *c, enum conn_reason reason);

/* conn-run.c */
/* The handler's calls for the events in bits (CONN_EV_*), right there
 * (inline) or as the connection's job on the pool.  Loop thread. */
void	conn_dispatch(struct harbor_conn *c, unsigned bits);
void	conn_job_run(struct pool_job *job);
void	conn_job_admitted(struct pool_job *job);

/* conn-work.c */
/* On the handler's thread, from its job: the calls of the timers that
 * fired, and the posted functions. */
void	conn_run_timers(struct harbor_conn *c);
void	conn_run_posts(struct harbor_conn *c);
/* At the connection's finish, and its free (loop). */
void	conn_timers_stop_all(struct harbor_conn *c);
void	conn_timers_free(struct harbor_conn *c);

#endif
