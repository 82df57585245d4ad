/*
 * test_secretfile.c -- secretfile_read (secretfile.h): the line ending
 * dropped, the size bound on the secret (not on its line ending), the
 * mode rule with and without SECRETFILE_OWN, what is not a regular file,
 * links, the owner; no message holds the secret.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rolehook/secretfile.h"

#define MAX	16

static char dir[64];

static void
path_in(char *dst, size_t cap, const char *name)
{
	snprintf(dst, cap, "%s/%s", dir, name);
}

/* Writes n bytes of s to path with mode. */
static void
put(const char *path, const char *s, size_t n, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/*
 * Reads path and checks the outcome: want (wantlen bytes) is the secret,
 * or NULL for a refusal whose message is "secret file PATH" followed by
 * tail, or "cannot open secret file PATH" when tail starts with ':'.
 */
static void
check_n(const char *path, int flags, const char *want, size_t wantlen,
    const char *tail)
{
	char err[512], msg[512], *out = (char *)1;
	size_t n = 99;
	int rc;

	err[0] = '\0';
	rc = secretfile_read(path, "secret file", MAX, flags, &out, &n, err,
	    sizeof(err));
	if (want != NULL) {
		if (rc != 0)
			fail_msg("%s: %s", path, err);
		assert_int_equal(n, wantlen);
		assert_memory_equal(out, want, wantlen);
		assert_int_equal(out[n], '\0');
		free(out);
		return;
	}
	assert_int_equal(rc, -1);
	assert_null(out);
	assert_int_equal(n, 0);
	snprintf(msg, sizeof(msg), "%ssecret file %s%s",
	    tail[0] == ':' ? "cannot open " : "", path, tail);
	assert_string_equal(err, msg);
	assert_null(strstr(err, "zq-"));
}

static void
check(const char *path, int flags, const char *want, const char *tail)
{
	check_n(path, flags, want, want != NULL ? strlen(want) : 0, tail);
}

static void
test_content(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		const char *want;       /* NULL: refused with tail */
		size_t wantlen;
		const char *tail;
	} t[] = {
		{ "zq-secret", 9, "zq-secret", 9, NULL },
		{ "zq-secret\n", 10, "zq-secret", 9, NULL },
		{ "zq-secret\r\n", 11, "zq-secret", 9, NULL },
		{ "zq-secret\r", 10, "zq-secret", 9, NULL },
		/* One line ending only; the rest is the secret's. */
		{ "zq-secret\n\n", 11, "zq-secret\n", 10, NULL },
		{ " zq-secret \n", 12, " zq-secret ", 11, NULL },
		/* MAX bytes of secret, with or without the line ending. */
		{ "zq-456789abcdef0", 16, "zq-456789abcdef0", 16, NULL },
		{ "zq-456789abcdef0\n", 17, "zq-456789abcdef0", 16, NULL },
		{ "zq-456789abcdef0\r\n", 18, "zq-456789abcdef0", 16, NULL },
		{ "zq-456789abcdef01", 17, NULL, 0,
		    " is larger than 16 bytes" },
		{ "zq-456789abcdef01\n", 18, NULL, 0,
		    " is larger than 16 bytes" },
		{ "zq-456789abcdef0\n\n\n", 19, NULL, 0,
		    " is larger than 16 bytes" },
		/* Empty and NUL bytes are the caller's to judge. */
		{ "", 0, "", 0, NULL },
		{ "\r\n", 2, "", 0, NULL },
		{ "zq-\0secret\n", 11, "zq-\0secret", 10, NULL },
	};
	char p[128];
	size_t i;

	(void)state;
	path_in(p, sizeof(p), "content.key");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		put(p, t[i].text, t[i].len, 0600);
		check_n(p, 0, t[i].want, t[i].wantlen, t[i].tail);
		check_n(p, SECRETFILE_OWN, t[i].want, t[i].wantlen,
		    t[i].tail);
	}
}

static void
test_large_file(void **state)
{
	char p[128], big[8192];

	(void)state;
	memset(big, 'z', sizeof(big));
	path_in(p, sizeof(p), "big.key");
	put(p, big, sizeof(big), 0600);
	check(p, 0, NULL, " is larger than 16 bytes");
}

static void
test_modes(void **state)
{
	static const struct {
		mode_t mode;
		int ok;         /* without SECRETFILE_OWN */
		int ok_own;     /* with it */
	} t[] = {
		{ 0600, 1, 1 }, { 0400, 1, 1 }, { 0700, 1, 1 },
		{ 0640, 0, 0 }, { 0620, 0, 0 }, { 0604, 0, 0 }, { 0602, 0, 0 },
		{ 0644, 0, 0 }, { 0666, 0, 0 }, { 0650, 0, 0 },
		/* Execute bits alone: no reading, refused only for OWN. */
		{ 0610, 1, 0 }, { 0601, 1, 0 }, { 0711, 1, 0 },
	};
	char p[128], tail[512];
	size_t i;

	(void)state;
	path_in(p, sizeof(p), "mode.key");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		put(p, "zq-secret\n", 10, t[i].mode);
		snprintf(tail, sizeof(tail), " has mode %04o, which lets its "
		    "group or other users read or change it; run: chmod 600 %s",
		    (unsigned)t[i].mode, p);
		check(p, 0, t[i].ok ? "zq-secret" : NULL, tail);
		check(p, SECRETFILE_OWN, t[i].ok_own ? "zq-secret" : NULL,
		    tail);
	}
}

static void
test_not_regular(void **state)
{
	char p[128], tail[256];

	(void)state;
	path_in(p, sizeof(p), "missing.key");
	snprintf(tail, sizeof(tail), ": %s", strerror(ENOENT));
	check(p, 0, NULL, tail);
	path_in(p, sizeof(p), "adir");
	assert_int_equal(mkdir(p, 0700), 0);
	check(p, 0, NULL, " is not a regular file");
	/* O_NONBLOCK: a FIFO with no writer is refused, not waited on. */
	path_in(p, sizeof(p), "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	check(p, 0, NULL, " is not a regular file");
}

static void
test_links(void **state)
{
	char p[128], l[128], tail[256];

	(void)state;
	path_in(p, sizeof(p), "target.key");
	path_in(l, sizeof(l), "link.key");
	put(p, "zq-secret\n", 10, 0600);
	unlink(l);
	assert_int_equal(symlink(p, l), 0);
	/* An administrator's file may be a link (a mounted secret)... */
	check(l, 0, "zq-secret", NULL);
	/* ...the process's own file may not. */
	snprintf(tail, sizeof(tail), ": %s", strerror(ELOOP));
	check(l, SECRETFILE_OWN, NULL, tail);
}

static void
test_owner(void **state)
{
	char p[128], tail[256];

	(void)state;
	if (geteuid() != 0)
		skip();
	path_in(p, sizeof(p), "owner.key");
	put(p, "zq-secret\n", 10, 0600);
	assert_int_equal(chown(p, 65534, (gid_t)-1), 0);
	/* Root reads it; only the process's own file must be its own. */
	check(p, 0, "zq-secret", NULL);
	snprintf(tail, sizeof(tail), " is owned by uid 65534, not by this "
	    "user (uid 0)");
	check(p, SECRETFILE_OWN, NULL, tail);
}

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rh-secretfile-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/* Removes what the tests made, then the directory. */
static int
teardown_dir(void **state)
{
	static const char *const made[] = { "content.key", "big.key",
		"mode.key", "missing.key", "adir", "fifo", "target.key",
		"link.key", "owner.key" };
	char p[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		path_in(p, sizeof(p), made[i]);
		if (remove(p) != 0 && errno != ENOENT)
			return -1;
	}
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_large_file),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_owner),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
