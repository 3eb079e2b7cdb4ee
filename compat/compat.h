/*
 * Replacements for what some platforms lack (built only where configure
 * found them missing: AC_REPLACE_FUNCS), and the portable versions of
 * what is not POSIX.
 */
#ifndef HARBOR_COMPAT_H
#define HARBOR_COMPAT_H

#include <stddef.h>
#include <stdint.h>

/* Declared here where libc has none, or hides it in strict POSIX mode. */
#if !HAVE_DECL_STRLCPY
size_t	strlcpy(char *dst, const char *src, size_t size);
#endif
#if !HAVE_DECL_STRLCAT
size_t	strlcat(char *dst, const char *src, size_t size);
#endif

#ifndef _WIN32
#include <sys/types.h>
#if defined(HAVE_DECL_SETGROUPS) && !HAVE_DECL_SETGROUPS
int	setgroups(size_t n, const gid_t *groups);
#endif
#if defined(HAVE_DECL_CHROOT) && !HAVE_DECL_CHROOT
int	chroot(const char *dir);
#endif
#if defined(HAVE_CLOSEFROM) && defined(HAVE_DECL_CLOSEFROM) && \
    !HAVE_DECL_CLOSEFROM
void	closefrom(int lowfd);
#endif
#endif

/* The most connections the system queues on a listening socket (Linux's
 * net.core.somaxconn, the BSDs' kern.ipc.somaxconn), or -1 where it cannot
 * tell. */
int	compat_somaxconn(void);
/* SO_NOSIGPIPE on the socket, where there is one. */
void	compat_socket_nosigpipe(int fd);
/* A listening socket (its descriptor, or Winsock SOCKET) made to refuse
 * connections, those queued reset, while it keeps its address: 0; or -1
 * where a system cannot (the BSDs, macOS, Windows), and then the kernel
 * goes on queueing connections that no one accepts until it listens
 * again.  Before it listens again, compat_listen_rebind gives it back the
 * address it had (sa): 0, or -1 with errno (the socket error on
 * Windows). */
struct sockaddr;
int	compat_listen_stop(intptr_t fd);
int	compat_listen_rebind(intptr_t fd, const struct sockaddr *sa,
	    size_t salen);
/* The option that lets several sockets, of one process or of several,
 * listen on the same address and port ("SO_REUSEPORT", or FreeBSD's
 * "SO_REUSEPORT_LB"), or NULL where the system has none (Windows).
 * compat_socket_reuseport() sets it on a socket (a descriptor, or a
 * Winsock SOCKET) not yet bound: 0, or -1 with the socket error (and
 * always -1 where there is none).  compat_socket_reuseport_on() tells
 * whether a socket has it: 1 or 0, or -1 if it cannot tell. */
const char	*compat_reuseport_name(void);
int	compat_socket_reuseport(intptr_t fd);
int	compat_socket_reuseport_on(intptr_t fd);

#ifdef _WIN32
/* compat/windows.c.  The system's words for a Windows or Winsock error
 * (GetLastError(), WSAGetLastError()), without their line end, in buf. */
const char	*compat_win_strerror(unsigned long e, char *buf, size_t len);
/* The path of the file name in the program's own directory, in buf (name
 * alone if that path cannot be had, or is too long). */
const char	*compat_beside_program(const char *name, char *buf, size_t len);
#endif

/* A shared object, and a symbol of it (module.c).  NULL on failure, with
 * why in err for the open. */
void	*compat_module_open(const char *path, char *err, size_t errlen);
void	*compat_module_symbol(void *handle, const char *name);

/* The addresses of host and port for TCP, from the system's resolver
 * (getaddrinfo(3), any family): 0, or -1 with why in the system's words
 * (gai_strerror(3); the error of EAI_SYSTEM).  It may block as long as the
 * resolver does: never on an event loop.  Free with
 * compat_resolve_free(). */
struct addrinfo;
int	compat_resolve_tcp(const char *host, const char *port,
    struct addrinfo **res, char *why, size_t whylen);
void	compat_resolve_free(struct addrinfo *res);

/* Detaches from the terminal: fork, setsid, chdir /, stdio to /dev/null.
 * daemon(3) is not POSIX, so harbord does it itself everywhere.  The
 * process that started stays until the detached one reports with
 * daemonize_report(), and exits with the status it reports (1 if it ends
 * without reporting); what the detached one writes to *report before
 * that is copied to the starter's standard error, so that a failure to
 * start reaches the terminal and the exit status.  -1 with errno.  On
 * Windows it does nothing and *report is -1. */
int	daemonize(int *report);
/* Ready (status 0) or not; closes report.  Nothing if report is -1. */
void	daemonize_report(int report, int status);

#endif
