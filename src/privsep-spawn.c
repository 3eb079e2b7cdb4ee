/*
 * Programs an exec service runs as its own user, when the serving process
 * has given up root: the serving process asks the privileged one, which
 * starts the program only if the configuration has that service run that
 * program as that user, with an environment of the connection's UCSPI
 * variables and the service's env and passenv alone.  A compromised
 * serving process can start nothing else, as no one else, and signal no
 * process but those started for it.  See doc/privsep.txt.
 *
 * PS_SPAWN's payload: the service's name, NUL; uid and gid (int32 each,
 * -1: none); the number of arguments (int32) and each, NUL-terminated; the
 * number of environment entries and each.  Its descriptors: the
 * program's standard input and output, then its standard error.
 */
#include "autoconfig.h"

#ifndef _WIN32

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "harbor.h"
#include "privsep.h"
#include "privsep-spawn.h"

/* Not in POSIX: as many as Linux and the BSDs have. */
#ifndef NSIG
#define NSIG	65
#endif

#define SPAWN_WORDS_MAX		4096
#define SPAWN_PAYLOAD_MAX	(1024 * 1024)
#define SPAWN_ANSWER_S		10

/* The variables exec sets for a connection (UCSPI's). */
static const char *const ucspi_names[] = {
	"PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT",
	"TCPCONNNUM", NULL
};

/* --- the request ------------------------------------------------------------ */

static size_t
words_len(char *const *w, size_t *n)
{
	size_t	len = 0;

	for (*n = 0; w != NULL && w[*n] != NULL; (*n)++)
		len += strlen(w[*n]) + 1;
	return len;
}

static unsigned char *
put_words(unsigned char *p, char *const *w, size_t n)
{
	size_t	i, l;

	privsep_put32(p, (long)n);
	p += 4;
	for (i = 0; i < n; i++) {
		l = strlen(w[i]) + 1;
		memcpy(p, w[i], l);
		p += l;
	}
	return p;
}

int
spawn_request_encode(const char *service, const struct harbor_spawn *sp,
    unsigned char **out, size_t *outlen)
{
	size_t		 nargv, nenv, len;
	unsigned char	*buf, *p;

	len = strlen(service) + 1 + 8 + 4 + words_len(sp->argv, &nargv) + 4 +
	    words_len(sp->envp, &nenv);
	if (len > SPAWN_PAYLOAD_MAX || nargv > SPAWN_WORDS_MAX ||
	    nenv > SPAWN_WORDS_MAX || (buf = malloc(len)) == NULL)
		return -1;
	p = buf;
	memcpy(p, service, strlen(service) + 1);
	p += strlen(service) + 1;
	privsep_put32(p, sp->uid);
	privsep_put32(p + 4, sp->gid);
	p = put_words(p + 8, sp->argv, nargv);
	(void)put_words(p, sp->envp, nenv);
	*out = buf;
	*outlen = len;
	return 0;
}

/* n NUL-terminated words from *p, into a NULL-terminated array. */
static char **
get_words(const unsigned char **p, const unsigned char *end)
{
	char	**w;
	long	  n, i;
	const unsigned char *nul;

	if (end - *p < 4 || (n = privsep_get32(*p)) < 0 || n > SPAWN_WORDS_MAX)
		return NULL;
	*p += 4;
	if ((w = calloc((size_t)n + 1, sizeof *w)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((nul = memchr(*p, '\0', (size_t)(end - *p))) == NULL ||
		    (w[i] = strdup((const char *)*p)) == NULL)
			goto bad;
		*p = nul + 1;
	}
	return w;
bad:
	for (i = 0; w[i] != NULL; i++)
		free(w[i]);
	free(w);
	return NULL;
}

static void
free_words(char **w)
{
	size_t	i;

	for (i = 0; w != NULL && w[i] != NULL; i++)
		free(w[i]);
	free(w);
}

void
spawn_request_free(struct spawn_request *rq)
{
	free(rq->service);
	free_words(rq->argv);
	free_words(rq->envp);
	memset(rq, 0, sizeof *rq);
}

int
spawn_request_decode(const unsigned char *buf, size_t len,
    struct spawn_request *rq)
{
	const unsigned char	*p, *end, *nul;

	memset(rq, 0, sizeof *rq);
	if (buf == NULL || len == 0)
		return -1;
	end = buf + len;
	if (len > SPAWN_PAYLOAD_MAX ||
	    (nul = memchr(buf, '\0', len)) == NULL || nul == buf ||
	    (rq->service = strdup((const char *)buf)) == NULL)
		goto bad;
	p = nul + 1;
	if (end - p < 8)
		goto bad;
	rq->uid = privsep_get32(p);
	rq->gid = privsep_get32(p + 4);
	p += 8;
	if ((rq->argv = get_words(&p, end)) == NULL || rq->argv[0] == NULL ||
	    (rq->envp = get_words(&p, end)) == NULL || p != end)
		goto bad;
	return 0;
bad:
	spawn_request_free(rq);
	return -1;
}

/* --- what the configuration allows ------------------------------------------ */

static int
ucspi_entry(const char *e)
{
	size_t		 i, n = strcspn(e, "=");
	const char	*v = e + n + 1;

	if (e[n] != '=' || strlen(v) > 64 ||
	    v[strspn(v, "0123456789abcdefABCDEF.:TCP")] != '\0')
		return 0;
	for (i = 0; ucspi_names[i] != NULL; i++)
		if (strlen(ucspi_names[i]) == n &&
		    strncmp(ucspi_names[i], e, n) == 0)
			return 1;
	return 0;
}

/* One of the service's env entries, or a passenv from our environment. */
static int
service_entry(const struct conf_service *b, const char *e)
{
	size_t		 i, n = strcspn(e, "=");
	const char	*v;

	for (i = 0; i < b->env.n; i++)
		if (strcmp(b->env.v[i], e) == 0)
			return 1;
	for (i = 0; i < b->passenv.n; i++)
		if (strlen(b->passenv.v[i]) == n &&
		    strncmp(b->passenv.v[i], e, n) == 0 &&
		    (v = getenv(b->passenv.v[i])) != NULL &&
		    strcmp(v, e + n + 1) == 0)
			return 1;
	return 0;
}

int
spawn_request_allowed(const struct config *conf,
    const struct spawn_request *rq, char *why, size_t whylen)
{
	const struct conf_words		*argv;
	const struct conf_service	*s;
	const struct conf_pos		*at;
	long				 uid, gid;
	size_t				 i;

	if (config_exec_program(conf, rq->service, &argv, &uid, &gid,
	    &at) == -1) {
		snprintf(why, whylen, "no exec service '%s'", rq->service);
		return -1;
	}
	if (uid != rq->uid || gid != rq->gid) {
		snprintf(why, whylen, "service '%s' runs its program as uid "
		    "%ld, gid %ld, not %ld, %ld", rq->service, uid, gid,
		    rq->uid, rq->gid);
		return -1;
	}
	for (i = 0; i < argv->n && rq->argv[i] != NULL; i++)
		if (strcmp(argv->v[i], rq->argv[i]) != 0)
			break;
	if (i != argv->n || rq->argv[i] != NULL) {
		snprintf(why, whylen, "service '%s' runs another program",
		    rq->service);
		return -1;
	}
	for (s = conf->services; strcmp(s->name, rq->service) != 0;
	    s = s->next)
		;
	for (i = 0; rq->envp[i] != NULL; i++)
		if (!ucspi_entry(rq->envp[i]) &&
		    !service_entry(s, rq->envp[i]) &&
		    !service_entry(&conf->defaults, rq->envp[i])) {
			snprintf(why, whylen, "service '%s' sets no '%.*s' in "
			    "its program's environment", rq->service,
			    (int)strcspn(rq->envp[i], "="), rq->envp[i]);
			return -1;
		}
	return 0;
}

/* --- the parent starts it ---------------------------------------------------- */

pid_t
spawn_start(const struct spawn_request *rq, int io, int err,
    const char *chroot_dir, char *why, size_t whylen)
{
	int	st[2], e[2];
	gid_t	gid;
	pid_t	pid;
	ssize_t	n;

	if (pipe(st) == -1) {
		snprintf(why, whylen, "cannot make a pipe: %s",
		    strerror(errno));
		return -1;
	}
	(void)fcntl(st[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(st[1], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) == -1) {
		snprintf(why, whylen, "cannot fork: %s", strerror(errno));
		(void)close(st[0]);
		(void)close(st[1]);
		return -1;
	}
	if (pid == 0) {
		/* The parent has one thread: anything may be called here. */
		struct sigaction	sa;
		sigset_t		none;
		int			sig, stage = 0;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			(void)sigaction(sig, &sa, NULL);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)setpgid(0, 0);
		if (dup2(io, 0) == -1 || dup2(io, 1) == -1 ||
		    dup2(err, 2) == -1 || dup2(st[1], 3) == -1)
			goto failed;
		(void)fcntl(3, F_SETFD, FD_CLOEXEC);
#ifdef HAVE_CLOSEFROM
		closefrom(4);
#else
		{
			long	fd, max = sysconf(_SC_OPEN_MAX);

			for (fd = 4; fd < (max > 0 ? max : 1024); fd++)
				(void)close((int)fd);
		}
#endif
		stage = 1;
		if (chroot_dir != NULL && (chroot(chroot_dir) == -1 ||
		    chdir("/") == -1))
			goto failed;
		stage = 2;
		gid = (gid_t)(rq->gid != -1 ? rq->gid : (long)getgid());
		if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
		    (rq->uid != -1 && setuid((uid_t)rq->uid) == -1))
			goto failed;
		stage = 3;
		execve(rq->argv[0], rq->argv, rq->envp);
failed:
		e[0] = stage;
		e[1] = errno;
		(void)!write(3, e, sizeof e);
		_exit(127);
	}
	(void)close(st[1]);
	(void)setpgid(pid, pid);
	while ((n = read(st[0], e, sizeof e)) == -1 && errno == EINTR)
		;
	(void)close(st[0]);
	if (n == (ssize_t)sizeof e) {
		static const char *const what[] = { "cannot set up",
		    "cannot change root for", "cannot become the user of",
		    "cannot run" };

		snprintf(why, whylen, "%s %s: %s", what[e[0] & 3], rq->argv[0],
		    strerror(e[1]));
		return -1;
	}
	return pid;
}

void
spawned_prune(struct spawned_groups *g)
{
	size_t	i;

	for (i = g->n; i-- > 0; )
		if (kill(-g->pid[i], 0) == -1 && errno == ESRCH)
			g->pid[i] = g->pid[--g->n];
}

int
spawned_known(const struct spawned_groups *g, pid_t pid)
{
	size_t	i;

	for (i = 0; i < g->n; i++)
		if (g->pid[i] == pid)
			return 1;
	return 0;
}

int
spawned_room(struct spawned_groups *g)
{
	pid_t	*grown;

	spawned_prune(g);
	if ((grown = realloc(g->pid, (g->n + 1) * sizeof *grown)) == NULL)
		return -1;
	g->pid = grown;
	return 0;
}

void
spawned_signal_all(struct spawned_groups *g, int sig)
{
	size_t	i;

	spawned_prune(g);
	for (i = 0; i < g->n; i++)
		if (kill(-g->pid[i], sig) == 0)
			harbor_log(HARBOR_LOG_NOTICE, "stopped the programs of "
			    "pid %ld, whose serving process is gone",
			    (long)g->pid[i]);
}

/* --- the serving process asks ------------------------------------------------ */

struct spawn_client {
	int		sock;
	pthread_mutex_t	lock;		/* one question at a time */
};

static struct spawn_client	client = { -1, PTHREAD_MUTEX_INITIALIZER };

void
spawn_client_init(int sock)
{
	struct timeval	tv = { SPAWN_ANSWER_S, 0 };

	client.sock = sock;
	(void)setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Sends the question, takes the answer of type want: 0, or -1 with why. */
static int
ask(enum privsep_type type, const void *q, size_t qlen, int fd, int fd2,
    enum privsep_type want, struct privsep_msg *answer, char *why,
    size_t whylen)
{
	int	r;

	if (client.sock == -1) {
		snprintf(why, whylen, "no privileged process to ask");
		return -1;
	}
	(void)pthread_mutex_lock(&client.lock);
	if (privsep_send2(client.sock, type, q, qlen, fd, fd2) == -1) {
		snprintf(why, whylen, "cannot ask the privileged process: %s",
		    strerror(errno));
		r = -1;
	} else if ((r = privsep_recv(client.sock, answer, why,
	    whylen)) == 1 && (answer->type != want || answer->len < 4)) {
		privsep_msg_clear(answer);
		snprintf(why, whylen, "a wrong answer from the privileged "
		    "process");
		r = -1;
	} else if (r == 0) {
		snprintf(why, whylen, "the privileged process is gone");
		r = -1;
	}
	(void)pthread_mutex_unlock(&client.lock);
	return r == 1 ? 0 : -1;
}

pid_t
spawn_client_spawn(void *arg, const char *service,
    const struct harbor_spawn *sp, int io, int err, char *why, size_t whylen)
{
	struct privsep_msg	 answer;
	unsigned char		*q;
	size_t			 qlen;
	long			 pid;
	int			 r;

	(void)arg;
	if (spawn_request_encode(service, sp, &q, &qlen) == -1) {
		snprintf(why, whylen, "its arguments and environment are too "
		    "large");
		return -1;
	}
	r = ask(PS_SPAWN, q, qlen, io, err, PS_SPAWNED, &answer, why, whylen);
	free(q);
	if (r == -1)
		return -1;
	pid = privsep_get32(answer.payload);
	if (pid <= 0)
		snprintf(why, whylen, "%.*s", (int)(answer.len - 4),
		    answer.payload + 4);
	privsep_msg_clear(&answer);
	return pid <= 0 ? -1 : (pid_t)pid;
}

int
spawn_client_kill(void *arg, pid_t pid, int sig)
{
	struct privsep_msg	answer;
	unsigned char		q[8];
	char			why[128];
	long			r;

	(void)arg;
	privsep_put32(q, (long)pid);
	privsep_put32(q + 4, sig);
	if (ask(PS_KILL, q, sizeof q, -1, -1, PS_KILLED, &answer, why,
	    sizeof why) == -1) {
		harbor_log(HARBOR_LOG_WARNING, "cannot signal pid %ld: %s",
		    (long)pid, why);
		errno = EPERM;
		return -1;
	}
	r = privsep_get32(answer.payload);
	if (r == -1 && answer.len >= 8)
		errno = (int)privsep_get32(answer.payload + 4);
	privsep_msg_clear(&answer);
	return (int)r;
}

#endif /* !_WIN32 */
