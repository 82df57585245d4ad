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
#include "rolehook/log.h"

#define OPTS_MAX 24

int
cliutil_usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "rolehook %s: %s\nrun 'rolehook %s --help' for usage\n",
	    cmd, msg, cmd);
	return EXIT_USAGE;
}

int
cliutil_common_opt(int c, const char *cmd, const char **path,
    void (*help)(void))
{
	switch (c) {
	case 'c':
		*path = optarg;
		return -1;
	case 'h':
		help();
		return 0;
	default:
		return cliutil_usage_error(cmd, "unknown option");
	}
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
	struct json_tokener *tok = NULL;
	struct json_object *v = NULL;
	char *buf = NULL;
	size_t len = 0, off, line = 1, i;
	int rc = -1;

	*out = NULL;
	if (cliutil_read_file(path, max, &buf, &len, err, errlen) != 0)
		goto out;
	if ((tok = json_tokener_new_ex(depth)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	v = json_tokener_parse_ex(tok, buf, (int)len);
	off = json_tokener_get_parse_end(tok);
	if (v == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		for (i = 0; i < off && i < len; i++)
			line += buf[i] == '\n';
		snprintf(err, errlen, "%s: invalid JSON at line %zu: %s", path,
		    line, json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	for (; off < len; off++)
		if (!isspace((unsigned char)buf[off])) {
			snprintf(err, errlen, "%s: text after the JSON value",
			    path);
			goto out;
		}
	*out = v;
	v = NULL;
	rc = 0;
out:
	json_object_put(v);
	if (tok != NULL)
		json_tokener_free(tok);
	free(buf);
	return rc;
}

