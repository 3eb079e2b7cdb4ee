/*
 * The daemon's state and its parts: harbord.c (options, the configuration,
 * detaching, the pid file), serving.c (the process that serves, alone or
 * as the unprivileged half), parent.c (the privileged half).
 */
#ifndef HARBORD_H
#define HARBORD_H

#include "config.h"
#include "control.h"

/* sysexits.h values, spelled out where the header is missing. */
#define EXIT_USAGE	64
#define EXIT_NOINPUT	66
#define EXIT_UNAVAILABLE 69
#define EXIT_OSERR	71
#define EXIT_CANTCREAT	73
#define EXIT_NOPERM	77
#define EXIT_CONFIG	78

/* Windows has no SIGHUP; Ctrl-Break (SIGBREAK), the one console signal
 * besides Ctrl-C, reloads there. */
#ifdef _WIN32
#define SIGRELOAD	SIGBREAK
#else
#define SIGRELOAD	SIGHUP
#endif

struct pidfile;

struct harbord {
	char			*conf_path;	/* absolute, or the default's */
	int			 conf_given;	/* -f */
	int			 foreground;	/* -d */
	int			 report;	/* the starter's, until ready */
	struct config		*conf;		/* in force */
	struct conf_snapshot	*snap;		/* what conf was read from */
	struct pidfile		*pidfile;
	int			 control_fd;	/* listening; -1: none */
	char			*control_path;	/* made by this process */
	char			 control_key[CTL_KEY_SIZE]; /* "": none */
	char			*exe;		/* this program, absolute */
	int			 verbose;	/* -v */
	int			 upgrade_fd;	/* to the harbord this one
						   replaces; -1 */
};

/* harbord.c: the configuration at hd->conf_path (or the built-in default
 * when there is none and no -f named it), with its snapshot; NULL with
 * the errors in errs (*missing: -f named no file). */
struct config *harbord_load(struct harbord *hd, struct conf_errors *errs,
	    struct conf_snapshot **snap, int *missing);
/* Each error, to the log (with harbord: on standard error). */
void	harbord_log_errors(const struct conf_errors *errs);
/* The configuration's log-level (debug with -v). */
void	harbord_apply_log_level(const struct config *conf);
/* The log the configuration asks for (standard error stays with -d), and
 * its level. */
int	harbord_apply_log(const struct config *conf, int foreground);
/* Warns of what changed that a reload cannot apply. */
void	harbord_warn_restart_needed(const struct config *old,
	    const struct config *new);
/* The control socket the configuration asks for, in hd->control_fd (-1:
 * control-socket none; or the default's place cannot be used, which is
 * said at warning): 0, or -1 with the error logged. */
int	harbord_control_open(struct harbord *hd);
/* Its file removed, if this process made it. */
void	harbord_control_remove(struct harbord *hd);
/* Tells the starter (if still waiting) that harbord runs, or why not. */
void	harbord_ready(struct harbord *hd, int status);

/* serving.c: harbord as one process (not root, or Windows), from
 * configuration to exit; the exit status. */
int	serving_alone(struct harbord *hd);

#endif
