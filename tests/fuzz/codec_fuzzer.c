/*
 * codec_fuzzer.c -- libFuzzer target for codec.c: hex, base64 and
 * base64url (RFC 4648), the decoders that read attacker-controlled
 * signature text.
 *
 * Input layout: one selector byte, then the payload.  The selector picks
 * the output capacity handed to the decoders (exact, one short, zero or
 * generous); the payload is used twice:
 *
 *  - as bytes: encode with every scheme and decode again, which must
 *    give the bytes back (padded and unpadded, both alphabets, upper-
 *    and lower-case hex), and a capacity one byte short must be refused;
 *  - as text: decode it with every scheme and compare with a reference
 *    decoder written differently (a bit accumulator, not 4-character
 *    groups): both accept or both refuse, with the same bytes.  An
 *    accepted text re-encodes to itself (RFC 4648 section 3.5: one
 *    spelling per byte string, padding aside).
 *
 * Every buffer is an exact-size heap allocation, inputs without a NUL,
 * so AddressSanitizer catches a read or write one byte past them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rolehook/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char b64_std_ref[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url_ref[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void *
xmalloc(size_t n)
{
	/* malloc(0) is a zero-byte region to ASan: any write is caught. */
	void *p = malloc(n);

	if (p == NULL && n > 0)
		abort();
	return p;
}

static void *
xdup(const void *p, size_t n)
{
	void *q = xmalloc(n);

	if (n > 0)
		memcpy(q, p, n);
	return q;
}

/* The capacity for an expected output of `want` bytes (sel picks). */
static size_t
pick_cap(unsigned sel, size_t want, size_t generous)
{
	switch (sel % 4) {
	case 0:
		return want;
	case 1:
		return want > 0 ? want - 1 : 0;
	case 2:
		return 0;
	default:
		return generous > want ? generous : want;
	}
}

/* Reference hex check: even length, every character a hex digit. */
static int
ref_hex_ok(const char *in, size_t n)
{
	size_t i;

	if (n % 2 != 0)
		return 0;
	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdefABCDEF", in[i]) == NULL ||
		    in[i] == '\0')
			return 0;
	return 1;
}

/*
 * Reference base64 decoder: padding optional but, when present, the text
 * is a multiple of 4 with at most two '='; a bit accumulator emits a byte
 * per 8 bits; the leftover bits must be zero and fewer than 6.  Returns
 * the length written to out (holding at least n bytes) or -1.
 */
static long
ref_b64(const char *in, size_t n, int url, unsigned char *out)
{
	const char *alpha = url ? b64_url_ref : b64_std_ref;
	const char *c;
	size_t i, m = n, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (m > 0 && n - m < 2 && in[m - 1] == '=')
		m--;
	if (m < n && n % 4 != 0)
		return -1;
	for (i = 0; i < m; i++) {
		if (in[i] == '\0' || (c = strchr(alpha, in[i])) == NULL)
			return -1;
		acc = (acc << 6 | (uint32_t)(c - alpha)) & 0xfff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* 6 leftover bits: a lone character; non-zero pad bits: RFC 4648 3.5 */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

/* Decodes in[0..n) with a cap chosen by sel; checks against want/ref. */
static void
check_b64_decode(const char *in, size_t n, int url, unsigned sel,
    const unsigned char *want, long wantlen)
{
	size_t cap = pick_cap(sel, wantlen >= 0 ? (size_t)wantlen : n, n);
	unsigned char *out = xmalloc(cap);
	long r = codec_b64_decode(in, n, url, out, cap);

	if (wantlen < 0 || (size_t)wantlen > cap) {
		if (r != -1)
			abort();
	} else if (r != wantlen || (r > 0 && memcmp(out, want, (size_t)r) != 0))
		abort();
	free(out);
}

/* Encoded text of the bytes, in every spelling the decoders accept. */
static void
roundtrip(const unsigned char *x, size_t n, unsigned sel)
{
	size_t elen = 4 * ((n + 2) / 3), i, unp;
	char *hex = xmalloc(2 * n + 1), *b64 = xmalloc(elen + 1);
	unsigned char *out;

	/* hex: lower case, exactly 2n digits, decodes back; upper too */
	codec_hex_encode(x, n, hex);
	if (strlen(hex) != 2 * n || strspn(hex, "0123456789abcdef") != 2 * n)
		abort();
	out = xmalloc(n);
	if (codec_hex_decode(hex, 2 * n, out, n) != (long)n ||
	    (n > 0 && memcmp(out, x, n) != 0))
		abort();
	for (i = 0; i < 2 * n; i++)
		if (hex[i] >= 'a')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	if (codec_hex_decode(hex, 2 * n, out, n) != (long)n ||
	    (n > 0 && memcmp(out, x, n) != 0))
		abort();
	free(out);
	if (n > 0) {
		out = xmalloc(n - 1);
		if (codec_hex_decode(hex, 2 * n, out, n - 1) != -1)
			abort();
		free(out);
	}

	/* base64: the documented length, padded, standard alphabet */
	if (codec_b64_encode(x, n, b64) != elen || strlen(b64) != elen)
		abort();
	unp = strcspn(b64, "=");
	if (elen - unp > 2 || strspn(b64, b64_std_ref) != unp)
		abort();
	check_b64_decode(b64, elen, 0, sel, x, (long)n);
	check_b64_decode(b64, unp, 0, sel, x, (long)n);
	/* the other alphabet's characters are refused */
	if (strpbrk(b64, "+/") != NULL)
		check_b64_decode(b64, elen, 1, 3, NULL, -1);
	/* base64url: the same text with "-_" for "+/" */
	for (i = 0; i < unp; i++)
		if (b64[i] == '+')
			b64[i] = '-';
		else if (b64[i] == '/')
			b64[i] = '_';
	check_b64_decode(b64, elen, 1, sel, x, (long)n);
	check_b64_decode(b64, unp, 1, sel, x, (long)n);
	if (strpbrk(b64, "-_") != NULL)
		check_b64_decode(b64, unp, 0, 3, NULL, -1);
	/* one byte short never fits */
	if (n > 0) {
		out = xmalloc(n - 1);
		if (codec_b64_decode(b64, unp, 1, out, n - 1) != -1)
			abort();
		free(out);
	}
	free(hex);
	free(b64);
}

/* The payload as text: accept exactly what the references accept. */
static void
as_text(const char *in, size_t n, unsigned sel)
{
	unsigned char *want = xmalloc(n), *out;
	char *enc;
	size_t cap, i, m;
	long r, wl;
	int url, ok;

	/* hex */
	ok = ref_hex_ok(in, n);
	cap = pick_cap(sel, n / 2, n);
	out = xmalloc(cap);
	r = codec_hex_decode(in, n, out, cap);
	if (r != (ok && n / 2 <= cap ? (long)(n / 2) : -1))
		abort();
	if (r >= 0) {
		enc = xmalloc(2 * (size_t)r + 1);
		codec_hex_encode(out, (size_t)r, enc);
		for (m = 0; m < n; m++)
			if ((enc[m] | 0x20) != (in[m] | 0x20))
				abort();
		free(enc);
	}
	free(out);

	for (url = 0; url <= 1; url++) {
		wl = ref_b64(in, n, url, want);
		check_b64_decode(in, n, url, sel, want, wl);
		if (wl < 0)
			continue;
		/* accepted: the canonical encoding is the text itself */
		enc = xmalloc(4 * (((size_t)wl + 2) / 3) + 1);
		m = codec_b64_encode(want, (size_t)wl, enc);
		for (i = 0; url && i < m; i++)
			if (enc[i] == '+')
				enc[i] = '-';
			else if (enc[i] == '/')
				enc[i] = '_';
		if (n > m || memcmp(enc, in, n) != 0 ||
		    (n < m && strspn(enc + n, "=") != m - n))
			abort();
		free(enc);
	}
	free(want);
}

/* Entry point called by libFuzzer (or replay_main.c) for each input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;
	char *text;

	if (size == 0)
		return 0;
	sel = data[0];
	data++;
	size--;
	roundtrip(data, size, sel);
	text = xdup(data, size);
	as_text(text, size, sel >> 2);
	free(text);
	return 0;
}
