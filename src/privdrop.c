/*
 * harbord binds its listeners (ports below 1024 need root), then gives up
 * root for good before it serves: chroot (optional), supplementary groups,
 * then group and user, in that order, since each step needs the rights the
 * next one takes away.  Started as root, harbord serves as "nobody" unless
 * the configuration names a user ("user root" keeps root).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef HAVE_PWD_H
#include <pwd.h>
#endif
#ifdef HAVE_GRP_H
#include <grp.h>
#endif

#include "compat.h"
#include "privdrop.h"

#if defined(HAVE_PWD_H) && defined(HAVE_GRP_H) && !defined(_WIN32)
static struct {
	int		 active;	/* something to do */
	uid_t		 uid;
	gid_t		 gid;
	const char	*user;
	const char	*group;
	const char	*chroot_dir;
} plan;

/* By name, or by number as tcpserver's -u and -g take them. */
static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

struct passwd *
privdrop_user(const char *name)
{
	struct passwd	*pw = getpwnam(name);

	if (pw == NULL && all_digits(name))
		pw = getpwuid((uid_t)strtoul(name, NULL, 10));
	return pw;
}

struct group *
privdrop_group(const char *name)
{
	struct group	*gr = getgrnam(name);

	if (gr == NULL && all_digits(name))
		gr = getgrgid((gid_t)strtoul(name, NULL, 10));
	return gr;
}
#endif

int
privdrop_prepare(const struct privdrop *pd, char *err, size_t errlen)
{
#if defined(HAVE_PWD_H) && defined(HAVE_GRP_H) && !defined(_WIN32)
	struct passwd	*pw;
	struct group	*gr;
	int		 root = geteuid() == 0;
	const char	*user = pd->user;

	memset(&plan, 0, sizeof plan);
	if (user == NULL && root)
		user = HARBORD_DEFAULT_USER;	/* never root unless asked */
	if (user == NULL) {
		if (pd->group != NULL || pd->chroot_dir != NULL) {
			snprintf(err, errlen, "'group' and 'chroot' need "
			    "harbord to start as root");
			return -1;
		}
		return 0;
	}
	if ((pw = privdrop_user(user)) == NULL) {
		snprintf(err, errlen, "user '%s': no such user%s", user,
		    pd->user == NULL ? " (harbord serves as it when the "
		    "configuration names no user)" : "");
		return -1;
	}
	plan.uid = pw->pw_uid;
	plan.gid = pw->pw_gid;
	if (pd->group != NULL) {
		if ((gr = privdrop_group(pd->group)) == NULL) {
			snprintf(err, errlen, "group '%s': no such group",
			    pd->group);
			return -1;
		}
		plan.gid = gr->gr_gid;
	}
	if (!root) {
		if (plan.uid != geteuid() || plan.gid != getegid() ||
		    pd->chroot_dir != NULL) {
			snprintf(err, errlen, "harbord is not running as root, "
			    "so it cannot become user '%s'%s%s%s", user,
			    pd->group != NULL ? " and group '" : "",
			    pd->group != NULL ? pd->group : "",
			    pd->group != NULL ? "'" : "");
			if (pd->chroot_dir != NULL)
				snprintf(err, errlen, "'chroot' needs harbord to "
				    "start as root");
			return -1;
		}
		return 0;	/* already that user */
	}
	plan.active = plan.uid != 0 || plan.gid != 0 || pd->chroot_dir != NULL;
	plan.user = user;
	plan.group = pd->group;
	plan.chroot_dir = pd->chroot_dir;
	return 0;
#else
	if (pd->user != NULL || pd->group != NULL || pd->chroot_dir != NULL) {
		snprintf(err, errlen, "'user', 'group' and 'chroot' are not "
		    "available on this system");
		return -1;
	}
	return 0;
#endif
}

void
privdrop_describe(char *buf, size_t len)
{
#if defined(HAVE_PWD_H) && defined(HAVE_GRP_H) && !defined(_WIN32)
	if (plan.user != NULL) {
		struct group	*gr = getgrgid(plan.gid);

		snprintf(buf, len, "user %s (uid %ld), group %s (gid %ld)%s%s",
		    plan.user, (long)plan.uid, plan.group != NULL ? plan.group :
		    gr != NULL ? gr->gr_name : "?", (long)plan.gid,
		    plan.chroot_dir != NULL ? ", chrooted to " : "",
		    plan.chroot_dir != NULL ? plan.chroot_dir : "");
		return;
	}
	snprintf(buf, len, "uid %ld, gid %ld, as started", (long)geteuid(),
	    (long)getegid());
#else
	snprintf(buf, len, "the user that started it");
#endif
}

int
privdrop_apply(char *err, size_t errlen)
{
#if defined(HAVE_PWD_H) && defined(HAVE_GRP_H) && !defined(_WIN32)
	if (!plan.active)
		return 0;
	if (plan.chroot_dir != NULL && (chroot(plan.chroot_dir) == -1 ||
	    chdir("/") == -1)) {
		snprintf(err, errlen, "chroot %s: %s", plan.chroot_dir,
		    strerror(errno));
		return -1;
	}
	/* Only the one group: root's supplementary groups must not stay. */
	if (setgroups(1, &plan.gid) == -1 || setgid(plan.gid) == -1 ||
	    setuid(plan.uid) == -1) {
		snprintf(err, errlen, "cannot become user '%s': %s", plan.user,
		    strerror(errno));
		return -1;
	}
	if (plan.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "could become root again after dropping "
		    "to user '%s'", plan.user);
		return -1;
	}
	return 0;
#else
	return 0;
#endif
}
