/*
 * The users and groups exec services run their programs as, looked up by
 * the process that reads the configuration.  harbord's serving process
 * makes its services after it has changed its root, where /etc/passwd is
 * the jail's (or missing): it takes the accounts the privileged process
 * saw instead, from the snapshot, so that it asks for the ids the
 * privileged process will agree to.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_PWD_H
#include <pwd.h>
#endif
#ifdef HAVE_GRP_H
#include <grp.h>
#endif

#include "conf-table.h"

static const struct conf_account *
account_find(const struct config *conf, char kind, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->naccounts; i++)
		if (conf->accounts[i].kind == kind &&
		    strcmp(conf->accounts[i].name, name) == 0)
			return &conf->accounts[i];
	return NULL;
}

static int
account_add(struct config *conf, char kind, const char *name, long uid,
    long gid)
{
	struct conf_account	*grown;
	char			*copy;

	if (account_find(conf, kind, name) != NULL)
		return 0;
	if ((copy = strdup(name)) == NULL || (grown = realloc(conf->accounts,
	    (conf->naccounts + 1) * sizeof *grown)) == NULL) {
		free(copy);
		return -1;
	}
	conf->accounts = grown;
	grown[conf->naccounts].kind = kind;
	grown[conf->naccounts].name = copy;
	grown[conf->naccounts].uid = uid;
	grown[conf->naccounts].gid = gid;
	conf->naccounts++;
	return 0;
}

int
conf_account_user(const struct config *conf, const char *name, long *uid,
    long *gid)
{
	const struct conf_account	*a;

	if (conf->accounts_known) {
		if ((a = account_find(conf, 'u', name)) == NULL)
			return -1;
		*uid = a->uid;
		*gid = a->gid;
		return 0;
	}
#ifdef HAVE_PWD_H
	{
		struct passwd	*pw = getpwnam(name);

		if (pw != NULL) {
			*uid = (long)pw->pw_uid;
			*gid = (long)pw->pw_gid;
			return 0;
		}
	}
#endif
	return -1;
}

int
conf_account_group(const struct config *conf, const char *name, long *gid)
{
	const struct conf_account	*a;

	if (conf->accounts_known) {
		if ((a = account_find(conf, 'g', name)) == NULL)
			return -1;
		*gid = a->gid;
		return 0;
	}
#ifdef HAVE_GRP_H
	{
		struct group	*gr = getgrnam(name);

		if (gr != NULL) {
			*gid = (long)gr->gr_gid;
			return 0;
		}
	}
#endif
	return -1;
}

/* One account, looked up, into conf and the snapshot. */
static int
resolve_one(struct config *conf, struct conf_snapshot *snap, char kind,
    const char *name)
{
	char	key[CONF_SNAP_NAME_MAX], data[64];
	long	uid = -1, gid = -1;
	int	found;

	if (name == NULL || account_find(conf, kind, name) != NULL)
		return 0;
	found = kind == 'u' ? conf_account_user(conf, name, &uid, &gid) :
	    conf_account_group(conf, name, &gid);
	if (found == -1)
		return 0;	/* missing: the lookup after says so */
	if (account_add(conf, kind, name, uid, gid) == -1)
		return -1;
	if (snap == NULL)
		return 0;
	snprintf(key, sizeof key, "%c:%s", kind, name);
	if (kind == 'u')
		snprintf(data, sizeof data, "%ld %ld", uid, gid);
	else
		snprintf(data, sizeof data, "%ld", gid);
	return conf_snapshot_add(snap, CONF_SNAP_ACCOUNT, key, data,
	    strlen(data));
}

int
config_resolve_accounts(struct config *conf, struct conf_snapshot *snap)
{
	const struct conf_service	*s;

	if (conf->accounts_known)
		return 0;
	if (resolve_one(conf, snap, 'u', conf->defaults.user) == -1 ||
	    resolve_one(conf, snap, 'g', conf->defaults.group) == -1)
		return -1;
	for (s = conf->services; s != NULL; s = s->next)
		if (resolve_one(conf, snap, 'u', s->user) == -1 ||
		    resolve_one(conf, snap, 'g', s->group) == -1)
			return -1;
	conf->accounts_known = 1;
	return 0;
}

int
conf_accounts_from_snapshot(struct config *conf, char kind, const char *name,
    const char *data)
{
	long	uid = -1, gid = -1;
	char	*end;

	if (kind == 'u') {
		uid = strtol(data, &end, 10);
		if (*end != ' ')
			return -1;
		gid = strtol(end + 1, &end, 10);
	} else
		gid = strtol(data, &end, 10);
	if (*end != '\0' || (kind != 'u' && kind != 'g'))
		return -1;
	conf->accounts_known = 1;
	return account_add(conf, kind, name, uid, gid);
}
