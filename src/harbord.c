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
#ifndef _WIN32
#include <sys/stat.h>
#endif

#include <event2/event.h>

#include "activation.h"
#include "compat.h"
#include "config.h"
#include "control.h"
#include "harbor.h"
#include "harbord.h"
#include "logsink.h"
#include "pidfile.h"
#include "privdrop.h"
#include "privsep.h"
#include "sdnotify.h"
#include "startcheck.h"
#include "upgrade.h"
#include "winservice.h"

/* -v: debug messages, whatever log-level says. */
static int	verbose;

#ifndef HARBORD_CONF
#define HARBORD_CONF	"/etc/harbord.conf"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: harbord [-dnvVh] [-f file]\n"
	    "       harbord -S install|remove|run [-v] [-f file]\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -f file  configuration file (default %s)\n"
	    "  -n       check the configuration, print 'configuration OK' "
	    "or the errors, exit\n"
	    "  -S install|remove|run\n"
	    "           Windows only: register harbord as the Windows service\n"
	    "           'harbord' (with -f and -v), remove it, or run as it\n"
	    "           (what the Service Control Manager starts)\n"
	    "  -v       more logging (debug)\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n"
	    "See harbord(8) and harbord.conf(5).\n", HARBORD_CONF);
}

void
harbord_log_errors(const struct conf_errors *errs)
{
	size_t	i;

	for (i = 0; i < errs->n; i++)
		harbor_log(HARBOR_LOG_ERR, "%s", errs->msg[i]);
	if (errs->dropped > 0)
		harbor_log(HARBOR_LOG_ERR, "(%zu more %s)", errs->dropped,
		    errs->dropped == 1 ? "error" : "errors");
}

struct config *
harbord_load(struct harbord *hd, struct conf_errors *errs,
    struct conf_snapshot **snap, int *missing)
{
	struct config	*conf;

	*missing = 0;
	*snap = NULL;
	if (access(hd->conf_path, F_OK) == -1 && errno == ENOENT) {
		if (hd->conf_given) {
			*missing = 1;
			conf_error(errs, NULL, "cannot open %s: %s",
			    hd->conf_path, strerror(ENOENT));
			return NULL;
		}
		if ((*snap = conf_snapshot_new()) == NULL ||
		    conf_snapshot_add(*snap, CONF_SNAP_FILE,
		    "<built-in default>", config_default_text,
		    strlen(config_default_text)) == -1) {
			conf_snapshot_free(*snap);
			*snap = NULL;
			conf_error(errs, NULL, "out of memory");
			return NULL;
		}
		if ((conf = config_load_snapshot(*snap, errs)) == NULL) {
			conf_snapshot_free(*snap);
			*snap = NULL;
			return NULL;
		}
		harbor_log(HARBOR_LOG_NOTICE, "no configuration file at %s; "
		    "using the built-in default configuration", hd->conf_path);
	} else if ((conf = config_load_file_recorded(hd->conf_path, errs,
	    snap)) == NULL)
		return NULL;
	/* The accounts as seen from here, not from inside a chroot. */
	if (config_resolve_accounts(conf, *snap) == -1) {
		conf_error(errs, NULL, "out of memory");
		config_free(conf);
		conf_snapshot_free(*snap);
		*snap = NULL;
		return NULL;
	}
	return conf;
}

void
harbord_apply_log_level(const struct config *conf)
{
	harbor_log_set_level(verbose ? HARBOR_LOG_DEBUG :
	    (enum harbor_log_level)conf->log_level);
}

int
harbord_apply_log(const struct config *conf, int foreground)
{
	const char	*service_log;
	char		 err[256];
	int		 r = 0;

	harbord_apply_log_level(conf);
	if (foreground)
		return 0;
	switch (conf->log) {
	case CONF_LOG_STDERR:
		/* A Windows service has none: its own file instead, opened
		 * again on every reload as a log file is. */
		if ((service_log = winservice_log_path()) != NULL)
			r = logsink_open(LOGSINK_FILE, service_log, err,
			    sizeof err);
		else if (!logsink_is(LOGSINK_STDERR, NULL))
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
void
harbord_warn_restart_needed(const struct config *old, const struct config *new)
{
	struct conf_restart	changed[CONF_KEYWORDS_MAX];
	size_t			i, n;

	n = config_restart_changes(old, new, changed, CONF_KEYWORDS_MAX);
	for (i = 0; i < n; i++)
		harbor_log(HARBOR_LOG_WARNING, "%s changed: takes effect when "
		    "harbord restarts", changed[i].what);
}

void
harbord_ready(struct harbord *hd, int status)
{
	char	why[256];

	/* The harbord this one replaces lets go once this one serves; one
	 * that failed tells it so by going (its end of the pair closes). */
	if (status == 0 && hd->upgrade_fd != -1 &&
	    upgrade_announce(hd, why, sizeof why) == -1)
		harbor_log(HARBOR_LOG_ERR, "%s", why);
	if (hd->report == -1)
		return;
	logsink_tee(-1);
	daemonize_report(hd->report, status);
	hd->report = -1;
}

static char	*absolute_path(const char *);

/* This program's path, absolute, to start again on an upgrade: as it was
 * run, or found on PATH as a shell would. */
static char *
program_path(const char *argv0)
{
#ifndef _WIN32
	const char	*path = getenv("PATH"), *p, *end;
	char		 buf[4096];
	size_t		 n;

	if (strchr(argv0, '/') != NULL)
		return absolute_path(argv0);
	for (p = path != NULL ? path : "/usr/sbin:/usr/bin:/sbin:/bin"; *p;
	    p = *end != '\0' ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n == 0 || n + strlen(argv0) + 2 > sizeof buf)
			continue;
		snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, argv0);
		if (access(buf, X_OK) == 0)
			return absolute_path(buf);
	}
#endif
	return strdup(argv0);
}

/* The configuration file's path as given, made absolute: harbord works
 * from / once detached, and reads the file again on every reload. */
static char *
absolute_path(const char *path)
{
	char	cwd[4096], *abs;
	size_t	n;

	if (conf_path_is_absolute(path) || getcwd(cwd, sizeof cwd) == NULL)
		return strdup(path);
	n = strlen(cwd) + 1 + strlen(path) + 1;
	if ((abs = malloc(n)) != NULL)
		snprintf(abs, n, "%s/%s", cwd, path);
	return abs;
}

#ifndef _WIN32
/* The directory path is in. */
static int
mkdir_parent(const char *path)
{
	char	dir[512], *slash;

	if (strlcpy(dir, path, sizeof dir) >= sizeof dir ||
	    (slash = strrchr(dir, '/')) == NULL || slash == dir) {
		errno = EEXIST;
		return -1;
	}
	*slash = '\0';
	return mkdir(dir, 0755);
}
#endif

int
harbord_control_open(struct harbord *hd)
{
	struct conf_errors	 errs = { .n = 0 };
	const char		*path = hd->conf->control_socket;
	char			 why[512];
	long			 gid;

	hd->control_fd = -1;
	hd->control_key[0] = '\0';
	if (hd->conf->control_off)
		return 0;
	if (startcheck_control(hd->conf, &gid, &errs) == -1) {
		harbord_log_errors(&errs);
		conf_errors_clear(&errs);
		return -1;
	}
	if (path == NULL)
		path = ctl_socket_default();
#ifndef _WIN32
	/* The harbord this one replaces passed its own. */
	if ((hd->control_fd = activation_take_named(
	    UPGRADE_CONTROL_NAME)) != -1) {
		if ((hd->control_path = strdup(path)) == NULL) {
			harbor_log(HARBOR_LOG_ERR, "out of memory");
			return -1;
		}
		return 0;
	}
	if (hd->conf->control_socket == NULL) {
		/* Its own directory, as systemd's RuntimeDirectory= makes
		 * it: the run-state directory itself may be read-only to
		 * harbord. */
		if (mkdir_parent(path) == -1 && errno != EEXIST)
			harbor_log(HARBOR_LOG_DEBUG, "cannot make the directory "
			    "of %s: %s", path, strerror(errno));
	}
#endif
	if ((hd->control_fd = ctl_socket_listen(path, gid, hd->control_key,
	    why, sizeof why)) == -1) {
		if (hd->conf->control_socket != NULL) {
			harbor_log(HARBOR_LOG_ERR, "%s", why);
			return -1;
		}
		/* Not asked for by name: harbord runs, unsteered. */
		harbor_log(HARBOR_LOG_WARNING, "%s; harbord runs without a "
		    "control socket (set control-socket, or none)", why);
		return 0;
	}
	if ((hd->control_path = strdup(path)) == NULL) {
		ctl_socket_close(hd->control_fd);
		(void)unlink(path);
		hd->control_fd = -1;
		harbor_log(HARBOR_LOG_ERR, "out of memory");
		return -1;
	}
	harbor_log(HARBOR_LOG_INFO, "control socket %s", path);
	return 0;
}

void
harbord_control_remove(struct harbord *hd)
{
	if (hd->control_fd != -1)
		ctl_socket_close(hd->control_fd);
	hd->control_fd = -1;
	if (hd->control_path != NULL)
		(void)unlink(hd->control_path);
	free(hd->control_path);
	hd->control_path = NULL;
}

/* -n: everything start would check, short of binding and serving. */
static int
check_only(struct harbord *hd)
{
	struct conf_errors	  errs = { .n = 0 };
	struct harbor_service	**svcs;
	size_t			  n, i;
	char			  err[512];
	long			  gid;

	/* As the serving process would: the modules while root, then the
	 * drop (this process goes no further), then the rest from where
	 * it stands. */
	if (startcheck_accounts(hd->conf, &errs) == -1 ||
	    startcheck_control(hd->conf, &gid, &errs) == -1 ||
	    config_load_modules(hd->conf, &errs) == -1)
		goto failed;
	if (privdrop_apply(err, sizeof err) == -1) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		return EXIT_CONFIG;
	}
	/* Every kind of mistake at once: the programs, then the rest. */
	(void)startcheck_files(hd->conf, &errs);
	svcs = config_make_services(hd->conf, &n, &errs);
	if (svcs == NULL || conf_failed(&errs)) {
		if (svcs != NULL) {
			for (i = 0; i < n; i++)
				harbor_service_free(svcs[i]);
			free(svcs);
		}
failed:
		harbord_log_errors(&errs);
		conf_errors_clear(&errs);
		return EXIT_CONFIG;
	}
	for (i = 0; i < n; i++)
		harbor_service_free(svcs[i]);
	free(svcs);
	printf("configuration OK\n");
	return 0;
}

/* What main() was asked to start, in a console or as a service. */
struct start {
	struct harbord	 hd;
	const char	*conf_path;
	const char	*argv0;
	int		 check;		/* -n */
};

/* Everything after the flags: the exit status. */
static int
start_harbord(void *arg)
{
	struct start		*st = arg;
	struct harbord		*hd = &st->hd;
	struct conf_errors	 errs = { .n = 0 };
	const char		*service_log;
	char			 err[512];
	int			 missing, status = 0;

	if ((service_log = winservice_log_path()) != NULL) {
		/* No console to say anything on, from the first word. */
		if (logsink_open(LOGSINK_FILE, service_log, err,
		    sizeof err) == -1)
			return EXIT_CANTCREAT;
	} else {
		(void)logsink_open(LOGSINK_STDERR, NULL, err, sizeof err);
		logsink_plain(!hd->foreground);
	}
	sdnotify_init();
	/* Before anything is opened: the passed sockets are 3 on. */
	if (!st->check && (activation_init() == -1 ||
	    upgrade_init(hd) == -1))
		return EXIT_OSERR;
	hd->verbose = verbose;
	if ((hd->exe = program_path(st->argv0)) == NULL) {
		harbor_log(HARBOR_LOG_ERR, "out of memory");
		return EXIT_OSERR;
	}
	harbor_log_set_level(verbose ? HARBOR_LOG_DEBUG : HARBOR_LOG_INFO);
	if (st->check && !verbose)
		harbor_log_set_level(HARBOR_LOG_NOTICE);
	if ((hd->conf_path = absolute_path(st->conf_path)) == NULL) {
		harbor_log(HARBOR_LOG_ERR, "out of memory");
		free(hd->exe);
		return EXIT_OSERR;
	}

	if ((hd->conf = harbord_load(hd, &errs, &hd->snap,
	    &missing)) == NULL) {
		harbord_log_errors(&errs);
		conf_errors_clear(&errs);
		status = missing ? EXIT_NOINPUT : EXIT_CONFIG;
		goto out;
	}
	if (st->check) {
		status = check_only(hd);
		goto out;
	}
	harbord_apply_log_level(hd->conf);
	if (startcheck_accounts(hd->conf, &errs) == -1) {
		harbord_log_errors(&errs);
		conf_errors_clear(&errs);
		status = EXIT_CONFIG;
		goto out;
	}

#ifndef _WIN32
	{
		/* Whatever the starter blocked (a shell's system(3), a test
		 * runner's threads), harbord's signals must reach it. */
		sigset_t	none;

		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
	}
#endif
#ifdef SIGPIPE
	/* A client gone mid-write is an error return, not a death. */
	(void)signal(SIGPIPE, SIG_IGN);
#endif
	if (!hd->foreground) {
		if (daemonize(&hd->report) == -1) {
			harbor_log(HARBOR_LOG_ERR, "cannot detach: %s",
			    strerror(errno));
			status = EXIT_OSERR;
			goto out;
		}
		/* The starter waits for our word, and shows what goes wrong
		 * until then. */
		logsink_tee(hd->report);
	}
	/* Started by an upgrade, the pid file is the old harbord's until
	 * this one serves (upgrade_announce). */
	if (hd->conf->pidfile != NULL && hd->upgrade_fd == -1 &&
	    ((hd->pidfile = pidfile_lock(hd->conf->pidfile, err,
	    sizeof err)) == NULL ||
	    pidfile_write(hd->pidfile, err, sizeof err) == -1)) {
		harbor_log(HARBOR_LOG_ERR, "%s", err);
		pidfile_forget(hd->pidfile);
		hd->pidfile = NULL;
		status = EXIT_CANTCREAT;
		goto out;
	}
	if (harbord_control_open(hd) == -1) {
		status = EXIT_CANTCREAT;
		goto out;
	}
#ifndef _WIN32
	if (geteuid() == 0)
		status = parent_run(hd);
	else
#endif
	{
		harbor_log(HARBOR_LOG_INFO, "not started as root: serving in "
		    "one process, as user %ld (no privilege separation)",
#ifdef _WIN32
		    -1L
#else
		    (long)geteuid()
#endif
		    );
		status = serving_alone(hd);
	}

out:
	harbord_ready(hd, status);
	harbord_control_remove(hd);
	pidfile_remove(hd->pidfile);
	free(hd->exe);
	config_free(hd->conf);
	conf_snapshot_free(hd->snap);
	free(hd->conf_path);
	logsink_close();
	return status;
}

/* -S: harbord as a Windows service, installed, removed, or run by the
 * Service Control Manager. */
static int
service_command(struct start *st, const char *what)
{
	if (!WINSERVICE_AVAILABLE) {
		fprintf(stderr, "harbord: -S is Windows only: it makes harbord "
		    "a Windows service\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (st->check || st->hd.foreground) {
		fprintf(stderr, "harbord: -S does not go with %s\n",
		    st->check ? "-n" : "-d");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(what, "install") == 0) {
		/* As a start would say, now rather than at boot. */
		if (st->hd.conf_given && access(st->conf_path, F_OK) == -1) {
			fprintf(stderr, "harbord: cannot open %s: %s\n",
			    st->conf_path, strerror(errno));
			return EXIT_NOINPUT;
		}
		return winservice_install(st->hd.conf_given ? st->conf_path :
		    NULL, verbose);
	}
	if (strcmp(what, "remove") == 0)
		return winservice_remove();
	if (strcmp(what, "run") == 0)
		return winservice_run(start_harbord, st);
	fprintf(stderr, "harbord: -S %s: expected install, remove or run\n",
	    what);
	usage(stderr);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct start	 st;
	const char	*service = NULL;
	int		 ch;

	memset(&st, 0, sizeof st);
	st.hd.report = -1;
	st.hd.control_fd = -1;
	st.hd.upgrade_fd = -1;
	st.conf_path = HARBORD_CONF;
	st.argv0 = argv[0];
	while ((ch = getopt(argc, argv, "df:nS:vVh")) != -1) {
		switch (ch) {
		case 'd':
			st.hd.foreground = 1;
			break;
		case 'f':
			st.conf_path = optarg;
			st.hd.conf_given = 1;
			break;
		case 'n':
			st.check = 1;
			break;
		case 'S':
			service = optarg;
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
	if (service != NULL)
		return service_command(&st, service);
	return start_harbord(&st);
}
