/*
 * delay: a module whose handler echoes each line back after a delay,
 * using a timer of the connection: no thread waits meanwhile, so two
 * workers answer hundreds of clients on time.
 *
 *	module /usr/local/lib/harbord/delay.so
 *	service slow {
 *		listen 127.0.0.1:7100
 *		handler delay
 *		framing line
 *		option delay-ms 250	# 100 unless given
 *	}
 *
 * Lines wait in order, each until its own time; while more than
 * DELAY_QUEUE wait, input pauses, so a client that sends without end
 * costs a bounded amount.  Build it against an installed libharbor:
 *
 *	cc -shared -fPIC -o delay.so delay.c \
 *	    $(pkg-config --cflags --libs libharbor)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <harbor.h>

#define DELAY_DEFAULT_MS	100
#define DELAY_QUEUE		64

struct line {
	int64_t		 due_ms;
	size_t		 len;
	struct line	*next;
	char		 text[];
};

struct delayed {
	struct harbor_timer	*timer;
	struct line		*head, *tail;
	unsigned		 waiting;
	int			 paused;
	int			 ended;		/* the client sent its end */
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const delay_options[] = { "delay-ms", NULL };

static int
delay_init(struct harbor_service *svc, void **state, char *err,
    size_t errlen)
{
	const char	*v = harbor_service_option(svc, "delay-ms");
	unsigned long	*ms, n = DELAY_DEFAULT_MS;
	char		*end;

	if (harbor_service_check_options(svc, delay_options, err,
	    errlen) == -1)
		return -1;
	if (v != NULL && ((n = strtoul(v, &end, 10)) > 3600000UL ||
	    *v == '\0' || *end != '\0')) {
		snprintf(err, errlen, "option 'delay-ms' must be a number of "
		    "milliseconds up to 3600000, not '%s'", v);
		return -1;
	}
	if ((ms = malloc(sizeof *ms)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*ms = n;
	*state = ms;
	return 0;
}

static void
delay_free(void *state)
{
	free(state);
}

static void
arm(struct delayed *d)
{
	int64_t	wait = d->head->due_ms - now_ms();

	(void)harbor_timer_start(d->timer, wait > 0 ? (unsigned)wait : 0);
}

/* The timer: every line whose time has come goes back. */
static void
delay_due(struct harbor_conn *c, void *arg)
{
	struct delayed	*d = arg;
	struct line	*l;
	int64_t		 now = now_ms();

	while ((l = d->head) != NULL && l->due_ms <= now) {
		(void)harbor_conn_write(c, l->text, l->len);
		if ((d->head = l->next) == NULL)
			d->tail = NULL;
		free(l);
		d->waiting--;
	}
	if (d->head != NULL)
		arm(d);
	else if (d->ended)
		harbor_conn_close(c);	/* all answered */
	if (d->paused && d->waiting < DELAY_QUEUE / 2) {
		d->paused = 0;
		harbor_conn_resume_input(c);
	}
}

static void
delay_open(struct harbor_conn *c)
{
	struct delayed	*d;

	if ((d = calloc(1, sizeof *d)) == NULL ||
	    (d->timer = harbor_timer_new(c, delay_due, d)) == NULL) {
		free(d);
		(void)harbor_conn_fail(c, "out of memory");
		return;
	}
	harbor_conn_set_data(c, d);
}

static size_t
delay_input(struct harbor_conn *c, const char *text, size_t len)
{
	struct delayed		*d = harbor_conn_get_data(c);
	const unsigned long	*ms = harbor_conn_service_state(c);
	struct line		*l;

	if ((l = malloc(sizeof *l + len)) == NULL) {
		(void)harbor_conn_fail(c, "out of memory");
		return len;
	}
	memcpy(l->text, text, len);
	l->len = len;
	l->due_ms = now_ms() + (int64_t)*ms;
	l->next = NULL;
	if (d->tail != NULL)
		d->tail->next = l;
	else {
		d->head = l;
		arm(d);
	}
	d->tail = l;
	if (++d->waiting >= DELAY_QUEUE && !d->paused) {
		d->paused = 1;
		harbor_conn_pause_input(c);
	}
	return len;
}

/* The client is done sending: close once the last line is back. */
static void
delay_end(struct harbor_conn *c)
{
	struct delayed	*d = harbor_conn_get_data(c);

	d->ended = 1;
	if (d->head == NULL)
		harbor_conn_close(c);
}

static void
delay_close(struct harbor_conn *c)
{
	struct delayed	*d = harbor_conn_get_data(c);
	struct line	*l, *next;

	if (d == NULL)
		return;
	for (l = d->head; l != NULL; l = next) {
		next = l->next;
		free(l);
	}
	free(d);		/* its timer goes with the connection */
}

static const struct harbor_handler delay_handler = {
	HARBOR_HANDLER_V1,
	.name = "delay",
	.service_init = delay_init,
	.service_free = delay_free,
	.open = delay_open,
	.input = delay_input,
	.end = delay_end,
	.close = delay_close,
};

static int
delay_module(struct harbor_module *m, char *err, size_t errlen)
{
	if (harbor_module_add_handler(m, &delay_handler) == -1) {
		snprintf(err, errlen, "a handler 'delay' exists already");
		return -1;
	}
	return 0;
}

HARBOR_MODULE(delay_module)
