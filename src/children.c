/*
 * Children: the processes exec services start, from fork to reaping.
 *
 * The table is the server's.  An I/O loop forks with the table locked and
 * enters the child before it lets go, so the SIGCHLD handler, which runs
 * on the main loop and takes the same lock, always finds the child it is
 * told of.  Only children in the table are waited for (never "any child":
 * a program that embeds libharbor may have children of its own).
 *
 * A child's standard error is a pipe read on the main loop; each line is
 * logged with the service and the pid.  When the child is reaped, what is
 * in the pipe is logged first, then the exit.  What a child may have
 * logged is bounded: a line is cut at the service's stderr-line-max, and
 * lines beyond its stderr-rate (a token bucket of bytes, a second's worth
 * at once) are dropped; the bytes dropped either way are counted and said
 * when the child goes.  While it drops, harbord reads its pipe only every
 * CHILD_PAUSE_MS, so a program that writes without end costs a few reads
 * a second, not a CPU, and waits on its own writes meanwhile.
 *
 * Each child leads a process group of its own, and harbord signals the
 * group, so what the program started goes with it.  What it leaves
 * running when it exits (a "sleep 60 &") is still its group: the entry
 * stays, holding its max-children place and reading the pipe, which such
 * processes may share, until the group is empty -- looked at every
 * CHILD_LINGER_POLL_MS, since no signal says so.  A process that leaves
 * the group (setsid, as daemons do) is not followed.  A group id is not
 * reused while the group has members, so signalling it cannot reach
 * another process's group.
 */
#include "autoconfig.h"

#ifndef _WIN32

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core.h"

#define CHILD_PAUSE_MS	250
#define CHILD_LINGER_POLL_MS	250
/* Read from one pipe at most this much a turn of the loop, so that a
 * program writing without pause cannot keep the main loop to itself. */
#define CHILD_READ_TURN	(64 * 1024)

struct child {
	struct children		*cs;
	pid_t			 pid;
	char			*service;
	uint64_t		 conn_id;
	struct limits		*limits;	/* its service's */
	int			 holds_place;	/* one of max-children */
	int			 remote;	/* the spawner's: not ours to
						   wait for or signal */
	int64_t			 started_ms;
	int64_t			 reaped_ms;	/* 0: the leader runs */
	evutil_socket_t		 errfd;		/* -1 once at its end */
	struct event		*errev;
	struct event		*resume;	/* reading again after a pause */
	struct rate		 rate;		/* stderr-rate, in bytes */
	struct bucket		 budget;
	unsigned		 rate_bytes;	/* as configured, for logs */
	size_t			 line_max;
	char			 line[STDERR_LINE_MAX];
	size_t			 linelen;
	int			 cutting;	/* dropping a long line's rest */
	int			 over_said;
	uint64_t		 dropped;	/* bytes */
	struct child		*next;
};

struct children {
	struct conn_host	*host;
	mutex_t			 lock;
	struct child		*list;
	struct event		*sigchld;
	struct event		*linger;	/* polls what children left */
};

static int64_t
now_ms(void)
{
	struct timeval	tv;

	(void)evutil_gettimeofday(&tv, NULL);
	return tv_ms(&tv);
}

/* A whole line (or the first line_max bytes of a longer one, cut): to the
 * log if the rate has room for it, else dropped. */
static void
child_line(struct child *ch, int cut)
{
	size_t	i, cost = ch->linelen + 1;	/* and its newline */
	int	pass;

	ch->linelen = 0;
	if (ch->rate.burst != 0 && !bucket_has(&ch->budget, &ch->rate,
	    now_ms(), (unsigned)cost)) {
		ch->dropped += cost - 1;
		if (ch->over_said)
			return;
		ch->over_said = 1;
		pass = loglimit_pass(&ch->limits->log, ch->service,
		    LOGLIMIT_STDERR, "standard error over stderr-rate",
		    now_ms());
		if (pass == -1)
			ch->cs->host->log_flush_soon(ch->cs->host);
		if (pass == 1)
			log_notice("service %s: pid %ld: standard error over "
			    "stderr-rate %u bytes/s; dropping what exceeds it",
			    ch->service, (long)ch->pid, ch->rate_bytes);
		return;
	}
	if (ch->rate.burst != 0)
		bucket_spend(&ch->budget, (unsigned)cost);
	/* Control characters would let a program forge log lines. */
	for (i = 0; i < cost - 1; i++)
		if ((unsigned char)ch->line[i] < 0x20 && ch->line[i] != '\t')
			ch->line[i] = '?';
		else if (ch->line[i] == 0x7f)
			ch->line[i] = '?';
	log_notice("service %s: pid %ld: %.*s%s", ch->service, (long)ch->pid,
	    (int)(cost - 1), ch->line, cut ? " [cut]" : "");
}

/* Cuts what was read into lines. */
static void
child_take(struct child *ch, const char *buf, size_t n)
{
	const char	*p, *nl;
	size_t		 take, room;

	for (p = buf; p < buf + n; p += take) {
		nl = memchr(p, '\n', (size_t)(buf + n - p));
		take = (size_t)((nl != NULL ? nl : buf + n) - p);
		if (ch->cutting) {
			ch->dropped += take;
			if (nl != NULL) {
				ch->cutting = 0;
				take++;
			}
			continue;
		}
		room = ch->line_max - ch->linelen;
		if (take > room) {
			memcpy(ch->line + ch->linelen, p, room);
			ch->linelen += room;
			child_line(ch, 1);
			ch->dropped += take - room;
			if (nl != NULL)
				take++;
			else
				ch->cutting = 1;
			continue;
		}
		memcpy(ch->line + ch->linelen, p, take);
		ch->linelen += take;
		if (nl != NULL) {
			take++;
			if (ch->linelen > 0 && ch->line[ch->linelen - 1] == '\r')
				ch->linelen--;
			child_line(ch, 0);
		}
	}
}

/* Reads what is in the pipe now, up to CHILD_READ_TURN; at its end,
 * closes it.  Having dropped some of it, it pauses. */
static void
child_read_stderr(struct child *ch)
{
	struct timeval	pause = { 0, CHILD_PAUSE_MS * 1000 };
	char		buf[4096];
	ssize_t		n;
	size_t		turn = 0;
	uint64_t	dropped = ch->dropped;

	while (ch->errfd != -1 && turn < CHILD_READ_TURN) {
		n = read(ch->errfd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			if (ch->linelen > 0)
				child_line(ch, 0);
			event_del(ch->errev);
			(void)event_del(ch->resume);
			(void)close(ch->errfd);
			ch->errfd = -1;
			return;
		}
		turn += (size_t)n;
		child_take(ch, buf, (size_t)n);
	}
	if (ch->dropped > dropped && ch->errfd != -1 &&
	    !evtimer_pending(ch->resume, NULL)) {
		event_del(ch->errev);
		(void)evtimer_add(ch->resume, &pause);
	}
}

static void
child_resume(evutil_socket_t fd, short what, void *arg)
{
	struct child	*ch = arg;

	if (ch->errfd != -1)
		(void)event_add(ch->errev, NULL);
}

static void
child_stderr_cb(evutil_socket_t fd, short what, void *arg)
{
	child_read_stderr(arg);
}

static void
child_free(struct child *ch)
{
	/* What came after its last newline (the pipe still open somewhere,
	 * say) is logged, not lost. */
	if (ch->linelen > 0)
		child_line(ch, 0);
	if (ch->dropped > 0)
		log_notice("service %s: conn %llu: pid %ld: %llu bytes of its "
		    "standard error dropped (over stderr-rate %u bytes/s, or "
		    "past stderr-line-max %zu in a line)", ch->service,
		    (unsigned long long)ch->conn_id, (long)ch->pid,
		    (unsigned long long)ch->dropped, ch->rate_bytes,
		    ch->line_max);
	if (ch->errev != NULL)
		event_free(ch->errev);
	if (ch->resume != NULL)
		event_free(ch->resume);
	if (ch->errfd != -1)
		(void)close(ch->errfd);
	if (ch->limits != NULL) {
		if (ch->holds_place)
			limits_child_give(ch->limits);
		limits_release(ch->limits);
	}
	free(ch->service);
	free(ch);
}

static void
child_log_exit(struct child *ch, int status)
{
	int64_t	took = now_ms() - ch->started_ms;

	if (WIFEXITED(status))
		harbor_log(WEXITSTATUS(status) == 0 ? HARBOR_LOG_INFO :
		    HARBOR_LOG_NOTICE, "service %s: conn %llu: pid %ld exited "
		    "with status %d after %lld ms", ch->service,
		    (unsigned long long)ch->conn_id, (long)ch->pid,
		    WEXITSTATUS(status), (long long)took);
	else if (WIFSIGNALED(status))
		log_notice("service %s: conn %llu: pid %ld killed by signal %d "
		    "(%s)%s after %lld ms", ch->service,
		    (unsigned long long)ch->conn_id, (long)ch->pid,
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
#ifdef WCOREDUMP
		    WCOREDUMP(status) ? ", core dumped" :
#endif
		    "", (long long)took);
}

/* Some process of the child's group is still there. */
static int
group_alive(pid_t pgid)
{
	return kill(-pgid, 0) == 0 || errno == EPERM;
}

static void
children_linger_arm(struct children *cs)
{
	struct timeval	tv = { 0, CHILD_LINGER_POLL_MS * 1000 };

	if (!evtimer_pending(cs->linger, NULL))
		(void)evtimer_add(cs->linger, &tv);
}

/* The child was reaped: it goes, unless its group lives on. */
static int
child_reaped(struct children *cs, struct child *ch)
{
	if (!group_alive(ch->pid))
		return 1;
	ch->reaped_ms = now_ms();
	log_info("service %s: conn %llu: pid %ld left processes running in "
	    "its group; they keep its max-children place until they end",
	    ch->service, (unsigned long long)ch->conn_id, (long)ch->pid);
	children_linger_arm(cs);
	return 0;
}

static void
children_reap(evutil_socket_t sig, short what, void *arg)
{
	struct children	*cs = arg;
	struct child	*ch, **prev;
	pid_t		 r;
	int		 status;

	mutex_lock(&cs->lock);
	for (prev = &cs->list; (ch = *prev) != NULL; ) {
		if (ch->reaped_ms != 0 || ch->remote) {
			prev = &ch->next;
			continue;
		}
		while ((r = waitpid(ch->pid, &status, WNOHANG)) == -1 &&
		    errno == EINTR)
			;
		if (r == 0) {
			prev = &ch->next;
			continue;
		}
		if (r == ch->pid) {
			child_read_stderr(ch);
			child_log_exit(ch, status);
		} else
			log_warn("service %s: pid %ld was reaped elsewhere; "
			    "its exit status is unknown", ch->service,
			    (long)ch->pid);
		if (!child_reaped(cs, ch)) {
			prev = &ch->next;
			continue;
		}
		*prev = ch->next;
		child_free(ch);
	}
	mutex_unlock(&cs->lock);
}

void
children_ended(struct conn_host *host, pid_t pid, int status)
{
	struct children	*cs = host->children;
	struct child	*ch, **prev;

	if (cs == NULL)
		return;
	mutex_lock(&cs->lock);
	for (prev = &cs->list; (ch = *prev) != NULL; prev = &ch->next)
		if (ch->pid == pid && ch->remote && ch->reaped_ms == 0)
			break;
	if (ch == NULL) {
		mutex_unlock(&cs->lock);
		log_debug("pid %ld ended, which this server did not start",
		    (long)pid);
		return;
	}
	child_read_stderr(ch);
	child_log_exit(ch, status);
	if (child_reaped(cs, ch)) {
		*prev = ch->next;
		child_free(ch);
	}
	mutex_unlock(&cs->lock);
}

/* What reaped children left behind: gone yet? */
static void
children_linger(evutil_socket_t fd, short what, void *arg)
{
	struct children	*cs = arg;
	struct child	*ch, **prev;
	int		 more = 0;

	mutex_lock(&cs->lock);
	for (prev = &cs->list; (ch = *prev) != NULL; ) {
		if (ch->reaped_ms == 0 || group_alive(ch->pid)) {
			more |= ch->reaped_ms != 0;
			prev = &ch->next;
			continue;
		}
		child_read_stderr(ch);
		log_info("service %s: conn %llu: the processes pid %ld left "
		    "ended after %lld ms", ch->service,
		    (unsigned long long)ch->conn_id, (long)ch->pid,
		    (long long)(now_ms() - ch->reaped_ms));
		*prev = ch->next;
		child_free(ch);
	}
	if (more)
		children_linger_arm(cs);
	mutex_unlock(&cs->lock);
}

int
children_start(struct conn_host *host)
{
	struct children	*cs;

	if (host->children != NULL)
		return 0;
	if ((cs = calloc(1, sizeof *cs)) == NULL)
		return -1;
	mutex_init(&cs->lock);
	cs->host = host;
	cs->sigchld = evsignal_new(host->base, SIGCHLD, children_reap, cs);
	cs->linger = evtimer_new(host->base, children_linger, cs);
	if (cs->sigchld == NULL || cs->linger == NULL ||
	    evsignal_add(cs->sigchld, NULL) == -1) {
		if (cs->sigchld != NULL)
			event_free(cs->sigchld);
		if (cs->linger != NULL)
			event_free(cs->linger);
		mutex_destroy(&cs->lock);
		free(cs);
		return -1;
	}
	host->children = cs;
	return 0;
}

void
children_lock(struct conn_host *host)
{
	mutex_lock(&host->children->lock);
}

void
children_unlock(struct conn_host *host)
{
	mutex_unlock(&host->children->lock);
}

int
children_add_locked(struct conn_host *host, pid_t pid,
    struct harbor_service *svc, uint64_t conn_id, int errfd, int place,
    int remote)
{
	struct children	*cs = host->children;
	struct child	*ch;

	if ((ch = calloc(1, sizeof *ch)) == NULL ||
	    (ch->service = strdup(svc->name)) == NULL) {
		free(ch);
		(void)close(errfd);
		return -1;
	}
	ch->pid = pid;
	ch->conn_id = conn_id;
	ch->started_ms = now_ms();
	ch->errfd = errfd;
	ch->cs = cs;
	ch->limits = svc->limits;
	ch->holds_place = place;
	ch->remote = remote;
	limits_hold(svc->limits);
	ch->rate_bytes = svc->stderr_rate;
	ch->rate.milli_per_sec = svc->stderr_rate * 1000;
	/* A second's worth at once, and never less than a whole line. */
	ch->rate.burst = svc->stderr_rate == 0 ? 0 :
	    svc->stderr_rate > svc->stderr_line_max + 1 ?
	    svc->stderr_rate : (unsigned)svc->stderr_line_max + 1;
	ch->line_max = svc->stderr_line_max;
	/* Threaded libevent: the main loop may be told of a new event from
	 * this thread. */
	ch->errev = event_new(host->base, errfd, EV_READ | EV_PERSIST,
	    child_stderr_cb, ch);
	ch->resume = evtimer_new(host->base, child_resume, ch);
	if (ch->errev == NULL || ch->resume == NULL ||
	    event_add(ch->errev, NULL) == -1) {
		log_warn("service %s: pid %ld: its standard error cannot be "
		    "read; it is lost", svc->name, (long)pid);
		(void)close(ch->errfd);
		ch->errfd = -1;
	}
	ch->next = cs->list;
	cs->list = ch;
	return 0;
}

int
children_signal(struct conn_host *host, pid_t pid, int sig)
{
	struct children	*cs = host->children;
	struct child	*ch;
	int		 r = -1;

	/* Under the lock the entry is there: the child has not been reaped,
	 * or its group still has members, so the id is still the group's. */
	mutex_lock(&cs->lock);
	for (ch = cs->list; ch != NULL; ch = ch->next)
		if (ch->pid == pid) {
			r = ch->remote ? host->spawner.kill(host->spawner.arg,
			    pid, sig) : kill(-pid, sig);
			break;
		}
	mutex_unlock(&cs->lock);
	return r;
}

void
children_free(struct conn_host *host)
{
	struct children	*cs = host->children;
	struct child	*ch, *next;

	if (cs == NULL)
		return;
	/* Children still running are left to init. */
	for (ch = cs->list; ch != NULL; ch = next) {
		next = ch->next;
		child_free(ch);
	}
	event_free(cs->sigchld);
	event_free(cs->linger);
	mutex_destroy(&cs->lock);
	free(cs);
	host->children = NULL;
}

#else /* _WIN32: there is no exec */

#include "core.h"

int
children_start(struct conn_host *host)
{
	(void)host;
	return 0;
}

void
children_free(struct conn_host *host)
{
	(void)host;
}

void
children_ended(struct conn_host *host, pid_t pid, int status)
{
	(void)host;
	(void)pid;
	(void)status;
}

#endif
