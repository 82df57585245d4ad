/*
 * cli.h -- the rolehook subcommands.  Each takes the arguments after the
 * command word (argv[0] is the command) and returns the process exit
 * status: 0 success, 1 failure, 2 usage or configuration error.
 */
#ifndef ROLEHOOK_CLI_H
#define ROLEHOOK_CLI_H

#define EXIT_USAGE 2

int cli_serve(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_events(int argc, char **argv);

/* Prints the top-level help to stdout. */
void cli_usage(void);

#endif
