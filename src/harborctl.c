/*
 * harborctl: asks a running harbord, through its control socket, what it
 * serves (status, connections) or to do something (drop, drain, resume,
 * reload, log-reopen, stop).  One request a run; the exit status says how
 * it went.  See harborctl(8).
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#else
#include <poll.h>
#include <time.h>
#endif

#include "compat.h"
#include "control.h"

/* sysexits.h's */
#define EXIT_REFUSED	1	/* harbord answered with an error */
#define EXIT_USAGE	64
#define EXIT_UNAVAILABLE 69
#define EXIT_TEMPFAIL	75	/* no answer in time */
#define EXIT_PROTOCOL	76

#define TIMEOUT_DEFAULT	60
/* An answer larger than this is not harbord's. */
#define ANSWER_MAX	(64 * 1024 * 1024)

static void
usage(FILE *f)
{
	size_t	i;
	char	cmd[64];

	fprintf(f, "usage: harborctl [-j] [-s socket] [-t seconds] command "
	    "[argument]\n\ncommands:\n");
	for (i = 0; i < CTL_COMMANDS; i++) {
		if (ctl_commands[i].arg == NULL)
			snprintf(cmd, sizeof cmd, "%s", ctl_commands[i].name);
		else
			snprintf(cmd, sizeof cmd, ctl_commands[i].arg_needed ?
			    "%s %s" : "%s [%s]", ctl_commands[i].name,
			    ctl_commands[i].arg);
		fprintf(f, "  %-22s %s\n", cmd, ctl_commands[i].help);
	}
	fprintf(f, "\n  -j          print JSON\n"
	    "  -s socket   the control socket (default %s)\n"
	    "  -t seconds  how long to wait for the answer (default %d)\n",
	    ctl_socket_default(), TIMEOUT_DEFAULT);
}

/* The socket's calls, and their errors as errno's (Winsock's are its
 * own). */
#ifdef _WIN32
#define sock_read(fd, p, n)	recv((SOCKET)(fd), (p), (int)(n), 0)
#define sock_write(fd, p, n)	send((SOCKET)(fd), (p), (int)(n), 0)
#define sock_poll(pfd, ms)	WSAPoll((pfd), 1, (ms))

static int
sock_errno(void)
{
	switch (WSAGetLastError()) {
	case WSAEINTR:
		return EINTR;
	case WSAECONNRESET:
	case WSAECONNABORTED:
		return ECONNRESET;
	case WSAESHUTDOWN:
		return EPIPE;
	default:
		return EIO;
	}
}

static long long
now_ms(void)
{
	return (long long)GetTickCount64();
}
#else
#define sock_read(fd, p, n)	read((fd), (p), (n))
#define sock_write(fd, p, n)	write((fd), (p), (n))
#define sock_poll(pfd, ms)	poll((pfd), 1, (ms))
#define sock_errno()		errno

static long long
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#endif

/* The whole answer, until harbord closes: 0, or an exit status. */
static int
read_answer(int fd, int timeout_s, char **out, size_t *outlen)
{
	struct pollfd	 pfd;
	long long	 deadline = now_ms() + (long long)timeout_s * 1000;
	char		*buf = NULL, *grown;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 left, e;

	memset(&pfd, 0, sizeof pfd);
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > ANSWER_MAX + 4096 ||
			    (grown = realloc(buf, cap + 1)) == NULL) {
				fprintf(stderr, "harborctl: the answer is too "
				    "long\n");
				free(buf);
				return EXIT_PROTOCOL;
			}
			buf = grown;
		}
		left = (int)(deadline - now_ms());
		if (left <= 0 || sock_poll(&pfd, left) == 0) {
			fprintf(stderr, "harborctl: no answer in %d s\n",
			    timeout_s);
			free(buf);
			return EXIT_TEMPFAIL;
		}
		n = sock_read(fd, buf + len, cap - len);
		e = n == -1 ? sock_errno() : 0;
		if (e == EINTR)
			continue;
		/* harbord closed at once (too many clients) before it read
		 * the request: what it said came first. */
		if (e == ECONNRESET && len > 0)
			break;
		if (n == -1) {
			fprintf(stderr, "harborctl: reading the answer: %s\n",
			    strerror(e));
			free(buf);
			return EXIT_PROTOCOL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = sock_write(fd, p, len)) == -1) {
			if ((errno = sock_errno()) == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char		*path = ctl_socket_default();
	struct ctl_request	 req;
	char			 line[CTL_LINE_MAX + 8], why[600];
	int			 json = 0, timeout_s = TIMEOUT_DEFAULT, ch, fd;
	long			 t;
	char			*end;

	while ((ch = getopt(argc, argv, "hjs:t:")) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 's':
			path = optarg;
			break;
		case 't':
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || t < 1 || t > 86400) {
				fprintf(stderr, "harborctl: -t takes seconds, "
				    "1 to 86400\n");
				return EXIT_USAGE;
			}
			timeout_s = (int)t;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* Checked here as harbord checks it: a mistake costs no connection. */
	snprintf(line, sizeof line, "%s%s%s%s", json ? "json " : "", argv[0],
	    argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	if (strlen(line) >= CTL_LINE_MAX ||
	    ctl_request_parse(line, strlen(line), &req, why,
	    sizeof why) == -1) {
		fprintf(stderr, "harborctl: %s\n", strlen(line) >= CTL_LINE_MAX ?
		    "the request is too long" : why);
		if (strlen(line) < CTL_LINE_MAX && strncmp(why, "unknown", 7) == 0)
			usage(stderr);
		return EXIT_USAGE;
	}
	if ((fd = ctl_socket_connect(path, why, sizeof why)) == -1) {
		fprintf(stderr, "harborctl: %s\n", why);
		return EXIT_UNAVAILABLE;
	}
	{
		char	*answer, *body;
		size_t	 len;
		int	 r, ok, wrote = 0;

#ifdef SIGPIPE
		(void)signal(SIGPIPE, SIG_IGN);
#endif
		strlcat(line, "\n", sizeof line);
		/* harbord may have answered and closed before reading (too
		 * many clients): its answer comes first. */
		if (write_all(fd, line, strlen(line)) == -1 &&
		    ((wrote = errno) != EPIPE && wrote != ECONNRESET)) {
			fprintf(stderr, "harborctl: %s: %s\n", path,
			    strerror(wrote));
			ctl_socket_close(fd);
			return EXIT_UNAVAILABLE;
		}
		r = read_answer(fd, timeout_s, &answer, &len);
		ctl_socket_close(fd);
		if (r != 0)
			return r;
		if (strncmp(answer, "ok\n", 3) == 0)
			ok = 1;
		else if (strncmp(answer, "error\n", 6) == 0)
			ok = 0;
		else {
			fprintf(stderr, "harborctl: %s: not a harbord control "
			    "socket's answer\n", path);
			free(answer);
			return EXIT_PROTOCOL;
		}
		body = answer + (ok ? 3 : 6);
		len -= (size_t)(body - answer);
		if (ok || json)
			(void)fwrite(body, 1, len, stdout);
		else
			fprintf(stderr, "harborctl: %s", body);
		free(answer);
		if (fflush(stdout) == EOF) {
			fprintf(stderr, "harborctl: writing: %s\n",
			    strerror(errno));
			return EXIT_REFUSED;
		}
		return ok ? 0 : EXIT_REFUSED;
	}
}
