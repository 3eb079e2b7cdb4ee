/*
 * The server and its acceptor: listeners, the main loop, the I/O loops and
 * the pool, start, reload and shutdown.  The top of the library.
 */
#ifndef HARBOR_SERVER_H
#define HARBOR_SERVER_H

#include <time.h>

#include "admission.h"

/* acceptor.c */
/* A listening socket as one loop accepts from it: every I/O loop accepts
 * from every listener, and serves the clients it accepts itself. */
struct listener_on {
	struct listener		*l;		/* changed on its loop only */
	struct loop		*loop;
	struct evconnlistener	*evl;		/* its loop's thread only */
};
struct listener {
	char			*key;		/* configured address, canonical */
	char			 bound[HARBOR_ADDRSTRLEN]; /* for logs */
	struct harbor_addr	 addr;
	evutil_socket_t		 fd;
	struct listener_on	*on;		/* one per loop; NULL: not
						   accepting yet */
	struct harbor_service	*svc;
	struct harbor_server	*server;
	unsigned		 backlog;	/* listen(2)'s, as asked */
	struct listener		*takes_over;	/* reload: its socket */
	int			 claimed;	/* reload: taken over */
	int			 paused;	/* its service drained */
	int			 refusing;	/* paused: the socket refuses
						   connections */
	struct listener		*next;
};
int	listener_bind(struct listener *l, char *err, size_t errlen);
int	listener_enable(struct listener *l, char *err, size_t errlen);
void	listener_take_over(struct listener *l, struct listener *old);
/* Stops accepting on l, and where the system can, makes its socket
 * refuse connections (pause 1); or accepts again.  The functions on
 * listeners are the main thread's: they run what touches a loop's
 * evconnlistener on that loop (loop_run). */
int	listener_pause(struct listener *l, int pause, char *err,
	    size_t errlen);
void	listener_free(struct listener *l);
/* Whether l's loops accept from it (paused or not). */
int	listener_accepts(const struct listener *l);
int	acceptor_init(struct harbor_server *srv);
void	acceptor_stop(struct harbor_server *srv);

/* server.c */
struct harbor_server {
	struct conn_host		 host;		/* base, pool, counts */
	struct harbor_server_settings	 settings;
	struct harbor_service		**svcs;
	size_t				 nsvcs;
	struct listener			*listeners;
	struct loop			*loops;
	int				 nloops;
	int				 started;
	int				 finished;	/* shutdown done */
	int64_t				 shutdown_deadline; /* ms */
	struct event			*shutdown_ev;
	struct event			*pause_ev;	/* EMFILE: any loop
							   activates it */
	struct event			*resume_ev;	/* a second later */
	int				 accept_paused;
	atomic_uint_least64_t		 next_conn_id;
	struct event			*log_flush_ev;	/* loglimit counts */
	atomic_int			 log_flush_due;
	harbor_listen_fn		*listen_fn;	/* NULL: bind here */
	void				*listen_arg;
	mutex_t				 svcs_lock;	/* svcs, nsvcs: for
							   other threads */
	time_t				 started_at;	/* wall clock */
	atomic_uint_least64_t		 reloads_ok;
	atomic_uint_least64_t		 reloads_failed;
	struct watch_job		*watching;	/* listings and drops
							   under way */
};
/* Where a client accepted on the loop here is served. */
struct loop	*server_pick_loop(struct harbor_server *srv, struct loop *here);

/* server-watch.c */
struct watch_job;
/* What no loop will finish now: at harbor_server_free, after the loops
 * and the main loop are gone. */
void	server_watch_free(struct harbor_server *srv);

#endif
