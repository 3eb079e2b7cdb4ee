/*
 * The control socket: harborctl asks, the serving process answers.
 *
 * The protocol, one request per connection: the client sends one line,
 * "[json] COMMAND [ARGUMENT]" (at most CTL_LINE_MAX bytes with its
 * newline); the server answers "ok" or "error" on a line of its own, then
 * the answer (JSON with "json"; an error's text otherwise), and closes.
 * The commands are those of ctl_commands[], which harborctl's usage and
 * harborctl(8) are checked against.
 */
#ifndef HARBORD_CONTROL_H
#define HARBORD_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_LINE_MAX		512
#define CTL_ARG_MAX		256
/* Clients at once; one more is told the server is busy. */
#define CTL_CLIENTS_MAX		16
/* A client has this long to send its request. */
#define CTL_REQUEST_MS		10000

enum ctl_command {
	CTL_STATUS,
	CTL_CONNECTIONS,
	CTL_DROP,
	CTL_DRAIN,
	CTL_RESUME,
	CTL_RELOAD,
	CTL_LOG_REOPEN,
	CTL_STOP,
	CTL_UPGRADE,
	CTL_COMMANDS
};

struct ctl_command_def {
	const char	*name;
	const char	*arg;		/* its argument's name, or NULL */
	int		 arg_needed;	/* 0: the argument may be left out */
	const char	*help;
};
extern const struct ctl_command_def ctl_commands[CTL_COMMANDS];

struct ctl_request {
	enum ctl_command	cmd;
	int			json;
	int			has_arg;
	char			arg[CTL_ARG_MAX];
	uint64_t		id;		/* drop's argument */
};

/* ctl-commands.c: a request line (without its newline) read into req:
 * 0, or -1 with why. */
int	ctl_request_parse(const char *line, size_t len, struct ctl_request *req,
	    char *why, size_t whylen);

/* ctl-socket.c: the control socket at path, listening, mode 0660, of
 * group gid (-1: the process's own): the descriptor, or -1 with why.  A
 * socket file left by a harbord that is gone is replaced; one that
 * answers is another harbord's, and is not. */
int	ctl_socket_listen(const char *path, long gid, char *why, size_t whylen);
/* Connected to the control socket at path: the descriptor, or -1 with
 * why. */
int	ctl_socket_connect(const char *path, char *why, size_t whylen);

#endif
