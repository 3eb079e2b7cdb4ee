/*
 * harbord's configuration file: parsing it into a struct config, and
 * turning that into libharbor services.  Every error names
 * file:line:column.  See harbord.conf(5).
 *
 * What each keyword is -- where it may stand, what it takes, where its
 * value lands, which handlers take it, how it reaches the library -- is
 * one table, conf_keywords (conf-table.c); the parser, the checks, the
 * suggestions and the services are made from it.
 */
#ifndef HARBORD_CONFIG_H
#define HARBORD_CONFIG_H

#include <stddef.h>

#include "harbor.h"

#define CONF_MAX_ERRORS		20
#define CONF_KEYWORDS_MAX	64	/* entries the table may have */

struct conf_pos {
	const char	*file;		/* owned by the config's file list */
	unsigned	 line;		/* 0: nowhere (a keyword not set) */
	unsigned	 col;
};

struct conf_errors {
	char	*msg[CONF_MAX_ERRORS];	/* "file:line:col: message" */
	size_t	 n;
	size_t	 dropped;		/* beyond CONF_MAX_ERRORS, or no
					   memory to say them */
};

struct conf_rule {
	char		*net;		/* "10.0.0.0/8", "::1", "all" */
	int		 allow;
	struct conf_pos	 pos;
};

struct conf_rules {
	struct conf_rule	*v;	/* in file order */
	size_t			 n;
};

/* Words, each where it stood; v is NULL-terminated. */
struct conf_words {
	char		**v;
	struct conf_pos	 *pos;
	size_t		  n;
};

/* A rate: thousandths of a thing a second, and a burst (0: the rate
 * rounded up).  milli 0 is "off". */
struct conf_rate {
	long long	milli;
	long long	burst;
};

/* "option NAME VALUE": for the handler, as it is. */
struct conf_option {
	char		*name;
	char		*value;
	struct conf_pos	 pos;		/* of the statement */
};

/* "module PATH", resolved. */
struct conf_module {
	char		*path;
	struct conf_pos	 pos;		/* of the path */
};

/* Where a block set a keyword: the keyword and its (first) value; line 0:
 * it did not. */
struct conf_set_at {
	struct conf_pos	kw;
	struct conf_pos	value;
};

/* A service block, or the defaults block, as written.  set[i] is where
 * the block set conf_keywords[i]; a value not set is the defaults
 * block's, or the library's default. */
struct conf_service {
	char			*name;
	struct conf_pos		 pos;		/* of the name */
	struct conf_pos		 block_pos;	/* of "service" */
	struct conf_set_at	 set[CONF_KEYWORDS_MAX];

	struct conf_words	 listen;
	char			*handler;	/* "exec", "forward" too */
	struct conf_pos		 handler_pos;
	struct conf_words	 exec_argv;
	char			*forward_to;
	long long		 dispatch;	/* enum harbor_dispatch */
	long long		 framing;	/* enum harbor_framing */
	long long		 max_line;
	long long		 max_input;
	char			*quote_file;
	struct conf_option	*opts;
	size_t			 nopts;
	struct conf_rules	 rules;		/* allow and deny */
	long long		 proxy_versions; /* HARBOR_PROXY_* bits */
	struct conf_rules	 trusted;
	long long		 proxy_timeout_ms;
	long long		 max_connections;
	long long		 backlog;
	long long		 reuse_port;	/* 1: SO_REUSEPORT */
	long long		 max_per_source;
	long long		 source_prefix6;
	struct conf_rate	 rate;
	struct conf_rate	 source_rate;
	struct conf_rate	 log_rate;
	long long		 log_level;	/* enum harbor_log_level */
	long long		 log_connections;
	long long		 idle_timeout_ms;
	long long		 session_timeout_ms;
	struct conf_words	 env;		/* "NAME=VALUE" */
	struct conf_words	 passenv;
	long long		 max_children;
	long long		 stderr_rate;
	long long		 stderr_line_max;
	char			*user;		/* exec: the program's */
	char			*group;
	long long		 connect_timeout_ms;
	long long		 send_proxy;	/* HARBOR_PROXY_V1/V2, 0 */

	struct conf_service	*next;
};

enum conf_log {
	CONF_LOG_SYSLOG = 0,
	CONF_LOG_STDERR,
	CONF_LOG_FILE
};

/* A user ('u': uid and its gid) or a group ('g': gid), by name. */
struct conf_account {
	char		 kind;
	char		*name;
	long		 uid, gid;
};

/* The global settings: each has its value, its default unless set. */
struct config {
	long long		 io_threads;	/* -1: the library's default */
	long long		 workers;	/* -1: one per CPU */
	long long		 queue_size;	/* 0: the library's default */
	long long		 max_connections; /* all services; 0: none */
	long long		 shutdown_ms;
	long long		 log;		/* enum conf_log */
	long long		 log_level;	/* enum harbor_log_level */
	char			*log_facility;	/* syslog */
	char			*log_file;	/* file */
	char			*pidfile;
	char			*control_socket; /* NULL: the default */
	int			 control_off;	/* control-socket none */
	char			*control_group;
	char			*user;		/* drop to it after binding */
	char			*group;
	char			*chroot_dir;
	struct conf_set_at	 set[CONF_KEYWORDS_MAX];
	struct conf_service	 defaults;
	struct conf_service	*services;	/* in file order */
	size_t			 nservices;
	char			**files;	/* every file read */
	size_t			 nfiles;
	struct conf_module	*modules;	/* loaded by make_services */
	size_t			 nmodules;
	/* The accounts exec services name, as the process that read the
	 * files saw them (config_resolve_accounts); known: looked up only
	 * here, even if a name is missing. */
	struct conf_account	*accounts;
	size_t			 naccounts;
	int			 accounts_known;
};

/* NULL when there were errors, which are in errs. */
struct config	*config_load_file(const char *path, struct conf_errors *errs);
/* The same from text in memory; name is what errors call it. */
struct config	*config_load_string(const char *name, const char *text,
		    struct conf_errors *errs);
void		 config_free(struct config *conf);
/* The files a configuration was read from, as they were read: the main
 * file, the included files, what include patterns matched (conf-snapshot.c).
 * Bounded: at most CONF_SNAP_ENTRIES_MAX entries and CONF_SNAP_BYTES_MAX
 * bytes of names and contents over all. */
struct conf_snapshot;
enum conf_snap_kind {
	CONF_SNAP_FILE = 1,	/* a file's contents */
	CONF_SNAP_PATTERN,	/* the names an include pattern matched */
	CONF_SNAP_ACCOUNT	/* "u:NAME" ("UID GID") or "g:NAME" ("GID") */
};
#define CONF_SNAP_ENTRIES_MAX	4096
#define CONF_SNAP_BYTES_MAX	(16 * 1024 * 1024)
#define CONF_SNAP_NAME_MAX	4096
/* config_load_file(), keeping in *snap what was read (NULL if the
 * configuration failed, or the snapshot could not be kept: said in errs). */
struct config	*config_load_file_recorded(const char *path,
		    struct conf_errors *errs, struct conf_snapshot **snap);
/* The configuration again from a snapshot, opening no file. */
struct config	*config_load_snapshot(const struct conf_snapshot *snap,
		    struct conf_errors *errs);
struct conf_snapshot *conf_snapshot_new(void);
void		 conf_snapshot_free(struct conf_snapshot *snap);
int		 conf_snapshot_add(struct conf_snapshot *snap,
		    enum conf_snap_kind kind, const char *name, const void *data,
		    size_t len);
const char	*conf_snapshot_find(const struct conf_snapshot *snap,
		    enum conf_snap_kind kind, const char *name, size_t *len);
/* The main file's name. */
const char	*conf_snapshot_main(const struct conf_snapshot *snap);
/* As bytes to send, and back: decoding checks every length and bound;
 * NULL for anything malformed. */
int		 conf_snapshot_encode(const struct conf_snapshot *snap,
		    unsigned char **buf, size_t *len);
struct conf_snapshot *conf_snapshot_decode(const unsigned char *buf,
		    size_t len);

/* Services ready for harbor_server_add_service() or
 * harbor_server_replace_services(), the modules loaded first (a module
 * loaded already, by an earlier reload, is not loaded again); NULL with
 * errs filled on failure (e.g. a quote-file that cannot be read, a
 * module that cannot be loaded). */
/* Where a keyword's value was given: globally (s NULL), or for service s
 * (in its block or the defaults); NULL when it was not. */
const struct conf_pos *config_value_pos(const struct config *conf,
		    const struct conf_service *s, const char *keyword);
/* Looks up the users and groups the exec services name, from where this
 * process stands (outside any chroot), keeps them in conf, and in snap if
 * not NULL, for a process that parses the snapshot inside a chroot, whose
 * own /etc may say otherwise or nothing.  -1: out of memory. */
int		 config_resolve_accounts(struct config *conf,
		    struct conf_snapshot *snap);
/* An account by name: from conf's table when it has one, else from the
 * system.  0, or -1 if there is no such account. */
int		 conf_account_user(const struct config *conf, const char *name,
		    long *uid, long *gid);
int		 conf_account_group(const struct config *conf, const char *name,
		    long *gid);
/* Whether a path names its file from the root (or a drive, on Windows). */
int		 conf_path_is_absolute(const char *path);
/* An exec service's program, as harbord runs it: its words, and the ids
 * its user and group stand for (-1: none given), with where the first
 * was given (NULL: neither); -1 if there is no such exec service, or an
 * account does not exist. */
int		 config_exec_program(const struct config *conf,
		    const char *service, const struct conf_words **argv,
		    long *uid, long *gid, const struct conf_pos **at);
/* The modules alone (make_services does this first): 0, or -1 with errs. */
int		 config_load_modules(const struct config *conf,
		    struct conf_errors *errs);
struct harbor_service **config_make_services(const struct config *conf,
		    size_t *n, struct conf_errors *errs);
/* The flags of harbor_listen_open_opts() for service s's sockets, as
 * conf has them (HARBOR_LISTEN_REUSE_PORT). */
unsigned	 config_listen_flags(const struct config *conf,
		    const struct conf_service *s);

void	conf_errors_clear(struct conf_errors *errs);
void	conf_error(struct conf_errors *errs, const struct conf_pos *pos,
	    const char *fmt, ...) HARBOR_PRINTFLIKE(3, 4);
/* Whether anything went wrong, said or not. */
int	conf_failed(const struct conf_errors *errs);

/* The table, for the daemon's and the tests' questions about it. */
#define CONF_GLOBAL		0x01	/* at the top level */
#define CONF_SERVICE		0x02	/* in a service block */
#define CONF_NOT_DEFAULTS	0x04	/* a service's own: not in defaults */
struct conf_keyword;
size_t		 conf_keyword_count(void);
const char	*conf_keyword_name(size_t i);
unsigned	 conf_keyword_scope(size_t i);
/* Whether the keyword may stand more than once in its block. */
int		 conf_keyword_repeats(size_t i);
/* Not on Windows (an error there). */
int		 conf_keyword_posix_only(size_t i);
/* Whether a reload cannot apply it: it takes a restart. */
int		 conf_keyword_needs_restart(size_t i);
/* The table index of a keyword of that scope, or -1. */
int		 conf_keyword_find(const char *name, unsigned scope);
/* Whether a service (or the defaults) sets the keyword itself. */
int		 conf_service_sets(const struct conf_service *svc,
		    const char *name);

/* A setting that a reload changed and only a restart applies, as the
 * log says it: "workers", "the global max-connections". */
struct conf_restart {
	char	what[64];
};
/* The keywords that need a restart (the table's) whose values differ
 * between the running configuration and the reloaded one, in the
 * table's order: up to max of them into out; how many. */
size_t		 config_restart_changes(const struct config *old,
		    const struct config *new, struct conf_restart *out,
		    size_t max);

/* The characters a backslash may escape between double quotes, as a
 * string ("\\\"tn"). */
const char	*conf_string_escapes(void);

/* Tests only: the parser's allocations fail from the n-th on (counting
 * from 1); 0, as it starts: never. */
extern unsigned long	conf_alloc_fail_at;

/* duration.c: "250ms" "30s" "5m" "1h" "2d", a bare number meaning seconds,
 * into milliseconds; "8192" "64k" "1m" into bytes.  0 or -1 with a
 * message naming what was expected. */
int	parse_duration_ms(const char *text, unsigned long long max,
	    unsigned long long *ms, char *err, size_t errlen);
int	parse_size(const char *text, unsigned long long max,
	    unsigned long long *bytes, char *err, size_t errlen);

/* The built-in default configuration's text. */
extern const char config_default_text[];

#endif
