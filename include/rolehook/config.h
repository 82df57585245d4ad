/*
 * config.h -- load and validate rolehook.json (json-c, comments allowed).
 *
 * Errors are reported as "FILE: JSON.PATH: what was expected" in a
 * caller buffer, so `rolehook check` can print them as they are.  PATH
 * looks like "sources.hr.secrets[0]"; "$" is the whole document (size,
 * syntax with line and column, trailing text).  Unknown keys in store,
 * server and sources, and duplicate keys anywhere, are errors.  Secret
 * values never appear in a message.  The contract is in
 * deploy/rolehook.example.json.
 */
#ifndef ROLEHOOK_CONFIG_H
#define ROLEHOOK_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "rolehook/store.h"
#include "rolehook/verify.h"

struct json_object;

#define CONFIG_ERRLEN 2048
#define CONFIG_DEFAULT_PATH "/etc/rolehook/rolehook.json"

struct config_source {
	char *name;                    /* URL path /hooks/<name> */
	struct verify_scheme scheme;   /* preset values, then overrides */
	struct verify_secret secrets[VERIFY_MAX_SECRETS];
	size_t nsecrets;
	char *normalizer;              /* NULL: same as preset name */
	char *id_pointer;              /* JSON pointer to the body's event id, or NULL */
	int require_json;              /* 1: Content-Type must be JSON, body must parse */
	struct json_object *raw;       /* the source's JSON object (mapping etc.), borrowed from config root */
	/* strings the scheme points into (custom schemes: at most 6;
	 * token header override: 1) */
	char *owned[8];
	size_t nowned;
};

struct config {
	char *path;                    /* file it came from */
	struct {
		enum store_engine engine;  /* "engine": sqlite (default), postgresql */
		char *path;                /* SQLite database (engine sqlite) */
		char *dsn;                 /* libpq connection string (postgresql) */
		char *password_ref;        /* "file:..." / "env:...", or NULL */
		char *password;            /* resolved (CONFIG_SECRETS_RESOLVE), or
		                            * NULL; wiped by config_free */
		int lease_s;               /* a worker's claim (postgresql) */
		int retention_days;        /* processed events kept this long */
		int batch_rows;            /* group commit: max rows per commit */
		int batch_us;              /* group commit: max wait for more rows */
		int queue_max;             /* pending writes before 503 */
		int checkpoint_pages;      /* WAL pages that trigger a checkpoint */
	} store;
	struct {
		char *listen;              /* "unix:/path" or "127.0.0.1:9000" */
		mode_t socket_mode;        /* unix socket permissions */
		char *socket_group;        /* unix socket group, or NULL */
		int threads;               /* FastCGI worker threads */
		size_t max_body;           /* bytes; larger bodies get 413 */
		int backlog;               /* listen(2) backlog */
		int retry_after_s;         /* Retry-After on 503 */
	} server;
	struct config_source *sources;
	size_t nsources;
	struct json_object *root;      /* whole document; zendesk, policy, custom_roles live here */
};

/* What config_parse should do with secret references. */
enum config_secrets {
	CONFIG_SECRETS_RESOLVE = 0, /* read file:/env: now; failure is an error;
	                             * env: variables leave the environment */
	CONFIG_SECRETS_SKIP         /* check syntax only (fuzzing, simulate):
	                             * every source gets nsecrets 0 */
};

/*
 * Parses a config document held in memory.  fname is used in messages.
 * On success returns 0 and *out (caller frees with config_free); on
 * failure returns -1 with err filled and *out NULL.
 */
int config_parse(const char *text, size_t len, const char *fname,
    enum config_secrets secrets, struct config **out, char *err,
    size_t errlen);

/* Reads path and calls config_parse.  Same contract. */
int config_load(const char *path, enum config_secrets secrets,
    struct config **out, char *err, size_t errlen);

/*
 * Resolves one secret reference ("file:/abs/path" or "env:NAME") the way
 * the loader resolves webhook secrets: a regular file without any group
 * or other read or write bit (the error says "chmod 600 FILE"), a size
 * cap, one trailing newline dropped; a set, non-empty variable, which is
 * then removed from the environment and kept in a process-local table,
 * so a later load in the same process finds it (config.c explains).
 * Call it, like config_parse with CONFIG_SECRETS_RESOLVE, before
 * starting threads (unsetenv).  Inline secrets are refused.  On success
 * returns 0 and *out, a malloc'd copy the caller wipes and frees with
 * OPENSSL_clear_free; on failure -1 with err "FILE: where: message"
 * (never the secret).  For the Zendesk credential and the like.
 */
int config_resolve_secret(const struct config *cfg, const char *where,
    const char *ref, char **out, char *err, size_t errlen);

/*
 * Opens cfg's store with so (its engine fields are filled here): the
 * SQLite file store.path, or PostgreSQL at store.dsn with the password
 * store.password, resolved now if the config was loaded without secrets
 * (call it before starting threads, as config_resolve_secret).  The
 * password copy is wiped before returning.  Returns 0 and *out (free
 * with store_close), or -1 with err naming the config field (never the
 * password).
 */
int config_store_open(const struct config *cfg, struct store_opts *so,
    struct store **out, char *err, size_t errlen);

/* Frees cfg and wipes its secrets.  NULL is a no-op. */
void config_free(struct config *cfg);

/*
 * Finds a source by name (name[0..len), not NUL-terminated).  Returns a
 * borrowed pointer, or NULL.
 */
const struct config_source *config_source_find(const struct config *cfg,
    const char *name, size_t len);

#endif
