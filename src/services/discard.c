/* discard (RFC 863): reads and throws away; never answers. */
#include "autoconfig.h"

#include "harbor.h"
#include "services.h"

/* No input callback: the connection drains input without a call. */
const struct harbor_handler handler_discard = {
	HARBOR_HANDLER_V1,
	.name = "discard",
};
