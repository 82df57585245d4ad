/*
 * httpc.h -- the libcurl plumbing the two HTTPS clients share (zendesk,
 * oauth): the options every request of rolehook's takes
 * (CONVENTIONS.md, "libcurl"), error text and printable copies of
 * untrusted text.
 */
#ifndef ROLEHOOK_HTTPC_H
#define ROLEHOOK_HTTPC_H

#include <stddef.h>

#include <curl/curl.h>

#define HTTPC_USER_AGENT "rolehook/0.1 (+libcurl)"

/* snprintf into err (nothing when err is NULL or errlen 0). */
void httpc_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copies s[0..n), up to a NUL, into dst (cap bytes, always terminated)
 * as printable ASCII: other bytes become '?'.  For text from the network
 * that ends up in logs and messages.
 */
void httpc_printable(char *dst, size_t cap, const char *s, size_t n);

struct httpc_opts {
	const char *url;
	int http_loopback;           /* http allowed (loopback), no proxy */
	long connect_ms, total_ms;   /* connect and whole-request timeouts */
	curl_off_t max_response;     /* bytes of body, at most */
	char *errbuf;                /* CURL_ERROR_SIZE bytes */
	curl_write_callback write;   /* the body goes here */
	void *write_arg;
};

/*
 * Sets the options every request takes on h: the URL, no signals, no
 * redirects, https only (http too on loopback, then without a proxy),
 * the timeouts, peer and host verification, the size cap, the user
 * agent, the error buffer and the body callback.  Returns CURLE_OK, or
 * the failing code with *failed naming the option ("CURLOPT_URL").
 */
CURLcode httpc_setup(CURL *h, const struct httpc_opts *o,
    const char **failed);

#endif
