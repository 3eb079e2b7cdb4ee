/* echo (RFC 862): sends back whatever it receives. */
#include "autoconfig.h"

#include "harbor.h"
#include "services.h"

static size_t
echo_input(struct harbor_conn *conn, const char *data, size_t len)
{
	(void)harbor_conn_write(conn, data, len);
	return len;
}

const struct harbor_handler handler_echo = {
	HARBOR_HANDLER_V1,
	.name = "echo",
	.input = echo_input,
};
