/*
 * normalize.c -- a verified sender payload becomes a normalised person
 * event (DESIGN.md "Normalised person attributes"; research/hris.md
 * section 2 and 4, research/zendesk.md section 2).
 *
 * Pure: no I/O, no state beyond const tables.  Every normaliser reads the
 * parsed body through the typed getters below, which check the JSON type
 * before every json-c getter, bound every length and reject NUL bytes, so
 * a field is either what the sender documents or an error that names it
 * ("bamboohr: data.employeeId: expected a string or an integer, found an
 * array").  Error messages never quote payload values (they carry
 * personal data); they name the field and the expected shape.
 *
 * Event mapping choices (which sender event is a hire, which is only a
 * record being created, ...) are documented per sender in
 * docs/normalizers.md; the rule throughout is that the event that makes
 * a change effective acts, and deleting a record is not a leave.  What
 * senders share is data read by one piece of code: each sender's event
 * types are a struct kind_map table (kind_find()), and the attributes it
 * sends at fixed places a struct pick table (pick_attrs()), both naming
 * members by the dotted path that errors quote (at()).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rolehook/caltime.h"
#include "rolehook/jsonutil.h"
#include "rolehook/normalize.h"
#include "rolehook/strv.h"

#define NORM_DEPTH 32          /* json-c tokener stack, top level included */
#define ID_MAX 256             /* employee / user / entity ids */
#define TYPE_MAX 128           /* sender event type strings */
#define EMAIL_MAX 320          /* RFC 5321: 64 + 1 + 255 */
#define JSONTEXT_MAX 8192      /* Zendesk event.previous / event.current */
#define POINTER_MAX 256        /* generic mapping JSON pointers */
#define CUSTOM_KEY_MAX 64      /* custom.<key> */
#define SQUASH_MAX 64          /* field names compared by squash() */
#define PATHLEN 192
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define QUOTE_SHOWN 40
/* Unknown sender fields may fill the tables only up to these marks, so
 * the known attributes and changed names always fit. */
#define CUSTOM_ATTR_MAX (NORM_ATTR_MAX - 16)
#define CUSTOM_CHANGED_MAX (NORM_CHANGED_MAX - 16)
/* 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
#define TIME_MIN INT64_C(-62135596800)
#define TIME_MAX INT64_C(253402300799)

#define K_HIRE "hire"
#define K_UPDATE "update"
#define K_TERMINATE "terminate"
#define K_REHIRE "rehire"
#define K_IGNORED "ignored"

/* One normalize() call. */
struct nctx {
	const char *who;              /* normaliser name, prefixes errors */
	struct norm_event *ev;
	const struct json_object *mapping; /* generic only */
	size_t index;                 /* batch entry wanted */
	size_t count;                 /* batch entries found */
	int batch;                    /* caller splits batches */
	int full;                     /* the payload is a whole person record */
	int failed;
	char *err;
	size_t errlen;
};

/* Accepted JSON types for text_of(). */
enum { T_STR = 1, T_INT = 2, T_BOOL = 4 };

/* A scalar as text: borrowed from json-c, or formatted into num. */
struct text {
	const char *s;                /* NULL: absent or JSON null */
	size_t len;
	int negative;
	char num[24];
};

/* A sender field name (squashed, see squash()) and where it goes. */
struct fieldmap {
	const char *name;
	const char *attr;             /* attribute key for its value */
	const char *changed;          /* name in ev->changed */
	unsigned flags;
};
#define F_DATE 1u                     /* value is a date; "" clears it */

static const char *const names[] = { "zendesk", "bamboohr", "hibob",
	"personio", "gusto", "deel", "merge", "finch", "generic", NULL };

/* Attributes that only identify (or date) an event, not describe a
 * person; custom.*_id ones count too (see is_id_attr()). */
static const char *const id_attrs[] = { "employee_id", "external_id",
	"effective_at", "custom.employee_number", NULL };

/* Attribute names a generic mapping may use besides custom.<key>. */
static const char *const mapping_attrs[] = { "employee_id", "email",
	"external_id", "name", "department", "title", "location",
	"employment_status", "manager_email", "effective_at", NULL };

static const char *const generic_kinds[] = { K_HIRE, K_UPDATE, K_TERMINATE,
	K_REHIRE, NULL };

/* ---- errors ---- */

static int nfail(struct nctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records the first error as "<normaliser>: <message>"; returns -1. */
static int
nfail(struct nctx *c, const char *fmt, ...)
{
	char msg[NORM_ERRLEN];
	va_list ap;

	if (c->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err != NULL && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s: %s", c->who, msg);
	c->failed = 1;
	return -1;
}

static int
is_word(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.'))
			return 0;
	return 1;
}

/*
 * A sender-chosen member name for an error path: as is when it is a
 * plain word, else quoted with escapes and cut at QUOTE_SHOWN bytes.
 */
static const char *
qkey(char *buf, size_t cap, const char *s)
{
	size_t i, o = 0;

	if (strlen(s) <= QUOTE_SHOWN && is_word(s)) {
		snprintf(buf, cap, "%s", s);
		return buf;
	}
	if (cap < 8) {
		buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (i = 0; s[i] != '\0' && i < QUOTE_SHOWN && o + 6 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			snprintf(buf + o, cap - o, "\\x%02x", ch);
			o += 4;
		} else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	if (s[i] != '\0' && o + 4 < cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* dst = "parent.key" (key quoted when needed). */
static const char *
path_key(char *dst, size_t cap, const char *parent, const char *key)
{
	char q[QUOTE_SHOWN * 4 + 8];

	snprintf(dst, cap, "%s%s%s", parent, *parent != '\0' ? "." : "",
	    qkey(q, sizeof(q), key));
	return dst;
}

/* ---- small string helpers (ASCII, locale-independent) ---- */

static char
lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Case-insensitive ASCII equality. */
static int
ieq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (lower(*a) != lower(*b))
			return 0;
	return *a == *b;
}

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static char *
dupn(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/*
 * Field names compare squashed: lower-case letters, digits and '#' only,
 * so "Job Title", "jobTitle" and "job_title" are one name, as are HiBob's
 * "work.title" and "worktitle".  Longer names never match a table entry.
 */
static void
squash(char *dst, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 1 < cap; s++) {
		char ch = lower(*s);

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '#')
			dst[o++] = ch;
	}
	dst[o] = '\0';
	if (*s != '\0' && cap > 0)
		dst[0] = '\0';
}

/*
 * "custom.<key>" for an unknown sender field: lower-case letters and
 * digits, other runs become one '_', cut at CUSTOM_KEY_MAX.
 */
static void
custom_key(char *dst, size_t cap, const char *s)
{
	size_t o;
	int sep = 0;

	o = (size_t)snprintf(dst, cap, "custom.");
	for (; *s != '\0'; s++) {
		char ch = lower(*s);

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
			size_t need = (sep && o > 7) + 1;

			if (o + need > 7 + CUSTOM_KEY_MAX || o + need >= cap)
				break;
			if (sep && o > 7)
				dst[o++] = '_';
			dst[o++] = ch;
			sep = 0;
		} else
			sep = 1;
	}
	if (o == 7)
		o += (size_t)snprintf(dst + o, cap - o, "field");
	dst[o] = '\0';
}

static const struct fieldmap *
field_find(const struct fieldmap *tab, const char *name)
{
	char sq[SQUASH_MAX];

	squash(sq, sizeof(sq), name);
	if (sq[0] == '\0')
		return NULL;
	for (; tab->name != NULL; tab++)
		if (strcmp(tab->name, sq) == 0)
			return tab;
	return NULL;
}

/* ---- dates ---- */

/*
 * Strict date parser: "YYYY-MM-DD" (midnight UTC), or
 * "YYYY-MM-DD[T ]HH:MM:SS[.fraction][zone]" with zone "Z", "+HH:MM" or
 * "+HHMM" (RFC 3339 section 5.6, plus BambooHR's "+0000"); a missing
 * zone is UTC (HiBob's triggeredAt carries none).  Every field is range
 * checked (day against the month, leap years).  Returns 0 and *out (unix
 * seconds), or -1.  Not timegm(): pure arithmetic, no struct tm or
 * time_t range questions.  Deliberately not verify_parse_rfc3339: that
 * one is strict RFC 3339 for signature timestamps (zone required,
 * "T" only, years from 1970); HR senders need the date-only, space,
 * "+HHMM" and zoneless forms above.
 */
static int
parse_time(const char *s, size_t len, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om, dim;
	int64_t t, off = 0;
	size_t p;

	if (len < 10 || caltime_digits(s, 4, &y) != 0 || s[4] != '-' ||
	    caltime_digits(s + 5, 2, &mo) != 0 || s[7] != '-' ||
	    caltime_digits(s + 8, 2, &d) != 0)
		return -1;
	if (y < 1 || mo < 1 || mo > 12)
		return -1;
	dim = caltime_days_in_month(y, mo);
	if (d < 1 || d > dim)
		return -1;
	p = 10;
	if (len > p) {
		if (len < p + 9 || (s[p] != 'T' && s[p] != 't' && s[p] != ' ') ||
		    caltime_digits(s + p + 1, 2, &h) != 0 || s[p + 3] != ':' ||
		    caltime_digits(s + p + 4, 2, &mi) != 0 || s[p + 6] != ':' ||
		    caltime_digits(s + p + 7, 2, &sec) != 0)
			return -1;
		if (h > 23 || mi > 59 || sec > 60)
			return -1;
		p += 9;
		if (p < len && s[p] == '.') {
			size_t f = ++p;

			while (p < len && s[p] >= '0' && s[p] <= '9')
				p++;
			if (p == f || p - f > 9)
				return -1;
		}
		if (p < len) {
			if ((s[p] == 'Z' || s[p] == 'z') && p + 1 == len)
				p++;
			else if (s[p] == '+' || s[p] == '-') {
				int sign = s[p] == '-' ? -1 : 1;

				if (len == p + 6 && s[p + 3] == ':' &&
				    caltime_digits(s + p + 1, 2, &oh) == 0 &&
				    caltime_digits(s + p + 4, 2, &om) == 0)
					p += 6;
				else if (len == p + 5 &&
				    caltime_digits(s + p + 1, 2, &oh) == 0 &&
				    caltime_digits(s + p + 3, 2, &om) == 0)
					p += 5;
				else
					return -1;
				if (oh > 23 || om > 59)
					return -1;
				off = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
			} else
				return -1;
		}
		if (p != len)
			return -1;
	}
	t = caltime_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 +
	    (int64_t)mi * 60 + sec - off;
	if (t < TIME_MIN || t > TIME_MAX)
		return -1;
	*out = t;
	return 0;
}

/* RFC 3339 UTC text of t into buf (>= 80 bytes); "" when out of range. */
static const char *
format_time(char *buf, size_t cap, int64_t t)
{
	int64_t z, era, yy, secs;
	unsigned doe, yoe, doy, mp, d, m;

	if (t < TIME_MIN || t > TIME_MAX) {
		snprintf(buf, cap, "%s", "");
		return buf;
	}
	z = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	secs = t - z * 86400;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	yy += m <= 2;
	snprintf(buf, cap, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02uZ", yy, m,
	    d, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
	    (unsigned)(secs % 60));
	return buf;
}

/* ---- typed getters: check the type before every json-c getter ---- */

/* The member key of o, or NULL (also for JSON null and non-objects). */
static struct json_object *
member(const struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static int
has_member(const struct json_object *o, const char *key)
{
	return o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, key, NULL);
}

/*
 * The value at a dotted path of member names from root
 * ("data.resource.id", which is also the path errors name), NULL when
 * absent or null.
 */
static struct json_object *
at(const struct json_object *root, const char *path)
{
	const struct json_object *o = root;
	struct json_object *v = NULL;
	const char *dot;
	char key[PATHLEN];
	size_t n;

	for (;;) {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if ((v = member(o, key)) == NULL || dot == NULL)
			return v;
		o = v;
		path = dot + 1;
	}
}

/*
 * *out = parent.key when it has type want (noun: "an object"), NULL when
 * absent or null.
 */
static int
opt_typed(struct nctx *c, const struct json_object *parent, const char *key,
    const char *path, enum json_type want, const char *noun,
    struct json_object **out)
{
	struct json_object *v = member(parent, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, want))
		return nfail(c, "%s: expected %s, found %s", path, noun,
		    json_type_noun(v));
	*out = v;
	return 0;
}

static int
opt_object(struct nctx *c, const struct json_object *parent, const char *key,
    const char *path, struct json_object **out)
{
	return opt_typed(c, parent, key, path, json_type_object, "an object",
	    out);
}

static int
req_object(struct nctx *c, const struct json_object *parent, const char *key,
    const char *path, struct json_object **out)
{
	if (opt_object(c, parent, key, path, out) != 0)
		return -1;
	if (*out == NULL)
		return nfail(c, "%s: missing (expected an object)", path);
	return 0;
}

static int
opt_array(struct nctx *c, const struct json_object *parent, const char *key,
    const char *path, struct json_object **out)
{
	return opt_typed(c, parent, key, path, json_type_array, "an array",
	    out);
}

static const char *
expected(unsigned accept)
{
	switch (accept) {
	case T_STR:
		return "a string";
	case T_STR | T_INT:
		return "a string or an integer";
	default:
		return "a string, an integer or a boolean";
	}
}

/*
 * t = the scalar v as text.  v NULL (absent or JSON null) leaves t->s
 * NULL.  Strings longer than max or holding a NUL are errors; integers
 * are formatted exactly (uint64 above INT64_MAX included).
 */
static int
text_of(struct nctx *c, struct json_object *v, const char *path,
    unsigned accept, size_t max, struct text *t)
{
	memset(t, 0, sizeof(*t));
	if (v == NULL)
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 0;
	case json_type_string:
		if (accept & T_STR) {
			int n = json_object_get_string_len(v);
			const char *s = json_object_get_string(v);

			if (n < 0 || s == NULL)
				return nfail(c, "%s: unreadable string", path);
			if ((size_t)n > max)
				return nfail(c, "%s: longer than %zu bytes",
				    path, max);
			if (memchr(s, '\0', (size_t)n) != NULL)
				return nfail(c, "%s: contains a NUL "
				    "character", path);
			t->s = s;
			t->len = (size_t)n;
			return 0;
		}
		break;
	case json_type_int:
		if (accept & T_INT) {
			int64_t i = json_object_get_int64(v);

			if (i == INT64_MAX)
				snprintf(t->num, sizeof(t->num), "%" PRIu64,
				    json_object_get_uint64(v));
			else
				snprintf(t->num, sizeof(t->num), "%" PRId64,
				    i);
			t->negative = i < 0;
			t->s = t->num;
			t->len = strlen(t->num);
			return 0;
		}
		break;
	case json_type_boolean:
		if (accept & T_BOOL) {
			t->s = json_object_get_boolean(v) ? "true" : "false";
			t->len = strlen(t->s);
			return 0;
		}
		break;
	default:
		break;
	}
	return nfail(c, "%s: expected %s, found %s", path, expected(accept),
	    json_type_noun(v));
}

/*
 * An identifier: a string or a non-negative integer, 1..ID_MAX visible
 * ASCII bytes.  "" is taken as absent.
 */
static int
id_check(struct nctx *c, struct text *t, const char *path)
{
	size_t i;

	if (t->s == NULL)
		return 0;
	if (t->len == 0) {
		t->s = NULL;
		return 0;
	}
	if (t->len > ID_MAX)
		return nfail(c, "%s: longer than %d bytes", path, ID_MAX);
	if (t->negative)
		return nfail(c, "%s: expected a non-negative id", path);
	for (i = 0; i < t->len; i++)
		if ((unsigned char)t->s[i] <= 0x20 ||
		    (unsigned char)t->s[i] >= 0x7f)
			return nfail(c, "%s: expected an id of visible ASCII "
			    "characters", path);
	return 0;
}

static int
id_of(struct nctx *c, struct json_object *v, const char *path,
    struct text *t)
{
	if (text_of(c, v, path, T_STR | T_INT, ID_MAX, t) != 0)
		return -1;
	return id_check(c, t, path);
}

/* id_of() the member at path (see at()). */
static int
id_at(struct nctx *c, const struct json_object *root, const char *path,
    struct text *t)
{
	return id_of(c, at(root, path), path, t);
}

/* An e-mail address: local@domain, no spaces or controls; "" = absent. */
static int
email_check(struct nctx *c, const struct text *t, const char *path)
{
	const char *at;
	size_t i;

	at = memchr(t->s, '@', t->len);
	if (at == NULL || at == t->s || at == t->s + t->len - 1)
		return nfail(c, "%s: expected an e-mail address", path);
	for (i = 0; i < t->len; i++)
		if ((unsigned char)t->s[i] <= 0x20 ||
		    (unsigned char)t->s[i] == 0x7f)
			return nfail(c, "%s: expected an e-mail address",
			    path);
	return 0;
}

static int
email_of(struct nctx *c, struct json_object *v, const char *path,
    struct text *t)
{
	if (text_of(c, v, path, T_STR, EMAIL_MAX, t) != 0)
		return -1;
	if (t->s == NULL)
		return 0;
	if (t->len == 0) {
		t->s = NULL;
		return 0;
	}
	return email_check(c, t, path);
}

/* ---- building the event ---- */

static int
oom(struct nctx *c)
{
	return nfail(c, "out of memory");
}

static int
set_str(struct nctx *c, char **dst, const char *s, size_t len)
{
	char *d = dupn(s, len);

	if (d == NULL)
		return oom(c);
	free(*dst);
	*dst = d;
	return 0;
}

static int
is_custom(const char *key)
{
	return has_prefix(key, "custom.");
}

/*
 * Sets attribute key (replacing an earlier value).  Values longer than
 * NORM_VALUE_MAX are errors.  Unknown sender fields (soft) stop at
 * CUSTOM_ATTR_MAX and set ev->truncated instead of failing.
 */
static int
attr_put(struct nctx *c, const char *key, const char *val, size_t len,
    int soft)
{
	struct norm_event *ev = c->ev;
	char *k = NULL, *v = NULL;
	size_t i;

	if (len > NORM_VALUE_MAX)
		return nfail(c, "%s: longer than %d bytes", key,
		    NORM_VALUE_MAX);
	for (i = 0; i < ev->nattrs; i++)
		if (strcmp(ev->attrs[i].key, key) == 0)
			return set_str(c, &ev->attrs[i].value, val, len);
	if (soft && ev->nattrs >= CUSTOM_ATTR_MAX) {
		ev->truncated = 1;
		return 0;
	}
	if (ev->nattrs == NORM_ATTR_MAX)
		return nfail(c, "more than %d attributes", NORM_ATTR_MAX);
	if ((k = dupn(key, strlen(key))) == NULL ||
	    (v = dupn(val, len)) == NULL) {
		free(k);
		return oom(c);
	}
	ev->attrs[ev->nattrs].key = k;
	ev->attrs[ev->nattrs].value = v;
	ev->nattrs++;
	return 0;
}

static int
attr_text(struct nctx *c, const char *key, const struct text *t)
{
	if (t->s == NULL)
		return 0;
	return attr_put(c, key, t->s, t->len, 0);
}

/* Adds a normalised name to ev->changed once; custom.* names are capped. */
static int
changed_add(struct nctx *c, const char *name)
{
	struct norm_event *ev = c->ev;
	size_t i, ncustom = 0;
	char *d;

	for (i = 0; i < ev->nchanged; i++) {
		if (strcmp(ev->changed[i], name) == 0)
			return 0;
		ncustom += is_custom(ev->changed[i]) != 0;
	}
	if ((is_custom(name) && ncustom >= CUSTOM_CHANGED_MAX) ||
	    ev->nchanged == NORM_CHANGED_MAX) {
		ev->truncated = 1;
		return 0;
	}
	if ((d = dupn(name, strlen(name))) == NULL)
		return oom(c);
	ev->changed[ev->nchanged++] = d;
	return 0;
}

static int
changed_has(const struct norm_event *ev, const char *name)
{
	size_t i;

	for (i = 0; i < ev->nchanged; i++)
		if (strcmp(ev->changed[i], name) == 0)
			return 1;
	return 0;
}

static int
set_kind(struct nctx *c, const char *kind)
{
	return set_str(c, &c->ev->kind, kind, strlen(kind));
}

static int ignore(struct nctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* kind "ignored" with a reason for the operator; returns 0. */
static int
ignore(struct nctx *c, const char *fmt, ...)
{
	char msg[NORM_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (set_kind(c, K_IGNORED) != 0 ||
	    set_str(c, &c->ev->ignored_reason, msg, strlen(msg)) != 0)
		return -1;
	return 0;
}

static int
set_sender_type(struct nctx *c, const struct text *t)
{
	return set_str(c, &c->ev->sender_type, t->s, t->len);
}

/*
 * The sender's event type at path (see at()): a non-empty string of
 * at most TYPE_MAX bytes, kept as ev->sender_type.
 */
static int
sender_type(struct nctx *c, const struct json_object *root, const char *path,
    struct text *t)
{
	if (text_of(c, at(root, path), path, T_STR, TYPE_MAX, t) != 0)
		return -1;
	if (t->s == NULL || t->len == 0)
		return nfail(c, "%s: missing (expected the event type)", path);
	return set_sender_type(c, t);
}

/* Removes attribute key if present. */
static void
attr_del(struct norm_event *ev, const char *key)
{
	size_t i;

	for (i = 0; i < ev->nattrs; i++)
		if (strcmp(ev->attrs[i].key, key) == 0) {
			free(ev->attrs[i].key);
			free(ev->attrs[i].value);
			ev->attrs[i] = ev->attrs[--ev->nattrs];
			ev->attrs[ev->nattrs].key = NULL;
			ev->attrs[ev->nattrs].value = NULL;
			return;
		}
}

/* subject = "<prefix>:<id>". */
static int
set_subject(struct nctx *c, const char *prefix, const struct text *id)
{
	size_t plen = strlen(prefix), len = plen + 1 + id->len;
	char *s;

	if ((s = malloc(len + 1)) == NULL)
		return oom(c);
	memcpy(s, prefix, plen);
	s[plen] = ':';
	memcpy(s + plen + 1, id->s, id->len);
	s[len] = '\0';
	free(c->ev->subject);
	c->ev->subject = s;
	return 0;
}

/* subject = "<normaliser>:<id>"; the id is also attribute employee_id. */
static int
set_person(struct nctx *c, const struct text *id)
{
	if (set_subject(c, c->who, id) != 0)
		return -1;
	return attr_text(c, "employee_id", id);
}

/*
 * set_person(); without a person id, subject "<alt_prefix>:<alt>" when
 * alt (may be NULL) holds one; else an error naming path.
 */
static int
need_subject(struct nctx *c, const struct text *id, const char *alt_prefix,
    const struct text *alt, const char *path, const char *what)
{
	if (id->s != NULL)
		return set_person(c, id);
	if (alt != NULL && alt->s != NULL)
		return set_subject(c, alt_prefix, alt);
	return nfail(c, "%s: missing (expected the %s)", path, what);
}

static int
need_person(struct nctx *c, const struct text *id, const char *path,
    const char *what)
{
	return need_subject(c, id, NULL, NULL, path, what);
}

/* subject = "email:<lower-case address>". */
static int
set_email_subject(struct nctx *c, const char *email)
{
	size_t i, len = strlen(email);
	char *s;

	if ((s = malloc(len + 7)) == NULL)
		return oom(c);
	memcpy(s, "email:", 6);
	for (i = 0; i < len; i++)
		s[6 + i] = lower(email[i]);
	s[6 + len] = '\0';
	free(c->ev->subject);
	c->ev->subject = s;
	return 0;
}

/* Parses a time value (date string, or unix seconds when allow_unix). */
static int
time_of(struct nctx *c, struct json_object *v, const char *path,
    int allow_unix, int64_t *out, struct text *t)
{
	*out = 0;
	if (text_of(c, v, path, allow_unix ? T_STR | T_INT : T_STR, 64,
	    t) != 0)
		return -1;
	if (t->s == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i < 0 || i > TIME_MAX)
			return nfail(c, "%s: expected unix seconds between 0 "
			    "and %" PRId64, path, TIME_MAX);
		*out = i;
		return 0;
	}
	if (parse_time(t->s, t->len, out) != 0)
		return nfail(c, "%s: expected a date (YYYY-MM-DD or RFC 3339 "
		    "date-time)", path);
	return 0;
}

static int
occurred_from(struct nctx *c, const struct json_object *parent,
    const char *key, const char *path, int allow_unix)
{
	struct text t;

	return time_of(c, member(parent, key), path, allow_unix,
	    &c->ev->occurred_at, &t);
}

/*
 * effective_at from the date member at path (see at(); absent, null,
 * "" and BambooHR's "0000-00-00" leave it unset); the text goes to
 * attribute effective_at.
 */
static int
effective_from(struct nctx *c, const struct json_object *root,
    const char *path)
{
	struct json_object *v = at(root, path);
	struct text t;
	int64_t when;

	if (text_of(c, v, path, T_STR, 64, &t) != 0)
		return -1;
	if (t.s == NULL || t.len == 0 || strcmp(t.s, "0000-00-00") == 0)
		return 0;
	if (time_of(c, v, path, 0, &when, &t) != 0)
		return -1;
	c->ev->effective_at = when;
	return attr_text(c, "effective_at", &t);
}

/*
 * effective_from() the first of paths[0..n) that is sent: a date member
 * that is absent or null ("date or null", research/hris.md 4.2) does not
 * hide the next one.
 */
static int
effective_first(struct nctx *c, const struct json_object *root,
    const char *const *paths, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (at(root, paths[i]) != NULL)
			return effective_from(c, root, paths[i]);
	return 0;
}

/* effective_at from an attribute this normaliser already set. */
static int
effective_from_attr(struct nctx *c, const char *key)
{
	const char *v = norm_attr(c->ev, key);
	int64_t when;

	if (v == NULL || *v == '\0' || strcmp(v, "0000-00-00") == 0)
		return 0;
	if (parse_time(v, strlen(v), &when) != 0)
		return nfail(c, "%s: expected a date", key);
	c->ev->effective_at = when;
	return attr_put(c, "effective_at", v, strlen(v), 0);
}

/* kind, and effective_at from an attribute this normaliser already set. */
static int
set_kind_dated(struct nctx *c, const char *kind, const char *key)
{
	if (set_kind(c, kind) != 0)
		return -1;
	return effective_from_attr(c, key);
}

/* A tenant / company id at path, kept as custom.tenant_id when present. */
static int
tenant_from(struct nctx *c, const struct json_object *root, const char *path)
{
	struct text t;

	if (id_at(c, root, path, &t) != 0)
		return -1;
	return attr_text(c, "custom.tenant_id", &t);
}

/* name = "first last" when both parts are known and no name is. */
static int
compose_name(struct nctx *c)
{
	const char *f = norm_attr(c->ev, "custom.first_name");
	const char *l = norm_attr(c->ev, "custom.last_name");
	char buf[NORM_VALUE_MAX + 1];
	int n;

	if (norm_attr(c->ev, "name") != NULL || f == NULL || l == NULL ||
	    *f == '\0' || *l == '\0')
		return 0;
	n = snprintf(buf, sizeof(buf), "%s %s", f, l);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return nfail(c, "name: longer than %d bytes", NORM_VALUE_MAX);
	return attr_put(c, "name", buf, (size_t)n, 0);
}

/* type == base or type starts with base followed by '.'. */
static int
type_family(const char *type, const char *base)
{
	size_t n = strlen(base);

	return strncmp(type, base, n) == 0 &&
	    (type[n] == '\0' || type[n] == '.');
}

/* A value that is a string, or an object whose "name" is one. */
static int
name_or_object(struct nctx *c, struct json_object *v, const char *path,
    struct text *t)
{
	char p[PATHLEN];

	if (v != NULL && json_object_is_type(v, json_type_object)) {
		snprintf(p, sizeof(p), "%s.name", path);
		return text_of(c, member(v, "name"), p, T_STR,
		    NORM_VALUE_MAX, t);
	}
	return text_of(c, v, path, T_STR, NORM_VALUE_MAX, t);
}

/* ---- event types and attributes as data ---- */

/* A sender event type and what it is (research/hris.md section 2). */
struct kind_map {
	const char *type;
	const char *kind;             /* K_*; NULL: ignored, for why */
	const char *why;
	unsigned flags;
};
#define KM_FAMILY 1u                  /* type, or type followed by '.' */

/* The entry for a sender event type, or NULL. */
static const struct kind_map *
kind_find(const struct kind_map *tab, const char *type)
{
	for (; tab->type != NULL; tab++)
		if (strcmp(tab->type, type) == 0 ||
		    ((tab->flags & KM_FAMILY) && type_family(type, tab->type)))
			return tab;
	return NULL;
}

/* An event type not acted on (k NULL: not in the table); returns 0. */
static int
ignore_kind(struct nctx *c, const struct kind_map *k)
{
	if (k != NULL && k->why != NULL)
		return ignore(c, "%s", k->why);
	return ignore(c, "%s: event type not acted on", c->who);
}

/* ignore_kind(), naming the person when the id is known. */
static int
ignore_person(struct nctx *c, const struct kind_map *k, const struct text *id)
{
	if (id->s != NULL && set_person(c, id) != 0)
		return -1;
	return ignore_kind(c, k);
}

/* How a picked member is read. */
enum pick_as {
	P_TEXT,                       /* a string, NORM_VALUE_MAX bytes */
	P_SHORT,                      /* a string of at most 64 bytes */
	P_RAWID,                      /* a string or an integer, ID_MAX */
	P_ID,                         /* an identifier, see id_of() */
	P_EMAIL,                      /* an e-mail address, see email_of() */
	P_NAME,                       /* see name_or_object() */
	P_DATE                        /* a date, see time_of() */
};

#define PICK_PATHS 4

/*
 * An attribute and where a sender puts it: the first of paths (see
 * at(); unused ones NULL) that holds a value.  An id or e-mail of ""
 * is absent, so the next path is tried.
 */
struct pick {
	const char *attr;
	enum pick_as as;
	const char *path[PICK_PATHS];
};

static int
pick_read(struct nctx *c, struct json_object *v, const char *path,
    enum pick_as as, struct text *t)
{
	int64_t when;

	switch (as) {
	case P_SHORT:
		return text_of(c, v, path, T_STR, 64, t);
	case P_RAWID:
		return text_of(c, v, path, T_STR | T_INT, ID_MAX, t);
	case P_ID:
		return id_of(c, v, path, t);
	case P_EMAIL:
		return email_of(c, v, path, t);
	case P_NAME:
		return name_or_object(c, v, path, t);
	case P_DATE:
		return time_of(c, v, path, 0, &when, t);
	case P_TEXT:
	default:
		return text_of(c, v, path, T_STR, NORM_VALUE_MAX, t);
	}
}

/* t = the first of paths[0..n) (NULL ends them early) with a value. */
static int
pick_first(struct nctx *c, const struct json_object *root, enum pick_as as,
    const char *const *paths, size_t n, struct text *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n && paths[i] != NULL && t->s == NULL; i++)
		if (pick_read(c, at(root, paths[i]), paths[i], as, t) != 0)
			return -1;
	return 0;
}

/* Every attribute of tab (ended by a NULL attr) that the body holds. */
static int
pick_attrs(struct nctx *c, const struct json_object *root,
    const struct pick *tab)
{
	struct text t;

	for (; tab->attr != NULL; tab++)
		if (pick_first(c, root, tab->as, tab->path, PICK_PATHS,
		    &t) != 0 || attr_text(c, tab->attr, &t) != 0)
			return -1;
	return 0;
}

/* A member that, when present, must be the string want. */
static int
opt_const(struct nctx *c, const struct json_object *root, const char *path,
    size_t max, const char *want, const char *why)
{
	struct text t;

	if (text_of(c, at(root, path), path, T_STR, max, &t) != 0)
		return -1;
	if (t.s != NULL && strcmp(t.s, want) != 0)
		return nfail(c, "%s: expected \"%s\" %s", path, want, why);
	return 0;
}

/*
 * A sender field: its changed name (when listed as changed) and value
 * (when sent) go under the table's names, or custom.<field> if unknown.
 */
static int
field_value(struct nctx *c, const struct fieldmap *tab, const char *name,
    struct json_object *v, const char *path)
{
	const struct fieldmap *f = field_find(tab, name);
	char ck[sizeof("custom.") + CUSTOM_KEY_MAX + 8];
	struct text t;

	if (text_of(c, v, path, T_STR | T_INT | T_BOOL, NORM_VALUE_MAX,
	    &t) != 0)
		return -1;
	if (t.s == NULL)
		return 0;
	if (f == NULL) {
		custom_key(ck, sizeof(ck), name);
		return attr_put(c, ck, t.s, t.len, 1);
	}
	if ((f->flags & F_DATE) && strcmp(t.s, "0000-00-00") == 0) {
		/* BambooHR's empty date: the field was cleared. */
		t.s = "";
		t.len = 0;
	}
	if ((f->flags & F_DATE) && t.len > 0) {
		int64_t when;

		if (parse_time(t.s, t.len, &when) != 0)
			return nfail(c, "%s: expected a date (YYYY-MM-DD or "
			    "RFC 3339 date-time)", path);
	}
	if (strcmp(f->attr, "email") == 0 && t.len > 0 &&
	    email_check(c, &t, path) != 0)
		return -1;
	return attr_put(c, f->attr, t.s, t.len, 0);
}

static int
field_changed(struct nctx *c, const struct fieldmap *tab, const char *name)
{
	const struct fieldmap *f = field_find(tab, name);
	char ck[sizeof("custom.") + CUSTOM_KEY_MAX + 8];

	if (f != NULL)
		return changed_add(c, f->changed);
	custom_key(ck, sizeof(ck), name);
	return changed_add(c, ck);
}

/* An array of field names (strings) into ev->changed. */
static int
changed_list(struct nctx *c, struct json_object *arr, const char *path,
    const struct fieldmap *tab)
{
	char p[PATHLEN];
	size_t i, n;

	if (arr == NULL)
		return 0;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		struct text t;

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (text_of(c, v, p, T_STR, TYPE_MAX, &t) != 0)
			return -1;
		if (t.s == NULL)
			return nfail(c, "%s: expected a string, found null", p);
		if (field_changed(c, tab, t.s) != 0)
			return -1;
	}
	return 0;
}

static int
is_id_attr(const char *key)
{
	size_t n = strlen(key);

	if (strv_index(id_attrs, key) >= 0)
		return 1;
	return is_custom(key) && n > 3 && strcmp(key + n - 3, "_id") == 0;
}

/*
 * Sets completeness: FULL when the normaliser saw a whole record, else
 * PARTIAL when any attribute describes the person (not only ids and
 * dates), else IDS_ONLY.
 */
static void
set_completeness(struct nctx *c)
{
	size_t i;

	if (c->full) {
		c->ev->completeness = NORM_FULL;
		return;
	}
	c->ev->completeness = NORM_IDS_ONLY;
	for (i = 0; i < c->ev->nattrs; i++)
		if (!is_id_attr(c->ev->attrs[i].key)) {
			c->ev->completeness = NORM_PARTIAL;
			return;
		}
}

/* ---- Zendesk (research/zendesk.md section 2) ---- */

/* Which attribute a Zendesk user event changes. */
static const struct {
	const char *type;
	const char *changed;
} zd_changes[] = {
	{ "user.role_changed", "custom.zendesk_role" },
	{ "user.custom_role_changed", "custom.zendesk_custom_role_id" },
	{ "user.active_changed", "custom.zendesk_active" },
	{ "user.external_id_changed", "external_id" },
	{ "user.email_changed", "email" },
	{ "user.name_changed", "name" },
	{ "user.group_membership_created", "custom.zendesk_groups" },
	{ "user.group_membership_deleted", "custom.zendesk_groups" },
	{ NULL, NULL }
};

/* The user's state in a user event's detail. */
static const struct pick zd_detail[] = {
	{ "email", P_EMAIL, { "detail.email" } },
	{ "external_id", P_RAWID, { "detail.external_id" } },
	{ "name", P_TEXT, { "detail.name" } },
	{ "custom.zendesk_role", P_SHORT, { "detail.role" } },
	{ "custom.zendesk_custom_role_id", P_ID,
	  { "detail.custom_role_id" } },
	{ "custom.zendesk_organization_id", P_ID,
	  { "detail.organization_id" } },
	{ "custom.zendesk_default_group_id", P_ID,
	  { "detail.default_group_id" } },
	{ NULL, P_TEXT, { NULL } }
};

/* A positive decimal user id of at most 19 digits. */
static int
parse_uid(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v == 0)
		return -1;
	*out = v;
	return 0;
}

/* event.<key> as compact JSON text; a present null becomes "null". */
static int
zd_json_text(struct nctx *c, const struct json_object *event, const char *key,
    const char *path, char **dst)
{
	struct json_object *v = NULL;
	const char *s;
	size_t n;

	if (event == NULL || !json_object_object_get_ex(event, key, &v))
		return 0;
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL)
		return oom(c);
	n = strlen(s);
	if (n > JSONTEXT_MAX)
		return nfail(c, "%s: longer than %d bytes as JSON", path,
		    JSONTEXT_MAX);
	return set_str(c, dst, s, n);
}

static int
norm_zendesk(struct nctx *c, struct json_object *root)
{
	static const char prefix[] = "zen:event-type:";
	struct norm_event *ev = c->ev;
	struct json_object *detail, *event;
	struct text type, subj, did, t;
	const char *rest;
	char kind[TYPE_MAX + 16], idbuf[24];
	int64_t sid = 0, uid = 0;
	size_t i;

	if (sender_type(c, root, "type", &type) != 0)
		return -1;
	if (!has_prefix(type.s, prefix))
		return nfail(c, "type: expected a Zendesk event type "
		    "\"zen:event-type:...\"");
	rest = type.s + sizeof(prefix) - 1;
	for (i = 0; rest[i] != '\0'; i++)
		if (!((rest[i] >= 'a' && rest[i] <= 'z') ||
		    (rest[i] >= '0' && rest[i] <= '9') || rest[i] == '_' ||
		    rest[i] == '.'))
			return nfail(c, "type: unexpected character in the "
			    "event type (expected a-z, 0-9, '_', '.')");
	if (occurred_from(c, root, "time", "time", 0) != 0)
		return -1;
	if (!has_prefix(rest, "user.") || rest[5] == '\0')
		return ignore(c, "zendesk: %s events are not user events",
		    rest[0] != '\0' ? rest : "untyped");
	snprintf(kind, sizeof(kind), "zendesk.%s", rest);
	if (set_kind(c, kind) != 0)
		return -1;

	if (opt_object(c, root, "detail", "detail", &detail) != 0 ||
	    opt_object(c, root, "event", "event", &event) != 0)
		return -1;
	if (text_of(c, member(root, "subject"), "subject", T_STR, TYPE_MAX,
	    &subj) != 0)
		return -1;
	if (subj.s != NULL && (!has_prefix(subj.s, "zen:user:") ||
	    parse_uid(subj.s + 9, subj.len - 9, &sid) != 0))
		return nfail(c, "subject: expected \"zen:user:<id>\"");
	if (id_at(c, root, "detail.id", &did) != 0)
		return -1;
	if (did.s != NULL && parse_uid(did.s, did.len, &uid) != 0)
		return nfail(c, "detail.id: expected a positive decimal user "
		    "id");
	if (sid == 0 && uid == 0)
		return nfail(c, "detail.id: missing (expected the Zendesk "
		    "user id, or subject \"zen:user:<id>\")");
	if (sid != 0 && uid != 0 && sid != uid)
		return nfail(c, "subject: user %" PRId64 " does not match "
		    "detail.id %" PRId64, sid, uid);
	ev->zendesk_user_id = sid != 0 ? sid : uid;
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, ev->zendesk_user_id);
	t.s = idbuf;
	t.len = strlen(idbuf);
	/* Not employee_id: that is an HR id, a Zendesk user id is not. */
	if (set_subject(c, "zendesk", &t) != 0)
		return -1;

	/* The user's state, not only its id. */
	c->full = has_member(detail, "email") || has_member(detail, "role");
	if (pick_attrs(c, root, zd_detail) != 0 ||
	    zd_json_text(c, event, "previous", "event.previous",
	    &ev->previous) != 0 ||
	    zd_json_text(c, event, "current", "event.current",
	    &ev->current) != 0)
		return -1;
	for (i = 0; zd_changes[i].type != NULL; i++)
		if (strcmp(zd_changes[i].type, rest) == 0)
			return changed_add(c, zd_changes[i].changed);
	return 0;
}

/* ---- BambooHR (research/hris.md 2.1) ---- */

/* API aliases and English names, squashed (see squash()). */
static const struct fieldmap bamboo_fields[] = {
	{ "firstname", "custom.first_name", "name", 0 },
	{ "lastname", "custom.last_name", "name", 0 },
	{ "preferredname", "custom.preferred_name", "name", 0 },
	{ "displayname", "name", "name", 0 },
	{ "jobtitle", "title", "title", 0 },
	{ "department", "department", "department", 0 },
	{ "division", "custom.division", "custom.division", 0 },
	{ "location", "location", "location", 0 },
	{ "workemail", "email", "email", 0 },
	{ "status", "employment_status", "employment_status", 0 },
	{ "employmentstatus", "custom.employment_type",
	  "custom.employment_type", 0 },
	{ "hiredate", "custom.hire_date", "custom.hire_date", F_DATE },
	{ "terminationdate", "custom.termination_date",
	  "custom.termination_date", F_DATE },
	{ "supervisoreid", "custom.manager_id", "manager_email", 0 },
	{ "supervisorid", "custom.manager_id", "manager_email", 0 },
	{ "supervisoremail", "manager_email", "manager_email", 0 },
	{ "reportingto", "custom.reporting_to", "manager_email", 0 },
	{ "supervisor", "custom.reporting_to", "manager_email", 0 },
	{ "employeenumber", "custom.employee_number",
	  "custom.employee_number", 0 },
	{ "employee#", "custom.employee_number", "custom.employee_number",
	  0 },
	{ NULL, NULL, NULL, 0 }
};

/* fields: {"Name": value} or {"name": {"value": value}}. */
static int
bamboo_values(struct nctx *c, struct json_object *fields, const char *path)
{
	struct json_object_iterator it, end;
	char p[PATHLEN];

	if (fields == NULL)
		return 0;
	it = json_object_iter_begin(fields);
	end = json_object_iter_end(fields);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);

		path_key(p, sizeof(p), path, name);
		if (v != NULL && json_object_is_type(v, json_type_object)) {
			if (!has_member(v, "value"))
				return nfail(c, "%s: expected a value or "
				    "{\"value\": ...}, found an object "
				    "without \"value\"", p);
			v = member(v, "value");
			snprintf(p + strlen(p), sizeof(p) - strlen(p),
			    ".value");
		}
		if (field_value(c, bamboo_fields, name, v, p) != 0)
			return -1;
	}
	return 0;
}

/* Event-based webhooks' event types. */
static const struct kind_map bamboo_kinds[] = {
	{ "employee.created", K_HIRE, NULL, 0 },
	{ "employee.updated", K_UPDATE, NULL, 0 },
	{ "employee.deleted", NULL, "bamboohr: a deleted record is not a "
	  "leave (a termination arrives as employee.updated with status "
	  "Inactive)", 0 },
	{ NULL, NULL, NULL, 0 }
};

/* Field-based webhooks' actions, in lower case. */
static const struct kind_map bamboo_actions[] = {
	{ "created", K_HIRE, NULL, 0 },
	{ "updated", K_UPDATE, NULL, 0 },
	{ "deleted", NULL, "bamboohr: a deleted record is not a leave (a "
	  "termination arrives as Updated with Status Inactive)", 0 },
	{ NULL, NULL, NULL, 0 }
};

/*
 * The person in one record (obj, at path prefix) of an event type k
 * that bamboo_kinds lists: its changed fields and values, and the kind.
 * An update is a leave when it shows status Inactive (or an employment
 * status of Terminated): BambooHR sends terminations as updates, on the
 * effective date, and a termination date alone may be a future one.
 */
static int
bamboo_person(struct nctx *c, const struct kind_map *k, const struct text *id,
    const char *idpath, const struct json_object *obj, const char *prefix)
{
	struct json_object *changed, *fields;
	const char *st, *et;
	char p[64];                   /* "employees[<index>].changedFields" */

	if (need_person(c, id, idpath, "employee id") != 0)
		return -1;
	if (k->kind == NULL)
		return ignore_kind(c, k);
	snprintf(p, sizeof(p), "%s.changedFields", prefix);
	if (opt_array(c, obj, "changedFields", p, &changed) != 0 ||
	    changed_list(c, changed, p, bamboo_fields) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s.fields", prefix);
	if (opt_object(c, obj, "fields", p, &fields) != 0 ||
	    bamboo_values(c, fields, p) != 0 || compose_name(c) != 0)
		return -1;
	if (strcmp(k->kind, K_HIRE) == 0)
		return set_kind_dated(c, K_HIRE, "custom.hire_date");
	st = norm_attr(c->ev, "employment_status");
	et = norm_attr(c->ev, "custom.employment_type");
	if ((st != NULL && ieq(st, "inactive")) ||
	    (et != NULL && ieq(et, "terminated")))
		return set_kind_dated(c, K_TERMINATE,
		    "custom.termination_date");
	/*
	 * A status changed to Active is a rehire (BambooHR reactivates a
	 * former employee on the same record; a new one is Created): after
	 * a leave, an update gives no access back (decide_order).
	 */
	if (st != NULL && ieq(st, "active") &&
	    changed_has(c->ev, "employment_status"))
		return set_kind_dated(c, K_REHIRE, "custom.hire_date");
	return set_kind(c, K_UPDATE);
}

static int
bamboo_event(struct nctx *c, struct json_object *root)
{
	const struct kind_map *k;
	struct json_object *data;
	struct text type, id;

	if (sender_type(c, root, "type", &type) != 0 ||
	    occurred_from(c, root, "timestamp", "timestamp", 0) != 0 ||
	    req_object(c, root, "data", "data", &data) != 0 ||
	    id_at(c, root, "data.employeeId", &id) != 0 ||
	    tenant_from(c, root, "data.companyId") != 0)
		return -1;
	if ((k = kind_find(bamboo_kinds, type.s)) == NULL)
		return ignore_kind(c, NULL);
	return bamboo_person(c, k, &id, "data.employeeId", data, "data");
}

static int
bamboo_fields_event(struct nctx *c, struct json_object *root)
{
	const struct kind_map *k;
	struct json_object *emps, *e;
	struct text action, id;
	char p[48], pp[PATHLEN], type[TYPE_MAX + 32];
	size_t i, n;

	if (opt_array(c, root, "employees", "employees", &emps) != 0)
		return -1;
	n = json_object_array_length(emps);
	c->count = n;
	if (n == 0)
		return nfail(c, "employees: empty (expected one entry per "
		    "person)");
	if (!c->batch && n > 1)
		return nfail(c, "employees: %zu entries in one delivery, "
		    "expected 1 (the worker splits a batch with "
		    "normalize_nth)", n);
	if (c->index >= n)
		return nfail(c, "employees: no entry %zu (%zu entries)",
		    c->index, n);
	snprintf(p, sizeof(p), "employees[%zu]", c->index);
	e = json_object_array_get_idx(emps, c->index);
	if (e == NULL || !json_object_is_type(e, json_type_object))
		return nfail(c, "%s: expected an object, found %s", p,
		    json_type_noun(e));
	snprintf(pp, sizeof(pp), "%s.action", p);
	if (text_of(c, member(e, "action"), pp, T_STR, 32, &action) != 0)
		return -1;
	if (action.s == NULL || action.len == 0)
		return nfail(c, "%s: missing (expected Created, Updated or "
		    "Deleted)", pp);
	snprintf(type, sizeof(type), "employee_with_fields.");
	for (i = 0; i < action.len; i++)
		type[21 + i] = lower(action.s[i]);
	type[21 + action.len] = '\0';
	if (set_str(c, &c->ev->sender_type, type, strlen(type)) != 0)
		return -1;
	snprintf(pp, sizeof(pp), "%s.timestamp", p);
	if (occurred_from(c, e, "timestamp", pp, 0) != 0)
		return -1;
	snprintf(pp, sizeof(pp), "%s.id", p);
	if (id_of(c, member(e, "id"), pp, &id) != 0)
		return -1;
	/* type + 21: the action in lower case. */
	if ((k = kind_find(bamboo_actions, type + 21)) == NULL)
		return ignore(c, "bamboohr: action not acted on");
	return bamboo_person(c, k, &id, pp, e, p);
}

static int
norm_bamboohr(struct nctx *c, struct json_object *root)
{
	if (has_member(root, "employees"))
		return bamboo_fields_event(c, root);
	if (has_member(root, "type"))
		return bamboo_event(c, root);
	return nfail(c, "type: missing (expected an event-based webhook "
	    "{\"type\", \"data\"} or a field-based one {\"employees\": "
	    "[...]})");
}

/* ---- HiBob (research/hris.md 2.2) ---- */

/* Bob field ids ("work.title"), squashed. */
static const struct fieldmap hibob_fields[] = {
	{ "rootemail", "email", "email", 0 },
	{ "rootfirstname", "custom.first_name", "name", 0 },
	{ "rootsurname", "custom.last_name", "name", 0 },
	{ "rootdisplayname", "name", "name", 0 },
	{ "rootfullname", "name", "name", 0 },
	{ "worktitle", "title", "title", 0 },
	{ "workdepartment", "department", "department", 0 },
	{ "worksite", "location", "location", 0 },
	{ "workreportsto", "custom.manager_id", "manager_email", 0 },
	{ "workreportstoidincompany", "custom.manager_id", "manager_email",
	  0 },
	{ "workreportstoemail", "manager_email", "manager_email", 0 },
	{ "internalstatus", "employment_status", "employment_status", 0 },
	{ "internallifecyclestatus", "custom.lifecycle_status",
	  "employment_status", 0 },
	{ "internalterminationdate", "custom.termination_date",
	  "custom.termination_date", F_DATE },
	{ "workstartdate", "custom.start_date", "custom.start_date", F_DATE },
	{ "workemployeeidincompany", "custom.employee_number",
	  "custom.employee_number", 0 },
	{ NULL, NULL, NULL, 0 }
};

/* What a table entry changes, by tableId. */
static int
hibob_table_changed(struct nctx *c, const struct json_object *data)
{
	static const char *const work[] = { "department", "title",
		"location", "manager_email", NULL };
	char ck[sizeof("custom.") + CUSTOM_KEY_MAX + 8];
	struct text t;
	size_t i;

	if (text_of(c, member(data, "tableId"), "data.tableId", T_STR,
	    TYPE_MAX, &t) != 0)
		return -1;
	if (t.s == NULL || t.len == 0)
		return 0;
	if (strcmp(t.s, "lifecycle") == 0)
		return changed_add(c, "employment_status");
	if (strcmp(t.s, "work") == 0) {
		for (i = 0; work[i] != NULL; i++)
			if (changed_add(c, work[i]) != 0)
				return -1;
		return 0;
	}
	custom_key(ck, sizeof(ck), t.s);
	return changed_add(c, ck);
}

/*
 * fieldUpdates: field ids as strings, or objects with "fieldId" and,
 * when sent, "newValue" (item shape UNCONFIRMED: both are read).
 */
static int
hibob_field_updates(struct nctx *c, const struct json_object *data)
{
	static const char *const idkeys[] = { "fieldId", "field_id", "id",
		NULL };
	static const char *const valkeys[] = { "newValue", "new_value",
		"value", NULL };
	struct json_object *arr;
	char p[PATHLEN], pp[PATHLEN + 16];
	size_t i, k, n;

	if (opt_array(c, data, "fieldUpdates", "data.fieldUpdates", &arr) != 0)
		return -1;
	if (arr == NULL)
		return 0;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(arr, i);
		struct json_object *val = NULL;
		struct text id;

		snprintf(p, sizeof(p), "data.fieldUpdates[%zu]", i);
		memset(&id, 0, sizeof(id));
		if (it != NULL && json_object_is_type(it, json_type_object)) {
			for (k = 0; idkeys[k] != NULL && id.s == NULL; k++) {
				snprintf(pp, sizeof(pp), "%s.%s", p, idkeys[k]);
				if (text_of(c, member(it, idkeys[k]), pp,
				    T_STR, TYPE_MAX, &id) != 0)
					return -1;
			}
			for (k = 0; valkeys[k] != NULL; k++)
				if (has_member(it, valkeys[k])) {
					val = member(it, valkeys[k]);
					snprintf(pp, sizeof(pp), "%s.%s", p,
					    valkeys[k]);
					break;
				}
		} else if (text_of(c, it, p, T_STR, TYPE_MAX, &id) != 0)
			return -1;
		if (id.s == NULL || id.len == 0)
			return nfail(c, "%s: expected a field id (a string or "
			    "{\"fieldId\": ...})", p);
		if (field_changed(c, hibob_fields, id.s) != 0)
			return -1;
		/* Only scalar new values are attributes. */
		if (val != NULL && (json_object_is_type(val, json_type_string) ||
		    json_object_is_type(val, json_type_int)) &&
		    field_value(c, hibob_fields, id.s, val, pp) != 0)
			return -1;
	}
	return 0;
}

static const struct kind_map hibob_kinds[] = {
	{ "employee.joined", K_HIRE, NULL, 0 },
	{ "employee.created", K_UPDATE, NULL, 0 },
	{ "employee.updated", K_UPDATE, NULL, 0 },
	{ "employee.left", K_TERMINATE, NULL, 0 },
	{ "employee.inactivated", K_TERMINATE, NULL, 0 },
	{ "employee.activated", K_REHIRE, NULL, 0 },
	{ "table.entry.created", K_UPDATE, NULL, 0 },
	{ "table.entry.updated", K_UPDATE, NULL, 0 },
	{ "table.entry.deleted", K_UPDATE, NULL, 0 },
	{ "employee.deleted", NULL, "hibob: a deleted record is not a leave "
	  "(leavers arrive as employee.left)", 0 },
	{ "employee.temporaryLeave", NULL, "hibob: temporary leave does not "
	  "end employment; rolehook does not act on it", 0 },
	{ NULL, NULL, NULL, 0 }
};

static const struct pick hibob_attrs[] = {
	{ "email", P_EMAIL, { "data.email" } },
	{ NULL, P_TEXT, { NULL } }
};

static int
norm_hibob(struct nctx *c, struct json_object *root)
{
	const struct kind_map *k;
	struct json_object *data;
	struct text type, id;

	if (!has_member(root, "type") && has_member(root, "text"))
		return ignore(c, "hibob: webhook test ping");
	if (sender_type(c, root, "type", &type) != 0 ||
	    opt_const(c, root, "version", 16, "v2", "(HiBob v1 webhooks are "
	    "not supported)") != 0 ||
	    occurred_from(c, root, "triggeredAt", "triggeredAt", 0) != 0 ||
	    tenant_from(c, root, "companyId") != 0 ||
	    opt_object(c, root, "data", "data", &data) != 0 ||
	    id_at(c, root, "data.employeeId", &id) != 0)
		return -1;
	if ((k = kind_find(hibob_kinds, type.s)) == NULL || k->kind == NULL)
		return ignore_person(c, k, &id);
	if (data == NULL)
		return nfail(c, "data: missing (expected an object)");
	if (need_person(c, &id, "data.employeeId", "employee id") != 0 ||
	    set_kind(c, k->kind) != 0 ||
	    pick_attrs(c, root, hibob_attrs) != 0 ||
	    effective_from(c, root, "data.effectiveDate") != 0)
		return -1;
	if (strcmp(type.s, "employee.updated") == 0 &&
	    (hibob_field_updates(c, data) != 0 || compose_name(c) != 0))
		return -1;
	if (has_prefix(type.s, "table.entry.") &&
	    hibob_table_changed(c, data) != 0)
		return -1;
	return 0;
}

/* ---- Personio (research/hris.md 2.3) ---- */

#define PERSONIO_DELETED "personio: a deleted record is not a leave " \
	"(leavers arrive as employment.terminated)"

static const struct kind_map personio_kinds[] = {
	{ "employment.started", K_HIRE, NULL, 0 },
	{ "employment.terminated", K_TERMINATE, NULL, 0 },
	{ "person.created", K_UPDATE, NULL, 0 },
	{ "person.updated", K_UPDATE, NULL, 0 },
	{ "employment.created", K_UPDATE, NULL, 0 },
	{ "employment.updated", K_UPDATE, NULL, 0 },
	{ "person.deleted", NULL, PERSONIO_DELETED, 0 },
	{ "employment.deleted", NULL, PERSONIO_DELETED, 0 },
	{ NULL, NULL, NULL, 0 }
};

/* The person: payload.person_id, payload.person.id, or for person.*
 * events payload.id (payload contents UNCONFIRMED). */
static const char *const personio_ids[] = { "payload.person_id",
	"payload.person.id" };

/* Where the effective date is, by kind (docs/normalizers.md). */
static const char *const personio_hire_dates[] = { "payload.effective_date",
	"payload.start_date" };
static const char *const personio_leave_dates[] = {
	"payload.effective_date", "payload.termination_date",
	"payload.end_date" };

static const struct pick personio_attrs[] = {
	{ "email", P_EMAIL, { "payload.email", "payload.person.email" } },
	{ NULL, P_TEXT, { NULL } }
};

static int
norm_personio(struct nctx *c, struct json_object *root)
{
	const struct kind_map *k;
	struct json_object *payload, *person;
	struct text type, id, eid;
	int employment;

	if (sender_type(c, root, "event_name", &type) != 0 ||
	    occurred_from(c, root, "occurred_at", "occurred_at", 0) != 0 ||
	    tenant_from(c, root, "company_id") != 0 ||
	    req_object(c, root, "payload", "payload", &payload) != 0 ||
	    opt_object(c, payload, "person", "payload.person", &person) != 0)
		return -1;
	k = kind_find(personio_kinds, type.s);
	employment = has_prefix(type.s, "employment.");
	if (pick_first(c, root, P_ID, personio_ids, NELEM(personio_ids),
	    &id) != 0 || id_at(c, root, "payload.id", &eid) != 0)
		return -1;
	if (id.s == NULL && !employment)
		id = eid;
	if (k == NULL)
		return ignore_kind(c, NULL);
	if (k->kind == NULL)
		return ignore_person(c, k, &id);
	if (employment && eid.s != NULL &&
	    attr_text(c, "custom.employment_id", &eid) != 0)
		return -1;
	/* Only the employment named: its own subject, resolved to the
	 * person by enrichment. */
	if (need_subject(c, &id, "personio:employment", employment ? &eid :
	    NULL, "payload.id", "person or employment id") != 0 ||
	    pick_attrs(c, root, personio_attrs) != 0 ||
	    set_kind(c, k->kind) != 0)
		return -1;
	if (strcmp(k->kind, K_HIRE) == 0)
		return effective_first(c, root, personio_hire_dates,
		    NELEM(personio_hire_dates));
	if (strcmp(k->kind, K_TERMINATE) == 0)
		return effective_first(c, root, personio_leave_dates,
		    NELEM(personio_leave_dates));
	return effective_from(c, root, "payload.effective_date");
}

/* ---- Gusto (research/hris.md 2.6) ---- */

static const struct kind_map gusto_kinds[] = {
	{ "employee.onboarded", K_HIRE, NULL, 0 },
	{ "employee.created", K_UPDATE, NULL, 0 },
	{ "employee.updated", K_UPDATE, NULL, 0 },
	{ "employee.terminated_effective", K_TERMINATE, NULL, 0 },
	{ "employee.termination_cancelled", K_UPDATE, NULL, 0 },
	{ "employee.rehire_effective", K_REHIRE, NULL, 0 },
	{ "employee.terminated", NULL, "gusto: a scheduled termination; "
	  "rolehook acts on employee.terminated_effective", 0 },
	{ "employee.rehired", NULL, "gusto: a scheduled rehire; rolehook acts "
	  "on employee.rehire_effective", 0 },
	{ "employee.rehire_cancelled", NULL, "gusto: a scheduled rehire was "
	  "cancelled before it took effect", 0 },
	{ "employee.deleted", NULL, "gusto: a deleted record is not a leave "
	  "(leavers arrive as employee.terminated_effective)", 0 },
	{ NULL, NULL, NULL, 0 }
};

static int
norm_gusto(struct nctx *c, struct json_object *root)
{
	const struct kind_map *k;
	struct text type, id;

	if (!has_member(root, "event_type") &&
	    has_member(root, "verification_token"))
		return ignore(c, "gusto: subscription verification request; "
		    "verify the subscription with PUT "
		    "/v1/webhook_subscriptions/{uuid}/verify");
	if (sender_type(c, root, "event_type", &type) != 0 ||
	    occurred_from(c, root, "timestamp", "timestamp", 1) != 0 ||
	    tenant_from(c, root, "resource_uuid") != 0)
		return -1;
	if (!has_prefix(type.s, "employee."))
		return ignore(c, "gusto: not an employee event");
	if (opt_const(c, root, "entity_type", 64, "Employee", "for an "
	    "employee.* event") != 0 ||
	    id_at(c, root, "entity_uuid", &id) != 0 ||
	    need_person(c, &id, "entity_uuid", "employee uuid") != 0)
		return -1;
	if ((k = kind_find(gusto_kinds, type.s)) == NULL || k->kind == NULL)
		return ignore_kind(c, k);
	return set_kind(c, k->kind);
}

/* ---- Deel (research/hris.md 2.7) ---- */

static const struct kind_map deel_kinds[] = {
	{ "employee.created", K_HIRE, NULL, KM_FAMILY },
	{ "worker.v2.created", K_HIRE, NULL, 0 },
	{ "employee.updated", K_UPDATE, NULL, KM_FAMILY },
	{ "worker.v2.updated", K_UPDATE, NULL, 0 },
	{ "contract.status.updated", K_UPDATE, NULL, 0 },
	{ "contract.terminated", K_TERMINATE, NULL, 0 },
	{ "worker.v2.deleted", NULL, "deel: a deleted record is not a leave "
	  "(leavers arrive as contract.terminated)", 0 },
	{ NULL, NULL, NULL, 0 }
};

/* The person (resource field names UNCONFIRMED); the resource id itself
 * for employee / worker events. */
static const char *const deel_ids[] = { "data.resource.worker_id",
	"data.resource.employee_id", "data.resource.worker.id",
	"data.resource.employee.id" };

static const char *const deel_leave_dates[] = {
	"data.resource.completion_date", "data.resource.end_date" };

static const struct pick deel_attrs[] = {
	{ "email", P_EMAIL, { "data.resource.work_email",
	  "data.resource.email", "data.resource.worker.work_email",
	  "data.resource.worker.email" } },
	{ "title", P_TEXT, { "data.resource.job_title" } },
	{ "department", P_NAME, { "data.resource.department" } },
	{ NULL, P_TEXT, { NULL } }
};

/* Employee and worker events describe the person. */
static const struct pick deel_person_attrs[] = {
	{ "name", P_TEXT, { "data.resource.full_name" } },
	{ "custom.first_name", P_TEXT, { "data.resource.first_name" } },
	{ "custom.last_name", P_TEXT, { "data.resource.last_name" } },
	{ NULL, P_TEXT, { NULL } }
};

static int
norm_deel(struct nctx *c, struct json_object *root)
{
	const struct kind_map *k;
	struct json_object *data, *meta, *res, *worker, *emp;
	struct text type, id, rid;
	int person_event;

	if (req_object(c, root, "data", "data", &data) != 0 ||
	    req_object(c, data, "meta", "data.meta", &meta) != 0 ||
	    sender_type(c, root, "data.meta.event_type", &type) != 0 ||
	    occurred_from(c, root, "timestamp", "timestamp", 0) != 0 ||
	    tenant_from(c, root, "data.meta.organization_id") != 0)
		return -1;
	if ((k = kind_find(deel_kinds, type.s)) == NULL || k->kind == NULL)
		return ignore_kind(c, k);
	person_event = has_prefix(type.s, "employee.") ||
	    has_prefix(type.s, "worker.");

	if (req_object(c, data, "resource", "data.resource", &res) != 0 ||
	    opt_object(c, res, "worker", "data.resource.worker", &worker) != 0 ||
	    opt_object(c, res, "employee", "data.resource.employee", &emp) != 0 ||
	    id_at(c, root, "data.resource.id", &rid) != 0 ||
	    pick_first(c, root, P_ID, deel_ids, NELEM(deel_ids), &id) != 0)
		return -1;
	if (id.s == NULL && person_event)
		id = rid;
	if (!person_event && rid.s != NULL &&
	    attr_text(c, "custom.contract_id", &rid) != 0)
		return -1;
	if (need_subject(c, &id, "deel:contract", &rid, "data.resource.id",
	    "worker or contract id") != 0 ||
	    set_kind(c, k->kind) != 0 ||
	    pick_attrs(c, root, deel_attrs) != 0)
		return -1;
	if (person_event && (pick_attrs(c, root, deel_person_attrs) != 0 ||
	    compose_name(c) != 0))
		return -1;
	if (strcmp(k->kind, K_TERMINATE) == 0)
		return effective_first(c, root, deel_leave_dates,
		    NELEM(deel_leave_dates));
	if (strcmp(k->kind, K_HIRE) == 0)
		return effective_from(c, root, "data.resource.start_date");
	return 0;
}

/* ---- Merge (research/hris.md 2.10) ---- */

/*
 * manager / team / work_location at path: an id, or the expanded object
 * with "id" and name_key (read as name_as).
 */
static int
merge_ref(struct nctx *c, const struct json_object *root, const char *path,
    const char *id_attr, const char *name_key, enum pick_as name_as,
    const char *name_attr)
{
	struct json_object *v = at(root, path);
	char p[PATHLEN];
	struct text t;

	if (v != NULL && json_object_is_type(v, json_type_object)) {
		snprintf(p, sizeof(p), "%s.id", path);
		if (id_of(c, member(v, "id"), p, &t) != 0 ||
		    attr_text(c, id_attr, &t) != 0)
			return -1;
		snprintf(p, sizeof(p), "%s.%s", path, name_key);
		if (pick_read(c, member(v, name_key), p, name_as, &t) != 0)
			return -1;
		return attr_text(c, name_attr, &t);
	}
	if (id_of(c, v, path, &t) != 0)
		return -1;
	return attr_text(c, id_attr, &t);
}

static const struct pick merge_employee_attrs[] = {
	{ "custom.remote_id", P_ID, { "data.remote_id" } },
	{ "custom.employee_number", P_ID, { "data.employee_number" } },
	{ "email", P_EMAIL, { "data.work_email" } },
	{ "custom.first_name", P_TEXT, { "data.first_name" } },
	{ "custom.last_name", P_TEXT, { "data.last_name" } },
	{ "name", P_TEXT, { "data.display_full_name" } },
	{ "employment_status", P_TEXT, { "data.employment_status" } },
	{ NULL, P_TEXT, { NULL } }
};

static const struct pick merge_employee_dates[] = {
	{ "custom.hire_date", P_DATE, { "data.hire_date" } },
	{ "custom.start_date", P_DATE, { "data.start_date" } },
	{ "custom.termination_date", P_DATE, { "data.termination_date" } },
	{ NULL, P_TEXT, { NULL } }
};

static int
merge_employee(struct nctx *c, const struct json_object *root,
    const char *action)
{
	struct json_object *deleted;
	struct text id;
	const char *st;

	if (id_at(c, root, "data.id", &id) != 0 ||
	    need_person(c, &id, "data.id", "Merge employee id") != 0)
		return -1;
	deleted = at(root, "data.remote_was_deleted");
	if (deleted != NULL && !json_object_is_type(deleted, json_type_boolean))
		return nfail(c, "data.remote_was_deleted: expected a boolean, "
		    "found %s", json_type_noun(deleted));
	if (ieq(action, "removed") || ieq(action, "deleted") ||
	    (deleted != NULL && json_object_get_boolean(deleted)))
		return ignore(c, "merge: a deleted record is not a leave "
		    "(leavers show employment_status INACTIVE)");
	if (ieq(action, "added") || ieq(action, "created"))
		st = K_HIRE;
	else if (ieq(action, "changed") || ieq(action, "updated"))
		st = K_UPDATE;
	else
		return ignore(c, "merge: Employee event not acted on");
	if (set_kind(c, st) != 0 ||
	    pick_attrs(c, root, merge_employee_attrs) != 0 ||
	    compose_name(c) != 0 ||
	    merge_ref(c, root, "data.manager", "custom.manager_id",
	    "work_email", P_EMAIL, "manager_email") != 0 ||
	    merge_ref(c, root, "data.team", "custom.team_id", "name", P_TEXT,
	    "department") != 0 ||
	    merge_ref(c, root, "data.work_location", "custom.work_location_id",
	    "name", P_TEXT, "location") != 0 ||
	    pick_attrs(c, root, merge_employee_dates) != 0)
		return -1;
	/* Merge sends the whole common model. */
	c->full = norm_attr(c->ev, "email") != NULL &&
	    norm_attr(c->ev, "employment_status") != NULL;
	st = norm_attr(c->ev, "employment_status");
	if (st != NULL && ieq(st, "INACTIVE"))
		return set_kind_dated(c, K_TERMINATE,
		    "custom.termination_date");
	if (strcmp(c->ev->kind, K_HIRE) == 0)
		return effective_from_attr(c, norm_attr(c->ev,
		    "custom.start_date") != NULL ? "custom.start_date" :
		    "custom.hire_date");
	return 0;
}

static const struct pick merge_employment_attrs[] = {
	{ "title", P_TEXT, { "data.job_title" } },
	{ "custom.employment_type", P_TEXT, { "data.employment_type" } },
	{ NULL, P_TEXT, { NULL } }
};

static int
merge_employment(struct nctx *c, const struct json_object *root,
    const char *action)
{
	struct json_object *emp = at(root, "data.employee");
	struct text id;

	if (emp != NULL && json_object_is_type(emp, json_type_object)) {
		if (id_at(c, root, "data.employee.id", &id) != 0)
			return -1;
	} else if (id_of(c, emp, "data.employee", &id) != 0)
		return -1;
	if (need_person(c, &id, "data.employee", "Merge employee id") != 0)
		return -1;
	if (ieq(action, "removed") || ieq(action, "deleted"))
		return ignore(c, "merge: a deleted employment is not a leave");
	if (!ieq(action, "added") && !ieq(action, "created") &&
	    !ieq(action, "changed") && !ieq(action, "updated"))
		return ignore(c, "merge: Employment event not acted on");
	if (set_kind(c, K_UPDATE) != 0 ||
	    pick_attrs(c, root, merge_employment_attrs) != 0)
		return -1;
	return changed_add(c, "title");
}

static int
norm_merge(struct nctx *c, struct json_object *root)
{
	struct json_object *hook, *acct, *data;
	struct text ev;
	const char *dot;
	char model[TYPE_MAX + 1];

	if (opt_object(c, root, "hook", "hook", &hook) != 0 ||
	    text_of(c, member(hook, "event"), "hook.event", T_STR, TYPE_MAX,
	    &ev) != 0)
		return -1;
	if (ev.s == NULL && text_of(c, member(root, "event"), "event", T_STR,
	    TYPE_MAX, &ev) != 0)
		return -1;
	if (ev.s == NULL || ev.len == 0)
		return nfail(c, "hook.event: missing (expected e.g. "
		    "\"Employee.changed\")");
	if (set_sender_type(c, &ev) != 0 ||
	    opt_object(c, root, "linked_account", "linked_account",
	    &acct) != 0 ||
	    tenant_from(c, root, "linked_account.id") != 0)
		return -1;
	if ((dot = strchr(ev.s, '.')) == NULL)
		return ignore(c, "merge: event not acted on");
	memcpy(model, ev.s, (size_t)(dot - ev.s));
	model[dot - ev.s] = '\0';
	if (!ieq(model, "Employee") && !ieq(model, "Employment"))
		return ignore(c, "merge: event not acted on");
	if (req_object(c, root, "data", "data", &data) != 0)
		return -1;
	if (ieq(model, "Employee"))
		return merge_employee(c, root, dot + 1);
	return merge_employment(c, root, dot + 1);
}

/* ---- Finch (research/hris.md 2.11) ---- */

#define FINCH_DELETED "finch: a deleted record is not a leave (leavers " \
	"show is_active false on the employment)"

static const struct kind_map finch_kinds[] = {
	{ "employment.created", K_HIRE, NULL, 0 },
	{ "employment.updated", K_UPDATE, NULL, 0 },
	{ "individual.created", K_UPDATE, NULL, 0 },
	{ "individual.updated", K_UPDATE, NULL, 0 },
	{ "directory.created", K_UPDATE, NULL, 0 },
	{ "directory.updated", K_UPDATE, NULL, 0 },
	{ "employment.deleted", NULL, FINCH_DELETED, KM_FAMILY },
	{ "individual.deleted", NULL, FINCH_DELETED, KM_FAMILY },
	{ "directory.deleted", NULL, FINCH_DELETED, KM_FAMILY },
	{ NULL, NULL, NULL, 0 }
};

static const char *const finch_ids[] = { "data.individual_id",
	"entity_id" };

static const struct pick finch_attrs[] = {
	{ "custom.tenant_id", P_ID, { "connection_id", "company_id" } },
	{ NULL, P_TEXT, { NULL } }
};

static int
norm_finch(struct nctx *c, struct json_object *root)
{
	const struct kind_map *k;
	struct json_object *data, *active;
	struct text type, id;

	if (sender_type(c, root, "event_type", &type) != 0 ||
	    opt_object(c, root, "data", "data", &data) != 0 ||
	    pick_attrs(c, root, finch_attrs) != 0)
		return -1;
	k = kind_find(finch_kinds, type.s);
	if (k == NULL && !(has_prefix(type.s, "employment.") ||
	    has_prefix(type.s, "individual.") ||
	    has_prefix(type.s, "directory.")))
		return ignore(c, "finch: not a person event");
	if (pick_first(c, root, P_ID, finch_ids, NELEM(finch_ids), &id) != 0 ||
	    need_person(c, &id, "data.individual_id", "individual id") != 0)
		return -1;
	if (k == NULL || k->kind == NULL)
		return ignore_kind(c, k);
	active = member(data, "is_active");
	if (active != NULL && !json_object_is_type(active, json_type_boolean))
		return nfail(c, "data.is_active: expected a boolean, found %s",
		    json_type_noun(active));
	if (active != NULL && !json_object_get_boolean(active) &&
	    has_prefix(type.s, "employment.")) {
		if (set_kind(c, K_TERMINATE) != 0)
			return -1;
		return effective_from(c, root, "data.end_date");
	}
	return set_kind(c, k->kind);
}

/* ---- generic: the source's "mapping" (RFC 6901 pointers) ---- */

/*
 * Checks RFC 6901 syntax: "" or "/"-prefixed segments where '~' is
 * followed by '0' or '1'.
 */
static int
pointer_ok(const char *p, size_t len)
{
	size_t i;

	if (len > POINTER_MAX || (len > 0 && p[0] != '/'))
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] == '\0')
			return 0;
		if (p[i] == '~' && (i + 1 == len ||
		    (p[i + 1] != '0' && p[i + 1] != '1')))
			return 0;
	}
	return 1;
}

/*
 * Evaluates pointer p (already checked) in root.  Returns 1 and *out
 * (NULL for JSON null) when it names a value, 0 when it does not.
 * Array indexes are decimal without leading zeros; "-" names nothing.
 */
static int
pointer_get(struct json_object *root, const char *p, struct json_object **out)
{
	struct json_object *cur = root;
	char seg[POINTER_MAX + 1];

	*out = NULL;
	while (*p == '/') {
		size_t n = 0;

		for (p++; *p != '\0' && *p != '/'; p++) {
			if (n >= POINTER_MAX)
				return 0;
			if (*p == '~') {
				p++;
				seg[n++] = *p == '0' ? '~' : '/';
			} else
				seg[n++] = *p;
		}
		seg[n] = '\0';
		if (cur == NULL)
			return 0;
		if (json_object_is_type(cur, json_type_object)) {
			if (!json_object_object_get_ex(cur, seg, &cur))
				return 0;
		} else if (json_object_is_type(cur, json_type_array)) {
			size_t i, idx = 0;

			if (n == 0 || n > 9 || (n > 1 && seg[0] == '0'))
				return 0;
			for (i = 0; i < n; i++) {
				if (seg[i] < '0' || seg[i] > '9')
					return 0;
				idx = idx * 10 + (size_t)(seg[i] - '0');
			}
			if (idx >= json_object_array_length(cur))
				return 0;
			cur = json_object_array_get_idx(cur, idx);
		} else
			return 0;
	}
	*out = cur;
	return 1;
}

static int
mapping_attr_name(const char *key)
{
	if (strv_index(mapping_attrs, key) >= 0)
		return 1;
	if (!is_custom(key) || key[7] == '\0' ||
	    strlen(key + 7) > CUSTOM_KEY_MAX)
		return 0;
	for (key += 7; *key != '\0'; key++)
		if (!((*key >= 'a' && *key <= 'z') ||
		    (*key >= 'A' && *key <= 'Z') ||
		    (*key >= '0' && *key <= '9') || *key == '_' ||
		    *key == '-' || *key == '.'))
			return 0;
	return 1;
}

/* A mapping member that must be a JSON pointer string. */
static int
check_pointer(struct nctx *c, struct json_object *v, const char *path)
{
	if (v == NULL || !json_object_is_type(v, json_type_string) ||
	    !pointer_ok(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v)))
		return nfail(c, "%s: expected a JSON pointer (RFC 6901) such "
		    "as \"/data/id\", found %s", path,
		    v != NULL && json_object_is_type(v, json_type_string) ?
		    "an invalid pointer" : json_type_noun(v));
	return 0;
}

static int
check_kinds(struct nctx *c, struct json_object *kinds)
{
	struct json_object_iterator it, end;
	char p[PATHLEN];
	size_t i = 0;

	if (kinds == NULL || !json_object_is_type(kinds, json_type_object))
		return nfail(c, "mapping.kinds: expected an object mapping "
		    "the sender's event types to hire, update, terminate or "
		    "rehire, found %s", kinds == NULL ? "nothing" :
		    json_type_noun(kinds));
	if (json_object_object_length(kinds) == 0)
		return nfail(c, "mapping.kinds: empty (every event would be "
		    "ignored)");
	it = json_object_iter_begin(kinds);
	end = json_object_iter_end(kinds);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);

		path_key(p, sizeof(p), "mapping.kinds", name);
		if (strlen(name) > TYPE_MAX)
			return nfail(c, "%s: event type longer than %d bytes",
			    p, TYPE_MAX);
		i = 0;
		if (v != NULL && json_object_is_type(v, json_type_string))
			while (generic_kinds[i] != NULL &&
			    strcmp(generic_kinds[i],
			    json_object_get_string(v)) != 0)
				i++;
		if (v == NULL || !json_object_is_type(v, json_type_string) ||
		    generic_kinds[i] == NULL)
			return nfail(c, "%s: expected one of hire, update, "
			    "terminate, rehire", p);
	}
	return 0;
}

static int
check_values(struct nctx *c, struct json_object *values,
    const struct json_object *mapping)
{
	struct json_object_iterator it, end, it2, end2;
	char p[PATHLEN], p2[PATHLEN];

	if (!json_object_is_type(values, json_type_object))
		return nfail(c, "mapping.values: expected an object, found %s",
		    json_type_noun(values));
	it = json_object_iter_begin(values);
	end = json_object_iter_end(values);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *attr = json_object_iter_peek_name(&it);
		struct json_object *m = json_object_iter_peek_value(&it);

		path_key(p, sizeof(p), "mapping.values", attr);
		if (!mapping_attr_name(attr))
			return nfail(c, "%s: expected an attribute name",
			    p);
		if (!has_member(mapping, attr))
			return nfail(c, "%s: attribute has no pointer in the "
			    "mapping", p);
		if (m == NULL || !json_object_is_type(m, json_type_object))
			return nfail(c, "%s: expected an object mapping sender "
			    "values to normalised ones, found %s", p,
			    json_type_noun(m));
		it2 = json_object_iter_begin(m);
		end2 = json_object_iter_end(m);
		for (; !json_object_iter_equal(&it2, &end2);
		    json_object_iter_next(&it2)) {
			struct json_object *v = json_object_iter_peek_value(&it2);

			path_key(p2, sizeof(p2), p,
			    json_object_iter_peek_name(&it2));
			if (v == NULL || !json_object_is_type(v,
			    json_type_string))
				return nfail(c, "%s: expected a string, found "
				    "%s", p2, json_type_noun(v));
			if (json_object_get_string_len(v) > NORM_VALUE_MAX)
				return nfail(c, "%s: longer than %d bytes", p2,
				    NORM_VALUE_MAX);
		}
	}
	return 0;
}

static int
check_mapping(struct nctx *c, const struct json_object *mapping)
{
	struct json_object_iterator it, end;
	char p[PATHLEN];

	if (mapping == NULL)
		return nfail(c, "mapping: missing (the generic normalizer "
		    "needs the source's \"mapping\" object)");
	if (!json_object_is_type(mapping, json_type_object))
		return nfail(c, "mapping: expected an object, found %s",
		    json_type_noun(mapping));
	/* json-c's iterator API is not const-correct; nothing is changed. */
	it = json_object_iter_begin((struct json_object *)mapping);
	end = json_object_iter_end(mapping);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);

		path_key(p, sizeof(p), "mapping", name);
		if (strcmp(name, "kinds") == 0) {
			if (check_kinds(c, v) != 0)
				return -1;
		} else if (strcmp(name, "values") == 0) {
			if (check_values(c, v, mapping) != 0)
				return -1;
		} else if (strcmp(name, "kind") == 0 ||
		    strcmp(name, "subject") == 0 ||
		    strcmp(name, "occurred_at") == 0 ||
		    mapping_attr_name(name)) {
			if (check_pointer(c, v, p) != 0)
				return -1;
		} else
			return nfail(c, "%s: unknown member (expected an "
			    "attribute name such as \"email\", "
			    "\"custom.<key>\", \"kind\", \"kinds\", \"values\", "
			    "\"subject\" or \"occurred_at\")", p);
	}
	if (!has_member(mapping, "kind"))
		return nfail(c, "mapping.kind: missing (expected a JSON pointer "
		    "to the sender's event type, e.g. \"/type\")");
	if (!has_member(mapping, "kinds"))
		return check_kinds(c, NULL);
	if (!has_member(mapping, "employee_id") &&
	    !has_member(mapping, "email") && !has_member(mapping, "subject"))
		return nfail(c, "mapping: needs \"employee_id\", \"email\" or "
		    "\"subject\" to name the person");
	return 0;
}

/* The mapped value of attr for sender value t, via mapping.values. */
static void
map_value(const struct json_object *mapping, const char *attr,
    struct text *t)
{
	struct json_object *vals = member(mapping, "values");
	struct json_object *m = member(vals, attr), *v;

	if (t->s == NULL || m == NULL || (v = member(m, t->s)) == NULL ||
	    !json_object_is_type(v, json_type_string))
		return;
	t->s = json_object_get_string(v);
	t->len = (size_t)json_object_get_string_len(v);
}

/*
 * Value of mapping member key in root: *found says whether the pointer
 * named a non-null value; t is its text after mapping.values.
 */
static int
generic_value(struct nctx *c, struct json_object *root, const char *key,
    struct text *t, int *found)
{
	struct json_object *pv = member(c->mapping, key), *v;
	char p[PATHLEN];

	memset(t, 0, sizeof(*t));
	*found = 0;
	if (pv == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s (%.*s)", key, 96,
	    json_object_get_string(pv));
	if (!pointer_get(root, json_object_get_string(pv), &v) || v == NULL)
		return 0;
	if (strcmp(key, "effective_at") == 0 ||
	    strcmp(key, "occurred_at") == 0) {
		int64_t when;

		if (time_of(c, v, p, 1, &when, t) != 0)
			return -1;
		*found = 1;
		if (strcmp(key, "occurred_at") == 0)
			c->ev->occurred_at = when;
		else {
			c->ev->effective_at = when;
			return attr_text(c, "effective_at", t);
		}
		return 0;
	}
	if (text_of(c, v, p, T_STR | T_INT | T_BOOL, NORM_VALUE_MAX, t) != 0)
		return -1;
	map_value(c->mapping, key, t);
	*found = 1;
	if (strcmp(key, "kind") == 0)
		return t->len > TYPE_MAX ? nfail(c, "%s: longer than %d bytes",
		    p, TYPE_MAX) : 0;
	if (strcmp(key, "employee_id") == 0 || strcmp(key, "subject") == 0) {
		/* The (possibly mapped) text must still be an id. */
		if (id_check(c, t, p) != 0)
			return -1;
		*found = t->s != NULL;
		return 0;
	}
	if (strcmp(key, "email") == 0 || strcmp(key, "manager_email") == 0) {
		if (t->len == 0) {
			t->s = NULL;
			*found = 0;
			return 0;
		}
		if (email_check(c, t, p) != 0)
			return -1;
	}
	return attr_text(c, key, t);
}

static int
norm_generic(struct nctx *c, struct json_object *root)
{
	struct json_object_iterator it, end;
	struct json_object *kv;
	struct text type, t, sid, eid;
	int found, all = 1;

	if (check_mapping(c, c->mapping) != 0 ||
	    generic_value(c, root, "kind", &type, &found) != 0)
		return -1;
	if (!found || type.len == 0)
		return nfail(c, "kind (%.96s): not found in the body "
		    "(expected the event type)",
		    json_object_get_string(member(c->mapping, "kind")));
	if (set_sender_type(c, &type) != 0 ||
	    generic_value(c, root, "occurred_at", &t, &found) != 0)
		return -1;
	kv = member(member(c->mapping, "kinds"), type.s);
	if (kv == NULL || !json_object_is_type(kv, json_type_string))
		return ignore(c, "generic: event type not in mapping.kinds");
	if (set_kind(c, json_object_get_string(kv)) != 0)
		return -1;

	it = json_object_iter_begin((struct json_object *)c->mapping);
	end = json_object_iter_end(c->mapping);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);

		if (!mapping_attr_name(name) || strcmp(name, "employee_id") == 0)
			continue;
		if (generic_value(c, root, name, &t, &found) != 0)
			return -1;
		all &= found;
	}
	if (generic_value(c, root, "employee_id", &eid, &found) != 0)
		return -1;
	if (has_member(c->mapping, "employee_id"))
		all &= found;
	if (generic_value(c, root, "subject", &sid, &found) != 0)
		return -1;
	if (sid.s != NULL) {
		if (set_subject(c, "generic", &sid) != 0)
			return -1;
	} else if (eid.s != NULL) {
		if (set_subject(c, "generic", &eid) != 0)
			return -1;
	} else if (norm_attr(c->ev, "email") != NULL) {
		if (set_email_subject(c, norm_attr(c->ev, "email")) != 0)
			return -1;
	} else
		return nfail(c, "mapping: neither subject, employee_id nor "
		    "email named a value in this event");
	/* The subject pointer's id is not the employee id. */
	if (sid.s != NULL)
		attr_del(c->ev, "employee_id");
	if (eid.s != NULL && attr_text(c, "employee_id", &eid) != 0)
		return -1;
	c->full = all;
	return 0;
}

/* ---- dispatch ---- */

static const struct {
	const char *name;
	int (*fn)(struct nctx *, struct json_object *);
} normalizers[] = {
	{ "zendesk", norm_zendesk },
	{ "bamboohr", norm_bamboohr },
	{ "hibob", norm_hibob },
	{ "personio", norm_personio },
	{ "gusto", norm_gusto },
	{ "deel", norm_deel },
	{ "merge", norm_merge },
	{ "finch", norm_finch },
	{ "generic", norm_generic },
	{ NULL, NULL }
};

static int
only_space(const char *s, size_t from, size_t len)
{
	for (; from < len; from++)
		if (s[from] != ' ' && s[from] != '\t' && s[from] != '\r' &&
		    s[from] != '\n')
			return 0;
	return 1;
}

/* HiBob's webhook creation test posts the plain text "Ping test". */
static int
is_hibob_ping(const char *body, size_t len)
{
	static const char ping[] = "Ping test";
	size_t b = 0;

	while (b < len && only_space(body, b, b + 1))
		b++;
	while (len > b && only_space(body, len - 1, len))
		len--;
	return len - b == sizeof(ping) - 1 &&
	    memcmp(body + b, ping, sizeof(ping) - 1) == 0;
}

static int
parse_body(struct nctx *c, const char *body, size_t len,
    struct json_object **root)
{
	struct json_object *doc = NULL;
	const char *why;
	size_t end;
	int rc = -1;

	*root = NULL;
	if (body == NULL || len == 0) {
		nfail(c, "body: empty (expected a JSON object)");
		goto out;
	}
	if (len > INT_MAX) {
		nfail(c, "body: larger than %d bytes", INT_MAX);
		goto out;
	}
	switch (json_parse_one(body, len, NORM_DEPTH, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8, &doc, &why, &end)) {
	case JSON_ONE_OK:
		break;
	case JSON_ONE_NOMEM:
		oom(c);
		goto out;
	case JSON_ONE_TRAILING:
		nfail(c, "body: text after the JSON value");
		goto out;
	default:
		nfail(c, "body: not JSON (%s)", why);
		goto out;
	}
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		nfail(c, "body: expected a JSON object, found %s",
		    json_type_noun(doc));
		goto out;
	}
	*root = doc;
	doc = NULL;
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

static int
run(const char *normalizer, const struct json_object *mapping,
    const char *body, size_t len, time_t signed_at, size_t index, int batch,
    struct norm_event *out, size_t *count, char *err, size_t errlen)
{
	struct nctx c;
	struct json_object *root = NULL;
	size_t i;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.who = "normalize";
	c.ev = out;
	c.mapping = mapping;
	c.index = index;
	c.count = 1;
	c.batch = batch;
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL) {
		nfail(&c, "no event to fill");
		goto out;
	}
	memset(out, 0, sizeof(*out));
	for (i = 0; normalizer != NULL && normalizers[i].name != NULL; i++)
		if (strcmp(normalizers[i].name, normalizer) == 0)
			break;
	if (normalizer == NULL || normalizers[i].name == NULL) {
		nfail(&c, "unknown normalizer (expected one of zendesk, "
		    "bamboohr, hibob, personio, gusto, deel, merge, finch, "
		    "generic)");
		goto out;
	}
	c.who = normalizers[i].name;
	if (strcmp(c.who, "hibob") == 0 && body != NULL &&
	    is_hibob_ping(body, len)) {
		rc = ignore(&c, "hibob: webhook test ping");
	} else {
		if (parse_body(&c, body, len, &root) != 0)
			goto out;
		rc = normalizers[i].fn(&c, root);
	}
	if (rc != 0)
		goto out;
	rc = -1;
	if (c.index >= c.count) {
		nfail(&c, "no entry %zu (%zu in this delivery)", c.index,
		    c.count);
		goto out;
	}
	if (out->kind == NULL) {
		nfail(&c, "internal error: no event kind");
		goto out;
	}
	if (strcmp(out->kind, K_IGNORED) != 0 && out->subject == NULL) {
		nfail(&c, "internal error: no subject");
		goto out;
	}
	if (out->occurred_at == 0)
		out->occurred_at = (int64_t)signed_at;
	set_completeness(&c);
	rc = 0;
out:
	if (count != NULL)
		*count = c.count;
	json_object_put(root);
	if (rc != 0 && out != NULL)
		norm_event_clear(out);
	return rc;
}

/* See normalize.h. */
int
normalize(const char *normalizer, const struct json_object *mapping,
    const char *body, size_t len, time_t signed_at, struct norm_event *out,
    char *err, size_t errlen)
{
	return run(normalizer, mapping, body, len, signed_at, 0, 0, out, NULL,
	    err, errlen);
}

/* See normalize.h. */
int
normalize_nth(const char *normalizer, const struct json_object *mapping,
    const char *body, size_t len, time_t signed_at, size_t index,
    struct norm_event *out, size_t *count, char *err, size_t errlen)
{
	return run(normalizer, mapping, body, len, signed_at, index, 1, out,
	    count, err, errlen);
}

/* See normalize.h.  The message names the member ("mapping.kinds.x"). */
int
normalize_check_mapping(const struct json_object *mapping, char *err,
    size_t errlen)
{
	struct nctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.who = "generic";
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rc = check_mapping(&c, mapping);
	/* Callers print "SOURCE: mapping...": drop the "generic: " prefix. */
	if (rc != 0 && err != NULL && has_prefix(err, "generic: "))
		memmove(err, err + 9, strlen(err + 9) + 1);
	return rc;
}

/* See normalize.h. */
const char *const *
normalize_names(void)
{
	return names;
}

/* See normalize.h. */
const char *
norm_attr(const struct norm_event *ev, const char *key)
{
	size_t i;

	if (ev == NULL || key == NULL)
		return NULL;
	for (i = 0; i < ev->nattrs && i < NORM_ATTR_MAX; i++)
		if (ev->attrs[i].key != NULL &&
		    strcmp(ev->attrs[i].key, key) == 0)
			return ev->attrs[i].value;
	return NULL;
}

static int
put_str(struct json_object *o, const char *key, const char *s)
{
	struct json_object *v = NULL;

	if (s != NULL && (v = json_object_new_string(s)) == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int
put_time(struct json_object *o, const char *key, int64_t t)
{
	char buf[80];

	if (t == 0)
		return put_str(o, key, NULL);
	format_time(buf, sizeof(buf), t);
	if (buf[0] == '\0') {
		struct json_object *v = json_object_new_int64(t);

		if (v == NULL || json_object_object_add(o, key, v) != 0) {
			json_object_put(v);
			return -1;
		}
		return 0;
	}
	return put_str(o, key, buf);
}

/* Zendesk previous/current: the JSON value again, or null. */
static int
put_json_text(struct json_object *o, const char *key, const char *text)
{
	struct json_object *v = NULL;
	json_tokener *tok;

	if (text != NULL) {
		if ((tok = json_tokener_new_ex(NORM_DEPTH)) == NULL)
			return -1;
		/* The terminating NUL ends a bare scalar such as "true". */
		v = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
		if (json_tokener_get_error(tok) != json_tokener_success) {
			json_object_put(v);
			v = json_object_new_string(text);
			if (v == NULL) {
				json_tokener_free(tok);
				return -1;
			}
		}
		json_tokener_free(tok);
	}
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* See normalize.h.  Every key is always present (null when unknown). */
struct json_object *
norm_event_to_json(const struct norm_event *ev)
{
	static const char *const compl[] = { "full", "partial", "ids_only" };
	struct json_object *o = NULL, *attrs = NULL, *changed = NULL, *v;
	struct json_object *ret = NULL;
	size_t i;

	if (ev == NULL || (o = json_object_new_object()) == NULL)
		goto out;
	if (put_str(o, "kind", ev->kind) != 0 ||
	    put_str(o, "subject", ev->subject) != 0 ||
	    put_str(o, "sender_type", ev->sender_type) != 0 ||
	    put_str(o, "ignored_reason", ev->ignored_reason) != 0 ||
	    put_time(o, "effective_at", ev->effective_at) != 0 ||
	    put_time(o, "occurred_at", ev->occurred_at) != 0 ||
	    put_str(o, "completeness", (unsigned)ev->completeness < 3 ?
	    compl[ev->completeness] : NULL) != 0)
		goto out;
	if ((attrs = json_object_new_object()) == NULL)
		goto out;
	for (i = 0; i < ev->nattrs && i < NORM_ATTR_MAX; i++)
		if (ev->attrs[i].key != NULL && ev->attrs[i].value != NULL &&
		    put_str(attrs, ev->attrs[i].key, ev->attrs[i].value) != 0)
			goto out;
	if (json_object_object_add(o, "attributes", attrs) != 0)
		goto out;
	attrs = NULL;
	if ((changed = json_object_new_array()) == NULL)
		goto out;
	for (i = 0; i < ev->nchanged && i < NORM_CHANGED_MAX; i++) {
		if (ev->changed[i] == NULL)
			continue;
		if ((v = json_object_new_string(ev->changed[i])) == NULL)
			goto out;
		if (json_object_array_add(changed, v) != 0) {
			json_object_put(v);
			goto out;
		}
	}
	if (json_object_object_add(o, "changed", changed) != 0)
		goto out;
	changed = NULL;
	if ((v = json_object_new_boolean(ev->truncated != 0)) == NULL)
		goto out;
	if (json_object_object_add(o, "truncated", v) != 0) {
		json_object_put(v);
		goto out;
	}
	v = NULL;
	if (ev->zendesk_user_id != 0 &&
	    (v = json_object_new_int64(ev->zendesk_user_id)) == NULL)
		goto out;
	if (json_object_object_add(o, "zendesk_user_id", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if (put_json_text(o, "previous", ev->previous) != 0 ||
	    put_json_text(o, "current", ev->current) != 0)
		goto out;
	ret = o;
	o = NULL;
out:
	json_object_put(changed);
	json_object_put(attrs);
	json_object_put(o);
	return ret;
}

/* See normalize.h. */
void
norm_event_clear(struct norm_event *ev)
{
	size_t i;

	if (ev == NULL)
		return;
	free(ev->kind);
	free(ev->sender_type);
	free(ev->ignored_reason);
	free(ev->subject);
	for (i = 0; i < ev->nattrs && i < NORM_ATTR_MAX; i++) {
		free(ev->attrs[i].key);
		free(ev->attrs[i].value);
	}
	for (i = 0; i < ev->nchanged && i < NORM_CHANGED_MAX; i++)
		free(ev->changed[i]);
	free(ev->previous);
	free(ev->current);
	memset(ev, 0, sizeof(*ev));
}
