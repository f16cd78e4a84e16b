/* test-json: exact float text (random doubles and float32 read back to the
 * same bits), escapes, base64 vectors from RFC 4648, msgpack -> JSON ->
 * msgpack byte equality, and the parser's line/column messages. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "tp/json.h"
#include "tp/record.h"
#include "tp/rng.h"

/* NUL-terminated text of the buffer. */
static const char *
txt(struct tp_jbuf *o)
{
	tp_jbuf_addc(o, '\0');
	o->len--;
	return o->buf;
}

static const char *
f64s(struct tp_jbuf *o, double d)
{
	o->len = 0;
	tp_json_f64(o, d);
	return txt(o);
}

static void
test_floats(void)
{
	struct tp_jbuf o;
	struct tp_rng r;
	int exact = 1, exact32 = 1, shortest = 1;

	tp_jbuf_init(&o);
	CHECK(strcmp(f64s(&o, 0.1), "0.1") == 0, "0.1 is 0.1");
	CHECK(strcmp(f64s(&o, 1.0), "1.0") == 0, "1.0 keeps its point");
	CHECK(strcmp(f64s(&o, -0.0), "-0.0") == 0, "-0.0 keeps its sign");
	CHECK(strcmp(f64s(&o, 1e300), "1e+300") == 0, "1e300");
	CHECK(strcmp(f64s(&o, 0.30000000000000004), "0.30000000000000004") == 0,
	      "0.1+0.2 needs 17 digits");
	CHECK(strcmp(f64s(&o, NAN), "NaN") == 0 && strcmp(f64s(&o, -INFINITY),
	      "-Infinity") == 0 && strcmp(f64s(&o, INFINITY), "Infinity") == 0,
	      "NaN and infinities as tokens");
	CHECK(strtod(f64s(&o, 5e-324), NULL) == 5e-324, "smallest subnormal");
	CHECK(strcmp(f64s(&o, 5e-324), "5e-324") == 0, "subnormals are shortest too");
	CHECK(strcmp(f64s(&o, 123456789012345.0), "123456789012345.0") == 0 &&
	      strcmp(f64s(&o, -7.0), "-7.0") == 0 && strcmp(f64s(&o, 1e15), "1e+15") == 0,
	      "integral values: plain digits below 1e15, %%g form from there");
	o.len = 0;
	tp_json_f32(&o, 999999.0f);
	tp_jbuf_addc(&o, ' ');
	tp_json_f32(&o, 1e6f);
	tp_jbuf_addc(&o, ' ');
	tp_json_f32(&o, 16777216.0f);
	CHECK(strcmp(txt(&o), "999999.0 1e+06 16777216.0") == 0,
	      "integral float32 values: %s", o.buf);

	tp_rng_seed(&r, 7);
	for (int i = 0; i < 200000; i++) {
		uint64_t bits = tp_rng_u64(&r);
		double d, back;
		memcpy(&d, &bits, sizeof d);
		if (!isfinite(d))
			continue;
		back = strtod(f64s(&o, d), NULL);
		exact &= memcmp(&back, &d, sizeof d) == 0;
		/* Shortest: one digit fewer must not round-trip (when
		 * the text has more than one significant digit). */
		if (i < 2000) {
			char t[400]; /* %g of a huge value with many digits */
			/* Significant digits: from the first non-zero one
			 * to the last non-zero one (the ".0" we add is not). */
			int digits = 0, seen = 0;
			for (const char *p = o.buf; *p && *p != 'e'; p++) {
				if (*p >= '0' && *p <= '9' && (seen || *p != '0'))
					seen++;
				if (*p >= '1' && *p <= '9')
					digits = seen;
			}
			if (digits > 1) {
				snprintf(t, sizeof t, "%.*g", digits - 1, d);
				shortest &= strtod(t, NULL) != d;
			}
		}
	}
	CHECK(exact, "200000 random doubles read back to the same bits");
	CHECK(shortest, "no shorter text reads back (sampled)");
	for (int i = 0; i < 200000; i++) {
		uint32_t bits = (uint32_t)tp_rng_u64(&r);
		float f, back;
		memcpy(&f, &bits, sizeof f);
		if (!isfinite(f))
			continue;
		o.len = 0;
		tp_json_f32(&o, f);
		back = strtof(txt(&o), NULL);
		exact32 &= memcmp(&back, &f, sizeof f) == 0;
	}
	CHECK(exact32, "200000 random float32 read back to the same bits");
	o.len = 0;
	tp_json_f32(&o, 0.1f);
	CHECK(strcmp(txt(&o), "0.1") == 0, "float32 0.1 is 0.1, not 0.100000001");
	tp_jbuf_release(&o);
}

static void
test_strings(void)
{
	struct tp_jbuf o;

	tp_jbuf_init(&o);
	tp_json_str(&o, "a\"b\\c\n\t\r\b\f\x01\x1f\x7f/", 14);
	CHECK(strcmp(txt(&o), "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f/\"") == 0,
	      "escapes: %s", o.buf);
	o.len = 0;
	tp_json_str(&o, "\xc3\xa9\xf0\x9f\x98\x80", 6);
	CHECK(strcmp(txt(&o), "\"\xc3\xa9\xf0\x9f\x98\x80\"") == 0, "valid UTF-8 is kept");
	o.len = 0;
	tp_json_str(&o, "a\xff" "b\xc3" "\xed\xa0\x80" "\xc0\xaf", 9);
	CHECK(strcmp(txt(&o), "\"a\\ufffdb\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"") == 0,
	      "invalid UTF-8 (stray, cut, surrogate, overlong) -> one \\ufffd per byte: %s",
	      o.buf);
	o.len = 0;
	tp_json_str(&o, "a\0b", 3);
	CHECK(strcmp(txt(&o), "\"a\\u0000b\"") == 0, "NUL escaped");
	tp_jbuf_release(&o);
}

static void
test_base64(void)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
	                                  "Zm9vYmE=", "Zm9vYmFy"};
	struct tp_jbuf o;
	int ok = 1;

	tp_jbuf_init(&o);
	for (int i = 0; i < 7; i++) {
		o.len = 0;
		tp_base64_encode(&o, plain[i], strlen(plain[i]));
		ok &= o.len == strlen(enc[i]) && (!o.len || memcmp(o.buf, enc[i], o.len) == 0);
		o.len = 0;
		ok &= tp_base64_decode(&o, enc[i], strlen(enc[i])) == 0 &&
		      o.len == strlen(plain[i]) && (!o.len || memcmp(o.buf, plain[i], o.len) == 0);
	}
	CHECK(ok, "RFC 4648 test vectors both ways");
	CHECK(tp_base64_decode(&o, "Zg=", 3) < 0 && tp_base64_decode(&o, "Zh==", 4) < 0 &&
	      tp_base64_decode(&o, "Z===", 4) < 0 && tp_base64_decode(&o, "Zm9v!A==", 8) < 0 &&
	      tp_base64_decode(&o, "Zg==Zg==", 8) < 0,
	      "bad length, non-zero pad bits, bad chars, inner padding refused");
	tp_jbuf_release(&o);
}

/* JSON text -> record bytes; NULL on error. */
static const void *
parse(struct tp_rb *b, const char *s, size_t *len)
{
	if (tp_json_parse_record(s, strlen(s), b, "t.jsonl", 1) < 0)
		return NULL;
	return tp_rb_finish(b, len);
}

/* Record bytes -> JSON text. */
static const char *
to_json(struct tp_jbuf *o, const void *p, size_t len, enum tp_json_bin bin)
{
	struct tp_rd *rd = tp_rd_mem(p, len, "m");
	const struct tp_val *r;

	o->len = 0;
	if (tp_rd_next(rd, &r) == 1)
		tp_json_value(o, r, bin);
	tp_rd_close(rd);
	return txt(o);
}

static void
test_round_trips(void)
{
	static const char *const lines[] = {
		"{\"type\":\"eval\",\"step\":300,\"loss\":0.1,\"ok\":true,\"n\":null}",
		"{\"a\":[1,-1,18446744073709551615,-9223372036854775808,0.5,[],{}]}",
		"{\"b\":{\"$base64\":\"AAECAw==\"},\"e\":{\"$ext\":-2,\"$base64\":\"YQ==\"}}",
		"{\"s\":\"tab\\there \\\"q\\\" \\u0001 \xc3\xa9\"}",
		"{\"f\":[1.0,-0.0,NaN,Infinity,-Infinity,1e+300,5e-324]}",
		"{\"d\":{\"time\":{\"forward\":0.25}},\"k\\u0000\":1}",
		"{}",
	};
	struct tp_rb b, b2;
	struct tp_jbuf o;
	int ok = 1;

	tp_rb_init(&b);
	tp_rb_init(&b2);
	tp_jbuf_init(&o);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		size_t len, len2;
		const void *p = parse(&b, lines[i], &len), *p2;
		const char *back;

		if (!p) {
			CHECK(0, "parse %s", lines[i]);
			ok = 0;
			continue;
		}
		back = to_json(&o, p, len, TP_JSON_BIN_BASE64);
		CHECK(strcmp(back, lines[i]) == 0, "JSON -> msgpack -> JSON: %s", back);
		p2 = parse(&b2, back, &len2);
		ok &= p2 && len2 == len && memcmp(p, p2, len) == 0;
	}
	CHECK(ok, "msgpack -> JSON -> msgpack is byte for byte");

	/* Ints that do not fit become floats; floats stay floats. */
	{
		size_t len;
		const void *p = parse(&b, "{\"a\":18446744073709551616,\"b\":-9223372036854775809,"
		                          "\"c\":1e2,\"d\":2.0}", &len);
		CHECK(p && strcmp(to_json(&o, p, len, 0),
		                  "{\"a\":1.8446744073709552e+19,\"b\":-9.223372036854776e+18,"
		                  "\"c\":100.0,\"d\":2.0}") == 0, "number typing: %s", o.buf);
	}
	/* bin modes */
	{
		static const float xs[2] = {1.0f, -0.1f};
		struct tp_rd *rd;
		const struct tp_val *r;
		size_t len;
		const void *p;

		tp_rb_begin(&b, NULL);
		tp_rb_bin(&b, "x", xs, sizeof xs);
		tp_rb_bin(&b, "odd", "abc", 3);
		tp_rb_f32(&b, "f", 0.1f);
		p = tp_rb_finish(&b, &len);
		CHECK(strcmp(to_json(&o, p, len, TP_JSON_BIN_FLOATS),
		             "{\"x\":[1.0,-0.1],\"odd\":{\"$base64\":\"YWJj\"},\"f\":0.1}") == 0,
		      "bin as floats (odd length stays base64): %s", o.buf);
		CHECK(strcmp(to_json(&o, p, len, TP_JSON_BIN_SUMMARY),
		             "{\"x\":\"<bin 8 bytes>\",\"odd\":\"<bin 3 bytes>\",\"f\":0.1}") == 0,
		      "bin summary: %s", o.buf);
		/* float32 comes back as a float64 of the same value. */
		p = parse(&b2, to_json(&o, p, len, 0), &len);
		rd = tp_rd_mem(p, len, "m");
		double d;
		CHECK(tp_rd_next(rd, &r) == 1 && tp_val_f64(tp_val_get(r, "f"), &d) == 0 &&
		      (float)d == 0.1f, "float32 0.1 comes back equal as float32");
		tp_rd_close(rd);
	}
	/* Non-string keys below the top level are written as quoted JSON. */
	{
		static const unsigned char m[] = {0x81, 0xa1, 'm', 0x81, 0x07, 0xa1, 'x'};
		CHECK(strcmp(to_json(&o, m, sizeof m, 0), "{\"m\":{\"7\":\"x\"}}") == 0,
		      "int key in a nested map: %s", o.buf);
	}
	/* TSV fields */
	{
		size_t len;
		const void *p = parse(&b, "{\"s\":\"a\\tb\\nc\\\\\",\"n\":1.5,\"a\":[1]}", &len);
		struct tp_rd *rd = tp_rd_mem(p, len, "m");
		const struct tp_val *r;
		if (tp_rd_next(rd, &r) == 1) {
			o.len = 0;
			tp_json_tsv_field(&o, tp_val_get(r, "s"), 0);
			tp_jbuf_addc(&o, '|');
			tp_json_tsv_field(&o, tp_val_get(r, "n"), 0);
			tp_jbuf_addc(&o, '|');
			tp_json_tsv_field(&o, tp_val_get(r, "a"), 0);
			tp_jbuf_addc(&o, '|');
			tp_json_tsv_field(&o, tp_val_get(r, "missing"), 0);
		}
		CHECK(strcmp(txt(&o), "a\\tb\\nc\\\\|1.5|[1]|") == 0, "TSV fields: %s", o.buf);
		tp_rd_close(rd);
	}
	tp_rb_release(&b);
	tp_rb_release(&b2);
	tp_jbuf_release(&o);
}

static void
bad(const char *json, const char *want, const char *what)
{
	struct tp_rb b;
	char *e;
	int rc;

	tp_rb_init(&b);
	cap_begin();
	rc = tp_json_parse_record(json, strlen(json), &b, "a.jsonl", 3);
	e = cap_end();
	CHECK(rc == -1 && strstr(e, want) && one_line(e), "%s: %s", what, e);
	tp_rb_release(&b);
}

static void
test_errors(void)
{
	char deep[200];
	size_t n = 0;

	bad("{\"a\" 1}", ": a.jsonl: line 3: column 6: expected ':'\n", "missing colon");
	bad("[1]", "line 3: column 1: expected an object\n", "top level not an object");
	bad("{\"a\":1,}", "column 8: expected a string\n", "trailing comma");
	bad("{\"a\":1", "column 7: unexpected end of line\n", "cut object");
	bad("{\"a\":1} x", "column 9: expected end of line\n", "trailing garbage");
	bad("{\"a\":tru}", "column 6: expected a value\n", "bad literal");
	bad("{\"a\":01}", "column 7: expected '}'\n", "leading zero");
	bad("{\"a\":1.}", "column 8: invalid number\n", "no digit after point");
	bad("{\"a\":-}", "column 7: invalid number\n", "lone minus");
	bad("{\"a\":\"x\ty\"}", "column 8: control character in string\n", "raw tab");
	bad("{\"a\":\"\\q\"}", "column 7: invalid escape in string\n", "bad escape");
	bad("{\"a\":\"\\u12G4\"}", "column 11: invalid \\u escape\n", "bad hex");
	bad("{\"a\":\"\\ud800\"}", "column 7: lone surrogate in \\u escape\n", "lone surrogate");
	bad("{\"a\":\"\\udc00\"}", "column 7: lone surrogate", "low surrogate first");
	bad("{\"a\":\"\xff\"}", "column 7: invalid UTF-8\n", "invalid UTF-8");
	bad("{\"a\":\"abc", "column 10: unterminated string\n", "unterminated");
	bad("{\"b\":{\"$base64\":\"Zg=\"}}", "column 17: invalid base64\n", "bad base64");
	bad("", "column 1: expected an object\n", "empty");
	/* The top object and 32 more levels: one too many. */
	deep[n++] = '{';
	for (int i = 0; i < 32; i++) {
		memcpy(deep + n, "\"k\":{", 5);
		n += 5;
	}
	deep[n] = '\0';
	bad(deep, "column 161: nested deeper than 32", "too deep");
	/* At that depth a bin or an ext, scalars to the msgpack reader, reads
	 * and prints back (the fuzzer found the JSON form refused); a near
	 * miss of their form is a map, too deep; bad base64 says so. */
	{
		char js[300], in[300];
		struct tp_rb b;
		struct tp_jbuf o;
		size_t len, m = n;
		const void *p;

		tp_rb_init(&b);
		tp_jbuf_init(&o);
		for (int k = 0; k < 2; k++) {
			memcpy(js, deep, m);
			strcpy(js + m, k ? "\"$ext\":5,\"$base64\":\"Zg==\"}" : "\"$base64\":\"Zg==\"}");
			for (int i = 0; i < 32; i++)
				strcat(js, "}");
			strcpy(in, js);
			p = parse(&b, in, &len);
			CHECK(p && strcmp(to_json(&o, p, len, TP_JSON_BIN_BASE64), in) == 0,
			      "%s at depth 33 reads and prints back", k ? "ext" : "bin");
		}
		memcpy(js, deep, m);
		strcpy(js + m, "\"$base64\":\"Zg==\",\"x\":1}");
		for (int i = 0; i < 32; i++)
			strcat(js, "}");
		bad(js, "column 161: nested deeper than 32", "a near miss at depth 33");
		memcpy(js, deep, m);
		strcpy(js + m, "\"$base64\":\"Zg=\"}");
		for (int i = 0; i < 32; i++)
			strcat(js, "}");
		bad(js, "column 172: invalid base64", "bad base64 at depth 33");
		tp_rb_release(&b);
		tp_jbuf_release(&o);
	}
	/* A near miss of the special form is an ordinary map. */
	{
		struct tp_rb b;
		struct tp_jbuf o;
		size_t len;
		const void *p;

		tp_rb_init(&b);
		tp_jbuf_init(&o);
		/* Printed back, the keys are spelled "\u0024...": the same
		 * keys to any JSON reader, never the bin or ext form to ours. */
		p = parse(&b, "{\"m\":{\"$base64\":\"Zg==\",\"x\":1},\"e\":{\"$ext\":1}}", &len);
		CHECK(p && strcmp(to_json(&o, p, len, 0),
		                  "{\"m\":{\"\\u0024base64\":\"Zg==\",\"x\":1},"
		                  "\"e\":{\"\\u0024ext\":1}}") == 0,
		      "objects that only look like bin stay maps: %s", p ? o.buf : "refused");
		/* ... even when their "$base64" is not base64 (the fuzzer's
		 * find: a map printed from a record did not read back). */
		p = parse(&b, "{\"m\":{\"$base64\":\"k\",\"x\":{\"y\":1}}}", &len);
		CHECK(p && strcmp(to_json(&o, p, len, 0),
		                  "{\"m\":{\"\\u0024base64\":\"k\",\"x\":{\"y\":1}}}") == 0,
		      "... even with a \"$base64\" that is not base64: %s", p ? o.buf : "refused");
		/* A map of exactly the bin or ext shape round-trips as a map,
		 * byte for byte (the fuzzer's third find). */
		for (int k = 0; k < 3; k++) {
			static const char *const val[] = {"k", "Zg==", "Zg=="};
			struct tp_rb mb;
			const void *m0;
			size_t n0;
			char js[128];

			tp_rb_init(&mb);
			tp_rb_begin(&mb, NULL);
			tp_rb_map_begin(&mb, "m");
			if (k == 2)
				tp_rb_i64(&mb, "$ext", 5);
			tp_rb_str(&mb, "$base64", val[k]);
			tp_rb_map_end(&mb);
			m0 = tp_rb_finish(&mb, &n0);
			snprintf(js, sizeof js, "%s", to_json(&o, m0, n0, TP_JSON_BIN_BASE64));
			p = parse(&b, js, &len);
			CHECK(p && len == n0 && memcmp(p, m0, n0) == 0,
			      "the map %s reads back as itself", js);
			tp_rb_release(&mb);
		}
		tp_rb_release(&b);
		tp_jbuf_release(&o);
	}
}

static void
test_jsonl(void)
{
	FILE *f = fopen("in.jsonl", "w");
	struct tp_jsonl *j;
	const struct tp_val *r;
	const void *raw;
	size_t len;
	int rc, n = 0;
	int64_t v;
	char *e;

	fputs("{\"i\":1}\n\n  \n{\"i\":2}\r\n{\"i\":3}", f);
	fclose(f);
	j = tp_jsonl_open("in.jsonl");
	while ((rc = tp_jsonl_next(j, &r, &raw, &len)) == 1)
		n += tp_val_i64(tp_val_get(r, "i"), &v) == 0 && v == n + 1;
	CHECK(rc == 0 && n == 3 && tp_jsonl_line(j) == 5,
	      "JSON Lines: blank lines skipped, CRLF and no final newline accepted");
	tp_jsonl_close(j);
	f = fopen("bad.jsonl", "w");
	fputs("{\"i\":1}\n{\"i\":2}\n{\"i\" 3}\n", f);
	fclose(f);
	j = tp_jsonl_open("bad.jsonl");
	cap_begin();
	n = 0;
	while ((rc = tp_jsonl_next(j, &r, &raw, &len)) == 1)
		n++;
	e = cap_end();
	CHECK(rc == -1 && n == 2 && strstr(e, ": bad.jsonl: line 3: column 6: expected ':'\n") &&
	      one_line(e), "error names file, line and column: %s", e);
	tp_jsonl_close(j);
}

int
main(void)
{
	test_floats();
	test_strings();
	test_base64();
	test_round_trips();
	test_errors();
	test_jsonl();
	return check_done();
}
