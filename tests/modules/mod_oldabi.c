/* A test module built for an interface this libharbor does not have. */
#include <stddef.h>

struct harbor_module;

__attribute__((visibility("default"))) extern const unsigned
    harbor_module_abi_version;
__attribute__((visibility("default"))) const unsigned
    harbor_module_abi_version = 99;
__attribute__((visibility("default"))) int
    harbor_module_init(struct harbor_module *, char *, size_t);

__attribute__((visibility("default"))) int
harbor_module_init(struct harbor_module *m, char *err, size_t errlen)
{
	(void)m;
	(void)err;
	(void)errlen;
	return 0;
}
