/* embed.c -- see embed.h. */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <event2/event.h>

#include "embed.h"

/* A Winsock socket is no file descriptor: read(2) and friends do not take
 * it.  (pthreads there are MinGW's winpthreads.) */
#ifdef _WIN32
#define sock_read(fd, buf, n)	recv((fd), (buf), (int)(n), 0)
#define sock_write(fd, buf, n)	send((fd), (buf), (int)(n), 0)
#define sock_close(fd)		closesocket(fd)
#define poll(p, n, ms)		WSAPoll((p), (n), (ms))
#define SHUT_WR			SD_SEND
#else
#define sock_read(fd, buf, n)	read((fd), (buf), (n))
#define sock_write(fd, buf, n)	write((fd), (buf), (n))
#define sock_close(fd)		close(fd)
#endif

struct harbor_server	*embed_srv;
harbor_listen_fn	*embed_listen_fn;
void			*embed_listen_arg;
static pthread_t	 runner;
unsigned		 embed_queue_size;

static void *
run_server(void *arg)
{
	(void)arg;
	(void)harbor_server_run(embed_srv);
	return NULL;
}

void
embed_start(struct harbor_service **svcs, size_t n, int io_threads)
{
	struct harbor_server_settings	 set;
	char				 err[256];
	size_t				 i;

	harbor_server_settings_default(&set);
	set.io_threads = io_threads;
	set.workers = 2;
	if (embed_queue_size > 0)
		set.queue_size = embed_queue_size;
	ck_assert_ptr_nonnull(embed_srv = harbor_server_new(&set));
	for (i = 0; i < n; i++)
		ck_assert_msg(harbor_server_add_service(embed_srv, svcs[i],
		    err, sizeof err) == 0, "%s", err);
	harbor_server_set_listen_fn(embed_srv, embed_listen_fn,
	    embed_listen_arg);
	ck_assert_msg(harbor_server_bind(embed_srv, err, sizeof err) == 0,
	    "%s", err);
	ck_assert_msg(harbor_server_start(embed_srv, err, sizeof err) == 0,
	    "%s", err);
	ck_assert_int_eq(pthread_create(&runner, NULL, run_server, NULL), 0);
}

void
embed_start1(struct harbor_service *svc, int io_threads)
{
	embed_start(&svc, 1, io_threads);
}

/* harbor_server_shutdown and replace_services belong on the main loop. */
struct on_loop {
	void		(*fn)(void *);
	void		 *arg;
	pthread_mutex_t	  lock;
	pthread_cond_t	  done_cond;
	int		  done;
};

static void
on_loop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct on_loop	*ol = arg;

	(void)fd;
	(void)what;
	ol->fn(ol->arg);
	pthread_mutex_lock(&ol->lock);
	ol->done = 1;
	pthread_cond_signal(&ol->done_cond);
	pthread_mutex_unlock(&ol->lock);
}

void
embed_on_loop(void (*fn)(void *), void *arg)
{
	struct on_loop	ol = { fn, arg, PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER, 0 };
	struct timeval	now = { 0, 0 };

	ck_assert_int_eq(event_base_once(harbor_server_base(embed_srv), -1,
	    EV_TIMEOUT, on_loop_cb, &ol, &now), 0);
	pthread_mutex_lock(&ol.lock);
	while (!ol.done)
		pthread_cond_wait(&ol.done_cond, &ol.lock);
	pthread_mutex_unlock(&ol.lock);
}

static void
do_shutdown(void *arg)
{
	(void)arg;
	harbor_server_shutdown(embed_srv, 2000);
}

void
embed_stop(void)
{
	embed_on_loop(do_shutdown, NULL);
	ck_assert_int_eq(pthread_join(runner, NULL), 0);
	harbor_server_free(embed_srv);
	embed_srv = NULL;
}

int
embed_port(const char *service)
{
	const char	*name, *addr;
	size_t		 i;

	for (i = 0; harbor_server_listener(embed_srv, i, &name, &addr) == 0;
	    i++)
		if (strcmp(name, service) == 0)
			return atoi(strrchr(addr, ':') + 1);
	ck_abort_msg("no listener for %s", service);
	return -1;
}

struct harbor_service *
embed_service(const char *name, const struct harbor_handler *handler,
    enum harbor_dispatch how, enum harbor_framing framing)
{
	struct harbor_service	*svc = harbor_service_new(name, handler);
	char			 err[256];

	ck_assert_ptr_nonnull(svc);
	ck_assert_int_eq(harbor_service_add_listen(svc, "127.0.0.1:0", err,
	    sizeof err), 0);
	ck_assert_int_eq(harbor_service_set_dispatch(svc, how), 0);
	harbor_service_set_framing(svc, framing);
	return svc;
}

int
embed_client(int port)
{
	struct sockaddr_in	sin;
	int			fd = (int)socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	return fd;
}

int
embed_send(int fd, const void *buf, size_t n)
{
	const char	*p = buf;
	size_t		 off = 0;
	long		 w;

	while (off < n) {
		w = (long)sock_write(fd, p + off, n - off);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

int
embed_send_str(int fd, const char *s)
{
	return embed_send(fd, s, strlen(s));
}

char *
embed_read_line(int fd, char *buf, size_t size)
{
	size_t		len = 0;
	struct pollfd	p = { fd, POLLIN, 0 };

	while (len + 1 < size) {
		ck_assert_msg(poll(&p, 1, 5000) == 1, "no answer in 5 s");
		if (sock_read(fd, buf + len, 1) != 1)
			break;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return buf;
}

size_t
embed_read_n(int fd, void *buf, size_t n, int timeout_ms)
{
	struct pollfd	 p = { fd, POLLIN, 0 };
	long long	 deadline = embed_now_ms() + timeout_ms;
	size_t		 got = 0;
	long		 r;
	int		 left;

	while (got < n && (left = (int)(deadline - embed_now_ms())) > 0) {
		if (poll(&p, 1, left) != 1)
			break;
		r = (long)sock_read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

int
embed_wait_eof(int fd, int timeout_ms)
{
	struct pollfd	 p = { fd, POLLIN, 0 };
	long long	 deadline = embed_now_ms() + timeout_ms;
	char		 buf[4096];
	int		 left;

	while ((left = (int)(deadline - embed_now_ms())) > 0) {
		if (poll(&p, 1, left) != 1)
			return 0;
		if (sock_read(fd, buf, sizeof buf) <= 0)
			return 1;
	}
	return 0;
}

int
embed_silent(int fd, int window_ms)
{
	struct pollfd	p = { fd, POLLIN, 0 };

	return poll(&p, 1, window_ms) == 0;
}

void
embed_shutdown_write(int fd)
{
	(void)shutdown(fd, SHUT_WR);
}

void
embed_close(int fd)
{
	sock_close(fd);
}

void
embed_addresses(int fd, char *peer, char *local, size_t size)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(peer, size, "127.0.0.1:%u", ntohs(sin.sin_port));
	len = sizeof sin;
	ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(local, size, "127.0.0.1:%u", ntohs(sin.sin_port));
}

long long
embed_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum harbor_dispatch
embed_dispatch_of(int i)
{
	return i % 2 ? HARBOR_DISPATCH_POOL : HARBOR_DISPATCH_INLINE;
}
