/*
 * logqueue.c: the serving process's log writer thread and its bounded
 * queue.
 */
#ifndef HARBORD_LOGQUEUE_H
#define HARBORD_LOGQUEUE_H

#include <sys/time.h>

#include "harbor.h"

#define LOGQ_LINE_MAX	1024	/* harbor_log's own bound */

/* A line as it was logged. */
struct logq_line {
	const struct timeval	*tv;
	enum harbor_log_level	 level;
	const char		*text;
};
/* Writes lines, in order: the writer thread's. */
typedef void logqueue_emit_fn(const struct logq_line *lines, size_t n);

/* From now on, lines go through the queue to a writer thread that emits
 * them: 0, or -1 (out of memory, no thread). */
int	logqueue_start(logqueue_emit_fn *emit);
/* A line queued (0; or dropped and counted, the queue being full); -1 if
 * the queue is not running, and the caller writes it itself. */
int	logqueue_put(enum harbor_log_level level, const char *msg);
/* Returns once every line queued so far is written. */
void	logqueue_flush(void);
/* Every line written, then the thread ends; lines go back to being
 * written by whoever logs them. */
void	logqueue_stop(void);

#endif
