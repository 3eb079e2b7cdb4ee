/*
 * libharbor internals: the structures behind the public handles and the
 * functions each file offers the others, grouped by file.  Lock order and
 * thread ownership are written down in doc/threads.txt.
 */
#ifndef HARBOR_INTERNAL_H
#define HARBOR_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

#include "compat.h"
#include "thread.h"
#include "harbor.h"


/* Output above HIGH stops a connection's input processing and generating
 * handlers; its writable callback fires when output is back at LOW.
 * Unless its service sets them. */
#define DEFAULT_OUTPUT_HIGH	(64 * 1024)
#define DEFAULT_OUTPUT_LOW	(16 * 1024)
/* Raw input buffered per connection before reading from the socket stops,
 * unless its service sets it (max-input). */
#define DEFAULT_MAX_INPUT	(64 * 1024)
#define POOL_QUEUE_DEFAULT	1024
#define DEFAULT_MAX_LINE	8192
#define DEFAULT_MAX_CONNECTIONS	1024
/* max-per-source unless set: this fraction of max-connections, so that
 * one address cannot take all of a service. */
#define DEFAULT_PER_SOURCE_DIVISOR	8
#define DEFAULT_IDLE_TIMEOUT_MS	(5 * 60 * 1000)
#define DEFAULT_PROXY_TIMEOUT_MS	5000
#define DEFAULT_BACKLOG		511
#define STDERR_LINE_MAX		1024

/* addr.c */
struct harbor_addr {
	struct sockaddr_storage	ss;
	ev_socklen_t		len;
};
/* "*:port" expands to two addresses (IPv4 and IPv6 any), the rest to one. */
#define ADDR_PARSE_MAX	2
int	addr_parse(const char *text, struct harbor_addr *out, size_t *nout,
	    char *err, size_t errlen);
void	addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* An IPv4-mapped IPv6 address as the IPv4 one (in buf), else sa. */
const struct sockaddr *addr_unmapped(const struct sockaddr *sa,
	    struct sockaddr_in *buf);

/* acl.c */
struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];
	unsigned	prefix;
};
struct acl_rule {
	struct cidr	net;
	int		allow;
	char		text[64];	/* "deny 10.0.0.0/8", for logs */
};
struct acl {
	struct acl_rule	*rules;
	size_t		 n;
	size_t		 nallow;
};
int	cidr_parse(const char *text, struct cidr *out, char *err,
	    size_t errlen);
int	cidr_contains(const struct cidr *net, int family,
	    const uint8_t *bytes);
/* text: a network ("10.0.0.0/8", "::1") or "all". */
int	acl_add(struct acl *acl, const char *text, int allow, char *err,
	    size_t errlen);
/* Sets *allowed; returns the deciding rule, or NULL when none matched. */
const struct acl_rule *acl_match(const struct acl *acl,
	    const struct sockaddr *peer, int *allowed);
void	acl_clear(struct acl *acl);

/* proxy.c */
#define PROXY_V1	0x1
#define PROXY_V2	0x2
#define PROXY_HEADER_MAX	(16 + 2048)	/* v2 with TLVs; v1 is 107 */
enum proxy_result {
	PROXY_NEED_MORE,
	PROXY_DONE,		/* *used bytes were the header */
	PROXY_ERROR
};
struct proxy_info {
	int			version;
	int			local;		/* no addresses: keep ours */
	struct sockaddr_storage	src;		/* the client */
	struct sockaddr_storage	dst;		/* what it connected to */
};
enum proxy_result proxy_parse(const uint8_t *buf, size_t len, int versions,
	    struct proxy_info *out, size_t *used, char *err, size_t errlen);
/* Writes the header a proxy sends for a client src that connected to dst
 * (send-proxy): version PROXY_V1 or PROXY_V2, into buf, PROXY_SEND_MAX
 * bytes.  Returns its length.  Addresses of different families make an
 * UNKNOWN (v1) or UNSPEC (v2) header. */
#define PROXY_SEND_MAX	108
size_t	proxy_header_build(int version, const struct sockaddr *src,
	    const struct sockaddr *dst, uint8_t *buf, size_t len);

/* framing.c */
enum frame_result {
	FRAME_NONE,		/* no complete frame yet */
	FRAME_READY,		/* a frame of *len bytes is at the front */
	FRAME_TOO_LONG		/* a line longer than max_line */
};
enum frame_result frame_next(struct evbuffer *in, enum harbor_framing framing,
	    size_t max_line, int eof, size_t *len);

/* bucket.c: token buckets (the caller locks) */
struct rate {
	unsigned	milli_per_sec;	/* units per 1000 s */
	unsigned	burst;		/* 0: no limit */
};
struct bucket {
	int64_t		tokens;		/* thousandths */
	int64_t		last_ms;
};
/* Refills to now_ms, then tells whether units tokens are there. */
int	bucket_has(struct bucket *b, const struct rate *r, int64_t now_ms,
	    unsigned units);
void	bucket_spend(struct bucket *b, unsigned units);
/* bucket_has and bucket_spend of one unit. */
int	bucket_take(struct bucket *b, const struct rate *r, int64_t now_ms);
int	bucket_full(const struct bucket *b, const struct rate *r,
	    int64_t now_ms);
/* Milliseconds until units tokens are there (0: now). */
int64_t	bucket_wait_ms(const struct bucket *b, const struct rate *r,
	    unsigned units);

/* Why a client is turned away: the limits' reasons and admission's.  The
 * log limits messages per service and kind (loglimit.c). */
enum refusal {
	REFUSE_NONE = 0,
	REFUSE_ACL,		/* allow/deny */
	REFUSE_UNTRUSTED,	/* not a trusted proxy */
	REFUSE_GLOBAL,		/* the server's max-connections */
	REFUSE_MAX_CONNECTIONS,
	REFUSE_SOURCES,		/* too many sources to track */
	REFUSE_PER_SOURCE,
	REFUSE_RATE,
	REFUSE_RATE_PER_SOURCE,
	REFUSE_CHILDREN,	/* max-children */
	REFUSE_LOOP,		/* a forwarding loop */
	REFUSE_PROXY_HEADER,	/* a bad PROXY header */
	REFUSE_PROXY_TIMEOUT,	/* no PROXY header in time */
	REFUSE_KINDS
};
/* loglimit.c (enum refusal gives most of the kinds) */
#define LOGLIMIT_STDERR		REFUSE_KINDS	/* a program's stderr over
						   its rate */
#define LOGLIMIT_KINDS		(REFUSE_KINDS + 1)
#define DEFAULT_LOG_RATE_MILLI	10000	/* 10 lines a second... */
#define DEFAULT_LOG_BURST	20	/* ...20 at once */
struct loglimit_kind {
	struct bucket	 bucket;
	unsigned	 suppressed;	/* since the last one said */
	const char	*name;		/* for "suppressed (NAME)" */
};
struct loglimit {
	mutex_t			lock;
	struct rate		rate;	/* burst 0: no limit */
	struct loglimit_kind	kind[LOGLIMIT_KINDS];
};
void	loglimit_init(struct loglimit *ll);
/* Says what is still held back, then frees the lock. */
void	loglimit_destroy(struct loglimit *ll, const char *service);
void	loglimit_configure(struct loglimit *ll, const struct rate *rate);
/* May a message of this kind be logged now?  1: yes (a count of those
 * held back before it has just been said); 0: no, it is counted; -1: no,
 * and it is the first held back since the last flush, which the caller
 * makes sure comes (a second later). */
int	loglimit_pass(struct loglimit *ll, const char *service, unsigned kind,
	    const char *name, int64_t now_ms);
/* Says every count held back ("service S: N similar messages suppressed
 * (NAME)"), and starts them again. */
void	loglimit_flush(struct loglimit *ll, const char *service);

/* limits.c */
#define DEFAULT_SOURCE_PREFIX6	64
struct source_key {
	uint8_t		bytes[17];	/* 4 or 6, then the address */
};
struct limits_settings {
	unsigned	max_connections;	/* 0: none */
	unsigned	max_per_source;		/* 0: none */
	unsigned	v6_prefix;
	struct rate	rate;
	struct rate	rate_per_source;
	unsigned	max_children;		/* exec; 0: none */
	struct rate	log_rate;		/* lines of one kind */
};
struct source;
struct limits {
	mutex_t			 lock;
	atomic_uint		 refs;
	char			*service;	/* its name, for the log */
	struct loglimit		 log;
	struct limits_settings	 set;
	unsigned		 active;
	unsigned		 children;	/* places taken (exec) */
	struct bucket		 service_bucket;
	struct source		**slots;
	size_t			 nsources;
	int64_t			 swept_ms;
};
void	source_key_of(const struct sockaddr *sa, unsigned v6_prefix,
	    struct source_key *key);
struct limits *limits_new(const char *service);
void	limits_hold(struct limits *lim);
void	limits_release(struct limits *lim);
void	limits_configure(struct limits *lim,
	    const struct limits_settings *set);
/* What an admitted client holds in its service's limits. */
struct limits_ticket {
	struct source_key	source;
	unsigned char		place;		/* counted in max-connections */
	unsigned char		sourced;	/* and under its source */
	unsigned char		child;		/* a max-children place */
};
/* Every limit's decision first; only a client admitted by all of them
 * spends rate tokens and is counted: in max-connections (unless t holds a
 * place already, from limits_take_place), under its source, and with
 * want_child in max-children.  REFUSE_NONE, or the reason with its text in
 * why. */
enum refusal limits_admit(struct limits *lim, const struct sockaddr *peer,
	    int want_child, struct limits_ticket *t, int64_t now_ms,
	    char *why, size_t whylen);
/* A place within max-connections for a client not yet known (its PROXY
 * header is still to come): REFUSE_NONE with t->place, or why not. */
enum refusal limits_take_place(struct limits *lim, struct limits_ticket *t,
	    char *why, size_t whylen);
/* Gives back all t holds. */
void	limits_ticket_return(struct limits *lim, struct limits_ticket *t);
/* The max-children place of a child that has gone (the child took it
 * from its connection's ticket). */
void	limits_child_give(struct limits *lim);
/* Connections open now. */
unsigned limits_active(struct limits *lim);

/* loopguard.c */
#define FORWARD_MAX_HOPS	16
/* The services a connection was forwarded through within one server. */
struct forward_hops {
	uint64_t	id[FORWARD_MAX_HOPS];	/* loopguard_service_id() */
	unsigned	n;
};
/* One outgoing connection of a forward, while it lives. */
struct loopguard_entry {
	struct sockaddr_storage	 local;		/* its own address */
	struct sockaddr_storage	 remote;	/* where it connected */
	struct forward_hops	 hops;		/* its service last */
	char			 service[64];	/* that service's name */
	int			 registered;
	unsigned		 aim;		/* its destination port's counter */
	struct loopguard_entry	*next, **prevp;
};
struct loopguard;
#ifdef _WIN32
#define CONNECT_IN_PROGRESS(e)	((e) == WSAEWOULDBLOCK || \
				 (e) == WSAEINPROGRESS || (e) == WSAEINTR)
#else
#define CONNECT_IN_PROGRESS(e)	((e) == EINPROGRESS || (e) == EINTR)
#endif
struct loopguard *loopguard_new(void);
void	loopguard_free(struct loopguard *g);
uint64_t loopguard_service_id(const char *name);
/* The server listens on sa's port. */
void	loopguard_listening(struct loopguard *g, const struct sockaddr *sa);
/* connect(2) fd to `to`, and if that started (0 or in progress) and `to`
 * is on a port the server listens on, registers e (hops and service
 * filled in by the caller) under fd's own address.  Returns connect's
 * error, 0 for started. */
int	loopguard_connect(struct loopguard *g, struct loopguard_entry *e,
	    evutil_socket_t fd, const struct sockaddr *to, ev_socklen_t tolen);
void	loopguard_forget(struct loopguard *g, struct loopguard_entry *e);
/* A client at peer, accepted as fd by a listener on here_hint's port: 1
 * if it is one of the registered connections (its hops and its service's
 * name are copied out), else 0. */
int	loopguard_find(struct loopguard *g, const struct sockaddr *peer,
	    const struct sockaddr *here_hint, evutil_socket_t fd,
	    struct forward_hops *hops, char *from, size_t fromlen);

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
	unsigned			 idle_timeout_ms;
	unsigned			 session_timeout_ms;
	size_t				 max_line;
	size_t				 max_input;
	size_t				 output_low, output_high;
	struct service_option		*options;
	char				**listen;	/* as configured */
	size_t				 nlisten;
	unsigned			 backlog;
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
	struct harbor_server		*server;
	atomic_uint			 refs;		/* listeners + conns */
};
int	service_start(struct harbor_service *svc, char *err, size_t errlen);
void	service_hold(struct harbor_service *svc);
void	service_release(struct harbor_service *svc);

/* pool.c */
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
struct conn_post;
struct conn_connect;
struct loop {
	struct harbor_server	*server;
	struct event_base	*base;
	int			 threaded;
	int			 running;	/* its thread was started */
	thread_t		 thread;
	mutex_t			 lock;		/* inbox */
	struct loop_task	*inbox_head;
	struct loop_task	*inbox_tail;
	struct event		*wakeup;
	atomic_uint		 nconns;
	struct harbor_conn	*conns;		/* loop thread only */
};
int	loop_init(struct loop *loop, struct harbor_server *srv,
	    struct event_base *shared_base);
int	loop_run_thread(struct loop *loop);
/* Runs fn(arg) on the loop's thread.  Any thread. */
int	loop_post(struct loop *loop, void (*fn)(void *), void *arg);
void	loop_stop(struct loop *loop);
void	loop_free(struct loop *loop);

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
	struct sockaddr_storage	 peer_addr;	/* the client (after PROXY) */
	struct sockaddr_storage	 local_addr;	/* what it connected to */
	int			 have_local;	/* local_addr is set */
	struct relay		*relay;		/* harbor_conn_relay's */
	/* What took the connection over lets go of it (at its finish). */
	void			(*detach)(struct harbor_conn *);
	struct conn_connect	*connects;	/* harbor_conn_connect's */
	char			 detail[160];	/* with CLOSE_DETAIL */
	char			 peer[HARBOR_ADDRSTRLEN];
	char			 local[HARBOR_ADDRSTRLEN];
	struct timeval		 started;
	int64_t			 last_active_ms; /* traffic either way */
	struct event		*deadline;	/* the PROXY header's, idle */
	struct event		*session_timer;	/* session-timeout */
	uint64_t		 bytes_in;	/* loop thread */
	uint64_t		 bytes_out;	/* loop thread */
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
	_Atomic(struct harbor_timer *) timers;	/* harbor_timer_new's */
	_Atomic(struct conn_post *) posts;	/* to call, newest first */
	/* The handler's thread only: */
	int			 closed_told;	/* its close callback ran */
	int			 end_told;	/* its end callback ran */
	int			 input_paused;	/* harbor_conn_pause_input */
	size_t			 need;		/* harbor_conn_need_input */
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
void	conn_accepted(struct harbor_service *svc, struct loop *loop,
	    evutil_socket_t fd, const struct sockaddr *peer, int peerlen,
	    struct limits_ticket *ticket, struct forward_hops *hops,
	    const struct conn_stage *stage, uint64_t id, const char *peerstr);
/* The handler's open and what goes with it: after the stage.  Loop. */
void	conn_start(struct harbor_conn *c);
/* The connection's deadline (its stage's, then idle) in ms.  Loop. */
void	conn_deadline_arm(struct harbor_conn *c, int64_t ms);
void	conn_shutdown_all(void *loop);		/* loop_post()ed */
/* Ends the connection now (on its loop), for reason (CLOSE_DETAIL: the
 * text in detail). */
void	conn_end(struct harbor_conn *c, enum conn_reason reason,
	    const char *detail);
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
/* The client's address and the one it connected to (both as the PROXY
 * header gave them, if there was one).  0, or -1 if local is unknown. */
int	conn_addresses(struct harbor_conn *c, struct sockaddr_storage *peer,
	    struct sockaddr_storage *local);

/* relay.c: harbor_conn_relay (harbor.h) */
struct relay;

/* admission.c */
/* The client at peer: its allow/deny rules and its service's limits.
 * REFUSE_NONE with t counted, or why not.  t may hold a place already
 * (admission_proxied). */
enum refusal admission_decide(struct harbor_service *svc,
	    const struct sockaddr *peer, int64_t now_ms,
	    struct limits_ticket *t, char *why, size_t whylen);
/* At accept, for a service whose clients come behind a PROXY header: the
 * proxy must be trusted, and the connection takes a place within
 * max-connections while its header comes. */
enum refusal admission_proxied(struct harbor_service *svc,
	    const struct sockaddr *proxy, struct limits_ticket *t, char *why,
	    size_t whylen);
/* A client that is one of this server's own forwards, accepted as fd on
 * a listener bound to here: refused if it has passed through svc already
 * (a forwarding loop), else *hops is the way it came (malloc'd; the
 * connection keeps it).  Anyone else: REFUSE_NONE and *hops NULL. */
enum refusal admission_loop(struct harbor_service *svc,
	    const struct sockaddr *peer, const struct sockaddr *here,
	    evutil_socket_t fd, struct forward_hops **hops, char *why,
	    size_t whylen);
/* Logs a refusal (or a bad or late PROXY header) at notice, unless the
 * service's log limit holds it back for its kind.  Any thread. */
void	admission_log(struct harbor_service *svc, enum refusal kind,
	    const char *fmt, ...) HARBOR_PRINTFLIKE(3, 4);

/* proxystage.c: the PROXY header, read before the handler */
extern const struct conn_stage proxy_stage;

/* acceptor.c */
struct listener {
	char			*key;		/* configured address, canonical */
	char			 bound[HARBOR_ADDRSTRLEN]; /* for logs */
	struct harbor_addr	 addr;
	evutil_socket_t		 fd;
	struct evconnlistener	*evl;
	struct harbor_service	*svc;
	struct harbor_server	*server;
	unsigned		 backlog;	/* listen(2)'s, as asked */
	struct listener		*takes_over;	/* reload: its socket */
	int			 claimed;	/* reload: taken over */
	struct listener		*next;
};
int	listener_bind(struct listener *l, char *err, size_t errlen);
int	listener_enable(struct listener *l, char *err, size_t errlen);
void	listener_take_over(struct listener *l, struct listener *old);
void	listener_free(struct listener *l);
int	acceptor_init(struct harbor_server *srv);
void	acceptor_pause(struct harbor_server *srv);
void	acceptor_stop(struct harbor_server *srv);

/* server.c */
struct harbor_server {
	struct harbor_server_settings	 settings;
	struct harbor_service		**svcs;
	size_t				 nsvcs;
	struct listener			*listeners;
	struct event_base		*base;
	struct loop			*loops;
	int				 nloops;
	struct pool			*pool;
	int				 started;
	int				 finished;	/* shutdown done */
	atomic_int			 shutting_down;	/* 1: grace,
							   2: closing all */
	int64_t				 shutdown_deadline; /* ms */
	struct event			*shutdown_ev;
	struct event			*resume_ev;	/* EMFILE pause */
	int				 accept_paused;
	unsigned			 next_loop;
	uint64_t			 next_conn_id;
	atomic_uint			 nconns;
	struct children			*children;	/* exec; NULL until
							   one is served */
	struct loopguard		*loopguard;	/* forwards' sockets */
	struct event			*log_flush_ev;	/* loglimit counts */
	atomic_int			 log_flush_due;
};
struct loop	*server_pick_loop(struct harbor_server *srv);
/* Log limits held a line back: their counts are said a second from now.
 * Any thread. */
void	server_log_flush_soon(struct harbor_server *srv);
void	server_conn_gone(struct harbor_server *srv);

/* children.c (not on Windows, where only start and free exist) */
struct children;
/* Reaping through SIGCHLD on the main loop; once, when the first exec
 * service comes.  Main loop thread. */
int	children_start(struct harbor_server *srv);
void	children_free(struct harbor_server *srv);
#ifndef _WIN32
/* Fork with the table locked, and enter the child before unlocking. */
void	children_lock(struct harbor_server *srv);
void	children_unlock(struct harbor_server *srv);
/* errfd: the read end of the child's standard error, which it takes;
 * place: it holds a max-children place, given back when it has gone. */
int	children_add_locked(struct harbor_server *srv, pid_t pid,
	    struct harbor_service *svc, uint64_t conn_id, int errfd,
	    int place);
/* Signals the child's process group, while the child runs or what it
 * left in its group does: kill(2)'s result, -1 if it is not known. */
int	children_signal(struct harbor_server *srv, pid_t pid, int sig);
#endif

/* Milliseconds since the epoch: time arithmetic without the BSD timeval
 * macros, which strict POSIX does not have. */
static inline int64_t
tv_ms(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

/* log.c */
#define log_err(...)	harbor_log(HARBOR_LOG_ERR, __VA_ARGS__)
#define log_warn(...)	harbor_log(HARBOR_LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	harbor_log(HARBOR_LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	harbor_log(HARBOR_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	harbor_log(HARBOR_LOG_DEBUG, __VA_ARGS__)
int	log_enabled(enum harbor_log_level level);

#endif
