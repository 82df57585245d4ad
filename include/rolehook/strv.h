/*
 * strv.h -- the two things done to owned C strings all over rolehook:
 * freeing an array of them, and folding one to lower case for the
 * case-insensitive keys (e-mail addresses, header names).
 */
#ifndef ROLEHOOK_STRV_H
#define ROLEHOOK_STRV_H

#include <stddef.h>

/*
 * Frees v[0] .. v[n-1] (any may be NULL) and then v.  v may be NULL
 * (n is then not read).
 */
void strv_free(char **v, size_t n);

/* Folds s to lower case in place (ASCII: the C locale); returns s. */
char *str_lower(char *s);

#endif
