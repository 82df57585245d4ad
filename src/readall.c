/*
 * readall.c -- read a file descriptor to its end, bounded (readall.h).
 */
#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#include "rolehook/readall.h"

int
readall_fd(int fd, char *buf, size_t max, size_t *n)
{
	ssize_t r;

	*n = 0;
	for (;;) {
		r = read(fd, buf + *n, max + 1 - *n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			return 0;
		*n += (size_t)r;
		if (*n > max)
			return 1;
	}
}
