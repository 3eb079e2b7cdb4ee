/*
 * What the configuration parser's files share: the lexer's tokens and
 * statements (conf-lex.c), the keyword table and the readers of its
 * value types (conf-table.c), the parser (conf-parse.c) and the making of
 * services (conf-services.c).
 */
#ifndef HARBORD_CONF_TABLE_H
#define HARBORD_CONF_TABLE_H

#include "config.h"

#define CONF_STATEMENT_MAX	256	/* words in one statement */

/* --- tokens and statements (conf-lex.c) ---------------------------------- */

enum tok_type {
	TOK_WORD,
	TOK_STRING,
	TOK_OPEN,		/* { */
	TOK_CLOSE,		/* } */
	TOK_END,		/* newline or ; */
	TOK_EOF
};

struct token {
	enum tok_type	 type;
	char		*text;		/* words and strings */
	struct conf_pos	 pos;
};

struct lexer {
	const char		*p, *end;
	struct conf_pos		 pos;
	struct conf_errors	*errs;
};

/* A keyword and its words, up to what ended it. */
struct statement {
	struct token	tok[CONF_STATEMENT_MAX];
	size_t		n;
	struct token	end;
	int		bad;		/* an error already reported */
};

void	lexer_init(struct lexer *lx, const char *file, const char *text,
	    size_t len, struct conf_errors *errs);
void	statement_read(struct lexer *lx, struct statement *st);
void	statement_clear(struct statement *st);
/* After an error at a "{": skips to its "}". */
void	skip_block(struct lexer *lx);
/* The statement's word i, taken from it (the statement frees it no more). */
char	*statement_take(struct statement *st, size_t i);

/* The parser's allocations: a failure is an error at pos ("out of
 * memory"), never a statement dropped without a word. */
void	*conf_malloc(struct conf_errors *errs, const struct conf_pos *pos,
	    size_t n);
void	*conf_realloc(struct conf_errors *errs, const struct conf_pos *pos,
	    void *p, size_t n);
char	*conf_strdup(struct conf_errors *errs, const struct conf_pos *pos,
	    const char *s);
/* A load begins: conf_alloc_fail_at counts from here. */
void	conf_alloc_start(void);

/* --- the keyword table (conf-table.c) ------------------------------------- */

struct parser {
	struct config		*conf;
	struct conf_errors	*errs;
	int			 depth;		/* include nesting */
	struct conf_snapshot	*record;	/* keeps what is read */
	const struct conf_snapshot *replay;	/* reads from it instead */
	int			 record_failed;
	/* Where each global keyword first stood, in any file. */
	struct conf_pos		 global_first[CONF_KEYWORDS_MAX];
};

enum conf_type {
	CONF_NUMBER,		/* an integer, min..max */
	CONF_DURATION,		/* "30s", "5m": milliseconds, min..max */
	CONF_SIZE,		/* "64k": bytes, min..max */
	CONF_RATE,		/* per second, to 1/1000 [burst] */
	CONF_CHOICE,		/* one of choices */
	CONF_NETWORKS,		/* networks, appended to a struct conf_rules */
	CONF_PATH,		/* a path, relative to its file's directory */
	CONF_WORD,		/* a word, as it is */
	CONF_SPECIAL		/* read by its own function */
};

/* flags, beyond the scopes of config.h */
#define CONF_OFF		0x010	/* a rate: "off" is 0 */
#define CONF_ABSOLUTE		0x020	/* a path: absolute only */
#define CONF_DENY		0x040	/* networks: deny rules */
#define CONF_POSIX		0x080	/* not on Windows */
#define CONF_APPLY_ALWAYS	0x100	/* applied to every service (of its
					   handler), set or not */
#define CONF_MERGED		0x200	/* the defaults' values and the
					   service's both apply */
#define CONF_DEFAULTED		0x400	/* a global: dflt is its value
					   unless set */
#define CONF_REPEATS		0x800	/* may stand more than once in its
					   block; the others, once */
#define CONF_RESTART		0x1000	/* a reload cannot apply it (a
					   service's: to the sockets kept) */

struct conf_choice {
	const char	*name;
	long long	 value;
};

struct conf_apply;

/* Reads a CONF_SPECIAL keyword's statement into block (a struct config
 * or a struct conf_service).  0, or -1 after an error. */
typedef int conf_parse_fn(struct parser *ps, const struct conf_keyword *kw,
    struct statement *st, void *block);
/* Gives a service keyword's value, from the block that has it (the
 * service's or the defaults'; NULL for CONF_APPLY_ALWAYS when neither
 * has), to the library's service.  0, or -1 after an error. */
typedef int conf_apply_fn(struct conf_apply *a, const struct conf_keyword *kw,
    const struct conf_service *from);

/* The library's setter a number or a rate goes to. */
enum conf_setter {
	SET_NONE,
	SET_UINT,		/* void f(svc, unsigned) */
	SET_UINT_CHECKED,	/* int f(svc, unsigned), -1: cannot apply */
	SET_SIZE_CHECKED,	/* int f(svc, size_t), -1: cannot apply */
	SET_RATE		/* void f(svc, milli_per_sec, burst) */
};

union conf_set {
	void	(*uint_fn)(struct harbor_service *, unsigned);
	int	(*uint_checked)(struct harbor_service *, unsigned);
	int	(*size_checked)(struct harbor_service *, size_t);
	void	(*rate_fn)(struct harbor_service *, unsigned, unsigned);
};

struct conf_keyword {
	const char		 *name;
	unsigned		  flags;	/* scope and the above */
	enum conf_type		  type;
	long long		  min, max;	/* numbers, durations, sizes */
	const struct conf_choice *choices;	/* ending with a NULL name */
	const char		 *unit;		/* what a rate counts */
	size_t			  offset;	/* of its value in its block */
	long long		  dflt;		/* a number unless set: a
						   global's, or a service's
						   that needs a restart */
	const char		 *handler;	/* the one handler it is for */
	conf_parse_fn		 *parse;	/* CONF_SPECIAL */
	conf_apply_fn		 *apply;	/* a service keyword */
	enum conf_setter	  setter;	/* for conf_apply_number, */
	union conf_set		  set;		/* conf_apply_rate */
};

/* What a service keyword's apply works with. */
struct conf_apply {
	const struct config		*conf;
	const struct conf_service	*s;	/* the service block */
	const struct conf_service	*d;	/* the defaults block */
	const char			*handler; /* the service's */
	struct harbor_service		*svc;
	struct conf_errors		*errs;
};

extern const struct conf_keyword	conf_keywords[];

/* conf-accounts.c: an account entry of a snapshot ("UID GID" or "GID"),
 * into conf.  -1 if malformed or out of memory. */
int	conf_accounts_from_snapshot(struct config *conf, char kind,
	    const char *name, const char *data);
/* conf-snapshot.c: every account entry of snap into conf. */
int	conf_snapshot_take_accounts(const struct conf_snapshot *snap,
	    struct config *conf);

const struct conf_keyword *conf_keyword_named(const char *name,
	    unsigned scope);
/* Reads the statement st of keyword kw into block: checks its words
 * against the keyword's type, stores the value, and records where. */
void	conf_keyword_read(struct parser *ps, const struct conf_keyword *kw,
	    struct statement *st, void *block, struct conf_set_at *set);
/* Whether statement st repeats its keyword kw in a block where it
 * may stand once (said as an error, naming both places); first holds
 * where each keyword of the table first stood in the block. */
int	conf_keyword_again(struct parser *ps, const struct conf_keyword *kw,
	    const struct statement *st, struct conf_pos *first);
/* "unknown keyword", with the nearest known one of the scope. */
void	conf_unknown_keyword(struct parser *ps, const struct token *t,
	    unsigned scope, const char *where);
/* Arguments: at least min, at most max after the keyword; -1 after an
 * error. */
int	conf_want_args(struct parser *ps, const struct statement *st,
	    size_t min, size_t max);
/* A path as the file that holds it means it. */
char	*conf_resolve_path(struct parser *ps, const struct token *t);
/* The last directory separator of a path ("/"; "\" too on Windows). */
const char *conf_path_last_separator(const char *p);
/* Appends a word (taken) and its position to a list. */
int	conf_words_add(struct parser *ps, struct conf_words *w,
	    struct statement *st, size_t i);
void	conf_words_free(struct conf_words *w);

/* The block of a service keyword's value for service s: s if it sets it,
 * else the defaults if they set it and it is for s's handler; NULL. */
const struct conf_service *conf_source(const struct conf_keyword *kw,
	    const struct conf_service *s, const struct conf_service *d,
	    const char *handler);
/* A value in a block, by the keyword's offset. */
#define CONF_FIELD(block, kw, type) \
	((type *)(void *)((char *)(block) + (kw)->offset))
#define CONF_VALUE(block, kw, type) \
	(*(const type *)(const void *)((const char *)(block) + (kw)->offset))

/* --- the parser's specials (conf-parse.c) --------------------------------- */

conf_parse_fn	conf_parse_log, conf_parse_include, conf_parse_module,
		conf_parse_listen, conf_parse_handler, conf_parse_exec,
		conf_parse_forward, conf_parse_option, conf_parse_env,
		conf_parse_passenv, conf_parse_control_socket;

/* --- checks over the whole file (conf-check.c) ---------------------------- */

/* Handler names that are neither built in nor, with no module to load,
 * anyone's: checked whatever else is wrong. */
void	conf_check_handlers(const struct config *conf,
	    struct conf_errors *errs);
/* The rest, once the file has no other error. */
void	conf_check(struct config *conf, struct conf_errors *errs);
void	conf_unknown_handler(struct conf_errors *errs,
	    const struct conf_pos *pos, const char *name);

/* --- applying to services (conf-services.c) ------------------------------- */

conf_apply_fn	conf_apply_number, conf_apply_rate, conf_apply_dispatch,
		conf_apply_framing, conf_apply_rules, conf_apply_proxy,
		conf_apply_quote_file, conf_apply_exec_env,
		conf_apply_credentials, conf_apply_stderr,
		conf_apply_send_proxy, conf_apply_log_level,
		conf_apply_log_connections, conf_apply_reuse_port;

#endif
