/*
 * main.c -- rolehook: keeps Zendesk agent access in step with HR.
 * Dispatches to the subcommands in cli.c.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "rolehook/cli.h"
#include "rolehook/verify.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "serve", cli_serve },
	{ "check", cli_check },
	{ "events", cli_events },
	{ "simulate", cli_simulate },
	{ "work", cli_work },
	{ "why", cli_why },
	{ "reconcile", cli_reconcile },
	{ "report", cli_report },
	{ "roles", cli_roles },
};

int
main(int argc, char **argv)
{
	size_t i;
	int rc = EXIT_USAGE;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		cli_usage();
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("rolehook %s\n", ROLEHOOK_VERSION);
		return 0;
	}
	/* libcurl and OpenSSL set up once, before any thread starts. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    verify_init() != 0) {
		fprintf(stderr, "rolehook: cannot initialise libcurl/OpenSSL\n");
		return 1;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "rolehook: unknown command '%s'; "
		    "run 'rolehook --help' for the list\n", argv[1]);
		rc = EXIT_USAGE;
	} else
		rc = commands[i].fn(argc - 1, argv + 1);
	verify_cleanup();
	curl_global_cleanup();
	return rc;
}
