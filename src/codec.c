/*
 * codec.c -- hex and base64 (RFC 4648) encoders and decoders.
 *
 * Pure and bounded: decoders work on (pointer, length) pairs, never rely
 * on a NUL terminator, compute the output size before writing and never
 * write past the caller's capacity.  They are strict because what they
 * decode is attacker-controlled signature text: any character outside
 * the alphabet, misplaced padding or non-zero trailing bits is an error
 * (RFC 4648 section 3.5 lets decoders reject non-canonical encodings).
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "rolehook/codec.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * RFC 4648 section 4 (standard) and section 5 (URL-safe) alphabets differ
 * only in the last two characters; the other alphabet's pair is rejected
 * so that one signature has exactly one spelling per scheme.
 */
static int
b64_val(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (url) {
		if (c == '-')
			return 62;
		if (c == '_')
			return 63;
	} else {
		if (c == '+')
			return 62;
		if (c == '/')
			return 63;
	}
	return -1;
}

/*
 * Contract in codec.h.  An empty input decodes to zero bytes (0); callers
 * that need a particular length check the result.
 */
long
codec_hex_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t i;
	int hi, lo;

	if (n % 2 != 0 || n / 2 > cap || n / 2 > (size_t)LONG_MAX)
		return -1;
	if (n > 0 && (in == NULL || out == NULL))
		return -1;
	for (i = 0; i < n; i += 2) {
		if ((hi = hex_val((unsigned char)in[i])) < 0 ||
		    (lo = hex_val((unsigned char)in[i + 1])) < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* Contract in codec.h. */
void
codec_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/*
 * Contract in codec.h.  Padding is optional because senders disagree:
 * Standard Webhooks pads, base64url users often strip it (RFC 4648
 * section 3.2 allows omitting it when the length is known).  When
 * present it must be complete: the padded length is a multiple of 4.
 */
long
codec_b64_decode(const char *in, size_t n, int url, unsigned char *out,
    size_t cap)
{
	size_t pad = 0, rem, outlen, i, o;
	uint32_t acc;
	int v, k;

	if (n > 0 && in == NULL)
		return -1;
	if (n > 0 && in[n - 1] == '=') {
		pad = 1;
		if (n > 1 && in[n - 2] == '=')
			pad = 2;
		if (n % 4 != 0)
			return -1;
		n -= pad;
	}
	/* One leftover character carries only 6 bits: never a whole byte. */
	rem = n % 4;
	if (rem == 1)
		return -1;
	outlen = n / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	if (outlen > cap || outlen > (size_t)LONG_MAX)
		return -1;
	if (outlen > 0 && out == NULL)
		return -1;

	o = 0;
	for (i = 0; i + 4 <= n; i += 4) {
		acc = 0;
		for (k = 0; k < 4; k++) {
			if ((v = b64_val((unsigned char)in[i + k], url)) < 0)
				return -1;
			acc = acc << 6 | (uint32_t)v;
		}
		out[o++] = (unsigned char)(acc >> 16);
		out[o++] = (unsigned char)(acc >> 8);
		out[o++] = (unsigned char)acc;
	}
	if (rem > 0) {
		acc = 0;
		for (k = 0; k < (int)rem; k++) {
			if ((v = b64_val((unsigned char)in[i + k], url)) < 0)
				return -1;
			acc = acc << 6 | (uint32_t)v;
		}
		/*
		 * RFC 4648 section 3.5: the pad bits of the last
		 * character must be zero, otherwise two texts decode to
		 * the same bytes.
		 */
		if (rem == 2) {
			if ((acc & 0x0f) != 0)
				return -1;
			out[o++] = (unsigned char)(acc >> 4);
		} else {
			if ((acc & 0x03) != 0)
				return -1;
			out[o++] = (unsigned char)(acc >> 10);
			out[o++] = (unsigned char)(acc >> 2);
		}
	}
	return (long)o;
}

/* Contract in codec.h. */
size_t
codec_b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;
	uint32_t acc;

	for (i = 0; i + 3 <= n; i += 3) {
		acc = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64_std[acc >> 18 & 0x3f];
		out[o++] = b64_std[acc >> 12 & 0x3f];
		out[o++] = b64_std[acc >> 6 & 0x3f];
		out[o++] = b64_std[acc & 0x3f];
	}
	if (n - i == 1) {
		acc = (uint32_t)in[i] << 16;
		out[o++] = b64_std[acc >> 18 & 0x3f];
		out[o++] = b64_std[acc >> 12 & 0x3f];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		acc = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_std[acc >> 18 & 0x3f];
		out[o++] = b64_std[acc >> 12 & 0x3f];
		out[o++] = b64_std[acc >> 6 & 0x3f];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}
