/*
 * Privilege separation: harbord started as root is two processes.  The
 * parent (parent.c) keeps root and does only what needs it: it reads the
 * configuration, binds the listening sockets, opens the log file, holds
 * the pid file, and starts the serving process, which drops to the
 * configured user (and chroot) and never needs root again (serving.c).
 * They speak over a Unix socket pair with the messages below
 * (privsep-msg.c).  See doc/privsep.txt.
 */
#ifndef HARBORD_PRIVSEP_H
#define HARBORD_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>

#define PRIVSEP_VERSION		1
/* A configuration snapshot and its framing fit; anything longer is an
 * error, not an allocation. */
#define PRIVSEP_PAYLOAD_MAX	(17 * 1024 * 1024)
#define PRIVSEP_HEADER_LEN	8
/* How long the rest of a message may take once its first byte came. */
#define PRIVSEP_READ_MS		5000

enum privsep_type {
	/* parent to serving process */
	PS_LISTEN = 1,		/* "address": a bound listening socket */
	PS_CONFIG,		/* a configuration snapshot: apply it */
	PS_LOG,			/* kind, argument (and a file's descriptor) */
	/* serving process to parent */
	PS_APPLIED,		/* status byte (0: applied), then why */
	/* on the spawn channel: a program to run as its own user */
	PS_SPAWN,		/* a spawn request (privsep-spawn.c); its
				   standard input/output and error */
	PS_SPAWNED,		/* pid (int32, -1: not), then why */
	PS_KILL,		/* pid, signal (int32 each) */
	PS_KILLED,		/* kill's result, errno (int32 each) */
	/* parent to serving process, on the main channel */
	PS_CHILD_ENDED,		/* pid, wait status (int32 each) */
	PS_RELOADED,		/* how many reloads asked by PS_REQUEST
				   this answers (int32), status byte (0:
				   reloaded), then why */
	PS_UPGRADED,		/* status byte (0: the new harbord serves,
				   this one stops), then why */
	/* serving process to parent */
	PS_REQUEST,		/* enum privsep_request (one byte): what the
				   control socket asked of the parent */
	PS_TYPE_MAX
};

enum privsep_request {
	PS_REQ_RELOAD = 1,	/* answered by a PS_RELOADED */
	PS_REQ_REOPEN,		/* the log */
	PS_REQ_STOP,
	PS_REQ_UPGRADE		/* answered by a PS_UPGRADED */
};

/* One message: its type, its payload (malloc'd, NUL-terminated past len,
 * NULL when empty) and the descriptor that came with it, or -1. */
struct privsep_msg {
	enum privsep_type	 type;
	unsigned char		*payload;
	size_t			 len;
	int			 fd;
	int			 fd2;		/* PS_SPAWN's second */
};

/* Sends a whole message (blocking), with fd (-1: none).  0, or -1 with
 * errno. */
int	privsep_send(int sock, enum privsep_type type, const void *payload,
	    size_t len, int fd);
/* The same with two descriptors (PS_SPAWN). */
int	privsep_send2(int sock, enum privsep_type type, const void *payload,
	    size_t len, int fd, int fd2);
/* A result: a 32-bit count first if count >= 0 (RELOADED), a status
 * byte (0: it worked), then why, cut to a few hundred bytes (APPLIED,
 * RELOADED, UPGRADED).  As privsep_send. */
int	privsep_send_result(int sock, enum privsep_type type, long count,
	    int ok, const char *why);
/* Milliseconds on the monotonic clock. */
long long privsep_now_ms(void);
/* 32-bit numbers in payloads, network order. */
void	privsep_put32(unsigned char *p, long v);
long	privsep_get32(const unsigned char *p);
/* Receives one whole message, waiting at most PRIVSEP_READ_MS for its
 * rest once it has begun.  1: a message; 0: the peer closed; -1: an
 * error, or a message that breaks the protocol (a bad version or type, a
 * payload over the bound, a descriptor where none belongs, more than
 * one), with why.  Nothing is leaked either way. */
int	privsep_recv(int sock, struct privsep_msg *msg, char *why,
	    size_t whylen);
void	privsep_msg_clear(struct privsep_msg *msg);
/* Checks a received header and its descriptor count, for privsep_recv
 * and the fuzzer.  0, or -1 with why. */
int	privsep_header_check(const unsigned char *hdr, int nfds,
	    enum privsep_type *type, size_t *len, char *why, size_t whylen);

/* parent.c: runs the privileged parent until harbord stops; returns the
 * exit status. */
struct harbord;
int	parent_run(struct harbord *hd);
/* serving.c: the serving process; returns its exit status.  spawn_sock:
 * the channel its spawner asks the parent on (-1: none). */
int	serving_run(struct harbord *hd, int sock, int spawn_sock);

#endif
