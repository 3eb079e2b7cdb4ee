/*
 * The few thread primitives harbor needs, over POSIX threads or Windows
 * threads, so that no other file names either API.
 */
#ifndef HARBOR_THREAD_H
#define HARBOR_THREAD_H

#ifdef _WIN32
/* Winsock 2 first: windows.h would otherwise bring in the old winsock.h,
 * which clashes with it. */
#include <winsock2.h>
#include <windows.h>
typedef HANDLE			thread_t;
typedef CRITICAL_SECTION	mutex_t;
typedef CONDITION_VARIABLE	cond_t;
#else
#include <pthread.h>
#include <signal.h>
typedef pthread_t		thread_t;
typedef pthread_mutex_t		mutex_t;
typedef pthread_cond_t		cond_t;
#endif

/* Threads the library starts block every signal. */
int	thread_create(thread_t *t, void (*fn)(void *), void *arg);
void	thread_join(thread_t t);
/* The thread's resources go when it ends: nobody joins it. */
void	thread_detach(thread_t t);
void	mutex_init(mutex_t *m);
void	mutex_destroy(mutex_t *m);
void	mutex_lock(mutex_t *m);
void	mutex_unlock(mutex_t *m);
void	cond_init(cond_t *c);
void	cond_destroy(cond_t *c);
void	cond_wait(cond_t *c, mutex_t *m);
void	cond_signal(cond_t *c);
void	cond_broadcast(cond_t *c);

/* SIGPIPE held back in the calling thread: a write to a socket whose peer
 * has gone then fails with EPIPE and raises nothing.  Released, a SIGPIPE
 * the writes left pending is taken first, so it is never delivered.  No
 * SIGPIPE on Windows: nothing to do there. */
struct sigpipe_hold {
#ifndef _WIN32
	sigset_t	saved;
#endif
	int		held;
};
void	sigpipe_hold(struct sigpipe_hold *h);
void	sigpipe_release(struct sigpipe_hold *h);

#endif
