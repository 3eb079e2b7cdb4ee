#include "autoconfig.h"

#include <stdlib.h>
#ifndef _WIN32
#include <signal.h>
#endif

#include "thread.h"

struct thread_start {
	void	(*fn)(void *);
	void	 *arg;
};

#ifdef _WIN32

static DWORD WINAPI
thread_trampoline(LPVOID p)
{
	struct thread_start s = *(struct thread_start *)p;

	free(p);
	s.fn(s.arg);
	return 0;
}

int
thread_create(thread_t *t, void (*fn)(void *), void *arg)
{
	struct thread_start *s = malloc(sizeof *s);

	if (s == NULL)
		return -1;
	s->fn = fn;
	s->arg = arg;
	*t = CreateThread(NULL, 0, thread_trampoline, s, 0, NULL);
	if (*t == NULL) {
		free(s);
		return -1;
	}
	return 0;
}

void thread_join(thread_t t) { WaitForSingleObject(t, INFINITE); CloseHandle(t); }
void thread_detach(thread_t t) { CloseHandle(t); }
void mutex_init(mutex_t *m) { InitializeCriticalSection(m); }
void mutex_destroy(mutex_t *m) { DeleteCriticalSection(m); }
void mutex_lock(mutex_t *m) { EnterCriticalSection(m); }
void mutex_unlock(mutex_t *m) { LeaveCriticalSection(m); }
void cond_init(cond_t *c) { InitializeConditionVariable(c); }
void cond_destroy(cond_t *c) { (void)c; }
void cond_wait(cond_t *c, mutex_t *m) { SleepConditionVariableCS(c, m, INFINITE); }
void cond_signal(cond_t *c) { WakeConditionVariable(c); }
void cond_broadcast(cond_t *c) { WakeAllConditionVariable(c); }
void sigpipe_hold(struct sigpipe_hold *h) { h->held = 0; }
void sigpipe_release(struct sigpipe_hold *h) { (void)h; }

#else

static void *
thread_trampoline(void *p)
{
	struct thread_start s = *(struct thread_start *)p;

	free(p);
	s.fn(s.arg);
	return NULL;
}

/* The new thread starts with every signal blocked, so that signals reach
 * only the program's own threads (the main loop handles them); a signal
 * taken by a worker asleep on a condition variable would otherwise wait
 * there unseen. */
int
thread_create(thread_t *t, void (*fn)(void *), void *arg)
{
	struct thread_start	*s = malloc(sizeof *s);
	sigset_t		 all, old;
	int			 r;

	if (s == NULL)
		return -1;
	s->fn = fn;
	s->arg = arg;
	sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(t, NULL, thread_trampoline, s);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		free(s);
		return -1;
	}
	return 0;
}

void thread_join(thread_t t) { (void)pthread_join(t, NULL); }
void thread_detach(thread_t t) { (void)pthread_detach(t); }
void mutex_init(mutex_t *m) { (void)pthread_mutex_init(m, NULL); }
void mutex_destroy(mutex_t *m) { (void)pthread_mutex_destroy(m); }
void mutex_lock(mutex_t *m) { (void)pthread_mutex_lock(m); }
void mutex_unlock(mutex_t *m) { (void)pthread_mutex_unlock(m); }
void cond_init(cond_t *c) { (void)pthread_cond_init(c, NULL); }
void cond_destroy(cond_t *c) { (void)pthread_cond_destroy(c); }
void cond_wait(cond_t *c, mutex_t *m) { (void)pthread_cond_wait(c, m); }
void cond_signal(cond_t *c) { (void)pthread_cond_signal(c); }
void cond_broadcast(cond_t *c) { (void)pthread_cond_broadcast(c); }

void
sigpipe_hold(struct sigpipe_hold *h)
{
	sigset_t	pipe;

	(void)sigemptyset(&pipe);
	(void)sigaddset(&pipe, SIGPIPE);
	h->held = pthread_sigmask(SIG_BLOCK, &pipe, &h->saved) == 0 &&
	    !sigismember(&h->saved, SIGPIPE);
}

void
sigpipe_release(struct sigpipe_hold *h)
{
	sigset_t	pipe, pending;
	int		sig;

	if (!h->held)
		return;
	(void)sigemptyset(&pipe);
	(void)sigaddset(&pipe, SIGPIPE);
	/* sigwait returns at once: the signal is pending. */
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		(void)sigwait(&pipe, &sig);
	(void)pthread_sigmask(SIG_SETMASK, &h->saved, NULL);
	h->held = 0;
}

#endif
