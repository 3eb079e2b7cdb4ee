/*
 * The serving process's log writer: a thread of its own, fed by a bounded
 * queue, so that a thread that logs (an I/O loop saying a client closed)
 * only copies its line and goes on; it never waits for write(2), syslog
 * or a full pipe, nor for another thread that does.  A line that finds
 * the queue full is dropped and counted (harbor_log_count_dropped, which
 * the metrics and harborctl status show), never waited for.
 *
 * The privileged process, and any process before it serves, writes its
 * lines itself (logsink.c): it has one thread, and its lines are few.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "compat.h"
#include "thread.h"
#include "harbor.h"
#include "logqueue.h"

#define LOGQ_SLOTS	1024
/* Lines handed to the sink at once. */
#define LOGQ_BATCH	128
/* Once woken, the writer lets lines gather this long: a busy server's
 * lines go out a batch a write, not a wake-up and a write each. */
#define LOGQ_GATHER_NS	1000000

struct logq_entry {
	struct timeval	tv;
	int		level;
	char		text[LOGQ_LINE_MAX];
};

static struct {
	mutex_t			 lock;
	cond_t			 more;		/* the writer: lines came */
	cond_t			 drained;	/* flushers: the queue emptied */
	thread_t		 thread;
	int			 running;
	int			 stop;
	int			 writing;	/* the writer holds lines */
	int			 flushing;	/* someone waits: no gathering */
	unsigned		 head, tail;	/* tail - head: queued */
	struct logq_entry	*slot;
	logqueue_emit_fn	*emit;
} q;

static void
gather(void)
{
#ifdef _WIN32
	Sleep(LOGQ_GATHER_NS / 1000000);
#else
	struct timespec	ts = { 0, LOGQ_GATHER_NS };

	(void)nanosleep(&ts, NULL);
#endif
}

static void
writer(void *arg)
{
	struct logq_line	 batch[LOGQ_BATCH];
	struct logq_entry	*e;
	unsigned		 head, tail;
	size_t			 n;

	(void)arg;
	mutex_lock(&q.lock);
	for (;;) {
		while (q.head == q.tail && !q.stop)
			cond_wait(&q.more, &q.lock);
		if (q.head == q.tail && q.stop)
			break;
		if (!q.stop && !q.flushing) {
			mutex_unlock(&q.lock);
			gather();
			mutex_lock(&q.lock);
		}
		head = q.head;
		tail = q.tail;
		q.writing = 1;
		mutex_unlock(&q.lock);
		/* Producers write only past tail, and not into these until
		 * head moves on. */
		while (head != tail) {
			for (n = 0; head != tail && n < LOGQ_BATCH; head++) {
				e = &q.slot[head % LOGQ_SLOTS];
				batch[n].tv = &e->tv;
				batch[n].level = (enum harbor_log_level)e->level;
				batch[n++].text = e->text;
			}
			q.emit(batch, n);
		}
		mutex_lock(&q.lock);
		q.head = tail;
		q.writing = 0;
		cond_broadcast(&q.drained);
	}
	mutex_unlock(&q.lock);
}

int
logqueue_start(logqueue_emit_fn *emit)
{
	if (q.running)
		return 0;
	if ((q.slot = calloc(LOGQ_SLOTS, sizeof *q.slot)) == NULL)
		return -1;
	mutex_init(&q.lock);
	cond_init(&q.more);
	cond_init(&q.drained);
	q.emit = emit;
	q.head = q.tail = 0;
	q.stop = 0;
	if (thread_create(&q.thread, writer, NULL) == -1) {
		cond_destroy(&q.drained);
		cond_destroy(&q.more);
		mutex_destroy(&q.lock);
		free(q.slot);
		q.slot = NULL;
		return -1;
	}
	q.running = 1;
	return 0;
}

int
logqueue_put(enum harbor_log_level level, const char *msg)
{
	struct logq_entry	*e;
	struct timeval		 tv;

	if (!q.running)
		return -1;
	(void)gettimeofday(&tv, NULL);
	mutex_lock(&q.lock);
	if (q.tail - q.head >= LOGQ_SLOTS) {
		mutex_unlock(&q.lock);
		harbor_log_count_dropped();
		return 0;
	}
	e = &q.slot[q.tail % LOGQ_SLOTS];
	e->tv = tv;
	e->level = (int)level;
	strlcpy(e->text, msg, sizeof e->text);
	if (q.tail++ == q.head)
		cond_signal(&q.more);
	mutex_unlock(&q.lock);
	return 0;
}

void
logqueue_flush(void)
{
	if (!q.running)
		return;
	mutex_lock(&q.lock);
	q.flushing++;
	cond_signal(&q.more);
	while (q.head != q.tail || q.writing)
		cond_wait(&q.drained, &q.lock);
	q.flushing--;
	mutex_unlock(&q.lock);
}

void
logqueue_stop(void)
{
	if (!q.running)
		return;
	mutex_lock(&q.lock);
	q.stop = 1;
	cond_signal(&q.more);
	mutex_unlock(&q.lock);
	thread_join(q.thread);
	q.running = 0;
	cond_destroy(&q.drained);
	cond_destroy(&q.more);
	mutex_destroy(&q.lock);
	free(q.slot);
	q.slot = NULL;
}
