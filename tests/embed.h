/*
 * embed.h -- libharbor in a test program, through its public header only:
 * a server run on a thread of its own, and clients over loopback.  Every
 * wait is bounded; a failure fails the test (Check).
 */
#ifndef EMBED_H
#define EMBED_H

#include <stddef.h>

#include "harbor.h"

/* The server embed_start() runs. */
extern struct harbor_server *embed_srv;

/* A server of the given services (taken), io_threads I/O threads and two
 * workers, bound, started and run on a thread.  Its pool's queue holds
 * embed_queue_size jobs, if that is set. */
extern unsigned	embed_queue_size;
void	embed_start(struct harbor_service **svcs, size_t n, int io_threads);
/* If set, where embed_start()'s server gets its listening sockets. */
extern harbor_listen_fn	*embed_listen_fn;
extern void		*embed_listen_arg;
/* The same for one service. */
void	embed_start1(struct harbor_service *svc, int io_threads);
/* Shuts it down (grace 2 s), waits for its thread, frees it. */
void	embed_stop(void);
/* Runs fn(arg) on the server's main loop, and waits for it. */
void	embed_on_loop(void (*fn)(void *), void *arg);
/* The port of a service's first listener. */
int	embed_port(const char *service);
/* Inline for even i, pool for odd: a loop test's two runs. */
enum harbor_dispatch embed_dispatch_of(int i);
/* A service of handler on 127.0.0.1:0. */
struct harbor_service *embed_service(const char *name,
	    const struct harbor_handler *handler, enum harbor_dispatch how,
	    enum harbor_framing framing);

/* A client connected to 127.0.0.1:port (blocking socket). */
int	embed_client(int port);
int	embed_send(int fd, const void *buf, size_t n);
int	embed_send_str(int fd, const char *s);
/* Reads one line (bounded by 5 s); "" at end of file. */
char	*embed_read_line(int fd, char *buf, size_t size);
/* Reads n bytes (bounded by timeout_ms); returns how many came. */
size_t	embed_read_n(int fd, void *buf, size_t n, int timeout_ms);
/* True if the server closes fd within timeout_ms (what comes before is
 * discarded). */
int	embed_wait_eof(int fd, int timeout_ms);
/* True if nothing comes for window_ms. */
int	embed_silent(int fd, int window_ms);
void	embed_shutdown_write(int fd);
void	embed_close(int fd);
/* The client's own address and the server's, as libharbor writes them. */
void	embed_addresses(int fd, char *peer, char *local, size_t size);
/* Milliseconds on a monotonic clock. */
long long embed_now_ms(void);

#endif
