/*
 * harness.h -- run the real harbord on loopback and talk to it as a client.
 *
 * The integration suites start the daemon with `harbord -d -f FILE` on
 * ephemeral ports (configs say 127.0.0.1:0 and the daemon logs the port it
 * got), collect everything it prints, and connect to it with the client
 * helpers below.  Every wait is bounded by a timeout; nothing here blocks
 * forever.
 *
 * Cleanup: Check runs each test in a forked child and, when the test ends
 * (pass, fail or timeout), kills the child's whole process group, which takes
 * a `-d` daemon with it.  Daemons that detach (setsid) are recorded in a
 * registry in the per-run temporary directory and killed by the unchecked
 * teardown that harness_tcase() installs; the directory itself is removed
 * when the suite ends.
 *
 * Windows (a MinGW build, run under wine): processes are started with
 * CreateProcess, into a job object that kills them when the test program
 * ends, since Check cannot fork there (CK_FORK=no).  No signal reaches
 * another process there: harbord is steered as the Windows build is,
 * through harborctl and the daemon's control socket (the harness gives
 * each daemon one unless its config names one or is used as written):
 * hd_signal(SIGTERM) is "harborctl stop", hd_reload() "harborctl reload",
 * other signals fail with ENOSYS.  A daemon without that socket is
 * terminated by hd_stop() (TerminateProcess), and hd_finish() then checks
 * no exit code, and says so once.  Sockets are Winsock SOCKETs held as int
 * (their values are small); hc_recv() and hc_poll() leave Winsock's
 * errors in errno as POSIX would, and hc_poll() is made of select(), as
 * WSAPoll() misses a refused connect on some Windows versions.  There is
 * no /proc.
 *
 * Environment: HARBORD (path of the daemon, usually the libtool wrapper
 * src/harbord; make check sets it), HARNESS_VERBOSE=1 (copy the daemon's
 * output to stderr as it arrives).  The suites need no fixture files: every
 * config and quote file is written by the test that uses it.
 */
#ifndef HARNESS_H
#define HARNESS_H

/* Include this header first: it picks the feature macros (memmem,
 * strcasestr, ...) before any system header is read. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
/* The build's config header is autoconfig.h (src/config.h is the config
 * file parser's), wanted here only for PACKAGE_VERSION. */
#if defined(HAVE_CONFIG_H) && defined(__has_include)
#if __has_include("autoconfig.h")
#include "autoconfig.h"
#endif
#endif
#ifdef PACKAGE_VERSION
#define HARBORD_VERSION PACKAGE_VERSION
#else
#define HARBORD_VERSION "0.1.0"
#endif

#ifdef _WIN32
/* ctime_r, localtime_r and strtok_r from MinGW's headers. */
#ifndef _POSIX_THREAD_SAFE_FUNCTIONS
#define _POSIX_THREAD_SAFE_FUNCTIONS 200112L
#endif
/* hc_poll() is select() there, for up to this many sockets. */
#define FD_SETSIZE	1024
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#define SHUT_WR		SD_SEND
/* MinGW's gcc checks "printf" against msvcrt; the tests get C99's. */
#define H_PRINTFLIKE(f, a)	__attribute__((format(gnu_printf, f, a)))
#else
#include <poll.h>
#define H_PRINTFLIKE(f, a)	__attribute__((format(printf, f, a)))
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

/* Default bound for a single wait (startup, a log line, a reply). */
#define H_WAIT_MS	10000
/* Check's per-test timeout in seconds (CK_TIMEOUT_MULTIPLIER applies). */
#define H_TCASE_TIMEOUT	30

/* --- suite plumbing -------------------------------------------------------- */

/* Call first in main(): checks HARBORD, makes the temporary directory,
 * ignores SIGPIPE in the test process (the daemon gets SIG_DFL back). */
void		 harness_init(void);
/* A TCase with the harness's timeout and cleanup fixture. */
TCase		*harness_tcase(const char *name);
/* Run the suite (CK_ENV output), clean up, return the exit status for main. */
int		 harness_run_suite(Suite *s);

/* Print "SKIP <test>: <reason>" on stderr and return from the test. */
#define HARNESS_SKIP(...) do {						\
	harness_skip_note(__func__, __VA_ARGS__);			\
	return;								\
} while (0)
void		 harness_skip_note(const char *test, const char *fmt, ...)
		     H_PRINTFLIKE(2, 3);

/* The daemon path (from HARBORD) and the per-run temporary directory. */
const char	*harness_harbord(void);
const char	*harness_tmpdir(void);
/* malloc'd printf. */
char		*harness_fmt(const char *fmt, ...)
		     H_PRINTFLIKE(1, 2);
/* Write text to a new file mkstemp'd in the temp directory (name starts with
 * prefix); returns the malloc'd path. */
char		*harness_write_temp(const char *prefix, const char *text);
/* Replace the file at path with text (write a sibling, rename over). */
void		 harness_write_file(const char *path, const char *text);
/* Read a whole file (NUL-terminated, malloc'd) or NULL. */
char		*harness_read_file(const char *path);
/* Polls the file until it holds s (NULL: until it exists), at most
 * timeout_ms: its text (malloc'd), or NULL. */
char		*harness_wait_file(const char *path, const char *s,
		     int timeout_ms);
/* Remember a pid that the cleanup fixture must kill if still alive. */
void		 harness_register_pid(pid_t pid);
/* Milliseconds on the monotonic clock; sleep for ms milliseconds. */
long long	 harness_now_ms(void);
void		 harness_sleep_ms(int ms);

/* --- /proc (Linux only; callers skip when harness_have_proc() is false) ---- */

bool		 harness_have_proc(void);
/* VmRSS in KiB, or -1. */
long		 harness_proc_rss_kb(pid_t pid);
/* utime + stime in seconds, or -1. */
double		 harness_proc_cpu_s(pid_t pid);
/* The process exists and is not a zombie. */
bool		 harness_pid_alive(pid_t pid);

/* --- running the daemon to completion (-n, -V, -h, bad flags, ...) --------- */

struct hrun {
	int	 code;		/* exit code, 128+signal, or -1 on timeout */
	char	*out;		/* everything on stdout (NUL-terminated) */
	char	*err;		/* everything on stderr (NUL-terminated) */
	bool	 closed;	/* both pipes reached EOF soon after exit */
};

/* Run $HARBORD with args (NULL-terminated, program name excluded), capture
 * stdout and stderr separately; kill -9 after timeout_ms (code -1). */
void		 harness_run(const char *const *args, int timeout_ms,
		     struct hrun *r);
/* The same as user (as root, not on Windows), as hd_opts.user has it;
 * the files it reads must be readable to it. */
void		 harness_run_as(const char *user, const char *const *args,
		     int timeout_ms, struct hrun *r);
/* The same with another program. */
void		 harness_run_program(const char *path, const char *const *args,
		     int timeout_ms, struct hrun *r);
/* $HARBORCTL, if it names a program; else NULL. */
const char	*harness_harborctl(void);
void		 harness_run_free(struct hrun *r);

/* --- a daemon in the foreground (-d) ---------------------------------------- */

struct hd_opts {
	const char	*args[16];	/* extra arguments, NULL-terminated */
	long		 nofile;	/* > 0: RLIMIT_NOFILE of the daemon */
	int		 expect_listen;	/* listening lines to wait for; 0 =
					 * count the listen addresses in the
					 * config text */
	bool		 no_config;	/* run without -f (built-in default) */
	bool		 as_written;	/* no "user root" added as root */
	const char	*user;		/* as root, not on Windows: start
					 * harbord as this user, which makes
					 * it one process; its config as
					 * written, readable to that user */
};

struct hdaemon;

/* Whether harbord runs as user here (not on Windows): the tests run as
 * root, the user exists, and it can reach the build tree and run
 * `harbord -V`. */
bool		 harness_user_runs_harbord(const char *user);

/* Write config to a temp file, start `$HARBORD -d -f FILE [args]`, wait
 * (bounded) for "harbord VERSION starting" and every "service NAME listening
 * on ADDR:PORT".  Fails the test (printing the daemon's output) otherwise.
 * opts may be NULL. */
struct hdaemon	*hd_start(const char *config, const struct hd_opts *opts);
pid_t		 hd_pid(struct hdaemon *d);
/* The process that serves: started as root, harbord's serving process
 * (waited for, bounded); otherwise harbord itself. */
pid_t		 hd_serving_pid(struct hdaemon *d);
const char	*hd_config_path(struct hdaemon *d);
/* The control socket the harness gave the daemon (a config that names
 * one, or as_written, gets none): NULL if none. */
const char	*hd_control_path(struct hdaemon *d);
/* harborctl -s that socket CMD [ARG] (arg may be NULL), into r. */
void		 hd_ctl(struct hdaemon *d, struct hrun *r, const char *cmd,
		     const char *arg);
/* The config as a test means it: run as root (as CI does), harbord only
 * serves when the config says so, so "user root" is appended then.
 * malloc'd. */
char		*harness_daemon_config(const char *config);
/* Replace the config file's contents (for SIGHUP). */
void		 hd_rewrite_config(struct hdaemon *d, const char *config);

/* Port of a service from its (latest) listening line; host selects the
 * address ("127.0.0.1", "[::1]") or NULL for the first one.  -1 if none. */
int		 hd_port_host(struct hdaemon *d, const char *service,
		     const char *host);
/* Port of the service's first address; fails the test if there is none. */
int		 hd_port(struct hdaemon *d, const char *service);

/* Log searches look at the output from the mark on (initially 0). */
size_t		 hd_mark(struct hdaemon *d);	/* mark := now; returns it */
void		 hd_set_mark(struct hdaemon *d, size_t mark);
/* True once the output after the mark contains s. */
bool		 hd_wait_log(struct hdaemon *d, const char *s, int timeout_ms);
/* Same, counting occurrences: true once there are at least n. */
bool		 hd_wait_count(struct hdaemon *d, const char *s, int n,
		     int timeout_ms);
int		 hd_count_log(struct hdaemon *d, const char *s);
/* The first whole line after the mark containing s (malloc'd), waiting for
 * it up to timeout_ms; NULL if none. */
char		*hd_find_line(struct hdaemon *d, const char *s, int timeout_ms);
/* All output so far (malloc'd copy). */
char		*hd_log(struct hdaemon *d);
/* Print the last bytes of the output to stderr, for a failing test. */
void		 hd_dump_log(struct hdaemon *d, const char *why);

/* Assert that a log line containing s appears (after the mark) in time;
 * dumps the log on failure. */
#define HD_EXPECT_LOG(d, s, ms)						\
	ck_assert_msg(hd_wait_log_or_dump((d), (s), (ms)),		\
	    "no log line containing \"%s\" within %d ms", (s), (int)(ms))
bool		 hd_wait_log_or_dump(struct hdaemon *d, const char *s,
		     int timeout_ms);

/* ck_assert_msg that also dumps the daemon's output when it fails; cond is
 * evaluated once. */
#define HD_ASSERT(d, cond, ...) do {					\
	bool hd_ok_ = (cond);						\
	if (!hd_ok_)							\
		hd_dump_log((d), #cond);				\
	ck_assert_msg(hd_ok_, __VA_ARGS__);				\
} while (0)

/* Sends sig to harbord; SIGSTOP and SIGCONT (as root) to its serving
 * process too.  After SIGSTOP it returns once every thread of the
 * serving process has stopped (on Linux; elsewhere after 100 ms), so
 * nothing is accepted after it.  0, or -1 with errno. */
int		 hd_signal(struct hdaemon *d, int sig);
/* Tells it to read its configuration again: SIGHUP (on Windows harborctl
 * reload, which waits for the result).  0, or -1 if it could not be
 * told. */
int		 hd_reload(struct hdaemon *d);
bool		 hd_running(struct hdaemon *d);
/* Wait for the daemon to exit: exit code, 128+signal, or -1 on timeout (the
 * daemon keeps running then). */
int		 hd_wait_exit(struct hdaemon *d, int timeout_ms);
/* SIGTERM and wait up to 15 s; on timeout kill -9 and return -1. */
int		 hd_stop(struct hdaemon *d);
/* Kill (if still running), reap, remove the config, free. */
void		 hd_free(struct hdaemon *d);

/* --- clients --------------------------------------------------------------- */

/* Connect to ip:port (numeric, "127.0.0.1" or "::1"); non-blocking fd with
 * FD_CLOEXEC, or -1 with errno set (ECONNREFUSED, ETIMEDOUT, ...). */
int		 hc_connect_ip(const char *ip, int port, int timeout_ms);
int		 hc_connect(int port);		/* 127.0.0.1, 5 s */
/* From the source address src (e.g. 127.0.0.2, a distinct client). */
int		 hc_connect_from(const char *src, const char *ip, int port,
		    int timeout_ms);
/* hc_connect, failing the test when it cannot connect. */
int		 hc_connect_ok(int port);
int		 hc_connect6(int port);		/* ::1, 5 s */
/* Local port of a connected socket. */
int		 hc_local_port(int fd);
bool		 hc_send_all(int fd, const void *buf, size_t len,
		     int timeout_ms);
bool		 hc_send_str(int fd, const char *s);
/* Read exactly n bytes; returns how many arrived (< n on EOF, error or
 * timeout). */
size_t		 hc_read_n(int fd, void *buf, size_t n, int timeout_ms);
/* Read until EOF (or cap bytes, or timeout); *eof tells whether the peer
 * closed (EOF or reset).  Returns the bytes read. */
size_t		 hc_read_eof(int fd, void *buf, size_t cap, int timeout_ms,
		     bool *eof);
/* Wait for EOF/reset, discarding data (counted in *ndata if not NULL).
 * True if the connection was closed in time. */
bool		 hc_wait_eof(int fd, int timeout_ms, size_t *ndata);
/* True if nothing (no data, no EOF) arrives during window_ms. */
bool		 hc_silent(int fd, int window_ms);
/* Send out (then shutdown(SHUT_WR) if shut_wr) while reading inlen bytes into
 * in, all at once (no deadlock on large payloads).  True if everything was
 * sent and inlen bytes arrived in time. */
bool		 hc_exchange(int fd, const void *out, size_t outlen, void *in,
		     size_t inlen, bool shut_wr, int timeout_ms);
/* Send msg, read strlen(msg) bytes back, compare. */
bool		 hc_echo_ok(int fd, const char *msg);
void		 hc_close(int fd);
/* recv(fd, buf, n, 0), send(fd, buf, n, 0) and poll(2) on client sockets,
 * with errors in errno (Winsock keeps its own). */
ssize_t		 hc_recv(int fd, void *buf, size_t n);
ssize_t		 hc_send(int fd, const void *buf, size_t n);
int		 hc_poll(struct pollfd *p, unsigned n, int timeout_ms);
/* Close with SO_LINGER 0 (the peer sees a reset). */
void		 hc_reset(int fd);

/* A listening socket bound to ip:port (port 0 = any), or -1.  *port_out gets
 * the bound port if not NULL. */
int		 harness_listen_ip(const char *ip, int port, int *port_out);
/* The same, bound but not listening: its port refuses connections and
 * nothing else can take it. */
int		 harness_bind_ip(const char *ip, int port, int *port_out);
/* The next connection on a listening socket, non-blocking, or -1 after
 * timeout_ms. */
int		 harness_accept(int lfd, int timeout_ms);
/* ::1 can be bound here. */
bool		 harness_have_ipv6(void);

/* "inline" and "pool": loop tests run each service both ways. */
extern const char *const harness_dispatch_name[2];

/* A daemon serving one service, named after its handler, on 127.0.0.1:0
 * with io-threads 2 and workers 2; mode indexes harness_dispatch_name;
 * extra holds more service options (lines), or NULL. */
struct hdaemon	*hd_start_service(const char *handler, int mode,
		    const char *extra);
/* SIGTERM with no client left: the daemon must exit 0; then hd_free. */
void		 hd_finish(struct hdaemon *d);
/* Deterministic pseudo-random bytes (every value 0..255 occurs). */
void		 harness_fill_bytes(unsigned char *buf, size_t n,
		    uint32_t seed);

#endif /* HARNESS_H */
