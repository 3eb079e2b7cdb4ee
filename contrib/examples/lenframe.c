/*
 * lenframe: a module whose handler speaks a binary protocol of frames: a
 * 4-byte big-endian length, then that many bytes.  Each frame is answered
 * with its payload reversed, in a frame of the same form.  The handler
 * consumes nothing until a frame is whole (input() returns 0, and
 * harbor_conn_need_input() says how much it waits for), so the library
 * keeps the rest buffered; a frame over LENFRAME_MAX is refused with a
 * close.
 *
 *	module /usr/local/lib/harbord/lenframe.so
 *	service frames { listen 127.0.0.1:7300; handler lenframe }
 *
 * Build it against an installed libharbor:
 *
 *	cc -shared -fPIC -o lenframe.so lenframe.c \
 *	    $(pkg-config --cflags --libs libharbor)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <harbor.h>

#define LENFRAME_MAX	(1024 * 1024)

static int
lenframe_init(struct harbor_service *svc, void **state, char *err,
    size_t errlen)
{
	(void)state;
	if (harbor_service_check_options(svc, NULL, err, errlen) == -1)
		return -1;
	/* A whole frame and its length must fit in the input buffer. */
	if (harbor_service_set_max_input(svc, LENFRAME_MAX + 4) == -1) {
		snprintf(err, errlen, "cannot make room for a frame");
		return -1;
	}
	return 0;
}

static size_t
lenframe_input(struct harbor_conn *c, const char *data, size_t len)
{
	const unsigned char	*p = (const unsigned char *)data;
	unsigned char		 hdr[4], *out;
	size_t			 used = 0, n, i;

	while (len - used >= 4) {
		n = (size_t)p[used] << 24 | (size_t)p[used + 1] << 16 |
		    (size_t)p[used + 2] << 8 | p[used + 3];
		if (n > LENFRAME_MAX) {
			harbor_log(HARBOR_LOG_NOTICE, "service %s: conn %llu: "
			    "frame of %zu bytes refused (at most %d)",
			    harbor_service_name(harbor_conn_service(c)),
			    (unsigned long long)harbor_conn_id(c), n,
			    LENFRAME_MAX);
			(void)harbor_conn_fail(c, "frame too long");
			return len;
		}
		if (len - used - 4 < n) {
			/* Not again before the whole frame is here. */
			(void)harbor_conn_need_input(c, 4 + n);
			break;
		}
		if ((out = malloc(n > 0 ? n : 1)) == NULL) {
			(void)harbor_conn_fail(c, "out of memory");
			return len;
		}
		for (i = 0; i < n; i++)
			out[i] = p[used + 4 + n - 1 - i];
		memcpy(hdr, p + used, 4);
		(void)harbor_conn_write(c, hdr, 4);
		(void)harbor_conn_write(c, out, n);
		free(out);
		used += 4 + n;
	}
	return used;
}

static const struct harbor_handler lenframe_handler = {
	HARBOR_HANDLER_V1,
	.name = "lenframe",
	.service_init = lenframe_init,
	.input = lenframe_input,
};

static int
lenframe_module(struct harbor_module *m, char *err, size_t errlen)
{
	if (harbor_module_add_handler(m, &lenframe_handler) == -1) {
		snprintf(err, errlen, "a handler 'lenframe' exists already");
		return -1;
	}
	return 0;
}

HARBOR_MODULE(lenframe_module)
