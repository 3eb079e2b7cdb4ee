/* harbord's pid file: written after detaching, removed at exit. */
#ifndef HARBORD_PIDFILE_H
#define HARBORD_PIDFILE_H

#include <stddef.h>

/* Fails when the file names another live process: harbord checks before
 * it detaches, so that the error reaches the terminal and the exit code. */
int	pidfile_check(const char *path, char *err, size_t errlen);
int	pidfile_write(const char *path, char *err, size_t errlen);
void	pidfile_remove(const char *path);

#endif
