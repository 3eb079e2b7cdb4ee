/*
 * libharbor's utilities: addresses, allow/deny rules, the PROXY header,
 * framing, token buckets, limits and log limits, the loop guard, logging.
 * They know nothing of connections, services or servers: every other
 * part of the library builds on them.
 */
#ifndef HARBOR_UTIL_H
#define HARBOR_UTIL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

#include "compat.h"
#include "thread.h"
#include "harbor.h"

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
/* Whether sa is the IPv4 or IPv6 any address (a socket bound to it takes
 * connections to every address of the host). */
int	addr_is_any(const struct sockaddr *sa);
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

/* A socket error (EVUTIL_SOCKET_ERROR()'s) that says try again later,
 * and one that says the peer is gone (a reset, a broken pipe). */
#ifdef _WIN32
#define SOCKET_ERR_RETRIABLE(e)	((e) == WSAEWOULDBLOCK || (e) == WSAEINTR)
#define SOCKET_ERR_RESET(e)	((e) == WSAECONNRESET || (e) == WSAECONNABORTED)
#else
#define SOCKET_ERR_RETRIABLE(e)	((e) == EAGAIN || (e) == EWOULDBLOCK || \
				 (e) == EINTR)
#define SOCKET_ERR_RESET(e)	((e) == ECONNRESET || (e) == EPIPE)
#endif

/* framing.c */
enum frame_result {
	FRAME_NONE,		/* no complete frame yet */
	FRAME_READY,		/* a frame of *len bytes is at the front */
	FRAME_TOO_LONG		/* a line longer than max_line */
};
/* Where line framing's search for a line's end stopped: the first
 * scanned bytes of the input hold no "\n".  A connection keeps one, and
 * tells frame_scan_drained() what left the front of its input, so that a
 * line that comes in pieces is searched once, not once a piece. */
struct frame_scan {
	size_t		scanned;
	uint64_t	examined;	/* bytes searched in all */
};
enum frame_result frame_next(struct evbuffer *in, enum harbor_framing framing,
	    size_t max_line, int eof, struct frame_scan *scan, size_t *len);
void	frame_scan_drained(struct frame_scan *scan, size_t n);

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
/* Connections open now; max-children places taken (programs running). */
unsigned limits_active(struct limits *lim);
unsigned limits_children(struct limits *lim);

/* stats.c */
#define STATS_DURATION_BOUNDS	15
extern const unsigned stats_duration_bound_ms[STATS_DURATION_BOUNDS];
/* One counting thread's; padded so that two threads' slots never share
 * a cache line. */
struct stats_slot {
	atomic_uint_least64_t	accepted;
	atomic_uint_least64_t	closed;
	atomic_uint_least64_t	bytes_in;
	atomic_uint_least64_t	bytes_out;
	atomic_uint_least64_t	duration_ms;	/* of those closed, summed */
	atomic_uint_least64_t	duration[STATS_DURATION_BOUNDS + 1];
	char			pad[64];
};
struct stats {
	atomic_uint		refs;
	unsigned		nslots;
	atomic_uint_least64_t	refused[REFUSE_KINDS];
	struct stats_slot	slot[];
};
struct stats_sum {
	uint64_t	accepted, closed, bytes_in, bytes_out, duration_ms;
	uint64_t	duration[STATS_DURATION_BOUNDS + 1];
	uint64_t	refused[REFUSE_KINDS];
};
struct stats	*stats_new(unsigned nslots);
void	stats_hold(struct stats *st);
void	stats_release(struct stats *st);
/* Slot i (the last if there are fewer): each written by one thread. */
struct stats_slot *stats_slot(struct stats *st, unsigned i);
void	stats_accepted(struct stats_slot *s);
void	stats_bytes(struct stats_slot *s, uint64_t in, uint64_t out);
void	stats_closed(struct stats_slot *s, int64_t took_ms);
/* Any thread. */
void	stats_refused(struct stats *st, unsigned kind);
/* Any thread: the slots summed (each count as some moment saw it). */
void	stats_sum(const struct stats *st, struct stats_sum *sum);

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
/* What connect(2) says of a non-blocking socket: the handshake started
 * (IN_PROGRESS); asked again, still under way (PENDING) or over (DONE). */
#ifdef _WIN32
#define CONNECT_IN_PROGRESS(e)	((e) == WSAEWOULDBLOCK || \
				 (e) == WSAEINPROGRESS || (e) == WSAEINTR)
#define CONNECT_PENDING(e)	((e) == WSAEALREADY || (e) == WSAEINVAL || \
				 CONNECT_IN_PROGRESS(e))
#define CONNECT_DONE(e)		((e) == WSAEISCONN)
#else
#define CONNECT_IN_PROGRESS(e)	((e) == EINPROGRESS || (e) == EINTR)
#define CONNECT_PENDING(e)	((e) == EALREADY || CONNECT_IN_PROGRESS(e))
#define CONNECT_DONE(e)		((e) == EISCONN)
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
/* A message, formatted, to the sink whatever the library's level (a
 * service's own level said it passes). */
void	log_emit(enum harbor_log_level level, const char *msg);

#endif
