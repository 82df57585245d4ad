/*
 * log.c -- JSON lines on stderr.
 *
 * Every line is built in a fixed buffer and written with one write(2), so
 * lines from different threads never interleave.  Text that may come from
 * outside is escaped; a line that would not fit is cut at a character
 * boundary and marked "truncated".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rolehook/log.h"

#define LINE_MAX_ 2048

static enum log_level min_level = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_set_level(enum log_level lvl)
{
	min_level = lvl;
}

struct line {
	char buf[LINE_MAX_];
	size_t len;
	int truncated;
};

static void
put_raw(struct line *l, const char *s, size_t n)
{
	/* Keep room for the closing '}' and '\n'. */
	if (l->len + n > sizeof(l->buf) - 24) {
		l->truncated = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* JSON string escaping (RFC 8259 section 7); control bytes as \u00XX. */
static void
put_escaped(struct line *l, const char *s)
{
	/* RFC 8259 section 7: these five have a two-character escape. */
	static const char two[] = "\"\\\n\r\t";
	const unsigned char *p;
	const char *hit;
	char tmp[8];

	put_raw(l, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0' && !l->truncated; p++) {
		if ((hit = strchr(two, *p)) != NULL) {
			tmp[0] = '\\';
			tmp[1] = "\"\\nrt"[hit - two];
			put_raw(l, tmp, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
			put_raw(l, tmp, 6);
		} else
			put_raw(l, (const char *)p, 1);
	}
	put_raw(l, "\"", 1);
}

static void
begin(struct line *l, enum log_level lvl)
{
	struct timespec ts;
	struct tm tm;
	char tbuf[64];
	int n;

	l->len = 0;
	l->truncated = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(tbuf, sizeof(tbuf),
	    "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\"",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, level_names[lvl]);
	if (n > 0 && (size_t)n < sizeof(tbuf))
		put_raw(l, tbuf, (size_t)n);
}

static void
finish(struct line *l)
{
	ssize_t w;
	size_t off = 0;

	/* put_raw always leaves this much room. */
	if (l->truncated) {
		memcpy(l->buf + l->len, ",\"truncated\":true", 17);
		l->len += 17;
	}
	l->buf[l->len++] = '}';
	l->buf[l->len++] = '\n';
	while (off < l->len) {
		w = write(STDERR_FILENO, l->buf + off, l->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	struct line l;
	char msg[1024];
	va_list ap;

	if (lvl < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	begin(&l, lvl);
	put_raw(&l, ",\"msg\":", 7);
	put_escaped(&l, msg);
	finish(&l);
}

void
log_kv(enum log_level lvl, const char *msg, ...)
{
	struct line l;
	const char *k, *v;
	va_list ap;

	if (lvl < min_level)
		return;
	begin(&l, lvl);
	put_raw(&l, ",\"msg\":", 7);
	put_escaped(&l, msg);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			continue;
		put_raw(&l, ",", 1);
		put_escaped(&l, k);
		put_raw(&l, ":", 1);
		put_escaped(&l, v);
	}
	va_end(ap);
	finish(&l);
}
