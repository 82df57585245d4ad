/*
 * main.c -- rolehook: keeps Zendesk agent access in step with HR.
 * Dispatches to the subcommands in cli.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "rolehook/cli.h"
#include "rolehook/verify.h"

/* secrets: the command reads webhook secrets or the Zendesk token. */
static const struct {
	const char *name;
	int (*fn)(int, char **);
	int secrets;
} commands[] = {
	{ "serve", cli_serve, 1 },
	{ "check", cli_check, 1 },
	{ "events", cli_events, 0 },
	{ "simulate", cli_simulate, 0 },
	{ "work", cli_work, 1 },
	{ "why", cli_why, 0 },
	{ "reconcile", cli_reconcile, 1 },
	{ "report", cli_report, 1 },
	{ "roles", cli_roles, 1 },
};

/*
 * No core file and no ptrace(2) by the same user for a process holding
 * secrets: a crash must not write the webhook secrets or the Zendesk
 * token to disk (systemd-coredump, apport, a core in the working
 * directory), and another process of the same uid must not read them
 * out of memory.  PR_SET_DUMPABLE 0 (prctl(2)) also makes /proc/<pid>
 * root-owned, so nothing here may read /proc/self; it lasts until
 * execve(2), which rolehook never calls.  RLIMIT_CORE 0 is the second
 * lock (the units also set LimitCORE=0); under a seccomp filter that
 * denies setrlimit (the units' ~@resources), a limit that is 0 already
 * is left alone.  Returns 0, or -1 with errno set.
 */
static int
harden(void)
{
	struct rlimit rl;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -1;
	if (getrlimit(RLIMIT_CORE, &rl) != 0)
		return -1;
	if (rl.rlim_cur == 0 && rl.rlim_max == 0)
		return 0;
	rl.rlim_cur = 0;
	rl.rlim_max = 0;
	return setrlimit(RLIMIT_CORE, &rl);
}

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
	} else if (commands[i].secrets && harden() != 0) {
		fprintf(stderr, "rolehook: cannot disable core dumps: %s\n",
		    strerror(errno));
		rc = 1;
	} else
		rc = commands[i].fn(argc - 1, argv + 1);
	verify_cleanup();
	curl_global_cleanup();
	return rc;
}
