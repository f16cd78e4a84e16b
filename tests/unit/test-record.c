/* test-record: the builder's canonical encodings (checked against hand-made
 * msgpack bytes), round trips of every type, raw pass-through, streams
 * larger than the read buffer (plain and zstd), and every error line with
 * its byte offset. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "tp/err.h"
#include "tp/record.h"
#include "tp/zio.h"

/* The bytes of a one-value record {"v": value} built by fn. */
static int
encodes_as(void (*fn)(struct tp_rb *), const char *hex_value)
{
	struct tp_rb b;
	unsigned char want[64];
	size_t n = 0, len;
	const unsigned char *got;
	int ok;

	want[n++] = 0x81;
	want[n++] = 0xa1;
	want[n++] = 'v';
	for (const char *p = hex_value; *p; p += 2) {
		unsigned v;
		sscanf(p, "%2x", &v);
		want[n++] = (unsigned char)v;
	}
	tp_rb_init(&b);
	tp_rb_begin(&b, NULL);
	fn(&b);
	got = tp_rb_finish(&b, &len);
	ok = len == n && memcmp(got, want, n) == 0;
	tp_rb_release(&b);
	return ok;
}

static void e_0(struct tp_rb *b) { tp_rb_i64(b, "v", 0); }
static void e_127(struct tp_rb *b) { tp_rb_i64(b, "v", 127); }
static void e_128(struct tp_rb *b) { tp_rb_i64(b, "v", 128); }
static void e_m1(struct tp_rb *b) { tp_rb_i64(b, "v", -1); }
static void e_m33(struct tp_rb *b) { tp_rb_i64(b, "v", -33); }
static void e_65536(struct tp_rb *b) { tp_rb_i64(b, "v", 65536); }
static void e_u64max(struct tp_rb *b) { tp_rb_u64(b, "v", UINT64_MAX); }
static void e_i64min(struct tp_rb *b) { tp_rb_i64(b, "v", INT64_MIN); }
static void e_f32(struct tp_rb *b) { tp_rb_f32(b, "v", 1.5f); }
static void e_f64(struct tp_rb *b) { tp_rb_f64(b, "v", 1.5); }
static void e_str(struct tp_rb *b) { tp_rb_str(b, "v", "ab"); }
static void e_bin(struct tp_rb *b) { tp_rb_bin(b, "v", "\x01\x02", 2); }
static void e_nil(struct tp_rb *b) { tp_rb_nil(b, "v"); }
static void e_true(struct tp_rb *b) { tp_rb_bool(b, "v", 1); }
static void e_arr(struct tp_rb *b)
{
	tp_rb_arr_begin(b, "v");
	tp_rb_i64(b, NULL, 1);
	tp_rb_arr_end(b);
}
static void e_arr16(struct tp_rb *b)
{
	tp_rb_arr_begin(b, "v");
	for (int i = 0; i < 16; i++)
		tp_rb_nil(b, NULL);
	tp_rb_arr_end(b);
}
static void e_ext(struct tp_rb *b) { tp_rb_ext(b, "v", 5, "\x09", 1); }

static void
test_encodings(void)
{
	CHECK(encodes_as(e_0, "00"), "0 is a positive fixint");
	CHECK(encodes_as(e_127, "7f"), "127 is a positive fixint");
	CHECK(encodes_as(e_128, "cc80"), "128 is uint8");
	CHECK(encodes_as(e_m1, "ff"), "-1 is a negative fixint");
	CHECK(encodes_as(e_m33, "d0df"), "-33 is int8");
	CHECK(encodes_as(e_65536, "ce00010000"), "65536 is uint32");
	CHECK(encodes_as(e_u64max, "cfffffffffffffffff"), "UINT64_MAX is uint64");
	CHECK(encodes_as(e_i64min, "d38000000000000000"), "INT64_MIN is int64");
	CHECK(encodes_as(e_f32, "ca3fc00000"), "float32");
	CHECK(encodes_as(e_f64, "cb3ff8000000000000"), "float64");
	CHECK(encodes_as(e_str, "a26162"), "fixstr");
	CHECK(encodes_as(e_bin, "c4020102"), "bin8");
	CHECK(encodes_as(e_nil, "c0"), "nil");
	CHECK(encodes_as(e_true, "c3"), "true");
	CHECK(encodes_as(e_arr, "9101"), "fixarray header shrunk from the reservation");
	CHECK(encodes_as(e_arr16, "dc0010c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"),
	      "16 elements take an array16 header");
	CHECK(encodes_as(e_ext, "d40509"), "fixext1");
}

static const unsigned char *
build_all(struct tp_rb *b, size_t *len)
{
	static const float xs[3] = {1.0f, -2.5f, 3.25f};

	tp_rb_begin(b, "eval");
	tp_rb_i64(b, "step", 300);
	tp_rb_i64(b, "neg", -7);
	tp_rb_u64(b, "big", UINT64_MAX);
	tp_rb_f64(b, "loss", 0.1);
	tp_rb_f32(b, "f32", 0.1f);
	tp_rb_bool(b, "ok", 1);
	tp_rb_nil(b, "none");
	tp_rb_str(b, "split", "valid");
	tp_rb_strn(b, "nul", "a\0b", 3);
	tp_rb_bin(b, "x", xs, sizeof xs);
	tp_rb_map_begin(b, "time");
	tp_rb_f64(b, "forward", 0.5);
	tp_rb_map_begin(b, "deep");
	tp_rb_arr_begin(b, "a");
	for (int i = 0; i < 40; i++)
		tp_rb_i64(b, NULL, i);
	tp_rb_arr_end(b);
	tp_rb_map_end(b);
	tp_rb_map_end(b);
	tp_rb_arr_begin(b, "empty");
	tp_rb_arr_end(b);
	tp_rb_keyn(b, "k\0ey", 4);
	tp_rb_i64(b, NULL, 1);
	tp_rb_ext(b, "ext", -3, "abc", 3);
	return tp_rb_finish(b, len);
}

static void
test_round_trip(void)
{
	struct tp_rb b, b2;
	const unsigned char *p, *raw, *p2;
	size_t len, rlen, len2, n;
	const struct tp_val *r, *v;
	struct tp_rd *rd;
	double d;
	int64_t i;
	uint64_t u;
	int bo, et;
	char type[16];
	const char *s;

	tp_rb_init(&b);
	tp_rb_init(&b2);
	p = build_all(&b, &len);
	rd = tp_rd_mem(p, len, "mem");
	CHECK(tp_rd_next(rd, &r) == 1, "read back a built record");
	raw = tp_rd_raw(rd, &rlen);
	CHECK(rlen == len && memcmp(raw, p, len) == 0, "raw bytes equal the input");
	CHECK(tp_rec_type(rd, r, type, sizeof type) == 0 && strcmp(type, "eval") == 0,
	      "type first");
	CHECK(tp_map_key(r, 0) && tp_val_streq(tp_map_key(r, 0), "type"),
	      "\"type\" is the first key");
	CHECK(tp_rec_need_i64(rd, r, "step", &i) == 0 && i == 300, "int");
	CHECK(tp_val_i64(tp_val_get(r, "neg"), &i) == 0 && i == -7 &&
	      tp_val_is_neg(tp_val_get(r, "neg")), "negative int");
	CHECK(tp_val_u64(tp_val_get(r, "big"), &u) == 0 && u == UINT64_MAX &&
	      tp_val_i64(tp_val_get(r, "big"), &i) < 0, "uint64 max, not an int64");
	CHECK(tp_rec_need_f64(rd, r, "loss", &d) == 0 && d == 0.1 &&
	      !tp_val_is_f32(tp_val_get(r, "loss")), "float64");
	CHECK(tp_val_f64(tp_val_get(r, "f32"), &d) == 0 && (float)d == 0.1f &&
	      tp_val_is_f32(tp_val_get(r, "f32")), "float32 stays float32");
	CHECK(tp_val_bool(tp_val_get(r, "ok"), &bo) == 0 && bo == 1, "bool");
	CHECK(tp_val_type(tp_val_get(r, "none")) == TP_V_NIL, "nil");
	s = tp_val_str(tp_val_get(r, "nul"), &n);
	CHECK(s && n == 3 && memcmp(s, "a\0b", 3) == 0, "string with a NUL");
	v = tp_val_get(r, "x");
	{
		const void *bp = tp_val_bin(v, &n);
		float f[3];
		memcpy(f, bp, sizeof f);
		CHECK(n == 12 && f[1] == -2.5f, "bin of float32");
	}
	CHECK(tp_val_f64(tp_val_path(r, "time.forward"), &d) == 0 && d == 0.5,
	      "nested map by path");
	v = tp_val_path(r, "time.deep.a");
	CHECK(v && tp_val_len(v) == 40 && tp_val_i64(tp_val_at(v, 39), &i) == 0 &&
	      i == 39, "array of 40 inside two maps");
	CHECK(tp_val_at(v, 40) == NULL, "array index out of range is NULL");
	CHECK(tp_val_len(tp_val_get(r, "empty")) == 0 &&
	      tp_val_type(tp_val_get(r, "empty")) == TP_V_ARRAY, "empty array");
	CHECK(tp_val_path(r, "time.nope") == NULL && tp_val_path(r, "step.x") == NULL,
	      "missing path is NULL");
	{
		const struct tp_val *no = tp_val_get(r, "absent");
		int64_t i2;
		uint64_t u2;
		double d2;
		int bo2;
		CHECK(!no && tp_val_type(no) == TP_V_NIL && tp_val_f64(no, &d2) < 0 &&
		      tp_val_i64(no, &i2) < 0 && tp_val_u64(no, &u2) < 0 &&
		      tp_val_bool(no, &bo2) < 0 && !tp_val_str(no, &n) && !tp_val_bin(no, &n) &&
		      tp_val_len(no) == 0 && !tp_val_at(no, 0) && !tp_map_key(no, 0) &&
		      !tp_map_val(no, 0) && !tp_val_get(no, "x") && !tp_val_path(no, "a.b") &&
		      !tp_val_match(no, "null") && !tp_val_is_f32(no) && !tp_val_is_neg(no) &&
		      !tp_val_streq(no, "") && !tp_val_strdup(no),
		      "every accessor takes NULL (an absent key)");
	}
	{
		int found = 0;
		for (size_t k = 0; k < tp_val_len(r); k++) {
			s = tp_val_str(tp_map_key(r, k), &n);
			found |= n == 4 && memcmp(s, "k\0ey", 4) == 0;
		}
		CHECK(found, "key with a NUL via tp_rb_keyn");
	}
	{
		const void *ep = tp_val_ext(tp_val_get(r, "ext"), &et, &n);
		CHECK(ep && et == -3 && n == 3 && memcmp(ep, "abc", 3) == 0, "ext");
	}
	{
		char *dup = tp_val_strdup(tp_val_get(r, "split"));
		CHECK(dup && strcmp(dup, "valid") == 0, "strdup");
		free(dup);
		CHECK(tp_val_strdup(tp_val_get(r, "step")) == NULL, "strdup of an int is NULL");
	}
	CHECK(tp_val_match(tp_val_get(r, "split"), "valid") &&
	      !tp_val_match(tp_val_get(r, "split"), "vali"), "match string");
	CHECK(tp_val_match(tp_val_get(r, "step"), "300") &&
	      tp_val_match(tp_val_get(r, "step"), "3e2") &&
	      !tp_val_match(tp_val_get(r, "step"), "301") &&
	      !tp_val_match(tp_val_get(r, "step"), "300x"), "match int");
	CHECK(tp_val_match(tp_val_get(r, "big"), "18446744073709551615") &&
	      !tp_val_match(tp_val_get(r, "big"), "18446744073709551614"),
	      "match uint64 exactly");
	CHECK(tp_val_match(tp_val_get(r, "f32"), "0.1") &&
	      tp_val_match(tp_val_get(r, "loss"), "0.1") &&
	      tp_val_match(tp_val_get(r, "ok"), "true") &&
	      tp_val_match(tp_val_get(r, "none"), "null") &&
	      !tp_val_match(tp_val_get(r, "time"), "x"), "match float, bool, nil");

	/* A deep copy through tp_rb_val is the same bytes (canonical). */
	tp_rb_begin(&b2, NULL);
	for (size_t k = 0; k < tp_val_len(r); k++) {
		s = tp_val_str(tp_map_key(r, k), &n);
		tp_rb_keyn(&b2, s, n);
		tp_rb_val(&b2, NULL, tp_map_val(r, k));
	}
	p2 = tp_rb_finish(&b2, &len2);
	CHECK(len2 == len && memcmp(p2, p, len) == 0, "tp_rb_val copies byte for byte");
	CHECK(tp_rd_next(rd, &r) == 0, "clean end");
	tp_rd_close(rd);
	tp_rb_release(&b);
	tp_rb_release(&b2);
}

/* Many records through a file, crossing every buffer boundary. */
static void
test_stream(const char *path)
{
	struct tp_rb b;
	struct tp_wr *w = tp_wr_open(path, TP_ZOUT_AUTO);
	struct tp_rd *rd;
	const struct tp_val *r;
	unsigned char blob[3000];
	int ok = 1, n = 0, rc;
	uint64_t off = 0, expect_off = 0;
	size_t len;

	tp_rb_init(&b);
	for (int i = 0; i < 4000; i++) {
		memset(blob, i & 0xff, sizeof blob);
		tp_rb_begin(&b, i % 2 ? "a" : NULL);
		tp_rb_i64(&b, "i", i);
		tp_rb_bin(&b, "x", blob, (size_t)(i * 7) % sizeof blob);
		ok &= tp_wr_rb(w, &b) == 0;
	}
	/* One record bigger than the 1 MiB read buffer. */
	{
		unsigned char *huge = calloc(1, 3u << 20);
		huge[(3u << 20) - 1] = 42;
		tp_rb_begin(&b, "huge");
		tp_rb_bin(&b, "x", huge, 3u << 20);
		ok &= tp_wr_rb(w, &b) == 0;
		free(huge);
	}
	CHECK(ok && tp_wr_close(w) == 0, "%s: 4001 records written", path);
	rd = tp_rd_open(path);
	while ((rc = tp_rd_next(rd, &r)) == 1) {
		int64_t i;
		size_t bl;
		const unsigned char *x = tp_val_bin(tp_val_get(r, "x"), &bl);

		off = tp_rd_offset(rd);
		if (n < 4000) {
			ok &= tp_val_i64(tp_val_get(r, "i"), &i) == 0 && i == n &&
			      bl == (size_t)(n * 7) % sizeof blob &&
			      (bl == 0 || (x[0] == (n & 0xff) && x[bl - 1] == (n & 0xff)));
			ok &= (n % 2 == 1) == (tp_val_get(r, "type") != NULL);
		} else {
			ok &= bl == 3u << 20 && x[bl - 1] == 42;
		}
		ok &= off == expect_off;
		tp_rd_raw(rd, &len);
		expect_off += len;
		n++;
	}
	CHECK(rc == 0 && n == 4001 && ok, "%s: every record read back in order", path);
	CHECK(ok, "%s: offsets are decompressed byte positions", path);
	tp_rd_close(rd);
	tp_rb_release(&b);
}

static char *
read_err(const void *p, size_t n, int *rc, int *records)
{
	struct tp_rd *rd = tp_rd_mem(p, n, "bad.tpr");
	const struct tp_val *r;
	char *e;

	*records = 0;
	cap_begin();
	while ((*rc = tp_rd_next(rd, &r)) == 1)
		(*records)++;
	/* A failed reader stays failed and says nothing more. */
	if (*rc < 0 && tp_rd_next(rd, &r) != -1)
		*rc = 99;
	e = cap_end();
	tp_rd_close(rd);
	return e;
}

static void
test_errors(void)
{
	/* Two good records ({"a":1} is 4 bytes), then the bad one at byte 8. */
	static const unsigned char good[] = {0x81, 0xa1, 'a', 1, 0x81, 0xa1, 'a', 2};
	unsigned char buf[64];
	int rc, nrec;
	char *e;

	memcpy(buf, good, 8);
	memcpy(buf + 8, "\x82\xa1" "a", 3);
	e = read_err(buf, 11, &rc, &nrec);
	CHECK(rc == -1 && nrec == 2, "truncated record fails after 2 good ones");
	CHECK(strstr(e, ": bad.tpr: byte 8: truncated record\n") && one_line(e),
	      "truncated: %s", e);

	memcpy(buf + 8, "\x81\xa1" "a\xc1", 4);
	e = read_err(buf, 12, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, ": bad.tpr: byte 8: invalid msgpack") && one_line(e),
	      "invalid msgpack: %s", e);

	memcpy(buf + 8, "\x92\x01\x02", 3);
	e = read_err(buf, 11, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, ": bad.tpr: byte 8: expected a map, found array\n") &&
	      one_line(e), "non-map: %s", e);

	memcpy(buf + 8, "\x05", 1);
	e = read_err(buf, 9, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, "byte 8: expected a map, found int\n"),
	      "a bare int: %s", e);

	memcpy(buf + 8, "\x81\x01\x02", 3);
	e = read_err(buf, 11, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, ": bad.tpr: byte 8: map key is not a string") &&
	      one_line(e), "non-string key: %s", e);

	/* bin32 claiming 4 GiB: refused from the header, nothing allocated. */
	memcpy(buf + 8, "\x81\xa1" "a\xc6\xff\xff\xff\xff", 8);
	e = read_err(buf, 16, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, "byte 8: record larger than 1 GiB") && one_line(e),
	      "huge length: %s", e);
	/* array32 claiming 4 billion elements. */
	memcpy(buf + 8, "\x81\xa1" "a\xdd\xff\xff\xff\xff", 8);
	e = read_err(buf, 16, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, "byte 8: record larger than 1 GiB") && one_line(e),
	      "huge array: %s", e);
	/* 2^26 + 1 announced elements: refused before any allocation. */
	memcpy(buf + 8, "\x81\xa1" "a\xdd\x04\x00\x00\x01", 8);
	e = read_err(buf, 16, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, "byte 8: record has more than 2^26 values") &&
	      one_line(e), "too many values: %s", e);
	memcpy(buf + 8, "\x81\xa1" "a\xdd\x00\x10\x00\x00\x01\x02", 10);
	e = read_err(buf, 18, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, "byte 8: truncated record") && one_line(e),
	      "an array longer than the stream is truncated: %s", e);

	/* 33 nested maps are one too many (msgpack-c's limit is 32). */
	{
		unsigned char deep[200];
		size_t n = 0;
		for (int i = 0; i < 33; i++) {
			deep[n++] = 0x81;
			deep[n++] = 0xa1;
			deep[n++] = 'k';
		}
		deep[n++] = 1;
		e = read_err(deep, n, &rc, &nrec);
		CHECK(rc == -1 && strstr(e, "byte 0: invalid msgpack (nested deeper than 32)") &&
		      one_line(e), "too deep: %s", e);
		e = read_err(deep + 3, n - 3, &rc, &nrec);
		CHECK(rc == 0 && nrec == 1, "32 levels are fine");
		deep[n - 1] = 0x90;
		e = read_err(deep + 3, n - 3, &rc, &nrec);
		CHECK(rc == -1 && strstr(e, "byte 0: invalid msgpack (nested deeper than 32)"),
		      "an empty array at level 33 is too deep as well: %s", e);
	}
	/* A map or an array as a (nested) map key is refused: printed as
	 * JSON, keys inside keys escape exponentially.  A nested number key
	 * is fine, and so are maps and arrays as values. */
	e = read_err("\x81\x81\xa1k\x01\x02", 6, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, "byte 0: invalid record (a map key is a map or an array)") &&
	      one_line(e), "a map as a key: %s", e);
	e = read_err("\x81\xa1v\x81\x90\x01", 6, &rc, &nrec);
	CHECK(rc == -1 && strstr(e, "(a map key is a map or an array)"),
	      "an empty array as a nested map's key: %s", e);
	e = read_err("\x82\xa1k\x81\x07\x81\xa1k\x90\xa1" "a\x92\x80\x01", 14, &rc, &nrec);
	CHECK(rc == 0 && nrec == 1, "a nested int key, maps and arrays as values: %s", e);
	e = read_err("", 0, &rc, &nrec);
	CHECK(rc == 0 && nrec == 0 && !*e, "empty stream is zero records");

	/* tp_rec_need_* and tp_rec_type messages. */
	{
		struct tp_rb b;
		struct tp_rd *rd;
		const struct tp_val *r;
		const unsigned char *p;
		size_t len;
		int64_t i;
		double d;
		char t[8];

		tp_rb_init(&b);
		tp_rb_begin(&b, NULL);
		tp_rb_str(&b, "step", "x");
		tp_rb_f64(&b, "half", 0.5);
		tp_rb_i64(&b, "type", 3);
		p = tp_rb_finish(&b, &len);
		memcpy(buf, good, 8);
		memcpy(buf + 8, p, len);
		rd = tp_rd_mem(buf, 8 + len, "m.tpr");
		CHECK(tp_rd_next(rd, &r) == 1 && tp_rd_next(rd, &r) == 1 &&
		      tp_rd_next(rd, &r) == 1, "three records");
		cap_begin();
		rc = tp_rec_need_i64(rd, r, "nope", &i);
		e = cap_end();
		CHECK(rc == -1 && strstr(e, ": m.tpr: byte 8: missing key \"nope\"\n") &&
		      one_line(e), "missing key: %s", e);
		cap_begin();
		rc = tp_rec_need_i64(rd, r, "step", &i);
		e = cap_end();
		CHECK(rc == -1 && strstr(e, "byte 8: key \"step\": expected int, found str\n"),
		      "wrong type: %s", e);
		cap_begin();
		rc = tp_rec_need_i64(rd, r, "half", &i);
		e = cap_end();
		CHECK(rc == -1 && strstr(e, "key \"half\": expected int, found float\n"),
		      "non-integral float: %s", e);
		cap_begin();
		rc = tp_rec_need_f64(rd, r, "step", &d);
		e = cap_end();
		CHECK(rc == -1 && strstr(e, "key \"step\": expected number, found str\n"),
		      "f64 of a string: %s", e);
		CHECK(tp_rec_need_i64(rd, r, "type", &i) == 0 && i == 3, "int ok");
		cap_begin();
		rc = tp_rec_type(rd, r, t, sizeof t);
		e = cap_end();
		CHECK(rc == -1 && strstr(e, "key \"type\": expected str, found int\n"),
		      "type not a string: %s", e);
		tp_rd_close(rd);
		rd = tp_rd_mem(good, 4, "g");
		CHECK(tp_rd_next(rd, &r) == 1, "one record");
		cap_begin();
		rc = tp_rec_type(rd, r, t, sizeof t);
		e = cap_end();
		CHECK(rc == -1 && strstr(e, ": g: byte 0: missing key \"type\"\n"),
		      "no type: %s", e);
		tp_rd_close(rd);
		tp_rb_release(&b);
	}
	cap_begin();
	struct tp_rd *none = tp_rd_open("does-not-exist.tpr");
	e = cap_end();
	CHECK(!none && strstr(e, ": does-not-exist.tpr: No such file") && one_line(e),
	      "missing file: %s", e);
}

/* Records written compressed into memory parse through tp_rd_mem too. */
static void
test_mem_zstd(void)
{
	struct tp_rb b;
	struct tp_wr *w = tp_wr_open("m.zst", TP_ZOUT_AUTO | TP_WR_FLUSH);
	unsigned char buf[4096];
	const struct tp_val *r;
	struct tp_rd *rd;
	FILE *f;
	size_t n;
	int k = 0, rc;

	tp_rb_init(&b);
	for (int i = 0; i < 3; i++) {
		tp_rb_begin(&b, "t");
		tp_rb_i64(&b, "i", i);
		if (tp_wr_rb(w, &b) < 0)
			k = -100;
	}
	CHECK(strcmp(tp_wr_name(w), "m.zst") == 0 && tp_wr_close(w) == 0, "zstd writer");
	f = fopen("m.zst", "rb");
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	rd = tp_rd_mem(buf, n, "m.zst");
	while ((rc = tp_rd_next(rd, &r)) == 1)
		k++;
	CHECK(rc == 0 && k == 3, "zstd memory read (%d records)", k);
	tp_rd_close(rd);
	rd = tp_rd_mem(buf, n - 4, "m.zst");
	cap_begin();
	while ((rc = tp_rd_next(rd, &r)) == 1)
		;
	char *e = cap_end();
	CHECK(rc == -1 && strstr(e, ": m.zst: truncated zstd frame\n") && one_line(e),
	      "truncated zstd through the record reader: %s", e);
	tp_rd_close(rd);
	tp_rb_release(&b);
}

/* A copy taken with containers and a key open is finished on its own. */
static void
test_copy(void)
{
	static const unsigned char want_a[] = {0x81, 0xa1, 'm', 0x82, 0xa1, 'x',
	                                       0x01, 0xa1, 'y', 0x02};
	static const unsigned char want_b[] = {0x81, 0xa1, 'm', 0x82, 0xa1, 'x',
	                                       0x01, 0xa1, 'y', 0xa2, 'h', 'i'};
	struct tp_rb a, b;
	const void *p;
	size_t len;

	tp_rb_init(&a);
	tp_rb_begin(&a, NULL);
	tp_rb_map_begin(&a, "m");
	tp_rb_i64(&a, "x", 1);
	tp_rb_keyn(&a, "y", 1);
	tp_rb_copy(&b, &a);
	tp_rb_i64(&a, NULL, 2);
	tp_rb_map_end(&a);
	tp_rb_str(&b, NULL, "hi");
	tp_rb_map_end(&b);
	p = tp_rb_finish(&a, &len);
	CHECK(len == sizeof want_a && memcmp(p, want_a, len) == 0, "copy: the original");
	p = tp_rb_finish(&b, &len);
	CHECK(len == sizeof want_b && memcmp(p, want_b, len) == 0, "copy: the copy");
	tp_rb_release(&a);
	tp_rb_release(&b);
}

int
main(void)
{
	test_copy();
	test_encodings();
	test_round_trip();
	test_stream("s.tpr");
	test_stream("s.tpr.zst");
	test_errors();
	test_mem_zstd();
	return check_done();
}
