/*
 * What starting would find wrong, found first, each error where the file
 * said it: the accounts exist and harbord can become them, the chroot
 * directory is one (before anything, at start and for -n); the programs
 * exec runs are there for the serving process, inside its new root and as
 * its user (after the drop: in the serving process, and in -n, which
 * drops as the serving process would).  So what -n accepts starts.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifndef _WIN32
#include <grp.h>
#endif

#include "config.h"
#include "privdrop.h"
#include "startcheck.h"

static void
check_program(const struct config *conf, const struct conf_service *s,
    struct conf_errors *errs)
{
	const struct conf_words	*argv = s->exec_argv.n > 0 ? &s->exec_argv :
				    &conf->defaults.exec_argv;
	char			 note[4200] = "";
	struct stat		 st;

	if (argv->n == 0)
		return;
	if (conf->chroot_dir != NULL)
		snprintf(note, sizeof note, " (inside the chroot %s)",
		    conf->chroot_dir);
	if (stat(argv->v[0], &st) == -1)
		conf_error(errs, &argv->pos[0], "service '%s': cannot run %s: "
		    "%s%s", s->name, argv->v[0], strerror(errno), note);
	else if (!S_ISREG(st.st_mode) || access(argv->v[0], X_OK) == -1)
		conf_error(errs, &argv->pos[0], "service '%s': cannot run %s: "
		    "%s%s", s->name, argv->v[0], S_ISREG(st.st_mode) ?
		    strerror(errno) : "not a file", note);
}

int
startcheck_files(const struct config *conf, struct conf_errors *errs)
{
	const struct conf_service	*s;
	const char			*handler;
	int				 failed = conf_failed(errs);

	for (s = conf->services; s != NULL; s = s->next) {
		handler = s->handler != NULL ? s->handler :
		    conf->defaults.handler;
		if (handler != NULL && strcmp(handler, "exec") == 0)
			check_program(conf, s, errs);
	}
	return !failed && conf_failed(errs) ? -1 : 0;
}

int
startcheck_accounts(const struct config *conf, struct conf_errors *errs)
{
	struct privdrop		 pd = { conf->user, conf->group,
				    conf->chroot_dir };
	const struct conf_pos	*at;
	char			 err[512];
	struct stat		 st;

	if (privdrop_prepare(&pd, err, sizeof err) == -1) {
		/* At the keyword the message is about. */
		if (strncmp(err, "group", 5) == 0)
			at = config_value_pos(conf, NULL, "group");
		else if (strstr(err, "'chroot'") != NULL)
			at = config_value_pos(conf, NULL, "chroot");
		else if ((at = config_value_pos(conf, NULL, "user")) == NULL &&
		    (at = config_value_pos(conf, NULL, "group")) == NULL)
			at = config_value_pos(conf, NULL, "chroot");
		conf_error(errs, at, "%s", err);
		return -1;
	}
#ifndef _WIN32
	/* Not root, programs run as this user only: as root, the privileged
	 * process starts them as their own. */
	if (geteuid() != 0) {
		const struct conf_service	*s;
		const struct conf_words		*argv;
		long				 uid, gid;

		for (s = conf->services; s != NULL; s = s->next)
			if (config_exec_program(conf, s->name, &argv, &uid,
			    &gid, &at) == 0 && ((uid != -1 &&
			    uid != (long)geteuid()) || (gid != -1 &&
			    gid != (long)getegid()))) {
				conf_error(errs, at, "service '%s' runs its "
				    "program as another user or group, which "
				    "harbord can do only when started as "
				    "root", s->name);
				return -1;
			}
	}
#endif
	if (conf->chroot_dir != NULL) {
		at = config_value_pos(conf, NULL, "chroot");
		if (stat(conf->chroot_dir, &st) == -1) {
			conf_error(errs, at, "chroot %s: %s", conf->chroot_dir,
			    strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			conf_error(errs, at, "chroot %s: not a directory",
			    conf->chroot_dir);
			return -1;
		}
	}
	return 0;
}

int
startcheck_control(const struct config *conf, long *gid,
    struct conf_errors *errs)
{
	const struct conf_pos	*at;
	struct stat		 st;
	char			*dir, *slash;
	int			 r = 0;

	*gid = -1;
#ifndef _WIN32
	if (conf->control_group != NULL) {
		const struct group	*gr;
		char			*end;
		long			 n;

		at = config_value_pos(conf, NULL, "control-group");
		errno = 0;
		n = strtol(conf->control_group, &end, 10);
		if (*end == '\0' && errno == 0 && n >= 0)
			*gid = n;
		else if ((gr = getgrnam(conf->control_group)) != NULL)
			*gid = (long)gr->gr_gid;
		else {
			conf_error(errs, at, "control-group %s: no such group",
			    conf->control_group);
			r = -1;
		}
	}
#endif
	if (conf->control_off || conf->control_socket == NULL)
		return r;
	at = config_value_pos(conf, NULL, "control-socket");
	if ((dir = strdup(conf->control_socket)) == NULL) {
		conf_error(errs, at, "out of memory");
		return -1;
	}
	slash = strrchr(dir, '/');
#ifdef _WIN32
	if (strrchr(dir, '\\') > slash)
		slash = strrchr(dir, '\\');
#endif
	if (slash != NULL) {
		slash[slash == dir ? 1 : 0] = '\0';
		if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
			conf_error(errs, at, "control-socket %s: %s is not a "
			    "directory", conf->control_socket, dir);
			r = -1;
		}
	}
	free(dir);
	return r;
}
