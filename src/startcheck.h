/* What a start would refuse, checked first (harbord -n too). */
#ifndef HARBORD_STARTCHECK_H
#define HARBORD_STARTCHECK_H

struct config;
struct conf_errors;

/* 0, or -1 with the errors, each at its place in the file. */
/* The accounts and the chroot directory: before anything. */
int	startcheck_accounts(const struct config *conf,
	    struct conf_errors *errs);
/* The programs exec runs: after the drop, where the serving process
 * stands. */
int	startcheck_files(const struct config *conf, struct conf_errors *errs);
/* The control socket: its group (*gid, -1 if none is named) and, for one
 * the configuration names, its directory. */
int	startcheck_control(const struct config *conf, long *gid,
	    struct conf_errors *errs);

#endif
