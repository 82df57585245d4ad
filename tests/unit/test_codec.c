/*
 * test_codec.c -- unit tests for codec.c.
 *
 * Vectors: RFC 4648 section 10 test vectors, plus the negative cases of
 * its section 3 (padding, alphabet, non-canonical trailing bits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rolehook/codec.h"

/* RFC 4648 section 10. */
static const struct {
	const char *plain;
	const char *b64;
	const char *hex;
} rfc4648[] = {
	{ "", "", "" },
	{ "f", "Zg==", "66" },
	{ "fo", "Zm8=", "666f" },
	{ "foo", "Zm9v", "666f6f" },
	{ "foob", "Zm9vYg==", "666f6f62" },
	{ "fooba", "Zm9vYmE=", "666f6f6261" },
	{ "foobar", "Zm9vYmFy", "666f6f626172" },
};

#define NVEC (sizeof(rfc4648) / sizeof(rfc4648[0]))

static void
test_b64_encode(void **state)
{
	char out[16];
	size_t i;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		memset(out, 'Q', sizeof(out));
		assert_int_equal(codec_b64_encode(
		    (const unsigned char *)rfc4648[i].plain,
		    strlen(rfc4648[i].plain), out), strlen(rfc4648[i].b64));
		assert_string_equal(out, rfc4648[i].b64);
	}
	/* All byte values: the first row of 0x00..0xff (Python
	 * base64.b64encode(bytes(range(256)))[:8]). */
	{
		unsigned char all[256];
		char enc[4 * ((256 + 2) / 3) + 1];

		for (i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		assert_int_equal(codec_b64_encode(all, 256, enc), 344);
		assert_memory_equal(enc, "AAECAwQF", 8);
		assert_string_equal(enc + 336, "/P3+/w==");
	}
}

static void
test_b64_decode_vectors(void **state)
{
	unsigned char out[16];
	char unpadded[16];
	size_t i, n;
	long r;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		n = strlen(rfc4648[i].plain);
		r = codec_b64_decode(rfc4648[i].b64, strlen(rfc4648[i].b64),
		    0, out, sizeof(out));
		assert_int_equal(r, (long)n);
		assert_memory_equal(out, rfc4648[i].plain, n);
		/* Padding optional; url alphabet decodes these too. */
		strcpy(unpadded, rfc4648[i].b64);
		unpadded[strcspn(unpadded, "=")] = '\0';
		assert_int_equal(codec_b64_decode(unpadded, strlen(unpadded),
		    0, out, sizeof(out)), (long)n);
		assert_memory_equal(out, rfc4648[i].plain, n);
		assert_int_equal(codec_b64_decode(rfc4648[i].b64,
		    strlen(rfc4648[i].b64), 1, out, sizeof(out)), (long)n);
		/* Exact capacity fits; one byte less does not. */
		assert_int_equal(codec_b64_decode(rfc4648[i].b64,
		    strlen(rfc4648[i].b64), 0, out, n), (long)n);
		if (n > 0)
			assert_int_equal(codec_b64_decode(rfc4648[i].b64,
			    strlen(rfc4648[i].b64), 0, out, n - 1), -1);
	}
}

static void
test_b64_alphabets(void **state)
{
	/* Python base64.b64decode("++++++++") = fbefbefbefbe. */
	static const unsigned char want[] = { 0xfb, 0xef, 0xbe, 0xfb, 0xef,
	    0xbe };
	unsigned char out[8];

	(void)state;
	assert_int_equal(codec_b64_decode("++++++++", 8, 0, out, sizeof(out)),
	    6);
	assert_memory_equal(out, want, 6);
	assert_int_equal(codec_b64_decode("--------", 8, 1, out, sizeof(out)),
	    6);
	assert_memory_equal(out, want, 6);
	assert_int_equal(codec_b64_decode("////", 4, 0, out, sizeof(out)), 3);
	assert_int_equal(codec_b64_decode("____", 4, 1, out, sizeof(out)), 3);
	assert_memory_equal(out, "\xff\xff\xff", 3);
	/* Each alphabet refuses the other's two characters. */
	assert_int_equal(codec_b64_decode("--------", 8, 0, out, sizeof(out)),
	    -1);
	assert_int_equal(codec_b64_decode("____", 4, 0, out, sizeof(out)), -1);
	assert_int_equal(codec_b64_decode("++++", 4, 1, out, sizeof(out)), -1);
	assert_int_equal(codec_b64_decode("////", 4, 1, out, sizeof(out)), -1);
}

static void
test_b64_decode_reject(void **state)
{
	static const char *const bad[] = {
		"Z",		/* 6 bits: no whole byte */
		"Zm9vY",	/* same after a group */
		"Zg=",		/* incomplete padding */
		"Zg===",	/* too much padding */
		"Z===",
		"====",
		"=",
		"Zm9v=",	/* padding after a full group */
		"Zm=9",		/* padding inside */
		"Zg==Zg==",	/* padding then data */
		"Zh==",		/* non-zero trailing bits */
		"Zm9=",		/* non-zero trailing bits (2 bytes) */
		"Zm 9v",	/* blank */
		"Zm9v\n",	/* newline */
		"Zm9.",		/* outside the alphabet */
		"Zm9\x80",	/* high byte */
	};
	unsigned char out[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (codec_b64_decode(bad[i], strlen(bad[i]), 0, out,
		    sizeof(out)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		if (codec_b64_decode(bad[i], strlen(bad[i]), 1, out,
		    sizeof(out)) != -1)
			fail_msg("url accepted \"%s\"", bad[i]);
	}
	/* The length is the bound, not a NUL: "Zm9v" inside "Zm9vYmFy". */
	assert_int_equal(codec_b64_decode("Zm9vYmFy", 4, 0, out, sizeof(out)),
	    3);
	/* An embedded NUL is a bad character. */
	assert_int_equal(codec_b64_decode("Zm\0v", 4, 0, out, sizeof(out)), -1);
	/* Empty input is zero bytes, even with no buffer. */
	assert_int_equal(codec_b64_decode("", 0, 0, NULL, 0), 0);
	assert_int_equal(codec_b64_decode(NULL, 4, 0, out, sizeof(out)), -1);
}

/* The decoder never writes past cap. */
static void
test_b64_no_overrun(void **state)
{
	unsigned char out[8];

	(void)state;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(codec_b64_decode("Zm9vYmFy", 8, 0, out, 5), -1);
	assert_int_equal(codec_b64_decode("Zm9vYmE", 7, 0, out, 5), 5);
	assert_int_equal(out[5], 0xee);
	assert_int_equal(out[6], 0xee);
}

static void
test_hex(void **state)
{
	unsigned char out[16];
	char enc[33];
	size_t i, n;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		n = strlen(rfc4648[i].plain);
		assert_int_equal(codec_hex_decode(rfc4648[i].hex,
		    strlen(rfc4648[i].hex), out, sizeof(out)), (long)n);
		assert_memory_equal(out, rfc4648[i].plain, n);
		codec_hex_encode((const unsigned char *)rfc4648[i].plain, n,
		    enc);
		assert_string_equal(enc, rfc4648[i].hex);
	}
	/* RFC 4648 section 8: either case decodes. */
	assert_int_equal(codec_hex_decode("666F6F626172", 12, out, 6), 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(codec_hex_decode("aBcDeF09", 8, out, 4), 4);
	assert_memory_equal(out, "\xab\xcd\xef\x09", 4);
	codec_hex_encode((const unsigned char *)"\x00\xff\x10", 3, enc);
	assert_string_equal(enc, "00ff10");

	assert_int_equal(codec_hex_decode("666", 3, out, sizeof(out)), -1);
	/* Odd length even when the byte after n would pair up. */
	assert_int_equal(codec_hex_decode("6666", 3, out, sizeof(out)), -1);
	assert_int_equal(codec_hex_decode("6666", 1, out, sizeof(out)), -1);
	assert_int_equal(codec_hex_decode("6g", 2, out, sizeof(out)), -1);
	assert_int_equal(codec_hex_decode("g6", 2, out, sizeof(out)), -1);
	assert_int_equal(codec_hex_decode(" 66", 3, out, sizeof(out)), -1);
	assert_int_equal(codec_hex_decode("66 ", 3, out, sizeof(out)), -1);
	assert_int_equal(codec_hex_decode("0x66", 4, out, sizeof(out)), -1);
	assert_int_equal(codec_hex_decode("6\0", 2, out, sizeof(out)), -1);
	assert_int_equal(codec_hex_decode("666f", 4, out, 1), -1);
	assert_int_equal(codec_hex_decode("", 0, NULL, 0), 0);
	assert_int_equal(codec_hex_decode(NULL, 2, out, sizeof(out)), -1);
	/* Bounded by n, not by a NUL. */
	assert_int_equal(codec_hex_decode("6666zz", 4, out, sizeof(out)), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_encode),
		cmocka_unit_test(test_b64_decode_vectors),
		cmocka_unit_test(test_b64_alphabets),
		cmocka_unit_test(test_b64_decode_reject),
		cmocka_unit_test(test_b64_no_overrun),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
