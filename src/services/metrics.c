/*
 * metrics: the server's counters in Prometheus's text format (0.0.4),
 * over HTTP/1.0 or 1.1, for GET (or HEAD) /metrics; any other path is a
 * 404, anything that is not an HTTP request a 400, and the connection
 * closes after each answer.  Built on libharbor's watching calls
 * (harbor_server_watch(3)), as a module would be: a scrape reads sums the
 * threads keep, so it costs the same with ten connections or ten
 * thousand, and stops no one.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "harbor.h"
#include "services.h"

/* A request's head beyond this is not one a scraper sends. */
#define METRICS_HEAD_MAX	8192

struct scrape {
	struct evbuffer		*out;
	struct harbor_server	*srv;
	int			 pass;		/* which family this walk writes */
};

/* A label's value: \, " and newline escaped, as the format asks. */
static void
label_value(struct evbuffer *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(out, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

static void
family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
sample_start(struct evbuffer *out, const char *name, const char *service)
{
	evbuffer_add_printf(out, "%s{service=\"", name);
	label_value(out, service);
	evbuffer_add(out, "\"", 1);
}

enum pass {
	PASS_OPEN, PASS_ACCEPTED, PASS_REFUSED, PASS_BYTES_IN, PASS_BYTES_OUT,
	PASS_DURATION, PASS_CHILDREN, PASS_DRAINING, PASS_COUNT
};

static const struct {
	const char	*name, *type, *help;
} families[PASS_COUNT] = {
	[PASS_OPEN] = { "harbord_connections_open", "gauge",
	    "Connections open now." },
	[PASS_ACCEPTED] = { "harbord_connections_accepted_total", "counter",
	    "Connections accepted." },
	[PASS_REFUSED] = { "harbord_connections_refused_total", "counter",
	    "Clients refused, by reason." },
	[PASS_BYTES_IN] = { "harbord_bytes_received_total", "counter",
	    "Bytes received from clients." },
	[PASS_BYTES_OUT] = { "harbord_bytes_sent_total", "counter",
	    "Bytes sent to clients." },
	[PASS_DURATION] = { "harbord_session_duration_seconds", "histogram",
	    "How long closed connections lasted." },
	[PASS_CHILDREN] = { "harbord_exec_children", "gauge",
	    "Programs running for clients (exec)." },
	[PASS_DRAINING] = { "harbord_service_draining", "gauge",
	    "1 while a service is drained (not accepting)." },
};

static void
service_sample(struct harbor_service *svc, void *arg)
{
	struct scrape			*sc = arg;
	struct harbor_service_stats	 st;
	const char			*name = harbor_service_name(svc);
	const char			*fam = families[sc->pass].name;
	const char			*why;
	uint64_t			 cum = 0;
	unsigned			 k, b;

	st.size = sizeof st;
	if (harbor_service_stats(svc, &st) == -1)
		return;
	switch (sc->pass) {
	case PASS_OPEN:
		sample_start(sc->out, fam, name);
		evbuffer_add_printf(sc->out, "} %u\n", st.open);
		break;
	case PASS_ACCEPTED:
		sample_start(sc->out, fam, name);
		evbuffer_add_printf(sc->out, "} %" PRIu64 "\n", st.accepted);
		break;
	case PASS_REFUSED:
		for (k = 0; (why = harbor_refusal_name(k)) != NULL; k++) {
			sample_start(sc->out, fam, name);
			evbuffer_add_printf(sc->out, ",reason=\"%s\"} %" PRIu64
			    "\n", why, st.refused[k]);
		}
		break;
	case PASS_BYTES_IN:
		sample_start(sc->out, fam, name);
		evbuffer_add_printf(sc->out, "} %" PRIu64 "\n", st.bytes_in);
		break;
	case PASS_BYTES_OUT:
		sample_start(sc->out, fam, name);
		evbuffer_add_printf(sc->out, "} %" PRIu64 "\n", st.bytes_out);
		break;
	case PASS_DURATION:
		for (b = 0; b < HARBOR_DURATION_BUCKETS; b++) {
			unsigned	bound = harbor_duration_bound_ms(b);

			cum += st.duration[b];
			evbuffer_add_printf(sc->out, "%s_bucket", fam);
			sample_start(sc->out, "", name);
			if (bound != 0)
				evbuffer_add_printf(sc->out, ",le=\"%u.%03u\"} %"
				    PRIu64 "\n", bound / 1000, bound % 1000,
				    cum);
			else
				evbuffer_add_printf(sc->out, ",le=\"+Inf\"} %"
				    PRIu64 "\n", cum);
		}
		evbuffer_add_printf(sc->out, "%s_sum", fam);
		sample_start(sc->out, "", name);
		evbuffer_add_printf(sc->out, "} %" PRIu64 ".%03u\n",
		    st.duration_ms / 1000, (unsigned)(st.duration_ms % 1000));
		evbuffer_add_printf(sc->out, "%s_count", fam);
		sample_start(sc->out, "", name);
		evbuffer_add_printf(sc->out, "} %" PRIu64 "\n", cum);
		break;
	case PASS_CHILDREN:
		sample_start(sc->out, fam, name);
		evbuffer_add_printf(sc->out, "} %u\n", st.children);
		break;
	case PASS_DRAINING:
		sample_start(sc->out, fam, name);
		evbuffer_add_printf(sc->out, "} %d\n", st.paused ? 1 : 0);
		break;
	}
}

/* The exposition, every family whole and in one place. */
static void
scrape(struct harbor_server *srv, struct evbuffer *out)
{
	struct harbor_server_stats	st;
	struct scrape			sc = { out, srv, 0 };

	st.size = sizeof st;
	if (harbor_server_stats(srv, &st) == -1)
		memset(&st, 0, sizeof st);
	family(out, "harbord_build_info", "gauge",
	    "The version of harbord serving.");
	evbuffer_add_printf(out, "harbord_build_info{version=\"");
	label_value(out, harbor_version());
	evbuffer_add_printf(out, "\"} 1\n");
	family(out, "harbord_start_time_seconds", "gauge",
	    "When the server started, in seconds since the epoch.");
	evbuffer_add_printf(out, "harbord_start_time_seconds %lld\n",
	    (long long)st.started);
	for (sc.pass = 0; sc.pass < PASS_COUNT; sc.pass++) {
		family(out, families[sc.pass].name, families[sc.pass].type,
		    families[sc.pass].help);
		harbor_server_foreach_service(srv, service_sample, &sc);
	}
	family(out, "harbord_pool_queue_length", "gauge",
	    "Jobs waiting for a worker.");
	evbuffer_add_printf(out, "harbord_pool_queue_length %u\n",
	    st.pool_queued);
	family(out, "harbord_reloads_total", "counter",
	    "Reloads of the configuration, by how they ended.");
	evbuffer_add_printf(out, "harbord_reloads_total{result=\"ok\"} %"
	    PRIu64 "\nharbord_reloads_total{result=\"failed\"} %" PRIu64 "\n",
	    st.reloads_ok, st.reloads_failed);
	family(out, "harbord_log_lines_dropped_total", "counter",
	    "Log lines that could not be written.");
	evbuffer_add_printf(out, "harbord_log_lines_dropped_total %" PRIu64
	    "\n", st.log_dropped);
}

static void
respond(struct harbor_conn *conn, int http11, int code, const char *reason,
    struct evbuffer *body, int head_only)
{
	size_t	len = body != NULL ? evbuffer_get_length(body) : 0;

	(void)harbor_conn_printf(conn, "HTTP/1.%d %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", http11, code, reason, code == 200 ?
	    "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8", len);
	if (body != NULL && !head_only)
		(void)evbuffer_add_buffer(harbor_conn_output(conn), body);
	harbor_conn_close(conn);
}

static void
respond_text(struct harbor_conn *conn, int http11, int code,
    const char *reason, int head_only)
{
	struct evbuffer	*body = evbuffer_new();

	if (body != NULL)
		evbuffer_add_printf(body, "%d %s\n", code, reason);
	respond(conn, http11, code, reason, body, head_only);
	if (body != NULL)
		evbuffer_free(body);
}

/* The end of the request's head (after its empty line), or NULL. */
static const char *
head_end(const char *data, size_t len)
{
	size_t	i;

	for (i = 0; i + 1 < len; i++)
		if (data[i] == '\n' && (data[i + 1] == '\n' ||
		    (data[i + 1] == '\r' && i + 2 < len &&
		    data[i + 2] == '\n')))
			return data + i + (data[i + 1] == '\n' ? 2 : 3);
	return NULL;
}

static size_t
metrics_input(struct harbor_conn *conn, const char *data, size_t len)
{
	const char	*eol, *sp1, *sp2, *target, *q;
	size_t		 n, tlen;
	int		 http11, head;
	struct evbuffer	*body;

	/* The request line first: garbage is answered as soon as its first
	 * line is in, not when a head that never comes is too long. */
	if ((eol = memchr(data, '\n', len)) == NULL) {
		if (len < METRICS_HEAD_MAX)
			return 0;
		respond_text(conn, 0, 400, "Bad Request", 0);
		return len;
	}
	/* "METHOD SP TARGET SP HTTP/1.x" */
	n = (size_t)(eol - data);
	if (n > 0 && data[n - 1] == '\r')
		n--;
	sp1 = memchr(data, ' ', n);
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - data)) :
	    NULL;
	if (sp1 == NULL || sp2 == NULL || (size_t)(data + n - sp2 - 1) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.1", 8) != 0)) {
		respond_text(conn, 0, 400, "Bad Request", 0);
		return len;
	}
	http11 = sp2[8] == '1';
	if (head_end(data, len) == NULL) {
		if (len < METRICS_HEAD_MAX)
			return 0;
		respond_text(conn, http11, 431, "Request Header Fields Too "
		    "Large", 0);
		return len;
	}
	head = (size_t)(sp1 - data) == 4 && memcmp(data, "HEAD", 4) == 0;
	if (!head && ((size_t)(sp1 - data) != 3 || memcmp(data, "GET", 3) != 0)) {
		respond_text(conn, http11, 405, "Method Not Allowed", 0);
		return len;
	}
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	/* The path, with any query a scraper adds left aside. */
	if ((q = memchr(target, '?', tlen)) != NULL)
		tlen = (size_t)(q - target);
	if (tlen != 8 || memcmp(target, "/metrics", 8) != 0) {
		respond_text(conn, http11, 404, "Not Found", head);
		return len;
	}
	if ((body = evbuffer_new()) == NULL) {
		respond_text(conn, http11, 503, "Service Unavailable", head);
		return len;
	}
	scrape(harbor_service_server(harbor_conn_service(conn)), body);
	respond(conn, http11, 200, "OK", body, head);
	evbuffer_free(body);
	return len;
}

const struct harbor_handler handler_metrics = {
	HARBOR_HANDLER_V1,
	.name = "metrics",
	.input = metrics_input,
};
