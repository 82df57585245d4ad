/*
 * secretfile.c -- read a secret from an owner-only file (secretfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "rolehook/readall.h"
#include "rolehook/secretfile.h"

int
secretfile_read(const char *path, const char *what, size_t max, int flags,
    char **out, size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	mode_t closed;
	char *buf = NULL;
	/* The secret, "\r\n", and readall_fd's byte that tells "larger". */
	size_t n = 0, cap = max + 2;
	ssize_t r;
	int fd, oflags, rc = -1;

	*out = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO planted at the path must not hang startup. */
	oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (flags & SECRETFILE_OWN)
		oflags |= O_NOFOLLOW;
	if ((fd = open(path, oflags)) == -1) {
		snprintf(err, errlen, "cannot open %s %s: %s", what, path,
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "cannot stat %s %s: %s", what, path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", what,
		    path);
		goto out;
	}
	if ((flags & SECRETFILE_OWN) && sb.st_uid != geteuid()) {
		snprintf(err, errlen, "%s %s is owned by uid %u, not by this "
		    "user (uid %u)", what, path, (unsigned)sb.st_uid,
		    (unsigned)geteuid());
		goto out;
	}
	/*
	 * Owner only.  A group bit would hand the secret to every member:
	 * serve and work share the group rolehook (for the store), and
	 * serve, the process nginx talks to, must never read work's Zendesk
	 * credential, nor work the webhook secrets (deploy/systemd).
	 */
	closed = (flags & SECRETFILE_OWN) ? (S_IRWXG | S_IRWXO) :
	    (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH);
	if (sb.st_mode & closed) {
		snprintf(err, errlen, "%s %s has mode %04o, which lets its "
		    "group or other users read or change it; run: chmod 600 %s",
		    what, path, (unsigned)(sb.st_mode & 07777), path);
		goto out;
	}
	if ((buf = malloc(cap + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((r = readall_fd(fd, buf, cap, &n)) < 0) {
		snprintf(err, errlen, "cannot read %s %s: %s", what, path,
		    strerror(errno));
		goto out;
	}
	/* One trailing newline is what `echo secret > file` leaves. */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (r > 0 || n > max) {
		snprintf(err, errlen, "%s %s is larger than %zu bytes", what,
		    path, max);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	OPENSSL_clear_free(buf, cap + 1);
	if (fd != -1)
		close(fd);
	return rc;
}

void
secretfile_free(char *s)
{
	if (s != NULL)
		OPENSSL_clear_free(s, strlen(s));
}
