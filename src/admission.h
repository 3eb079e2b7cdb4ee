/*
 * Admission: whether a client may be served (allow/deny, the limits,
 * forwarding loops), and the PROXY header stage, which admits the client
 * its header names.  Above the connection core, below the acceptor.
 */
#ifndef HARBOR_ADMISSION_H
#define HARBOR_ADMISSION_H

#include "core.h"

/* admission.c */
/* The client at peer: its allow/deny rules, the server's max-connections
 * and its service's limits.  REFUSE_NONE with t counted and a place
 * taken in the count of connections, or why not, nothing taken.  t may
 * hold a place already (admission_proxied): then the count has it too. */
enum refusal admission_decide(struct harbor_service *svc,
	    const struct sockaddr *peer, int64_t now_ms,
	    struct limits_ticket *t, char *why, size_t whylen);
/* At accept, for a service whose clients come behind a PROXY header: the
 * proxy must be trusted, and the connection takes a place within
 * max-connections (the server's and the service's) while its header
 * comes. */
enum refusal admission_proxied(struct harbor_service *svc,
	    const struct sockaddr *proxy, struct limits_ticket *t, char *why,
	    size_t whylen);
/* A client that is one of this server's own forwards, accepted as fd on
 * a listener bound to here: refused if it has passed through svc already
 * (a forwarding loop), else *hops is the way it came (malloc'd; the
 * connection keeps it).  Anyone else: REFUSE_NONE and *hops NULL. */
enum refusal admission_loop(struct harbor_service *svc,
	    const struct sockaddr *peer, const struct sockaddr *here,
	    evutil_socket_t fd, struct forward_hops **hops, char *why,
	    size_t whylen);
/* A refusal's name for a metric's label. */
const char *admission_refusal_label(enum refusal kind);
/* Counts a refusal (or a bad or late PROXY header) and logs it at notice,
 * unless the service's log limit holds it back for its kind.  Any
 * thread. */
void	admission_log(struct harbor_service *svc, enum refusal kind,
	    const char *fmt, ...) HARBOR_PRINTFLIKE(3, 4);

/* proxystage.c: the PROXY header, read before the handler */
extern const struct conn_stage proxy_stage;

#endif
