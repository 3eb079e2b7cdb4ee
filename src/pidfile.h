/* harbord's pid file: written after detaching, removed at exit. */
#ifndef HARBORD_PIDFILE_H
#define HARBORD_PIDFILE_H

#include <stddef.h>

/* Refuses when the file names another live process. */
int	pidfile_write(const char *path, char *err, size_t errlen);
void	pidfile_remove(const char *path);

#endif
