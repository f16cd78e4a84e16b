/*
 * record.c: msgpack record streams, the only module that touches msgpack-c.
 *
 * Reading: decompressed bytes land in one growing buffer (tp_zin reads
 * straight into it).  A small resumable scanner finds where the next record
 * ends without allocating, checking nesting depth and length fields against
 * a 1 GiB cap, so hostile headers ("array of 4 billion") cannot make us
 * allocate; only then does msgpack_unpack decode the complete record into a
 * zone that is cleared, not freed, between records.  Strings and bins point
 * into the buffer: no per-record malloc and no copy on the hot path.
 *
 * Writing: the builder packs with msgpack-c's packer (smallest encodings)
 * into a byte buffer; containers reserve a 5-byte header and shift their
 * content back when the count is known at _end.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "tp/record.h"
#include "tp/zio.h"

/* Guards memory against corrupt or hostile length fields (fuzz builds
 * lower it to keep each run fast). */
#ifndef TP_MAX_RECORD
#define TP_MAX_RECORD ((size_t)1 << 30)
#endif
#define MAX_RECORD ((size_t)TP_MAX_RECORD)
/* Decoded objects take 24 bytes each: cap them so 1 GiB of one-byte values
 * cannot ask for 24 GiB. */
#define MAX_VALUES ((uint64_t)1 << 26)
/* msgpack-c's unpacker stack (MSGPACK_EMBED_STACK_SIZE). */
#define MAX_DEPTH 32

static const msgpack_object *
O(const struct tp_val *v)
{
	return (const msgpack_object *)(const void *)v;
}

static const struct tp_val *
V(const msgpack_object *o)
{
	return (const struct tp_val *)(const void *)o;
}

/* ---- values ---- */

enum tp_vtype
tp_val_type(const struct tp_val *v)
{
	if (!v)
		return TP_V_NIL;
	switch (O(v)->type) {
	case MSGPACK_OBJECT_NIL: return TP_V_NIL;
	case MSGPACK_OBJECT_BOOLEAN: return TP_V_BOOL;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return TP_V_INT;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return TP_V_FLOAT;
	case MSGPACK_OBJECT_STR: return TP_V_STR;
	case MSGPACK_OBJECT_BIN: return TP_V_BIN;
	case MSGPACK_OBJECT_ARRAY: return TP_V_ARRAY;
	case MSGPACK_OBJECT_MAP: return TP_V_MAP;
	default: return TP_V_EXT;
	}
}

const char *
tp_vtype_name(enum tp_vtype t)
{
	static const char *const names[] = {
		"nil", "bool", "int", "float", "str", "bin", "array", "map", "ext",
	};

	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static int
str_is(const msgpack_object *o, const char *s, size_t n)
{
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       memcmp(o->via.str.ptr, s, n) == 0;
}

const struct tp_val *
tp_val_get(const struct tp_val *map, const char *key)
{
	const msgpack_object *o = O(map);
	size_t n = strlen(key);

	if (!map || o->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < o->via.map.size; i++)
		if (str_is(&o->via.map.ptr[i].key, key, n))
			return V(&o->via.map.ptr[i].val);
	return NULL;
}

const struct tp_val *
tp_val_path(const struct tp_val *map, const char *path)
{
	const struct tp_val *v = map;
	const char *p = path;

	/* A key that itself holds dots wins over the nested reading. */
	if ((v = tp_val_get(map, path)) != NULL)
		return v;
	v = map;
	while (v && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		const msgpack_object *o = O(v);
		const struct tp_val *next = NULL;

		if (o->type != MSGPACK_OBJECT_MAP)
			return NULL;
		for (uint32_t i = 0; i < o->via.map.size && !next; i++)
			if (str_is(&o->via.map.ptr[i].key, p, n))
				next = V(&o->via.map.ptr[i].val);
		v = next;
		if (!dot)
			return v;
		p = dot + 1;
	}
	return NULL;
}

int
tp_val_f64(const struct tp_val *v, double *out)
{
	const msgpack_object *o = O(v);

	if (!v)
		return -1;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return 0;
	default: return -1;
	}
}

int
tp_val_i64(const struct tp_val *v, int64_t *out)
{
	const msgpack_object *o = O(v);
	double d;

	if (!v)
		return -1;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > INT64_MAX)
			return -1;
		*out = (int64_t)o->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*out = o->via.i64;
		return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		d = o->via.f64;
		/* 2^63 itself is out of range; -2^63 is in. */
		if (d != floor(d) || !(d >= -9223372036854775808.0 &&
		                       d < 9223372036854775808.0))
			return -1;
		*out = (int64_t)d;
		return 0;
	default:
		return -1;
	}
}

int
tp_val_u64(const struct tp_val *v, uint64_t *out)
{
	const msgpack_object *o = O(v);
	double d;

	if (!v)
		return -1;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*out = o->via.u64;
		return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		d = o->via.f64;
		if (d != floor(d) || !(d >= 0 && d < 18446744073709551616.0))
			return -1;
		*out = (uint64_t)d;
		return 0;
	default:
		return -1;
	}
}

int
tp_val_bool(const struct tp_val *v, int *out)
{
	if (!v || O(v)->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*out = O(v)->via.boolean;
	return 0;
}

int
tp_val_is_f32(const struct tp_val *v)
{
	return v && O(v)->type == MSGPACK_OBJECT_FLOAT32;
}

int
tp_val_is_neg(const struct tp_val *v)
{
	return v && O(v)->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

const char *
tp_val_str(const struct tp_val *v, size_t *len)
{
	if (!v || O(v)->type != MSGPACK_OBJECT_STR)
		return NULL;
	*len = O(v)->via.str.size;
	/* An empty string may have a NULL pointer in msgpack-c. */
	return O(v)->via.str.ptr ? O(v)->via.str.ptr : "";
}

int
tp_val_streq(const struct tp_val *v, const char *s)
{
	return v && str_is(O(v), s, strlen(s));
}

char *
tp_val_strdup(const struct tp_val *v)
{
	size_t n;
	const char *s = tp_val_str(v, &n);

	return s ? tp_xstrndup(s, n) : NULL;
}

const void *
tp_val_bin(const struct tp_val *v, size_t *len)
{
	if (!v || O(v)->type != MSGPACK_OBJECT_BIN)
		return NULL;
	*len = O(v)->via.bin.size;
	return O(v)->via.bin.ptr ? (const void *)O(v)->via.bin.ptr : (const void *)"";
}

const void *
tp_val_ext(const struct tp_val *v, int *type, size_t *len)
{
	if (!v || O(v)->type != MSGPACK_OBJECT_EXT)
		return NULL;
	*type = O(v)->via.ext.type;
	*len = O(v)->via.ext.size;
	return O(v)->via.ext.ptr ? (const void *)O(v)->via.ext.ptr : (const void *)"";
}

size_t
tp_val_len(const struct tp_val *v)
{
	if (!v)
		return 0;
	if (O(v)->type == MSGPACK_OBJECT_ARRAY)
		return O(v)->via.array.size;
	if (O(v)->type == MSGPACK_OBJECT_MAP)
		return O(v)->via.map.size;
	return 0;
}

const struct tp_val *
tp_val_at(const struct tp_val *arr, size_t i)
{
	if (!arr || O(arr)->type != MSGPACK_OBJECT_ARRAY || i >= O(arr)->via.array.size)
		return NULL;
	return V(&O(arr)->via.array.ptr[i]);
}

const struct tp_val *
tp_map_key(const struct tp_val *map, size_t i)
{
	if (!map || O(map)->type != MSGPACK_OBJECT_MAP || i >= O(map)->via.map.size)
		return NULL;
	return V(&O(map)->via.map.ptr[i].key);
}

const struct tp_val *
tp_map_val(const struct tp_val *map, size_t i)
{
	if (!map || O(map)->type != MSGPACK_OBJECT_MAP || i >= O(map)->via.map.size)
		return NULL;
	return V(&O(map)->via.map.ptr[i].val);
}

int
tp_val_match(const struct tp_val *v, const char *text)
{
	const msgpack_object *o = O(v);
	char *end;
	double d;

	if (!v)
		return 0;
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		return str_is(o, text, strlen(text));
	case MSGPACK_OBJECT_NIL:
		return strcmp(text, "null") == 0;
	case MSGPACK_OBJECT_BOOLEAN:
		return strcmp(text, o->via.boolean ? "true" : "false") == 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		/* Integers compare exactly when the text is an integer. */
		errno = 0;
		if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && text[0] != '-') {
			unsigned long long u = strtoull(text, &end, 10);
			if (*text && !*end && !errno)
				return u == o->via.u64;
		} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
			long long i = strtoll(text, &end, 10);
			if (*text && !*end && !errno)
				return i == o->via.i64;
		}
		/* fall through */
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		errno = 0;
		d = strtod(text, &end);
		if (!*text || *end)
			return 0;
		if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			return d == (double)o->via.u64;
		if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			return d == (double)o->via.i64;
		if (o->type == MSGPACK_OBJECT_FLOAT32)
			return (float)d == (float)o->via.f64;
		return d == o->via.f64;
	default:
		return 0;
	}
}

/* ---- scanner: where does the record end? ---- */

struct scan {
	size_t pos;                  /* bytes accepted, from the record start */
	uint64_t values;             /* container elements announced so far */
	int depth;                   /* open non-empty containers */
	uint64_t rem[MAX_DEPTH + 1]; /* items still expected at each level */
	unsigned char map[MAX_DEPTH + 1]; /* the level is a map's keys and values */
};

static void
scan_reset(struct scan *s)
{
	s->pos = 0;
	s->values = 0;
	s->depth = 0;
	s->rem[0] = 1;
	s->map[0] = 0;
}

static uint64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Advance over whole items in p[0..avail).  1: the record ends at s->pos;
 * 0: more bytes needed (state kept, so the next call resumes); -1: bad,
 * *why says what.  An item is accepted only when its header and payload are
 * all present, so resuming never re-reads a payload.
 */
static int
scan_step(struct scan *s, const unsigned char *p, size_t avail,
          const char **why)
{
	while (s->depth >= 0) {
		const unsigned char *q = p + s->pos;
		size_t have = avail - s->pos, hdr = 1;
		uint64_t len = 0, kids = 0;
		int container = 0, ismap = 0;
		unsigned c;

		if (s->rem[s->depth] == 0) {
			s->depth--;
			continue;
		}
		if (have == 0)
			return 0;
		c = q[0];
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
			/* fixint, nil, bool */
		} else if (c >= 0xa0 && c <= 0xbf) {
			len = c & 0x1f;
		} else if (c >= 0x90 && c <= 0x9f) {
			kids = c & 0x0f;
			container = 1;
		} else if (c >= 0x80 && c <= 0x8f) {
			kids = 2 * (uint64_t)(c & 0x0f);
			container = ismap = 1;
		} else {
			static const signed char hl[] = {
				/* c4..df: header bytes after c */
				1, 2, 4, 2, 3, 5, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8,
				2, 3, 5, 9, 17, 1, 2, 4, 2, 4, 2, 4,
			};
			int k;

			if (c == 0xc1) {
				*why = "invalid msgpack (byte 0xc1)";
				return -1;
			}
			k = hl[c - 0xc4];
			if (have < 1 + (size_t)k)
				return 0;
			hdr = 1 + (size_t)k;
			switch (c) {
			case 0xc4: case 0xc5: case 0xc6: /* bin */
			case 0xd9: case 0xda: case 0xdb: /* str */
				len = be(q + 1, k);
				break;
			case 0xc7: case 0xc8: case 0xc9: /* ext: size then type */
				len = be(q + 1, k - 1);
				break;
			case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
				/* fixext: type byte counted in the header */
				break;
			case 0xdc: case 0xdd:
				kids = be(q + 1, k);
				container = 1;
				break;
			case 0xde: case 0xdf:
				kids = 2 * be(q + 1, k);
				container = ismap = 1;
				break;
			default: /* numbers: the header is the payload */
				break;
			}
		}
		if (len > MAX_RECORD || kids > MAX_RECORD) {
			*why = "record larger than 1 GiB";
			return -1;
		}
		/* A map's keys come at even counts.  A key that is a map or an
		 * array means nothing to any tool, and printed as JSON each
		 * level of such keys escapes the one inside it again: 400 bytes
		 * became 28 MB of output. */
		if (container && s->map[s->depth] && s->rem[s->depth] % 2 == 0) {
			*why = "invalid record (a map key is a map or an array)";
			return -1;
		}
		if (have < hdr + len)
			return 0;
		s->pos += hdr + (size_t)len;
		s->rem[s->depth]--;
		/* Empty containers count as a level too (msgpack-c would
		 * take them), so that every record we accept prints as JSON
		 * that our parser, capped at 32 levels, reads back. */
		if (container && s->depth == MAX_DEPTH) {
			*why = "invalid msgpack (nested deeper than 32)";
			return -1;
		}
		if (kids) {
			s->values += kids;
			if (s->values > MAX_VALUES) {
				*why = "record has more than 2^26 values";
				return -1;
			}
			s->rem[++s->depth] = kids;
			s->map[s->depth] = (unsigned char)ismap;
		}
		if (s->pos > MAX_RECORD) {
			*why = "record larger than 1 GiB";
			return -1;
		}
	}
	return 1;
}

/* ---- reader ---- */

struct tp_rd {
	struct tp_zin *zin; /* NULL when reading plain memory */
	char *name;
	unsigned char *buf; /* owned, or the caller's memory */
	int own_buf;
	size_t cap, len;    /* valid bytes in buf */
	size_t start, end;  /* the current record */
	uint64_t base;      /* stream offset of buf[0] */
	int eof;
	int failed;
	int filled;         /* the last read filled all the free space */
	struct scan sc;
	msgpack_zone zone;
	msgpack_object obj;
};

/* The buffer starts small (short streams, many readers) and doubles up to
 * RD_CAP while reads keep filling it, so a fast source pays for the slide
 * of a partial record once per MiB, not once per 64 KiB. */
enum { RD_MIN = 1 << 16, RD_CAP = 1 << 20 };

static struct tp_rd *
rd_new(const char *name)
{
	struct tp_rd *rd = tp_xcalloc(1, sizeof *rd);

	rd->name = tp_xstrdup(name);
	if (!msgpack_zone_init(&rd->zone, 1 << 14))
		tp_oom();
	scan_reset(&rd->sc);
	return rd;
}

struct tp_rd *
tp_rd_open(const char *path)
{
	struct tp_zin *z = tp_zin_open(path);
	struct tp_rd *rd;

	if (!z)
		return NULL;
	rd = rd_new(tp_zin_name(z));
	rd->zin = z;
	rd->own_buf = 1;
	return rd;
}

struct tp_rd *
tp_rd_zin(struct tp_zin *z)
{
	struct tp_rd *rd = rd_new(tp_zin_name(z));

	rd->zin = z;
	rd->own_buf = 1;
	return rd;
}

static int
is_compressed(const unsigned char *p, size_t len)
{
	return (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
	        p[3] == 0xfd) ||
	       (len >= 2 && p[0] == 0x1f && p[1] == 0x8b);
}

struct tp_rd *
tp_rd_mem(const void *buf, size_t len, const char *name)
{
	struct tp_rd *rd = rd_new(name ? name : "<memory>");

	if (is_compressed(buf, len)) {
		rd->zin = tp_zin_mem(buf, len, rd->name);
		rd->own_buf = 1;
	} else {
		/* Plain memory is parsed in place: no copy. */
		rd->buf = (unsigned char *)(uintptr_t)buf;
		rd->len = len;
		rd->eof = 1;
	}
	return rd;
}

void
tp_rd_mem_reset(struct tp_rd *rd, const void *buf, size_t len)
{
	if (rd->own_buf) {
		tp_zin_close(rd->zin);
		rd->zin = NULL;
		free(rd->buf);
		rd->own_buf = 0;
		rd->cap = 0;
	}
	rd->buf = (unsigned char *)(uintptr_t)buf;
	rd->len = len;
	rd->start = rd->end = 0;
	rd->base = 0;
	rd->eof = 1;
	rd->failed = 0;
	scan_reset(&rd->sc);
}

void
tp_rd_errorf(const struct tp_rd *rd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	tp_errorf("%s: byte %" PRIu64 ": %s", rd->name, tp_rd_offset(rd), msg);
}

/* Make room and read more; -1 on a read error (printed). */
static int
refill(struct tp_rd *rd)
{
	ssize_t r;

	if (rd->start > 0) {
		/* Slide the partial record to the front; it is small
		 * compared with the buffer except for huge records. */
		memmove(rd->buf, rd->buf + rd->start, rd->len - rd->start);
		rd->base += rd->start;
		rd->len -= rd->start;
		rd->end -= rd->start;
		rd->start = 0;
	}
	if (rd->len == rd->cap || (rd->filled && rd->cap < RD_CAP)) {
		size_t ncap = rd->cap ? rd->cap * 2 : RD_MIN;
		if (ncap > MAX_RECORD + RD_CAP)
			ncap = MAX_RECORD + RD_CAP;
		rd->buf = tp_xrealloc(rd->buf, ncap);
		rd->cap = ncap;
	}
	r = tp_zin_read(rd->zin, rd->buf + rd->len, rd->cap - rd->len);
	if (r < 0)
		return -1;
	rd->filled = (size_t)r == rd->cap - rd->len;
	if (r == 0)
		rd->eof = 1;
	rd->len += (size_t)r;
	return 0;
}

static const char *
otype_name(const msgpack_object *o)
{
	return tp_vtype_name(tp_val_type(V(o)));
}

int
tp_rd_next(struct tp_rd *rd, const struct tp_val **rec)
{
	const char *why = NULL;
	size_t off = 0;
	int r;

	if (rd->failed)
		return -1;
	rd->start = rd->end;
	scan_reset(&rd->sc);
	for (;;) {
		/* Nothing buffered yet (buf may still be NULL): need more. */
		r = rd->len > rd->start
		        ? scan_step(&rd->sc, rd->buf + rd->start, rd->len - rd->start, &why)
		        : 0;
		if (r != 0)
			break;
		if (rd->eof) {
			if (rd->len == rd->start)
				return 0;
			why = "truncated record";
			r = -1;
			break;
		}
		if (refill(rd) < 0) {
			rd->failed = 1;
			return -1;
		}
	}
	rd->end = rd->start + rd->sc.pos;
	if (r < 0) {
		tp_rd_errorf(rd, "%s", why);
		rd->failed = 1;
		return -1;
	}
	msgpack_zone_clear(&rd->zone);
	if (msgpack_unpack((const char *)rd->buf + rd->start, rd->sc.pos, &off,
	                   &rd->zone, &rd->obj) != MSGPACK_UNPACK_SUCCESS ||
	    off != rd->sc.pos) {
		tp_rd_errorf(rd, "invalid msgpack");
		rd->failed = 1;
		return -1;
	}
	if (rd->obj.type != MSGPACK_OBJECT_MAP) {
		tp_rd_errorf(rd, "expected a map, found %s", otype_name(&rd->obj));
		rd->failed = 1;
		return -1;
	}
	for (uint32_t i = 0; i < rd->obj.via.map.size; i++)
		if (rd->obj.via.map.ptr[i].key.type != MSGPACK_OBJECT_STR) {
			tp_rd_errorf(rd, "map key is not a string (%s)",
			             otype_name(&rd->obj.via.map.ptr[i].key));
			rd->failed = 1;
			return -1;
		}
	*rec = V(&rd->obj);
	return 1;
}

const void *
tp_rd_raw(const struct tp_rd *rd, size_t *len)
{
	*len = rd->end - rd->start;
	return rd->buf ? rd->buf + rd->start : (const void *)"";
}

uint64_t
tp_rd_offset(const struct tp_rd *rd)
{
	return rd->base + rd->start;
}

const char *
tp_rd_name(const struct tp_rd *rd)
{
	return rd->name;
}

void
tp_rd_close(struct tp_rd *rd)
{
	if (!rd)
		return;
	tp_zin_close(rd->zin);
	if (rd->own_buf)
		free(rd->buf);
	msgpack_zone_destroy(&rd->zone);
	free(rd->name);
	free(rd);
}

int
tp_rec_need_f64(const struct tp_rd *rd, const struct tp_val *rec,
                const char *key, double *out)
{
	const struct tp_val *v = tp_val_get(rec, key);

	if (!v) {
		tp_rd_errorf(rd, "missing key \"%s\"", key);
		return -1;
	}
	if (tp_val_f64(v, out) < 0) {
		tp_rd_errorf(rd, "key \"%s\": expected number, found %s", key,
		             tp_vtype_name(tp_val_type(v)));
		return -1;
	}
	return 0;
}

int
tp_rec_need_i64(const struct tp_rd *rd, const struct tp_val *rec,
                const char *key, int64_t *out)
{
	const struct tp_val *v = tp_val_get(rec, key);

	if (!v) {
		tp_rd_errorf(rd, "missing key \"%s\"", key);
		return -1;
	}
	if (tp_val_i64(v, out) < 0) {
		enum tp_vtype t = tp_val_type(v);
		tp_rd_errorf(rd, "key \"%s\": expected int, found %s%s", key,
		             tp_vtype_name(t), t == TP_V_INT ? " out of range" : "");
		return -1;
	}
	return 0;
}

int
tp_rec_type(const struct tp_rd *rd, const struct tp_val *rec, char *buf,
            size_t size)
{
	const struct tp_val *v = tp_val_get(rec, "type");
	const char *s;
	size_t n;

	if (!v) {
		tp_rd_errorf(rd, "missing key \"type\"");
		return -1;
	}
	if (!(s = tp_val_str(v, &n))) {
		tp_rd_errorf(rd, "key \"type\": expected str, found %s",
		             tp_vtype_name(tp_val_type(v)));
		return -1;
	}
	if (size) {
		if (n >= size)
			n = size - 1;
		memcpy(buf, s, n);
		buf[n] = '\0';
	}
	return 0;
}

/* ---- builder ---- */

static int
rb_write(void *data, const char *p, size_t n)
{
	struct tp_rb *b = data;

	if (n == 0)
		return 0;
	if (b->cap - b->len < n) {
		size_t ncap = b->cap ? b->cap : 256;
		while (ncap - b->len < n) {
			if (ncap > SIZE_MAX / 2)
				tp_oom();
			ncap *= 2;
		}
		b->buf = tp_xrealloc(b->buf, ncap);
		b->cap = ncap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

static _Noreturn void
rb_bug(const char *what)
{
	tp_errorf("internal error: record builder: %s", what);
	abort();
}

void
tp_rb_init(struct tp_rb *b)
{
	memset(b, 0, sizeof *b);
}

void
tp_rb_release(struct tp_rb *b)
{
	free(b->buf);
	free(b->key);
	memset(b, 0, sizeof *b);
}

void
tp_rb_copy(struct tp_rb *dst, const struct tp_rb *src)
{
	*dst = *src;
	dst->buf = src->cap ? tp_xmalloc(src->cap) : NULL;
	if (src->len)
		memcpy(dst->buf, src->buf, src->len);
	dst->key = src->key_cap ? tp_xmalloc(src->key_cap) : NULL;
	if (src->key_len)
		memcpy(dst->key, src->key, src->key_len);
}

/* Header bytes reserved for a container whose count is not yet known. */
enum { RESERVE = 5 };

static void
push(struct tp_rb *b, int is_map)
{
	static const char zero[RESERVE];

	if (b->depth == (int)(sizeof b->stack / sizeof b->stack[0]))
		rb_bug("containers nested too deeply");
	rb_write(b, zero, RESERVE);
	b->stack[b->depth].start = b->len;
	b->stack[b->depth].count = 0;
	b->stack[b->depth].is_map = is_map;
	b->depth++;
}

static void
pop(struct tp_rb *b, int is_map)
{
	struct tp_rb_frame *f;
	unsigned char h[RESERVE];
	size_t hl, content;
	uint32_t n;

	if (b->depth == 0 || b->stack[b->depth - 1].is_map != is_map)
		rb_bug(is_map ? "map_end without map_begin" : "arr_end without arr_begin");
	if (b->key_pending)
		rb_bug("a key without a value");
	f = &b->stack[--b->depth];
	n = f->count;
	if (n < 16) {
		h[0] = (unsigned char)((is_map ? 0x80 : 0x90) | n);
		hl = 1;
	} else if (n < 65536) {
		h[0] = is_map ? 0xde : 0xdc;
		h[1] = (unsigned char)(n >> 8);
		h[2] = (unsigned char)n;
		hl = 3;
	} else {
		h[0] = is_map ? 0xdf : 0xdd;
		h[1] = (unsigned char)(n >> 24);
		h[2] = (unsigned char)(n >> 16);
		h[3] = (unsigned char)(n >> 8);
		h[4] = (unsigned char)n;
		hl = 5;
	}
	content = b->len - f->start;
	/* Shift the content back over the unused part of the reservation. */
	memcpy(b->buf + f->start - RESERVE, h, hl);
	memmove(b->buf + f->start - RESERVE + hl, b->buf + f->start, content);
	b->len -= RESERVE - hl;
}

static void
pk_init(msgpack_packer *pk, struct tp_rb *b)
{
	msgpack_packer_init(pk, b, rb_write);
}

/* Before each value: its key inside a map, and the container's count. */
static void
item(struct tp_rb *b, const char *key)
{
	struct tp_rb_frame *f;
	msgpack_packer pk;

	if (b->depth == 0)
		rb_bug("value outside a record (call tp_rb_begin)");
	f = &b->stack[b->depth - 1];
	pk_init(&pk, b);
	if (f->is_map) {
		if (key) {
			if (b->key_pending)
				rb_bug("two keys for one value");
			size_t n = strlen(key);
			msgpack_pack_str(&pk, n);
			msgpack_pack_str_body(&pk, key, n);
		} else if (b->key_pending) {
			msgpack_pack_str(&pk, b->key_len);
			msgpack_pack_str_body(&pk, b->key, b->key_len);
			b->key_pending = 0;
		} else {
			rb_bug("map value without a key");
		}
	} else if (key || b->key_pending) {
		rb_bug("key inside an array");
	}
	if (f->count == UINT32_MAX)
		rb_bug("container with more than 2^32-1 entries");
	f->count++;
}

void
tp_rb_keyn(struct tp_rb *b, const char *k, size_t n)
{
	if (b->key_pending)
		rb_bug("two keys for one value");
	if (n + 1 > b->key_cap) {
		b->key_cap = n + 1;
		b->key = tp_xrealloc(b->key, b->key_cap);
	}
	memcpy(b->key, k, n);
	b->key_len = n;
	b->key_pending = 1;
}

void
tp_rb_begin(struct tp_rb *b, const char *type)
{
	b->len = 0;
	b->depth = 0;
	b->key_pending = 0;
	push(b, 1);
	if (type)
		tp_rb_str(b, "type", type);
}

void
tp_rb_nil(struct tp_rb *b, const char *key)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	msgpack_pack_nil(&pk);
}

void
tp_rb_bool(struct tp_rb *b, const char *key, int v)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	if (v)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
}

void
tp_rb_i64(struct tp_rb *b, const char *key, int64_t v)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	msgpack_pack_int64(&pk, v);
}

void
tp_rb_u64(struct tp_rb *b, const char *key, uint64_t v)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	msgpack_pack_uint64(&pk, v);
}

void
tp_rb_f64(struct tp_rb *b, const char *key, double v)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	msgpack_pack_double(&pk, v);
}

void
tp_rb_f32(struct tp_rb *b, const char *key, float v)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	msgpack_pack_float(&pk, v);
}

void
tp_rb_str(struct tp_rb *b, const char *key, const char *s)
{
	tp_rb_strn(b, key, s, strlen(s));
}

void
tp_rb_strn(struct tp_rb *b, const char *key, const char *s, size_t n)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	msgpack_pack_str(&pk, n);
	msgpack_pack_str_body(&pk, s, n);
}

void
tp_rb_bin(struct tp_rb *b, const char *key, const void *p, size_t n)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	msgpack_pack_bin(&pk, n);
	msgpack_pack_bin_body(&pk, p, n);
}

void
tp_rb_ext(struct tp_rb *b, const char *key, int type, const void *p, size_t n)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	msgpack_pack_ext(&pk, n, (int8_t)type);
	msgpack_pack_ext_body(&pk, p, n);
}

void
tp_rb_val(struct tp_rb *b, const char *key, const struct tp_val *v)
{
	msgpack_packer pk;

	item(b, key);
	pk_init(&pk, b);
	/* msgpack-c re-encodes canonically and keeps float32 as float32. */
	msgpack_pack_object(&pk, *O(v));
}

void
tp_rb_map_begin(struct tp_rb *b, const char *key)
{
	item(b, key);
	push(b, 1);
}

void
tp_rb_map_end(struct tp_rb *b)
{
	pop(b, 1);
}

void
tp_rb_arr_begin(struct tp_rb *b, const char *key)
{
	item(b, key);
	push(b, 0);
}

void
tp_rb_arr_end(struct tp_rb *b)
{
	pop(b, 0);
}

const void *
tp_rb_finish(struct tp_rb *b, size_t *len)
{
	if (b->depth != 1)
		rb_bug(b->depth ? "unclosed container at finish" : "finish without begin");
	pop(b, 1);
	*len = b->len;
	return b->buf;
}

/* ---- writer ---- */

struct tp_wr {
	struct tp_zout *z;
	int flush_each;
};

struct tp_wr *
tp_wr_open(const char *path, int flags)
{
	return tp_wr_open_level(path, flags, 0);
}

struct tp_wr *
tp_wr_open_level(const char *path, int flags, int level)
{
	struct tp_zout *z = tp_zout_open(path, flags & 0xff, level);
	struct tp_wr *w;

	if (!z)
		return NULL;
	w = tp_xcalloc(1, sizeof *w);
	w->z = z;
	w->flush_each = !!(flags & TP_WR_FLUSH);
	return w;
}

int
tp_wr_put(struct tp_wr *w, const void *rec, size_t len)
{
	if (tp_zout_write(w->z, rec, len) < 0)
		return -1;
	return w->flush_each ? tp_zout_flush(w->z) : 0;
}

int
tp_wr_rb(struct tp_wr *w, struct tp_rb *b)
{
	size_t len;
	const void *p = tp_rb_finish(b, &len);

	return tp_wr_put(w, p, len);
}

int
tp_wr_flush(struct tp_wr *w)
{
	return tp_zout_flush(w->z);
}

int
tp_wr_close(struct tp_wr *w)
{
	int rc;

	if (!w)
		return 0;
	rc = tp_zout_close(w->z);
	free(w);
	return rc;
}

void
tp_wr_abort(struct tp_wr *w)
{
	if (!w)
		return;
	tp_zout_abort(w->z);
	free(w);
}

const char *
tp_wr_name(const struct tp_wr *w)
{
	return tp_zout_name(w->z);
}
