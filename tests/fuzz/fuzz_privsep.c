/*
 * libFuzzer target: what harbord's serving process and privileged process
 * read from each other (privsep-msg.c), and the configuration snapshot a
 * CONFIG message carries (conf-snapshot.c), on bytes from anywhere.  The
 * bytes go through a real socket pair, with as many descriptors as the
 * first input byte says (none, one or two) riding on the first.  Whatever comes: no crash,
 * no read past what was sent, and no descriptor left open.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "privsep.h"
#include "privsep-spawn.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The lowest descriptor free now. */
static int
lowest_free(void)
{
	int	fd = dup(0);

	if (fd != -1)
		(void)close(fd);
	return fd;
}

static void
send_with_fds(int sock, const uint8_t *data, size_t size, const int *fds,
    int nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(2 * sizeof(int))];
	}		 cm;
	struct cmsghdr	*c;
	ssize_t		 w;

	memset(&mh, 0, sizeof mh);
	memset(&cm, 0, sizeof cm);
	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = size;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	while (size > 0) {
		w = sendmsg(sock, &mh, MSG_DONTWAIT);
		if (w <= 0)
			return;		/* full: the rest is not sent */
		size -= (size_t)w;
		iov.iov_base = (char *)iov.iov_base + w;
		iov.iov_len = size;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
}

static void
take(struct privsep_msg *msg)
{
	struct conf_snapshot	*snap;
	struct conf_errors	 errs = { .n = 0 };
	struct config		*conf;
	struct spawn_request	 rq;

	if (msg->type == PS_SPAWN &&
	    spawn_request_decode(msg->payload, msg->len, &rq) == 0) {
		if (rq.argv[0] == NULL)
			abort();
		spawn_request_free(&rq);
	}
	if (msg->type != PS_CONFIG)
		return;
	if ((snap = conf_snapshot_decode(msg->payload, msg->len)) == NULL)
		return;
	if ((conf = config_load_snapshot(snap, &errs)) != NULL)
		config_free(conf);
	conf_errors_clear(&errs);
	conf_snapshot_free(snap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct privsep_msg	msg;
	char			why[256];
	int			sv[2], fds[2], nfds, i, before, n = 0;

	if (size < 1)
		return 0;
	before = lowest_free();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return 0;
	/* The first byte: how many descriptors ride on the first one. */
	nfds = data[0] % 3;
	for (i = 0; i < nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY);
	send_with_fds(sv[0], data + 1, size - 1, fds, nfds);
	for (i = 0; i < nfds; i++)
		(void)close(fds[i]);
	(void)shutdown(sv[0], SHUT_WR);
	while (n++ < 64 && privsep_recv(sv[1], &msg, why, sizeof why) == 1) {
		if (msg.len > PRIVSEP_PAYLOAD_MAX)
			abort();
		take(&msg);
		privsep_msg_clear(&msg);
	}
	(void)close(sv[0]);
	(void)close(sv[1]);
	if (lowest_free() != before)
		abort();	/* a descriptor that came was kept */
	return 0;
}
