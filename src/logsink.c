/*
 * harbord's log destinations, installed as libharbor's log sink.  A line
 * is formatted whole and written with one write(2), so lines from
 * different threads never mix; the lock only keeps a sink from being
 * swapped (on reload) under a writer.  In the serving process, once it
 * serves, lines go through logqueue.c's writer thread instead
 * (logsink_async), so that no thread that serves waits for the log.
 */
#include "autoconfig.h"

#include <errno.h>
#ifndef _WIN32
#include <pthread.h>
#endif
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef HAVE_SYSLOG_H
#include <syslog.h>
#endif
#include <sys/time.h>
#include <unistd.h>

#include "compat.h"
#include "thread.h"
#include "harbor.h"
#include "logqueue.h"
#include "logsink.h"

static mutex_t		 sink_lock;
static int		 sink_lock_ready;
static enum logsink_kind sink_kind = LOGSINK_STDERR;
static char		*sink_arg;
static int		 sink_fd = 2;
static int		 sink_plain;	/* stderr as messages, not a log */
static int		 tee_fd = -1;	/* warnings and errors, copied */
/* The pid lines name, asked once a process, not once a line; a fork's
 * child asks again. */
static atomic_long	 line_pid;

#ifndef _WIN32
static atomic_int	 line_pid_hooked;

static void
line_pid_forget(void)
{
	atomic_store(&line_pid, 0);
}
#endif

static long
line_pid_get(void)
{
	long	pid = atomic_load(&line_pid);

	if (pid == 0) {
#ifndef _WIN32
		if (!atomic_exchange(&line_pid_hooked, 1))
			(void)pthread_atfork(NULL, NULL, line_pid_forget);
#endif
		pid = (long)getpid();
		atomic_store(&line_pid, pid);
	}
	return pid;
}

#ifdef HAVE_SYSLOG_H
static const struct {
	const char	*name;
	int		 facility;
} facilities[] = {
	{ "auth", LOG_AUTH },
#ifdef LOG_AUTHPRIV
	{ "authpriv", LOG_AUTHPRIV },
#endif
	{ "cron", LOG_CRON }, { "daemon", LOG_DAEMON }, { "kern", LOG_KERN },
#ifdef LOG_FTP
	{ "ftp", LOG_FTP },
#endif
	{ "lpr", LOG_LPR }, { "mail", LOG_MAIL }, { "news", LOG_NEWS },
	{ "syslog", LOG_SYSLOG }, { "user", LOG_USER }, { "uucp", LOG_UUCP },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static const int syslog_priorities[] = {
	LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG
};
#endif

/* 0, or -1 if the line could not be written whole. */
static int
write_all(int fd, const char *buf, size_t len)
{
	size_t	off;
	ssize_t	w;

	for (off = 0; off < len; off += (size_t)w) {
		w = write(fd, buf + off, len - off);
		if (w <= 0 && errno != EINTR)
			return -1;
		if (w < 0)
			w = 0;
	}
	return 0;
}

#define LINE_MAX_LEN	1200

/* "harbord: level: message", as a program's messages on stderr go, into
 * line (LINE_MAX_LEN): its length, newline included. */
static size_t
format_plain(char *line, enum harbor_log_level level, const char *msg)
{
	int	n;

	n = snprintf(line, LINE_MAX_LEN, "harbord: %s: %s\n",
	    harbor_log_level_name(level), msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= LINE_MAX_LEN) {
		n = LINE_MAX_LEN - 1;
		line[n - 1] = '\n';
	}
	return (size_t)n;
}

static int
write_plain(int fd, enum harbor_log_level level, const char *msg)
{
	char	line[LINE_MAX_LEN];

	return write_all(fd, line, format_plain(line, level, msg));
}

/* A log's line: the time in UTC, the program and its pid, the level. */
static size_t
format_line(char *line, enum harbor_log_level level, const char *msg,
    const struct timeval *at)
{
	struct timeval	tv;
	struct tm	tm;
	time_t		secs;
	int		n;
	size_t		len;

	if (at != NULL)
		tv = *at;
	else
		(void)gettimeofday(&tv, NULL);
	secs = tv.tv_sec;
#ifdef _WIN32
	gmtime_s(&tm, &secs);
#else
	(void)gmtime_r(&secs, &tm);
#endif
	n = snprintf(line, LINE_MAX_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ "
	    "harbord[%ld]: %s: %s\n", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (long)(tv.tv_usec / 1000), line_pid_get(),
	    harbor_log_level_name(level), msg);
	if (n < 0)
		return 0;
	len = (size_t)n < LINE_MAX_LEN ? (size_t)n : LINE_MAX_LEN - 1;
	if (len == LINE_MAX_LEN - 1)
		line[len - 1] = '\n';
	return len;
}

static int
write_line(int fd, enum harbor_log_level level, const char *msg,
    const struct timeval *at)
{
	char	line[LINE_MAX_LEN];

	return write_all(fd, line, format_line(line, level, msg, at));
}

/* One line to the sink: at is when it was logged (NULL: now). */
static void
logsink_emit(enum harbor_log_level level, const char *msg,
    const struct timeval *at)
{
	mutex_lock(&sink_lock);
	/* Detached, standard error is /dev/null: the starter hears it. */
	if (tee_fd != -1 && level <= HARBOR_LOG_WARNING)
		(void)write_plain(tee_fd, level, msg);
	switch (sink_kind) {
	case LOGSINK_STDERR:
		if ((sink_plain ? write_plain(sink_fd, level, msg) :
		    write_line(sink_fd, level, msg, at)) == -1)
			harbor_log_count_dropped();
		break;
	case LOGSINK_FILE:
		if (write_line(sink_fd, level, msg, at) == -1)
			harbor_log_count_dropped();
		break;
	case LOGSINK_SYSLOG:
#ifdef HAVE_SYSLOG_H
		syslog(syslog_priorities[level], "%s", msg);
#endif
		break;
	}
	mutex_unlock(&sink_lock);
}

/* The writer thread's lines, written a buffer at a time. */
static void
logsink_emit_batch(const struct logq_line *lines, size_t n)
{
	char	buf[32768];
	size_t	used = 0, held = 0, i, k;

	mutex_lock(&sink_lock);
	for (i = 0; i < n; i++) {
		if (tee_fd != -1 && lines[i].level <= HARBOR_LOG_WARNING)
			(void)write_plain(tee_fd, lines[i].level,
			    lines[i].text);
		if (sink_kind == LOGSINK_SYSLOG) {
#ifdef HAVE_SYSLOG_H
			syslog(syslog_priorities[lines[i].level], "%s",
			    lines[i].text);
#endif
			continue;
		}
		if (used + LINE_MAX_LEN > sizeof buf) {
			if (write_all(sink_fd, buf, used) == -1)
				while (held-- > 0)
					harbor_log_count_dropped();
			used = held = 0;
		}
		k = sink_kind == LOGSINK_STDERR && sink_plain ?
		    format_plain(buf + used, lines[i].level, lines[i].text) :
		    format_line(buf + used, lines[i].level, lines[i].text,
		    lines[i].tv);
		used += k;
		held++;
	}
	if (used > 0 && write_all(sink_fd, buf, used) == -1)
		while (held-- > 0)
			harbor_log_count_dropped();
	mutex_unlock(&sink_lock);
}

static void
logsink_write(enum harbor_log_level level, const char *msg, void *arg)
{
	(void)arg;
	if (logqueue_put(level, msg) == -1)
		logsink_emit(level, msg, NULL);
}

int
logsink_async(int on)
{
	if (!on) {
		logqueue_stop();
		return 0;
	}
	return logqueue_start(logsink_emit_batch);
}

int
logsink_is(enum logsink_kind kind, const char *arg)
{
	if (kind != sink_kind)
		return 0;
	if (arg == NULL || sink_arg == NULL)
		return arg == sink_arg;
	return strcmp(arg, sink_arg) == 0;
}

static void
sink_ready(void)
{
	if (!sink_lock_ready) {
		mutex_init(&sink_lock);
		sink_lock_ready = 1;

		harbor_log_set_sink(logsink_write, NULL);
	}
}

/* The sink from now on: kind, its fd and argument (taken). */
static void
sink_swap(enum logsink_kind kind, int fd, char *arg)
{
	mutex_lock(&sink_lock);
	if (sink_kind == LOGSINK_FILE && sink_fd > 2 && sink_fd != fd)
		(void)close(sink_fd);
	sink_kind = kind;
	sink_fd = fd;
	free(sink_arg);
	sink_arg = arg;
	mutex_unlock(&sink_lock);
}

void
logsink_plain(int on)
{
	sink_ready();
	mutex_lock(&sink_lock);
	sink_plain = on;
	mutex_unlock(&sink_lock);
}

void
logsink_tee(int fd)
{
	sink_ready();
	/* What was said before goes where it was meant to. */
	logqueue_flush();
	mutex_lock(&sink_lock);
	tee_fd = fd;
	mutex_unlock(&sink_lock);
}

int
logsink_adopt(const char *path, int fd, char *err, size_t errlen)
{
	char	*copy;

	sink_ready();
	if ((copy = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
#ifdef FD_CLOEXEC
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
	sink_swap(LOGSINK_FILE, fd, copy);
	return 0;
}

int
logsink_file_fd(void)
{
	return sink_lock_ready && sink_kind == LOGSINK_FILE ? sink_fd : -1;
}

int
logsink_open(enum logsink_kind kind, const char *arg, char *err, size_t errlen)
{
	int	 fd = 2;
	char	*copy = NULL;

	sink_ready();
	if (arg != NULL && (copy = strdup(arg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	switch (kind) {
	case LOGSINK_STDERR:
		break;
	case LOGSINK_FILE:
		fd = open(arg, O_WRONLY | O_APPEND | O_CREAT, 0640);
		if (fd == -1) {
			snprintf(err, errlen, "cannot open log file %s: %s",
			    arg, strerror(errno));
			free(copy);
			return -1;
		}
#ifdef FD_CLOEXEC
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
		break;
	case LOGSINK_SYSLOG: {
#ifdef HAVE_SYSLOG_H
		int	facility = LOG_DAEMON;
		size_t	i;

		for (i = 0; arg != NULL &&
		    i < sizeof facilities / sizeof facilities[0]; i++)
			if (strcmp(facilities[i].name, arg) == 0)
				facility = facilities[i].facility;
		mutex_lock(&sink_lock);
		closelog();
		openlog("harbord", LOG_PID | LOG_NDELAY, facility);
		mutex_unlock(&sink_lock);
#else
		snprintf(err, errlen, "syslog is not available here");
		free(copy);
		return -1;
#endif
		break;
	}
	}

	sink_swap(kind, fd, copy);
	return 0;
}

int
logsink_reopen(char *err, size_t errlen)
{
	char	*path;
	int	 r;

	if (!sink_lock_ready || sink_kind != LOGSINK_FILE)
		return 0;
	if ((path = strdup(sink_arg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = logsink_open(LOGSINK_FILE, path, err, errlen);
	free(path);
	return r;
}

void
logsink_close(void)
{
	if (!sink_lock_ready)
		return;
	logqueue_stop();
	mutex_lock(&sink_lock);
	if (sink_kind == LOGSINK_FILE && sink_fd > 2)
		(void)close(sink_fd);
#ifdef HAVE_SYSLOG_H
	if (sink_kind == LOGSINK_SYSLOG)
		closelog();
#endif
	sink_kind = LOGSINK_STDERR;
	sink_fd = 2;
	free(sink_arg);
	sink_arg = NULL;
	mutex_unlock(&sink_lock);
}
