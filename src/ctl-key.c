/*
 * The key of a control channel that no file mode guards: where the
 * control socket is loopback TCP (Windows, whose Winsock may have no Unix
 * sockets), any local program can connect, so the client proves it could
 * read the control file, which says where harbord listens and holds a
 * random key, by sending that key first.  The file's access list is the
 * guard, as a Unix socket's mode is elsewhere.  This is the text of both:
 * the file, and the key line; ctl-socket-win.c makes and reads them.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

#define FILE_WORD	"harbord-control"
#define KEY_WORD	"key"

static int
is_hex(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

void
ctl_key_from_bytes(const unsigned char *bytes, char key[CTL_KEY_SIZE])
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < CTL_KEY_BYTES; i++) {
		key[2 * i] = digits[bytes[i] >> 4];
		key[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	key[CTL_KEY_SIZE - 1] = '\0';
}

int
ctl_keyfile_format(char *buf, size_t buflen, int port, const char *key)
{
	int	n;

	n = snprintf(buf, buflen, FILE_WORD " 127.0.0.1 %d %s\n", port, key);
	return n < 0 || (size_t)n >= buflen ? -1 : n;
}

int
ctl_keyfile_parse(const char *text, int *port, char key[CTL_KEY_SIZE],
    char *why, size_t whylen)
{
	static const char	head[] = FILE_WORD " 127.0.0.1 ";
	const char		*p = text;
	long			 n = 0;
	int			 digits = 0;

	/* As ctl_keyfile_format writes it, and no other way. */
	if (strncmp(p, head, sizeof head - 1) != 0 ||
	    p[sizeof head - 1] == '0')
		goto bad;
	for (p += sizeof head - 1; *p >= '0' && *p <= '9' && digits < 6;
	    p++, digits++)
		n = n * 10 + (*p - '0');
	if (digits == 0 || n < 1 || n > 65535 || *p++ != ' ' ||
	    !is_hex(p, CTL_KEY_SIZE - 1) ||
	    (p[CTL_KEY_SIZE - 1] != '\n' && p[CTL_KEY_SIZE - 1] != '\r' &&
	    p[CTL_KEY_SIZE - 1] != '\0'))
		goto bad;
	memcpy(key, p, CTL_KEY_SIZE - 1);
	key[CTL_KEY_SIZE - 1] = '\0';
	*port = (int)n;
	return 0;
bad:
	snprintf(why, whylen, "not a harbord control file");
	return -1;
}

int
ctl_key_line(char *buf, size_t buflen, const char *key)
{
	int	n;

	n = snprintf(buf, buflen, KEY_WORD " %s\n", key);
	return n < 0 || (size_t)n >= buflen ? -1 : n;
}

int
ctl_key_check(const char *line, size_t len, const char *key)
{
	static const char	head[] = KEY_WORD " ";
	unsigned char		diff = 0;
	size_t			i;

	if (len != sizeof head - 1 + CTL_KEY_SIZE - 1 ||
	    strlen(key) != CTL_KEY_SIZE - 1 ||
	    memcmp(line, head, sizeof head - 1) != 0)
		return -1;
	/* Every byte compared, so that how long it takes does not say how
	 * much of a guess was right. */
	line += sizeof head - 1;
	for (i = 0; i < CTL_KEY_SIZE - 1; i++)
		diff |= (unsigned char)(line[i] ^ key[i]);
	return diff == 0 ? 0 : -1;
}
