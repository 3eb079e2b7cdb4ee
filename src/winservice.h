/*
 * harbord as a Windows service (winservice.c): -S install registers it
 * with the Service Control Manager, -S remove deletes it, and the SCM
 * starts it with -S run.  Elsewhere there is no such manager: -S is
 * refused before any of these is called, and the rest do nothing.
 */
#ifndef HARBORD_WINSERVICE_H
#define HARBORD_WINSERVICE_H

struct event_base;

/* What the SCM asks of the main loop (winservice_watch). */
#define WINSERVICE_STOP		0x1	/* stop, or the system shuts down */
#define WINSERVICE_RELOAD	0x2	/* SERVICE_CONTROL_PARAMCHANGE */

#ifdef _WIN32
/* -S install: the service "harbord", started at boot as this program
 * with -S run (and -f conf_path made absolute, -v, when given).  -S
 * remove: stopped if it runs, then deleted.  Each says what it did on
 * standard output, or why not on standard error: the exit status. */
int	winservice_install(const char *conf_path, int verbose);
int	winservice_remove(void);
/* -S run: the process is the SCM's, which has serve(arg) run on a thread
 * of the service's; serve's return is the service's exit status.
 * Returns it once the service has stopped, or an error's status (said on
 * standard error) when the SCM did not start this process. */
int	winservice_run(int (*serve)(void *), void *arg);
/* Inside serve: the file the log goes to for "log stderr" (the default):
 * harbord.log beside harbord.exe.  NULL when not a service. */
const char *winservice_log_path(void);
/* The SCM's stop and reload, as fn(what, arg) on base's loop, from now
 * until winservice_unwatch: 0, or -1. */
int	winservice_watch(struct event_base *base,
	    void (*fn)(unsigned what, void *), void *arg);
void	winservice_unwatch(void);
/* Serving: the SCM hears that the service runs, and may stop it from
 * now on; a stop is given up to grace_ms. */
void	winservice_running(unsigned grace_ms);
/* Stopping, for up to grace_ms. */
void	winservice_stopping(unsigned grace_ms);
#define WINSERVICE_AVAILABLE	1
#else
#define WINSERVICE_AVAILABLE	0
static inline int
winservice_install(const char *conf_path, int verbose)
{
	(void)conf_path;
	(void)verbose;
	return 64;
}
static inline int winservice_remove(void) { return 64; }
static inline int
winservice_run(int (*serve)(void *), void *arg)
{
	(void)serve;
	(void)arg;
	return 64;
}
static inline const char *winservice_log_path(void) { return NULL; }
static inline int
winservice_watch(struct event_base *base, void (*fn)(unsigned, void *),
    void *arg)
{
	(void)base;
	(void)fn;
	(void)arg;
	return 0;
}
static inline void winservice_unwatch(void) { }
static inline void winservice_running(unsigned grace_ms) { (void)grace_ms; }
static inline void winservice_stopping(unsigned grace_ms) { (void)grace_ms; }
#endif

#endif
