/*
 * The control socket: harborctl asks, the serving process answers.
 *
 * The protocol, one request per connection: the client sends one line,
 * "[json] COMMAND [ARGUMENT]" (at most CTL_LINE_MAX bytes with its
 * newline); the server answers "ok" or "error" on a line of its own, then
 * the answer (JSON with "json"; an error's text otherwise), and closes.
 * The commands are those of ctl_commands[], which harborctl's usage and
 * harborctl(8) are checked against.
 *
 * Where the control socket is loopback TCP (Windows), the client first
 * sends the key of the control file, "key HEX" on a line of its own
 * (ctl-key.c).
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

/* A control channel's key: random bytes, written as lower-case hex. */
#define CTL_KEY_BYTES		32
#define CTL_KEY_SIZE		(2 * CTL_KEY_BYTES + 1)

/* ctl-key.c: the key of bytes (CTL_KEY_BYTES of them). */
void	ctl_key_from_bytes(const unsigned char *bytes, char key[CTL_KEY_SIZE]);
/* The control file's text, "harbord-control 127.0.0.1 PORT KEY": its
 * length, or -1 if buf is too small. */
int	ctl_keyfile_format(char *buf, size_t buflen, int port, const char *key);
/* The port and the key of a control file's text: 0, or -1 with why. */
int	ctl_keyfile_parse(const char *text, int *port, char key[CTL_KEY_SIZE],
	    char *why, size_t whylen);
/* The line a client sends first, with its newline: its length, or -1. */
int	ctl_key_line(char *buf, size_t buflen, const char *key);
/* A client's first line (len bytes, without its newline) holds key: 0,
 * or -1. */
int	ctl_key_check(const char *line, size_t len, const char *key);

/* ctl-socket.c (a Unix socket) or ctl-socket-win.c (loopback TCP and a
 * control file): the control socket at path, listening, only for those
 * who may steer harbord: on Unix mode 0660, of group gid (-1: the
 * process's own); on Windows a control file at path that only the
 * administrators, the system and its owner may read.  The descriptor (a
 * Winsock SOCKET on Windows), with the key clients must send in key (""
 * where none is needed), or -1 with why.  A file left by a harbord that
 * is gone is replaced; one that answers is another harbord's, and is
 * not. */
int	ctl_socket_listen(const char *path, long gid, char key[CTL_KEY_SIZE],
	    char *why, size_t whylen);
/* Connected to the control socket at path, the key sent where one is
 * needed: the descriptor, or -1 with why. */
int	ctl_socket_connect(const char *path, char *why, size_t whylen);
/* The control socket harbord and harborctl use when none is named:
 * $(runstatedir)/harbord/harbord.sock, or on Windows harbord.ctl in the
 * program's own directory. */
const char *ctl_socket_default(void);
/* The control socket of path, closed (its file stays). */
void	ctl_socket_close(int fd);

#endif
