/*
 * The serving process's side of the control socket: what harborctl asks
 * is done here (alone) or asked of the privileged process (REQUEST); and
 * an upgrade when harbord is one process, which starts the new binary
 * itself (upgrade.c) and stops once the new one serves.
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "control-run.h"
#include "harbor.h"
#include "harbord.h"
#include "logsink.h"
#include "privsep.h"
#include "serving.h"
#include "upgrade.h"

static int
alone_reload(void *arg, char *why, size_t whylen)
{
	return serving_reload_from_file(arg, why, whylen);
}

static int
alone_log_reopen(void *arg, char *why, size_t whylen)
{
	(void)arg;
	if (logsink_reopen(why, whylen) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", why);
		return -1;
	}
	harbor_log(HARBOR_LOG_NOTICE, "log reopened");
	return 0;
}

static void
control_stop(void *arg)
{
	struct serving	*sv = arg;

	harbor_log(HARBOR_LOG_NOTICE, "stop asked on the control socket");
	serving_stop(sv);
}

static int
alone_upgrade(void *arg, char *why, size_t whylen)
{
	struct serving	*sv = arg;

	(void)why;
	(void)whylen;
	harbor_log(HARBOR_LOG_NOTICE, "upgrade asked on the control socket");
	serving_upgrade(sv, 1);
	return 1;
}

#ifndef _WIN32
/* What the privileged process does, asked of it. */
static int
ask_parent(struct serving *sv, enum privsep_request what, char *why,
    size_t whylen)
{
	unsigned char	b = (unsigned char)what;

	if (privsep_send(sv->sock, PS_REQUEST, &b, 1, -1) == -1) {
		snprintf(why, whylen, "cannot ask the privileged process: %s",
		    strerror(errno));
		return -1;
	}
	return 1;
}

static int
separated_reload(void *arg, char *why, size_t whylen)
{
	return ask_parent(arg, PS_REQ_RELOAD, why, whylen);
}

static int
separated_log_reopen(void *arg, char *why, size_t whylen)
{
	return ask_parent(arg, PS_REQ_REOPEN, why, whylen);
}

static int
separated_upgrade(void *arg, char *why, size_t whylen)
{
	return ask_parent(arg, PS_REQ_UPGRADE, why, whylen);
}

static void
separated_stop(void *arg)
{
	char	why[128];

	if (ask_parent(arg, PS_REQ_STOP, why, sizeof why) == -1)
		harbor_log(HARBOR_LOG_ERR, "%s", why);
}
#endif

/* Serves the control socket harbord opened (inherited from the parent
 * when separated: it never changes while harbord runs).  0, or an exit
 * status. */
int
serving_control(struct serving *sv)
{
	char	why[256];

	if (sv->hd->control_fd == -1)
		return 0;
	sv->ctl_ops.reload = alone_reload;
	sv->ctl_ops.log_reopen = alone_log_reopen;
	sv->ctl_ops.stop = control_stop;
	sv->ctl_ops.upgrade = alone_upgrade;
#ifndef _WIN32
	if (sv->sock != -1) {
		sv->ctl_ops.reload = separated_reload;
		sv->ctl_ops.log_reopen = separated_log_reopen;
		sv->ctl_ops.stop = separated_stop;
		sv->ctl_ops.upgrade = separated_upgrade;
		sv->ctl_ops.privileged_pid = (long)getppid();
	}
#endif
	if ((sv->ctl = control_start(sv->srv, sv->hd->control_fd,
	    sv->hd->control_key, &sv->ctl_ops, sv, why, sizeof why)) == NULL) {
		harbor_log(HARBOR_LOG_ERR, "%s", why);
		return EXIT_OSERR;
	}
	/* The control's now: closed with it. */
	sv->hd->control_fd = -1;
	return 0;
}

/* --- upgrades, alone ------------------------------------------------------ */

#ifndef _WIN32
static void
upgrade_end(struct serving *sv, int ok, const char *why)
{
	if (sv->upgrade_ev != NULL)
		event_free(sv->upgrade_ev);
	sv->upgrade_ev = NULL;
	if (sv->upgrade_sock != -1)
		(void)close(sv->upgrade_sock);
	sv->upgrade_sock = -1;
	if (!ok) {
		harbor_log(HARBOR_LOG_ERR, "upgrade failed: %s; this harbord "
		    "serves on", why);
		if (sv->upgrade_pid > 0)
			(void)kill(sv->upgrade_pid, SIGTERM);
	}
	sv->upgrade_pid = 0;
	if (sv->upgrade_asked && sv->ctl != NULL)
		control_upgraded(sv->ctl, ok, why);
	sv->upgrade_asked = 0;
}

static void
on_upgrade(evutil_socket_t fd, short what, void *arg)
{
	struct serving	*sv = arg;
	char		 why[256];
	long		 pid = (long)sv->upgrade_pid;

	(void)fd;
	if (what & EV_TIMEOUT) {
		snprintf(why, sizeof why, "the new harbord did not serve within "
		    "%d s", UPGRADE_READY_MS / 1000);
		upgrade_end(sv, 0, why);
		return;
	}
	switch (upgrade_hear(sv->upgrade_sock, why, sizeof why)) {
	case 0:
		return;
	case -1:
		upgrade_end(sv, 0, why);
		return;
	}
	harbor_log(HARBOR_LOG_NOTICE, "upgraded: harbord pid %ld serves; this "
	    "one finishes its connections and exits", pid);
	upgrade_hand_over(sv->hd, sv->upgrade_sock, pid);
	upgrade_end(sv, 1, NULL);
	/* The new one answers the control socket from now. */
	control_stop_accepting(sv->ctl);
	serving_stop(sv);
}
#endif

void
serving_upgrade(struct serving *sv, int asked)
{
#ifndef _WIN32
	struct upgrade_socket	*socks;
	struct timeval		 tv = { UPGRADE_READY_MS / 1000, 0 };
	const char		*service, *address;
	char			 why[256];
	size_t			 i, n = 0;
	pid_t			 pid;

	if (sv->upgrade_sock != -1) {
		if (asked && sv->ctl != NULL)
			control_upgraded(sv->ctl, 0, "an upgrade is under way");
		return;
	}
	sv->upgrade_asked = asked;
	for (i = 0; harbor_server_listener(sv->srv, i, &service,
	    &address) == 0; i++)
		;
	if ((socks = calloc(i + 1, sizeof *socks)) == NULL) {
		upgrade_end(sv, 0, "out of memory");
		return;
	}
	for (i = 0; harbor_server_listener(sv->srv, i, &service,
	    &address) == 0; i++) {
		socks[n].fd = (int)harbor_server_listener_socket(sv->srv, i);
		socks[n++].name = service;
	}
	pid = upgrade_spawn(sv->hd, socks, n, control_socket(sv->ctl),
	    &sv->upgrade_sock, why, sizeof why);
	free(socks);
	if (pid == -1) {
		sv->upgrade_sock = -1;
		upgrade_end(sv, 0, why);
		return;
	}
	sv->upgrade_pid = pid;
	sv->upgrade_ev = event_new(harbor_server_base(sv->srv),
	    sv->upgrade_sock, EV_READ | EV_PERSIST, on_upgrade, sv);
	if (sv->upgrade_ev == NULL || event_add(sv->upgrade_ev, &tv) == -1)
		upgrade_end(sv, 0, "cannot wait for the new harbord");
#else
	/* No fork and exec with sockets handed over: said, not hung. */
	if (asked && sv->ctl != NULL)
		control_upgraded(sv->ctl, 0, "upgrade is not available on "
		    "Windows: stop harbord and start the new one");
#endif
}

void
serving_upgraded(struct serving *sv, int ok, const char *why)
{
	if (ok)
		control_stop_accepting(sv->ctl);
	if (sv->ctl != NULL)
		control_upgraded(sv->ctl, ok, why);
}

void
serving_control_free(struct serving *sv)
{
#ifndef _WIN32
	if (sv->upgrade_ev != NULL)
		event_free(sv->upgrade_ev);
	sv->upgrade_ev = NULL;
	if (sv->upgrade_sock != -1)
		(void)close(sv->upgrade_sock);
	sv->upgrade_sock = -1;
#endif
	control_free(sv->ctl);
	sv->ctl = NULL;
}
