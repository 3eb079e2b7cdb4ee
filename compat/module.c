/*
 * Loading shared objects: dlopen(3) where the system has it, LoadLibrary
 * on Windows.  What libharbor's modules need, and no more: open, look up a
 * symbol.  Nothing is ever closed (module code may be running).
 */
#include "autoconfig.h"

#include <stdio.h>

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#elif defined(HAVE_DLFCN_H)
#include <dlfcn.h>
#endif

#include "compat.h"

void *
compat_module_open(const char *path, char *err, size_t errlen)
{
#ifdef _WIN32
	HMODULE	h = LoadLibraryA(path);

	if (h == NULL)
		snprintf(err, errlen, "cannot load %s: error %lu", path,
		    (unsigned long)GetLastError());
	return (void *)h;
#elif defined(HAVE_DLFCN_H)
	void	*h;

	/* Its own symbols first (RTLD_LOCAL): two modules may use the same
	 * names for their statics without meeting. */
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		snprintf(err, errlen, "%s", dlerror());
	return h;
#else
	snprintf(err, errlen, "cannot load %s: this system has no dlopen",
	    path);
	return NULL;
#endif
}

void *
compat_module_symbol(void *handle, const char *name)
{
#ifdef _WIN32
	return (void *)GetProcAddress((HMODULE)handle, name);
#elif defined(HAVE_DLFCN_H)
	return dlsym(handle, name);
#else
	(void)handle;
	(void)name;
	return NULL;
#endif
}
