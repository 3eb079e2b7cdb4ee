/*
 * control-show.c: what harborctl status and harborctl connections print,
 * as text or JSON, written to an evbuffer.
 */
#ifndef HARBORD_CONTROL_SHOW_H
#define HARBORD_CONTROL_SHOW_H

struct evbuffer;
struct harbor_server;
struct harbor_conn_info;

/* privileged_pid: the privileged process's, or 0 when there is none. */
void	show_status(struct evbuffer *out, struct harbor_server *srv, int json,
	    long privileged_pid);
void	show_connections(struct evbuffer *out,
	    const struct harbor_conn_info *const *conns, size_t n, int json);
void	show_json_string(struct evbuffer *out, const char *s);

#endif
