/*
 * harbord: the daemon.  Options, the config file, detaching, the pid file,
 * signals and logging; the serving is libharbor's.  See harbord(8).
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "compat.h"
#include "config.h"
#include "harbor.h"
#include "logsink.h"
#include "pidfile.h"
#include "privdrop.h"

/* sysexits.h values, spelled out where the header is missing. */
#define EXIT_USAGE	64
#define EXIT_NOINPUT	66
#define EXIT_OSERR	71
#define EXIT_CANTCREAT	73
#define EXIT_CONFIG	78

#ifndef HARBORD_CONF
#define HARBORD_CONF	"/etc/harbord.conf"
#endif

/* Windows has no SIGHUP; Ctrl-Break (SIGBREAK), the one console signal
 * besides Ctrl-C, reloads there. */
#ifdef _WIN32
#define SIGRELOAD	SIGBREAK
#else
#define SIGRELOAD	SIGHUP
#endif

struct harbord {
	const char		*conf_path;
	int			 conf_given;	/* -f */
	int			 foreground;	/* -d */
	struct config		*conf;
	struct harbor_server	*srv;
	char			*pidfile;	/* as written at start */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: harbord [-dnvVh] [-f file]\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -f file  configuration file (default %s)\n"
	    "  -n       check the configuration, print 'configuration OK' "
	    "or the errors, exit\n"
	    "  -v       more logging (debug)\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n"
	    "See harbord(8) and harbord.conf(5).\n", HARBORD_CONF);
}

static void
print_errors(const struct conf_errors *errs, int to_log)
{
	size_t	i;

	for (i = 0; i < errs->n; i++) {
		if (to_log)
			harbor_log(HARBOR_LOG_ERR, "%s", errs->msg[i]);
		else
			fprintf(stderr, "%s\n", errs->msg[i]);
	}
	if (errs->dropped > 0) {
		if (to_log)
			harbor_log(HARBOR_LOG_ERR, "(%zu more errors)",
			    errs->dropped);
		else
			fprintf(stderr, "(%zu more errors)\n", errs->dropped);
	}
}

/* Loads the config file, or the built-in default when no -f was given and
 * there is no file at the default path.  *missing is set when -f named a
 * file that does not exist. */
static struct config *
load_config(struct harbord *hd, struct conf_errors *errs, int *missing)
{
	*missing = 0;
	if (access(hd->conf_path, F_OK) == -1 && errno == ENOENT) {
		if (hd->conf_given) {
			*missing = 1;
			conf_error(errs, NULL, "cannot open %s: %s",
			    hd->conf_path, strerror(ENOENT));
			return NULL;
		}
		struct config	*conf;

		conf = config_load_string("<built-in default>",
		    config_default_text, errs);
#ifndef _WIN32
		/* Started as root, the built-in default serves as nobody. */
		if (conf != NULL && geteuid() == 0 &&
		    (conf->user = strdup("nobody")) == NULL) {
			conf_error(errs, NULL, "out of memory");
			config_free(conf);
			return NULL;
		}
#endif
		harbor_log(HARBOR_LOG_NOTICE, "no configuration file at %s; "
		    "serving the built-in default configuration%s",
		    hd->conf_path, conf != NULL && conf->user != NULL ?
		    " as user nobody" : "");
		return conf;
	}
	return config_load_file(hd->conf_path, errs);
}

static int
apply_log(const struct config *conf, int foreground)
{
	char	err[256];
	int	r = 0;

	if (foreground)
		return 0;
	switch (conf->log) {
	case CONF_LOG_STDERR:
		if (!logsink_is(LOGSINK_STDERR, NULL))
			r = logsink_open(LOGSINK_STDERR, NULL, err, sizeof err);
		break;
	case CONF_LOG_SYSLOG:
		if (!logsink_is(LOGSINK_SYSLOG, conf->log_facility))
			r = logsink_open(LOGSINK_SYSLOG, conf->log_facility,
			    err, sizeof err);
		break;
	case CONF_LOG_FILE:
		/* Reopened on every reload, so that SIGHUP after a rename by
		 * logrotate starts a new file. */
		r = logsink_open(LOGSINK_FILE, conf->log_file, err, sizeof err);
		break;
	}
	if (r == -1)
		harbor_log(HARBOR_LOG_ERR, "%s", err);
	return r;
}

/* The settings the server was made with (the table says which): a
 * reload leaves them as they were. */
static void
warn_restart_needed(const struct config *old, const struct config *new)
{
	struct conf_restart	changed[CONF_KEYWORDS_MAX];
	size_t			i, n;

	n = config_restart_changes(old, new, changed, CONF_KEYWORDS_MAX);
	for (i = 0; i < n; i++)
		harbor_log(HARBOR_LOG_WARNING, "%s changed: takes effect when "
		    "harbord restarts", changed[i].what);
}

static void
reload(struct harbord *hd)
{
	struct conf_errors	  errs = { .n = 0 };
	struct config		 *conf;
	struct harbor_service	**svcs = NULL;
	size_t			  n = 0;
	char			  err[512];
	int			  missing;

	harbor_log(HARBOR_LOG_NOTICE, "reloading configuration from %s",
	    hd->conf_path);
	conf = load_config(hd, &errs, &missing);
	if (conf != NULL)
		svcs = config_make_services(conf, &n, &errs);
	if (svcs == NULL) {
		print_errors(&errs, 1);
		conf_errors_clear(&errs);
		config_free(conf);
		harbor_log(HARBOR_LOG_ERR, "reload failed; keeping the running "
		    "configuration");
		return;
	}
	if (harbor_server_replace_services(hd->srv, svcs, n, err,
	    sizeof err) == -1) {
		free(svcs);
		config_free(conf);
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		harbor_log(HARBOR_LOG_ERR, "reload failed; keeping the running "
		    "configuration");
		return;
	}
	free(svcs);
	warn_restart_needed(hd->conf, conf);
	(void)apply_log(conf, hd->foreground);
	config_free(hd->conf);
	hd->conf = conf;
	harbor_log(HARBOR_LOG_NOTICE, "configuration reloaded: %zu services",
	    n);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct harbord	*hd = arg;

	switch (sig) {
	case SIGRELOAD:
		reload(hd);
		break;
#ifdef SIGUSR1
	case SIGUSR1: {
		char	err[256];

		if (logsink_reopen(err, sizeof err) == -1)
			harbor_log(HARBOR_LOG_ERR, "%s", err);
		else
			harbor_log(HARBOR_LOG_NOTICE, "log reopened");
		break;
	}
#endif
	case SIGTERM:
	case SIGINT:
		harbor_server_shutdown(hd->srv, hd->conf->shutdown_ms);
		break;
	}
}


int
main(int argc, char **argv)
{
	struct harbord		  hd;
	struct conf_errors	  errs = { .n = 0 };
	struct harbor_server_settings settings;
	struct harbor_service	**svcs;
	/* SIGUSR1 reopens a log file, for logrotate (not on Windows). */
	const int		  signals[] = { SIGTERM, SIGINT, SIGRELOAD,
#ifdef SIGUSR1
					    SIGUSR1
#endif
					  };
#define NSIGNALS		  (sizeof signals / sizeof signals[0])
	struct event		 *sigev[NSIGNALS] = { NULL };
	size_t			  nsvcs, i;
	char			  err[512];
	int			  ch, check_only = 0, verbose = 0, missing;
	int			  status = 0;

	memset(&hd, 0, sizeof hd);
	hd.conf_path = HARBORD_CONF;
	while ((ch = getopt(argc, argv, "df:nvVh")) != -1) {
		switch (ch) {
		case 'd':
			hd.foreground = 1;
			break;
		case 'f':
			hd.conf_path = optarg;
			hd.conf_given = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("harbord %s\n", harbor_version());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "harbord: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	(void)logsink_open(LOGSINK_STDERR, NULL, err, sizeof err);
	harbor_log_set_level(verbose ? HARBOR_LOG_DEBUG : HARBOR_LOG_INFO);
	if (check_only && !verbose)
		harbor_log_set_level(HARBOR_LOG_NOTICE);

	if ((hd.conf = load_config(&hd, &errs, &missing)) == NULL ||
	    (svcs = config_make_services(hd.conf, &nsvcs, &errs)) == NULL) {
		print_errors(&errs, 0);
		conf_errors_clear(&errs);
		config_free(hd.conf);
		return missing ? EXIT_NOINPUT : EXIT_CONFIG;
	}
	if (check_only) {
		for (i = 0; i < nsvcs; i++)
			harbor_service_free(svcs[i]);
		free(svcs);
		config_free(hd.conf);
		printf("configuration OK\n");
		return 0;
	}

	harbor_server_settings_default(&settings);
	settings.io_threads = hd.conf->io_threads;
	settings.workers = hd.conf->workers;
	settings.queue_size = hd.conf->queue_size;
	settings.max_connections = hd.conf->max_connections;
	if ((hd.srv = harbor_server_new(&settings)) == NULL) {
		fprintf(stderr, "harbord: out of memory\n");
		return EXIT_OSERR;
	}
	harbor_server_get_settings(hd.srv, &settings);	/* for the log */
	for (i = 0; i < nsvcs; i++) {
		if (harbor_server_add_service(hd.srv, svcs[i], err,
		    sizeof err) == -1) {
			harbor_log(HARBOR_LOG_ERR, "%s", err);
			while (++i < nsvcs)
				harbor_service_free(svcs[i]);
			free(svcs);
			status = EXIT_CONFIG;
			goto out;
		}
	}
	free(svcs);
	svcs = NULL;

#ifdef SIGPIPE
	/* A client gone mid-write is an error return, not a death. */
	(void)signal(SIGPIPE, SIG_IGN);
#endif
	{
		struct privdrop	pd = { hd.conf->user, hd.conf->group,
				    hd.conf->chroot_dir };

		if (privdrop_prepare(&pd, err, sizeof err) == -1) {
			harbor_log(HARBOR_LOG_ERR, "%s", err);
			status = EXIT_CONFIG;
			goto out;
		}
	}
	if (hd.conf->pidfile != NULL &&
	    pidfile_check(hd.conf->pidfile, err, sizeof err) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		status = EXIT_CANTCREAT;
		goto out;
	}
	if (harbor_server_bind(hd.srv, err, sizeof err) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		status = EXIT_OSERR;
		goto out;
	}
	if (!hd.foreground) {
		if (daemonize() == -1) {
			harbor_log(HARBOR_LOG_ERR, "cannot detach: %s",
			    strerror(errno));
			status = EXIT_OSERR;
			goto out;
		}
		(void)apply_log(hd.conf, 0);
	}
	if (hd.conf->pidfile != NULL) {
		if (pidfile_write(hd.conf->pidfile, err, sizeof err) == -1) {
			harbor_log(HARBOR_LOG_ERR, "%s", err);
			status = EXIT_CANTCREAT;
			goto out;
		}
		hd.pidfile = strdup(hd.conf->pidfile);
	}

	/* Bound, detached, pid file and log open: root is no longer needed,
	 * and no thread exists yet to keep it.  The random generator (qotd)
	 * is seeded first, while /dev/urandom is still in reach. */
	(void)evutil_secure_rng_init();
	if (privdrop_apply(err, sizeof err) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		status = EXIT_OSERR;
		goto out;
	}
	harbor_log(HARBOR_LOG_NOTICE, "harbord %s starting (%zu services, "
	    "%d io-threads, %d workers)", harbor_version(), nsvcs,
	    settings.io_threads, settings.workers);
	if (harbor_server_start(hd.srv, err, sizeof err) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		status = EXIT_OSERR;
		goto out;
	}
	for (i = 0; i < NSIGNALS; i++) {
		sigev[i] = evsignal_new(harbor_server_base(hd.srv), signals[i],
		    on_signal, &hd);
		if (sigev[i] == NULL || evsignal_add(sigev[i], NULL) == -1) {
			harbor_log(HARBOR_LOG_ERR, "cannot handle signal %d",
			    signals[i]);
			status = EXIT_OSERR;
			goto out;
		}
	}
	/* Accepting starts only now, with the signals handled. */
	if (harbor_server_run(hd.srv) == -1)
		status = EXIT_OSERR;
	harbor_log(HARBOR_LOG_NOTICE, "exiting");

out:
	for (i = 0; i < NSIGNALS; i++)
		if (sigev[i] != NULL)
			event_free(sigev[i]);
	harbor_server_free(hd.srv);
	if (hd.pidfile != NULL) {
		pidfile_remove(hd.pidfile);
		free(hd.pidfile);
	}
	config_free(hd.conf);
	logsink_close();
	return status;
}
