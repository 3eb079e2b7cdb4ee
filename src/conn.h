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

/* The reason a CLOSE_DETAIL close gives, copied (the first one given
 * stays; at most CONN_DETAIL_MAX bytes of it).  Any thread. */
#define CONN_DETAIL_MAX	159
void	conn_detail(struct harbor_conn *c, const char *why);
/* An error reading from or writing to the client (errno's or
 * Winsock's): finishes it. */
void	conn_io_failed(struct harbor_conn *c, int err);
/* All its output is sent: a close or a shutdown that waited for it goes
 * on; input that waited (was_full: output reached its high-water mark)
 * is offered again.  Loop. */
void	conn_output_sent(struct harbor_conn *c, int was_full);

/* conn-io.c: reads and writes of its own for a connection whose handler
 * has no writable callback.  Loop thread, but for conn_input_taken and
 * conn_output_added (the handler's) and conn_io_calls_done (a worker's). */
/* Sets it up at its start, the bufferevent's events off if it does its
 * own; conn_io_free at its free. */
void	conn_io_init(struct harbor_conn *c);
void	conn_io_free(struct harbor_conn *c);
/* Reading from the client on or off. */
void	conn_read_on(struct harbor_conn *c);
void	conn_read_off(struct harbor_conn *c);
/* The handler took input, left bytes: reading goes on below the mark. */
void	conn_input_taken(struct harbor_conn *c, size_t left);
/* EV_WRITE if its bufferevent writes its output, 0 if it writes it. */
int	conn_write_events(const struct harbor_conn *c);
/* Output was added: written once the callbacks are done. */
void	conn_output_added(struct harbor_conn *c);
/* Its bufferevent wrote what the socket could not take: back to writing
 * it itself, if all of it is out. */
void	conn_write_drained(struct harbor_conn *c);
/* On the pool, the worker's thread, after the handler's calls: the
 * connection is handed back to its loop if they added output or it
 * stopped reading at its mark. */
void	conn_io_calls_done(struct harbor_conn *c);

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
