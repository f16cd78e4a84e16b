/*
 * json.c: msgpack values as one line of JSON, and JSON Lines back into
 * records.  The writer's promise is exactness: a double is printed with the
 * fewest of 15, 16 or 17 significant digits that strtod reads back to the
 * same bits (float32 with 6 to 9 digits and strtof), so `tp-cat | tp-cat -j`
 * loses nothing.  The parser is a small strict recursive-descent one of our
 * own (depth capped like the msgpack reader) that reports line and column,
 * because a JSON Lines file edited by hand deserves a precise message.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/json.h"
#include "tp/record.h"
#include "tp/zio.h"

/* Same limit as the msgpack reader, so every parsed record reads back. */
#define MAX_DEPTH 32
#define MAX_LINE ((size_t)1 << 30)

void
tp_jbuf_init(struct tp_jbuf *o)
{
	o->buf = NULL;
	o->len = o->cap = 0;
}

void
tp_jbuf_release(struct tp_jbuf *o)
{
	free(o->buf);
	tp_jbuf_init(o);
}

static void
reserve(struct tp_jbuf *o, size_t n)
{
	if (o->cap - o->len < n) {
		size_t c = o->cap ? o->cap : 256;
		while (c - o->len < n) {
			if (c > SIZE_MAX / 2)
				tp_oom();
			c *= 2;
		}
		o->buf = tp_xrealloc(o->buf, c);
		o->cap = c;
	}
}

void
tp_jbuf_add(struct tp_jbuf *o, const void *p, size_t n)
{
	reserve(o, n);
	if (n)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void
tp_jbuf_addc(struct tp_jbuf *o, char c)
{
	reserve(o, 1);
	o->buf[o->len++] = c;
}

static void
adds(struct tp_jbuf *o, const char *s)
{
	tp_jbuf_add(o, s, strlen(s));
}

/* ---- numbers ---- */

/* Make sure a finite float reads back as a float, not an int. */
static void
add_float_text(struct tp_jbuf *o, const char *t)
{
	adds(o, t);
	if (!strpbrk(t, ".e"))
		adds(o, ".0");
}

/* Integral values print as "%g" would (no exponent below these bounds),
 * without the snprintf/strtod search: datasets are mostly 0.0 and 1.0. */
static int
integral(struct tp_jbuf *o, double d, double bound)
{
	char t[40];

	if (!(fabs(d) < bound) || d != floor(d))
		return 0;
	if (d == 0) {
		adds(o, signbit(d) ? "-0.0" : "0.0");
		return 1;
	}
	snprintf(t, sizeof t, "%lld.0", (long long)d);
	adds(o, t);
	return 1;
}

void
tp_json_f64(struct tp_jbuf *o, double d)
{
	char t[40];

	if (isnan(d)) {
		adds(o, "NaN");
		return;
	}
	if (isinf(d)) {
		adds(o, d < 0 ? "-Infinity" : "Infinity");
		return;
	}
	if (integral(o, d, 1e15))
		return;
	/* 15 digits always name a normal double uniquely, so %.15g is
	 * already the shortest when it reads back; subnormals have fewer
	 * significant bits and may need fewer digits than 15. */
	for (int prec = fabs(d) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		snprintf(t, sizeof t, "%.*g", prec, d);
		if (strtod(t, NULL) == d)
			break;
	}
	add_float_text(o, t);
}

void
tp_json_f32(struct tp_jbuf *o, float f)
{
	char t[40];

	if (isnan(f) || isinf(f)) {
		tp_json_f64(o, f);
		return;
	}
	if (integral(o, f, 1e6))
		return;
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(t, sizeof t, "%.*g", prec, (double)f);
		if (strtof(t, NULL) == f)
			break;
	}
	add_float_text(o, t);
}

/* ---- strings ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t k;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return k;
}

static void
add_escaped(struct tp_jbuf *o, const char *s, size_t n, int tsv)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t run = i;
		/* Copy runs of plain bytes in one go. */
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		       p[run] != '\\' && (tsv || p[run] != '"'))
			run++;
		tp_jbuf_add(o, p + i, run - i);
		i = run;
		if (i == n)
			break;
		unsigned c = p[i];
		if (c >= 0x80) {
			size_t k = utf8_len(p + i, n - i);
			if (k) {
				tp_jbuf_add(o, p + i, k);
				i += k;
			} else {
				/* Deterministic, and still valid JSON. */
				adds(o, tsv ? "\xef\xbf\xbd" : "\\ufffd");
				i++;
			}
			continue;
		}
		i++;
		switch (c) {
		case '"': adds(o, "\\\""); break;
		case '\\': adds(o, "\\\\"); break;
		case '\n': adds(o, "\\n"); break;
		case '\t': adds(o, "\\t"); break;
		case '\r': adds(o, "\\r"); break;
		case '\b': adds(o, tsv ? "\\x08" : "\\b"); break;
		case '\f': adds(o, tsv ? "\\x0c" : "\\f"); break;
		default: {
			char t[8];
			snprintf(t, sizeof t, tsv ? "\\x%02x" : "\\u%04x", c);
			adds(o, t);
		}
		}
	}
}

void
tp_json_str(struct tp_jbuf *o, const char *s, size_t n)
{
	tp_jbuf_addc(o, '"');
	add_escaped(o, s, n, 0);
	tp_jbuf_addc(o, '"');
}

/* ---- base64 ---- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
tp_base64_encode(struct tp_jbuf *o, const void *p, size_t n)
{
	const unsigned char *s = p;
	char *d;
	size_t i;

	if (n == 0)
		return;
	reserve(o, (n + 2) / 3 * 4);
	d = o->buf + o->len;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*d++ = b64[v >> 18];
		*d++ = b64[(v >> 12) & 63];
		*d++ = b64[(v >> 6) & 63];
		*d++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		*d++ = b64[v >> 18];
		*d++ = b64[(v >> 12) & 63];
		*d++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*d++ = '=';
	}
	o->len = (size_t)(d - o->buf);
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int
tp_base64_decode(struct tp_jbuf *o, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	if (n % 4)
		return -1;
	reserve(o, n / 4 * 3);
	for (size_t i = 0; i < n; i += 4) {
		int a = b64val(p[i]), b = b64val(p[i + 1]);
		int c = b64val(p[i + 2]), d = b64val(p[i + 3]);
		int last = i + 4 == n;

		if (a < 0 || b < 0)
			return -1;
		if (last && p[i + 2] == '=' && p[i + 3] == '=') {
			/* Canonical: the unused bits are zero. */
			if (b & 15)
				return -1;
			o->buf[o->len++] = (char)(a << 2 | b >> 4);
			break;
		}
		if (c < 0)
			return -1;
		if (last && p[i + 3] == '=') {
			if (c & 3)
				return -1;
			o->buf[o->len++] = (char)(a << 2 | b >> 4);
			o->buf[o->len++] = (char)((b & 15) << 4 | c >> 2);
			break;
		}
		if (d < 0)
			return -1;
		o->buf[o->len++] = (char)(a << 2 | b >> 4);
		o->buf[o->len++] = (char)((b & 15) << 4 | c >> 2);
		o->buf[o->len++] = (char)((c & 3) << 6 | d);
	}
	return 0;
}

/* ---- values ---- */

static void
add_bin(struct tp_jbuf *o, const unsigned char *p, size_t n,
        enum tp_json_bin bin)
{
	char t[48];

	if (bin == TP_JSON_BIN_SUMMARY) {
		snprintf(t, sizeof t, "\"<bin %zu bytes>\"", n);
		adds(o, t);
		return;
	}
	if (bin == TP_JSON_BIN_FLOATS && n % 4 == 0) {
		tp_jbuf_addc(o, '[');
		for (size_t i = 0; i < n; i += 4) {
			/* Little-endian by the format, whatever the host. */
			uint32_t u = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 |
			             (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
			float f;
			memcpy(&f, &u, sizeof f);
			if (i)
				tp_jbuf_addc(o, ',');
			tp_json_f32(o, f);
		}
		tp_jbuf_addc(o, ']');
		return;
	}
	adds(o, "{\"$base64\":\"");
	tp_base64_encode(o, p, n);
	adds(o, "\"}");
}

void
tp_json_value(struct tp_jbuf *o, const struct tp_val *v, enum tp_json_bin bin)
{
	char t[32];
	const char *s;
	const void *p;
	size_t n;
	int b, et;
	int64_t i;
	uint64_t u;
	double d;

	switch (tp_val_type(v)) {
	case TP_V_NIL:
		adds(o, "null");
		break;
	case TP_V_BOOL:
		if (tp_val_bool(v, &b) == 0)
			adds(o, b ? "true" : "false");
		break;
	case TP_V_INT:
		if (tp_val_is_neg(v) && tp_val_i64(v, &i) == 0)
			snprintf(t, sizeof t, "%" PRId64, i);
		else if (tp_val_u64(v, &u) == 0)
			snprintf(t, sizeof t, "%" PRIu64, u);
		else
			snprintf(t, sizeof t, "0");
		adds(o, t);
		break;
	case TP_V_FLOAT:
		if (tp_val_f64(v, &d) == 0) {
			if (tp_val_is_f32(v))
				tp_json_f32(o, (float)d);
			else
				tp_json_f64(o, d);
		}
		break;
	case TP_V_STR:
		s = tp_val_str(v, &n);
		tp_json_str(o, s, n);
		break;
	case TP_V_BIN:
		p = tp_val_bin(v, &n);
		add_bin(o, p, n, bin);
		break;
	case TP_V_EXT:
		p = tp_val_ext(v, &et, &n);
		snprintf(t, sizeof t, "{\"$ext\":%d,\"$base64\":\"", et);
		adds(o, t);
		tp_base64_encode(o, p, n);
		adds(o, "\"}");
		break;
	case TP_V_ARRAY:
		tp_jbuf_addc(o, '[');
		for (size_t k = 0; k < tp_val_len(v); k++) {
			if (k)
				tp_jbuf_addc(o, ',');
			tp_json_value(o, tp_val_at(v, k), bin);
		}
		tp_jbuf_addc(o, ']');
		break;
	case TP_V_MAP:
		tp_jbuf_addc(o, '{');
		for (size_t k = 0; k < tp_val_len(v); k++) {
			const struct tp_val *key = tp_map_key(v, k);
			if (k)
				tp_jbuf_addc(o, ',');
			if ((s = tp_val_str(key, &n)) &&
			    ((n == 7 && memcmp(s, "$base64", 7) == 0) ||
			     (n == 4 && memcmp(s, "$ext", 4) == 0))) {
				/* Not the bin and ext forms, which are spelled
				 * literally: the same key to any JSON reader. */
				adds(o, "\"\\u0024");
				add_escaped(o, s + 1, n - 1, 0);
				tp_jbuf_addc(o, '"');
			} else if (s) {
				tp_json_str(o, s, n);
			} else {
				struct tp_jbuf kt;
				tp_jbuf_init(&kt);
				tp_json_value(&kt, key, bin);
				tp_json_str(o, kt.buf, kt.len);
				tp_jbuf_release(&kt);
			}
			tp_jbuf_addc(o, ':');
			tp_json_value(o, tp_map_val(v, k), bin);
		}
		tp_jbuf_addc(o, '}');
		break;
	}
}

void
tp_json_tsv_field(struct tp_jbuf *o, const struct tp_val *v,
                  enum tp_json_bin bin)
{
	const char *s;
	size_t n;

	if (!v)
		return;
	if ((s = tp_val_str(v, &n)))
		add_escaped(o, s, n, 1);
	else
		tp_json_value(o, v, bin);
}

/* ---- parser ---- */

struct parser {
	const unsigned char *s;
	size_t n, pos;
	struct tp_rb *b;
	const char *name;
	uint64_t line;
	struct tp_jbuf str; /* the last string parsed */
	struct tp_jbuf bin; /* base64 decoding */
	int failed;
};

static int
perr(struct parser *p, size_t at, const char *what)
{
	if (!p->failed)
		tp_errorf("%s: line %" PRIu64 ": column %zu: %s", p->name, p->line,
		          at + 1, what);
	p->failed = 1;
	return -1;
}

static void
ws(struct parser *p)
{
	while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
	                         p->s[p->pos] == '\r' || p->s[p->pos] == '\n'))
		p->pos++;
}

static int
expect(struct parser *p, char c)
{
	static const char msg[] = "expected 'x'";
	char m[sizeof msg];

	ws(p);
	if (p->pos < p->n && p->s[p->pos] == (unsigned char)c) {
		p->pos++;
		return 0;
	}
	memcpy(m, msg, sizeof msg);
	m[10] = c;
	return perr(p, p->pos, p->pos < p->n ? m : "unexpected end of line");
}

static int
hex4(struct parser *p, uint32_t *out)
{
	uint32_t v = 0;

	if (p->n - p->pos < 4)
		return perr(p, p->pos, "unexpected end of line");
	for (int i = 0; i < 4; i++) {
		unsigned c = p->s[p->pos + (size_t)i];
		int d = c >= '0' && c <= '9' ? (int)c - '0'
		      : c >= 'a' && c <= 'f' ? (int)c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? (int)c - 'A' + 10 : -1;
		if (d < 0)
			return perr(p, p->pos + (size_t)i, "invalid \\u escape");
		v = v << 4 | (uint32_t)d;
	}
	p->pos += 4;
	*out = v;
	return 0;
}

static void
put_utf8(struct tp_jbuf *o, uint32_t cp)
{
	char t[4];
	size_t k;

	if (cp < 0x80) {
		t[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | cp >> 6);
		t[1] = (char)(0x80 | (cp & 63));
		k = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | cp >> 12);
		t[1] = (char)(0x80 | ((cp >> 6) & 63));
		t[2] = (char)(0x80 | (cp & 63));
		k = 3;
	} else {
		t[0] = (char)(0xf0 | cp >> 18);
		t[1] = (char)(0x80 | ((cp >> 12) & 63));
		t[2] = (char)(0x80 | ((cp >> 6) & 63));
		t[3] = (char)(0x80 | (cp & 63));
		k = 4;
	}
	tp_jbuf_add(o, t, k);
}

/* A string at p->pos (after whitespace) into p->str. */
static int
parse_string(struct parser *p)
{
	ws(p);
	if (p->pos >= p->n || p->s[p->pos] != '"')
		return perr(p, p->pos, p->pos < p->n ? "expected a string"
		                                     : "unexpected end of line");
	p->pos++;
	p->str.len = 0;
	for (;;) {
		size_t run = p->pos;
		unsigned c;

		while (run < p->n && p->s[run] >= 0x20 && p->s[run] < 0x80 &&
		       p->s[run] != '"' && p->s[run] != '\\')
			run++;
		tp_jbuf_add(&p->str, p->s + p->pos, run - p->pos);
		p->pos = run;
		if (p->pos >= p->n)
			return perr(p, p->pos, "unterminated string");
		c = p->s[p->pos];
		if (c == '"') {
			p->pos++;
			return 0;
		}
		if (c < 0x20)
			return perr(p, p->pos, "control character in string");
		if (c >= 0x80) {
			size_t k = utf8_len(p->s + p->pos, p->n - p->pos);
			if (!k)
				return perr(p, p->pos, "invalid UTF-8");
			tp_jbuf_add(&p->str, p->s + p->pos, k);
			p->pos += k;
			continue;
		}
		/* A backslash escape. */
		size_t at = p->pos;
		if (++p->pos >= p->n)
			return perr(p, p->pos, "unterminated string");
		c = p->s[p->pos++];
		switch (c) {
		case '"': tp_jbuf_addc(&p->str, '"'); break;
		case '\\': tp_jbuf_addc(&p->str, '\\'); break;
		case '/': tp_jbuf_addc(&p->str, '/'); break;
		case 'b': tp_jbuf_addc(&p->str, '\b'); break;
		case 'f': tp_jbuf_addc(&p->str, '\f'); break;
		case 'n': tp_jbuf_addc(&p->str, '\n'); break;
		case 'r': tp_jbuf_addc(&p->str, '\r'); break;
		case 't': tp_jbuf_addc(&p->str, '\t'); break;
		case 'u': {
			uint32_t cp, lo;
			if (hex4(p, &cp) < 0)
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return perr(p, at, "lone surrogate in \\u escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p->n - p->pos < 2 || p->s[p->pos] != '\\' ||
				    p->s[p->pos + 1] != 'u')
					return perr(p, at, "lone surrogate in \\u escape");
				p->pos += 2;
				if (hex4(p, &lo) < 0)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return perr(p, at, "lone surrogate in \\u escape");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			put_utf8(&p->str, cp);
			break;
		}
		default:
			return perr(p, at, "invalid escape in string");
		}
	}
}

static int
word(struct parser *p, const char *w)
{
	size_t k = strlen(w);

	if (p->n - p->pos >= k && memcmp(p->s + p->pos, w, k) == 0) {
		p->pos += k;
		return 1;
	}
	return 0;
}

static int
parse_number(struct parser *p, const char *key)
{
	size_t start = p->pos, i = p->pos;
	int isint = 1, neg = 0;
	char tmp[64], *t = tmp, *end;

	if (i < p->n && p->s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i < p->n && p->s[i] == '0') {
		i++;
	} else if (i < p->n && p->s[i] >= '1' && p->s[i] <= '9') {
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	} else {
		return perr(p, i, i < p->n ? "invalid number" : "unexpected end of line");
	}
	if (i < p->n && p->s[i] == '.') {
		isint = 0;
		if (++i >= p->n || p->s[i] < '0' || p->s[i] > '9')
			return perr(p, i, "invalid number");
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
		isint = 0;
		i++;
		if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
			return perr(p, i, "invalid number");
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	p->pos = i;
	if (i - start >= sizeof tmp)
		t = tp_xmalloc(i - start + 1);
	memcpy(t, p->s + start, i - start);
	t[i - start] = '\0';
	errno = 0;
	if (isint && neg) {
		long long v = strtoll(t, &end, 10);
		if (!errno) {
			tp_rb_i64(p->b, key, v);
			goto done;
		}
	} else if (isint) {
		unsigned long long v = strtoull(t, &end, 10);
		if (!errno) {
			tp_rb_u64(p->b, key, v);
			goto done;
		}
	}
	/* Out-of-range values become +-Infinity: strtod's ERANGE is fine. */
	tp_rb_f64(p->b, key, strtod(t, &end));
done:
	if (t != tmp)
		free(t);
	return 0;
}

static int parse_value(struct parser *p, const char *key, int depth);

/*
 * {"$base64":"..."} and {"$ext":T,"$base64":"..."} are bin and ext.
 * Returns 1 when the object at p->pos was one (and was added), 0 when it is
 * an ordinary object (p->pos unchanged), -1 on error.
 */
static int
parse_special(struct parser *p, const char *key)
{
	size_t save = p->pos, bat, bad = 0; /* bad: 1 + where invalid base64 is */
	long ext = -1000;
	int have64 = 0;

	p->pos++; /* '{' */
	for (int k = 0; k < 2; k++) {
		ws(p);
		if (k == 1) {
			if (p->pos < p->n && p->s[p->pos] == '}')
				break;
			if (p->pos >= p->n || p->s[p->pos] != ',')
				goto plain;
			p->pos++;
		}
		size_t ks = p->pos, kn;
		if (parse_string(p) < 0)
			goto plain;
		kn = p->pos - ks;
		ws(p);
		if (p->pos >= p->n || p->s[p->pos] != ':')
			goto plain;
		p->pos++;
		ws(p);
		/* The keys as written, not as decoded: a map whose key is
		 * "$base64" prints it as "\u0024base64" (tp_json_value) and so
		 * reads back as a map. */
		if (kn == 9 && memcmp(p->s + ks, "\"$base64\"", 9) == 0 && !have64) {
			bat = p->pos;
			if (parse_string(p) < 0)
				goto plain;
			p->bin.len = 0;
			/* Invalid base64 is an error only in the exact form: a
			 * map that merely has the key is a map. */
			if (tp_base64_decode(&p->bin, p->str.buf ? p->str.buf : "",
			                     p->str.len) < 0)
				bad = bat + 1;
			have64 = 1;
		} else if (kn == 6 && memcmp(p->s + ks, "\"$ext\"", 6) == 0 &&
		           ext == -1000) {
			char *end;
			size_t at = p->pos;
			while (p->pos < p->n && (p->s[p->pos] == '-' ||
			       (p->s[p->pos] >= '0' && p->s[p->pos] <= '9')))
				p->pos++;
			char t[8];
			if (p->pos - at == 0 || p->pos - at >= sizeof t)
				goto plain;
			memcpy(t, p->s + at, p->pos - at);
			t[p->pos - at] = '\0';
			ext = strtol(t, &end, 10);
			if (*end || ext < -128 || ext > 127)
				goto plain;
		} else {
			goto plain;
		}
	}
	ws(p);
	if (!have64 || p->pos >= p->n || p->s[p->pos] != '}')
		goto plain;
	if (bad) {
		p->pos = bad - 1;
		return -1;
	}
	p->pos++;
	if (ext != -1000)
		tp_rb_ext(p->b, key, (int)ext, p->bin.buf, p->bin.len);
	else
		tp_rb_bin(p->b, key, p->bin.buf, p->bin.len);
	return 1;
plain:
	/* Not the special form: errors seen while peeking do not count. */
	p->pos = save;
	return 0;
}

/* parse_special, quietly: 1 a bin or ext was added, 0 an ordinary object,
 * -1 after printing "invalid base64" (the only hard failure). */
static int
peek_special(struct parser *p, const char *key)
{
	int quiet = p->failed, r;

	/* Peeking must not print: parse_special's errors are silent. */
	p->failed = 1;
	r = parse_special(p, key);
	p->failed = quiet;
	return r < 0 ? perr(p, p->pos, "invalid base64") : r;
}

static int
parse_object(struct parser *p, const char *key, int depth, int top)
{
	int r;

	if (!top) {
		r = peek_special(p, key);
		if (r != 0)
			return r < 0 ? -1 : 0;
		tp_rb_map_begin(p->b, key);
	} else {
		tp_rb_begin(p->b, NULL);
	}
	p->pos++; /* '{' */
	ws(p);
	if (p->pos < p->n && p->s[p->pos] == '}') {
		p->pos++;
		goto end;
	}
	for (;;) {
		ws(p);
		if (parse_string(p) < 0)
			return -1;
		tp_rb_keyn(p->b, p->str.buf ? p->str.buf : "", p->str.len);
		if (expect(p, ':') < 0 || parse_value(p, NULL, depth + 1) < 0)
			return -1;
		ws(p);
		if (p->pos < p->n && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (expect(p, '}') < 0)
			return -1;
		break;
	}
end:
	if (!top)
		tp_rb_map_end(p->b);
	return 0;
}

static int
parse_array(struct parser *p, const char *key, int depth)
{
	tp_rb_arr_begin(p->b, key);
	p->pos++; /* '[' */
	ws(p);
	if (p->pos < p->n && p->s[p->pos] == ']') {
		p->pos++;
		goto end;
	}
	for (;;) {
		if (parse_value(p, NULL, depth + 1) < 0)
			return -1;
		ws(p);
		if (p->pos < p->n && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (expect(p, ']') < 0)
			return -1;
		break;
	}
end:
	tp_rb_arr_end(p->b);
	return 0;
}

static int
parse_value(struct parser *p, const char *key, int depth)
{
	unsigned c;

	ws(p);
	if (p->pos >= p->n)
		return perr(p, p->pos, "unexpected end of line");
	c = p->s[p->pos];
	if ((c == '{' || c == '[') && depth > MAX_DEPTH) {
		/* A bin or ext is a scalar to the msgpack reader, whatever
		 * its depth: its JSON object form is no level either. */
		int r = c == '{' ? peek_special(p, key) : 0;
		if (r != 0)
			return r < 0 ? -1 : 0;
		return perr(p, p->pos, "nested deeper than 32");
	}
	switch (c) {
	case '{':
		return parse_object(p, key, depth, 0);
	case '[':
		return parse_array(p, key, depth);
	case '"':
		if (parse_string(p) < 0)
			return -1;
		tp_rb_strn(p->b, key, p->str.buf ? p->str.buf : "", p->str.len);
		return 0;
	default:
		break;
	}
	if (word(p, "true"))
		tp_rb_bool(p->b, key, 1);
	else if (word(p, "false"))
		tp_rb_bool(p->b, key, 0);
	else if (word(p, "null"))
		tp_rb_nil(p->b, key);
	else if (word(p, "NaN"))
		tp_rb_f64(p->b, key, NAN);
	else if (word(p, "Infinity"))
		tp_rb_f64(p->b, key, INFINITY);
	else if (word(p, "-Infinity"))
		tp_rb_f64(p->b, key, -INFINITY);
	else if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(p, key);
	else
		return perr(p, p->pos, "expected a value");
	return 0;
}

int
tp_json_parse_record(const char *s, size_t n, struct tp_rb *b,
                     const char *name, uint64_t line)
{
	struct parser p = {(const unsigned char *)s, n, 0, b, name, line,
	                   {NULL, 0, 0}, {NULL, 0, 0}, 0};
	int rc = -1;

	ws(&p);
	if (p.pos >= n || s[p.pos] != '{') {
		perr(&p, p.pos, "expected an object");
		goto out;
	}
	if (parse_object(&p, NULL, 1, 1) < 0)
		goto out;
	ws(&p);
	if (p.pos < n) {
		perr(&p, p.pos, "expected end of line");
		goto out;
	}
	rc = 0;
out:
	tp_jbuf_release(&p.str);
	tp_jbuf_release(&p.bin);
	return rc;
}

/* ---- JSON Lines reader ---- */

struct tp_jsonl {
	struct tp_zin *z;
	char *buf;
	size_t cap, len, pos; /* buf[pos..len) not yet consumed */
	int eof;
	uint64_t line;
	struct tp_rb b;
	struct tp_rd *rd;
};

struct tp_jsonl *
tp_jsonl_open(const char *path)
{
	struct tp_zin *z = tp_zin_open(path);
	struct tp_jsonl *j;

	if (!z)
		return NULL;
	j = tp_xcalloc(1, sizeof *j);
	j->z = z;
	tp_rb_init(&j->b);
	j->rd = tp_rd_mem("", 0, tp_zin_name(z));
	return j;
}

/* The next line (without newline) in *line and *n; 0 at end; -1 on error. */
static int
next_line(struct tp_jsonl *j, const char **line, size_t *n)
{
	size_t scanned = 0;

	for (;;) {
		char *nl = j->len > j->pos + scanned
		           ? memchr(j->buf + j->pos + scanned, '\n',
		                    j->len - j->pos - scanned)
		           : NULL;
		if (nl) {
			*line = j->buf + j->pos;
			*n = (size_t)(nl - *line);
			j->pos += *n + 1;
			return 1;
		}
		scanned = j->len - j->pos;
		if (j->eof) {
			if (j->len == j->pos)
				return 0;
			*line = j->buf + j->pos;
			*n = j->len - j->pos;
			j->pos = j->len;
			return 1;
		}
		if (j->pos > 0) {
			memmove(j->buf, j->buf + j->pos, j->len - j->pos);
			j->len -= j->pos;
			j->pos = 0;
		}
		if (j->len == j->cap) {
			if (j->cap >= MAX_LINE) {
				tp_errorf("%s: line %" PRIu64 ": longer than 1 GiB",
				          tp_zin_name(j->z), j->line + 1);
				return -1;
			}
			j->cap = j->cap ? 2 * j->cap : 1 << 16;
			j->buf = tp_xrealloc(j->buf, j->cap);
		}
		ssize_t r = tp_zin_read(j->z, j->buf + j->len, j->cap - j->len);
		if (r < 0)
			return -1;
		if (r == 0)
			j->eof = 1;
		j->len += (size_t)r;
	}
}

int
tp_jsonl_next(struct tp_jsonl *j, const struct tp_val **rec, const void **raw,
              size_t *len)
{
	const char *line;
	size_t n, k;
	int r;

	for (;;) {
		if ((r = next_line(j, &line, &n)) <= 0)
			return r;
		j->line++;
		/* Editors on some systems start the file with a UTF-8 BOM. */
		if (j->line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
			line += 3;
			n -= 3;
		}
		for (k = 0; k < n; k++)
			if (!strchr(" \t\r", line[k]))
				break;
		if (k < n)
			break;
	}
	if (tp_json_parse_record(line, n, &j->b, tp_zin_name(j->z), j->line) < 0)
		return -1;
	*raw = tp_rb_finish(&j->b, len);
	tp_rd_mem_reset(j->rd, *raw, *len);
	/* Our own bytes: reading them back cannot fail short of a bug. */
	if (tp_rd_next(j->rd, rec) != 1) {
		tp_errorf("%s: line %" PRIu64 ": internal error re-reading the record",
		          tp_zin_name(j->z), j->line);
		return -1;
	}
	return 1;
}

uint64_t
tp_jsonl_line(const struct tp_jsonl *j)
{
	return j->line;
}

void
tp_jsonl_close(struct tp_jsonl *j)
{
	if (!j)
		return;
	tp_zin_close(j->z);
	tp_rd_close(j->rd);
	tp_rb_release(&j->b);
	free(j->buf);
	free(j);
}
