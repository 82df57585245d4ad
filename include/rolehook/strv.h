/*
 * strv.h -- what is done to C strings all over rolehook: freeing an
 * owned array of them, finding a name in a NULL-terminated table of
 * names, and folding one to lower case for the case-insensitive keys
 * (e-mail addresses, header names).
 */
#ifndef ROLEHOOK_STRV_H
#define ROLEHOOK_STRV_H

#include <stddef.h>

/*
 * Frees v[0] .. v[n-1] (any may be NULL) and then v.  v may be NULL
 * (n is then not read).
 */
void strv_free(char **v, size_t n);

/*
 * The index of s in list, a NULL-terminated array of names (exact,
 * case-sensitive match), or -1.
 */
int strv_index(const char *const *list, const char *s);

/* Folds s to lower case in place (ASCII: the C locale); returns s. */
char *str_lower(char *s);

#endif
