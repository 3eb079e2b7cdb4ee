/*
 * exec PROGRAM [ARG...]: a program per client, as inetd's "nowait" and
 * tcpserver run them.  Written against <harbor.h> alone: the library
 * starts the program (harbor_conn_spawn: its standard error in the log,
 * its process group, reaping) and relays it to the client
 * (harbor_conn_relay), so limits, timeouts, byte counts and a PROXY header
 * already read all work as for any service.
 *
 * The service's options: "program" (its absolute path), "argument"
 * (repeated, in order), "env" (repeated NAME=VALUE, a later value of a
 * name winning), "uid" and "gid" (numbers).  The program's environment is
 * UCSPI's for the connection (PROTO, TCPLOCALIP, TCPLOCALPORT,
 * TCPREMOTEIP, TCPREMOTEPORT, TCPCONNNUM), then the service's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <event2/util.h>

#include "harbor.h"
#include "services.h"

#define UCSPI_VARS	6
#define UCSPI_LEN	(sizeof "TCPREMOTEPORT=" + 46)

/* The names exec sets itself for each connection. */
static const char *const ucspi_names[UCSPI_VARS] = {
	"PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT",
	"TCPCONNNUM"
};

struct exec_state {
	char	**argv;		/* NULL-terminated */
	char	**env;		/* "NAME=VALUE", NULL-terminated */
	size_t	  nenv;
	long	  uid, gid;	/* -1: as the server runs */
};

static size_t
name_len(const char *nv)
{
	const char	*eq = strchr(nv, '=');

	return eq != NULL ? (size_t)(eq - nv) : strlen(nv);
}

/* A UCSPI name, which exec sets for each connection: NULL if not. */
static const char *
ucspi_name(const char *nv)
{
	size_t	len = name_len(nv), i;

	for (i = 0; i < UCSPI_VARS; i++)
		if (strlen(ucspi_names[i]) == len &&
		    strncmp(ucspi_names[i], nv, len) == 0)
			return ucspi_names[i];
	return NULL;
}

static void
exec_free(void *state)
{
	struct exec_state	*st = state;
	size_t			 i;

	if (st == NULL)
		return;
	for (i = 0; st->argv != NULL && st->argv[i] != NULL; i++)
		free(st->argv[i]);
	free(st->argv);
	for (i = 0; i < st->nenv; i++)
		free(st->env[i]);
	free(st->env);
	free(st);
}

#ifndef _WIN32
static int
id_option(struct harbor_service *svc, const char *name, long *id, char *err,
    size_t errlen)
{
	const char	*v = harbor_service_option(svc, name);
	char		*end;

	*id = -1;
	if (v == NULL)
		return 0;
	errno = 0;
	*id = strtol(v, &end, 10);
	if (errno != 0 || *v == '\0' || *end != '\0' || *id < 0) {
		snprintf(err, errlen, "bad %s '%s' (expected a number)", name,
		    v);
		return -1;
	}
	return 0;
}

/* The env options, a later value of a name taking the earlier's place. */
static int
exec_env(struct harbor_service *svc, struct exec_state *st, char *err,
    size_t errlen)
{
	const char	*nv;
	size_t		 i, j, n = 0;

	while (harbor_service_option_at(svc, "env", n) != NULL)
		n++;
	if ((st->env = calloc(n + 1, sizeof *st->env)) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		nv = harbor_service_option_at(svc, "env", i);
		if (strchr(nv, '=') == NULL || nv[0] == '=') {
			snprintf(err, errlen, "bad environment entry '%s' "
			    "(expected NAME=VALUE)", nv);
			return -1;
		}
		if (ucspi_name(nv) != NULL) {
			snprintf(err, errlen, "%s is set for each connection "
			    "and cannot be given", ucspi_name(nv));
			return -1;
		}
		for (j = 0; j < st->nenv; j++)
			if (name_len(st->env[j]) == name_len(nv) &&
			    strncmp(st->env[j], nv, name_len(nv)) == 0)
				break;
		if (j < st->nenv)
			free(st->env[j]);
		else
			st->nenv++;
		if ((st->env[j] = strdup(nv)) == NULL)
			goto nomem;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}
#endif

#ifndef _WIN32
static const char *const exec_options[] = {
	"program", "argument", "env", "uid", "gid", NULL
};
#endif

static int
exec_init(struct harbor_service *svc, void **state, char *err, size_t errlen)
{
	const char		*program = harbor_service_option(svc, "program");
	struct exec_state	*st;
	size_t			 n = 0, i;

#ifdef _WIN32
	(void)program;
	(void)st;
	(void)n;
	(void)i;
	snprintf(err, errlen, "exec is not available on Windows: it hands "
	    "the client's socket to a child process as its standard input "
	    "and output, which Windows programs cannot use");
	return -1;
#else
	if (harbor_service_check_options(svc, exec_options, err,
	    errlen) == -1)
		return -1;
	if (program == NULL || program[0] != '/') {
		snprintf(err, errlen, "exec needs the program's absolute path "
		    "(there is no PATH search)");
		return -1;
	}
	if (access(program, X_OK) == -1) {
		snprintf(err, errlen, "cannot run %s: %s", program,
		    strerror(errno));
		return -1;
	}
	if ((st = calloc(1, sizeof *st)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (harbor_service_option_at(svc, "argument", n) != NULL)
		n++;
	if ((st->argv = calloc(n + 2, sizeof *st->argv)) == NULL ||
	    (st->argv[0] = strdup(program)) == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		if ((st->argv[i + 1] = strdup(harbor_service_option_at(svc,
		    "argument", i))) == NULL)
			goto nomem;
	if (exec_env(svc, st, err, errlen) == -1 ||
	    id_option(svc, "uid", &st->uid, err, errlen) == -1 ||
	    id_option(svc, "gid", &st->gid, err, errlen) == -1) {
		exec_free(st);
		return -1;
	}
	*state = st;
	return 0;
nomem:
	exec_free(st);
	snprintf(err, errlen, "out of memory");
	return -1;
#endif
}

/* "TCPREMOTEIP=192.0.2.1" and "TCPREMOTEPORT=51234" for an address, an
 * IPv4-mapped one written as IPv4. */
static void
ucspi_address(const struct sockaddr *sa, const char *ipvar,
    const char *portvar, char *ip, char *port)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	char			 text[46] = "";
	unsigned		 p = 0;

	if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		const uint8_t *a = (const uint8_t *)&s6->sin6_addr;

		if (memcmp(a, mapped, sizeof mapped) == 0)
			(void)evutil_inet_ntop(AF_INET, a + 12, text,
			    sizeof text);
		else
			(void)evutil_inet_ntop(AF_INET6, a, text,
			    sizeof text);
		p = ntohs(s6->sin6_port);
	} else if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		(void)evutil_inet_ntop(AF_INET, &s4->sin_addr, text,
		    sizeof text);
		p = ntohs(s4->sin_port);
	}
	snprintf(ip, UCSPI_LEN, "%s=%s", ipvar, text);
	snprintf(port, UCSPI_LEN, "%s=%u", portvar, p);
}

/* The environment: UCSPI's for this connection, then the service's. */
static char **
exec_environment(struct harbor_conn *c, const struct exec_state *st,
    char (*ucspi)[UCSPI_LEN])
{
	char	**envp;
	size_t	  i, n = 0;

	if ((envp = calloc(UCSPI_VARS + st->nenv + 1, sizeof *envp)) == NULL)
		return NULL;
	snprintf(ucspi[0], UCSPI_LEN, "PROTO=TCP");
	ucspi_address(harbor_conn_local_addr(c, NULL), "TCPLOCALIP",
	    "TCPLOCALPORT", ucspi[1], ucspi[2]);
	ucspi_address(harbor_conn_peer_addr(c, NULL), "TCPREMOTEIP",
	    "TCPREMOTEPORT", ucspi[3], ucspi[4]);
	snprintf(ucspi[5], UCSPI_LEN, "TCPCONNNUM=%u",
	    harbor_service_connections(harbor_conn_service(c)));
	for (i = 0; i < UCSPI_VARS; i++)
		envp[n++] = ucspi[i];
	for (i = 0; i < st->nenv; i++)
		envp[n++] = st->env[i];
	envp[n] = NULL;
	return envp;
}

static void
exec_open(struct harbor_conn *c)
{
	const struct exec_state	*st = harbor_conn_service_state(c);
	const char		*name = harbor_service_name(
				    harbor_conn_service(c));
	struct harbor_spawn	 sp;
	char			 ucspi[UCSPI_VARS][UCSPI_LEN], why[160];
	harbor_socket_t		 fd;
	pid_t			 pid;

	memset(&sp, 0, sizeof sp);
	sp.size = sizeof sp;
	sp.argv = st->argv;
	sp.uid = st->uid;
	sp.gid = st->gid;
	if ((sp.envp = exec_environment(c, st, ucspi)) == NULL) {
		(void)harbor_conn_fail(c, "out of memory");
		return;
	}
	pid = harbor_conn_spawn(c, &sp, &fd, why, sizeof why);
	free((void *)sp.envp);
	if (pid == -1) {
		harbor_log(HARBOR_LOG_ERR, "service %s: conn %llu: %s", name,
		    (unsigned long long)harbor_conn_id(c), why);
		(void)harbor_conn_fail(c, why);
		return;
	}
	harbor_conn_set_data(c, (void *)(intptr_t)pid);
	harbor_log(HARBOR_LOG_INFO, "service %s: conn %llu: started pid %ld: "
	    "%s", name, (unsigned long long)harbor_conn_id(c), (long)pid,
	    st->argv[0]);
	/* The program's end of file means nothing reads what the client
	 * sends any more: fds 0 and 1 are one socket. */
	(void)harbor_conn_relay(c, fd, HARBOR_RELAY_PEER_EOF_ENDS, NULL, 0);
}

static void
exec_close(struct harbor_conn *c)
{
	pid_t	pid = (pid_t)(intptr_t)harbor_conn_get_data(c);

#ifndef _WIN32
	/* Cut off early (a timeout, a reset, a shutdown): the program and
	 * what it started are told to stop, unless they have gone. */
	if (pid > 0 && harbor_conn_close_reason(c) != HARBOR_CLOSE_DONE)
		(void)harbor_conn_kill(c, pid, SIGTERM);
#else
	(void)pid;
#endif
}

const struct harbor_handler handler_exec = {
	HARBOR_HANDLER_V1,
	.name = "exec",
	.flags = HARBOR_HANDLER_INLINE_ONLY | HARBOR_HANDLER_CHILDREN,
	.service_init = exec_init,
	.service_free = exec_free,
	.open = exec_open,
	.close = exec_close,
};

/* --- the exec service's API (harbor.h) ------------------------------------ */

static int
not_exec(struct harbor_service *svc, char *err, size_t errlen)
{
	if (harbor_service_handler(svc) == &handler_exec)
		return 0;
	snprintf(err, errlen, "service '%s' does not exec a program",
	    harbor_service_name(svc));
	return 1;
}

struct harbor_service *
harbor_service_new_exec(const char *name, const char *const *argv,
    char *err, size_t errlen)
{
	struct harbor_service	*svc;
	size_t			 i;

#ifdef _WIN32
	(void)name;
	(void)argv;
	(void)svc;
	(void)i;
	snprintf(err, errlen, "exec is not available on Windows: it hands "
	    "the client's socket to a child process as its standard input "
	    "and output, which Windows programs cannot use");
	return NULL;
#else
	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/') {
		snprintf(err, errlen, "exec needs the program's absolute path "
		    "(there is no PATH search)");
		return NULL;
	}
	if ((svc = harbor_service_new(name, &handler_exec)) == NULL ||
	    harbor_service_set_option(svc, "program", argv[0]) == -1)
		goto nomem;
	for (i = 1; argv[i] != NULL; i++)
		if (harbor_service_add_option(svc, "argument", argv[i]) == -1)
			goto nomem;
	return svc;
nomem:
	harbor_service_free(svc);
	snprintf(err, errlen, "out of memory");
	return NULL;
#endif
}

int
harbor_service_exec_setenv(struct harbor_service *svc, const char *nv,
    char *err, size_t errlen)
{
	if (not_exec(svc, err, errlen))
		return -1;
	if (strchr(nv, '=') == NULL || nv[0] == '=') {
		snprintf(err, errlen, "bad environment entry '%s' (expected "
		    "NAME=VALUE)", nv);
		return -1;
	}
	if (ucspi_name(nv) != NULL) {
		snprintf(err, errlen, "%s is set for each connection and "
		    "cannot be given", ucspi_name(nv));
		return -1;
	}
	if (harbor_service_add_option(svc, "env", nv) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
harbor_service_exec_credentials(struct harbor_service *svc, long uid,
    long gid, char *err, size_t errlen)
{
	char	v[32];

	if (not_exec(svc, err, errlen))
		return -1;
	snprintf(v, sizeof v, "%ld", uid);
	if (uid != -1 && harbor_service_set_option(svc, "uid", v) == -1)
		goto nomem;
	snprintf(v, sizeof v, "%ld", gid);
	if (gid != -1 && harbor_service_set_option(svc, "gid", v) == -1)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}
