/*
 * hash.h -- FNV-1a, the one non-cryptographic hash rolehook uses for its
 * hash sets and keys (pure).  Not for anything an attacker may steer
 * into collisions that matter: it is fast, not keyed.
 */
#ifndef ROLEHOOK_HASH_H
#define ROLEHOOK_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * 64-bit FNV-1a of p[0..n) (n may be 0, then p may be NULL).  Returns
 * the hash; stable across runs and builds.
 */
uint64_t hash_fnv1a(const void *p, size_t n);

#endif
