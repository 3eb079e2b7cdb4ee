/*
 * libharbor's connection core, as the layers above it see it: services
 * (a handler and its settings), connections, their stages, relays,
 * connects, and the programs started for them.  The core knows no server
 * and no acceptor; what it needs of them is a struct conn_host.
 */
#ifndef HARBOR_CORE_H
#define HARBOR_CORE_H

#include "runtime.h"

/* Output above HIGH stops a connection's input processing and generating
 * handlers; its writable callback fires when output is back at LOW.
 * Unless its service sets them. */
#define DEFAULT_OUTPUT_HIGH	(64 * 1024)
#define DEFAULT_OUTPUT_LOW	(16 * 1024)
/* Raw input buffered per connection before reading from the socket stops,
 * unless its service sets it (max-input). */
#define DEFAULT_MAX_INPUT	(64 * 1024)
#define DEFAULT_MAX_LINE	8192
#define DEFAULT_MAX_CONNECTIONS	1024
/* max-per-source unless set: this fraction of max-connections, so that
 * one address cannot take all of a service. */
#define DEFAULT_PER_SOURCE_DIVISOR	8
#define DEFAULT_IDLE_TIMEOUT_MS	(5 * 60 * 1000)
#define DEFAULT_PROXY_TIMEOUT_MS	5000
#define DEFAULT_BACKLOG		511
#define STDERR_LINE_MAX		1024

struct conn_post;
struct conn_connect;

/* What the connection core needs of whoever runs it (the server), and no
 * more: the core knows no server and no acceptor. */
struct conn_host {
	struct event_base	*base;		/* the main loop */
	struct pool		*pool;
	atomic_int		 shutting_down;	/* 1: grace, 2: closing all */
	atomic_uint		 nconns;	/* connections open, all
						   services */
	unsigned		 max_connections; /* over all; 0: none */
	struct loopguard	*loopguard;	/* forwards' sockets */
	struct children		*children;	/* programs; NULL until a
						   service starts them */
	struct harbor_spawner	 spawner;	/* spawn NULL: none */
	/* Log limits held a line back: their counts are to be said a
	 * second from now.  Any thread. */
	void			(*log_flush_soon)(struct conn_host *);
	unsigned		 stats_slots;	/* one per loop */
};

/* service.c */
struct service_option {
	char			*name;
	char			*value;
	struct service_option	*next;
};
struct harbor_service {
	char				*name;
	uint64_t			 loop_id;	/* loopguard_service_id */
	const struct harbor_handler	*handler;
	int				 handler_ok;	/* its ABI is ours */
	enum harbor_dispatch		 dispatch;
	enum harbor_framing		 framing;
	struct limits_settings		 limit;		/* as set */
	int				 per_source_set; /* else derived */
	struct limits			*limits;	/* shared on reload */
	struct stats			*stats;		/* shared on reload;
							   NULL until started */
	unsigned			 idle_timeout_ms;
	unsigned			 session_timeout_ms;
	size_t				 max_line;
	size_t				 max_input;
	size_t				 output_low, output_high;
	struct service_option		*options;
	char				**listen;	/* as configured */
	size_t				 nlisten;
	unsigned			 backlog;
	int				 reuse_port;	/* SO_REUSEPORT on its
							   sockets */
	struct acl			 acl;
	int				 proxy_versions; /* PROXY_V1|V2 */
	struct acl			 trusted_proxies;
	unsigned			 proxy_timeout_ms;
	/* programs a HARBOR_HANDLER_CHILDREN handler starts */
	unsigned			 stderr_rate;	/* bytes/s, 0: no
							   limit */
	size_t				 stderr_line_max;

	void				*state;		/* handler's */
	int				 started;
	struct harbor_server		*server;	/* the server layer's */
	struct conn_host		*host;		/* the core's view of
							   it */
	atomic_uint			 refs;		/* listeners + conns */
	atomic_int			 paused;	/* drained: not
							   accepting */
	int				 log_level;	/* -1: the library's */
	int				 log_connections; /* accepts, closes */
	atomic_int			 said_overconsumed; /* its handler's
							       bug, logged */
};
int	service_start(struct harbor_service *svc, char *err, size_t errlen);
/* A message about the service, at its own log-level (the library's if it
 * has none).  Any thread. */
int	svc_log_enabled(const struct harbor_service *svc,
	    enum harbor_log_level level);
void	svc_log(const struct harbor_service *svc, enum harbor_log_level level,
	    const char *fmt, ...) HARBOR_PRINTFLIKE(3, 4);
void	service_hold(struct harbor_service *svc);
void	service_release(struct harbor_service *svc);

/* conn.c */
enum conn_state {
	CONN_STAGE,		/* before the handler: its stage's (the
				   PROXY header's) */
	CONN_OPEN,
	CONN_CLOSING,		/* flushing output, then finished */
	CONN_FINISHED		/* I/O over, waiting for the last reference */
};
enum conn_reason {
	CLOSE_NONE = 0,
	CLOSE_CLIENT,		/* "client closed" */
	CLOSE_SERVICE,		/* "closed by service" */
	CLOSE_IDLE,		/* "idle timeout" */
	CLOSE_SESSION,		/* "session timeout" */
	CLOSE_PROXY,		/* "bad PROXY header" */
	CLOSE_PROXY_TIMEOUT,	/* "no PROXY header in time" */
	CLOSE_REFUSED,		/* "refused" (after its PROXY header) */
	CLOSE_LINE,		/* "line too long (max-line N)" */
	CLOSE_INPUT,		/* "input too long (max-input N)" */
	CLOSE_NOMEM,		/* "out of memory" */
	CLOSE_SHUTDOWN,		/* "shutdown" */
	CLOSE_ERROR,		/* "error: ..." */
	CLOSE_DONE,		/* "both sides closed" (a relay) */
	CLOSE_DETAIL		/* the text in conn->detail */
};
/* A connection's address: TCP over IPv4 or IPv6 only, so the room of the
 * larger of the two rather than a sockaddr_storage's (100 bytes less,
 * twice a connection). */
union conn_addr {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};
/* harbor_conn_peer's and harbor_conn_local's text, made on a handler's
 * first call (few ask), then kept for the connection's life. */
struct conn_names {
	char	peer[HARBOR_ADDRSTRLEN];
	char	local[HARBOR_ADDRSTRLEN];
};
struct harbor_conn {
	struct harbor_service	*svc;
	struct loop		*loop;
	struct bufferevent	*bev;
	evutil_socket_t		 fd;
	uint64_t		 id;
	struct limits_ticket	 ticket;	/* in its service's limits */
	const struct conn_stage	*stage;		/* before the handler, or
						   NULL */
	struct forward_hops	*hops;		/* from this server's own
						   forward, else NULL */
	union conn_addr		 peer_addr;	/* the client (after PROXY) */
	union conn_addr		 local_addr;	/* what it connected to */
	int			 have_local;	/* local_addr is set */
	struct relay		*relay;		/* harbor_conn_relay's */
	/* What took the connection over lets go of it (at its finish). */
	void			(*detach)(struct harbor_conn *);
	struct conn_connect	*connects;	/* harbor_conn_connect's */
	_Atomic(char *)		 detail;	/* with CLOSE_DETAIL: the
						   first given (conn_detail) */
	struct conn_names	*names;		/* the handler's thread */
	struct timeval		 started;
	int64_t			 last_active_ms; /* traffic either way */
	struct event		*deadline;	/* the PROXY header's, idle */
	struct event		*session_timer;	/* session-timeout */
	uint64_t		 bytes_in;	/* loop thread */
	uint64_t		 bytes_out;	/* loop thread */
	struct stats_slot	*stats;		/* its loop's, in its service's */
	enum conn_state		 state;		/* loop thread */
	enum conn_reason	 reason;	/* loop thread */
	int			 error;		/* with CLOSE_ERROR */
	atomic_int		 requested;	/* reason asked for by a worker */
	atomic_int		 stop_input;	/* close requested: no more
						   input to the handler */
	atomic_int		 eof;		/* client sent FIN */
	atomic_int		 finished;	/* I/O over: CONN_FINISHED */
	atomic_int		 write_shut;	/* harbor_conn_shutdown_write */
	atomic_int		 failing;	/* harbor_conn_fail */
	int			 shut_pending;	/* loop: FIN once output is out */
	int			 proxied;	/* addresses from a PROXY header */
	int			 both_shut;	/* FIN sent and received: the
						   finish need not shut down */
	_Atomic(struct harbor_timer *) timers;	/* harbor_timer_new's */
	_Atomic(struct conn_post *) posts;	/* to call, newest first */
	/* The handler's thread only: */
	int			 closed_told;	/* its close callback ran */
	int			 end_told;	/* its end callback ran */
	int			 input_paused;	/* harbor_conn_pause_input */
	int			 in_input;	/* inside its input callback */
	int			 paused_in_input; /* paused in that call */
	size_t			 need;		/* harbor_conn_need_input */
	struct frame_scan	 line_scan;	/* line framing's search */
	/* conn-io.c, loop thread: */
	struct event		*rd;		/* reads, when direct */
	struct loop_later	 flush;		/* writes what was added */
	struct loop_call	 handback;	/* the same, from the pool */
	size_t			 read_high;	/* input's high-water mark */
	size_t			 read_size;	/* what a read asks for */
	int			 direct;	/* reads and writes itself
						   (no writable callback) */
	atomic_int		 read_full;	/* at read_high: not reading */
	atomic_int		 io_due;	/* the pool's handler added
						   output: handback */
	int			 write_waiting;	/* the socket was full: the
						   bufferevent writes */
	atomic_uint		 refs;
	void			*data;		/* handler's */

	/* worker pool dispatch */
	struct pool_job		 job;
	atomic_uint		 pending;	/* CONN_EV_* */
	atomic_int		 scheduled;	/* queued or running */
	int			 read_deferred;	/* loop thread */

	struct harbor_conn	*prev, *next;	/* loop->conns */
};
#define CONN_EV_OPEN		0x01
#define CONN_EV_INPUT		0x02
#define CONN_EV_WRITABLE	0x04
#define CONN_EV_TIMER		0x08
#define CONN_EV_POST		0x10
#define CONN_EV_CLOSE		0x20
/* Takes over fd and what ticket holds in the service's limits (given
 * back when the connection is freed); runs on the main thread, attaches
 * on the loop's. */
/* A stage a connection goes through before its handler hears of it (the
 * PROXY header): begin on the connection's loop, instead of the handler's
 * open; expired when its deadline (conn_deadline_arm) passes.  Done, it
 * sets the state to CONN_OPEN and calls conn_start. */
struct conn_stage {
	void	(*begin)(struct harbor_conn *c);
	void	(*expired)(struct harbor_conn *c);
};
/* What the acceptor knows of a client it admitted. */
struct conn_admitted {
	evutil_socket_t		 fd;
	const struct sockaddr	*peer;
	int			 peerlen;
	/* The listener's address when it is one (not a wildcard): the
	 * client's local address, with no getsockname(2) to learn it.
	 * NULL: the socket is asked if a handler wants it. */
	const struct sockaddr	*local;
	size_t			 locallen;
	struct limits_ticket	 ticket;
	struct forward_hops	*hops;		/* the connection's now */
	const struct conn_stage	*stage;
	uint64_t		 id;
};
/* A client accepted on the loop here, to be served on loop: there at once
 * if it is the same (or the only, unthreaded one), else by a task posted
 * to it. */
void	conn_accepted(struct harbor_service *svc, struct loop *loop,
	    struct loop *here, struct conn_admitted *a);
/* The handler's open and what goes with it: after the stage.  Loop. */
void	conn_start(struct harbor_conn *c);
/* The connection's deadline (its stage's, then idle) in ms.  Loop. */
void	conn_deadline_arm(struct harbor_conn *c, int64_t ms);
void	conn_shutdown_all(void *loop);		/* loop_post()ed */
/* Ends the connection now (on its loop), for reason (CLOSE_DETAIL: the
 * text in detail). */
void	conn_end(struct harbor_conn *c, enum conn_reason reason,
	    const char *detail);
/* conn-info.c: the loop's connections (those of service, or all) added
 * to out as harbor_conn_info (each one malloc'd block); and ending the
 * loop's connection id, if it has it (1; else 0).  On the loop. */
struct conn_list {
	struct harbor_conn_info	**v;
	size_t			  n, cap;
};
int	conn_describe_loop(struct loop *loop, const char *service,
	    struct conn_list *out);
int	conn_drop_on_loop(struct loop *loop, uint64_t id, const char *why);
/* Traffic either way: the idle timeout starts again.  Loop thread. */
void	conn_touch(struct harbor_conn *c);
void	conn_hold(struct harbor_conn *c);
/* Any thread; the free happens on the connection's loop. */
void	conn_release_any(struct harbor_conn *c);
/* From a handler call, on whichever thread runs it. */
void	conn_request_close(struct harbor_conn *c, enum conn_reason reason);
/* Runs fn(c) on the connection's loop, later.  0, or -1 (no memory). */
int	conn_on_loop(struct harbor_conn *c, void (*fn)(struct harbor_conn *));
/* For conn_on_loop: harbor_conn_shutdown_write's, resume_input's. */
void	conn_shut_write(struct harbor_conn *c);
void	conn_offer_input(struct harbor_conn *c);
/* harbor_timer_* and harbor_conn_post (harbor.h). */
struct harbor_timer *conn_timer_new(struct harbor_conn *c,
	    harbor_timer_fn *fn, void *arg);
int	conn_timer_start(struct harbor_timer *t, unsigned ms);
void	conn_timer_stop(struct harbor_timer *t);
int	conn_post(struct harbor_conn *c, harbor_conn_fn *fn, void *arg);
int	conn_fail(struct harbor_conn *c, const char *why);
enum harbor_close_reason conn_close_reason(const struct harbor_conn *c);
/* connect.c: harbor_conn_connect's attempts, ended with the connection
 * (on its loop) and freed with it. */
void	conn_connects_end(struct harbor_conn *c);
void	conn_connects_free(struct harbor_conn *c);
/* The address the client connected to (as the PROXY header gave it, if
 * there was one) in c->local_addr, asked of the socket on the first call:
 * 0, or -1 if it is unknown.  The handler's thread. */
int	conn_local_known(struct harbor_conn *c);
/* The client's address (after its PROXY header) as text, for log lines:
 * "address:port".  The loop's thread, or the handler's once it runs. */
void	conn_peer_text(const struct harbor_conn *c, char *buf, size_t len);

/* relay.c: harbor_conn_relay (harbor.h) */
struct relay;

/* children.c (not on Windows, where only start and free exist) */
struct children;
/* Reaping through SIGCHLD on the main loop; once, when the first exec
 * service comes.  Main loop thread. */
int	children_start(struct conn_host *host);
void	children_free(struct conn_host *host);
#ifndef _WIN32
/* Fork with the table locked, and enter the child before unlocking. */
void	children_lock(struct conn_host *host);
void	children_unlock(struct conn_host *host);
/* errfd: the read end of the child's standard error, which it takes;
 * place: it holds a max-children place, given back when it has gone;
 * remote: the spawner started it (children_ended says when it ends, and
 * the spawner signals it). */
int	children_add_locked(struct conn_host *host, pid_t pid,
	    struct harbor_service *svc, uint64_t conn_id, int errfd,
	    int place, int remote);
/* Signals the child's process group, while the child runs or what it
 * left in its group does: kill(2)'s result, -1 if it is not known. */
int	children_signal(struct conn_host *host, pid_t pid, int sig);
#endif
/* A program the spawner started (children_add_locked with remote) ended:
 * what waitpid would have said.  Main loop.  (Nothing on Windows.) */
void	children_ended(struct conn_host *host, pid_t pid, int status);

#endif
