/*
 * libharbor: a multi-client TCP server on libevent.
 *
 * A program builds services (a handler plus the addresses it listens on and
 * its limits), adds them to a server, binds, starts, and runs the server's
 * main loop.  The server accepts on its main loop, hands each connection to
 * one of its I/O loops, and runs each service's handler either on that loop
 * ("inline") or on the worker pool ("pool").
 *
 * Threading rules for handler authors:
 *  - every callback of one connection runs on one thread at a time, in order;
 *  - harbor_conn_* functions may be called from inside a callback of that
 *    connection, on whatever thread the callback runs;
 *  - from other threads, only harbor_conn_post() and harbor_conn_release(),
 *    for a connection held with harbor_conn_hold().
 * The manual: libharbor(3), harbor_server(3), harbor_service(3),
 * harbor_handler(3), harbor_conn(3), harbor_conn_relay(3), harbor_module(3).
 */
#ifndef HARBOR_H
#define HARBOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* printf-like functions: MinGW's gcc checks "printf" against msvcrt's
 * formats, but libharbor formats with MinGW's C99 printf (%zu, %lld). */
#if defined(__MINGW32__)
#define HARBOR_PRINTFLIKE(f, a)	__attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define HARBOR_PRINTFLIKE(f, a)	__attribute__((format(printf, f, a)))
#else
#define HARBOR_PRINTFLIKE(f, a)
#endif

struct event_base;
struct evbuffer;
struct sockaddr;
struct harbor_server;
struct harbor_service;
struct harbor_conn;

/* A socket, as libevent's evutil_socket_t: an int, or a Winsock SOCKET. */
#ifdef _WIN32
typedef intptr_t harbor_socket_t;
#else
typedef int harbor_socket_t;
#endif

/* --- logging ------------------------------------------------------------ */

enum harbor_log_level {
	HARBOR_LOG_ERR = 0,
	HARBOR_LOG_WARNING,
	HARBOR_LOG_NOTICE,
	HARBOR_LOG_INFO,
	HARBOR_LOG_DEBUG
};

/* Receives every message at or above the threshold, one line, no newline.
 * May be called from any of the server's threads at once. */
typedef void harbor_log_fn(enum harbor_log_level level, const char *message,
    void *arg);

void	harbor_log_set_sink(harbor_log_fn *fn, void *arg);
void	harbor_log_set_level(enum harbor_log_level max_level);
enum harbor_log_level harbor_log_get_level(void);
/* Messages the sink could not take (harbor_log_count_dropped): a count
 * since the program started. */
uint64_t harbor_log_dropped(void);
void	harbor_log_count_dropped(void);
void	harbor_log(enum harbor_log_level level, const char *fmt, ...)
	HARBOR_PRINTFLIKE(2, 3);
const char *harbor_log_level_name(enum harbor_log_level level);

const char *harbor_version(void);

/* --- handlers ----------------------------------------------------------- */

enum harbor_framing {
	HARBOR_FRAMING_RAW = 0,		/* input passed on as it arrives */
	HARBOR_FRAMING_LINE		/* one call per complete line */
};

enum harbor_dispatch {
	HARBOR_DISPATCH_INLINE = 0,	/* callbacks run on the I/O loop */
	HARBOR_DISPATCH_POOL		/* callbacks run on the worker pool */
};

/* The version of the handler interface this header describes.  It changes
 * only if something of it must change incompatibly, which is not meant to
 * happen: new callbacks and calls are added at the end, and a handler
 * built against an older header keeps working (the library reads only
 * what its size covers). */
#define HARBOR_ABI_VERSION	1

/* What a handler does that the library must know of, in its flags. */
#define HARBOR_HANDLER_INLINE_ONLY	0x01	/* its callbacks need the
						   connection's own loop (it
						   relays, or connects out):
						   never on the pool */
#define HARBOR_HANDLER_CHILDREN		0x02	/* it starts programs:
						   max-children applies */

struct harbor_handler {
	/* HARBOR_HANDLER_V1 sets these two.  The library checks them before
	 * it reads anything else, and refuses the handler (with a message
	 * naming both versions) if it was built for an interface it does
	 * not have. */
	unsigned	 abi_version;
	size_t		 size;

	const char	*name;
	unsigned	 flags;			/* HARBOR_HANDLER_* */

	/* Once per service, when the server takes the service (before it
	 * serves): read options, build shared state into *state.  Returns 0,
	 * or -1 with a message in err. */
	int	(*service_init)(struct harbor_service *svc, void **state,
		    char *err, size_t errlen);
	void	(*service_free)(void *state);

	/* A connection was accepted.  May write, may close. */
	void	(*open)(struct harbor_conn *conn);
	/* Input: with raw framing, what is buffered, or its first piece
	 * (at least one byte); with line framing, one line with its line
	 * ending (at most max-line bytes before it).  Returns how many bytes
	 * it consumed: if some, what is left is offered again at once; if
	 * none, input waits for more (or for a resume after a pause).  A
	 * connection whose buffered input reaches max-input with nothing
	 * consumed is closed.  NULL: input is discarded. */
	size_t	(*input)(struct harbor_conn *conn, const char *data,
		    size_t len);
	/* Output has drained below the low-water mark: generate more. */
	void	(*writable)(struct harbor_conn *conn);
	/* The client ended its sending (a half-close) and all it sent has
	 * been offered; the handler may still write, and closes when it is
	 * done.  NULL: the connection closes then, unless the handler
	 * generates output (has a writable callback). */
	void	(*end)(struct harbor_conn *conn);
	/* The connection is going away (client closed, error, timeout,
	 * shutdown, or the handler closed it).  Writes are discarded. */
	void	(*close)(struct harbor_conn *conn);
};

/* The first members of a handler: abi_version and size. */
#define HARBOR_HANDLER_V1	.abi_version = HARBOR_ABI_VERSION, \
				.size = sizeof(struct harbor_handler)

const struct harbor_handler *harbor_builtin_handler(const char *name);
/* NULL-terminated list of the builtin handler names. */
const char *const *harbor_builtin_handler_names(void);
/* A handler by name: a built-in one, or one a loaded module registered. */
const struct harbor_handler *harbor_handler_find(const char *name);

/* --- modules ----------------------------------------------------------- */

/* A module is a shared object (.so, .dll) of handlers.  It says which
 * version of the handler interface it was built for, and registers its
 * handlers from one entry point; HARBOR_MODULE(init) defines both:
 *
 *	static int
 *	init(struct harbor_module *m, char *err, size_t errlen)
 *	{
 *		return harbor_module_add_handler(m, &my_handler);
 *	}
 *	HARBOR_MODULE(init)
 *
 * init returns 0, or -1 with a message in err.  A module is loaded once
 * per path and never unloaded: a connection may still be running its
 * code whatever the program's configuration says now. */
struct harbor_module;
typedef int harbor_module_init_fn(struct harbor_module *module, char *err,
    size_t errlen);
#if defined(_WIN32)
#define HARBOR_MODULE_EXPORT	__declspec(dllexport)
#elif defined(__GNUC__)
#define HARBOR_MODULE_EXPORT	__attribute__((visibility("default")))
#else
#define HARBOR_MODULE_EXPORT
#endif
#define HARBOR_MODULE(init)						\
	HARBOR_MODULE_EXPORT extern const unsigned			\
	    harbor_module_abi_version;					\
	HARBOR_MODULE_EXPORT const unsigned harbor_module_abi_version = \
	    HARBOR_ABI_VERSION;						\
	HARBOR_MODULE_EXPORT int harbor_module_init(struct harbor_module *, \
	    char *, size_t);						\
	HARBOR_MODULE_EXPORT int					\
	harbor_module_init(struct harbor_module *m_, char *e_, size_t l_) \
	{								\
		return (init)(m_, e_, l_);				\
	}
/* Loads the module at path and runs its init (a module loaded already,
 * by this path or another that names the same object, is not loaded
 * again: it is returned).  NULL, with why in err: it
 * cannot be loaded, it is no module, it was built for another version of
 * the interface, its init failed, or it registers no handler. */
struct harbor_module *harbor_module_load(const char *path, char *err,
    size_t errlen);
/* From a module's init: its handler, found by name from then on (it must
 * live as long as the process: a static).  -1: a handler of that name
 * exists already, or it was built for another interface. */
int	harbor_module_add_handler(struct harbor_module *module,
    const struct harbor_handler *handler);
const char *harbor_module_path(const struct harbor_module *module);

/* --- services ----------------------------------------------------------- */

struct harbor_service *harbor_service_new(const char *name,
    const struct harbor_handler *handler);
void	harbor_service_free(struct harbor_service *svc);

/* Parses and adds a listen address: "127.0.0.1:7", "[::1]:7", "*:7" (every
 * IPv4 and IPv6 address).  Port 0 picks a free port.  Returns 0, or -1 with
 * a message in err. */
int	harbor_service_add_listen(struct harbor_service *svc, const char *addr,
    char *err, size_t errlen);
#define HARBOR_ADDRSTRLEN	64	/* "[IPv6 address]:65535" and its NUL */
/* Connections the system may queue on the service's sockets before they
 * are accepted (listen(2)'s backlog); 511 unless set.  The system caps it
 * (Linux's net.core.somaxconn, the BSDs' kern.ipc.somaxconn), which is
 * logged when a socket is opened; a reload that changes it applies it to
 * the sockets the service keeps.  -1 for 0. */
int	harbor_service_set_backlog(struct harbor_service *svc, unsigned n);
/* With on, each socket the server opens for the service gets SO_REUSEPORT
 * (FreeBSD's SO_REUSEPORT_LB where it has it) before it is bound: other
 * sockets with it, of this process or another (on Linux, one of the same
 * effective user), may listen on the same address and port, and the
 * system shares the connections out among them.  Off unless set.  A
 * socket that a reload keeps keeps the option it was opened with.  -1
 * with a message for on, where the system has no such option (Windows). */
int	harbor_service_set_reuse_port(struct harbor_service *svc, int on,
    char *err, size_t errlen);
/* Checks an address as harbor_service_add_listen() would, adding nothing.
 * If canonical is not NULL it receives the address(es) the text stands for
 * in one spelling ("*:7" is "0.0.0.0:7" and "[::]:7"), *ncanonical of them,
 * at most two. */
int	harbor_listen_address_check(const char *addr,
    char (*canonical)[HARBOR_ADDRSTRLEN], size_t *ncanonical, char *err,
    size_t errlen);
/* Access control: allow or deny clients from a network ("10.0.0.0/8",
 * "::1", "2001:db8::/32") or "all".  The most specific matching rule
 * decides; equally specific allow and deny: deny.  A client no rule
 * matches is let in only if there are no allow rules.  Refused clients
 * are closed at once and logged with the rule.  Returns 0, or -1 with a
 * message. */
int	harbor_service_allow(struct harbor_service *svc, const char *net,
    char *err, size_t errlen);
int	harbor_service_deny(struct harbor_service *svc, const char *net,
    char *err, size_t errlen);
/* PROXY protocol (HAProxy's): the service's clients come through a proxy
 * that sends a header naming the real client, which allow/deny, the
 * limits, the logs and the handler then see.  versions: HARBOR_PROXY_V1,
 * HARBOR_PROXY_V2 or both; 0: off, the default.  Only proxies in the
 * trusted list may connect, and a connection without a good header in
 * timeout_ms (default 5000) is closed. */
#define HARBOR_PROXY_V1	0x1
#define HARBOR_PROXY_V2	0x2
void	harbor_service_set_proxy_protocol(struct harbor_service *svc,
    int versions, unsigned timeout_ms);
int	harbor_service_trust_proxy(struct harbor_service *svc,
    const char *net, char *err, size_t errlen);
/* Checks a network as harbor_service_allow() would, adding nothing. */
int	harbor_network_check(const char *net, char *err, size_t errlen);
/* Where its callbacks run: inline (the default) or on the pool; -1 for
 * the pool with a handler that must run inline. */
int	harbor_service_set_dispatch(struct harbor_service *svc,
    enum harbor_dispatch dispatch);
void	harbor_service_set_framing(struct harbor_service *svc,
    enum harbor_framing framing);
/* 0: no limit. */
void	harbor_service_set_max_connections(struct harbor_service *svc,
    unsigned max);
/* Open connections from one source (an IPv4 address, or an IPv6 address
 * cut to a prefix, /64 unless set), so that one address cannot take all
 * of a service; 0: no limit.  Unless set, an eighth of max-connections
 * (128 of the default 1024), at least 1, and no limit without one. */
void	harbor_service_set_max_per_source(struct harbor_service *svc,
    unsigned max);
/* The IPv6 prefix that makes one source, 0..128 (-1 beyond). */
int	harbor_service_set_source_prefix6(struct harbor_service *svc,
    unsigned bits);
/* New connections per second, in thousandths (1500: 1.5 a second), with a
 * burst of that many at once (0: the rate rounded up); a token bucket for
 * the service as a whole, and one per source.  Beyond it a client is
 * refused for the moment, and the service recovers as the bucket fills:
 * it is never disabled.  0: no limit, the default. */
void	harbor_service_set_rate(struct harbor_service *svc,
    unsigned milli_per_sec, unsigned burst);
void	harbor_service_set_rate_per_source(struct harbor_service *svc,
    unsigned milli_per_sec, unsigned burst);
/* Log lines of one kind from the service (its refusals for one reason,
 * bad PROXY headers, a program's standard error over its rate): a token
 * bucket of lines per second, in thousandths, and a burst (0: the rate
 * rounded up).  Those held back are counted and said in one line ("N
 * similar messages suppressed") a second later, or before the next line
 * of the kind.  Default 10 a second, 20 at once; 0: no limit. */
void	harbor_service_set_log_rate(struct harbor_service *svc,
    unsigned milli_per_sec, unsigned burst);
/* Milliseconds without traffic either way before the connection is closed;
 * 0: never. */
/* The most verbose level of the messages about this service (its
 * listeners, clients, refusals): a harbor_log_level, or -1 (the default)
 * for the library's (harbor_log_set_level).  0, or -1 for a level that
 * is none. */
int	harbor_service_set_log_level(struct harbor_service *svc, int level);
/* Whether each client's accept and close are logged (info): on by
 * default. */
void	harbor_service_set_log_connections(struct harbor_service *svc,
	    int on);
void	harbor_service_set_idle_timeout(struct harbor_service *svc,
    unsigned ms);
/* Milliseconds a connection may last in all, busy or not; 0: no limit,
 * the default. */
void	harbor_service_set_session_timeout(struct harbor_service *svc,
    unsigned ms);
/* Longest line (line framing) in bytes, not counting its ending; 8192
 * unless set.  -1 for 0. */
int	harbor_service_set_max_line(struct harbor_service *svc, size_t bytes);
/* Most input buffered for a connection (raw framing): reading from the
 * client stops there until the handler consumes some, and a connection
 * whose handler leaves that much unconsumed is closed ("input too long").
 * 64 KiB unless set.  -1 for 0. */
int	harbor_service_set_max_input(struct harbor_service *svc, size_t bytes);
/* Output above high stops input to the handler and its writable calls,
 * until output is back at low; 16 KiB and 64 KiB unless set.  -1 if low
 * is above high, or high is 0. */
int	harbor_service_set_output_watermarks(struct harbor_service *svc,
    size_t low, size_t high);
/* Handler options: name/value pairs the handler reads in its service_init
 * (qotd: "quote-file"), copied, kept in the order given.  set replaces
 * every value of the name; add appends one (an option given several
 * times).  harbor_service_option() is the last value of the name, _at()
 * the i-th; NULL when there is none.  -1: out of memory. */
int	harbor_service_set_option(struct harbor_service *svc,
    const char *name, const char *value);
int	harbor_service_add_option(struct harbor_service *svc,
    const char *name, const char *value);
const char *harbor_service_option(const struct harbor_service *svc,
    const char *name);
const char *harbor_service_option_at(const struct harbor_service *svc,
    const char *name, size_t i);
/* The name of the i-th option, in the order given (a name given several
 * times comes as often); NULL past the last. */
const char *harbor_service_option_name(const struct harbor_service *svc,
    size_t i);
/* For a handler's service_init: every option is one of known (a
 * NULL-terminated list; NULL for none), or -1 with "unknown option
 * 'NAME' ..." in err, so that a misspelt option is an error, not a
 * setting that silently does nothing.  A handler without service_init
 * takes no option: the library checks that itself. */
int	harbor_service_check_options(const struct harbor_service *svc,
    const char *const *known, char *err, size_t errlen);
const char *harbor_service_name(const struct harbor_service *svc);
const struct harbor_handler *harbor_service_handler(
    const struct harbor_service *svc);
/* Prepares the service as a server would (the handler's service_init: a
 * qotd reads its quote file), so a program can report a bad service before
 * it binds anything.  Done at most once; adding the service to a server
 * afterwards does not repeat it.  Returns 0, or -1 with a message. */
int	harbor_service_check(struct harbor_service *svc, char *err,
    size_t errlen);

/* --- exec and forward services ------------------------------------------ */

/* A service that runs a program for each client (inetd's "nowait",
 * tcpserver): argv[0] is its absolute path, argv is NULL-terminated.  The
 * program's standard input and output are a socket harbord relays to the
 * client, half-close included; its standard error goes to the log, one
 * line a message, tagged with the service and the pid.  Its environment is
 * only UCSPI's PROTO=TCP, TCPLOCALIP, TCPLOCALPORT, TCPREMOTEIP,
 * TCPREMOTEPORT and TCPCONNNUM (connections open to the service), and what
 * harbor_service_exec_setenv() adds.  No other descriptor is open in it.
 * Each child leads a process group of its own, which a client cut off
 * early has sent SIGTERM.  Children are reaped through SIGCHLD on the main
 * loop, and their exit is logged.  Not on Windows (NULL, and err says
 * why). */
struct harbor_service *harbor_service_new_exec(const char *name,
    const char *const *argv, char *err, size_t errlen);
/* "NAME=VALUE" for the program's environment; not one of UCSPI's. */
int	harbor_service_exec_setenv(struct harbor_service *svc,
    const char *name_value, char *err, size_t errlen);
/* Run the program as this user and group (supplementary groups dropped);
 * -1: as harbord runs. */
int	harbor_service_exec_credentials(struct harbor_service *svc, long uid,
    long gid, char *err, size_t errlen);


/* A service that relays each client to a backend, "host:port" or
 * "[v6]:port", resolved when the service is set up; its addresses are
 * tried in order.  A name that does not resolve then is logged as a
 * warning, not refused: it is resolved again, on a thread of its own,
 * when a client comes (the clients meanwhile wait for it, within the
 * connect timeout), and at most once a second after a failure. */
struct harbor_service *harbor_service_new_forward(const char *name,
    const char *target, char *err, size_t errlen);
/* Checks a backend as harbor_service_new_forward() would, resolving
 * nothing. */
int	harbor_forward_check(const char *target, char *err, size_t errlen);
/* Milliseconds to wait for each backend address, a wait for the name's
 * resolution included in the first's; default 10000.  -1 for 0, or a
 * service that does not forward. */
int	harbor_service_set_connect_timeout(struct harbor_service *svc,
    unsigned ms);
/* Send the backend a PROXY header naming the client: HARBOR_PROXY_V1 or
 * HARBOR_PROXY_V2; 0: none, the default.  -1 for another value, or a
 * service that does not forward. */
int	harbor_service_set_send_proxy(struct harbor_service *svc,
    int version);

/* Connections open now to the service (TCPCONNNUM for exec). */
unsigned harbor_service_connections(struct harbor_service *svc);

/* For a handler that starts programs (HARBOR_HANDLER_CHILDREN):
 * Programs alive at once, those whose client has gone included, and those
 * that exited leaving processes in their group until these end; a client
 * beyond it is refused.  0: no limit, the default. */
void	harbor_service_set_max_children(struct harbor_service *svc,
    unsigned max);
/* How much of a program's standard error reaches the log: lines are cut
 * at line_max bytes (16..1024; 512 unless set), and beyond bytes_per_sec
 * (a second's worth at once; 8192 unless set; 0: no limit) whole lines
 * are dropped.  What is dropped is counted and logged when the program
 * goes.  While a program's lines are dropped its standard error is read
 * only a few times a second, so a program writing without end waits on
 * its writes.  -1 for values out of range. */
#define HARBOR_STDERR_RATE_DEFAULT	8192
#define HARBOR_STDERR_LINE_DEFAULT	512
#define HARBOR_STDERR_RATE_MAX		(1024 * 1024)
int	harbor_service_set_stderr_limits(struct harbor_service *svc,
    unsigned bytes_per_sec, size_t line_max);

/* --- the server ---------------------------------------------------------- */

/* Settings grow at the end, and say their size: a program built against
 * an older header passes a smaller struct, which the library completes
 * with defaults.  harbor_server_settings_default() sets size; begin with
 * it. */
struct harbor_server_settings {
	size_t		size;		/* sizeof(struct harbor_server_settings) */
	int		io_threads;	/* I/O loops; 0: I/O on the main loop;
					   -1: one per CPU but one */
	int		workers;	/* pool threads; -1: one per CPU */
	unsigned	queue_size;	/* pool queue bound; 0: default */
	unsigned	max_connections; /* over all services; 0: none */
};

void	harbor_server_settings_default(struct harbor_server_settings *s);
/* The settings a server runs with, defaults resolved (CPU counts), as
 * much of them as s->size covers: set it first (settings_default does). */
void	harbor_server_get_settings(const struct harbor_server *srv,
    struct harbor_server_settings *s);
int	harbor_cpu_count(void);

/* NULL settings: the defaults.  NULL back: no memory, or settings whose
 * size this library cannot take (logged): smaller than its first
 * version's, or larger with something set where this library has no
 * setting. */
struct harbor_server *harbor_server_new(
    const struct harbor_server_settings *settings);
void	harbor_server_free(struct harbor_server *srv);

/* Takes ownership of svc.  Before harbor_server_bind(). */
int	harbor_server_add_service(struct harbor_server *srv,
    struct harbor_service *svc, char *err, size_t errlen);

/* Where the server's listening sockets come from.  By default it opens
 * them itself (in harbor_server_bind(), and in a reload for addresses it
 * did not listen on).  A program whose sockets are opened elsewhere -- by
 * a privileged process that passes them over a Unix socket -- gives a
 * function that returns, for one address of a service (canonical text
 * such as "0.0.0.0:7" or "[::1]:7", and as a sockaddr), a stream socket
 * bound to it (with SO_REUSEPORT for a service that asks for it:
 * harbor_service_set_reuse_port()), which the server then owns (it makes
 * it non-blocking and close-on-exec, and listens with the service's
 * backlog); or -1, with why in err.  NULL: open them here again.  Before
 * harbor_server_bind(); main loop thread only. */
typedef harbor_socket_t harbor_listen_fn(const char *service,
    const char *address, const struct sockaddr *sa, size_t salen, void *arg,
    char *err, size_t errlen);
void	harbor_server_set_listen_fn(struct harbor_server *srv,
    harbor_listen_fn *fn, void *arg);
/* Opens a socket listening on one address (canonical text, as above;
 * "*:7", which is two, is refused) as the server would: address reuse,
 * IPv6 sockets IPv6 only, non-blocking, close-on-exec, the backlog capped
 * at the system's.  Returns it, or -1 with a message. */
harbor_socket_t harbor_listen_open(const char *address, unsigned backlog,
    char *err, size_t errlen);
/* The same, with flags (harbor_listen_open() is this with 0): with
 * HARBOR_LISTEN_REUSE_PORT, SO_REUSEPORT before the bind, as a service
 * with harbor_service_set_reuse_port() has it.  -1 with a message for a
 * flag this library does not know, or HARBOR_LISTEN_REUSE_PORT where the
 * system has no such option. */
#define HARBOR_LISTEN_REUSE_PORT	0x01
harbor_socket_t harbor_listen_open_opts(const char *address, unsigned backlog,
    unsigned flags, char *err, size_t errlen);

/* Opens every listening socket (socket, bind, listen): no threads and no
 * event base yet, so a program may bind, then fork or drop privileges. */
int	harbor_server_bind(struct harbor_server *srv, char *err,
    size_t errlen);

/* Enables libevent threading, creates the main loop, the I/O loops and the
 * worker pool.  Returns 0 or -1 with a message.  Accepting starts when
 * harbor_server_run() does, so the program can first add its own events
 * (signals) to harbor_server_base(). */
int	harbor_server_start(struct harbor_server *srv, char *err,
    size_t errlen);

/* The main loop, for the program's own events (signals, timers). */
struct event_base *harbor_server_base(struct harbor_server *srv);

/* Starts accepting ("service NAME listening on ADDRESS" is logged) and runs
 * the main loop until harbor_server_shutdown() has finished.  The library
 * never raises SIGPIPE in the program, whatever its disposition: the
 * threads it starts block every signal, its sockets have SO_NOSIGPIPE
 * where the system has it, and the calling thread holds SIGPIPE back while
 * it runs here (a SIGPIPE its writes left pending is taken before its
 * signal mask is given back). */
int	harbor_server_run(struct harbor_server *srv);

/* Replaces the running services by the given ones (taking ownership of
 * them, on success and on failure): listen addresses present before and
 * after keep their sockets; connections in progress finish under the
 * service they were accepted by.  On failure (an address cannot be bound,
 * a handler cannot start) nothing changes.  Main loop thread only. */
int	harbor_server_replace_services(struct harbor_server *srv,
    struct harbor_service **svcs, size_t nsvcs, char *err, size_t errlen);

/* Stops accepting, lets open connections finish for grace_ms, then closes
 * the rest and makes harbor_server_run() return.  Main loop thread only. */
void	harbor_server_shutdown(struct harbor_server *srv, unsigned grace_ms);

/* The i-th listening socket, after harbor_server_bind(): its service's
 * name and the address it is bound to (with port 0 configured, the port
 * the system chose).  Returns 0, or -1 past the last.  Main loop thread
 * only: a reload changes the list. */
int	harbor_server_listener(struct harbor_server *srv, size_t i,
    const char **service, const char **address);

/* The i-th listening socket itself, as harbor_server_listener numbers
 * them, still the server's (to pass to another process that takes over:
 * harbord's upgrade); -1 past the last.  Main loop thread only. */
harbor_socket_t harbor_server_listener_socket(struct harbor_server *srv,
	    size_t i);
/* Connections open now, over all services. */
unsigned harbor_server_connection_count(struct harbor_server *srv);

/* --- watching a running server: counters, connections, draining --------- */

/* A service's counts since it started, carried over reloads by services
 * of the same name.  The caller sets size to sizeof(struct
 * harbor_service_stats); a newer library fills only that much. */
#define HARBOR_REFUSAL_KINDS_MAX	24
#define HARBOR_DURATION_BUCKETS		16
struct harbor_service_stats {
	size_t		size;
	unsigned	open;		/* connections now */
	unsigned	children;	/* programs running (exec) */
	int		paused;		/* harbor_server_pause_service */
	uint64_t	accepted;
	uint64_t	closed;
	uint64_t	bytes_in;	/* from clients */
	uint64_t	bytes_out;	/* to clients */
	/* By harbor_refusal_name(i): */
	uint64_t	refused[HARBOR_REFUSAL_KINDS_MAX];
	/* The connections closed, by how long they lasted: [i] those of at
	 * most harbor_duration_bound_ms(i), the last those longer than
	 * every bound; and all their durations summed. */
	uint64_t	duration[HARBOR_DURATION_BUCKETS];
	uint64_t	duration_ms;
};
/* Any thread, once the service was added to a server: 0, or -1 (size
 * unknown, or a service never started). */
int	harbor_service_stats(struct harbor_service *svc,
	    struct harbor_service_stats *st);
/* Why a client was refused, a name fit for a metric's label ("acl",
 * "max_connections", "rate", ...): kind 0 on; NULL past the last. */
const char *harbor_refusal_name(unsigned kind);
/* The upper bound of duration bucket i, in ms; 0 for the last, which
 * has none. */
unsigned harbor_duration_bound_ms(unsigned i);
/* The server a service was added to; NULL if none. */
struct harbor_server *harbor_service_server(struct harbor_service *svc);

/* The server as a whole.  size as above. */
struct harbor_server_stats {
	size_t		size;
	unsigned	open;		/* connections now */
	unsigned	pool_queued;	/* jobs waiting for a worker */
	int		io_threads;
	int		workers;
	time_t		started;	/* harbor_server_start's time */
	uint64_t	reloads_ok;	/* harbor_server_count_reload's */
	uint64_t	reloads_failed;
	uint64_t	log_dropped;	/* harbor_log_dropped() */
};
int	harbor_server_stats(struct harbor_server *srv,
	    struct harbor_server_stats *st);
/* The program tells the server how each reload ended (one may fail
 * before harbor_server_replace_services is called), for its stats. */
void	harbor_server_count_reload(struct harbor_server *srv, int ok);
/* fn(service, arg) for each service, in order, from any thread: the list
 * is held still meanwhile, so fn must not reload the server. */
typedef void harbor_service_visit_fn(struct harbor_service *svc, void *arg);
void	harbor_server_foreach_service(struct harbor_server *srv,
	    harbor_service_visit_fn *fn, void *arg);

/* One connection, as harbor_server_list_connections saw it. */
struct harbor_conn_info {
	size_t		 size;		/* sizeof, as this library has it */
	uint64_t	 id;		/* harbor_conn_id's */
	const char	*service;
	char		 peer[HARBOR_ADDRSTRLEN];	/* after PROXY */
	char		 local[HARBOR_ADDRSTRLEN];
	int64_t		 age_ms;
	int64_t		 idle_ms;	/* since traffic either way */
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	const char	*state;		/* "proxy-header", "open",
					   "half-closed", "relaying",
					   "closing" */
};
typedef void harbor_conn_list_fn(const struct harbor_conn_info *const *conns,
	    size_t n, void *arg);
/* The open connections (of service, or all if NULL), each read on its own
 * loop, by id: fn(conns, n, arg) runs on the main loop once every loop
 * answered; what it is given lasts until it returns.  Main loop thread;
 * 0, or -1 if it cannot ask (out of memory, not started).  fn is not
 * called if the server is freed first. */
int	harbor_server_list_connections(struct harbor_server *srv,
	    const char *service, harbor_conn_list_fn *fn, void *arg);
/* Ends connection id now, its close logged with why: fn(found, arg) on
 * the main loop, found 1 if it was open.  Main loop thread. */
typedef void harbor_conn_drop_fn(int found, void *arg);
int	harbor_server_drop_connection(struct harbor_server *srv, uint64_t id,
	    const char *why, harbor_conn_drop_fn *fn, void *arg);
/* Drains a service (pause 1): it accepts no more clients, those open
 * finish, and where the system can (Linux) its sockets refuse new
 * connections at once, so that a load balancer sends them elsewhere;
 * elsewhere they queue in the backlog until it resumes.  pause 0: it
 * accepts again.  A service keeps its state over reloads.  Main loop
 * thread: 0, or -1 with why (no such service, cannot listen again). */
int	harbor_server_pause_service(struct harbor_server *srv,
	    const char *name, int pause, char *err, size_t errlen);

/* --- connections (from inside a handler callback) ----------------------- */

/* Unless said otherwise, these are called from inside a callback of the
 * connection (open, input, writable, end, a timer's, a posted function's),
 * on whichever thread runs it. */

/* Output.  Writing fails (-1) after harbor_conn_shutdown_write(). */
int	harbor_conn_write(struct harbor_conn *conn, const void *data,
    size_t len);
int	harbor_conn_printf(struct harbor_conn *conn, const char *fmt, ...)
	HARBOR_PRINTFLIKE(2, 3);
/* data is sent from where it is, not copied: it must stay as it is until
 * done(data, len, arg) says it was sent (or dropped with the connection);
 * done may be NULL, and runs on the connection's loop. */
typedef void harbor_ref_done_fn(const void *data, size_t len, void *arg);
int	harbor_conn_write_ref(struct harbor_conn *conn, const void *data,
    size_t len, harbor_ref_done_fn *done, void *arg);
/* length bytes of the open file fd from offset (sendfile(2) where the
 * system has it); the library closes fd once they are sent. */
int	harbor_conn_write_file(struct harbor_conn *conn, int fd,
    int64_t offset, int64_t length);
/* The output buffer itself, for evbuffer_add_*(3) and the like: in the
 * callback only, never kept across callbacks. */
struct evbuffer *harbor_conn_output(struct harbor_conn *conn);
/* Bytes written but not yet sent. */
size_t	harbor_conn_output_pending(struct harbor_conn *conn);
/* True when output is above the high-water mark: a generating handler
 * stops here and waits for its writable callback. */
int	harbor_conn_output_full(struct harbor_conn *conn);
/* Ends the sending side once what was written is sent (the client reads
 * end of file), and goes on reading: the handler closes when it is done. */
int	harbor_conn_shutdown_write(struct harbor_conn *conn);

/* Input.  Paused, nothing is offered to the handler, and reading from the
 * client stops when max-input is buffered (TCP holds it back); resumed,
 * what is buffered is offered again (after this callback returns).  A
 * pause and a resume in one input call cancel out. */
void	harbor_conn_pause_input(struct harbor_conn *conn);
void	harbor_conn_resume_input(struct harbor_conn *conn);
/* Raw framing: input is not offered again until at least bytes are
 * buffered (a whole frame), then all of it at once.  Once.  -1 for more
 * than max-input, or line framing. */
int	harbor_conn_need_input(struct harbor_conn *conn, size_t bytes);

/* Closes once pending output is sent.  No more input is handed to the
 * handler; the data of the callback that closes stays valid until that
 * callback returns. */
void	harbor_conn_close(struct harbor_conn *conn);

void	*harbor_conn_get_data(struct harbor_conn *conn);
void	 harbor_conn_set_data(struct harbor_conn *conn, void *data);
/* The state the handler's service_init built. */
void	*harbor_conn_service_state(struct harbor_conn *conn);
struct harbor_service *harbor_conn_service(struct harbor_conn *conn);
/* "address:port" / "[v6]:port" of the client and of the local end. */
const char *harbor_conn_peer(struct harbor_conn *conn);
const char *harbor_conn_local(struct harbor_conn *conn);
/* The same as sockaddrs (IPv4 or IPv6), *len their size: the client's,
 * and the address it connected to (NULL if that cannot be learned). */
const struct sockaddr *harbor_conn_peer_addr(struct harbor_conn *conn,
    size_t *len);
const struct sockaddr *harbor_conn_local_addr(struct harbor_conn *conn,
    size_t *len);
/* True when both came from a PROXY header, not from the socket. */
int	harbor_conn_proxied(struct harbor_conn *conn);
uint64_t harbor_conn_id(struct harbor_conn *conn);

/* Timers of a connection: their function runs on the connection's thread,
 * in order with its other callbacks, never after its close callback.  A
 * timer lives as long as its connection (there is no free); started again
 * it is rearmed, stopped it does not run (even if it was due). */
struct harbor_timer;
typedef void harbor_timer_fn(struct harbor_conn *conn, void *arg);
struct harbor_timer *harbor_timer_new(struct harbor_conn *conn,
    harbor_timer_fn *fn, void *arg);
int	harbor_timer_start(struct harbor_timer *timer, unsigned ms);
void	harbor_timer_stop(struct harbor_timer *timer);

/* Work done elsewhere, its answer run among the connection's callbacks.
 * Hold the connection (from one of its callbacks) before handing it to
 * another thread; from there post a function, which runs like the
 * connection's other callbacks -- one at a time, in the order posted --
 * with gone set if the client has gone meanwhile (then it writes nothing,
 * and frees what it must); then release it.  Holds are counted.  Posting
 * and releasing are safe from any thread.  The client is let go when the
 * connection ends, held or not; the server waits, at shutdown, until
 * every hold is released. */
typedef void harbor_conn_fn(struct harbor_conn *conn, void *arg, int gone);
void	harbor_conn_hold(struct harbor_conn *conn);
void	harbor_conn_release(struct harbor_conn *conn);
int	harbor_conn_post(struct harbor_conn *conn, harbor_conn_fn *fn,
    void *arg);

/* Ends the connection at once, what is pending dropped (the client sees
 * the end even while the connection is held); the log's close line gives
 * why. */
int	harbor_conn_fail(struct harbor_conn *conn, const char *why);
/* Why the connection ended, in its close callback. */
enum harbor_close_reason {
	HARBOR_CLOSE_HANDLER = 0,	/* harbor_conn_close() */
	HARBOR_CLOSE_CLIENT,		/* the client closed, or reset */
	HARBOR_CLOSE_DONE,		/* a relay: both sides have ended */
	HARBOR_CLOSE_TIMEOUT,		/* idle or session timeout */
	HARBOR_CLOSE_LIMIT,		/* a line or input too long */
	HARBOR_CLOSE_SHUTDOWN,		/* the server stopped */
	HARBOR_CLOSE_ERROR		/* a socket error, harbor_conn_fail(),
					   no memory */
};
enum harbor_close_reason harbor_conn_close_reason(struct harbor_conn *conn);

/* --- extensions: what exec and forward are made of ----------------------- */


/* These are for handlers whose flags have HARBOR_HANDLER_INLINE_ONLY: they
 * are called from a callback of the connection, on its loop. */

/* Joins the client to a second stream, fd (a connected, non-blocking
 * socket, which the library takes in any case, and closes), both ways,
 * byte for byte: at most 64 KiB held each way while a side does not read,
 * half-closes passed on, the connection's idle timeout over both.  The
 * first firstlen bytes of first (a PROXY header, say) go to fd before
 * anything of the client's, then what the client sent before.  The
 * handler gets no more input; the connection ends when both sides have
 * ended (HARBOR_CLOSE_DONE) or one fails.  flags: HARBOR_RELAY_PEER_EOF_ENDS
 * -- fd's end of file means it reads no more either (a program's
 * socket).  -1 if the connection cannot relay (not inline, relaying
 * already, ending). */
#define HARBOR_RELAY_PEER_EOF_ENDS	0x01
int	harbor_conn_relay(struct harbor_conn *conn, harbor_socket_t fd,
    unsigned flags, const void *first, size_t firstlen);

/* Connects to `to` from the connection's loop, within timeout_ms (0: the
 * system's), and calls done -- always later, on the connection's loop --
 * with the connected non-blocking socket (the handler's), or -1 and the
 * error (a socket error number; ETIMEDOUT for the timeout).  If the
 * connection ends first, done is not called.  A connection that comes
 * back to a service of this server that the client came through is
 * refused there as a forwarding loop. */
typedef void harbor_connect_fn(struct harbor_conn *conn, harbor_socket_t fd,
    int error, void *arg);
int	harbor_conn_connect(struct harbor_conn *conn, const struct sockaddr *to,
    size_t tolen, unsigned timeout_ms, harbor_connect_fn *done, void *arg);

/* A program started for the connection (HARBOR_HANDLER_CHILDREN): its
 * standard input and output are one end of a socket pair, *fd the other
 * (non-blocking, the handler's: usually relayed); its standard error goes
 * to the log, one line a message, within the service's stderr limits;
 * nothing else is open in it; its signals are at their defaults; it leads
 * a process group of its own.  It holds the connection's max-children
 * place until it, and what it left in its group, have gone; it is reaped
 * through SIGCHLD on the server's main loop, and its end is logged.
 * Returns its pid, or -1 with why (the exec's own error included).  Not on
 * Windows. */
struct harbor_spawn {
	size_t		 size;		/* sizeof(struct harbor_spawn) */
	char *const	*argv;		/* argv[0]: its absolute path */
	char *const	*envp;		/* its whole environment */
	long		 uid, gid;	/* -1: as the server runs */
};
pid_t	harbor_conn_spawn(struct harbor_conn *conn,
    const struct harbor_spawn *spawn, harbor_socket_t *fd, char *why,
    size_t whylen);
/* Signals a program harbor_conn_spawn started, and its process group,
 * while the library knows of it.  kill(2)'s result, or -1. */
int	harbor_conn_kill(struct harbor_conn *conn, pid_t pid, int sig);

/* Programs to run as another user (a harbor_spawn with a uid or gid), for
 * a server that gave up root and cannot become that user itself: the
 * program gives the server a spawner, which starts them in a process that
 * kept root (harbord's privileged one does), and tells the server when
 * each has ended with harbor_server_child_ended().  spawn starts sp's
 * program for service with io as its standard input and output and err as
 * its standard error (the spawner passes them on; the server closes its
 * own copies), leading a process group of its own, and returns its pid,
 * or -1 with why; kill signals the process group of a program spawn
 * started, with kill(2)'s result.  Either may be called from any of the
 * server's threads, and more than one at a time.  Programs with neither
 * uid nor gid are still started by the server. */
struct harbor_spawner {
	size_t	  size;		/* sizeof(struct harbor_spawner) */
	pid_t	(*spawn)(void *arg, const char *service,
		    const struct harbor_spawn *sp, int io, int err, char *why,
		    size_t whylen);
	int	(*kill)(void *arg, pid_t pid, int sig);
	void	 *arg;
};
/* Before harbor_server_start(); NULL: none.  -1 if the struct's size is
 * not one this library knows.  Not on Windows. */
int	harbor_server_set_spawner(struct harbor_server *srv,
    const struct harbor_spawner *spawner);
/* A program the spawner started has ended, with status as waitpid(2)
 * gives it: logged, and its max-children place given back once its
 * process group is empty.  Main loop thread only. */
void	harbor_server_child_ended(struct harbor_server *srv, pid_t pid,
    int status);

/* The PROXY protocol header (HARBOR_PROXY_V1 or HARBOR_PROXY_V2) a proxy
 * sends for a client at src that connected to dst, into buf (at least
 * HARBOR_PROXY_HEADER_MAX bytes).  Returns its length, 0 if buf is too
 * small or the version unknown. */
#define HARBOR_PROXY_HEADER_MAX	108
size_t	harbor_proxy_header(int version, const struct sockaddr *src,
    const struct sockaddr *dst, void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* HARBOR_H */
