/*
 * The serving process: libharbor's server, made from the configuration,
 * run until harbord stops.  Alone (harbord not started as root, or on
 * Windows) it reads its configuration file and reopens its log itself.
 * As the unprivileged half of harbord (serving_run) it never opens a
 * configuration file, a log file or a listening socket: the privileged
 * parent sends them (privsep.h), and it applies each configuration it is
 * sent, or keeps the one it has and says why.
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "activation.h"
#include "compat.h"
#include "control-run.h"
#include "serving.h"
#include "harbor.h"
#include "harbord.h"
#include "logsink.h"
#include "privdrop.h"
#include "privsep.h"
#include "privsep-spawn.h"
#include "sdnotify.h"
#include "startcheck.h"
#include "winservice.h"

/* A socket bound here listens with this until its service listens again
 * with its own backlog. */
#define PASSED_BACKLOG	511

/* A listening socket the parent sent, until the server takes it. */
struct given_socket {
	char	*service;
	char	*address;
	int	 fd;
};

/* SIGUSR1 reopens a log file, for logrotate; SIGUSR2 upgrades (neither
 * on Windows). */
static const int serving_signals[] = { SIGTERM, SIGINT, SIGRELOAD,
#ifdef SIGUSR1
	SIGUSR1, SIGUSR2
#endif
};
#define NSIGNALS	(sizeof serving_signals / sizeof serving_signals[0])

static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* --- sockets the parent sent ------------------------------------------------ */

static int
given_add(struct serving *sv, const char *service, const char *address,
    int fd)
{
	struct given_socket	*grown;
	char			*copy, *name;

	copy = strdup(address);
	name = strdup(service);
	if (copy == NULL || name == NULL || (grown = realloc(sv->given,
	    (sv->ngiven + 1) * sizeof *grown)) == NULL) {
		free(copy);
		free(name);
		return -1;
	}
	sv->given = grown;
	sv->given[sv->ngiven].service = name;
	sv->given[sv->ngiven].address = copy;
	sv->given[sv->ngiven].fd = fd;
	sv->ngiven++;
	return 0;
}

/* What a configuration did not take: closed, since the parent sends all
 * of them again with the next. */
static void
given_clear(struct serving *sv)
{
	size_t	i;

	for (i = 0; i < sv->ngiven; i++) {
		if (sv->given[i].fd != -1)
			(void)close(sv->given[i].fd);
		free(sv->given[i].service);
		free(sv->given[i].address);
	}
	free(sv->given);
	sv->given = NULL;
	sv->ngiven = 0;
}

/* The service's own socket for the address, or, but for port 0 (another
 * port for each service that asks for it), the one another service had. */
static harbor_socket_t
given_take(const char *service, const char *address,
    const struct sockaddr *sa, size_t salen, void *arg, char *err,
    size_t errlen)
{
	struct serving	*sv = arg;
	size_t		 i, n = strlen(address);
	int		 fd, pass, any = n < 2 || strcmp(address + n - 2,
			    ":0") != 0;

	(void)sa;
	(void)salen;
	for (pass = 0; pass < 1 + any; pass++)
		for (i = 0; i < sv->ngiven; i++)
			if (sv->given[i].fd != -1 &&
			    (pass == 1 || strcmp(sv->given[i].service,
			    service) == 0) &&
			    strcmp(sv->given[i].address, address) == 0) {
				fd = sv->given[i].fd;
				sv->given[i].fd = -1;
				return fd;
			}
	snprintf(err, errlen, "the privileged process sent no socket for it");
	return -1;
}

/* Alone: a socket the service manager passed (socket activation), or one
 * bound here, as the library would, as the configuration being bound
 * says (reuse-port). */
static harbor_socket_t
passed_or_bound(const char *service, const char *address,
    const struct sockaddr *sa, size_t salen, void *arg, char *err,
    size_t errlen)
{
	struct serving			*sv = arg;
	const struct conf_service	*s = NULL;
	unsigned			 flags = 0;
	int				 fd;

	(void)sa;
	(void)salen;
	if (sv->binding != NULL)
		for (s = sv->binding->services; s != NULL; s = s->next)
			if (strcmp(s->name, service) == 0) {
				flags = config_listen_flags(sv->binding, s);
				break;
			}
	if ((fd = activation_take(service, address, flags)) != -1)
		return fd;
	return harbor_listen_open_opts(address, PASSED_BACKLOG, flags, err,
	    errlen);
}

/* --- the server -------------------------------------------------------------- */

/* The server for conf, its sockets bound (or taken): 0, or an exit status
 * with the reason logged. */
static int
serving_build(struct serving *sv, const struct config *conf)
{
	struct harbor_server_settings	  settings;
	struct harbor_service		**svcs;
	struct conf_errors		  errs = { .n = 0 };
	size_t				  n, i;
	char				  err[512];
	int				  r;

	if ((svcs = config_make_services(conf, &n, &errs)) == NULL) {
		harbord_log_errors(&errs);
		conf_errors_clear(&errs);
		return EXIT_CONFIG;
	}
	harbor_server_settings_default(&settings);
	settings.io_threads = (int)conf->io_threads;
	settings.workers = (int)conf->workers;
	settings.queue_size = (unsigned)conf->queue_size;
	settings.max_connections = (unsigned)conf->max_connections;
	if ((sv->srv = harbor_server_new(&settings)) == NULL) {
		harbor_log(HARBOR_LOG_ERR, "out of memory");
		for (i = 0; i < n; i++)
			harbor_service_free(svcs[i]);
		free(svcs);
		return EXIT_OSERR;
	}
	for (i = 0; i < n; i++)
		if (harbor_server_add_service(sv->srv, svcs[i], err,
		    sizeof err) == -1) {
			harbor_log(HARBOR_LOG_ERR, "%s", err);
			while (++i < n)
				harbor_service_free(svcs[i]);
			free(svcs);
			return EXIT_CONFIG;
		}
	free(svcs);
	if (sv->sock != -1)
		harbor_server_set_listen_fn(sv->srv, given_take, sv);
	else
		harbor_server_set_listen_fn(sv->srv, passed_or_bound, sv);
	sv->binding = conf;
	r = harbor_server_bind(sv->srv, err, sizeof err);
	sv->binding = NULL;
	activation_close_unclaimed();
	if (r == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		return EXIT_OSERR;
	}
	return 0;
}

/* A new configuration in place of the running one, or the running one
 * kept: 0, or -1 with why. */
static int
serving_apply(struct serving *sv, struct config *conf, char *why,
    size_t whylen)
{
	struct conf_errors	  errs = { .n = 0 };
	struct harbor_service	**svcs;
	size_t			  n;
	int			  r;

	if ((svcs = config_make_services(conf, &n, &errs)) == NULL) {
		harbord_log_errors(&errs);
		snprintf(why, whylen, "%s", errs.n > 0 ? errs.msg[0] :
		    "the services cannot be made");
		conf_errors_clear(&errs);
		return -1;
	}
	sv->binding = conf;
	r = harbor_server_replace_services(sv->srv, svcs, n, why, whylen);
	sv->binding = NULL;
	free(svcs);
	if (r == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", why);
		return -1;
	}
	harbord_warn_restart_needed(sv->hd->conf, conf);
	harbord_apply_log_level(conf);
	if (sv->sock == -1)
		(void)harbord_apply_log(conf, sv->hd->foreground);
	config_free(sv->hd->conf);
	sv->hd->conf = conf;
	harbor_log(HARBOR_LOG_NOTICE, "configuration reloaded: %zu %s", n,
	    plural(n, "service", "services"));
	return 0;
}

static void
reload_failed(void)
{
	harbor_log(HARBOR_LOG_ERR, "reload failed; keeping the running "
	    "configuration");
}

/* READY=1 for the service manager, with what is served, or why the
 * reload failed. */
static void
notify_state(const struct serving *sv, const char *failed)
{
	char	buf[700];
	size_t	n = sv->hd->conf->nservices;

	if (failed != NULL)
		snprintf(buf, sizeof buf, "READY=1\nSTATUS=reload failed, the "
		    "running configuration kept: %s", failed);
	else
		snprintf(buf, sizeof buf, "READY=1\nSTATUS=serving %zu %s", n,
		    n == 1 ? "service" : "services");
	(void)sdnotify(buf);
}

/* Alone: SIGHUP (or the control socket) reads the file again.  0, or -1
 * with why. */
int
serving_reload_from_file(struct serving *sv, char *why, size_t whylen)
{
	struct conf_errors	 errs = { .n = 0 };
	struct conf_snapshot	*snap = NULL;
	struct config		*conf;
	int			 missing;

	harbor_log(HARBOR_LOG_NOTICE, "reloading configuration from %s",
	    sv->hd->conf_path);
	(void)sdnotify_reloading();
	if ((conf = harbord_load(sv->hd, &errs, &snap, &missing)) == NULL) {
		harbord_log_errors(&errs);
		snprintf(why, whylen, "%s", errs.n > 0 ? errs.msg[0] :
		    "errors");
		conf_errors_clear(&errs);
		goto failed;
	}
	conf_snapshot_free(snap);
	if (serving_apply(sv, conf, why, whylen) == -1) {
		config_free(conf);
		goto failed;
	}
	harbor_server_count_reload(sv->srv, 1);
	notify_state(sv, NULL);
	return 0;
failed:
	harbor_server_count_reload(sv->srv, 0);
	reload_failed();
	notify_state(sv, why);
	return -1;
}

void
serving_stop(struct serving *sv)
{
	(void)sdnotify("STOPPING=1");
	winservice_stopping((unsigned)sv->hd->conf->shutdown_ms);
	harbor_server_shutdown(sv->srv, (unsigned)sv->hd->conf->shutdown_ms);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct serving	*sv = arg;

	(void)what;
	switch (sig) {
	case SIGRELOAD:
		if (sv->sock == -1) {
			char	why[512];

			(void)serving_reload_from_file(sv, why, sizeof why);
		}
#ifndef _WIN32
		else
			harbor_log(HARBOR_LOG_NOTICE, "SIGHUP ignored: "
			    "harbord's main process (pid %ld) reloads",
			    (long)getppid());
#endif
		break;
#ifdef SIGUSR1
	case SIGUSR1: {
		char	err[256];

		if (sv->sock != -1) {
			harbor_log(HARBOR_LOG_NOTICE, "SIGUSR1 ignored: "
			    "harbord's main process (pid %ld) reopens the log",
			    (long)getppid());
		} else if (logsink_reopen(err, sizeof err) == -1)
			harbor_log(HARBOR_LOG_ERR, "%s", err);
		else
			harbor_log(HARBOR_LOG_NOTICE, "log reopened");
		break;
	}
#endif
#ifdef SIGUSR2
	case SIGUSR2:
		if (sv->sock == -1)
			serving_upgrade(sv, 0);
		else
			harbor_log(HARBOR_LOG_NOTICE, "SIGUSR2 ignored: "
			    "harbord's main process (pid %ld) upgrades",
			    (long)getppid());
		break;
#endif
	case SIGTERM:
	case SIGINT:
		serving_stop(sv);
		break;
	}
}

/* The Windows service's stop and reload, which the Service Control
 * Manager's thread handed over: as a signal's. */
static void
on_service_control(unsigned what, void *arg)
{
	struct serving	*sv = arg;
	char		 why[512];

	if (what & WINSERVICE_STOP) {
		harbor_log(HARBOR_LOG_NOTICE, "stop asked by the Service "
		    "Control Manager");
		serving_stop(sv);
	} else if (what & WINSERVICE_RELOAD)
		(void)serving_reload_from_file(sv, why, sizeof why);
}

static int
serving_add_signals(struct serving *sv)
{
	size_t	i;

	for (i = 0; i < NSIGNALS; i++) {
		sv->sigev[i] = evsignal_new(harbor_server_base(sv->srv),
		    serving_signals[i], on_signal, sv);
		if (sv->sigev[i] == NULL ||
		    evsignal_add(sv->sigev[i], NULL) == -1) {
			harbor_log(HARBOR_LOG_ERR, "cannot handle signal %d",
			    serving_signals[i]);
			return -1;
		}
	}
	if (winservice_watch(harbor_server_base(sv->srv), on_service_control,
	    sv) == -1) {
		harbor_log(HARBOR_LOG_ERR, "cannot take the Service Control "
		    "Manager's controls");
		return -1;
	}
	return 0;
}

static void
serving_free(struct serving *sv)
{
	size_t	i;

	winservice_unwatch();
	for (i = 0; i < NSIGNALS; i++)
		if (sv->sigev[i] != NULL) {
			event_free(sv->sigev[i]);
			/* Stopping already: a signal that comes late (a second
			 * SIGTERM) must not kill the process while it writes
			 * its last lines, which would make its exit a crash. */
			(void)signal(serving_signals[i], SIG_IGN);
		}
	if (sv->sock_ev != NULL)
		event_free(sv->sock_ev);
	serving_control_free(sv);
	harbor_server_free(sv->srv);
	given_clear(sv);
	/* Every line said, before the process goes. */
	(void)logsink_async(0);
}

/* Started, signals handled, the starter told: runs until the end. */
static int
serving_go(struct serving *sv, size_t nservices)
{
	struct harbor_server_settings	settings;
	char				err[512];

	harbor_server_settings_default(&settings);
	harbor_server_get_settings(sv->srv, &settings);
	/* From here threads serve: none of them waits for the log. */
	if (logsink_async(1) == -1)
		harbor_log(HARBOR_LOG_WARNING, "no log writer thread: each "
		    "thread writes its own lines");
	harbor_log(HARBOR_LOG_NOTICE, "harbord %s starting (%zu %s, %d "
	    "io-threads, %d workers)", harbor_version(), nservices,
	    plural(nservices, "service", "services"), settings.io_threads,
	    settings.workers);
	if (harbor_server_start(sv->srv, err, sizeof err) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		return EXIT_OSERR;
	}
	if (serving_add_signals(sv) == -1)
		return EXIT_OSERR;
	return 0;
}

int
serving_alone(struct harbord *hd)
{
	struct serving	sv;
	char		err[512];
	int		status;

	memset(&sv, 0, sizeof sv);
	sv.hd = hd;
	sv.upgrade_sock = -1;
	sv.sock = -1;
	{
		struct conf_errors	errs = { .n = 0 };

		if (startcheck_files(hd->conf, &errs) == -1) {
			harbord_log_errors(&errs);
			conf_errors_clear(&errs);
			status = EXIT_CONFIG;
			goto out;
		}
	}
	if ((status = serving_build(&sv, hd->conf)) != 0)
		goto out;
	{
		struct privdrop	pd = { hd->conf->user, hd->conf->group,
				    hd->conf->chroot_dir };

		if (privdrop_prepare(&pd, err, sizeof err) == -1 ||
		    privdrop_apply(err, sizeof err) == -1) {
			harbor_log(HARBOR_LOG_ERR, "%s", err);
			status = EXIT_CONFIG;
			goto out;
		}
	}
	if (!hd->foreground)
		(void)harbord_apply_log(hd->conf, 0);
	(void)evutil_secure_rng_init();
	if ((status = serving_go(&sv, hd->conf->nservices)) != 0 ||
	    (status = serving_control(&sv)) != 0)
		goto out;
	harbord_ready(hd, 0);
	notify_state(&sv, NULL);
	winservice_running((unsigned)hd->conf->shutdown_ms);
	/* Accepting starts only now, with the signals handled. */
	if (harbor_server_run(sv.srv) == -1)
		status = EXIT_OSERR;
	harbor_log(HARBOR_LOG_NOTICE, "exiting");
out:
	serving_free(&sv);
	return status;
}

/* --- the unprivileged half ------------------------------------------------- */

static void
send_applied(struct serving *sv, int ok, const char *why)
{
	/* The starter, if still waiting, heard what went wrong: the
	 * parent tells it the end. */
	if (sv->hd->report != -1) {
		logsink_tee(-1);
		(void)close(sv->hd->report);
		sv->hd->report = -1;
	}
	if (privsep_send_result(sv->sock, PS_APPLIED, -1, ok, why) == -1)
		harbor_log(HARBOR_LOG_ERR, "cannot answer the privileged "
		    "process: %s", strerror(errno));
}

/* A PS_LOG: where the log goes from now on. */
static void
take_log(struct privsep_msg *msg)
{
	char	err[256];
	int	r = 0;

	if (msg->len < 1) {
		harbor_log(HARBOR_LOG_ERR, "log message without its kind");
		return;
	}
	switch (msg->payload[0]) {
	case LOGSINK_FILE:
		if (msg->fd == -1)
			break;
		r = logsink_adopt((const char *)msg->payload + 1, msg->fd,
		    err, sizeof err);
		if (r == 0)
			msg->fd = -1;
		break;
	case LOGSINK_SYSLOG:
		if (!logsink_is(LOGSINK_SYSLOG, msg->len > 1 ?
		    (const char *)msg->payload + 1 : NULL))
			r = logsink_open(LOGSINK_SYSLOG, msg->len > 1 ?
			    (const char *)msg->payload + 1 : NULL, err,
			    sizeof err);
		break;
	case LOGSINK_STDERR:
		r = logsink_open(LOGSINK_STDERR, NULL, err, sizeof err);
		break;
	}
	if (r == -1)
		harbor_log(HARBOR_LOG_ERR, "%s", err);
}

/* A PS_CONFIG, parsed: NULL with why (the errors logged). */
static struct config *
take_config(const struct privsep_msg *msg, char *why, size_t whylen)
{
	struct conf_snapshot	*snap;
	struct conf_errors	 errs = { .n = 0 };
	struct config		*conf;

	if ((snap = conf_snapshot_decode(msg->payload, msg->len)) == NULL) {
		snprintf(why, whylen, "a malformed configuration snapshot");
		harbor_log(HARBOR_LOG_ERR, "%s", why);
		return NULL;
	}
	conf = config_load_snapshot(snap, &errs);
	conf_snapshot_free(snap);
	if (conf == NULL) {
		harbord_log_errors(&errs);
		snprintf(why, whylen, "%s", errs.n > 0 ? errs.msg[0] :
		    "the configuration has errors");
		conf_errors_clear(&errs);
	}
	return conf;
}

/* One message from the parent: 1 for a configuration (*config_out NULL
 * if it failed, which is answered), 0 for another, -1 when the link is
 * gone or broken. */
static int
serving_message(struct serving *sv, struct config **config_out)
{
	struct privsep_msg	 msg;
	char			 why[512];
	int			 r, ret = 0;

	r = privsep_recv(sv->sock, &msg, why, sizeof why);
	if (r == 0) {
		harbor_log(HARBOR_LOG_NOTICE, "the privileged process is "
		    "gone");
		return -1;
	}
	if (r == -1) {
		harbor_log(HARBOR_LOG_ERR, "from the privileged process: %s",
		    why);
		return -1;
	}
	switch (msg.type) {
	case PS_LISTEN: {
		/* "service" NUL "address" */
		const char	*name = (const char *)msg.payload, *addr;
		size_t		 n = msg.len > 0 ? strlen(name) : 0;

		addr = name != NULL ? name + n + 1 : NULL;
		if (msg.len == 0 || n + 1 >= msg.len ||
		    n + 1 + strlen(addr) != msg.len ||
		    given_add(sv, name, addr, msg.fd) == -1)
			harbor_log(HARBOR_LOG_ERR, "a listening socket sent "
			    "could not be kept");
		else
			msg.fd = -1;
		break;
	}
	case PS_LOG:
		take_log(&msg);
		break;
	case PS_UPGRADED:
		if (msg.len >= 1)
			serving_upgraded(sv, msg.payload[0] == 0, msg.len > 1 ?
			    (const char *)msg.payload + 1 : "the upgrade failed");
		break;
	case PS_RELOADED:
		/* count, status byte, why */
		if (msg.len >= 5 && sv->srv != NULL) {
			int	ok = msg.payload[4] == 0;

			harbor_server_count_reload(sv->srv, ok);
			if (sv->ctl != NULL)
				control_reloaded(sv->ctl,
				    (unsigned)privsep_get32(msg.payload), ok,
				    msg.len > 5 ? (const char *)msg.payload + 5 :
				    "the reload failed (see the log)");
		}
		break;
	case PS_CHILD_ENDED:
		if (msg.len == 8 && sv->srv != NULL)
			harbor_server_child_ended(sv->srv,
			    (pid_t)privsep_get32(msg.payload),
			    (int)privsep_get32(msg.payload + 4));
		break;
	case PS_CONFIG:
		*config_out = take_config(&msg, why, sizeof why);
		if (*config_out == NULL)
			send_applied(sv, 0, why);
		ret = 1;
		break;
	default:
		harbor_log(HARBOR_LOG_ERR, "unexpected message %d from the "
		    "privileged process", (int)msg.type);
		break;
	}
	privsep_msg_clear(&msg);
	return ret;
}

static void
on_parent(evutil_socket_t fd, short what, void *arg)
{
	struct serving	*sv = arg;
	struct config	*conf = NULL;
	char		 why[512];

	(void)fd;
	(void)what;
	switch (serving_message(sv, &conf)) {
	case -1:
		event_del(sv->sock_ev);
		harbor_server_shutdown(sv->srv,
		    (unsigned)sv->hd->conf->shutdown_ms);
		return;
	case 0:
		return;
	}
	if (conf == NULL) {
		reload_failed();
		given_clear(sv);
		return;
	}
	harbor_log(HARBOR_LOG_NOTICE, "reloading configuration from %s",
	    sv->hd->conf_path);
	if (serving_apply(sv, conf, why, sizeof why) == -1) {
		config_free(conf);
		reload_failed();
		send_applied(sv, 0, why);
	} else
		send_applied(sv, 1, NULL);
	given_clear(sv);
}

int
serving_run(struct harbord *hd, int sock, int spawn_sock)
{
	struct serving	 sv;
	struct config	*conf = NULL;
	char		 err[512];
	int		 status, r;

	memset(&sv, 0, sizeof sv);
	sv.hd = hd;
	sv.upgrade_sock = -1;
	sv.sock = sock;
	while ((r = serving_message(&sv, &conf)) == 0)
		;
	if (r == -1 || conf == NULL) {
		status = r == -1 ? EXIT_OSERR : EXIT_CONFIG;
		goto out;
	}
	/* The parent's copies, from before the fork: ours is what it sent. */
	config_free(hd->conf);
	conf_snapshot_free(hd->snap);
	hd->snap = NULL;
	hd->conf = conf;
	harbord_apply_log_level(conf);
	/* Modules are loaded while the files are still in reach, as root:
	 * they are the administrator's code, as a configuration is. */
	{
		struct conf_errors	errs = { .n = 0 };
		struct privdrop		pd = { conf->user, conf->group,
					    conf->chroot_dir };

		if (config_load_modules(conf, &errs) == -1) {
			harbord_log_errors(&errs);
			send_applied(&sv, 0, errs.n > 0 ? errs.msg[0] :
			    "a module cannot be loaded");
			conf_errors_clear(&errs);
			status = EXIT_CONFIG;
			goto out;
		}
		(void)evutil_secure_rng_init();
		if (privdrop_prepare(&pd, err, sizeof err) == -1 ||
		    privdrop_apply(err, sizeof err) == -1) {
			harbor_log(HARBOR_LOG_ERR, "%s", err);
			send_applied(&sv, 0, err);
			status = EXIT_CONFIG;
			goto out;
		}
		privdrop_describe(err, sizeof err);
		harbor_log(HARBOR_LOG_NOTICE, "serving as %s", err);
		if (startcheck_files(conf, &errs) == -1) {
			harbord_log_errors(&errs);
			send_applied(&sv, 0, errs.msg[0]);
			conf_errors_clear(&errs);
			status = EXIT_CONFIG;
			goto out;
		}
	}
	if ((status = serving_build(&sv, conf)) != 0) {
		send_applied(&sv, 0, "the services cannot start (see the log)");
		goto out;
	}
#ifndef _WIN32
	/* Not root now: programs that run as their own user are the
	 * privileged process's to start. */
	if (geteuid() != 0) {
		static const struct harbor_spawner spawner = {
			sizeof spawner, spawn_client_spawn, spawn_client_kill,
			NULL
		};

		spawn_client_init(spawn_sock);
		(void)harbor_server_set_spawner(sv.srv, &spawner);
	} else
#endif
		(void)close(spawn_sock);
	given_clear(&sv);
	if ((status = serving_go(&sv, conf->nservices)) != 0 ||
	    (status = serving_control(&sv)) != 0) {
		send_applied(&sv, 0, "the server cannot start (see the log)");
		goto out;
	}
	(void)evutil_make_socket_nonblocking(sock);
	sv.sock_ev = event_new(harbor_server_base(sv.srv), sock,
	    EV_READ | EV_PERSIST, on_parent, &sv);
	if (sv.sock_ev == NULL || event_add(sv.sock_ev, NULL) == -1) {
		harbor_log(HARBOR_LOG_ERR, "cannot listen to the privileged "
		    "process");
		status = EXIT_OSERR;
		goto out;
	}
	send_applied(&sv, 1, NULL);
	if (harbor_server_run(sv.srv) == -1)
		status = EXIT_OSERR;
	harbor_log(HARBOR_LOG_NOTICE, "serving process exiting");
out:
	serving_free(&sv);
	return status;
}
