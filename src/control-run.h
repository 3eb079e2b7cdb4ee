/*
 * control.c: the control socket's server, on the serving process's main
 * loop.
 */
#ifndef HARBORD_CONTROL_RUN_H
#define HARBORD_CONTROL_RUN_H

#include <stddef.h>

struct harbor_server;
struct control;

/* What the serving process does for the control socket. */
struct control_ops {
	/* 0: reloaded; -1: not, with why; 1: asked of the privileged
	 * process, which answers through control_reloaded. */
	int	(*reload)(void *arg, char *why, size_t whylen);
	/* 0: the log reopened; 1: asked of the privileged process; -1
	 * with why. */
	int	(*log_reopen)(void *arg, char *why, size_t whylen);
	/* Stops harbord, as SIGTERM does. */
	void	(*stop)(void *arg);
	/* Starts the new binary: 1, asked (control_upgraded answers); -1
	 * with why. */
	int	(*upgrade)(void *arg, char *why, size_t whylen);
	long	  privileged_pid;		/* 0: none */
};

/* Serves the listening socket fd (it takes it), answering only clients
 * that send key first unless key is "" (ctl_socket_listen's): NULL with
 * why. */
struct control *control_start(struct harbor_server *srv, int fd,
	    const char *key, const struct control_ops *ops, void *arg,
	    char *why, size_t whylen);
/* The privileged process's answer to the count oldest reloads asked. */
void	control_reloaded(struct control *ctl, unsigned count, int ok,
	    const char *why);
/* How the upgrade asked went: ok, the new harbord serves. */
void	control_upgraded(struct control *ctl, int ok, const char *why);
/* The listening socket, still the control's; -1 if none. */
int	control_socket(const struct control *ctl);
/* Harbord is stopping: no new clients. */
void	control_stop_accepting(struct control *ctl);
void	control_free(struct control *ctl);

#endif
