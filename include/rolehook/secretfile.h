/*
 * secretfile.h -- read a secret from a file that only its owner may
 * use: the configuration's "file:" secrets (config) and the OAuth
 * refresh-token file (oauth).  One reader, so both files follow the same
 * open, mode, size and wipe rules and say the same things when refused.
 */
#ifndef ROLEHOOK_SECRETFILE_H
#define ROLEHOOK_SECRETFILE_H

#include <stddef.h>

/*
 * SECRETFILE_OWN: a file this process keeps and rewrites itself (the
 * refresh token).  It is opened without following a symbolic link, must
 * belong to the effective user and may carry no group or other bit at
 * all.  Without the flag (a file an administrator provides, perhaps
 * through a link) only group and other read and write bits are refused.
 */
#define SECRETFILE_OWN	0x1

/*
 * Reads the secret in the regular file at path.  One trailing "\n",
 * "\r\n" or "\r" is dropped; at most max bytes may be left (max is the
 * caller's constant, a few KiB).  What those bytes may be (empty, NUL,
 * a token's alphabet) is the caller's rule.  flags: 0 or SECRETFILE_OWN.
 * what names the file in messages ("secret file", "refresh token file").
 *
 * Returns 0 with *out a malloc'd copy of *len bytes plus a NUL (the
 * caller wipes *len bytes and frees it; nothing after them is secret),
 * or -1 with *out NULL and err saying "WHAT PATH ..." and, for a mode
 * others may use, the chmod to run.  err never holds the secret; a
 * buffer that held it is wiped before it is freed.
 */
int secretfile_read(const char *path, const char *what, size_t max,
    int flags, char **out, size_t *len, char *err, size_t errlen);

/*
 * Wipes the NUL-terminated secret s (a password, token or key text, such
 * as secretfile_read returns) and frees it.  NULL is a no-op.
 */
void secretfile_free(char *s);

#endif
