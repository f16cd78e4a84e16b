/*
 * json.h: records as JSON text and back, for people and for tools that do
 * not speak msgpack (tp-cat).  Output is one line per value, deterministic:
 * floats in the shortest form that reads back to the same double (float32
 * values: to the same float32), always with a '.' or an exponent so they
 * stay floats; NaN and infinities as the tokens NaN, Infinity, -Infinity
 * (what Python's json module reads and writes); strings escaped, invalid
 * UTF-8 bytes written as \ufffd; bin as {"$base64":"..."}; ext as
 * {"$ext":TYPE,"$base64":"..."}.  The parser is strict JSON plus those
 * tokens and turns the two special objects back into bin and ext, so
 * msgpack -> JSON -> msgpack keeps every value; only a float32 comes back
 * as a float64 of the same value (doc/tp-records.5).
 */
#ifndef TP_JSON_H
#define TP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

struct tp_val;
struct tp_rb;
struct tp_rd;

/* A growing text buffer the caller owns (_init/_release). */
struct tp_jbuf {
	char *buf;
	size_t len, cap;
};

void tp_jbuf_init(struct tp_jbuf *o);
void tp_jbuf_release(struct tp_jbuf *o);
void tp_jbuf_add(struct tp_jbuf *o, const void *p, size_t n);
void tp_jbuf_addc(struct tp_jbuf *o, char c);

/* How bin values are written. */
enum tp_json_bin {
	TP_JSON_BIN_BASE64,  /* {"$base64":"..."}: lossless (default) */
	TP_JSON_BIN_SUMMARY, /* the string "<bin N bytes>" */
	TP_JSON_BIN_FLOATS,  /* an array of little-endian float32 when the
	                      * length is a multiple of 4, else base64 */
};

/* Append v as JSON (no newline).  Map keys that are not strings (only
 * possible below the top level) are written as their JSON text, quoted. */
void tp_json_value(struct tp_jbuf *o, const struct tp_val *v,
                   enum tp_json_bin bin);
/* Append the shortest round-tripping text of a double / a float32. */
void tp_json_f64(struct tp_jbuf *o, double d);
void tp_json_f32(struct tp_jbuf *o, float f);
/* Append s as a quoted JSON string. */
void tp_json_str(struct tp_jbuf *o, const char *s, size_t n);
/* Append v as a TSV field: strings raw with \t \n \r \\ escaped, v NULL as
 * nothing (a missing key), everything else as JSON. */
void tp_json_tsv_field(struct tp_jbuf *o, const struct tp_val *v,
                       enum tp_json_bin bin);

/*
 * Parse one JSON object (s[0..n), e.g. a line without its newline) into a
 * record: tp_rb_begin(b, NULL) then its keys in order.  Integers that fit
 * int64/uint64 stay ints; other numbers are float64.  On error print
 * "prog: NAME: line LINE: column C: what" and return -1.
 */
int tp_json_parse_record(const char *s, size_t n, struct tp_rb *b,
                         const char *name, uint64_t line) TP_WUR;

/* base64 (RFC 4648, padded) of p[0..n), appended. */
void tp_base64_encode(struct tp_jbuf *o, const void *p, size_t n);
/* Decode strictly into o (appended); -1 when s is not canonical base64. */
int tp_base64_decode(struct tp_jbuf *o, const char *s, size_t n) TP_WUR;

/*
 * JSON Lines in, records out: each non-blank line must be one object.
 * Compressed input (zstd, gzip) is read transparently.  A record and its
 * msgpack bytes stay valid until the next call.
 */
struct tp_jsonl;

struct tp_jsonl *tp_jsonl_open(const char *path) TP_WUR;
/* 1 with *rec, *raw, *len set; 0 at the end; -1 on error (printed). */
int tp_jsonl_next(struct tp_jsonl *j, const struct tp_val **rec,
                  const void **raw, size_t *len) TP_WUR;
/* Line number of the last record (1-based). */
uint64_t tp_jsonl_line(const struct tp_jsonl *j);
void tp_jsonl_close(struct tp_jsonl *j);

#endif
