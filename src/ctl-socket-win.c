/*
 * The control socket on Windows: loopback TCP, on a port the system
 * picks, and a control file that says which port and holds a random key
 * (ctl-key.c).  Any local program can connect to the port; only one that
 * can read the file knows the key, and harbord answers no one who does
 * not send it first.  The file's access list lets the administrators, the
 * system and the file's owner (who runs harbord) read it: that list is the
 * guard, as a Unix socket's mode is (ctl-socket.c).  Winsock has Unix
 * sockets only on recent Windows, so TCP is what every Windows has.
 */
#define _CRT_RAND_S		/* rand_s(), from the system's generator */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <sddl.h>

#include "compat.h"
#include "control.h"

/* Protected: nothing inherited from the directory.  Full access for the
 * system (SY), the administrators (BA) and the file's owner (OW). */
#define CONTROL_FILE_ACL	"D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)"
#define CONTROL_FILE_NAME	"harbord.ctl"
#define CONTROL_FILE_MAX	256

const char *
ctl_socket_default(void)
{
	static char	path[MAX_PATH + sizeof CONTROL_FILE_NAME];

	/* Beside the program: harbord.exe and harborctl.exe are installed
	 * side by side. */
	return compat_beside_program(CONTROL_FILE_NAME, path, sizeof path);
}

static void
winsock_start(void)
{
	static int	started;
	WSADATA		wsa;

	if (!started && WSAStartup(MAKEWORD(2, 2), &wsa) == 0)
		started = 1;
}

static void
say_error(char *why, size_t whylen, const char *path, const char *what,
    unsigned long e)
{
	char	msg[256];

	snprintf(why, whylen, "control socket %s: %s: %s", path, what,
	    compat_win_strerror(e, msg, sizeof msg));
}

/* The control file's text: 1, 0 if there is none, -1 with why. */
static int
read_file(const char *path, char *buf, size_t buflen, char *why,
    size_t whylen)
{
	HANDLE	h;
	DWORD	n = 0, e;

	h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		if (e == ERROR_FILE_NOT_FOUND)
			return 0;
		if (e == ERROR_ACCESS_DENIED)
			snprintf(why, whylen, "%s: permission denied (the "
			    "administrators may use it)", path);
		else
			say_error(why, whylen, path, "cannot read it", e);
		return -1;
	}
	if (!ReadFile(h, buf, (DWORD)buflen - 1, &n, NULL)) {
		say_error(why, whylen, path, "cannot read it", GetLastError());
		CloseHandle(h);
		return -1;
	}
	CloseHandle(h);
	buf[n] = '\0';
	return 1;
}

/* A socket connected to harbord at 127.0.0.1:port, or INVALID_SOCKET
 * with the Winsock error in *e. */
static SOCKET
connect_port(int port, int *e)
{
	struct sockaddr_in	sin;
	SOCKET			s;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if ((s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET) {
		*e = WSAGetLastError();
		return INVALID_SOCKET;
	}
	if (connect(s, (struct sockaddr *)&sin, sizeof sin) == SOCKET_ERROR) {
		*e = WSAGetLastError();
		closesocket(s);
		return INVALID_SOCKET;
	}
	return s;
}

/* A control file already there: left by a harbord that is gone
 * (removed), or another's (an error). */
static int
clear_stale(const char *path, char *why, size_t whylen)
{
	char	text[CONTROL_FILE_MAX], key[CTL_KEY_SIZE];
	int	port, e;
	SOCKET	s;

	switch (read_file(path, text, sizeof text, why, whylen)) {
	case 0:
		return 0;
	case -1:
		return -1;
	}
	if (ctl_keyfile_parse(text, &port, key, why, whylen) == -1) {
		snprintf(why, whylen, "control socket %s: the path exists and "
		    "is not a harbord control file", path);
		return -1;
	}
	if ((s = connect_port(port, &e)) != INVALID_SOCKET) {
		closesocket(s);
		snprintf(why, whylen, "control socket %s: another harbord "
		    "answers there", path);
		return -1;
	}
	if (!DeleteFileA(path) && GetLastError() != ERROR_FILE_NOT_FOUND) {
		say_error(why, whylen, path, "cannot remove the old one",
		    GetLastError());
		return -1;
	}
	return 0;
}

static int
new_key(char key[CTL_KEY_SIZE])
{
	unsigned char	bytes[CTL_KEY_BYTES];
	unsigned int	r;
	size_t		i;

	for (i = 0; i < sizeof bytes; i += sizeof r) {
		if (rand_s(&r) != 0)
			return -1;
		memcpy(bytes + i, &r, sizeof r);
	}
	ctl_key_from_bytes(bytes, key);
	SecureZeroMemory(bytes, sizeof bytes);
	return 0;
}

/* The control file, new, readable only by those CONTROL_FILE_ACL names. */
static int
write_file(const char *path, int port, const char *key, char *why,
    size_t whylen)
{
	SECURITY_ATTRIBUTES	sa;
	PSECURITY_DESCRIPTOR	sd = NULL;
	char			text[CONTROL_FILE_MAX];
	HANDLE			h;
	DWORD			n, e;
	int			len;

	if ((len = ctl_keyfile_format(text, sizeof text, port, key)) == -1) {
		snprintf(why, whylen, "control socket %s: no room for the key",
		    path);
		return -1;
	}
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(
	    CONTROL_FILE_ACL, SDDL_REVISION_1, &sd, NULL)) {
		say_error(why, whylen, path, "cannot make its access list",
		    GetLastError());
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.nLength = sizeof sa;
	sa.lpSecurityDescriptor = sd;
	/* New, or not at all: a file someone made in its place in the
	 * meantime would keep that one's access list. */
	h = CreateFileA(path, GENERIC_WRITE, 0, &sa, CREATE_NEW,
	    FILE_ATTRIBUTE_NORMAL, NULL);
	e = GetLastError();
	LocalFree(sd);
	if (h == INVALID_HANDLE_VALUE) {
		say_error(why, whylen, path, "cannot make it", e);
		return -1;
	}
	if (!WriteFile(h, text, (DWORD)len, &n, NULL) || n != (DWORD)len) {
		say_error(why, whylen, path, "cannot write it", GetLastError());
		CloseHandle(h);
		(void)DeleteFileA(path);
		return -1;
	}
	SecureZeroMemory(text, sizeof text);
	CloseHandle(h);
	return 0;
}

int
ctl_socket_listen(const char *path, long gid, char key[CTL_KEY_SIZE],
    char *why, size_t whylen)
{
	struct sockaddr_in	sin;
	int			sinlen = sizeof sin, one = 1;
	SOCKET			s;

	(void)gid;
	key[0] = '\0';
	winsock_start();
	if (clear_stale(path, why, whylen) == -1)
		return -1;
	if ((s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET) {
		say_error(why, whylen, path, "socket", WSAGetLastError());
		return -1;
	}
	/* No other program may bind the port while harbord has it. */
	(void)setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE,
	    (const char *)&one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) == SOCKET_ERROR ||
	    listen(s, CTL_CLIENTS_MAX) == SOCKET_ERROR ||
	    getsockname(s, (struct sockaddr *)&sin, &sinlen) == SOCKET_ERROR) {
		say_error(why, whylen, path, "listening on 127.0.0.1",
		    WSAGetLastError());
		closesocket(s);
		return -1;
	}
	if (new_key(key) == -1) {
		snprintf(why, whylen, "control socket %s: no random key from "
		    "the system", path);
		closesocket(s);
		return -1;
	}
	if (write_file(path, ntohs(sin.sin_port), key, why, whylen) == -1) {
		key[0] = '\0';
		closesocket(s);
		return -1;
	}
	return (int)s;
}

int
ctl_socket_connect(const char *path, char *why, size_t whylen)
{
	char	text[CONTROL_FILE_MAX], key[CTL_KEY_SIZE], line[96];
	int	port, e, len, sent;
	SOCKET	s;

	winsock_start();
	switch (read_file(path, text, sizeof text, why, whylen)) {
	case 0:
		snprintf(why, whylen, "%s: no such control file (is harbord "
		    "running, with this control-socket?)", path);
		return -1;
	case -1:
		return -1;
	}
	if (ctl_keyfile_parse(text, &port, key, why, whylen) == -1) {
		snprintf(why, whylen, "%s: not a harbord control file", path);
		return -1;
	}
	SecureZeroMemory(text, sizeof text);
	if ((s = connect_port(port, &e)) == INVALID_SOCKET) {
		if (e == WSAECONNREFUSED)
			snprintf(why, whylen, "%s: nothing answers (harbord is "
			    "not running)", path);
		else
			say_error(why, whylen, path, "connect", (unsigned long)e);
		return -1;
	}
	len = ctl_key_line(line, sizeof line, key);
	sent = len == -1 ? -1 : send(s, line, len, 0);
	SecureZeroMemory(key, sizeof key);
	SecureZeroMemory(line, sizeof line);
	if (sent != len) {
		say_error(why, whylen, path, "sending the key",
		    WSAGetLastError());
		closesocket(s);
		return -1;
	}
	return (int)s;
}

void
ctl_socket_close(int fd)
{
	closesocket((SOCKET)fd);
}
