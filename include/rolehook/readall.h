/*
 * readall.h -- read a file descriptor to its end into a bounded buffer
 * (CONVENTIONS.md, "Input": give every buffer a maximum).  For the
 * configuration, secret files and the OAuth refresh-token file.
 */
#ifndef ROLEHOOK_READALL_H
#define ROLEHOOK_READALL_H

#include <stddef.h>

/*
 * Reads fd to its end into buf, which holds max + 1 bytes (the extra
 * byte tells a file of max bytes from a larger one), resuming after
 * EINTR.  Returns 0 with *n bytes read (at most max), 1 when there is
 * more than max, or -1 with errno from read(2).  Adds no NUL.
 */
int readall_fd(int fd, char *buf, size_t max, size_t *n);

#endif
