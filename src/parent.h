/*
 * The privileged parent's state, shared by its files: parent.c (the
 * serving process's life, signals, the loop) and parent-reload.c (reading
 * the configuration again, the log, what the control socket asks).
 */
#ifndef HARBORD_PARENT_H
#define HARBORD_PARENT_H

#include <sys/types.h>

#include "parent-listen.h"
#include "privsep-spawn.h"

struct privsep_msg;

struct parent {
	struct harbord		*hd;
	struct listen_table	 lt;		/* the listening sockets */
	pid_t			 child;		/* 0: none */
	int			 sock;		/* to it; -1 */
	long long		 child_started;
	long long		 restart_at;	/* 0: none due */
	unsigned		 backoff_ms;
	int			 stopping;
	long long		 kill_at;	/* stopping: then SIGKILL */
	int			 ready;		/* the first child served */
	int			 status;	/* the exit status, when done */
	struct config		*pending;	/* sent, not yet answered */
	struct conf_snapshot	*pending_snap;
	int			 reload_again;	/* a SIGHUP came meanwhile */
	unsigned		 ctl_asked;	/* reloads the control socket
						   asked, not yet begun */
	unsigned		 ctl_in_flight;	/* those the one under way
						   answers */
	pid_t			 upgrade_pid;	/* the new harbord; 0: none */
	int			 upgrade_sock;	/* it answers on; -1 */
	long long		 upgrade_by;	/* it serves by then, or
						   failed */
	int			 upgrade_asked;	/* by the control socket */
	int			 spawn_sock;	/* its spawner's; -1 */
	struct spawned_groups	 spawned;	/* programs started for it,
						   while their group lives */
};

/* parent.c */
/* The configuration, the listening sockets and the log, to the serving
 * process: 0, or -1 with errno. */
int	parent_send_config(struct parent *p, const struct conf_snapshot *snap);
int	parent_send_log(struct parent *p);
void	parent_pending_drop(struct parent *p);
void	parent_stop(struct parent *p, int sig);

/* parent-reload.c */
void	parent_reload(struct parent *p);
void	parent_reopen_log(struct parent *p);
/* The serving process ended (its socket closed): a reload it had not
 * answered is dropped, and one asked meanwhile begins. */
void	parent_reload_abandon(struct parent *p);
/* The serving process's PS_APPLIED. */
void	parent_child_answered(struct parent *p, const struct privsep_msg *msg);
/* Its PS_REQUEST: what the control socket asked. */
void	parent_request(struct parent *p, const struct privsep_msg *msg);
/* SIGUSR2, or the control socket (asked): a new harbord binary started
 * with the sockets; parent_upgrade_event when it answers, fails or runs
 * out of time. */
void	parent_upgrade(struct parent *p, int asked);
void	parent_upgrade_event(struct parent *p);
/* READY=1 for the service manager, with what is served. */
void	parent_notify_serving(const struct parent *p, const char *what);

#endif
