/*
 * The serving process's state, shared by serving.c (the server, its
 * configuration, the privileged process's messages) and serving-control.c
 * (the control socket's operations, and upgrades when harbord is one
 * process).
 */
#ifndef HARBORD_SERVING_H
#define HARBORD_SERVING_H

#include <sys/types.h>

#include "control-run.h"

#define SERVING_SIGNALS_MAX	6

struct given_socket;
struct event;

struct serving {
	struct harbord		*hd;
	struct harbor_server	*srv;
	int			 sock;		/* to the parent; -1: alone */
	struct event		*sock_ev;
	struct event		*sigev[SERVING_SIGNALS_MAX];
	struct given_socket	*given;
	size_t			 ngiven;
	struct control		*ctl;
	struct control_ops	 ctl_ops;
	/* Alone: the configuration whose sockets are being bound. */
	const struct config	*binding;
	/* Alone: an upgrade under way. */
	int			 upgrade_sock;	/* -1: none */
	struct event		*upgrade_ev;
	pid_t			 upgrade_pid;
	int			 upgrade_asked;	/* by the control socket */
};

/* serving.c */
/* Alone: the configuration read again.  0, or -1 with why. */
int	serving_reload_from_file(struct serving *sv, char *why, size_t whylen);
/* As SIGTERM: stop accepting, let connections finish. */
void	serving_stop(struct serving *sv);

/* serving-control.c */
/* Serves the control socket harbord opened: 0, or an exit status. */
int	serving_control(struct serving *sv);
/* SIGUSR2, or the control socket (asked), when harbord is one process. */
void	serving_upgrade(struct serving *sv, int asked);
/* The privileged process's word on an upgrade the control socket asked
 * for. */
void	serving_upgraded(struct serving *sv, int ok, const char *why);
void	serving_control_free(struct serving *sv);

#endif
