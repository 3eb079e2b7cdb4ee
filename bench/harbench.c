/*
 * harbench: a load generator for TCP servers on loopback, to compare
 * harbord with its peers (bench/run).  POSIX sockets and poll(2), one
 * thread, many connections at once.
 *
 *   harbench sessions HOST PORT [-c conns] [-d seconds] [-m message]
 *	Each of conns clients repeats a session: connect, send message,
 *	shut down its sending side, read until the server closes, and check
 *	the reply is the message (an echo: cat, or a relay to echo).
 *	Prints completed sessions per second, failures and latency
 *	percentiles.
 *
 *   harbench stream HOST PORT [-b megabytes]
 *	One connection sends that much while reading the echo back, and
 *	checks every byte.  Prints MiB per second.
 *
 *   harbench pingpong HOST PORT [-c conns] [-d seconds] [-s size] [-P]
 *	Each of conns connections, open for the whole run, sends size bytes
 *	(64 unless told; a line), waits until they have all come back, and
 *	sends again.  With -P it sends redis's inline "PING" and waits for
 *	"+PONG".  Prints round trips per second over all of them.
 *
 *   harbench idle HOST PORT [-c conns] [-d seconds]
 *	Opens conns connections (up to 30000) that send nothing, prints
 *	open=N once they are all open, holds them for the seconds given,
 *	and closes them: for the server's memory per idle connection.
 *
 * Output is one line of name=value pairs, for scripts.
 */
#define _POSIX_C_SOURCE 200809L

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0	/* SIGPIPE is ignored anyway */
#endif

#define MAX_CONNS	1024
#define MAX_IDLE	30000
#define MAX_SAMPLES	(4 * 1024 * 1024)

enum slot_state {
	IDLE,
	CONNECTING,
	SENDING,
	READING
};

struct slot {
	int		 fd;
	enum slot_state	 state;
	size_t		 sent, got;
	double		 started;
};

static struct sockaddr_in	 target;
static const char		*message = "harbench says hello\n";
static size_t			 message_len;

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: harbench sessions HOST PORT [-c conns] "
	    "[-d seconds] [-m message]\n"
	    "       harbench stream HOST PORT [-b megabytes]\n"
	    "       harbench pingpong HOST PORT [-c conns] [-d seconds] "
	    "[-s size] [-P]\n"
	    "       harbench idle HOST PORT [-c conns] [-d seconds]\n");
	exit(64);
}

static int
nonblocking_socket(void)
{
	int	fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd == -1) {
		perror("socket");
		exit(71);
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

static void
slot_start(struct slot *s)
{
	s->fd = nonblocking_socket();
	s->sent = s->got = 0;
	s->started = now();
	if (connect(s->fd, (struct sockaddr *)&target, sizeof target) == 0)
		s->state = SENDING;
	else if (errno == EINPROGRESS)
		s->state = CONNECTING;
	else
		s->state = IDLE;	/* counted as a failure by the caller */
}

static int
compare_doubles(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
run_sessions(int conns, double seconds)
{
	static struct slot	 slots[MAX_CONNS];
	static struct pollfd	 pfd[MAX_CONNS];
	double			*lat = malloc(MAX_SAMPLES * sizeof *lat);
	char			*reply = malloc(message_len + 1);
	size_t			 nlat = 0, done = 0, failed = 0;
	double			 t0 = now(), end = t0 + seconds, t;
	int			 i, err;
	socklen_t		 len;
	ssize_t			 n;

	if (lat == NULL || reply == NULL)
		return 71;
	for (i = 0; i < conns; i++)
		slot_start(&slots[i]);
	while ((t = now()) < end) {
		for (i = 0; i < conns; i++) {
			pfd[i].fd = slots[i].fd;
			pfd[i].events = slots[i].state == READING ? POLLIN :
			    POLLOUT;
			pfd[i].revents = 0;
			if (slots[i].state == IDLE)
				pfd[i].fd = -1;
		}
		if (poll(pfd, (nfds_t)conns, 100) < 0 && errno != EINTR)
			break;
		for (i = 0; i < conns; i++) {
			struct slot *s = &slots[i];

			if (s->state == IDLE)
				goto fail;
			if (pfd[i].revents == 0)
				continue;
			if (s->state == CONNECTING) {
				len = sizeof err;
				if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err,
				    &len) == -1 || err != 0)
					goto fail;
				s->state = SENDING;
			}
			if (s->state == SENDING) {
				n = send(s->fd, message + s->sent,
				    message_len - s->sent, MSG_NOSIGNAL);
				if (n < 0 && errno != EAGAIN)
					goto fail;
				if (n > 0)
					s->sent += (size_t)n;
				if (s->sent == message_len) {
					(void)shutdown(s->fd, SHUT_WR);
					s->state = READING;
				}
				continue;
			}
			/* READING */
			n = recv(s->fd, reply + s->got, message_len + 1 -
			    s->got, 0);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n > 0) {
				s->got += (size_t)n;
				if (s->got <= message_len)
					continue;
				goto fail;	/* more than was sent */
			}
			if (n < 0 || s->got != message_len ||
			    memcmp(reply, message, message_len) != 0)
				goto fail;
			if (nlat < MAX_SAMPLES)
				lat[nlat++] = now() - s->started;
			done++;
			close(s->fd);
			slot_start(s);
			continue;
fail:
			failed++;
			if (s->fd != -1)
				close(s->fd);
			slot_start(s);
		}
	}
	t = now() - t0;
	for (i = 0; i < conns; i++)
		if (slots[i].fd != -1)
			close(slots[i].fd);
	qsort(lat, nlat, sizeof *lat, compare_doubles);
	printf("sessions=%zu failed=%zu rate=%.0f p50_ms=%.2f p99_ms=%.2f\n",
	    done, failed, (double)done / t,
	    nlat ? lat[nlat / 2] * 1e3 : 0.0,
	    nlat ? lat[nlat * 99 / 100] * 1e3 : 0.0);
	free(lat);
	free(reply);
	return 0;
}

static int
run_stream(size_t megabytes)
{
	size_t		 total = megabytes * 1024 * 1024, sent = 0, got = 0;
	static unsigned char out[65536], in[65536];
	struct pollfd	 p;
	double		 t0;
	int		 fd, one = 1, shut = 0;
	ssize_t		 n;
	size_t		 i;

	for (i = 0; i < sizeof out; i++)
		out[i] = (unsigned char)(i * 7 + (i >> 8));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&target,
	    sizeof target) == -1) {
		perror("connect");
		return 69;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	t0 = now();
	while (got < total) {
		p.fd = fd;
		p.events = POLLIN | (sent < total ? POLLOUT : 0);
		if (poll(&p, 1, 10000) <= 0) {
			fprintf(stderr, "harbench: stalled after %zu bytes\n",
			    got);
			return 1;
		}
		if (sent < total && (p.revents & POLLOUT)) {
			size_t off = sent % sizeof out;
			size_t want = sizeof out - off;

			if (want > total - sent)
				want = total - sent;
			n = send(fd, out + off, want, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN) {
				perror("send");
				return 1;
			}
		}
		if (sent == total && !shut) {
			(void)shutdown(fd, SHUT_WR);
			shut = 1;
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			n = recv(fd, in, sizeof in, 0);
			if (n <= 0) {
				fprintf(stderr, "harbench: closed after %zu "
				    "bytes\n", got);
				return 1;
			}
			for (i = 0; i < (size_t)n; i++)
				if (in[i] != out[(got + i) % sizeof out]) {
					fprintf(stderr, "harbench: byte %zu "
					    "differs\n", got + i);
					return 1;
				}
			got += (size_t)n;
		}
	}
	printf("bytes=%zu mib_per_s=%.1f\n", total,
	    (double)total / (1024 * 1024) / (now() - t0));
	close(fd);
	return 0;
}

static int
run_pingpong(int conns, double seconds, size_t size, int redis)
{
	static struct pollfd	 pfd[MAX_CONNS];
	static size_t		 got[MAX_CONNS];
	static const char	 ping[] = "PING\r\n", pong[] = "+PONG\r\n";
	size_t			 reply = redis ? sizeof pong - 1 : size;
	char			*out, *in;
	unsigned long long	 trips = 0;
	double			 t0, end;
	int			 i, one = 1;
	ssize_t			 n;

	if (redis)
		size = sizeof ping - 1;
	out = malloc(size);
	in = malloc(reply);
	if (out == NULL || in == NULL)
		return 71;
	memset(out, 'p', size);
	/* A line, for a service with framing line too. */
	out[size - 1] = '\n';
	if (redis)
		memcpy(out, ping, size);
	for (i = 0; i < conns; i++) {
		pfd[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (pfd[i].fd == -1 || connect(pfd[i].fd,
		    (struct sockaddr *)&target, sizeof target) == -1) {
			perror("connect");
			return 69;
		}
		(void)setsockopt(pfd[i].fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);
		pfd[i].events = POLLIN;
	}
	t0 = now();
	end = t0 + seconds;
	/* The first message of each: small enough for any socket buffer. */
	for (i = 0; i < conns; i++)
		if (send(pfd[i].fd, out, size, MSG_NOSIGNAL) != (ssize_t)size) {
			perror("send");
			return 1;
		}
	while (now() < end) {
		if (poll(pfd, (nfds_t)conns, 1000) <= 0) {
			fprintf(stderr, "harbench: no reply in 1 s\n");
			return 1;
		}
		for (i = 0; i < conns; i++) {
			if (pfd[i].revents == 0)
				continue;
			n = recv(pfd[i].fd, in + got[i], reply - got[i], 0);
			if (n <= 0) {
				fprintf(stderr, "harbench: connection %d "
				    "closed\n", i);
				return 1;
			}
			got[i] += (size_t)n;
			if (got[i] < reply)
				continue;
			got[i] = 0;
			if (redis && memcmp(in, pong, reply) != 0) {
				fprintf(stderr, "harbench: not +PONG\n");
				return 1;
			}
			trips++;
			if (send(pfd[i].fd, out, size, MSG_NOSIGNAL) !=
			    (ssize_t)size) {
				perror("send");
				return 1;
			}
		}
	}
	printf("round_trips=%llu rate=%.0f\n", trips,
	    (double)trips / (now() - t0));
	for (i = 0; i < conns; i++)
		close(pfd[i].fd);
	free(out);
	free(in);
	return 0;
}

static int
run_idle(int conns, double seconds)
{
	static int	fd[MAX_IDLE];
	struct timespec	ts;
	int		i;

	for (i = 0; i < conns; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fd[i] == -1 || connect(fd[i], (struct sockaddr *)&target,
		    sizeof target) == -1) {
			fprintf(stderr, "harbench: connection %d: %s\n", i,
			    strerror(errno));
			return 69;
		}
	}
	printf("open=%d\n", conns);
	(void)fflush(stdout);
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	(void)nanosleep(&ts, NULL);
	for (i = 0; i < conns; i++)
		close(fd[i]);
	return 0;
}

int
main(int argc, char **argv)
{
	const char	*mode;
	int		 conns = 16, opt;
	double		 seconds = 3;
	size_t		 megabytes = 256, size = 64;
	int		 redis = 0;

	if (argc < 4)
		usage();
	mode = argv[1];
	memset(&target, 0, sizeof target);
	target.sin_family = AF_INET;
	target.sin_port = htons((unsigned short)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1)
		usage();
	optind = 4;
	while ((opt = getopt(argc, argv, "b:c:d:m:Ps:")) != -1) {
		switch (opt) {
		case 'b':
			megabytes = (size_t)atol(optarg);
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'd':
			seconds = atof(optarg);
			break;
		case 'm':
			message = optarg;
			break;
		case 's':
			size = (size_t)atol(optarg);
			break;
		case 'P':
			redis = 1;
			break;
		default:
			usage();
		}
	}
	message_len = strlen(message);
	if (strcmp(mode, "idle") == 0) {
		if (conns < 1 || conns > MAX_IDLE || seconds <= 0)
			usage();
		return run_idle(conns, seconds);
	}
	if (conns < 1 || conns > MAX_CONNS || seconds <= 0 ||
	    message_len == 0 || megabytes == 0 || size == 0 ||
	    size > 65536)
		usage();
	(void)signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "sessions") == 0)
		return run_sessions(conns, seconds);
	if (strcmp(mode, "stream") == 0)
		return run_stream(megabytes);
	if (strcmp(mode, "pingpong") == 0)
		return run_pingpong(conns, seconds, size, redis);
	usage();
	return 64;
}
