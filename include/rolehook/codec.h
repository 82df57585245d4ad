/*
 * codec.h -- hex and base64 encoders/decoders (pure).
 * Decoders write into a caller buffer of known size and never past it.
 */
#ifndef ROLEHOOK_CODEC_H
#define ROLEHOOK_CODEC_H

#include <stddef.h>

/*
 * Decodes hex (either case) of length n into out (capacity cap).
 * Returns the number of bytes written, or -1 on a bad digit, an odd
 * length or a result longer than cap.
 */
long codec_hex_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/*
 * Writes lower-case hex of in[0..n) plus a NUL into out, which must hold
 * 2*n+1 bytes.
 */
void codec_hex_encode(const unsigned char *in, size_t n, char *out);

/*
 * Decodes standard (url == 0) or URL-safe (url == 1) base64 of length n.
 * Padding is optional (accepted when correct, not required).  Returns
 * bytes written, or -1 on a bad character, bad padding, trailing bits
 * that are not zero, or overflow of cap.
 */
long codec_b64_decode(const char *in, size_t n, int url, unsigned char *out,
    size_t cap);

/*
 * Writes padded standard base64 of in[0..n) plus a NUL into out, which
 * must hold 4*((n+2)/3)+1 bytes.  Returns the length written (no NUL).
 */
size_t codec_b64_encode(const unsigned char *in, size_t n, char *out);

#endif
