/*
 * Where harbord's log goes: stderr, syslog or a file.  One line per
 * message, written whole, from any thread.
 */
#ifndef HARBORD_LOGSINK_H
#define HARBORD_LOGSINK_H

#include <stddef.h>

enum logsink_kind {
	LOGSINK_STDERR,
	LOGSINK_SYSLOG,
	LOGSINK_FILE
};

/* arg: the syslog facility (NULL: daemon) or the file's path.  The sink in
 * use stays when opening the new one fails. */
int	logsink_open(enum logsink_kind kind, const char *arg, char *err,
	    size_t errlen);
/* Tells whether the sink in use is this one. */
int	logsink_is(enum logsink_kind kind, const char *arg);
/* A log file is opened again under its name (after logrotate renamed
 * it); the other sinks stay as they are. */
int	logsink_reopen(char *err, size_t errlen);
void	logsink_close(void);
/* Standard error as a program's messages ("harbord: error: ...") rather
 * than a timestamped log: before harbord has a log, and for -n. */
void	logsink_plain(int on);
/* Warnings and errors copied to fd as messages too (-1: no more): the
 * starter's terminal while harbord is detaching. */
void	logsink_tee(int fd);
/* A log file opened by another process: its descriptor (taken) and path. */
int	logsink_adopt(const char *path, int fd, char *err, size_t errlen);
/* The log file's descriptor, -1 if the log is no file. */
int	logsink_file_fd(void);
/* on: lines go through a writer thread of their own (logqueue.c) from now
 * on (0, or -1 if it cannot start, and they are written as before);
 * off: every line queued is written, and the thread ends. */
int	logsink_async(int on);

#endif
