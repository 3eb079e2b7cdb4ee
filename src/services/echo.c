/* echo (RFC 862): sends back whatever it receives. */
#include "autoconfig.h"

#include "harbor-internal.h"

static void
echo_input(struct harbor_conn *conn, const char *data, size_t len)
{
	(void)harbor_conn_write(conn, data, len);
}

const struct harbor_handler handler_echo = {
	.name = "echo",
	.input = echo_input,
};
