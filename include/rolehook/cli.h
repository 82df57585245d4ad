/*
 * cli.h -- the rolehook commands' entry points (main.c's commands[]),
 * and the parts of a command that another command's file implements.
 * Each takes the arguments after the command word (argv[0] is the
 * command) and returns the process exit status: 0 success, 1 failure,
 * EXIT_USAGE (2) usage or configuration error.  What the commands share
 * (option parsing, loading the configuration, input files) is cliutil.h.
 */
#ifndef ROLEHOOK_CLI_H
#define ROLEHOOK_CLI_H

#define EXIT_USAGE 2

struct config;
struct store;

int cli_serve(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_events(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_work(int argc, char **argv);

int cli_why(int argc, char **argv);
int cli_reconcile(int argc, char **argv); /* cli_work.c */
int cli_report(int argc, char **argv);   /* cli_report.c: report seats */
int cli_roles(int argc, char **argv);    /* cli_roles.c: roles sync */

/* `rolehook --help`, `rolehook help`: the top-level help on stdout. */
void cli_usage(void);

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
 * bodies; each may be NULL).  Prints errors and warnings to stderr.
 * Returns 0 with summary (len bytes) holding the line to print once every
 * other check passed too (empty without a policy), or EXIT_USAGE.
 */
int cli_check_policy(const struct config *cfg, const char *roles_path,
    const char *groups_path, char *summary, size_t len);

#endif
