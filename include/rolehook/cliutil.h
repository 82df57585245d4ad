/*
 * cliutil.h -- what the commands (cli.h) share: usage errors, option
 * parsing from a table, loading the configuration, reading JSON input
 * files.  Messages go to stderr as "rolehook: ..." lines.
 */
#ifndef ROLEHOOK_CLIUTIL_H
#define ROLEHOOK_CLIUTIL_H

#include <stddef.h>
#include <stdio.h>

#include "rolehook/cli.h"
#include "rolehook/config.h"

struct json_object;

/*
 * Prints "rolehook CMD: MSG" and the --help hint to stderr.  Returns
 * EXIT_USAGE.
 */
int cliutil_usage_error(const char *cmd, const char *msg);

/* What an option does with its value (struct cliutil_opt). */
enum cliutil_type {
	CLIUTIL_FLAG,       /* no value: *(int *)dst = 1 */
	CLIUTIL_STR,        /* *(const char **)dst = the value (borrowed) */
	CLIUTIL_SET,        /* no value: *(const char **)dst = set */
	CLIUTIL_INT,        /* *(int *)dst = a whole number in [min, max] */
	CLIUTIL_WORD,       /* *(int *)dst = the value's index in words */
	CLIUTIL_LOG_LEVEL   /* debug, info, warn or error: sets the level */
};

/*
 * One option of a command, as data: --name (and -letter when letter is
 * not 0).  A bad value is the usage error "--name: expect".
 */
struct cliutil_opt {
	const char *name;
	int letter;
	enum cliutil_type type;
	void *dst;
	long min, max;               /* CLIUTIL_INT */
	const char *const *words;    /* CLIUTIL_WORD: NULL-terminated */
	const char *set;             /* CLIUTIL_SET */
	const char *expect;          /* CLIUTIL_INT, CLIUTIL_WORD */
};

/* One table row per option, one line each where it fits. */
#define CLIUTIL_OPT_FLAG(n, l, d) \
	{ .name = (n), .letter = (l), .type = CLIUTIL_FLAG, .dst = (d) }
#define CLIUTIL_OPT_STR(n, l, d) \
	{ .name = (n), .letter = (l), .type = CLIUTIL_STR, .dst = (d) }
#define CLIUTIL_OPT_SET(n, l, d, v) \
	{ .name = (n), .letter = (l), .type = CLIUTIL_SET, .dst = (d), \
	  .set = (v) }
#define CLIUTIL_OPT_INT(n, l, d, lo, hi, e) \
	{ .name = (n), .letter = (l), .type = CLIUTIL_INT, .dst = (d), \
	  .min = (lo), .max = (hi), .expect = (e) }
#define CLIUTIL_OPT_WORD(n, l, d, w, e) \
	{ .name = (n), .letter = (l), .type = CLIUTIL_WORD, .dst = (d), \
	  .words = (w), .expect = (e) }
#define CLIUTIL_OPT_LOG_LEVEL(n, l) \
	{ .name = (n), .letter = (l), .type = CLIUTIL_LOG_LEVEL }

/* The number of entries of an array of struct cliutil_opt. */
#define CLIUTIL_NOPTS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Parses argv's options (getopt_long, from argv[1]) per opts[0..nopts)
 * and the two every command takes: --config FILE (-c) sets *config_path
 * (borrowed from argv) and --help (-h) calls help.  Returns -1 when the
 * command goes on, with optind at its first operand; or the exit status
 * it returns at once: 0 after help, EXIT_USAGE after a usage error
 * (printed).  At most 24 options.
 */
int cliutil_parse(const char *cmd, int argc, char **argv,
    const struct cliutil_opt *opts, size_t nopts, const char **config_path,
    void (*help)(void));

/*
 * config_load, printing "rolehook: <error>" to stderr on failure (one
 * line per problem).  Returns 0 and *cfg (caller frees with
 * config_free), or EXIT_USAGE.
 */
int cliutil_load_config(const char *path, enum config_secrets secrets,
    struct config **cfg);

/*
 * Sets the log level from a --log-level value: 0, or -1 if s is not
 * debug, info, warn or error.
 */
int cliutil_set_log_level(const char *s);

/*
 * Reads path, a regular file of at most max bytes, into a new
 * NUL-terminated buffer.  Returns 0 with *out (caller frees) and *len,
 * or -1 with err naming the file.
 */
int cliutil_read_file(const char *path, size_t max, char **out, size_t *len,
    char *err, size_t errlen);

/*
 * Reads path (a regular file of at most max bytes) as one JSON value of
 * at most depth levels, nothing after it.  Returns 0 and *out (caller
 * puts), or -1 with err naming the file and, for bad JSON, the line.
 * For every JSON input file the commands take.
 */
int cliutil_read_json(const char *path, size_t max, int depth,
    struct json_object **out, char *err, size_t errlen);

/*
 * Writes s (may be NULL: nothing) to f with every control byte (below
 * 0x20, and 0x7f) as '?', then spaces up to width bytes (as "%-*s"; 0:
 * none).  For text the store or Zendesk gave, which is not trusted to be
 * free of terminal escape sequences, in table output; JSON output needs
 * none (json-c escapes them).
 */
void cliutil_print_clean(FILE *f, const char *s, size_t width);

#endif
