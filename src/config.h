/*
 * harbord's configuration file: parsing it into a struct config, and
 * turning that into libharbor services.  Every error names
 * file:line:column.  See harbord.conf(5).
 */
#ifndef HARBORD_CONFIG_H
#define HARBORD_CONFIG_H

#include <stddef.h>

#include "harbor.h"

#define CONF_MAX_ERRORS		20
#define CONF_DEFAULT_SHUTDOWN_MS	10000

struct conf_pos {
	const char	*file;		/* owned by the config's file list */
	unsigned	 line;
	unsigned	 col;
};

struct conf_errors {
	char	*msg[CONF_MAX_ERRORS];	/* "file:line:col: message" */
	size_t	 n;
	size_t	 dropped;		/* beyond CONF_MAX_ERRORS */
};

struct conf_rule {
	char		*net;		/* "10.0.0.0/8", "::1", "all" */
	int		 allow;
	struct conf_pos	 pos;
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

/* A service as written; -1 (or NULL) marks what it does not set itself. */
struct conf_service {
	char			*name;
	struct conf_pos		 pos;		/* of the name */
	struct conf_pos		 block_pos;	/* of "service" */
	char			**listen;
	struct conf_pos		*listen_pos;
	size_t			 nlisten;
	char			*handler;
	struct conf_pos		 handler_pos;
	int			 dispatch;	/* enum harbor_dispatch */
	int			 framing;	/* enum harbor_framing */
	long long		 max_connections;
	long long		 backlog;
	long long		 max_per_source;
	long long		 source_prefix6;
	long long		 rate_milli;		/* per second */
	long long		 rate_burst;
	long long		 source_rate_milli;
	long long		 source_rate_burst;
	long long		 log_rate_milli;	/* 0: off */
	long long		 log_rate_burst;
	long long		 idle_timeout_ms;
	long long		 session_timeout_ms;
	long long		 max_line;
	char			*quote_file;
	struct conf_pos		 quote_file_pos;
	struct conf_rule	*rules;		/* allow/deny, in order */
	size_t			 nrules;
	int			 proxy_versions;
	struct conf_pos		 proxy_pos;
	struct conf_rule	*trusted;	/* trusted-proxies */
	size_t			 ntrusted;
	long long		 proxy_timeout_ms;
	/* exec and forward (handler "exec" or "forward", at handler_pos) */
	char			**exec_argv;	/* NULL-terminated */
	char			*forward_to;
	char			**env;		/* "NAME=VALUE" */
	struct conf_pos		*env_pos;
	size_t			 nenv;
	char			**passenv;
	size_t			 npassenv;
	long long		 max_children;
	long long		 stderr_rate;		/* bytes/s, 0: off */
	long long		 stderr_line_max;
	char			*user;		/* exec: run the child as */
	char			*group;
	struct conf_pos		 exec_opt_pos;	/* the first exec-only one */
	const char		*exec_opt;	/* its keyword */
	long long		 connect_timeout_ms;
	int			 send_proxy;	/* HARBOR_PROXY_V1/V2, -1 */
	struct conf_pos		 forward_opt_pos; /* the first forward-only */
	const char		*forward_opt;
	struct conf_option	*opts;		/* option NAME VALUE */
	size_t			 nopts;
	struct conf_service	*next;
};

enum conf_log {
	CONF_LOG_SYSLOG = 0,
	CONF_LOG_STDERR,
	CONF_LOG_FILE
};

struct config {
	int			 io_threads;	/* -1: one per CPU */
	int			 workers;	/* -1: one per CPU */
	unsigned		 queue_size;	/* 0: the library's default */
	unsigned		 max_connections; /* all services; 0: none */
	enum conf_log		 log;
	char			*log_facility;	/* syslog */
	char			*log_file;	/* file */
	char			*pidfile;
	char			*user;		/* drop to it after binding */
	char			*group;
	char			*chroot_dir;
	unsigned		 shutdown_ms;
	struct conf_service	 defaults;
	struct conf_service	*services;	/* in file order */
	size_t			 nservices;
	char			**files;	/* every file read */
	size_t			 nfiles;
	struct conf_module	*modules;	/* loaded by make_services */
	size_t			 nmodules;
};

/* NULL when there were errors, which are in errs. */
struct config	*config_load_file(const char *path, struct conf_errors *errs);
/* The same from text in memory; name is what errors call it. */
struct config	*config_load_string(const char *name, const char *text,
		    struct conf_errors *errs);
void		 config_free(struct config *conf);

/* Services ready for harbor_server_add_service() or
 * harbor_server_replace_services(), the modules loaded first (a module
 * loaded already, by an earlier reload, is not loaded again); NULL with
 * errs filled on failure (e.g. a quote-file that cannot be read, a
 * module that cannot be loaded). */
struct harbor_service **config_make_services(const struct config *conf,
		    size_t *n, struct conf_errors *errs);

void	conf_errors_clear(struct conf_errors *errs);
void	conf_error(struct conf_errors *errs, const struct conf_pos *pos,
	    const char *fmt, ...) HARBOR_PRINTFLIKE(3, 4);

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
