/*
 * Watching a running server: the counts of its services and of the whole,
 * the list of its connections, dropping one, draining a service.  Each
 * connection is read, or ended, on its own loop: the main loop asks every
 * loop and answers once the last one has.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "server.h"

enum watch_kind { WATCH_LIST, WATCH_DROP };

struct watch_task {
	struct watch_job	*job;
	struct loop		*loop;
	struct conn_list	 found;		/* WATCH_LIST */
};

struct watch_job {
	struct harbor_server	*srv;
	enum watch_kind		 kind;
	char			*service;	/* WATCH_LIST: NULL for all */
	uint64_t		 id;		/* WATCH_DROP */
	char			 why[128];
	atomic_int		 pending;	/* loops yet to answer */
	atomic_int		 dropped;
	atomic_int		 failed;
	harbor_conn_list_fn	*list_fn;
	harbor_conn_drop_fn	*drop_fn;
	void			*arg;
	struct watch_task	*tasks;
	int			 ntasks;
	struct watch_job	*prev, *next;	/* srv->watching: main loop */
};

_Static_assert(REFUSE_KINDS - 1 <= HARBOR_REFUSAL_KINDS_MAX,
    "harbor_service_stats has room for every refusal");
_Static_assert(STATS_DURATION_BOUNDS + 1 == HARBOR_DURATION_BUCKETS,
    "harbor_service_stats has every duration bucket");

/* --- counts --------------------------------------------------------------- */

const char *
harbor_refusal_name(unsigned kind)
{
	/* The library's REFUSE_NONE is no refusal: kind 0 is the next. */
	return kind + 1 < REFUSE_KINDS ?
	    admission_refusal_label((enum refusal)(kind + 1)) : NULL;
}

unsigned
harbor_duration_bound_ms(unsigned i)
{
	return i < STATS_DURATION_BOUNDS ? stats_duration_bound_ms[i] : 0;
}

struct harbor_server *
harbor_service_server(struct harbor_service *svc)
{
	return svc->server;
}

int
harbor_service_stats(struct harbor_service *svc,
    struct harbor_service_stats *st)
{
	struct harbor_service_stats	out;
	struct stats_sum		sum;
	size_t				i, n = st->size;

	if (svc->stats == NULL || n < offsetof(struct harbor_service_stats,
	    accepted))
		return -1;
	memset(&out, 0, sizeof out);
	stats_sum(svc->stats, &sum);
	out.size = n < sizeof out ? n : sizeof out;
	out.open = limits_active(svc->limits);
	out.children = limits_children(svc->limits);
	out.paused = atomic_load(&svc->paused);
	out.accepted = sum.accepted;
	out.closed = sum.closed;
	out.bytes_in = sum.bytes_in;
	out.bytes_out = sum.bytes_out;
	for (i = 1; i < REFUSE_KINDS; i++)
		out.refused[i - 1] = sum.refused[i];
	for (i = 0; i < HARBOR_DURATION_BUCKETS; i++)
		out.duration[i] = sum.duration[i];
	out.duration_ms = sum.duration_ms;
	memcpy(st, &out, out.size);
	return 0;
}

int
harbor_server_stats(struct harbor_server *srv, struct harbor_server_stats *st)
{
	struct harbor_server_stats	out;
	size_t				n = st->size;

	if (n < offsetof(struct harbor_server_stats, log_dropped) +
	    sizeof out.log_dropped)
		return -1;
	memset(&out, 0, sizeof out);
	out.size = n < sizeof out ? n : sizeof out;
	out.open = atomic_load(&srv->host.nconns);
	out.pool_queued = srv->host.pool != NULL ?
	    pool_queued(srv->host.pool) : 0;
	out.io_threads = srv->settings.io_threads;
	out.workers = srv->settings.workers;
	out.started = srv->started_at;
	out.reloads_ok = atomic_load(&srv->reloads_ok);
	out.reloads_failed = atomic_load(&srv->reloads_failed);
	out.log_dropped = harbor_log_dropped();
	memcpy(st, &out, out.size);
	return 0;
}

void
harbor_server_count_reload(struct harbor_server *srv, int ok)
{
	atomic_fetch_add(ok ? &srv->reloads_ok : &srv->reloads_failed, 1);
}

void
harbor_server_foreach_service(struct harbor_server *srv,
    harbor_service_visit_fn *fn, void *arg)
{
	size_t	i;

	mutex_lock(&srv->svcs_lock);
	for (i = 0; i < srv->nsvcs; i++)
		fn(srv->svcs[i], arg);
	mutex_unlock(&srv->svcs_lock);
}

/* --- draining ------------------------------------------------------------- */

int
harbor_server_pause_service(struct harbor_server *srv, const char *name,
    int pause, char *err, size_t errlen)
{
	struct harbor_service	*svc = NULL;
	struct listener		*l;
	size_t			 i;
	int			 r = 0;

	for (i = 0; i < srv->nsvcs; i++)
		if (strcmp(srv->svcs[i]->name, name) == 0)
			svc = srv->svcs[i];
	if (svc == NULL) {
		snprintf(err, errlen, "no service '%s'", name);
		return -1;
	}
	pause = pause != 0;
	for (l = srv->listeners; l != NULL; l = l->next)
		if (l->svc == svc && listener_pause(l, pause, err,
		    errlen) == -1)
			r = -1;
	/* Not accepting again anywhere it could not listen: tried again
	 * on the next resume. */
	if (r == 0 || pause)
		atomic_store(&svc->paused, pause);
	if (r == 0)
		svc_log(svc, HARBOR_LOG_NOTICE, "service %s %s", name, pause ?
		    "drained: not accepting" : "accepting again");
	return r;
}

/* --- asking every loop --------------------------------------------------- */

static void
job_free(struct watch_job *job)
{
	int	i;
	size_t	j;

	for (i = 0; i < job->ntasks; i++) {
		for (j = 0; j < job->tasks[i].found.n; j++)
			free(job->tasks[i].found.v[j]);
		free(job->tasks[i].found.v);
	}
	free(job->tasks);
	free(job->service);
	free(job);
}

static void
job_unlink(struct watch_job *job)
{
	if (job->prev != NULL)
		job->prev->next = job->next;
	else
		job->srv->watching = job->next;
	if (job->next != NULL)
		job->next->prev = job->prev;
}

static int
by_id(const void *a, const void *b)
{
	const struct harbor_conn_info	*x = *(const struct harbor_conn_info
					    *const *)a;
	const struct harbor_conn_info	*y = *(const struct harbor_conn_info
					    *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* On the main loop, when every loop has answered. */
static void
job_done(evutil_socket_t fd, short what, void *arg)
{
	struct watch_job		 *job = arg;
	const struct harbor_conn_info	**all = NULL;
	size_t				  n = 0, j;
	int				  i;

	(void)fd;
	(void)what;
	job_unlink(job);
	if (job->kind == WATCH_DROP) {
		job->drop_fn(atomic_load(&job->dropped), job->arg);
		job_free(job);
		return;
	}
	for (i = 0; i < job->ntasks; i++)
		n += job->tasks[i].found.n;
	if (atomic_load(&job->failed) || (n > 0 &&
	    (all = malloc(n * sizeof *all)) == NULL)) {
		log_err("listing the connections: out of memory");
		n = 0;
	} else {
		n = 0;
		for (i = 0; i < job->ntasks; i++)
			for (j = 0; j < job->tasks[i].found.n; j++)
				all[n++] = job->tasks[i].found.v[j];
		if (n > 1)
			qsort(all, n, sizeof *all, by_id);
	}
	job->list_fn(all, n, job->arg);
	free(all);
	job_free(job);
}

static void
task_answered(struct watch_job *job)
{
	struct timeval	now = { 0, 0 };

	if (atomic_fetch_sub(&job->pending, 1) != 1)
		return;
	if (event_base_once(job->srv->host.base, -1, EV_TIMEOUT, job_done,
	    job, &now) == -1)
		log_err("cannot answer on the main loop: a listing of "
		    "connections is lost");
}

/* On the task's loop. */
static void
task_run(void *arg)
{
	struct watch_task	*t = arg;
	struct watch_job	*job = t->job;

	if (job->kind == WATCH_LIST) {
		if (conn_describe_loop(t->loop, job->service, &t->found) == -1)
			atomic_store(&job->failed, 1);
	} else if (conn_drop_on_loop(t->loop, job->id, job->why))
		atomic_store(&job->dropped, 1);
	task_answered(job);
}

static struct watch_job *
job_new(struct harbor_server *srv, enum watch_kind kind)
{
	struct watch_job	*job;

	if (!srv->started || srv->nloops < 1 ||
	    (job = calloc(1, sizeof *job)) == NULL)
		return NULL;
	if ((job->tasks = calloc((size_t)srv->nloops,
	    sizeof *job->tasks)) == NULL) {
		free(job);
		return NULL;
	}
	job->srv = srv;
	job->kind = kind;
	job->ntasks = srv->nloops;
	atomic_init(&job->pending, srv->nloops);
	atomic_init(&job->dropped, 0);
	atomic_init(&job->failed, 0);
	return job;
}

static void
job_start(struct watch_job *job)
{
	struct harbor_server	*srv = job->srv;
	int			 i;

	job->next = srv->watching;
	if (srv->watching != NULL)
		srv->watching->prev = job;
	srv->watching = job;
	for (i = 0; i < job->ntasks; i++) {
		job->tasks[i].job = job;
		job->tasks[i].loop = &srv->loops[i];
		if (loop_post(&srv->loops[i], task_run, &job->tasks[i]) == -1) {
			atomic_store(&job->failed, 1);
			task_answered(job);
		}
	}
}

int
harbor_server_list_connections(struct harbor_server *srv,
    const char *service, harbor_conn_list_fn *fn, void *arg)
{
	struct watch_job	*job;

	if ((job = job_new(srv, WATCH_LIST)) == NULL)
		return -1;
	if (service != NULL && (job->service = strdup(service)) == NULL) {
		job_free(job);
		return -1;
	}
	job->list_fn = fn;
	job->arg = arg;
	job_start(job);
	return 0;
}

int
harbor_server_drop_connection(struct harbor_server *srv, uint64_t id,
    const char *why, harbor_conn_drop_fn *fn, void *arg)
{
	struct watch_job	*job;

	if ((job = job_new(srv, WATCH_DROP)) == NULL)
		return -1;
	job->id = id;
	strlcpy(job->why, why != NULL ? why : "dropped", sizeof job->why);
	job->drop_fn = fn;
	job->arg = arg;
	job_start(job);
	return 0;
}

void
server_watch_free(struct harbor_server *srv)
{
	struct watch_job	*job, *next;

	for (job = srv->watching; job != NULL; job = next) {
		next = job->next;
		job_free(job);
	}
	srv->watching = NULL;
}
