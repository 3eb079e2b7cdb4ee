/*
 * libFuzzer target: a control socket request (ctl-commands.c), as any
 * local client may send it.  Whatever comes: no crash, no read past the
 * line, and a request taken is one the server can run: a known command,
 * an argument only where it takes one, printable and bounded.  The same
 * bytes as a key line (only the key is taken) and as a control file's
 * text (ctl-key.c: a file taken gives a port and a key that write the
 * same text back).
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
key_and_file(const char *line, size_t size)
{
	static const char	key[] = "0123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcdef";
	char			text[CTL_LINE_MAX + 1], got[CTL_KEY_SIZE];
	char			again[CTL_LINE_MAX + 1], why[64];
	int			port;

	if (ctl_key_check(line, size, key) == 0 &&
	    (size != 4 + sizeof key - 1 || memcmp(line, "key ", 4) != 0 ||
	    memcmp(line + 4, key, sizeof key - 1) != 0))
		abort();
	memcpy(text, line, size);
	text[size] = '\0';
	if (ctl_keyfile_parse(text, &port, got, why, sizeof why) == 0) {
		if (port < 1 || port > 65535 || strlen(got) != CTL_KEY_SIZE - 1 ||
		    ctl_keyfile_format(again, sizeof again, port, got) == -1 ||
		    strncmp(again, text, strlen(again) - 1) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request	 req;
	char			 why[256];
	char			*line;
	size_t			 i, n;

	if (size >= CTL_LINE_MAX)
		return 0;	/* the server answers those before parsing */
	/* Exactly the line, in a block of its own size, as the server has
	 * it: a read past it is caught. */
	if ((line = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	if (ctl_request_parse(line, size, &req, why, sizeof why) == 0) {
		if ((unsigned)req.cmd >= CTL_COMMANDS)
			abort();
		if (req.has_arg) {
			if (ctl_commands[req.cmd].arg == NULL)
				abort();
			n = strlen(req.arg);
			if (n == 0 || n >= CTL_ARG_MAX)
				abort();
			for (i = 0; i < n; i++)
				if ((unsigned char)req.arg[i] <= ' ' ||
				    (unsigned char)req.arg[i] > '~')
					abort();
		} else if (ctl_commands[req.cmd].arg_needed)
			abort();
	} else if (memchr(why, '\0', sizeof why) == NULL)
		abort();
	key_and_file(line, size);
	free(line);
	return 0;
}
