/*
 * lookup: a module whose handler resolves host names, one a line, off the
 * I/O loops: the name goes to a resolver thread of the module's, and the
 * answer comes back in the connection's order (harbor_conn_post).  A
 * client that hangs up before its answer costs nothing and crashes
 * nothing: the answer is told the client has gone, and only frees.
 *
 *	module /usr/local/lib/harbord/lookup.so
 *	service dns {
 *		listen 127.0.0.1:7200
 *		handler lookup
 *		framing line
 *		option resolvers 4	# threads; 2 unless given
 *	}
 *
 * The answer is the first address, or "ERROR " and the resolver's reason.
 * Build it against an installed libharbor:
 *
 *	cc -shared -fPIC -o lookup.so lookup.c -lpthread \
 *	    $(pkg-config --cflags --libs libharbor)
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <harbor.h>

#define RESOLVERS_DEFAULT	2
#define RESOLVERS_MAX		64
#define NAME_MAX_LEN		255

struct query {
	struct harbor_conn	*conn;		/* held until answered */
	char			 name[NAME_MAX_LEN + 1];
	char			 answer[128];
	struct query		*next;
};

struct resolvers {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;
	struct query		*head, *tail;
	int			 stopping;
	int			 nthreads;
	pthread_t		 threads[RESOLVERS_MAX];
};

/* A connection's questions not answered yet, and whether the client has
 * ended its sending (then the last answer closes). */
struct asking {
	unsigned	pending;
	int		ended;
};

/* In the connection's order: the answer, unless the client has gone. */
static void
answered(struct harbor_conn *c, void *arg, int gone)
{
	struct query	*q = arg;
	struct asking	*a = harbor_conn_get_data(c);

	if (!gone) {
		(void)harbor_conn_printf(c, "%s\r\n", q->answer);
		if (--a->pending == 0 && a->ended)
			harbor_conn_close(c);
	}
	free(q);
}

static void
resolve(struct query *q)
{
	struct addrinfo	hints, *res;
	char		text[INET6_ADDRSTRLEN];
	int		r;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(q->name, NULL, &hints, &res)) != 0) {
		snprintf(q->answer, sizeof q->answer, "ERROR %s",
		    gai_strerror(r));
		return;
	}
	if (res->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->
		    sin_addr, text, sizeof text);
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->
		    sin6_addr, text, sizeof text);
	snprintf(q->answer, sizeof q->answer, "%s", text);
	freeaddrinfo(res);
}

static void *
resolver(void *arg)
{
	struct resolvers	*rs = arg;
	struct query		*q;
	struct harbor_conn	*c;

	pthread_mutex_lock(&rs->lock);
	for (;;) {
		while (rs->head == NULL && !rs->stopping)
			pthread_cond_wait(&rs->work, &rs->lock);
		if ((q = rs->head) == NULL)
			break;
		if ((rs->head = q->next) == NULL)
			rs->tail = NULL;
		pthread_mutex_unlock(&rs->lock);
		resolve(q);
		c = q->conn;
		if (harbor_conn_post(c, answered, q) == -1)
			free(q);
		harbor_conn_release(c);
		pthread_mutex_lock(&rs->lock);
	}
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

static void
lookup_free(void *state)
{
	struct resolvers	*rs = state;
	int			 i;

	/* Every query held its connection, so none is left by now. */
	pthread_mutex_lock(&rs->lock);
	rs->stopping = 1;
	pthread_cond_broadcast(&rs->work);
	pthread_mutex_unlock(&rs->lock);
	for (i = 0; i < rs->nthreads; i++)
		pthread_join(rs->threads[i], NULL);
	pthread_cond_destroy(&rs->work);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

static const char *const lookup_options[] = { "resolvers", NULL };

static int
lookup_init(struct harbor_service *svc, void **state, char *err,
    size_t errlen)
{
	const char		*v = harbor_service_option(svc, "resolvers");
	struct resolvers	*rs;
	long			 n = RESOLVERS_DEFAULT;
	char			*end;

	if (harbor_service_check_options(svc, lookup_options, err,
	    errlen) == -1)
		return -1;
	if (v != NULL && ((n = strtol(v, &end, 10)) < 1 ||
	    n > RESOLVERS_MAX || *end != '\0')) {
		snprintf(err, errlen, "option 'resolvers' must be 1 to %d, "
		    "not '%s'", RESOLVERS_MAX, v);
		return -1;
	}
	if ((rs = calloc(1, sizeof *rs)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->work, NULL);
	for (; rs->nthreads < n; rs->nthreads++)
		if (pthread_create(&rs->threads[rs->nthreads], NULL, resolver,
		    rs) != 0) {
			lookup_free(rs);
			snprintf(err, errlen, "cannot start resolver threads");
			return -1;
		}
	*state = rs;
	return 0;
}

static void
lookup_open(struct harbor_conn *c)
{
	struct asking	*a;

	if ((a = calloc(1, sizeof *a)) == NULL)
		(void)harbor_conn_fail(c, "out of memory");
	harbor_conn_set_data(c, a);
}

static size_t
lookup_input(struct harbor_conn *c, const char *line, size_t len)
{
	struct resolvers	*rs = harbor_conn_service_state(c);
	struct asking		*a = harbor_conn_get_data(c);
	struct query		*q;
	size_t			 n = len;

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (n == 0 || n > NAME_MAX_LEN) {
		(void)harbor_conn_printf(c, "ERROR %s\r\n", n == 0 ?
		    "no name" : "name too long");
		return len;
	}
	if ((q = calloc(1, sizeof *q)) == NULL) {
		(void)harbor_conn_printf(c, "ERROR out of memory\r\n");
		return len;
	}
	memcpy(q->name, line, n);
	q->conn = c;
	a->pending++;
	harbor_conn_hold(c);		/* until the answer is posted */
	pthread_mutex_lock(&rs->lock);
	if (rs->tail != NULL)
		rs->tail->next = q;
	else
		rs->head = q;
	rs->tail = q;
	pthread_cond_signal(&rs->work);
	pthread_mutex_unlock(&rs->lock);
	return len;
}

/* The client is done asking: close once it has every answer. */
static void
lookup_end(struct harbor_conn *c)
{
	struct asking	*a = harbor_conn_get_data(c);

	a->ended = 1;
	if (a->pending == 0)
		harbor_conn_close(c);
}

static void
lookup_close(struct harbor_conn *c)
{
	free(harbor_conn_get_data(c));
}

static const struct harbor_handler lookup_handler = {
	HARBOR_HANDLER_V1,
	.name = "lookup",
	.service_init = lookup_init,
	.service_free = lookup_free,
	.open = lookup_open,
	.input = lookup_input,
	.end = lookup_end,
	.close = lookup_close,
};

static int
lookup_module(struct harbor_module *m, char *err, size_t errlen)
{
	if (harbor_module_add_handler(m, &lookup_handler) == -1) {
		snprintf(err, errlen, "a handler 'lookup' exists already");
		return -1;
	}
	return 0;
}

HARBOR_MODULE(lookup_module)
