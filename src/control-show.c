/*
 * The control socket's answers that describe: harborctl status and
 * harborctl connections, as text for people or JSON for programs.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <event2/buffer.h>

#include "harbor.h"
#include "control-show.h"

/* A JSON string: quoted, with what JSON does not take as it is escaped. */
void
show_json_string(struct evbuffer *out, const char *s)
{
	const unsigned char	*p;

	evbuffer_add(out, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			evbuffer_add_printf(out, "\\u%04x", *p);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"", 1);
}

static void
duration_text(char *buf, size_t len, long long s)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh %lldm", s / 86400,
		    s % 86400 / 3600, s % 3600 / 60);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm %llds", s / 3600,
		    s % 3600 / 60, s % 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm %llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
}

struct show_services {
	struct evbuffer		*out;
	struct harbor_server	*srv;
	int			 json;
	int			 n;
};

/* The addresses a service listens on, from the server's listeners. */
static void
show_addresses(struct show_services *ss, const char *name)
{
	const char	*svc, *addr;
	size_t		 i;
	int		 k = 0;

	for (i = 0; harbor_server_listener(ss->srv, i, &svc, &addr) == 0; i++) {
		if (strcmp(svc, name) != 0)
			continue;
		if (ss->json) {
			if (k++ > 0)
				evbuffer_add(ss->out, ",", 1);
			show_json_string(ss->out, addr);
		} else
			evbuffer_add_printf(ss->out, "%s%s", k++ > 0 ? ", " :
			    "", addr);
	}
	if (!ss->json && k == 0)
		evbuffer_add_printf(ss->out, "nothing");
}

static void
show_service(struct harbor_service *svc, void *arg)
{
	struct show_services		*ss = arg;
	struct harbor_service_stats	 st;
	const char			*name = harbor_service_name(svc);
	const char			*kind;
	unsigned			 k;
	int				 any = 0;

	st.size = sizeof st;
	if (harbor_service_stats(svc, &st) == -1)
		return;
	if (ss->json) {
		evbuffer_add_printf(ss->out, "%s{\"name\":", ss->n++ > 0 ?
		    "," : "");
		show_json_string(ss->out, name);
		evbuffer_add_printf(ss->out, ",\"handler\":");
		show_json_string(ss->out, harbor_service_handler(svc)->name);
		evbuffer_add_printf(ss->out, ",\"draining\":%s,\"listen\":[",
		    st.paused ? "true" : "false");
		show_addresses(ss, name);
		evbuffer_add_printf(ss->out, "],\"open\":%u,\"accepted\":%"
		    PRIu64 ",\"closed\":%" PRIu64 ",\"bytes_in\":%" PRIu64
		    ",\"bytes_out\":%" PRIu64 ",\"exec_children\":%u,"
		    "\"refused\":{", st.open, st.accepted, st.closed,
		    st.bytes_in, st.bytes_out, st.children);
		for (k = 0; (kind = harbor_refusal_name(k)) != NULL; k++) {
			evbuffer_add_printf(ss->out, "%s", any++ ? "," : "");
			show_json_string(ss->out, kind);
			evbuffer_add_printf(ss->out, ":%" PRIu64, st.refused[k]);
		}
		evbuffer_add_printf(ss->out, "}}");
		return;
	}
	evbuffer_add_printf(ss->out, "\nservice %s (%s)%s\n  listening on ",
	    name, harbor_service_handler(svc)->name, st.paused ?
	    ": draining, not accepting" : "");
	show_addresses(ss, name);
	evbuffer_add_printf(ss->out, "\n  open %u, accepted %" PRIu64
	    ", closed %" PRIu64 ", bytes in %" PRIu64 ", bytes out %" PRIu64,
	    st.open, st.accepted, st.closed, st.bytes_in, st.bytes_out);
	if (st.children > 0)
		evbuffer_add_printf(ss->out, ", programs running %u",
		    st.children);
	evbuffer_add_printf(ss->out, "\n  refused:");
	for (k = 0; (kind = harbor_refusal_name(k)) != NULL; k++)
		if (st.refused[k] != 0)
			evbuffer_add_printf(ss->out, "%s %s %" PRIu64,
			    any++ ? "," : "", kind, st.refused[k]);
	evbuffer_add_printf(ss->out, "%s\n", any ? "" : " none");
}

void
show_status(struct evbuffer *out, struct harbor_server *srv, int json,
    long privileged_pid)
{
	struct harbor_server_stats	st;
	struct show_services		ss = { out, srv, json, 0 };
	struct tm			tm;
	time_t				now = time(NULL);
	char				up[64], since[32];
	long				pid = (long)getpid();

	st.size = sizeof st;
	if (harbor_server_stats(srv, &st) == -1)
		memset(&st, 0, sizeof st);
	if (json) {
		evbuffer_add_printf(out, "{\"version\":");
		show_json_string(out, harbor_version());
		evbuffer_add_printf(out, ",\"pid\":%ld,\"privileged_pid\":",
		    pid);
		if (privileged_pid > 0)
			evbuffer_add_printf(out, "%ld", privileged_pid);
		else
			evbuffer_add_printf(out, "null");
		evbuffer_add_printf(out, ",\"started\":%lld,\"uptime_seconds\":"
		    "%lld,\"open\":%u,\"io_threads\":%d,\"workers\":%d,"
		    "\"pool_queued\":%u,\"reloads\":{\"ok\":%" PRIu64
		    ",\"failed\":%" PRIu64 "},\"log_lines_dropped\":%" PRIu64
		    ",\"services\":[", (long long)st.started,
		    (long long)(now - st.started), st.open, st.io_threads,
		    st.workers, st.pool_queued, st.reloads_ok,
		    st.reloads_failed, st.log_dropped);
		harbor_server_foreach_service(srv, show_service, &ss);
		evbuffer_add_printf(out, "]}\n");
		return;
	}
	duration_text(up, sizeof up, (long long)(now - st.started));
#ifdef _WIN32
	gmtime_s(&tm, &st.started);
#else
	(void)gmtime_r(&st.started, &tm);
#endif
	strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
	evbuffer_add_printf(out, "harbord %s, up %s (since %s)\n",
	    harbor_version(), up, since);
	if (privileged_pid > 0)
		evbuffer_add_printf(out, "pid %ld serving, pid %ld "
		    "privileged\n", pid, privileged_pid);
	else
		evbuffer_add_printf(out, "pid %ld\n", pid);
	evbuffer_add_printf(out, "%u connections open; %d io-threads, %d "
	    "workers, %u jobs queued; reloads %" PRIu64 " ok, %" PRIu64
	    " failed; log lines dropped %" PRIu64 "\n", st.open,
	    st.io_threads, st.workers, st.pool_queued, st.reloads_ok,
	    st.reloads_failed, st.log_dropped);
	harbor_server_foreach_service(srv, show_service, &ss);
}

void
show_connections(struct evbuffer *out,
    const struct harbor_conn_info *const *conns, size_t n, int json)
{
	const struct harbor_conn_info	*c;
	size_t				 i;

	if (json)
		evbuffer_add_printf(out, "[");
	else
		evbuffer_add_printf(out, "%-8s %-12s %-24s %-24s %8s %8s %10s "
		    "%10s %s\n", "ID", "SERVICE", "CLIENT", "LOCAL", "AGE",
		    "IDLE", "IN", "OUT", "STATE");
	for (i = 0; i < n; i++) {
		c = conns[i];
		if (json) {
			evbuffer_add_printf(out, "%s{\"id\":%" PRIu64
			    ",\"service\":", i > 0 ? "," : "", c->id);
			show_json_string(out, c->service);
			evbuffer_add_printf(out, ",\"client\":");
			show_json_string(out, c->peer);
			evbuffer_add_printf(out, ",\"local\":");
			show_json_string(out, c->local);
			evbuffer_add_printf(out, ",\"age_ms\":%lld,\"idle_ms\":"
			    "%lld,\"bytes_in\":%" PRIu64 ",\"bytes_out\":%"
			    PRIu64 ",\"state\":", (long long)c->age_ms,
			    (long long)c->idle_ms, c->bytes_in, c->bytes_out);
			show_json_string(out, c->state);
			evbuffer_add_printf(out, "}");
			continue;
		}
		evbuffer_add_printf(out, "%-8" PRIu64 " %-12s %-24s %-24s "
		    "%7.1fs %7.1fs %10" PRIu64 " %10" PRIu64 " %s\n", c->id,
		    c->service, c->peer, c->local, (double)c->age_ms / 1000,
		    (double)c->idle_ms / 1000, c->bytes_in, c->bytes_out,
		    c->state);
	}
	if (json)
		evbuffer_add_printf(out, "]\n");
}
