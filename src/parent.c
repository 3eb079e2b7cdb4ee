/*
 * harbord's privileged parent.  Started as root, harbord keeps this small
 * process as root and serves from another: the parent reads the
 * configuration (from its real path, outside any chroot), binds every
 * listening socket, opens the log file and holds the pid file; the
 * serving process (serving.c), started with the sockets, the log and the
 * configuration sent over a socket pair, drops to the configured user
 * and never needs root again.  SIGHUP: read and check the file again,
 * bind what is new, send it all; the serving process applies it or keeps
 * what it has.  SIGUSR1: open the log file again and send it.  If the
 * serving process dies, another is started, with a delay that doubles
 * up to a minute while it keeps dying.  Reloads are parent-reload.c's.
 *
 * The parent runs no event library: a poll loop over the socket pair and
 * a pipe its signal handlers write to, so that what runs as root is all
 * in parent*.c and privsep-msg.c.  Its sockets (the control socket too)
 * are never read from or accepted on here.  See doc/privsep.txt.
 */
#include "autoconfig.h"

#ifndef _WIN32

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
#include "compat.h"
#include "harbor.h"
#include "harbord.h"
#include "logsink.h"
#include "pidfile.h"
#include "parent.h"
#include "parent-listen.h"
#include "privsep.h"
#include "privsep-spawn.h"
#include "sdnotify.h"

/* Not in POSIX: as many as Linux and the BSDs have. */
#ifndef NSIG
#define NSIG	65
#endif

#define RESTART_FIRST_MS	1000
#define RESTART_MAX_MS		60000
/* A serving process that served this long was no crash loop: the next
 * one starts after RESTART_FIRST_MS again. */
#define RESTART_RESET_MS	10000
/* After the grace period, how long the serving process has to finish. */
#define STOP_MARGIN_MS		5000
#define SEND_TIMEOUT_S		5


static int	signal_pipe[2] = { -1, -1 };
static const int parent_signals[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1,
				      SIGUSR2, SIGCHLD };
#define NSIGNALS	(sizeof parent_signals / sizeof parent_signals[0])

static void
on_signal(int sig)
{
	unsigned char	b = (unsigned char)sig;
	int		saved = errno;

	(void)!write(signal_pipe[1], &b, 1);
	errno = saved;
}

static int
signals_catch(void)
{
	struct sigaction	sa;
	size_t			i;

	if (pipe(signal_pipe) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		(void)fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
		(void)fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < NSIGNALS; i++)
		if (sigaction(parent_signals[i], &sa, NULL) == -1)
			return -1;
	return 0;
}

/* In the serving process: the signals as a new process has them. */
static void
signals_forget(void)
{
	struct sigaction	sa;
	sigset_t		none;
	size_t			i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSIGNALS; i++)
		(void)sigaction(parent_signals[i], &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)close(signal_pipe[0]);
	(void)close(signal_pipe[1]);
}

/* --- talking to the serving process ---------------------------------------- */

int
parent_send_log(struct parent *p)
{
	const struct config	*conf = p->pending != NULL ? p->pending :
				    p->hd->conf;
	unsigned char		 buf[1 + 4096];
	const char		*arg = NULL;
	size_t			 n = 0;
	int			 fd = -1;

	if (p->hd->foreground)
		buf[0] = LOGSINK_STDERR;
	else if (conf->log == CONF_LOG_FILE && (fd = logsink_file_fd()) != -1) {
		buf[0] = LOGSINK_FILE;
		arg = conf->log_file;
	} else if (conf->log == CONF_LOG_SYSLOG) {
		buf[0] = LOGSINK_SYSLOG;
		arg = conf->log_facility;
	} else
		buf[0] = LOGSINK_STDERR;
	if (arg != NULL && (n = strlen(arg)) > sizeof buf - 1)
		n = sizeof buf - 1;
	if (n > 0)
		memcpy(buf + 1, arg, n);
	return privsep_send(p->sock, PS_LOG, buf, n + 1, fd);
}

/* "service" NUL "address": whose socket it is. */
static int
send_listen(struct parent *p, const struct bound *b)
{
	char	buf[CONF_SNAP_NAME_MAX];
	size_t	ns = strlen(b->service), na = strlen(b->asked);

	if (ns + 1 + na > sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, b->service, ns + 1);
	memcpy(buf + ns + 1, b->asked, na);
	return privsep_send(p->sock, PS_LISTEN, buf, ns + 1 + na, b->fd);
}

/* The sockets, the log and the configuration: what a serving process
 * needs, at its start and at each reload. */
int
parent_send_config(struct parent *p, const struct conf_snapshot *snap)
{
	unsigned char	*buf;
	size_t		 len, i;
	int		 r;

	for (i = 0; i < p->lt.n; i++)
		if (p->lt.b[i].wanted && send_listen(p, &p->lt.b[i]) == -1)
			return -1;
	if (parent_send_log(p) == -1)
		return -1;
	if (conf_snapshot_encode(snap, &buf, &len) == -1) {
		errno = ENOMEM;
		return -1;
	}
	r = privsep_send(p->sock, PS_CONFIG, buf, len, -1);
	free(buf);
	return r;
}

void
parent_pending_drop(struct parent *p)
{
	config_free(p->pending);
	conf_snapshot_free(p->pending_snap);
	p->pending = NULL;
	p->pending_snap = NULL;
}

static void
child_start(struct parent *p)
{
	int	sv[2], ss[2] = { -1, -1 };
	pid_t	pid;
	size_t	i;
	struct timeval tv = { SEND_TIMEOUT_S, 0 };

	p->restart_at = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		harbor_log(HARBOR_LOG_ERR, "cannot make the socket pair for "
		    "the serving process: %s", strerror(errno));
		goto retry;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, ss) == -1) {
		harbor_log(HARBOR_LOG_ERR, "cannot make the socket pair for "
		    "the serving process: %s", strerror(errno));
		(void)close(sv[0]);
		(void)close(sv[1]);
		goto retry;
	}
	switch (pid = fork()) {
	case -1:
		harbor_log(HARBOR_LOG_ERR, "cannot start the serving process: "
		    "%s", strerror(errno));
		(void)close(sv[0]);
		(void)close(sv[1]);
		(void)close(ss[0]);
		(void)close(ss[1]);
		goto retry;
	case 0:
		/* What is the parent's stays with it: the lock, the
		 * sockets (sent again, one by one), the signals. */
		(void)close(sv[0]);
		(void)close(ss[0]);
		signals_forget();
		sdnotify_forget();
		pidfile_forget(p->hd->pidfile);
		p->hd->pidfile = NULL;
		for (i = 0; i < p->lt.n; i++)
			(void)close(p->lt.b[i].fd);
		if (p->sock != -1)
			(void)close(p->sock);
		if (p->spawn_sock != -1)
			(void)close(p->spawn_sock);
		if (p->upgrade_sock != -1)
			(void)close(p->upgrade_sock);
		parent_pending_drop(p);
		free(p->spawned.pid);
		exit(serving_run(p->hd, sv[1], ss[1]));
	}
	(void)close(sv[1]);
	(void)close(ss[1]);
	(void)fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(ss[0], F_SETFD, FD_CLOEXEC);
	/* A serving process that stops reading must not hold us. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	(void)setsockopt(ss[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	p->spawn_sock = ss[0];
	p->child = pid;
	p->sock = sv[0];
	p->child_started = privsep_now_ms();
	harbor_log(HARBOR_LOG_INFO, "serving process %ld started",
	    (long)pid);
	if (parent_send_config(p, p->hd->snap) == -1) {
		harbor_log(HARBOR_LOG_ERR, "cannot send the configuration to "
		    "the serving process: %s", strerror(errno));
		(void)kill(pid, SIGKILL);
	}
	return;
retry:
	p->restart_at = privsep_now_ms() + p->backoff_ms;
}

static void	spawned_stop(struct parent *);

static void
child_message(struct parent *p)
{
	struct privsep_msg	msg;
	char			why[256];
	int			r;

	r = privsep_recv(p->sock, &msg, why, sizeof why);
	if (r == 1 && (msg.type == PS_APPLIED || msg.type == PS_REQUEST)) {
		if (msg.type == PS_APPLIED)
			parent_child_answered(p, &msg);
		else
			parent_request(p, &msg);
		privsep_msg_clear(&msg);
		return;
	}
	if (r == 1) {
		harbor_log(HARBOR_LOG_ERR, "the serving process sent message "
		    "%d, which it may not: stopping it", (int)msg.type);
		privsep_msg_clear(&msg);
	} else if (r == -1)
		harbor_log(HARBOR_LOG_ERR, "from the serving process: %s; "
		    "stopping it", why);
	/* Gone (r == 0) or broken: its end is seen by SIGCHLD. */
	(void)close(p->sock);
	p->sock = -1;
	if (r != 0)
		(void)kill(p->child, SIGKILL);
}

static void
describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "ended (status 0x%x)", (unsigned)st);
}

static void
child_ended(struct parent *p, int st)
{
	char		how[64];
	long long	ran = privsep_now_ms() - p->child_started;

	describe_status(st, how, sizeof how);
	if (p->sock != -1) {
		(void)close(p->sock);
		p->sock = -1;
	}
	if (p->spawn_sock != -1) {
		(void)close(p->spawn_sock);
		p->spawn_sock = -1;
	}
	p->child = 0;
	parent_reload_abandon(p);
	spawned_stop(p);
	if (p->stopping) {
		p->status = WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_OSERR;
		return;
	}
	if (!p->ready) {
		/* It never served: what went wrong is its to tell. */
		harbor_log(HARBOR_LOG_ERR, "the serving process %s before it "
		    "served", how);
		p->status = WIFEXITED(st) && WEXITSTATUS(st) != 0 ?
		    WEXITSTATUS(st) : EXIT_OSERR;
		p->stopping = 1;
		return;
	}
	if (ran >= RESTART_RESET_MS)
		p->backoff_ms = RESTART_FIRST_MS;
	harbor_log(HARBOR_LOG_ERR, "the serving process %s; starting another "
	    "in %u ms", how, p->backoff_ms);
	{
		char	buf[200];

		snprintf(buf, sizeof buf, "STATUS=the serving process %s; "
		    "starting another in %u ms", how, p->backoff_ms);
		(void)sdnotify(buf);
	}
	p->restart_at = privsep_now_ms() + p->backoff_ms;
	p->backoff_ms = p->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS :
	    p->backoff_ms * 2;
}

/* --- programs started for the serving process --------------------------------- */

static void
spawned_ended(struct parent *p, pid_t pid, int st)
{
	unsigned char	buf[8];

	if (!spawned_known(&p->spawned, pid))
		return;
	privsep_put32(buf, (long)pid);
	privsep_put32(buf + 4, st);
	if (p->sock != -1 && privsep_send(p->sock, PS_CHILD_ENDED, buf,
	    sizeof buf, -1) == -1)
		harbor_log(HARBOR_LOG_WARNING, "cannot tell the serving process "
		    "that pid %ld ended: %s", (long)pid, strerror(errno));
	spawned_prune(&p->spawned);
}

/* The serving process is gone, and with it the clients of the programs
 * it had started here: they are stopped, as it would have stopped them. */
static void
spawned_stop(struct parent *p)
{
	spawned_signal_all(&p->spawned, SIGTERM);
}

static void
answer_spawn(struct parent *p, struct privsep_msg *msg)
{
	struct spawn_request	 rq;
	unsigned char		 buf[4 + 300];
	char			 why[300] = "";
	pid_t			 pid = -1;
	size_t			 n;

	if (spawn_request_decode(msg->payload, msg->len, &rq) == -1)
		snprintf(why, sizeof why, "a malformed request");
	else if (spawn_request_allowed(p->hd->conf, &rq, why,
	    sizeof why) == -1 && (p->pending == NULL ||
	    spawn_request_allowed(p->pending, &rq, why, sizeof why) == -1))
		harbor_log(HARBOR_LOG_WARNING, "refused to start a program for "
		    "the serving process: %s", why);
	else if (spawned_room(&p->spawned) == -1)
		snprintf(why, sizeof why, "out of memory");
	else {
		why[0] = '\0';
		pid = spawn_start(&rq, msg->fd, msg->fd2,
		    (p->pending != NULL ? p->pending : p->hd->conf)->chroot_dir,
		    why, sizeof why);
		if (pid > 0)
			p->spawned.pid[p->spawned.n++] = pid;
	}
	spawn_request_free(&rq);
	privsep_put32(buf, (long)pid);
	n = strlen(why);
	memcpy(buf + 4, why, n);
	if (privsep_send(p->spawn_sock, PS_SPAWNED, buf, 4 + n, -1) == -1)
		harbor_log(HARBOR_LOG_WARNING, "cannot answer the serving "
		    "process: %s", strerror(errno));
}

static void
answer_kill(struct parent *p, const struct privsep_msg *msg)
{
	unsigned char	buf[8];
	long		pid, sig, r = -1, e = EPERM;

	if (msg->len == 8) {
		pid = privsep_get32(msg->payload);
		sig = privsep_get32(msg->payload + 4);
		spawned_prune(&p->spawned);
		if (pid > 1 && sig >= 0 && sig < NSIG &&
		    spawned_known(&p->spawned, (pid_t)pid)) {
			r = kill(-(pid_t)pid, (int)sig);
			e = r == -1 ? errno : 0;
		} else
			harbor_log(HARBOR_LOG_WARNING, "refused to signal pid "
			    "%ld for the serving process, which did not have "
			    "it started", pid);
	}
	privsep_put32(buf, r);
	privsep_put32(buf + 4, e);
	if (privsep_send(p->spawn_sock, PS_KILLED, buf, sizeof buf, -1) == -1)
		harbor_log(HARBOR_LOG_WARNING, "cannot answer the serving "
		    "process: %s", strerror(errno));
}

static void
spawn_message(struct parent *p)
{
	struct privsep_msg	msg;
	char			why[256];
	int			r;

	r = privsep_recv(p->spawn_sock, &msg, why, sizeof why);
	if (r == 1 && msg.type == PS_SPAWN)
		answer_spawn(p, &msg);
	else if (r == 1 && msg.type == PS_KILL)
		answer_kill(p, &msg);
	if (r == 1 && (msg.type == PS_SPAWN || msg.type == PS_KILL)) {
		privsep_msg_clear(&msg);
		return;
	}
	if (r == 1) {
		harbor_log(HARBOR_LOG_ERR, "the serving process asked with "
		    "message %d, which it may not: stopping it", (int)msg.type);
		privsep_msg_clear(&msg);
	} else if (r == -1)
		harbor_log(HARBOR_LOG_ERR, "from the serving process's spawner: "
		    "%s; stopping it", why);
	(void)close(p->spawn_sock);
	p->spawn_sock = -1;
	if (r != 0 && p->child != 0)
		(void)kill(p->child, SIGKILL);
}

/* --- signals ------------------------------------------------------------------ */

void
parent_stop(struct parent *p, int sig)
{
	/* A second one: the serving process stops at once. */
	if (p->stopping) {
		if (p->child != 0)
			(void)kill(p->child, sig);
		return;
	}
	p->stopping = 1;
	p->status = 0;
	(void)sdnotify("STOPPING=1");
	/* Nothing more is accepted: the serving process closes its copies
	 * now, and the kernel must not queue clients on ours. */
	while (p->lt.n > 0)
		listen_table_close(&p->lt, p->lt.n - 1);
	if (p->child == 0)
		return;
	harbor_log(HARBOR_LOG_NOTICE, "stopping (signal %d)", sig);
	(void)kill(p->child, sig);
	p->kill_at = privsep_now_ms() + p->hd->conf->shutdown_ms + STOP_MARGIN_MS;
}

static void
parent_signal(struct parent *p, int sig)
{
	pid_t	pid;
	int	st;

	switch (sig) {
	case SIGHUP:
		parent_reload(p);
		break;
	case SIGUSR1:
		parent_reopen_log(p);
		break;
	case SIGUSR2:
		parent_upgrade(p, 0);
		break;
	case SIGTERM:
	case SIGINT:
		parent_stop(p, sig);
		break;
	case SIGCHLD:
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid == p->child)
				child_ended(p, st);
			else if (pid == p->upgrade_pid) {
				/* Whether it serves is its socket's to say:
				 * detached, it exits once its daemon does. */
				p->upgrade_pid = 0;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					harbor_log(HARBOR_LOG_WARNING, "the new "
					    "harbord ended (status 0x%x)",
					    (unsigned)st);
			} else
				spawned_ended(p, pid, st);
		}
		break;
	}
}

/* --- the loop ------------------------------------------------------------------- */

static int
parent_wait_ms(const struct parent *p)
{
	long long	due = 0, left;

	if (p->restart_at != 0 && !p->stopping)
		due = p->restart_at;
	if (p->kill_at != 0 && p->child != 0 && (due == 0 || p->kill_at < due))
		due = p->kill_at;
	if (p->upgrade_by != 0 && (due == 0 || p->upgrade_by < due))
		due = p->upgrade_by;
	if (due == 0)
		return -1;
	left = due - privsep_now_ms();
	return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

int
parent_run(struct harbord *hd)
{
	struct parent	p;
	struct pollfd	pfd[4];
	unsigned char	sigs[32];
	char		err[512];
	ssize_t		n, i;
	int		r;

	memset(&p, 0, sizeof p);
	p.hd = hd;
	p.sock = -1;
	p.spawn_sock = -1;
	p.upgrade_sock = -1;
	p.backoff_ms = RESTART_FIRST_MS;
	if (listen_table_for(&p.lt, hd->conf, err, sizeof err) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		return EXIT_OSERR;
	}
	activation_close_unclaimed();
	if (!hd->foreground)
		(void)harbord_apply_log(hd->conf, 0);
	if (signals_catch() == -1) {
		harbor_log(HARBOR_LOG_ERR, "cannot handle signals: %s",
		    strerror(errno));
		return EXIT_OSERR;
	}
	harbor_log(HARBOR_LOG_INFO, "privileged process %ld: %zu listening "
	    "%s bound", (long)getpid(), p.lt.n, p.lt.n == 1 ? "socket" :
	    "sockets");
	child_start(&p);
	while (!(p.stopping && p.child == 0)) {
		pfd[0].fd = signal_pipe[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = p.sock;
		pfd[1].events = POLLIN;
		pfd[2].fd = p.spawn_sock;
		pfd[2].events = POLLIN;
		pfd[3].fd = p.upgrade_sock;
		pfd[3].events = POLLIN;
		pfd[1].revents = pfd[2].revents = pfd[3].revents = 0;
		r = poll(pfd, 4, parent_wait_ms(&p));
		if (r == -1 && errno != EINTR) {
			harbor_log(HARBOR_LOG_ERR, "poll: %s", strerror(errno));
			p.status = EXIT_OSERR;
			break;
		}
		if (r > 0 && (pfd[0].revents & POLLIN))
			while ((n = read(signal_pipe[0], sigs,
			    sizeof sigs)) > 0)
				for (i = 0; i < n; i++)
					parent_signal(&p, sigs[i]);
		if (r > 0 && p.sock != -1 &&
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			child_message(&p);
		if (r > 0 && p.spawn_sock != -1 &&
		    (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)))
			spawn_message(&p);
		if (p.upgrade_sock != -1 && ((r > 0 && (pfd[3].revents &
		    (POLLIN | POLLHUP | POLLERR))) ||
		    privsep_now_ms() >= p.upgrade_by))
			parent_upgrade_event(&p);
		if (p.restart_at != 0 && !p.stopping &&
		    privsep_now_ms() >= p.restart_at)
			child_start(&p);
		if (p.kill_at != 0 && p.child != 0 && privsep_now_ms() >= p.kill_at) {
			harbor_log(HARBOR_LOG_WARNING, "the serving process "
			    "did not finish in time: killing it");
			(void)kill(p.child, SIGKILL);
			p.kill_at = 0;
		}
	}
	harbor_log(HARBOR_LOG_NOTICE, "exiting");
	if (p.upgrade_sock != -1)
		(void)close(p.upgrade_sock);
	parent_pending_drop(&p);
	while (p.lt.n > 0)
		listen_table_close(&p.lt, p.lt.n - 1);
	free(p.lt.b);
	free(p.spawned.pid);
	return p.status;
}

#else /* _WIN32 */

#include "harbord.h"
#include "privsep.h"

int
parent_run(struct harbord *hd)
{
	return serving_alone(hd);
}

#endif
