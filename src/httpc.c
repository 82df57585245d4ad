/*
 * httpc.c -- libcurl plumbing shared by zendesk.c and oauth.c
 * (httpc.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "rolehook/httpc.h"

void
httpc_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
httpc_printable(char *dst, size_t cap, const char *s, size_t n)
{
	size_t i, j = 0;

	if (cap == 0)
		return;
	for (i = 0; i < n && j + 1 < cap && s[i] != '\0'; i++)
		dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[j] = '\0';
}

#define SET(opt, val) do { \
	if ((e = curl_easy_setopt(h, opt, val)) != CURLE_OK) { \
		*failed = #opt; \
		return e; \
	} \
} while (0)

CURLcode
httpc_setup(CURL *h, const struct httpc_opts *o, const char **failed)
{
	CURLcode e;

	SET(CURLOPT_URL, o->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_MAXREDIRS, 0L);
	SET(CURLOPT_PROTOCOLS_STR, o->http_loopback ? "http,https" : "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
	SET(CURLOPT_TIMEOUT_MS, o->total_ms);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_MAXFILESIZE_LARGE, o->max_response);
	SET(CURLOPT_USERAGENT, HTTPC_USER_AGENT);
	SET(CURLOPT_ERRORBUFFER, o->errbuf);
	SET(CURLOPT_WRITEFUNCTION, o->write);
	SET(CURLOPT_WRITEDATA, o->write_arg);
	/* A fake on loopback must not be reached through a proxy. */
	if (o->http_loopback)
		SET(CURLOPT_PROXY, "");
	return CURLE_OK;
}
#undef SET
