/*
 * test_config.c -- config_parse/config_load: a full valid document, the
 * shipped example, and a table of invalid documents, each checked for
 * the exact JSON path and a telling phrase in the message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "rolehook/config.h"

#define FNAME "test.json"
#define BIG 16384

/* Secret values set in the environment; no error may ever show them. */
#define ZD_SECRET "zd-Secret-Value-1234567890"
#define HR_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define BAD_B64_SECRET "Not*Base64*Secret*Value"
#define FILE_SECRET "bamboo-File-Secret-0987"
#define INLINE_SECRET "inline-Literal-Secret-555"

static char tmpdir[64];

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
tmp_path(char *dst, size_t cap, const char *name)
{
	snprintf(dst, cap, "%s/%s", tmpdir, name);
}

static int
group_setup(void **state)
{
	char p[128];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	setenv("RH_T_ZD", ZD_SECRET, 1);
	setenv("RH_T_HR", HR_SECRET, 1);
	setenv("RH_T_BADB64", BAD_B64_SECRET, 1);
	setenv("RH_T_EMPTY", "", 1);
	unsetenv("RH_T_UNSET");
	tmp_path(p, sizeof(p), "bamboohr.key");
	write_file(p, FILE_SECRET "\n", 0600);
	tmp_path(p, sizeof(p), "bamboohr.old.key");
	write_file(p, "old-" FILE_SECRET, 0600);
	tmp_path(p, sizeof(p), "world.key");
	write_file(p, FILE_SECRET, 0644);
	tmp_path(p, sizeof(p), "mode.key");
	write_file(p, FILE_SECRET, 0600);
	tmp_path(p, sizeof(p), "empty.key");
	write_file(p, "\n", 0600);
	tmp_path(p, sizeof(p), "badb64.key");
	write_file(p, BAD_B64_SECRET "\n", 0600);
	return 0;
}

static int
group_teardown(void **state)
{
	static const char *const names[] = { "bamboohr.key",
		"bamboohr.old.key", "world.key", "empty.key", "badb64.key",
		"big.json", "mode.key", NULL };
	char p[128];
	size_t i;

	(void)state;
	for (i = 0; names[i] != NULL; i++) {
		tmp_path(p, sizeof(p), names[i]);
		unlink(p);
	}
	rmdir(tmpdir);
	return 0;
}

static int
parse(const char *text, enum config_secrets mode, struct config **cfg,
    char *err)
{
	return config_parse(text, strlen(text), FNAME, mode, cfg, err,
	    CONFIG_ERRLEN);
}

/* ---------------------------------------------------------------- */

/* The DESIGN.md example, with the secrets this test provides. */
static void
design_example(char *buf, size_t cap)
{
	snprintf(buf, cap,
	    "{\n"
	    "  \"store\":  { \"path\": \"/var/lib/rolehook/rolehook.db\" }, // SQLite\n"
	    "  \"server\": { \"listen\": \"unix:/run/rolehook/serve.sock\",\n"
	    "              \"socket_mode\": \"0660\", \"threads\": 8, \"max_body\": 262144 },\n"
	    "  \"sources\": {   /* URL path /hooks/<name> */\n"
	    "    \"zendesk\":  { \"preset\": \"zendesk\", \"secrets\": [\"env:RH_T_ZD\"], \"tolerance_s\": 300 },\n"
	    "    \"bamboohr\": { \"preset\": \"bamboohr\", \"normalizer\": \"bamboohr\",\n"
	    "                  \"secrets\": [\"file:%s/bamboohr.key\", \"file:%s/bamboohr.old.key\"] },\n"
	    "    \"hr\":       { \"preset\": \"standard-webhooks\", \"normalizer\": \"generic\",\n"
	    "                  \"secrets\": [\"env:RH_T_HR\"],\n"
	    "                  \"mapping\": { \"kind\": \"/type\", \"employee_id\": \"/data/id\", \"email\": \"/data/work_email\",\n"
	    "                               \"department\": \"/data/department\", \"title\": \"/data/job_title\",\n"
	    "                               \"effective_at\": \"/data/effective_date\",\n"
	    "                               \"kinds\": { \"employee.hired\": \"hire\", \"employee.terminated\": \"terminate\",\n"
	    "                                          \"employee.updated\": \"update\" } } }\n"
	    "  },\n"
	    "  \"zendesk\": { \"base_url\": \"https://example.zendesk.com\",\n"
	    "               \"auth\": { \"email\": \"admin@example.com\", \"token\": \"env:ZD_API_TOKEN\" },\n"
	    "               \"entitlements\": false,\n"
	    "               \"allow_http_loopback\": false },\n"
	    "  \"policy\": {\n"
	    "    \"match_users_by\": [\"external_id\", \"email\"],\n"
	    "    \"protected\": [\"owner@example.com\"],\n"
	    "    \"rules\": [\n"
	    "      { \"name\": \"tier1\", \"when\": { \"department\": \"Support\", \"title\": { \"prefix\": \"Associate\" } },\n"
	    "        \"then\": { \"role\": \"agent\", \"custom_role\": \"Tier 1\", \"groups\": [\"Tier 1\"],\n"
	    "                  \"entitlements\": { \"talk\": \"agent\", \"chat\": \"agent\" } } },\n"
	    "      { \"name\": \"others\", \"when\": {}, \"then\": { \"role\": \"end-user\" } }\n"
	    "    ],\n"
	    "    \"leaver\": { \"steps\": [\"entitlements_off\", \"downgrade\", \"suspend\"] },\n"
	    "    \"limits\": { \"downgrades_per_hour\": 20 }\n"
	    "  },\n"
	    "  \"custom_roles\": [ { \"name\": \"Tier 1\", \"description\": \"...\", \"configuration\": { \"ticket_editing\": true } } ]\n"
	    "}\n", tmpdir, tmpdir);
}

static void
test_design_example(void **state)
{
	static const unsigned char hrkey[] = { 0x31, 0xf2, 0x90, 0xf6, 0xbf,
		0x06, 0x29, 0x8a, 0xab, 0x4f, 0x08, 0xd4, 0x3c, 0x3f, 0x08,
		0x2c, 0xf6, 0x48, 0xa3, 0x62, 0xda, 0x2d, 0xa4, 0xb0 };
	char text[BIG], err[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	const struct config_source *s;
	struct json_object *v;

	(void)state;
	design_example(text, sizeof(text));
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), 0);
	assert_non_null(cfg);
	assert_string_equal(cfg->path, FNAME);
	assert_string_equal(cfg->store.path, "/var/lib/rolehook/rolehook.db");
	assert_int_equal(cfg->store.retention_days, 30);
	assert_int_equal(cfg->store.batch_rows, 64);
	assert_int_equal(cfg->store.batch_us, 200);
	assert_int_equal(cfg->store.queue_max, 4096);
	assert_int_equal(cfg->store.checkpoint_pages, 1000);
	assert_string_equal(cfg->server.listen, "unix:/run/rolehook/serve.sock");
	assert_int_equal(cfg->server.socket_mode, 0660);
	assert_int_equal(cfg->server.threads, 8);
	assert_int_equal(cfg->server.max_body, 262144);
	assert_int_equal(cfg->server.backlog, 128);
	assert_int_equal(cfg->server.retry_after_s, 5);
	assert_int_equal(cfg->nsources, 3);

	s = config_source_find(cfg, "zendesk", 7);
	assert_ptr_equal(s, &cfg->sources[0]);
	assert_string_equal(s->scheme.preset, "zendesk");
	assert_int_equal(s->scheme.tolerance_s, 300);
	assert_int_equal(s->nsecrets, 1);
	assert_int_equal(s->secrets[0].len, strlen(ZD_SECRET));
	assert_memory_equal(s->secrets[0].key, ZD_SECRET, strlen(ZD_SECRET));
	assert_int_equal(s->secrets[0].expires, 0);
	assert_null(s->normalizer);
	assert_int_equal(s->require_json, 1);

	s = config_source_find(cfg, "bamboohr", 8);
	assert_non_null(s);
	assert_string_equal(s->normalizer, "bamboohr");
	assert_int_equal(s->nsecrets, 2);
	/* One trailing newline is stripped from a secret file. */
	assert_int_equal(s->secrets[0].len, strlen(FILE_SECRET));
	assert_memory_equal(s->secrets[0].key, FILE_SECRET,
	    strlen(FILE_SECRET));
	assert_int_equal(s->secrets[1].len, strlen("old-" FILE_SECRET));

	s = config_source_find(cfg, "hrx", 2); /* not NUL-terminated */
	assert_ptr_equal(s, &cfg->sources[2]);
	assert_string_equal(s->name, "hr");
	assert_string_equal(s->normalizer, "generic");
	assert_int_equal(s->nsecrets, 1);
	/* Standard Webhooks: base64 after "whsec_". */
	assert_int_equal(s->secrets[0].len, sizeof(hrkey));
	assert_memory_equal(s->secrets[0].key, hrkey, sizeof(hrkey));
	assert_non_null(s->raw);
	assert_true(json_object_object_get_ex(s->raw, "mapping", &v));
	assert_true(json_object_is_type(v, json_type_object));

	assert_null(config_source_find(cfg, "h", 1));
	assert_null(config_source_find(cfg, "hrx", 3));
	assert_null(config_source_find(cfg, "HR", 2));
	assert_null(config_source_find(NULL, "hr", 2));
	assert_true(json_object_object_get_ex(cfg->root, "policy", &v));
	assert_true(json_object_object_get_ex(cfg->root, "custom_roles", &v));
	assert_true(json_object_is_type(v, json_type_array));
	config_free(cfg);
	config_free(NULL);
}

static void
test_skip_mode(void **state)
{
	const char *text =
	    "{\"store\":{\"path\":\"x.db\"},\"sources\":{"
	    "\"a\":{\"preset\":\"github\",\"secrets\":[\"env:RH_T_UNSET\","
	    "\"file:/nonexistent/rolehook.key\"]}}}";
	char err[CONFIG_ERRLEN];
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(parse(text, CONFIG_SECRETS_SKIP, &cfg, err), 0);
	assert_int_equal(cfg->sources[0].nsecrets, 0);
	assert_null(cfg->sources[0].secrets[0].key);
	config_free(cfg);
	/* The same text fails when secrets are resolved. */
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), -1);
	assert_null(cfg);
	assert_string_equal(err, FNAME ": sources.a.secrets[0]: "
	    "environment variable RH_T_UNSET is not set");
}

static void
test_all_fields(void **state)
{
	const char *text =
	    "{\"store\":{\"path\":\"/tmp/x.db\",\"retention_days\":7,"
	    "\"batch_rows\":1024,\"batch_us\":0,\"queue_max\":1000000},"
	    "\"server\":{\"listen\":\"127.1.2.3:65535\",\"socket_mode\":\"600\","
	    "\"threads\":256,\"max_body\":67108864,\"backlog\":1,"
	    "\"retry_after_s\":3600},"
	    "\"sources\":{"
	    "\"t\":{\"preset\":\"token\",\"header\":\"X-Api-Key\","
	    "\"secrets\":[{\"secret\":\"env:RH_T_ZD\","
	    "\"expires\":\"2030-01-01T00:00:00Z\"},\"" INLINE_SECRET "\"],"
	    "\"insecure_inline_secret\":true,\"require_json\":false,"
	    "\"id_pointer\":\"/meta/id~1x\"},"
	    "\"c\":{\"preset\":\"custom\",\"secrets\":[\"env:RH_T_HR\"],"
	    "\"scheme\":{\"header\":\"X-Sig\",\"algorithm\":\"sha512\","
	    "\"encoding\":\"base64url\",\"format\":\"list\",\"version\":\"v2\","
	    "\"template\":\"{id}:{timestamp}:{body}\","
	    "\"timestamp_header\":\"X-Ts\",\"timestamp_format\":\"rfc3339\","
	    "\"id_header\":\"X-Id\",\"key_encoding\":\"base64\","
	    "\"tolerance_s\":60}},"
	    "\"p\":{\"preset\":\"custom\",\"secrets\":[\"env:RH_T_ZD\"],"
	    "\"scheme\":{\"header\":\"x-p\",\"prefix\":\"sha256=\","
	    "\"timestamp_header\":\"x-t\",\"template\":\"{timestamp}.{body}\"}},"
	    "\"k\":{\"preset\":\"custom\",\"secrets\":[\"env:RH_T_ZD\"],"
	    "\"scheme\":{\"header\":\"x-k\",\"format\":\"kv\","
	    "\"version\":\"v1\",\"template\":\"{timestamp}.{body}\"}}"
	    "}}";
	char err[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	const struct config_source *s;

	(void)state;
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), 0);
	assert_int_equal(cfg->store.retention_days, 7);
	assert_int_equal(cfg->store.batch_rows, 1024);
	assert_int_equal(cfg->store.batch_us, 0);
	assert_int_equal(cfg->store.queue_max, 1000000);
	assert_string_equal(cfg->server.listen, "127.1.2.3:65535");
	assert_int_equal(cfg->server.socket_mode, 0600);
	assert_int_equal(cfg->server.threads, 256);
	assert_int_equal(cfg->server.max_body, 67108864);
	assert_int_equal(cfg->server.backlog, 1);
	assert_int_equal(cfg->server.retry_after_s, 3600);

	s = config_source_find(cfg, "t", 1);
	assert_non_null(s);
	assert_int_equal(s->scheme.mode, VERIFY_MODE_TOKEN);
	assert_string_equal(s->scheme.sig_header, "x-api-key");
	assert_int_equal(s->nsecrets, 2);
	assert_int_equal(s->secrets[0].expires, 1893456000);
	assert_int_equal(s->secrets[1].expires, 0);
	assert_memory_equal(s->secrets[1].key, INLINE_SECRET,
	    strlen(INLINE_SECRET));
	assert_int_equal(s->require_json, 0);
	assert_string_equal(s->id_pointer, "/meta/id~1x");

	s = config_source_find(cfg, "c", 1);
	assert_non_null(s);
	assert_string_equal(s->scheme.preset, "custom");
	assert_int_equal(s->scheme.mode, VERIFY_MODE_HMAC);
	assert_string_equal(s->scheme.sig_header, "x-sig");
	assert_int_equal(s->scheme.alg, VERIFY_SHA512);
	assert_int_equal(s->scheme.enc, VERIFY_BASE64URL);
	assert_int_equal(s->scheme.sigfmt, VERIFY_SIG_LIST);
	assert_string_equal(s->scheme.version, "v2");
	assert_null(s->scheme.prefix);
	assert_string_equal(s->scheme.template_, "{id}:{timestamp}:{body}");
	assert_string_equal(s->scheme.ts_header, "x-ts");
	assert_int_equal(s->scheme.tsfmt, VERIFY_TS_RFC3339);
	assert_string_equal(s->scheme.id_header, "x-id");
	assert_int_equal(s->scheme.keyenc, VERIFY_KEY_BASE64);
	assert_int_equal(s->scheme.tolerance_s, 60);
	assert_int_equal(s->secrets[0].len, 24);
	assert_null(verify_scheme_check(&s->scheme));

	/* Defaults of a custom scheme: sha256, hex, plain, unix, 300 s. */
	s = config_source_find(cfg, "p", 1);
	assert_non_null(s);
	assert_int_equal(s->scheme.alg, VERIFY_SHA256);
	assert_int_equal(s->scheme.enc, VERIFY_HEX);
	assert_int_equal(s->scheme.sigfmt, VERIFY_SIG_PLAIN);
	assert_string_equal(s->scheme.prefix, "sha256=");
	assert_int_equal(s->scheme.tsfmt, VERIFY_TS_UNIX);
	assert_int_equal(s->scheme.tolerance_s, 300);
	assert_int_equal(s->scheme.keyenc, VERIFY_KEY_RAW);

	/* kv always signs t=: the replay window defaults on, too. */
	s = config_source_find(cfg, "k", 1);
	assert_non_null(s);
	assert_int_equal(s->scheme.sigfmt, VERIFY_SIG_KV);
	assert_int_equal(s->scheme.tolerance_s, 300);
	config_free(cfg);
}

static void
test_comments_and_trailing_ok(void **state)
{
	const char *text =
	    "\xef\xbb\xbf// leading comment after a UTF-8 BOM\n"
	    "/* block */ { /**/ \"store\" /* *b ***/ : {\"path\": \"x.db\" // c\n"
	    "}, 'sources': {\"a\": {\"preset\": \"github\", // single quotes\n"
	    "\"secrets\": [\"env:RH_T_ZD\"]}}}\n"
	    "  // trailing comment\n"
	    "/* trailing block */\n\n";
	char err[CONFIG_ERRLEN];
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), 0);
	assert_string_equal(cfg->store.path, "x.db");
	config_free(cfg);
}

static void
test_example_file(void **state)
{
	const char *path = ROLEHOOK_SRCDIR "/deploy/rolehook.example.json";
	char err[CONFIG_ERRLEN];
	struct config *cfg = NULL;

	(void)state;
	if (config_load(path, CONFIG_SECRETS_SKIP, &cfg, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_non_null(config_source_find(cfg, "zendesk", 7));
	assert_non_null(config_source_find(cfg, "bamboohr", 8));
	assert_non_null(config_source_find(cfg, "hr", 2));
	assert_string_equal(cfg->path, path);
	config_free(cfg);
}

static void
test_load_errors(void **state)
{
	char err[CONFIG_ERRLEN], p[128], msg[256];
	struct config *cfg = (struct config *)1;
	FILE *f;
	size_t i;

	(void)state;
	assert_int_equal(config_load("/nonexistent/rolehook.json",
	    CONFIG_SECRETS_SKIP, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	assert_string_equal(err, "/nonexistent/rolehook.json: $: cannot open: "
	    "No such file or directory");

	tmp_path(p, sizeof(p), "big.json");
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("{\"store\":{\"path\":\"x\"}, \"zendesk\": {\"pad\": \"", f);
	for (i = 0; i < 1024 * 1024 / 64 + 1; i++)
		fputs("0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef", f);
	fputs("\"}}", f);
	fclose(f);
	assert_int_equal(config_load(p, CONFIG_SECRETS_SKIP, &cfg, err,
	    sizeof(err)), -1);
	snprintf(msg, sizeof(msg), "%s: $: the file is larger than 1048576 "
	    "bytes", p);
	assert_string_equal(err, msg);
}

static void
test_nul_and_null(void **state)
{
	static const char text[] = "{\"store\":{\"path\":\"x\"}\0}";
	char err[CONFIG_ERRLEN];
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(config_parse(text, sizeof(text) - 1, FNAME,
	    CONFIG_SECRETS_SKIP, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, FNAME ": $: invalid JSON at line 1, column 22: "
	    "NUL byte");
	assert_int_equal(config_parse("", 0, FNAME, CONFIG_SECRETS_SKIP, &cfg,
	    err, sizeof(err)), -1);
	assert_string_equal(err, FNAME ": $: expected an object at the top "
	    "level, got an empty document");
	/* A tiny error buffer is not overrun. */
	assert_int_equal(config_parse("[]", 2, FNAME, CONFIG_SECRETS_SKIP, &cfg,
	    err, 8), -1);
	assert_string_equal(err, "test.js");
	assert_int_equal(config_parse("[]", 2, FNAME, CONFIG_SECRETS_SKIP, &cfg,
	    NULL, 0), -1);
}

static void
test_too_many_sources(void **state)
{
	char text[BIG], err[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	size_t used, i;

	(void)state;
	used = (size_t)snprintf(text, sizeof(text),
	    "{\"store\":{\"path\":\"x\"},\"sources\":{");
	for (i = 0; i < 65; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "%s\"s%zu\":{\"preset\":\"github\","
		    "\"secrets\":[\"env:RH_T_ZD\"]}", i ? "," : "", i);
	snprintf(text + used, sizeof(text) - used, "}}");
	assert_int_equal(parse(text, CONFIG_SECRETS_SKIP, &cfg, err), -1);
	assert_string_equal(err, FNAME ": sources: expected 1 to 64 sources, "
	    "got 65");
	/* 64 is fine. */
	text[used - strlen(",\"s64\":{\"preset\":\"github\","
	    "\"secrets\":[\"env:RH_T_ZD\"]}")] = '\0';
	used = strlen(text);
	snprintf(text + used, sizeof(text) - used, "}}");
	assert_int_equal(parse(text, CONFIG_SECRETS_SKIP, &cfg, err), 0);
	assert_int_equal(cfg->nsources, 64);
	config_free(cfg);
}

static void
test_too_deep(void **state)
{
	char text[BIG], err[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	size_t used, i;
	int levels;

	(void)state;
	/* json-c counts every value on its stack: the root, policy and 29
	 * levels of arrays plus the innermost scalar fit in 32; 40 do not.
	 * (policy, which loading does not read; custom_roles is checked.) */
	for (levels = 29; levels <= 40; levels += 11) {
		used = (size_t)snprintf(text, sizeof(text),
		    "{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":{"
		    "\"preset\":\"github\",\"secrets\":[\"env:X\"]}},"
		    "\"policy\":{\"deep\":");
		for (i = 0; i < (size_t)levels; i++)
			text[used++] = '[';
		text[used++] = '1';
		for (i = 0; i < (size_t)levels; i++)
			text[used++] = ']';
		snprintf(text + used, sizeof(text) - used, "}}");
		if (levels == 29) {
			assert_int_equal(parse(text, CONFIG_SECRETS_SKIP, &cfg,
			    err), 0);
			config_free(cfg);
		} else {
			assert_int_equal(parse(text, CONFIG_SECRETS_SKIP, &cfg,
			    err), -1);
			assert_null(cfg);
			assert_non_null(strstr(err, FNAME ": $: invalid JSON at "
			    "line 1, column "));
			assert_non_null(strstr(err, "nested more than 32 levels "
			    "deep"));
		}
	}
}

static void
test_secret_files(void **state)
{
	char text[1024], err[CONFIG_ERRLEN], want[512];
	struct config *cfg = NULL;

	(void)state;
	snprintf(text, sizeof(text), "{\"store\":{\"path\":\"x\"},\"sources\":"
	    "{\"b\":{\"preset\":\"bamboohr\",\"secrets\":[\"file:%s/world.key\"]"
	    "}}}", tmpdir);
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), -1);
	snprintf(want, sizeof(want), FNAME ": sources.b.secrets[0]: secret "
	    "file %s/world.key has mode 0644, which lets its group or other "
	    "users read or change it; run: chmod 600 %s/world.key", tmpdir,
	    tmpdir);
	assert_string_equal(err, want);
	assert_null(strstr(err, FILE_SECRET));
	/* Syntax-only mode does not open it. */
	assert_int_equal(parse(text, CONFIG_SECRETS_SKIP, &cfg, err), 0);
	config_free(cfg);

	snprintf(text, sizeof(text), "{\"store\":{\"path\":\"x\"},\"sources\":"
	    "{\"b\":{\"preset\":\"bamboohr\",\"secrets\":[\"file:%s/empty.key\"]"
	    "}}}", tmpdir);
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), -1);
	snprintf(want, sizeof(want), FNAME ": sources.b.secrets[0]: secret "
	    "file %s/empty.key is empty", tmpdir);
	assert_string_equal(err, want);

	snprintf(text, sizeof(text), "{\"store\":{\"path\":\"x\"},\"sources\":"
	    "{\"b\":{\"preset\":\"bamboohr\",\"secrets\":[\"file:%s/nope.key\"]"
	    "}}}", tmpdir);
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), -1);
	assert_non_null(strstr(err, "No such file or directory"));

	snprintf(text, sizeof(text), "{\"store\":{\"path\":\"x\"},\"sources\":"
	    "{\"b\":{\"preset\":\"bamboohr\",\"secrets\":[\"file:%s\"]}}}",
	    tmpdir);
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), -1);
	assert_non_null(strstr(err, "is not a regular file"));
}

/*
 * Secret and credential files: owner only.  Any group or other read or
 * write bit is refused with the exact chmod to run; the Zendesk
 * credential goes through config_resolve_secret and the same rule.
 */
static void
test_secret_file_modes(void **state)
{
	static const mode_t bad[] = { 0640, 0660, 0620, 0604, 0602, 0644,
		0666, 0650 };
	static const mode_t ok[] = { 0600, 0400, 0700 };
	char text[1024], err[CONFIG_ERRLEN], want[512], p[128], ref[160];
	struct config *cfg = NULL, *base = NULL;
	char *out = NULL;
	size_t i;

	(void)state;
	tmp_path(p, sizeof(p), "mode.key");
	snprintf(ref, sizeof(ref), "file:%s", p);
	snprintf(text, sizeof(text), "{\"store\":{\"path\":\"x\"},\"sources\":"
	    "{\"b\":{\"preset\":\"github\",\"secrets\":[\"%s\"]}}}", ref);
	assert_int_equal(parse("{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":"
	    "{\"preset\":\"github\",\"secrets\":[\"env:RH_T_ZD\"]}}}",
	    CONFIG_SECRETS_SKIP, &base, err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(p, bad[i]), 0);
		assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg,
		    err), -1);
		snprintf(want, sizeof(want), FNAME ": sources.b.secrets[0]: "
		    "secret file %s has mode %04o, which lets its group or "
		    "other users read or change it; run: chmod 600 %s", p,
		    (unsigned)bad[i], p);
		assert_string_equal(err, want);
		assert_null(strstr(err, FILE_SECRET));
		/* The Zendesk credential: same rule, same advice. */
		assert_int_equal(config_resolve_secret(base,
		    "zendesk.auth.token", ref, &out, err, sizeof(err)), -1);
		assert_null(out);
		snprintf(want, sizeof(want), FNAME ": zendesk.auth.token: "
		    "secret file %s has mode %04o, which lets its group or "
		    "other users read or change it; run: chmod 600 %s", p,
		    (unsigned)bad[i], p);
		assert_string_equal(err, want);
	}
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(chmod(p, ok[i]), 0);
		if (parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err) != 0)
			fail_msg("mode %04o: %s", (unsigned)ok[i], err);
		assert_memory_equal(cfg->sources[0].secrets[0].key,
		    FILE_SECRET, strlen(FILE_SECRET));
		config_free(cfg);
		assert_int_equal(config_resolve_secret(base,
		    "zendesk.auth.token", ref, &out, err, sizeof(err)), 0);
		assert_string_equal(out, FILE_SECRET);
		free(out);
		out = NULL;
	}
	assert_int_equal(chmod(p, 0600), 0);
	config_free(base);
}

/*
 * env: secrets leave the environment once read, and a second load in
 * the same process still finds them; a variable set again wins.
 */
static void
test_env_secrets_taken(void **state)
{
	const char *text = "{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":"
	    "{\"preset\":\"github\",\"secrets\":[\"env:RH_T_TAKE\"]}}}";
	char err[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	char *out = NULL;
	int round;

	(void)state;
	setenv("RH_T_TAKE", "take-Secret-1", 1);
	for (round = 0; round < 3; round++) {
		if (parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err) != 0)
			fail_msg("round %d: %s", round, err);
		assert_null(getenv("RH_T_TAKE"));
		assert_int_equal(cfg->sources[0].secrets[0].len, 13);
		assert_memory_equal(cfg->sources[0].secrets[0].key,
		    "take-Secret-1", 13);
		/* The Zendesk credential path reads the same table. */
		assert_int_equal(config_resolve_secret(cfg,
		    "zendesk.auth.token", "env:RH_T_TAKE", &out, err,
		    sizeof(err)), 0);
		assert_string_equal(out, "take-Secret-1");
		free(out);
		out = NULL;
		config_free(cfg);
	}
	/* Checking syntax only leaves the environment alone. */
	setenv("RH_T_TAKE", "take-Secret-2", 1);
	assert_int_equal(parse(text, CONFIG_SECRETS_SKIP, &cfg, err), 0);
	config_free(cfg);
	assert_string_equal(getenv("RH_T_TAKE"), "take-Secret-2");
	/* Set again: the new value wins and is taken in turn. */
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), 0);
	assert_null(getenv("RH_T_TAKE"));
	assert_memory_equal(cfg->sources[0].secrets[0].key, "take-Secret-2",
	    13);
	config_free(cfg);
	/* A variable never set is still an error. */
	unsetenv("RH_T_NEVER");
	assert_int_equal(parse("{\"store\":{\"path\":\"x\"},\"sources\":"
	    "{\"a\":{\"preset\":\"github\",\"secrets\":[\"env:RH_T_NEVER\"]}}}",
	    CONFIG_SECRETS_RESOLVE, &cfg, err), -1);
	assert_string_equal(err, FNAME ": sources.a.secrets[0]: environment "
	    "variable RH_T_NEVER is not set");
}

/* Loopback only: 127.0.0.0/8, localhost (stored as 127.0.0.1), unix:. */
static void
test_listen_loopback(void **state)
{
	static const struct {
		const char *in, *want;
	} ok[] = {
		{ "unix:/run/rolehook/serve.sock",
		  "unix:/run/rolehook/serve.sock" },
		{ "127.0.0.1:9000", "127.0.0.1:9000" },
		{ "127.255.255.254:1", "127.255.255.254:1" },
		{ "localhost:9000", "127.0.0.1:9000" },
	};
	char text[512], err[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "{\"store\":{\"path\":\"x\"},"
		    "\"server\":{\"listen\":\"%s\"},\"sources\":{\"a\":"
		    "{\"preset\":\"github\",\"secrets\":[\"env:X\"]}}}",
		    ok[i].in);
		if (parse(text, CONFIG_SECRETS_SKIP, &cfg, err) != 0)
			fail_msg("%s: %s", ok[i].in, err);
		assert_string_equal(cfg->server.listen, ok[i].want);
		config_free(cfg);
	}
}

/*
 * Every preset that signs a timestamp has a window by default (BambooHR
 * too, 300 s); tolerance_s 0 passes only with the loud opt-out.
 */
static void
test_replay_window(void **state)
{
	static const char *const ts_presets[] = { "zendesk",
		"standard-webhooks", "finch", "stripe", "bamboohr" };
	char text[1024], err[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ts_presets) / sizeof(ts_presets[0]); i++) {
		snprintf(text, sizeof(text), "{\"store\":{\"path\":\"x\"},"
		    "\"sources\":{\"a\":{\"preset\":\"%s\",\"secrets\":"
		    "[\"env:X\"]}}}", ts_presets[i]);
		if (parse(text, CONFIG_SECRETS_SKIP, &cfg, err) != 0)
			fail_msg("%s: %s", ts_presets[i], err);
		assert_int_equal(cfg->sources[0].scheme.tolerance_s, 300);
		config_free(cfg);
		snprintf(text, sizeof(text), "{\"store\":{\"path\":\"x\"},"
		    "\"sources\":{\"a\":{\"preset\":\"%s\",\"secrets\":"
		    "[\"env:X\"],\"tolerance_s\":0,"
		    "\"insecure_no_replay_window\":true}}}", ts_presets[i]);
		if (parse(text, CONFIG_SECRETS_SKIP, &cfg, err) != 0)
			fail_msg("%s opt-out: %s", ts_presets[i], err);
		assert_int_equal(cfg->sources[0].scheme.tolerance_s, 0);
		config_free(cfg);
	}
	/* A custom scheme that signs its timestamp, window off by opt-out. */
	assert_int_equal(parse("{\"store\":{\"path\":\"x\"},\"sources\":{\"c\":"
	    "{\"preset\":\"custom\",\"secrets\":[\"env:X\"],"
	    "\"insecure_no_replay_window\":true,\"scheme\":{\"header\":\"x-s\","
	    "\"timestamp_header\":\"x-t\",\"template\":\"{body}.{timestamp}\","
	    "\"tolerance_s\":0}}}}", CONFIG_SECRETS_SKIP, &cfg, err), 0);
	assert_int_equal(cfg->sources[0].scheme.tolerance_s, 0);
	config_free(cfg);
	/* No timestamp, no window: nothing to opt out of. */
	assert_int_equal(parse("{\"store\":{\"path\":\"x\"},\"sources\":{\"g\":"
	    "{\"preset\":\"github\",\"secrets\":[\"env:X\"],\"tolerance_s\":0,"
	    "\"insecure_no_replay_window\":false}}}", CONFIG_SECRETS_SKIP,
	    &cfg, err), 0);
	config_free(cfg);
}

/*
 * Errors where the secret itself is at hand: no message may contain it,
 * nor any long piece of it.
 */
static void
test_secret_never_in_error(void **state)
{
	static const char *const texts[] = {
		"{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":{\"preset\":"
		"\"github\",\"secrets\":[\"" INLINE_SECRET "\"]}}}",
		"{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":{\"preset\":"
		"\"github\",\"secrets\":\"" INLINE_SECRET "\"}}}",
		"{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":{\"preset\":"
		"\"github\",\"secrets\":[{\"secret\":\"" INLINE_SECRET "\"}]}}}",
		"{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":{\"preset\":"
		"\"github\",\"secrets\":[{\"secret\":[\"" INLINE_SECRET "\"]}]}}}",
		"{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":{\"preset\":"
		"\"github\",\"secrets\":[\"" INLINE_SECRET "\",\""
		INLINE_SECRET "\"],\"insecure_inline_secret\":true}}}",
		"{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":{\"preset\":"
		"\"github\",\"secrets\":[12345678987654321]}}}",
		"{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":{\"preset\":"
		"\"standard-webhooks\",\"secrets\":[\"env:RH_T_BADB64\"]}}}",
		"{\"store\":{\"path\":\"x\"},\"sources\":{\"a\":{\"preset\":"
		"\"standard-webhooks\",\"secrets\":[\"" INLINE_SECRET "\"],"
		"\"insecure_inline_secret\":true}}}",
		NULL
	};
	char text[1024], err[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	size_t i;

	(void)state;
	for (i = 0; texts[i] != NULL; i++) {
		err[0] = '\0';
		assert_int_equal(parse(texts[i], CONFIG_SECRETS_RESOLVE, &cfg,
		    err), -1);
		assert_true(strncmp(err, FNAME ": sources.a.secrets", 19) == 0);
		if (strstr(err, "Literal-Secret") != NULL ||
		    strstr(err, "Base64*Secret") != NULL ||
		    strstr(err, "1234567898") != NULL)
			fail_msg("case %zu leaks the secret: %s", i, err);
	}
	snprintf(text, sizeof(text), "{\"store\":{\"path\":\"x\"},\"sources\":"
	    "{\"a\":{\"preset\":\"standard-webhooks\",\"secrets\":"
	    "[\"file:%s/badb64.key\"]}}}", tmpdir);
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), -1);
	assert_non_null(strstr(err, "does not decode as base64"));
	assert_null(strstr(err, "Base64*Secret"));
}

/* ---------------------------------------------------------------- */
/* Table of invalid documents                                       */

#define ST "\"store\":{\"path\":\"x.db\"}"
#define SRC "\"sources\":{\"hr\":{\"preset\":\"github\",\"secrets\":[\"env:RH_T_ZD\"]}}"
#define DOC(...) "{" ST "," SRC "," __VA_ARGS__ "}"
#define SV(...) "{" ST ",\"server\":{" __VA_ARGS__ "}," SRC "}"
#define STO(...) "{\"store\":{\"path\":\"x.db\"," __VA_ARGS__ "}," SRC "}"
#define PGS(...) "{\"store\":{\"engine\":\"postgresql\"," __VA_ARGS__ "}," SRC "}"
/* One source "hr" with the given members. */
#define HR(...) "{" ST ",\"sources\":{\"hr\":{" __VA_ARGS__ "}}}"
#define GH "\"preset\":\"github\","
#define SEC "\"secrets\":[\"env:RH_T_ZD\"]"
#define CUSTOM(...) HR("\"preset\":\"custom\"," SEC ",\"scheme\":{" __VA_ARGS__ "}")

struct bad_case {
	const char *text;
	enum config_secrets mode;
	const char *path;
	const char *msg; /* substring of what follows "FILE: PATH: " */
};

static const struct bad_case bad_cases[] = {
	/* document */
	{ "[]", CONFIG_SECRETS_SKIP, "$",
	  "expected an object at the top level, got an array" },
	{ "\"str\"", CONFIG_SECRETS_SKIP, "$",
	  "expected an object at the top level, got a string" },
	{ "  // nothing\n", CONFIG_SECRETS_SKIP, "$",
	  "expected an object at the top level, got an empty document" },
	{ "123", CONFIG_SECRETS_SKIP, "$",
	  "expected an object at the top level, got 123" },
	{ "{\"a\":{\"b\":1} //\"}", CONFIG_SECRETS_SKIP, "$",
	  "invalid JSON at line 1, column 18: unexpected end of data" },
	{ "{\"store\":{\"path\":\"x\"} /* open", CONFIG_SECRETS_SKIP, "$",
	  "unterminated comment at line 1, column 23" },
	/* json-c would read past these comment ends and drop "b" */
	{ "{\"a\":1, /***/ \"b\":2 /* */}", CONFIG_SECRETS_SKIP, "$",
	  "json-c would miss the \"*/\" at line 1, column 12 and read on, "
	  "dropping the settings after it; put a space before \"*/\"" },
	{ "{\"a\":1, /* **/ \"b\":2 /* */}", CONFIG_SECRETS_SKIP, "$",
	  "json-c would miss the \"*/\" at line 1, column 13" },
	{ DOC("\"zendesk\":{}") " /* trailing **/", CONFIG_SECRETS_SKIP,
	  "$", "json-c would miss the \"*/\" at line 1, column 116" },
	{ "null", CONFIG_SECRETS_SKIP, "$", "got null" },
	{ "{\"store\": }", CONFIG_SECRETS_SKIP, "$",
	  "invalid JSON at line 1, column 11: unexpected character" },
	{ "{\n\"store\": {\"path\": \"x\"\n", CONFIG_SECRETS_SKIP, "$",
	  "invalid JSON at line 3, column 1: unexpected end of data" },
	{ DOC("\"zendesk\":{}") " x", CONFIG_SECRETS_SKIP, "$",
	  "unexpected text after the top-level object at line 1" },
	{ DOC("\"zendesk\":{}") "\n{}", CONFIG_SECRETS_SKIP, "$",
	  "unexpected text after the top-level object at line 2, column 1" },
	{ DOC("\"zendesk\":{}") " /* open", CONFIG_SECRETS_SKIP, "$",
	  "unterminated comment" },
	{ DOC("\"zendesk\":{}") " /", CONFIG_SECRETS_SKIP, "$",
	  "unexpected text after the top-level object at line 1, column 103" },
	{ "{\"store\":{\"path\":\"\xff\"}}", CONFIG_SECRETS_SKIP, "$",
	  "invalid JSON at line 1, column 19: invalid utf-8 string" },
	{ DOC("\"sorces\":{}"), CONFIG_SECRETS_SKIP, "sorces",
	  "unknown key \"sorces\" (did you mean \"sources\"?)" },
	{ DOC("\"zzz\":1"), CONFIG_SECRETS_SKIP, "zzz",
	  "unknown key \"zzz\"; expected one of store, server, sources, "
	  "zendesk, policy, custom_roles" },
	{ DOC("\"we ird\\n\":1"), CONFIG_SECRETS_SKIP, "[\"we ird\\x0a\"]",
	  "unknown key \"we ird\\x0a\"" },
	{ DOC("\"zendesk\":[]"), CONFIG_SECRETS_SKIP, "zendesk",
	  "expected an object, got an array" },
	{ DOC("\"policy\":\"strict\""), CONFIG_SECRETS_SKIP, "policy",
	  "expected an object, got \"strict\"" },
	{ DOC("\"custom_roles\":{}"), CONFIG_SECRETS_SKIP, "custom_roles",
	  "expected an array, got an object" },
	/* duplicate keys, which json-c alone would merge silently */
	{ "{" ST ",\"sources\":{\"hr\":{" GH SEC "},\"hr\":{" GH SEC "}}}",
	  CONFIG_SECRETS_SKIP, "sources.hr",
	  "duplicate key \"hr\" (only the last one would count)" },
	{ "{\"store\":{\"path\":\"a\",\"path\":\"b\"}," SRC "}",
	  CONFIG_SECRETS_SKIP, "store.path", "duplicate key \"path\"" },
	{ DOC("\"policy\":{\"rules\":[{},{\"name\":1,'name':2}]}"),
	  CONFIG_SECRETS_SKIP, "policy.rules[1].name", "duplicate key" },
	{ DOC("\"store\":{}"), CONFIG_SECRETS_SKIP, "store",
	  "duplicate key \"store\"" },
	/* store */
	{ "{" SRC "}", CONFIG_SECRETS_SKIP, "store", "missing" },
	{ "{\"store\":[]," SRC "}", CONFIG_SECRETS_SKIP, "store",
	  "expected an object, got an array" },
	{ "{\"store\":{}," SRC "}", CONFIG_SECRETS_SKIP, "store.path",
	  "missing" },
	{ "{\"store\":{\"path\":5}," SRC "}", CONFIG_SECRETS_SKIP, "store.path",
	  "expected a string, got 5" },
	{ "{\"store\":{\"path\":\"\"}," SRC "}", CONFIG_SECRETS_SKIP,
	  "store.path", "expected a non-empty string, got \"\"" },
	{ "{\"store\":{\"path\":\"a\\u0000b\"}," SRC "}", CONFIG_SECRETS_SKIP,
	  "store.path", "without NUL bytes" },
	/* store: the PostgreSQL engine */
	{ STO("\"engine\":\"mysql\""), CONFIG_SECRETS_SKIP, "store.engine",
	  "expected one of \"sqlite\", \"postgresql\", got \"mysql\"" },
	{ PGS("\"path\":\"x.db\""), CONFIG_SECRETS_SKIP,
	  "store.path", "not used with store.engine \"postgresql\"" },
	{ PGS("\"dsn\":\"postgresql://a@h/db\",\"checkpoint_pages\":100"),
	  CONFIG_SECRETS_SKIP, "store.checkpoint_pages",
	  "not used with store.engine \"postgresql\"" },
	{ STO("\"dsn\":\"postgresql://a@h/db\""), CONFIG_SECRETS_SKIP,
	  "store.dsn", "not used with store.engine \"sqlite\"" },
	{ STO("\"password\":\"env:RH_T_ZD\""), CONFIG_SECRETS_SKIP,
	  "store.password", "not used with store.engine \"sqlite\"" },
	{ STO("\"lease_s\":60"), CONFIG_SECRETS_SKIP,
	  "store.lease_s", "not used with store.engine \"sqlite\"" },
	{ PGS("\"retention_days\":5"), CONFIG_SECRETS_SKIP, "store.dsn",
	  "missing; expected a libpq connection string" },
	{ PGS("\"dsn\":5"), CONFIG_SECRETS_SKIP, "store.dsn",
	  "expected a string, got a number" },
	{ PGS("\"dsn\":\"postgresql://a:hunter2@h/db\""), CONFIG_SECRETS_SKIP,
	  "store.dsn", "holds a password; remove it and set store.password" },
	{ PGS("\"dsn\":\"host=h password=hunter2\""), CONFIG_SECRETS_SKIP,
	  "store.dsn", "holds a password" },
	{ PGS("\"dsn\":\"postgresql://h/db?password=hunter2\""),
	  CONFIG_SECRETS_SKIP, "store.dsn", "holds a password" },
	{ PGS("\"dsn\":\"host=h nosuchoption=1\""), CONFIG_SECRETS_SKIP,
	  "store.dsn", "this one does not parse" },
	{ PGS("\"dsn\":\"postgresql://a@h/db\",\"password\":\"hunter2\""),
	  CONFIG_SECRETS_SKIP, "store.password",
	  "secrets must be file: or env: references" },
	{ PGS("\"dsn\":\"postgresql://a@h/db\",\"password\":\"file:rel\""),
	  CONFIG_SECRETS_SKIP, "store.password", "expected \"file:/absolute/path\"" },
	{ PGS("\"dsn\":\"postgresql://a@h/db\",\"password\":\"env:RH_T_UNSET\""),
	  CONFIG_SECRETS_RESOLVE, "store.password",
	  "environment variable RH_T_UNSET is not set" },
	{ PGS("\"dsn\":\"postgresql://a@h/db\",\"lease_s\":1"),
	  CONFIG_SECRETS_SKIP, "store.lease_s",
	  "expected an integer between 5 and 3600, got 1" },
	{ STO("\"retention_days\":0"), CONFIG_SECRETS_SKIP,
	  "store.retention_days",
	  "expected an integer between 1 and 3650, got 0" },
	{ STO("\"retention\":10"), CONFIG_SECRETS_SKIP, "store.retention",
	  "unknown key \"retention\" (did you mean \"retention_days\"?)" },
	{ STO("\"batch_rows\":\"64\""), CONFIG_SECRETS_SKIP, "store.batch_rows",
	  "expected an integer between 1 and 1024, got \"64\"" },
	{ STO("\"batch_us\":1.5"), CONFIG_SECRETS_SKIP, "store.batch_us",
	  "expected an integer between 0 and 100000, got 1.5" },
	{ STO("\"batch_us\":100001"), CONFIG_SECRETS_SKIP, "store.batch_us",
	  "got 100001" },
	{ STO("\"queue_max\":99999999999999999999999"), CONFIG_SECRETS_SKIP,
	  "store.queue_max", "expected an integer between 1 and 1000000" },
	{ STO("\"checkpoint_pages\":7"), CONFIG_SECRETS_SKIP,
	  "store.checkpoint_pages", "expected an integer between 8 and 1000000" },
	{ STO("\"queue_max\":null"), CONFIG_SECRETS_SKIP, "store.queue_max",
	  "got null" },
	/* server */
	{ "{" ST ",\"server\":true," SRC "}", CONFIG_SECRETS_SKIP, "server",
	  "expected an object, got true" },
	{ SV("\"max_body\":\"big\""), CONFIG_SECRETS_SKIP, "server.max_body",
	  "expected an integer between 1024 and 67108864, got \"big\"" },
	{ SV("\"max_body\":1023"), CONFIG_SECRETS_SKIP, "server.max_body",
	  "got 1023" },
	{ SV("\"threads\":0"), CONFIG_SECRETS_SKIP, "server.threads",
	  "expected an integer between 1 and 256, got 0" },
	{ SV("\"thread\":4"), CONFIG_SECRETS_SKIP, "server.thread",
	  "unknown key \"thread\" (did you mean \"threads\"?)" },
	{ SV("\"backlog\":65536"), CONFIG_SECRETS_SKIP, "server.backlog",
	  "between 1 and 65535" },
	{ SV("\"retry_after_s\":-1"), CONFIG_SECRETS_SKIP,
	  "server.retry_after_s", "between 1 and 3600, got -1" },
	{ SV("\"listen\":\"localhost\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "expected \"unix:/absolute/path\" or a loopback "
	  "\"127.0.0.1:PORT\" (127.0.0.0/8 or localhost), got \"localhost\"" },
	/* the FastCGI socket is for nginx on this host only */
	{ SV("\"listen\":\"0.0.0.0:9000\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "\"0.0.0.0:9000\" is not a loopback address: the "
	  "FastCGI socket has no authentication of its own" },
	{ SV("\"listen\":\"10.1.2.3:9000\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "\"10.1.2.3:9000\" is not a loopback address" },
	{ SV("\"listen\":\"128.0.0.1:9000\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "is not a loopback address" },
	{ SV("\"listen\":\"192.168.1.10:80\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "use \"unix:/run/rolehook/serve.sock\" or "
	  "\"127.0.0.1:PORT\"" },
	{ SV("\"listen\":\"[::1]:9000\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "IPv6 addresses are not supported (serve binds "
	  "IPv4 only), got \"[::1]:9000\"" },
	{ SV("\"listen\":\"example.com:9000\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "expected \"unix:" },
	{ SV("\"listen\":\"unix:run/x.sock\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "got \"unix:run/x.sock\"" },
	{ SV("\"listen\":\"127.0.0.1:0\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "expected \"unix:" },
	{ SV("\"listen\":\"127.0.0.1:65536\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "expected \"unix:" },
	{ SV("\"listen\":\"127.0.0.1:90x\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "expected \"unix:" },
	{ SV("\"listen\":\"127.1:9000\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "expected \"unix:" },
	{ SV("\"listen\":\"9000\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "expected \"unix:" },
	{ SV("\"listen\":\"unix:/" "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789\""), CONFIG_SECRETS_SKIP,
	  "server.listen", "expected \"unix:" },
	{ SV("\"socket_mode\":\"0999\""), CONFIG_SECRETS_SKIP,
	  "server.socket_mode", "expected an octal mode string like \"0660\" "
	  "(at most \"0777\"), got \"0999\"" },
	{ SV("\"socket_mode\":\"1777\""), CONFIG_SECRETS_SKIP,
	  "server.socket_mode", "got \"1777\"" },
	{ SV("\"socket_mode\":660"), CONFIG_SECRETS_SKIP,
	  "server.socket_mode", "expected a string, got 660" },
	/* sources */
	{ "{" ST "}", CONFIG_SECRETS_SKIP, "sources", "missing" },
	{ "{" ST ",\"sources\":{}}", CONFIG_SECRETS_SKIP, "sources",
	  "expected 1 to 64 sources, got 0" },
	{ "{" ST ",\"sources\":[]}", CONFIG_SECRETS_SKIP, "sources",
	  "expected an object, got an array" },
	{ "{" ST ",\"sources\":{\"HR\":{" GH SEC "}}}", CONFIG_SECRETS_SKIP,
	  "sources.HR", "source name \"HR\" must match [a-z0-9][a-z0-9_-]{0,63}" },
	{ "{" ST ",\"sources\":{\"a/b\":{" GH SEC "}}}", CONFIG_SECRETS_SKIP,
	  "sources[\"a/b\"]", "must match" },
	{ "{" ST ",\"sources\":{\"-a\":{" GH SEC "}}}", CONFIG_SECRETS_SKIP,
	  "sources.-a", "must match" },
	{ "{" ST ",\"sources\":{\"hr\":\"github\"}}", CONFIG_SECRETS_SKIP,
	  "sources.hr", "expected an object, got \"github\"" },
	{ HR(SEC), CONFIG_SECRETS_SKIP, "sources.hr.preset", "missing" },
	{ HR("\"preset\":\"githib\"," SEC), CONFIG_SECRETS_SKIP,
	  "sources.hr.preset", "expected one of \"zendesk\", " },
	{ HR("\"preset\":\"githib\"," SEC), CONFIG_SECRETS_SKIP,
	  "sources.hr.preset", "\"basic\" or \"custom\", got \"githib\"" },
	{ HR("\"preset\":7," SEC), CONFIG_SECRETS_SKIP, "sources.hr.preset",
	  "expected a string, got 7" },
	{ HR(GH SEC ",\"secret\":[]"), CONFIG_SECRETS_SKIP, "sources.hr.secret",
	  "unknown key \"secret\" (did you mean \"secrets\"?)" },
	{ HR(GH SEC ",\"tolerance\":1"), CONFIG_SECRETS_SKIP,
	  "sources.hr.tolerance", "did you mean \"tolerance_s\"?" },
	{ HR(GH SEC ",\"tolerance_s\":86401"), CONFIG_SECRETS_SKIP,
	  "sources.hr.tolerance_s", "between 0 and 86400, got 86401" },
	{ HR(GH SEC ",\"tolerance_s\":60"), CONFIG_SECRETS_SKIP, "sources.hr",
	  "invalid signature scheme: tolerance needs a timestamp source" },
	{ HR(GH SEC ",\"id_pointer\":\"id\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.id_pointer",
	  "expected a JSON pointer like \"/id\" (RFC 6901), got \"id\"" },
	{ HR(GH SEC ",\"id_pointer\":\"/a~2\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.id_pointer", "JSON pointer" },
	{ HR(GH SEC ",\"normalizer\":\"Generic\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.normalizer", "got \"Generic\"" },
	{ HR(GH SEC ",\"require_json\":\"yes\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.require_json", "expected true or false, got \"yes\"" },
	{ HR(GH SEC ",\"mapping\":[]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.mapping", "expected an object, got an array" },
	{ HR(GH SEC ",\"header\":\"x-sig\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.header", "only the token preset takes a header override" },
	{ HR("\"preset\":\"token\"," SEC ",\"header\":\"x_api_key\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.header",
	  "expected an HTTP header name" },
	{ HR(GH SEC ",\"scheme\":{}"), CONFIG_SECRETS_SKIP, "sources.hr.scheme",
	  "only allowed with \"preset\": \"custom\"" },
	/* secrets */
	{ HR(GH "\"x\":1"), CONFIG_SECRETS_SKIP, "sources.hr.x",
	  "unknown key \"x\"" },
	{ HR(GH "\"normalizer\":\"g\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets", "missing" },
	{ HR(GH "\"secrets\":{}"), CONFIG_SECRETS_SKIP, "sources.hr.secrets",
	  "expected an array of secret references, got an object" },
	{ HR(GH "\"secrets\":[]"), CONFIG_SECRETS_SKIP, "sources.hr.secrets",
	  "expected 1 or 2 secrets (current, then previous during rotation), "
	  "got 0" },
	{ HR(GH "\"secrets\":[\"env:A\",\"env:B\",\"env:C\"]"),
	  CONFIG_SECRETS_SKIP, "sources.hr.secrets", "got 3" },
	{ HR(GH "\"secrets\":[\"env:A\",\"env:A\"]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets[1]", "the same secret as the previous entry" },
	{ HR(GH "\"secrets\":[\"env:A\",{\"secret\":\"env:A\"}]"),
	  CONFIG_SECRETS_SKIP, "sources.hr.secrets[1].secret",
	  "the same secret as the previous entry" },
	{ HR(GH "\"secrets\":[\"hunter2\"]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets[0]", "secrets must be file: or env: references" },
	{ HR(GH "\"secrets\":[\"hunter2\"],\"insecure_inline_secret\":1"),
	  CONFIG_SECRETS_SKIP, "sources.hr.insecure_inline_secret",
	  "expected true or false, got 1" },
	{ HR(GH "\"secrets\":[\"hunter2\"],\"insecure_inline_secret\":false"),
	  CONFIG_SECRETS_SKIP, "sources.hr.secrets[0]",
	  "secrets must be file: or env: references" },
	{ HR(GH "\"secrets\":[\"file:etc/key\"]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets[0]",
	  "expected \"file:/absolute/path\", got \"file:etc/key\"" },
	{ HR(GH "\"secrets\":[\"env:\"]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets[0]", "expected \"env:NAME\" with NAME made of "
	  "letters, digits and '_', got \"env:\"" },
	{ HR(GH "\"secrets\":[\"env:1A\"]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets[0]", "expected \"env:NAME\"" },
	{ HR(GH "\"secrets\":[\"env:A-B\"]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets[0]", "expected \"env:NAME\"" },
	{ HR(GH "\"secrets\":[\"env:RH_T_UNSET\"]"), CONFIG_SECRETS_RESOLVE,
	  "sources.hr.secrets[0]", "environment variable RH_T_UNSET is not set" },
	{ HR(GH "\"secrets\":[\"env:RH_T_ZD\",\"env:RH_T_EMPTY\"]"),
	  CONFIG_SECRETS_RESOLVE, "sources.hr.secrets[1]",
	  "environment variable RH_T_EMPTY is empty" },
	{ HR(GH "\"secrets\":[7]"), CONFIG_SECRETS_SKIP, "sources.hr.secrets[0]",
	  "got a number" },
	{ HR(GH "\"secrets\":[\"\"]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets[0]", "expected a non-empty string" },
	{ HR(GH "\"secrets\":[{\"expires\":\"2030-01-01T00:00:00Z\"}]"),
	  CONFIG_SECRETS_SKIP, "sources.hr.secrets[0].secret", "missing" },
	{ HR(GH "\"secrets\":[{\"secret\":\"env:A\",\"expiry\":\"x\"}]"),
	  CONFIG_SECRETS_SKIP, "sources.hr.secrets[0].expiry",
	  "unknown key \"expiry\" (did you mean \"expires\"?)" },
	{ HR(GH "\"secrets\":[\"env:A\",{\"secret\":\"env:B\","
	  "\"expires\":\"tomorrow\"}]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets[1].expires", "expected an RFC 3339 time like "
	  "\"2025-01-31T00:00:00Z\", got \"tomorrow\"" },
	{ HR(GH "\"secrets\":[{\"secret\":\"env:B\","
	  "\"expires\":\"2030-02-30T00:00:00Z\"}]"), CONFIG_SECRETS_SKIP,
	  "sources.hr.secrets[0].expires", "RFC 3339" },
	{ HR(GH "\"secrets\":[{\"secret\":\"env:B\",\"expires\":1893456000}]"),
	  CONFIG_SECRETS_SKIP, "sources.hr.secrets[0].expires",
	  "expected a string, got 1893456000" },
	{ HR("\"preset\":\"standard-webhooks\",\"secrets\":[\"env:RH_T_BADB64\"]"),
	  CONFIG_SECRETS_RESOLVE, "sources.hr.secrets[0]",
	  "the secret from \"env:RH_T_BADB64\" does not decode as base64" },
	/* custom schemes */
	{ HR("\"preset\":\"custom\"," SEC), CONFIG_SECRETS_SKIP,
	  "sources.hr.scheme", "missing; \"preset\": \"custom\" needs" },
	{ HR("\"preset\":\"custom\"," SEC ",\"scheme\":\"sha256\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme",
	  "expected an object, got \"sha256\"" },
	{ CUSTOM("\"algorithm\":\"sha256\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.scheme.header", "missing" },
	{ CUSTOM("\"header\":\"x-sig\",\"algorithm\":\"md5\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.algorithm",
	  "expected one of \"sha1\", \"sha256\", \"sha512\", got \"md5\"" },
	{ CUSTOM("\"header\":\"x-sig\",\"encoding\":\"HEX\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.encoding",
	  "expected one of \"hex\", \"base64\", \"base64url\", got \"HEX\"" },
	{ CUSTOM("\"header\":\"x-sig\",\"format\":2"),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.format", "got 2" },
	{ CUSTOM("\"header\":\"x-sig\",\"key_encoding\":\"hex\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.key_encoding",
	  "expected one of \"raw\", \"base64\"" },
	{ CUSTOM("\"header\":\"x-sig\",\"timestamp_format\":\"iso\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.timestamp_format",
	  "expected one of \"unix\", \"rfc3339\"" },
	{ CUSTOM("\"header\":\"X_Sig\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.scheme.header", "expected an HTTP header name (letters, "
	  "digits and '-', at most 64), got \"X_Sig\"" },
	{ CUSTOM("\"header\":\"x-sig\",\"id_header\":\"x id\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.id_header",
	  "expected an HTTP header name" },
	{ CUSTOM("\"header\":\"x-sig\",\"algo\":\"sha1\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.scheme.algo",
	  "unknown key \"algo\" (did you mean \"algorithm\"?)" },
	{ CUSTOM("\"header\":\"x-sig\",\"format\":\"list\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.scheme", "invalid signature scheme: list and kv "
	  "signature formats need a version" },
	{ CUSTOM("\"header\":\"x-sig\",\"template\":\"{ts}.{body}\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme",
	  "invalid signature scheme: unknown {token} in template" },
	{ CUSTOM("\"header\":\"x-sig\",\"template\":\"{id}.{body}\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme",
	  "invalid signature scheme: {id} in template without id_header" },
	{ CUSTOM("\"header\":\"x-sig\",\"template\":\"{timestamp}\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme",
	  "invalid signature scheme: " },
	{ CUSTOM("\"header\":\"x-sig\",\"tolerance_s\":100000"),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.tolerance_s",
	  "between 0 and 86400" },
	{ CUSTOM("\"header\":\"x-sig\",\"prefix\":\"\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.prefix",
	  "expected a non-empty string" },
	/* a timestamp the signature does not cover */
	{ CUSTOM("\"header\":\"x-sig\",\"timestamp_header\":\"X-Ts\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.template",
	  "timestamp_header \"x-ts\" is a timestamp source but the template "
	  "\"{body}\" does not sign it: the replay window would check a value "
	  "the sender did not sign; add {timestamp}" },
	{ CUSTOM("\"header\":\"x-sig\",\"timestamp_header\":\"x-ts\","
	  "\"template\":\"{id}.{body}\",\"id_header\":\"x-id\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.template",
	  "the template \"{id}.{body}\" does not sign it" },
	{ CUSTOM("\"header\":\"x-sig\",\"timestamp_header\":\"x-ts\","
	  "\"timestamp_format\":\"rfc3339\",\"tolerance_s\":60"),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.template",
	  "does not sign it" },
	{ CUSTOM("\"header\":\"x-sig\",\"format\":\"kv\",\"version\":\"v1\""),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.template",
	  "the kv format's t= is a timestamp source but the template "
	  "\"{body}\" does not sign it" },
	/* a signed timestamp with the replay window off */
	{ HR("\"preset\":\"zendesk\"," SEC ",\"tolerance_s\":0"),
	  CONFIG_SECRETS_SKIP, "sources.hr.tolerance_s",
	  "0 turns the replay window off for a scheme that signs a timestamp: "
	  "anyone who captures one signed request could send it again at any "
	  "later time and it would verify; use a window such as 300, or set "
	  "\"insecure_no_replay_window\": true on the source to accept that" },
	{ HR("\"preset\":\"standard-webhooks\"," SEC ",\"tolerance_s\":0"),
	  CONFIG_SECRETS_SKIP, "sources.hr.tolerance_s", "replay window off" },
	{ HR("\"preset\":\"finch\"," SEC ",\"tolerance_s\":0"),
	  CONFIG_SECRETS_SKIP, "sources.hr.tolerance_s", "replay window off" },
	{ HR("\"preset\":\"stripe\"," SEC ",\"tolerance_s\":0"),
	  CONFIG_SECRETS_SKIP, "sources.hr.tolerance_s", "replay window off" },
	{ HR("\"preset\":\"bamboohr\"," SEC ",\"tolerance_s\":0"),
	  CONFIG_SECRETS_SKIP, "sources.hr.tolerance_s", "replay window off" },
	{ HR("\"preset\":\"bamboohr\"," SEC ",\"tolerance_s\":0,"
	  "\"insecure_no_replay_window\":false"),
	  CONFIG_SECRETS_SKIP, "sources.hr.tolerance_s", "replay window off" },
	{ CUSTOM("\"header\":\"x-sig\",\"timestamp_header\":\"x-ts\","
	  "\"template\":\"{timestamp}.{body}\",\"tolerance_s\":0"),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.tolerance_s",
	  "replay window off" },
	{ CUSTOM("\"header\":\"x-sig\",\"format\":\"kv\",\"version\":\"v1\","
	  "\"template\":\"{timestamp}.{body}\",\"tolerance_s\":0"),
	  CONFIG_SECRETS_SKIP, "sources.hr.scheme.tolerance_s",
	  "replay window off" },
	/* the opt-out only where it changes something */
	{ HR(GH SEC ",\"insecure_no_replay_window\":true"), CONFIG_SECRETS_SKIP,
	  "sources.hr.insecure_no_replay_window",
	  "only allowed with \"tolerance_s\": 0 on a scheme that signs a "
	  "timestamp; here it would change nothing, so remove it" },
	{ HR("\"preset\":\"zendesk\"," SEC
	  ",\"insecure_no_replay_window\":true"),
	  CONFIG_SECRETS_SKIP, "sources.hr.insecure_no_replay_window",
	  "only allowed with \"tolerance_s\": 0" },
	{ HR("\"preset\":\"zendesk\"," SEC ",\"tolerance_s\":0,"
	  "\"insecure_no_replay_window\":\"yes\""), CONFIG_SECRETS_SKIP,
	  "sources.hr.insecure_no_replay_window",
	  "expected true or false, got \"yes\"" },
	{ HR(GH SEC ",\"insecure_no_replay\":true"), CONFIG_SECRETS_SKIP,
	  "sources.hr.insecure_no_replay",
	  "did you mean \"insecure_no_replay_window\"?" },
};

/*
 * store.engine "postgresql": the DSN as given, the password from a file
 * (owner only, as every secret) or the environment, resolved at load or,
 * for commands that load without secrets, when the store is opened; an
 * error names the field and never holds the password.
 */
static void
test_store_postgresql(void **state)
{
	char text[1024], err[CONFIG_ERRLEN], p[128];
	struct config *cfg = NULL;
	struct store_opts so;
	struct store *st = NULL;

	(void)state;
	tmp_path(p, sizeof(p), "mode.key");
	snprintf(text, sizeof(text), "{\"store\":{\"engine\":\"postgresql\","
	    "\"dsn\":\"postgresql://rolehook@127.0.0.1:1/rh?sslmode=disable\","
	    "\"password\":\"file:%s\",\"lease_s\":30,\"batch_rows\":8},"
	    SRC "}", p);
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), 0);
	assert_int_equal(cfg->store.engine, STORE_POSTGRESQL);
	assert_null(cfg->store.path);
	assert_string_equal(cfg->store.dsn,
	    "postgresql://rolehook@127.0.0.1:1/rh?sslmode=disable");
	assert_string_equal(cfg->store.password, FILE_SECRET);
	assert_int_equal(cfg->store.lease_s, 30);
	assert_int_equal(cfg->store.batch_rows, 8);
	/* Nobody listens on port 1: the error names the field, not the
	 * password. */
	memset(&so, 0, sizeof(so));
	so.direct = 1;
	assert_int_equal(config_store_open(cfg, &so, &st, err, sizeof(err)),
	    -1);
	assert_null(st);
	assert_non_null(strstr(err, FNAME ": store.dsn (postgresql): cannot "
	    "connect"));
	assert_null(strstr(err, FILE_SECRET));
	assert_null(so.password);
	config_free(cfg);
	/* Without secrets the file is not read at load, but at open. */
	tmp_path(p, sizeof(p), "world.key");
	snprintf(text, sizeof(text), "{\"store\":{\"engine\":\"postgresql\","
	    "\"dsn\":\"postgresql://rolehook@127.0.0.1:1/rh\","
	    "\"password\":\"file:%s\"}," SRC "}", p);
	assert_int_equal(parse(text, CONFIG_SECRETS_SKIP, &cfg, err), 0);
	assert_null(cfg->store.password);
	memset(&so, 0, sizeof(so));
	assert_int_equal(config_store_open(cfg, &so, &st, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "store.password: secret file"));
	assert_non_null(strstr(err, "has mode 0644"));
	config_free(cfg);
	/* ... and the check at load (rolehook check) refuses the mode too. */
	assert_int_equal(parse(text, CONFIG_SECRETS_RESOLVE, &cfg, err), -1);
	assert_non_null(strstr(err, FNAME ": store.password: secret file"));
	assert_null(strstr(err, FILE_SECRET));
	/* The default engine is SQLite. */
	assert_int_equal(parse("{" ST "," SRC "}", CONFIG_SECRETS_SKIP, &cfg,
	    err), 0);
	assert_int_equal(cfg->store.engine, STORE_SQLITE);
	assert_null(cfg->store.dsn);
	config_free(cfg);
}

static void
test_bad_cases(void **state)
{
	char err[CONFIG_ERRLEN], prefix[256];
	struct config *cfg;
	size_t i, n = sizeof(bad_cases) / sizeof(bad_cases[0]);
	int failed = 0;

	(void)state;
	for (i = 0; i < n; i++) {
		const struct bad_case *bc = &bad_cases[i];
		int rc;

		cfg = (struct config *)1;
		err[0] = '\0';
		rc = parse(bc->text, bc->mode, &cfg, err);
		snprintf(prefix, sizeof(prefix), "%s: %s: ", FNAME, bc->path);
		if (rc != -1 || cfg != NULL ||
		    strncmp(err, prefix, strlen(prefix)) != 0 ||
		    strstr(err + strlen(prefix), bc->msg) == NULL) {
			print_error("case %zu: want \"%s...%s\"\n"
			    "            got (rc %d) \"%s\"\n"
			    "            text %s\n", i, prefix, bc->msg, rc, err,
			    bc->text);
			failed++;
			if (rc == 0)
				config_free(cfg);
		}
	}
	print_message("%zu error cases\n", n);
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_skip_mode),
		cmocka_unit_test(test_all_fields),
		cmocka_unit_test(test_comments_and_trailing_ok),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_nul_and_null),
		cmocka_unit_test(test_too_many_sources),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_secret_never_in_error),
		cmocka_unit_test(test_secret_file_modes),
		cmocka_unit_test(test_env_secrets_taken),
		cmocka_unit_test(test_listen_loopback),
		cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_bad_cases),
		cmocka_unit_test(test_store_postgresql),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
