/*
 * config_fuzzer.c -- libFuzzer target for config_parse.
 *
 * Secrets are only syntax-checked (CONFIG_SECRETS_SKIP), so no input can
 * make the parser read files or the environment.  Besides memory safety
 * it checks the contract: an error is "fuzz.json: PATH: message" and
 * NUL-terminated; a loaded config has 1..64 findable sources whose
 * schemes pass verify_scheme_check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rolehook/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "fuzz.json: ";
	struct config *cfg = NULL;
	char err[CONFIG_ERRLEN];
	size_t i;

	memset(err, 'x', sizeof(err));
	if (config_parse((const char *)data, size, "fuzz.json",
	    CONFIG_SECRETS_SKIP, &cfg, err, sizeof(err)) != 0) {
		if (cfg != NULL || memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, prefix, sizeof(prefix) - 1) != 0 ||
		    strstr(err + sizeof(prefix) - 1, ": ") == NULL)
			abort();
		/* json-c accepted what config.c's own lexer could not follow
		 * (the "$" path: no input text is quoted in such a message). */
		if (strncmp(err, "fuzz.json: $: invalid JSON", 26) == 0 &&
		    strstr(err, ": unexpected structure") != NULL)
			abort();
		return 0;
	}
	if (cfg == NULL || cfg->nsources < 1 || cfg->nsources > 64 ||
	    (cfg->store.path == NULL && cfg->store.dsn == NULL) || cfg->server.listen == NULL)
		abort();
	for (i = 0; i < cfg->nsources; i++) {
		const struct config_source *s = &cfg->sources[i];

		if (config_source_find(cfg, s->name, strlen(s->name)) != s ||
		    s->nsecrets != 0 || verify_scheme_check(&s->scheme) != NULL)
			abort();
	}
	config_free(cfg);
	return 0;
}
