/*
 * The privileged parent's reloads: the configuration read again (on
 * SIGHUP, or asked on the control socket through the serving process),
 * the sockets it needs bound, all sent, and the serving process's answer
 * awaited; the log reopened (SIGUSR1); and what the control socket asks
 * of the parent.  The serving process hears how each reload ended
 * (PS_RELOADED), with how many of the control socket's requests it
 * answers.
 */
#include "autoconfig.h"

#ifndef _WIN32

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "harbor.h"
#include "harbord.h"
#include "logsink.h"
#include "parent.h"
#include "privsep.h"
#include "sdnotify.h"
#include "upgrade.h"

/* READY=1, with what is served, for the service manager. */
void
parent_notify_serving(const struct parent *p, const char *what)
{
	char	buf[256];
	size_t	n = p->hd->conf->nservices;

	snprintf(buf, sizeof buf, "READY=1\nSTATUS=%s %zu %s (serving "
	    "process %ld)", what, n, n == 1 ? "service" : "services",
	    (long)p->child);
	(void)sdnotify(buf);
}

static void
notify_reload_failed(const char *why)
{
	char	buf[600];

	snprintf(buf, sizeof buf, "READY=1\nSTATUS=reload failed, the "
	    "running configuration kept: %s", why);
	(void)sdnotify(buf);
}

/* How a reload ended, to the serving process: it counts reloads, and
 * answers the control socket's clients that asked for this one. */
static void
reload_finished(struct parent *p, int ok, const char *why)
{
	unsigned	count = p->ctl_in_flight;

	p->ctl_in_flight = 0;
	if (p->sock == -1)
		return;		/* they were the serving process's that died */
	if (privsep_send_result(p->sock, PS_RELOADED, (long)count, ok,
	    why) == -1)
		harbor_log(HARBOR_LOG_ERR, "cannot tell the serving process how "
		    "the reload ended: %s", strerror(errno));
}

/* A SIGHUP that came while a reload was in flight. */
static void
reload_if_asked(struct parent *p)
{
	if (p->reload_again && p->pending == NULL) {
		p->reload_again = 0;
		parent_reload(p);
	}
}

void
parent_child_answered(struct parent *p, const struct privsep_msg *msg)
{
	int		 ok = msg->len >= 1 && msg->payload[0] == 0;
	const char	*why = msg->len > 1 ? (const char *)msg->payload + 1 :
			    "no reason given";

	if (!p->ready) {
		if (!ok)
			return;		/* it says why, and exits */
		p->ready = 1;
		harbord_ready(p->hd, 0);
		listen_table_settle(&p->lt, 1);
		parent_notify_serving(p, "serving");
		return;
	}
	if (p->pending == NULL) {
		if (ok)		/* a new serving process after one died */
			parent_notify_serving(p, "serving again");
		return;
	}
	listen_table_settle(&p->lt, ok);
	if (ok) {
		config_free(p->hd->conf);
		conf_snapshot_free(p->hd->snap);
		p->hd->conf = p->pending;
		p->hd->snap = p->pending_snap;
		p->pending = NULL;
		p->pending_snap = NULL;
		parent_notify_serving(p, "configuration reloaded; serving");
	} else {
		harbor_log(HARBOR_LOG_WARNING, "the serving process kept its "
		    "configuration: %s", why);
		notify_reload_failed(why);
		parent_pending_drop(p);
		/* The log the running configuration asked for. */
		(void)harbord_apply_log(p->hd->conf, p->hd->foreground);
	}
	reload_finished(p, ok, ok ? NULL : why);
	reload_if_asked(p);
}


void
parent_reload_abandon(struct parent *p)
{
	if (p->pending != NULL) {
		listen_table_settle(&p->lt, 0);
		parent_pending_drop(p);
		harbor_log(HARBOR_LOG_WARNING, "reload abandoned: the serving "
		    "process ended before it answered");
	}
	/* Those who asked for it were the dead process's clients. */
	p->ctl_in_flight = 0;
	p->ctl_asked = 0;
	reload_if_asked(p);
}

void
parent_reload(struct parent *p)
{
	struct conf_errors	 errs = { .n = 0 };
	struct conf_snapshot	*snap;
	struct config		*conf;
	char			 err[512];
	int			 missing;

	if (p->pending != NULL) {
		/* Once the one in flight is answered: the file may have
		 * changed since it was read. */
		p->reload_again = 1;
		return;
	}
	/* The control socket's requests so far: this reads the file after
	 * they came. */
	p->ctl_in_flight += p->ctl_asked;
	p->ctl_asked = 0;
	harbor_log(HARBOR_LOG_NOTICE, "reading configuration from %s",
	    p->hd->conf_path);
	(void)sdnotify_reloading();
	if ((conf = harbord_load(p->hd, &errs, &snap, &missing)) == NULL) {
		harbord_log_errors(&errs);
		notify_reload_failed(errs.n > 0 ? errs.msg[0] : "errors");
		reload_finished(p, 0, errs.n > 0 ? errs.msg[0] : "errors");
		conf_errors_clear(&errs);
		harbor_log(HARBOR_LOG_ERR, "reload failed; keeping the running "
		    "configuration");
		return;
	}
	if (listen_table_for(&p->lt, conf, err, sizeof err) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		notify_reload_failed(err);
		harbor_log(HARBOR_LOG_ERR, "reload failed; keeping the running "
		    "configuration");
		config_free(conf);
		conf_snapshot_free(snap);
		listen_table_settle(&p->lt, 0);
		reload_finished(p, 0, err);
		return;
	}
	p->pending = conf;
	p->pending_snap = snap;
	(void)harbord_apply_log(conf, p->hd->foreground);
	if (p->sock == -1) {
		/* None runs now: the next one starts with it. */
		(void)sdnotify("READY=1\nSTATUS=configuration read; the next "
		    "serving process runs it");
		listen_table_settle(&p->lt, 1);
		config_free(p->hd->conf);
		conf_snapshot_free(p->hd->snap);
		p->hd->conf = conf;
		p->hd->snap = snap;
		p->pending = NULL;
		p->pending_snap = NULL;
		reload_finished(p, 1, NULL);
		return;
	}
	if (parent_send_config(p, snap) == -1) {
		harbor_log(HARBOR_LOG_ERR, "cannot send the configuration to "
		    "the serving process: %s; stopping it", strerror(errno));
		(void)kill(p->child, SIGKILL);
	}
}

void
parent_reopen_log(struct parent *p)
{
	char	err[256];

	if (logsink_reopen(err, sizeof err) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		return;
	}
	harbor_log(HARBOR_LOG_NOTICE, "log reopened");
	if (p->sock != -1 && parent_send_log(p) == -1)
		harbor_log(HARBOR_LOG_ERR, "cannot send the log to the serving "
		    "process: %s", strerror(errno));
}


/* --- upgrades ---------------------------------------------------------- */

/* How the upgrade went, to the serving process: a client of its control
 * socket may wait for it, and once the new harbord serves, the old one's
 * control socket is the new one's. */
static void
upgrade_told(struct parent *p, int ok, const char *why)
{
	int	asked = p->upgrade_asked;

	p->upgrade_asked = 0;
	if (p->sock == -1 || (!ok && !asked))
		return;
	if (privsep_send_result(p->sock, PS_UPGRADED, -1, ok, why) == -1)
		harbor_log(HARBOR_LOG_ERR, "cannot tell the serving process how "
		    "the upgrade went: %s", strerror(errno));
}

static void
upgrade_failed(struct parent *p, const char *why)
{
	harbor_log(HARBOR_LOG_ERR, "upgrade failed: %s; this harbord serves "
	    "on", why);
	if (p->upgrade_pid != 0)
		(void)kill(p->upgrade_pid, SIGTERM);
	(void)close(p->upgrade_sock);
	p->upgrade_sock = -1;
	p->upgrade_by = 0;
	upgrade_told(p, 0, why);
	/* Its pid is reaped, and forgotten, when it ends. */
}

void
parent_upgrade(struct parent *p, int asked)
{
	struct upgrade_socket	*socks;
	char			 why[256];
	size_t			 i, n = 0;
	pid_t			 pid;

	if (p->upgrade_sock != -1 || p->stopping) {
		harbor_log(HARBOR_LOG_WARNING, "upgrade asked for while %s: "
		    "ignored", p->stopping ? "stopping" : "one is under way");
		if (asked) {
			p->upgrade_asked = 1;
			upgrade_told(p, 0, p->stopping ? "harbord is stopping" :
			    "an upgrade is under way");
		}
		return;
	}
	p->upgrade_asked = asked;
	if ((socks = calloc(p->lt.n + 1, sizeof *socks)) == NULL) {
		upgrade_failed(p, "out of memory");
		return;
	}
	for (i = 0; i < p->lt.n; i++) {
		socks[n].fd = p->lt.b[i].fd;
		socks[n++].name = p->lt.b[i].service;
	}
	pid = upgrade_spawn(p->hd, socks, n, p->hd->control_fd,
	    &p->upgrade_sock, why, sizeof why);
	free(socks);
	if (pid == -1) {
		p->upgrade_sock = -1;
		upgrade_failed(p, why);
		return;
	}
	p->upgrade_pid = pid;
	p->upgrade_by = privsep_now_ms() + UPGRADE_READY_MS;
}

void
parent_upgrade_event(struct parent *p)
{
	char	why[256];
	pid_t	pid = p->upgrade_pid;

	if (p->upgrade_sock == -1)
		return;
	switch (upgrade_hear(p->upgrade_sock, why, sizeof why)) {
	case 0:
		if (privsep_now_ms() < p->upgrade_by)
			return;
		snprintf(why, sizeof why, "the new harbord did not serve "
		    "within %d s", UPGRADE_READY_MS / 1000);
		/* FALLTHROUGH */
	case -1:
		upgrade_failed(p, why);
		return;
	}
	harbor_log(HARBOR_LOG_NOTICE, "upgraded: harbord pid %ld serves; "
	    "this one finishes its connections and exits", (long)pid);
	upgrade_hand_over(p->hd, p->upgrade_sock, (long)pid);
	(void)close(p->upgrade_sock);
	p->upgrade_sock = -1;
	p->upgrade_by = 0;
	upgrade_told(p, 1, NULL);
	/* It is the new one's child now in all but name: not ours to
	 * signal when we stop. */
	p->upgrade_pid = 0;
	parent_stop(p, SIGTERM);
}

void
parent_request(struct parent *p, const struct privsep_msg *msg)
{
	if (msg->len != 1) {
		harbor_log(HARBOR_LOG_ERR, "a request of %zu bytes from the "
		    "serving process: ignored", msg->len);
		return;
	}
	switch (msg->payload[0]) {
	case PS_REQ_RELOAD:
		harbor_log(HARBOR_LOG_NOTICE, "reload asked on the control "
		    "socket");
		p->ctl_asked++;
		parent_reload(p);
		break;
	case PS_REQ_REOPEN:
		parent_reopen_log(p);
		break;
	case PS_REQ_STOP:
		harbor_log(HARBOR_LOG_NOTICE, "stop asked on the control "
		    "socket");
		parent_stop(p, SIGTERM);
		break;
	case PS_REQ_UPGRADE:
		harbor_log(HARBOR_LOG_NOTICE, "upgrade asked on the control "
		    "socket");
		parent_upgrade(p, 1);
		break;
	default:
		harbor_log(HARBOR_LOG_ERR, "an unknown request (%d) from the "
		    "serving process: ignored", (int)msg->payload[0]);
		break;
	}
}

#endif /* !_WIN32 */
