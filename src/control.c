/*
 * The control socket, served on the serving process's main loop: one
 * request a connection (control.h), answered from the library's view of
 * the server (harbor_server_stats, harbor_server_list_connections, ...)
 * or, for what the privileged process does (reload, the log, stop),
 * through the operations serving.c gives.  A client that sends garbage,
 * too much or nothing gets an error or is closed in CTL_REQUEST_MS, and
 * changes nothing.
 */
#include "autoconfig.h"

#include <errno.h>
#ifndef _WIN32
#include <poll.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "harbor.h"
#include "compat.h"
#include "control.h"
#include "control-run.h"
#include "control-show.h"

struct control_client {
	struct control		*ctl;
	struct bufferevent	*bev;
	struct ctl_request	 req;
	int			 answered;	/* closes once it is sent */
	int			 busy;		/* the library answers later */
	int			 gone;		/* freed when that comes */
	int			 stop_after;	/* harborctl stop: once sent */
	int			 keyed;		/* sent the key, or none needed */
	struct control_client	*prev, *next;
};

/* A reload asked of the privileged process, answered in order. */
struct control_wait {
	struct control_client	*client;	/* NULL: it left */
	struct control_wait	*next;
};

struct control {
	struct harbor_server		*srv;
	const struct control_ops	*ops;
	void				*arg;
	struct evconnlistener		*evl;
	struct control_client		*clients;
	unsigned			 nclients;
	struct control_wait		*waiting, **waiting_tail;
	struct control_client		*upgrading;	/* asked it */
	char				 key[CTL_KEY_SIZE]; /* "": none */
};

static void
client_free(struct control_client *cl)
{
	struct control		*ctl = cl->ctl;
	struct control_wait	*w;

	for (w = ctl->waiting; w != NULL; w = w->next)
		if (w->client == cl)
			w->client = NULL;
	if (ctl->upgrading == cl)
		ctl->upgrading = NULL;
	if (cl->bev != NULL)
		bufferevent_free(cl->bev);
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		ctl->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	ctl->nclients--;
	free(cl);
}

/* The client is gone, or done: freed now, or when the library's answer
 * it waits for comes. */
static void
client_end(struct control_client *cl)
{
	if (cl->busy) {
		cl->gone = 1;
		if (cl->bev != NULL) {
			bufferevent_free(cl->bev);
			cl->bev = NULL;
		}
		return;
	}
	client_free(cl);
}

static void
on_written(struct bufferevent *bev, void *arg)
{
	struct control_client	*cl = arg;
	struct control		*ctl = cl->ctl;
	int			 stop = cl->stop_after;

	(void)bev;
	if (!cl->answered)
		return;
	client_end(cl);
	/* The answer is out before harbord starts to stop. */
	if (stop)
		ctl->ops->stop(ctl->arg);
}

/* "ok" or "error", then the body (an error's text ends its line). */
static void
answer(struct control_client *cl, int ok, const char *fmt, ...)
{
	struct evbuffer	*out;
	va_list		 ap;

	if (cl->bev == NULL || cl->answered)
		return;
	out = bufferevent_get_output(cl->bev);
	if (ok)
		evbuffer_add(out, "ok\n", 3);
	else
		evbuffer_add(out, "error\n", 6);
	if (fmt != NULL) {
		va_start(ap, fmt);
		evbuffer_add_vprintf(out, fmt, ap);
		va_end(ap);
		if (!ok)
			evbuffer_add(out, "\n", 1);
	}
	cl->answered = 1;
	bufferevent_disable(cl->bev, EV_READ);
	if (evbuffer_get_length(out) == 0)
		on_written(cl->bev, cl);
}

static void
answer_error(struct control_client *cl, const char *why)
{
	struct evbuffer	*out;

	if (!cl->req.json) {
		answer(cl, 0, "%s", why);
		return;
	}
	if (cl->bev == NULL)
		return;
	out = evbuffer_new();
	if (out == NULL) {
		answer(cl, 0, "%s", why);
		return;
	}
	evbuffer_add_printf(out, "{\"error\":");
	show_json_string(out, why);
	evbuffer_add_printf(out, "}");
	answer(cl, 0, "%.*s", (int)evbuffer_get_length(out),
	    (const char *)evbuffer_pullup(out, -1));
	evbuffer_free(out);
}

/* A command done, with nothing more to say. */
static void
answer_done(struct control_client *cl, const char *what)
{
	if (cl->req.json)
		answer(cl, 1, "{\"done\":true}\n");
	else
		answer(cl, 1, "%s\n", what);
}

/* --- the commands ------------------------------------------------------- */

static void
listed(const struct harbor_conn_info *const *conns, size_t n, void *arg)
{
	struct control_client	*cl = arg;
	struct evbuffer		*body;

	cl->busy = 0;
	if (cl->gone) {
		client_free(cl);
		return;
	}
	if ((body = evbuffer_new()) == NULL) {
		answer_error(cl, "out of memory");
		return;
	}
	show_connections(body, conns, n, cl->req.json);
	answer(cl, 1, NULL);
	bufferevent_write_buffer(cl->bev, body);
	evbuffer_free(body);
}

static void
dropped(int found, void *arg)
{
	struct control_client	*cl = arg;
	char			 why[CTL_ARG_MAX + 32];

	cl->busy = 0;
	if (cl->gone) {
		client_free(cl);
		return;
	}
	if (found) {
		answer_done(cl, "dropped");
		return;
	}
	snprintf(why, sizeof why, "no connection %s", cl->req.arg);
	answer_error(cl, why);
}

static void
run_status(struct control_client *cl)
{
	struct evbuffer	*body = evbuffer_new();

	if (body == NULL) {
		answer_error(cl, "out of memory");
		return;
	}
	show_status(body, cl->ctl->srv, cl->req.json, cl->ctl->ops->privileged_pid);
	answer(cl, 1, NULL);
	bufferevent_write_buffer(cl->bev, body);
	evbuffer_free(body);
}

static void
run_reload(struct control_client *cl)
{
	struct control		*ctl = cl->ctl;
	struct control_wait	*w;
	char			 why[600];

	switch (ctl->ops->reload(ctl->arg, why, sizeof why)) {
	case 0:
		answer_done(cl, "reloaded");
		return;
	case -1:
		answer_error(cl, why);
		return;
	}
	/* Asked of the privileged process: control_reloaded answers. */
	if ((w = calloc(1, sizeof *w)) == NULL) {
		answer_error(cl, "out of memory (the reload was asked for)");
		return;
	}
	w->client = cl;
	*ctl->waiting_tail = w;
	ctl->waiting_tail = &w->next;
}

static void
run(struct control_client *cl)
{
	struct control	*ctl = cl->ctl;
	char		 why[256];

	switch (cl->req.cmd) {
	case CTL_STATUS:
		run_status(cl);
		break;
	case CTL_CONNECTIONS:
		cl->busy = 1;
		if (harbor_server_list_connections(ctl->srv, cl->req.has_arg ?
		    cl->req.arg : NULL, listed, cl) == -1) {
			cl->busy = 0;
			answer_error(cl, "cannot list the connections now");
		}
		break;
	case CTL_DROP:
		cl->busy = 1;
		if (harbor_server_drop_connection(ctl->srv, cl->req.id,
		    "dropped", dropped, cl) == -1) {
			cl->busy = 0;
			answer_error(cl, "cannot drop a connection now");
		}
		break;
	case CTL_DRAIN:
	case CTL_RESUME:
		if (harbor_server_pause_service(ctl->srv, cl->req.arg,
		    cl->req.cmd == CTL_DRAIN, why, sizeof why) == -1)
			answer_error(cl, why);
		else
			answer_done(cl, cl->req.cmd == CTL_DRAIN ? "draining" :
			    "accepting");
		break;
	case CTL_RELOAD:
		run_reload(cl);
		break;
	case CTL_LOG_REOPEN:
		switch (ctl->ops->log_reopen(ctl->arg, why, sizeof why)) {
		case -1:
			answer_error(cl, why);
			break;
		case 0:
			answer_done(cl, "log reopened");
			break;
		default:
			answer_done(cl, "the privileged process reopens the "
			    "log");
			break;
		}
		break;
	case CTL_STOP:
		cl->stop_after = 1;
		answer_done(cl, "stopping");
		break;
	case CTL_UPGRADE:
		if (ctl->upgrading != NULL) {
			answer_error(cl, "an upgrade is under way");
			break;
		}
		/* Its answer may come before this returns. */
		ctl->upgrading = cl;
		if (ctl->ops->upgrade(ctl->arg, why, sizeof why) == -1) {
			ctl->upgrading = NULL;
			answer_error(cl, why);
		}
		break;
	case CTL_COMMANDS:
		break;
	}
}

/* --- the connections ---------------------------------------------------- */

/* The client's first line, where the channel needs a key: 0 if it is
 * the key, -1 (answered) if not. */
static int
read_key(struct control_client *cl, const char *line, size_t n)
{
	if (ctl_key_check(line, n, cl->ctl->key) == 0) {
		cl->keyed = 1;
		return 0;
	}
	harbor_log(HARBOR_LOG_WARNING, "control: refused a client: it did "
	    "not send the control file's key");
	answer(cl, 0, "not authorised: the key of the control file comes "
	    "first");
	return -1;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct control_client	*cl = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 eol;
	char			 line[CTL_LINE_MAX], why[128];
	size_t			 n;

next:
	if (cl->answered || cl->busy)
		return;
	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) >= CTL_LINE_MAX)
			answer(cl, 0, "a request is one line of at most %d "
			    "bytes", CTL_LINE_MAX - 1);
		return;
	}
	if ((size_t)eol.pos >= CTL_LINE_MAX) {
		answer(cl, 0, "a request is one line of at most %d bytes",
		    CTL_LINE_MAX - 1);
		return;
	}
	n = (size_t)eol.pos;
	evbuffer_remove(in, line, n + 1);
	if (!cl->keyed) {
		if (read_key(cl, line, n) == -1)
			return;
		goto next;
	}
	/* One request: what follows is not read, nor is the end of it (a
	 * client that shuts its side down still gets its answer). */
	bufferevent_disable(bev, EV_READ);
	bufferevent_set_timeouts(bev, NULL, NULL);
	if (ctl_request_parse(line, n, &cl->req, why, sizeof why) == -1) {
		answer(cl, 0, "%s", why);
		return;
	}
	run(cl);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct control_client	*cl = arg;

	(void)bev;
	/* The only timeout is the request's: it is cleared once read. */
	if (what & BEV_EVENT_TIMEOUT)
		harbor_log(HARBOR_LOG_INFO, "control: a client sent no request "
		    "in %d s", CTL_REQUEST_MS / 1000);
	/* Gone, or silent too long: a reload it asked for goes on. */
	client_end(cl);
}

static void
on_accept(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control		*ctl = arg;
	struct control_client	*cl;
	struct timeval		 tv = { CTL_REQUEST_MS / 1000,
				    CTL_REQUEST_MS % 1000 * 1000 };
	static const char	 busy[] = "error\ntoo many control clients at "
				    "once\n";

	(void)evl;
	(void)sa;
	(void)salen;
	if (ctl->nclients >= CTL_CLIENTS_MAX) {
		harbor_log(HARBOR_LOG_WARNING, "control: refused a client: "
		    "%d are connected already", CTL_CLIENTS_MAX);
		(void)send(fd, busy, sizeof busy - 1, 0);
		evutil_closesocket(fd);
		return;
	}
	if ((cl = calloc(1, sizeof *cl)) == NULL ||
	    (cl->bev = bufferevent_socket_new(harbor_server_base(ctl->srv), fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		harbor_log(HARBOR_LOG_ERR, "control: refused a client: out of "
		    "memory");
		free(cl);
		evutil_closesocket(fd);
		return;
	}
	cl->ctl = ctl;
	cl->keyed = ctl->key[0] == '\0';
	cl->next = ctl->clients;
	if (ctl->clients != NULL)
		ctl->clients->prev = cl;
	ctl->clients = cl;
	ctl->nclients++;
	bufferevent_setcb(cl->bev, on_read, on_written, on_event, cl);
	bufferevent_setwatermark(cl->bev, EV_READ, 0, CTL_LINE_MAX);
	bufferevent_set_timeouts(cl->bev, &tv, NULL);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
}

struct control *
control_start(struct harbor_server *srv, int fd, const char *key,
    const struct control_ops *ops, void *arg, char *why, size_t whylen)
{
	struct control	*ctl;

	if ((ctl = calloc(1, sizeof *ctl)) == NULL) {
		snprintf(why, whylen, "control socket: out of memory");
		return NULL;
	}
	ctl->srv = srv;
	ctl->ops = ops;
	ctl->arg = arg;
	ctl->waiting_tail = &ctl->waiting;
	if (strlcpy(ctl->key, key, sizeof ctl->key) >= sizeof ctl->key) {
		snprintf(why, whylen, "control socket: the key is too long");
		free(ctl);
		return NULL;
	}
	(void)evutil_make_socket_nonblocking(fd);
	(void)evutil_make_socket_closeonexec(fd);
	/* Its clients' sockets are not for the programs harbord starts,
	 * nor for a new harbord an upgrade starts. */
	ctl->evl = evconnlistener_new(harbor_server_base(srv), on_accept, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (ctl->evl == NULL) {
		snprintf(why, whylen, "control socket: cannot accept on it");
		free(ctl);
		return NULL;
	}
	return ctl;
}

void
control_reloaded(struct control *ctl, unsigned count, int ok, const char *why)
{
	struct control_wait	*w;

	while (count-- > 0 && (w = ctl->waiting) != NULL) {
		if ((ctl->waiting = w->next) == NULL)
			ctl->waiting_tail = &ctl->waiting;
		if (w->client != NULL) {
			if (ok)
				answer_done(w->client, "reloaded");
			else
				answer_error(w->client, why);
		}
		free(w);
	}
}

void
control_upgraded(struct control *ctl, int ok, const char *why)
{
	struct control_client	*cl = ctl->upgrading;

	ctl->upgrading = NULL;
	if (cl == NULL)
		return;
	if (ok)
		answer_done(cl, "upgraded: the new harbord serves; this one "
		    "finishes its connections");
	else
		answer_error(cl, why != NULL ? why : "the upgrade failed");
}

int
control_socket(const struct control *ctl)
{
	return ctl != NULL && ctl->evl != NULL ?
	    (int)evconnlistener_get_fd(ctl->evl) : -1;
}

void
control_stop_accepting(struct control *ctl)
{
	if (ctl != NULL && ctl->evl != NULL) {
		evconnlistener_free(ctl->evl);
		ctl->evl = NULL;
	}
}

/* harbord is exiting: answers still on their way are written out, a
 * moment at most each (one that said "stopping" or "upgraded" must be
 * heard). */
static void
control_flush(struct control *ctl)
{
	struct control_client	*cl;
	struct evbuffer		*out;
	evutil_socket_t		 fd;
	int			 tries;

	for (cl = ctl->clients; cl != NULL; cl = cl->next) {
		if (cl->bev == NULL || !cl->answered)
			continue;
		out = bufferevent_get_output(cl->bev);
		fd = bufferevent_getfd(cl->bev);
		/* Its bufferevent drains it, and keeps others from doing
		 * so; it runs no more. */
		bufferevent_disable(cl->bev, EV_WRITE);
		(void)evbuffer_unfreeze(out, 1);
		for (tries = 0; evbuffer_get_length(out) > 0 && tries < 20;
		    tries++) {
			if (evbuffer_write(out, fd) != -1)
				continue;
#ifdef _WIN32
			break;
#else
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				break;
			{
				struct pollfd	p = { fd, POLLOUT, 0 };

				(void)poll(&p, 1, 50);
			}
#endif
		}
	}
}

void
control_free(struct control *ctl)
{
	struct control_wait	*w;

	if (ctl == NULL)
		return;
	control_flush(ctl);
	control_stop_accepting(ctl);
	while (ctl->clients != NULL)
		client_free(ctl->clients);
	while ((w = ctl->waiting) != NULL) {
		ctl->waiting = w->next;
		free(w);
	}
	free(ctl);
}
