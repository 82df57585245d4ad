/*
 * cli.h -- the rolehook subcommands.  Each takes the arguments after the
 * command word (argv[0] is the command) and returns the process exit
 * status: 0 success, 1 failure, 2 usage or configuration error.
 */
#ifndef ROLEHOOK_CLI_H
#define ROLEHOOK_CLI_H

#include "rolehook/config.h"

#define EXIT_USAGE 2

struct config;

int cli_serve(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_events(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_work(int argc, char **argv);

int cli_why(int argc, char **argv);
int cli_reconcile(int argc, char **argv); /* cli_work.c */
int cli_report(int argc, char **argv);   /* cli_report.c: report seats */
int cli_roles(int argc, char **argv);    /* cli_roles.c: roles sync */

struct store;
struct json_object;

/*
 * Reads path (a regular file of at most max bytes) as one JSON value of
 * at most depth levels, nothing after it (cli_simulate.c).  Returns 0
 * and *out (caller puts), or -1 with err naming the file and, for bad
 * JSON, the line.  For every JSON input file the commands take.
 */
int cli_read_json(const char *path, size_t max, int depth,
    struct json_object **out, char *err, size_t errlen);
/*
 * `events replay --since T --policy FILE` (cli_replay.c): prints, one
 * JSON line each, the people whose decision would change under FILE's
 * policy.  Reads only.  Returns an exit status.
 */
int cli_replay_preview(const struct config *cfg, struct store *st,
    long long since, const char *policy_path);

/*
 * The policy part of `rolehook check` (cli_simulate.c): compiles cfg's
 * policy when there is one and checks it against the custom roles and
 * groups files (GET /api/v2/custom_roles.json and /api/v2/groups.json
 * bodies; each may be NULL).  Prints errors and warnings to stderr and,
 * unless quiet, a summary to stdout.  Returns 0, or EXIT_USAGE.
 */
int cli_check_policy(const struct config *cfg, const char *roles_path,
    const char *groups_path, int quiet);

/*
 * Shared by the commands (cli.c).  cli_usage_error prints "rolehook CMD:
 * MSG" and the --help hint to stderr and returns EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *msg);

/*
 * The options every command takes, for the default: branch of its
 * getopt_long switch: 'c' (--config) sets *path to optarg (borrowed) and
 * returns -1, parse on; 'h' (--help) calls help and returns 0; anything
 * else is an unknown option: cli_usage_error, EXIT_USAGE.  A return >= 0
 * is the exit status the command returns at once.
 */
int cli_common_opt(int c, const char *cmd, const char **path,
    void (*help)(void));

/*
 * config_load, printing "rolehook: <error>" to stderr on failure.
 * Returns 0 and *cfg (caller frees with config_free), or EXIT_USAGE.
 */
int cli_load_config(const char *path, enum config_secrets secrets,
    struct config **cfg);

/*
 * Sets the log level from a --log-level value: 0, or -1 if s is not
 * debug, info, warn or error.
 */
int cli_set_log_level(const char *s);

/* Prints the top-level help to stdout. */
void cli_usage(void);

#endif
