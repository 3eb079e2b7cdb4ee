/*
 * The privileged process's listening sockets: bound for each service's
 * addresses, kept across reloads for the addresses (and, for port 0, the
 * services) that stay, so that a client is never refused while harbord
 * reloads or its serving process restarts.  See parent.c.
 */
#include "autoconfig.h"

#ifndef _WIN32

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "harbor.h"
#include "parent-listen.h"

/* The serving process listens again with each service's own. */
#define PARENT_BACKLOG		511

void
listen_table_close(struct listen_table *lt, size_t i)
{
	(void)close(lt->b[i].fd);
	free(lt->b[i].service);
	free(lt->b[i].address);
	free(lt->b[i].asked);
	lt->b[i] = lt->b[--lt->n];
}

/* Whether b serves address: as configured, or as bound (a reload may
 * name the port the system chose for port 0). */
static int
bound_serves(const struct bound *b, const char *address)
{
	return strcmp(b->address, address) == 0 ||
	    strcmp(b->actual, address) == 0;
}

static struct bound *
bound_find(struct listen_table *lt, const char *service, const char *address)
{
	size_t	i, n = strlen(address);
	/* Port 0 is a new port each time it is written: only the same
	 * service's keeps its socket. */
	int	any = n < 2 || strcmp(address + n - 2, ":0") != 0;

	for (i = 0; i < lt->n; i++)
		if (!lt->b[i].wanted && bound_serves(&lt->b[i], address) &&
		    strcmp(lt->b[i].service, service) == 0)
			return &lt->b[i];
	for (i = 0; any && i < lt->n; i++)
		if (!lt->b[i].wanted && bound_serves(&lt->b[i], address))
			return &lt->b[i];
	return NULL;
}

/* A socket for the service's address, bound as its configuration says
 * (SO_REUSEPORT if it has reuse-port). */
static int
bound_open(struct listen_table *lt, const char *service, const char *address,
    unsigned flags, char *err, size_t errlen)
{
	struct bound	*grown, *b;
	char		 why[256];
	int		 fd;

	/* One the service manager passed first (only at start: those left
	 * are closed once harbord listens), as it bound it. */
	if ((fd = activation_take(service, address, flags)) == -1 &&
	    (fd = harbor_listen_open_opts(address, PARENT_BACKLOG, flags, why,
	    sizeof why)) == -1) {
		snprintf(err, errlen, "service '%s': %s", service, why);
		return -1;
	}
	if ((grown = realloc(lt->b, (lt->n + 1) *
	    sizeof *grown)) == NULL) {
		(void)close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	lt->b = grown;
	b = &lt->b[lt->n];
	b->service = strdup(service);
	b->address = strdup(address);
	b->asked = strdup(address);
	activation_address(fd, b->actual, sizeof b->actual);
	if (b->service == NULL || b->address == NULL || b->asked == NULL) {
		free(b->service);
		free(b->address);
		free(b->asked);
		(void)close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->fd = fd;
	b->wanted = b->fresh = 1;
	lt->n++;
	return 0;
}

/* b, for the configuration being sent, which calls it address. */
static int
bound_ask(struct bound *b, const char *address, char *err, size_t errlen)
{
	char	*copy;

	if ((copy = strdup(address)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(b->asked);
	b->asked = copy;
	b->wanted = 1;
	return 0;
}

/* The sockets conf listens on: those held already kept, the rest bound.
 * A socket kept keeps its reuse-port, which a bound socket cannot change
 * (harbord says a change takes a restart).  On failure the new ones are
 * closed and nothing changes. */
int
listen_table_for(struct listen_table *lt, const struct config *conf, char *err,
    size_t errlen)
{
	const struct conf_service	*s;
	char				 canon[2][HARBOR_ADDRSTRLEN];
	struct bound			*b;
	size_t				 i, j, k, nc;

	for (i = 0; i < lt->n; i++)
		lt->b[i].wanted = lt->b[i].fresh = 0;
	for (s = conf->services; s != NULL; s = s->next)
		for (j = 0; j < s->listen.n; j++) {
			if (harbor_listen_address_check(s->listen.v[j], canon,
			    &nc, err, errlen) == -1)
				goto fail;
			for (k = 0; k < nc; k++) {
				if ((b = bound_find(lt, s->name,
				    canon[k])) != NULL) {
					if (bound_ask(b, canon[k], err,
					    errlen) == -1)
						goto fail;
				} else if (bound_open(lt, s->name, canon[k],
				    config_listen_flags(conf, s), err,
				    errlen) == -1)
					goto fail;
			}
		}
	return 0;
fail:
	for (i = lt->n; i-- > 0; )
		if (lt->b[i].fresh)
			listen_table_close(lt, i);
	return -1;
}

/* After the serving process answered: what it runs now is all we hold. */
void
listen_table_settle(struct listen_table *lt, int applied)
{
	size_t	i;

	for (i = lt->n; i-- > 0; )
		if (applied ? !lt->b[i].wanted : lt->b[i].fresh)
			listen_table_close(lt, i);
	for (i = 0; i < lt->n; i++) {
		lt->b[i].wanted = 1;
		lt->b[i].fresh = 0;
	}
}

#endif /* !_WIN32 */
