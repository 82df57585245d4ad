/*
 * hash.c -- 64-bit FNV-1a (Fowler, Noll, Vo: "The FNV Non-Cryptographic
 * Hash Algorithm", draft-eastlake-fnv, section 2: offset basis
 * 14695981039346656037, prime 1099511628211).
 */
#include <stddef.h>
#include <stdint.h>

#include "rolehook/hash.h"

uint64_t
hash_fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}
