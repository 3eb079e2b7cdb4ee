/*
 * Handlers by name: the built-in ones (the classic small services of RFCs
 * 862 to 868) and those of the modules loaded.
 *
 * A module is a shared object that says which version of the handler
 * interface it was built for (harbor_module_abi_version) and registers
 * its handlers from one entry point (harbor_module_init); HARBOR_MODULE()
 * defines both.  Modules are loaded once per object, on the caller's thread
 * (harbord: while it reads its configuration, on its main thread), and
 * never unloaded: a connection may be running a module's code whatever
 * the configuration says now.  The table of their handlers only grows, so
 * a handler found stays valid for the life of the process.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "thread.h"
#include "harbor.h"
#include "services.h"

#define MODULE_HANDLERS_MAX	256

/* exec and forward are made by harbor_service_new_exec() and _forward(),
 * not found by name: their settings are their own. */
static const struct harbor_handler *const builtins[] = {
	&handler_echo, &handler_discard, &handler_chargen, &handler_daytime,
	&handler_time, &handler_qotd, &handler_metrics
};

static const char *const builtin_names[] = {
	"echo", "discard", "chargen", "daytime", "time", "qotd", "metrics",
	NULL
};

struct harbor_module {
	char			*path;
	void			*handle;
	size_t			 nhandlers;
	struct harbor_module	*next;
};

static mutex_t			 registry_lock;
static int			 registry_ready;
static struct harbor_module	*modules;
static const struct harbor_handler *module_handlers[MODULE_HANDLERS_MAX];
static struct harbor_module	*module_of[MODULE_HANDLERS_MAX];
static size_t			 nmodule_handlers;

const struct harbor_handler *
harbor_builtin_handler(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strcmp(builtins[i]->name, name) == 0)
			return builtins[i];
	return NULL;
}

const char *const *
harbor_builtin_handler_names(void)
{
	return builtin_names;
}

static void
registry_init(void)
{
	/* Modules are loaded from one thread (the program's, before or
	 * between its servers' changes); the lock guards lookups made
	 * meanwhile from others. */
	if (!registry_ready) {
		mutex_init(&registry_lock);
		registry_ready = 1;
	}
}

const struct harbor_handler *
harbor_handler_find(const char *name)
{
	const struct harbor_handler	*h;
	size_t				 i;

	if ((h = harbor_builtin_handler(name)) != NULL)
		return h;
	if (!registry_ready)
		return NULL;
	mutex_lock(&registry_lock);
	for (i = 0; i < nmodule_handlers; i++)
		if (strcmp(module_handlers[i]->name, name) == 0) {
			h = module_handlers[i];
			break;
		}
	mutex_unlock(&registry_lock);
	return h;
}

int
harbor_module_add_handler(struct harbor_module *m,
    const struct harbor_handler *h)
{
	int	r = -1;

	if (h == NULL || h->abi_version != HARBOR_ABI_VERSION ||
	    h->size < sizeof(unsigned) + sizeof(size_t) + sizeof(char *) ||
	    h->name == NULL || harbor_handler_find(h->name) != NULL)
		return -1;
	mutex_lock(&registry_lock);
	if (nmodule_handlers < MODULE_HANDLERS_MAX) {
		module_of[nmodule_handlers] = m;
		module_handlers[nmodule_handlers++] = h;
		m->nhandlers++;
		r = 0;
	}
	mutex_unlock(&registry_lock);
	return r;
}

#ifdef HARBOR_MODULES
/* The handlers a module registered before its init failed go again. */
static void
module_forget(struct harbor_module *m)
{
	size_t	i, j = 0;

	mutex_lock(&registry_lock);
	for (i = 0; i < nmodule_handlers; i++)
		if (module_of[i] != m) {
			module_of[j] = module_of[i];
			module_handlers[j++] = module_handlers[i];
		}
	nmodule_handlers = j;
	mutex_unlock(&registry_lock);
}
#endif

struct harbor_module *
harbor_module_load(const char *path, char *err, size_t errlen)
{
	struct harbor_module	*m;
	harbor_module_init_fn	*init;
	const unsigned		*abi;
	char			 why[256] = "";
	void			*handle;

	registry_init();
	for (m = modules; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0)
			return m;	/* loaded already: once is enough */
#ifndef HARBOR_MODULES
	(void)handle;
	(void)init;
	(void)abi;
	(void)why;
	snprintf(err, errlen, "cannot load module %s: this libharbor was "
	    "built without shared libraries (--disable-shared), which "
	    "modules link against", path);
	return NULL;
#else
	if ((handle = compat_module_open(path, why, sizeof why)) == NULL) {
		snprintf(err, errlen, "cannot load module %s: %s", path, why);
		return NULL;
	}
	/* The same object by another path (a symbolic link, "dir/../"): the
	 * system gives its handle again, and it is loaded already. */
	for (m = modules; m != NULL; m = m->next)
		if (m->handle == handle)
			return m;
	/* A data symbol and a function: the object's void * stands for
	 * both, as dlsym's does. */
	abi = compat_module_symbol(handle, "harbor_module_abi_version");
	*(void **)&init = compat_module_symbol(handle, "harbor_module_init");
	if (abi == NULL || init == NULL) {
		snprintf(err, errlen, "%s is not a harbord module: it has no "
		    "%s (see HARBOR_MODULE in harbor_module(3))", path,
		    abi == NULL ? "harbor_module_abi_version" :
		    "harbor_module_init");
		return NULL;
	}
	if (*abi != HARBOR_ABI_VERSION) {
		snprintf(err, errlen, "module %s was built for version %u of "
		    "libharbor's handler interface; this libharbor has "
		    "version %d", path, *abi, HARBOR_ABI_VERSION);
		return NULL;
	}
	if ((m = calloc(1, sizeof *m)) == NULL ||
	    (m->path = strdup(path)) == NULL) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->handle = handle;
	if (init(m, why, sizeof why) == -1 || m->nhandlers == 0) {
		snprintf(err, errlen, "module %s: %s", path, why[0] != '\0' ?
		    why : "it registers no handler");
		module_forget(m);
		free(m->path);
		free(m);
		return NULL;
	}
	m->next = modules;
	modules = m;
	return m;
#endif
}

const char *
harbor_module_path(const struct harbor_module *m)
{
	return m->path;
}
