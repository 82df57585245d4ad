/*
 * cliutil.c -- what the commands share (cliutil.h): usage errors, the
 * option table parser, configuration loading, JSON input files.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rolehook/cliutil.h"
#include "rolehook/config.h"
#include "rolehook/jsonutil.h"
#include "rolehook/log.h"

#define OPTS_MAX 24

int
cliutil_usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "rolehook %s: %s\nrun 'rolehook %s --help' for usage\n",
	    cmd, msg, cmd);
	return EXIT_USAGE;
}

/* Applies one option's value; 0, or -1 when the value is not one. */
static int
apply_opt(const struct cliutil_opt *o, const char *val)
{
	char *end;
	long v;
	int i;

	switch (o->type) {
	case CLIUTIL_FLAG:
		*(int *)o->dst = 1;
		return 0;
	case CLIUTIL_STR:
		*(const char **)o->dst = val;
		return 0;
	case CLIUTIL_SET:
		*(const char **)o->dst = o->set;
		return 0;
	case CLIUTIL_INT:
		errno = 0;
		v = strtol(val, &end, 10);
		if (errno != 0 || end == val || *end != '\0' || v < o->min ||
		    v > o->max)
			return -1;
		*(int *)o->dst = (int)v;
		return 0;
	case CLIUTIL_WORD:
		for (i = 0; o->words[i] != NULL; i++)
			if (strcmp(val, o->words[i]) == 0) {
				*(int *)o->dst = i;
				return 0;
			}
		return -1;
	case CLIUTIL_LOG_LEVEL:
		return cliutil_set_log_level(val);
	}
	return -1;
}

/*
 * The usage message for what getopt_long refused: an unknown option
 * (named as given, "--bogus" or "-x") or one given without its value.
 */
static void
bad_option(int missing, int argc, char **argv,
    const struct cliutil_opt *opts, size_t nopts, char *msg, size_t len)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	const char *name = NULL;
	size_t i;

	if (missing) {
		for (i = 0; i < nopts && name == NULL; i++)
			if (optopt == (opts[i].letter != 0 ? opts[i].letter :
			    256 + (int)i))
				name = opts[i].name;
		if (name == NULL && optopt == 'c')
			name = "config";
		if (name != NULL)
			snprintf(msg, len, "--%s: expected a value", name);
		else
			snprintf(msg, len, "%.64s: expected a value", arg);
		return;
	}
	/* A short option in a cluster ("-qx"): optopt is the letter. */
	if (optopt > 0 && optopt < 256 && (arg[0] != '-' || arg[1] != '-'))
		snprintf(msg, len, "unknown option '-%c'", optopt);
	else
		snprintf(msg, len, "unknown option '%.64s'", arg);
}

int
cliutil_parse(const char *cmd, int argc, char **argv,
    const struct cliutil_opt *opts, size_t nopts, const char **config_path,
    void (*help)(void))
{
	struct option lo[OPTS_MAX + 3];
	char shorts[3 * OPTS_MAX + 9], msg[256];
	size_t i, n = 0, k = 1;
	int c, takes;

	if (nopts > OPTS_MAX)
		return cliutil_usage_error(cmd, "too many options (a bug)");
	memset(lo, 0, sizeof(lo));
	shorts[0] = ':';
	for (i = 0; i < nopts; i++) {
		takes = opts[i].type != CLIUTIL_FLAG &&
		    opts[i].type != CLIUTIL_SET;
		lo[n].name = opts[i].name;
		lo[n].has_arg = takes ? required_argument : no_argument;
		/* getopt_long returns 256 + i for options without a letter */
		lo[n++].val = opts[i].letter != 0 ? opts[i].letter :
		    256 + (int)i;
		if (opts[i].letter != 0) {
			shorts[k++] = (char)opts[i].letter;
			if (takes)
				shorts[k++] = ':';
		}
	}
	lo[n].name = "config";
	lo[n].has_arg = required_argument;
	lo[n++].val = 'c';
	lo[n].name = "help";
	lo[n].has_arg = no_argument;
	lo[n++].val = 'h';
	memcpy(shorts + k, "c:h", 4);
	optind = 1;
	/*
	 * getopt's own messages off (and a leading ':' so that a missing
	 * value is told from an unknown option): one line each, ours.
	 */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == '?' || c == ':') {
			bad_option(c == ':', argc, argv, opts, nopts, msg,
			    sizeof(msg));
			return cliutil_usage_error(cmd, msg);
		}
		if (c == 'c') {
			*config_path = optarg;
			continue;
		}
		if (c == 'h') {
			help();
			return 0;
		}
		for (i = 0; i < nopts; i++)
			if (c == (opts[i].letter != 0 ? opts[i].letter :
			    256 + (int)i))
				break;
		if (i == nopts)
			return cliutil_usage_error(cmd, "unknown option");
		if (apply_opt(&opts[i], optarg) != 0) {
			snprintf(msg, sizeof(msg), "--%s: %s", opts[i].name,
			    opts[i].type == CLIUTIL_LOG_LEVEL ? "expected "
			    "debug, info, warn or error" : opts[i].expect != NULL ?
			    opts[i].expect : "bad value");
			return cliutil_usage_error(cmd, msg);
		}
	}
	return -1;
}

int
cliutil_load_config(const char *path, enum config_secrets secrets,
    struct config **cfg)
{
	char err[CONFIG_ERRLEN];
	const char *p, *nl;

	if (config_load(path, secrets, cfg, err, sizeof(err)) != 0) {
		/* one "rolehook: " line per problem (custom_roles lists all) */
		for (p = err; p != NULL; p = nl != NULL ? nl + 1 : NULL) {
			nl = strchr(p, '\n');
			fprintf(stderr, "rolehook: %.*s\n", nl != NULL ?
			    (int)(nl - p) : (int)strlen(p), p);
		}
		return EXIT_USAGE;
	}
	return 0;
}

int
cliutil_set_log_level(const char *s)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			log_set_level((enum log_level)i);
			return 0;
		}
	return -1;
}


/* Reads at most max bytes of path into a NUL-terminated buffer. */
int
cliutil_read_file(const char *path, size_t max, char **out, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd = -1, rc = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: not a regular file of at most %zu "
		    "bytes", path, max);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (n < (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: short read", path);
			goto out;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd != -1)
		close(fd);
	return rc;
}

int
cliutil_read_json(const char *path, size_t max, int depth,
    struct json_object **out, char *err, size_t errlen)
{
	const char *why;
	char *buf = NULL;
	size_t len = 0, end, line = 1, i;
	int rc = -1;

	*out = NULL;
	if (cliutil_read_file(path, max, &buf, &len, err, errlen) != 0)
		goto out;
	switch (json_parse_one(buf, len, depth, 0, out, &why, &end)) {
	case JSON_ONE_OK:
		rc = 0;
		break;
	case JSON_ONE_SYNTAX:
		for (i = 0; i < end && i < len; i++)
			line += buf[i] == '\n';
		snprintf(err, errlen, "%s: invalid JSON at line %zu: %s", path,
		    line, why);
		break;
	default:
		snprintf(err, errlen, "%s: %s", path, why);
		break;
	}
out:
	free(buf);
	return rc;
}

void
cliutil_print_clean(FILE *f, const char *s, size_t width)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0'; s++, n++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
	for (; n < width; n++)
		fputc(' ', f);
}
