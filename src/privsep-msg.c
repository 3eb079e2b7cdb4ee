/*
 * The messages between harbord's privileged parent and its serving
 * process: an 8-byte header -- version, type, two zero bytes, the
 * payload's length (network order) -- then the payload; a descriptor, if
 * any, rides with the header's first byte (SCM_RIGHTS).  The socket is a
 * stream, so the payload is read by its exact length and a read never
 * runs into the next header and its descriptor.  Both ends trust nothing
 * they receive: the header is checked before anything is allocated, and a
 * descriptor that comes where none belongs is closed and refused.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#endif

#include "privsep.h"

/* How many descriptors each type carries: at least, at most. */
static const struct {
	int	min, max;
} fd_rule[PS_TYPE_MAX] = {
	[PS_LISTEN] = { 1, 1 },
	[PS_CONFIG] = { 0, 0 },
	[PS_LOG] = { 0, 1 },
	[PS_APPLIED] = { 0, 0 },
	[PS_SPAWN] = { 2, 2 },
	[PS_SPAWNED] = { 0, 0 },
	[PS_KILL] = { 0, 0 },
	[PS_KILLED] = { 0, 0 },
	[PS_CHILD_ENDED] = { 0, 0 },
	[PS_RELOADED] = { 0, 0 },
	[PS_UPGRADED] = { 0, 0 },
	[PS_REQUEST] = { 0, 0 },
};

int
privsep_send_result(int sock, enum privsep_type type, long count, int ok,
    const char *why)
{
	unsigned char	buf[520];
	size_t		off = 0, n = why != NULL ? strlen(why) : 0;

	if (count >= 0) {
		privsep_put32(buf, count);
		off = 4;
	}
	buf[off++] = ok ? 0 : 1;
	if (n > sizeof buf - off)
		n = sizeof buf - off;
	if (n > 0)
		memcpy(buf + off, why, n);
	return privsep_send(sock, type, buf, off + n, -1);
}

void
privsep_put32(unsigned char *p, long v)
{
	unsigned long	u = (unsigned long)v;

	p[0] = (unsigned char)(u >> 24);
	p[1] = (unsigned char)(u >> 16);
	p[2] = (unsigned char)(u >> 8);
	p[3] = (unsigned char)u;
}

long
privsep_get32(const unsigned char *p)
{
	unsigned long	u = (unsigned long)p[0] << 24 |
			    (unsigned long)p[1] << 16 |
			    (unsigned long)p[2] << 8 | p[3];

	return u >= 0x80000000UL ? -(long)(0xffffffffUL - u) - 1 : (long)u;
}

int
privsep_header_check(const unsigned char *hdr, int nfds,
    enum privsep_type *type, size_t *len, char *why, size_t whylen)
{
	size_t	n;

	if (hdr[0] != PRIVSEP_VERSION) {
		snprintf(why, whylen, "message of protocol version %u (this "
		    "is version %d)", hdr[0], PRIVSEP_VERSION);
		return -1;
	}
	if (hdr[1] == 0 || hdr[1] >= PS_TYPE_MAX || hdr[2] != 0 ||
	    hdr[3] != 0) {
		snprintf(why, whylen, "message of unknown type %u", hdr[1]);
		return -1;
	}
	n = (size_t)hdr[4] << 24 | (size_t)hdr[5] << 16 |
	    (size_t)hdr[6] << 8 | hdr[7];
	if (n > PRIVSEP_PAYLOAD_MAX) {
		snprintf(why, whylen, "message of %zu bytes (at most %d)", n,
		    PRIVSEP_PAYLOAD_MAX);
		return -1;
	}
	if (nfds < fd_rule[hdr[1]].min || nfds > fd_rule[hdr[1]].max) {
		snprintf(why, whylen, "message of type %u with %d "
		    "descriptors", hdr[1], nfds);
		return -1;
	}
	*type = (enum privsep_type)hdr[1];
	*len = n;
	return 0;
}

void
privsep_msg_clear(struct privsep_msg *msg)
{
	free(msg->payload);
	msg->payload = NULL;
	msg->len = 0;
#ifndef _WIN32
	if (msg->fd != -1)
		(void)close(msg->fd);
	if (msg->fd2 != -1)
		(void)close(msg->fd2);
#endif
	msg->fd = msg->fd2 = -1;
}

#ifndef _WIN32
int
privsep_send(int sock, enum privsep_type type, const void *payload,
    size_t len, int fd)
{
	return privsep_send2(sock, type, payload, len, fd, -1);
}

int
privsep_send2(int sock, enum privsep_type type, const void *payload,
    size_t len, int fd, int fd2)
{
	unsigned char	 hdr[PRIVSEP_HEADER_LEN];
	struct iovec	 iov[2];
	struct msghdr	 mh;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(2 * sizeof(int))];
	}		 cm;
	struct cmsghdr	*c;
	const unsigned char *p = payload;
	int		 fds[2] = { fd, fd2 }, nfds = fd2 != -1 ? 2 : 1;
	ssize_t		 w;
	size_t		 sent = 0, total = len + sizeof hdr;

	if (len > PRIVSEP_PAYLOAD_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	hdr[0] = PRIVSEP_VERSION;
	hdr[1] = (unsigned char)type;
	hdr[2] = hdr[3] = 0;
	hdr[4] = (unsigned char)(len >> 24);
	hdr[5] = (unsigned char)(len >> 16);
	hdr[6] = (unsigned char)(len >> 8);
	hdr[7] = (unsigned char)len;
	memset(&mh, 0, sizeof mh);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof hdr;
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = len;
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	if (fd != -1) {
		memset(&cm, 0, sizeof cm);
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	while (sent < total) {
		w = sendmsg(sock, &mh, 0);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		sent += (size_t)w;
		/* What is left goes without the descriptor, sent already. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		if (sent < sizeof hdr) {
			iov[0].iov_base = hdr + sent;
			iov[0].iov_len = sizeof hdr - sent;
		} else {
			iov[0].iov_base = (void *)(uintptr_t)(p + (sent -
			    sizeof hdr));
			iov[0].iov_len = total - sent;
			mh.msg_iovlen = 1;
		}
	}
	return 0;
}

long long
privsep_now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until sock is readable or the deadline passes. */
static int
wait_readable(int sock, long long deadline)
{
	struct pollfd	pfd = { sock, POLLIN, 0 };
	long long	left;
	int		r;

	for (;;) {
		if ((left = deadline - privsep_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/* Takes the descriptors a chunk carried: the first two kept in msg, any
 * other closed.  Returns how many came; a control buffer cut short
 * counts as too many. */
static int
take_fds(struct msghdr *mh, struct privsep_msg *msg)
{
	struct cmsghdr	*c;
	int		 n = 0, got;
	size_t		 k, i;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++, n++) {
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
			    sizeof got);
			(void)fcntl(got, F_SETFD, FD_CLOEXEC);
			if (msg->fd == -1)
				msg->fd = got;
			else if (msg->fd2 == -1)
				msg->fd2 = got;
			else
				(void)close(got);
		}
	}
	return (mh->msg_flags & MSG_CTRUNC) ? n + 3 : n;
}

int
privsep_recv(int sock, struct privsep_msg *msg, char *why, size_t whylen)
{
	unsigned char	 hdr[PRIVSEP_HEADER_LEN];
	struct iovec	 iov;
	struct msghdr	 mh;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(4 * sizeof(int))];	/* too many: seen */
	}		 cm;
	size_t		 got = 0;
	ssize_t		 r;
	long long	 deadline = 0;
	int		 nfds = 0;

	memset(msg, 0, sizeof *msg);
	msg->fd = msg->fd2 = -1;
	while (got < sizeof hdr) {
		memset(&mh, 0, sizeof mh);
		iov.iov_base = hdr + got;
		iov.iov_len = sizeof hdr - got;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof cm.buf;
		r = recvmsg(sock, &mh, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r > 0 && mh.msg_controllen > 0)
			nfds += take_fds(&mh, msg);
		if (r == 0 && got == 0)
			return 0;
		if (r == 0) {
			snprintf(why, whylen, "message cut short");
			goto fail;
		}
		if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(why, whylen, "%s", strerror(errno));
			goto fail;
		}
		if (r > 0)
			got += (size_t)r;
		if (got < sizeof hdr) {
			if (deadline == 0)
				deadline = privsep_now_ms() + PRIVSEP_READ_MS;
			if (wait_readable(sock, deadline) == -1) {
				snprintf(why, whylen, "message header: %s",
				    strerror(errno));
				goto fail;
			}
		}
	}
	if (privsep_header_check(hdr, nfds, &msg->type, &msg->len, why,
	    whylen) == -1)
		goto fail;
	if ((msg->payload = malloc(msg->len + 1)) == NULL) {
		snprintf(why, whylen, "out of memory for a message of %zu "
		    "bytes", msg->len);
		goto fail;
	}
	deadline = privsep_now_ms() + PRIVSEP_READ_MS;
	for (got = 0; got < msg->len; ) {
		r = read(sock, msg->payload + got, msg->len - got);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0) {
			snprintf(why, whylen, "message cut short");
			goto fail;
		}
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    wait_readable(sock, deadline) == -1) {
			snprintf(why, whylen, "message: %s", strerror(errno));
			goto fail;
		}
	}
	msg->payload[msg->len] = '\0';
	if (msg->len == 0) {
		free(msg->payload);
		msg->payload = NULL;
	}
	return 1;
fail:
	privsep_msg_clear(msg);
	return -1;
}
#else
int
privsep_send(int sock, enum privsep_type type, const void *payload,
    size_t len, int fd)
{
	(void)sock; (void)type; (void)payload; (void)len; (void)fd;
	errno = ENOSYS;
	return -1;
}

int
privsep_send2(int sock, enum privsep_type type, const void *payload,
    size_t len, int fd, int fd2)
{
	(void)fd2;
	return privsep_send(sock, type, payload, len, fd);
}

int
privsep_recv(int sock, struct privsep_msg *msg, char *why, size_t whylen)
{
	(void)sock;
	memset(msg, 0, sizeof *msg);
	msg->fd = msg->fd2 = -1;
	snprintf(why, whylen, "privilege separation is not available here");
	return -1;
}
#endif
