/*
 * The control socket's commands: their names, arguments and help, for the
 * serving process that answers them (control.c) and for harborctl, which
 * checks a command line before it connects.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

const struct ctl_command_def ctl_commands[CTL_COMMANDS] = {
	[CTL_STATUS] = { "status", NULL, 0,
	    "the version, uptime, processes, and each service's addresses "
	    "and counts" },
	[CTL_CONNECTIONS] = { "connections", "SERVICE", 0,
	    "one line per open connection (of SERVICE only, if given)" },
	[CTL_DROP] = { "drop", "ID", 1,
	    "close connection ID now (its close is logged as \"dropped\")" },
	[CTL_DRAIN] = { "drain", "SERVICE", 1,
	    "stop accepting for SERVICE; open connections finish" },
	[CTL_RESUME] = { "resume", "SERVICE", 1,
	    "accept for a drained SERVICE again" },
	[CTL_RELOAD] = { "reload", NULL, 0,
	    "read the configuration again and wait for the result" },
	[CTL_LOG_REOPEN] = { "log-reopen", NULL, 0,
	    "open the log file again (after it was rotated)" },
	[CTL_STOP] = { "stop", NULL, 0,
	    "stop as on SIGTERM: stop accepting, let connections finish" },
	[CTL_UPGRADE] = { "upgrade", NULL, 0,
	    "start the harbord binary installed now with the listening "
	    "sockets; this one finishes its connections" },
};

/* A word: printable, no space; the next one starts after its spaces. */
static const char *
word(const char *p, const char *end, size_t *n)
{
	const char	*w;

	while (p < end && *p == ' ')
		p++;
	w = p;
	while (p < end && *p != ' ')
		p++;
	*n = (size_t)(p - w);
	return w;
}

static int
printable(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return 0;
	return 1;
}

int
ctl_request_parse(const char *line, size_t len, struct ctl_request *req,
    char *why, size_t whylen)
{
	const char	*end = line + len, *w, *arg;
	size_t		 n, argn, i;
	char		*stop;

	memset(req, 0, sizeof *req);
	if (len > 0 && line[len - 1] == '\r')
		end--;
	for (w = line; w < end; w++)
		if (*w != ' ' && !printable(w, 1)) {
			snprintf(why, whylen, "a request is one line of "
			    "printable text");
			return -1;
		}
	w = word(line, end, &n);
	if (n == 4 && memcmp(w, "json", 4) == 0) {
		req->json = 1;
		w = word(w + n, end, &n);
	}
	if (n == 0) {
		snprintf(why, whylen, "no command");
		return -1;
	}
	for (i = 0; i < CTL_COMMANDS; i++)
		if (strlen(ctl_commands[i].name) == n &&
		    memcmp(ctl_commands[i].name, w, n) == 0)
			break;
	if (i == CTL_COMMANDS) {
		snprintf(why, whylen, "unknown command '%.*s'",
		    (int)(n < 40 ? n : 40), printable(w, n) ? w : "?");
		return -1;
	}
	req->cmd = (enum ctl_command)i;
	arg = word(w + n, end, &argn);
	if (argn == 0) {
		if (ctl_commands[i].arg_needed) {
			snprintf(why, whylen, "%s needs %s", ctl_commands[i].name,
			    ctl_commands[i].arg);
			return -1;
		}
		return 0;
	}
	if (ctl_commands[i].arg == NULL) {
		snprintf(why, whylen, "%s takes no argument",
		    ctl_commands[i].name);
		return -1;
	}
	word(arg + argn, end, &n);
	if (n != 0) {
		snprintf(why, whylen, "%s takes one %s", ctl_commands[i].name,
		    ctl_commands[i].arg);
		return -1;
	}
	if (argn >= sizeof req->arg || !printable(arg, argn)) {
		snprintf(why, whylen, "%s: not a valid %s", ctl_commands[i].name,
		    ctl_commands[i].arg);
		return -1;
	}
	memcpy(req->arg, arg, argn);
	req->arg[argn] = '\0';
	req->has_arg = 1;
	if (req->cmd == CTL_DROP) {
		errno = 0;
		req->id = strtoull(req->arg, &stop, 10);
		if (errno != 0 || *stop != '\0' || req->arg[0] < '0' ||
		    req->arg[0] > '9') {
			snprintf(why, whylen, "drop: '%s' is not a connection "
			    "id (a number, as harborctl connections shows)",
			    req->arg);
			return -1;
		}
	}
	return 0;
}
