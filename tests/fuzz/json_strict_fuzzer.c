/*
 * json_strict_fuzzer.c -- libFuzzer target for json_parse_strict(), the
 * parser every signed webhook body meets first (ingress).
 *
 * Besides memory safety it checks the contract: whatever it accepts is
 * RFC 8259, so json-c's own serialisation of the document (always
 * strict JSON) is accepted again, and an accepted input never holds a
 * NUL byte or a byte below 0x20 inside a string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rolehook/jsonutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *doc, *again;
	const char *text;

	doc = json_parse_strict((const char *)data, size, 64);
	if (doc == NULL)
		return 0;
	if (memchr(data, '\0', size) != NULL)
		abort();
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	if (text == NULL)
		abort();
	again = json_parse_strict(text, strlen(text), 65);
	if (again == NULL || !json_object_equal(doc, again))
		abort();
	json_object_put(again);
	json_object_put(doc);
	return 0;
}
