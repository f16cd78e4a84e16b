/*
 * record.h: msgpack record streams, the only module that touches msgpack-c.
 *
 * A stream is a concatenation of msgpack maps with string keys, each with a
 * "type" string (doc/tp-records.5).  The reader yields one record at a time
 * as a borrowed tree of struct tp_val, valid until the next tp_rd_next() or
 * tp_rd_close(); memory stays bounded by the largest record.  Bad input
 * (truncation, invalid msgpack, a non-map, a non-string key, a zstd error)
 * is reported as "prog: FILE: byte OFFSET: what" and returns -1.  The
 * reader does not insist on "type" (dataset examples have none): callers
 * that need it use tp_rec_type().  Records are capped at 1 GiB, 2^26 values
 * and 32 levels of nesting, so hostile input cannot exhaust memory.
 *
 * Records are written with a builder (struct tp_rb) and put on a writer
 * (struct tp_wr).  Pass-through tools copy records with tp_wr_put() of
 * tp_rd_raw(), byte for byte, so unknown keys and types survive.
 */
#ifndef TP_RECORD_H
#define TP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

struct tp_zin;

/* ---- decoded values (opaque; a cast of the decoder's object) ----
 * Every accessor accepts NULL (what tp_val_get returns for an absent key):
 * getters return -1, lookups NULL, tp_val_len 0, predicates 0, and
 * tp_val_type TP_V_NIL, so tp_val_f64(tp_val_get(r, "loss"), &x) is safe. */

struct tp_val;

enum tp_vtype {
	TP_V_NIL,
	TP_V_BOOL,
	TP_V_INT,   /* signed or unsigned 64-bit */
	TP_V_FLOAT, /* float32 or float64 */
	TP_V_STR,
	TP_V_BIN,
	TP_V_ARRAY,
	TP_V_MAP,
	TP_V_EXT,
};

enum tp_vtype tp_val_type(const struct tp_val *v);
/* Name of a type for messages: "nil", "bool", "int", ... */
const char *tp_vtype_name(enum tp_vtype t);
/* Value of key in a map, NULL when absent or v is not a map.  Every
 * function below accepts NULL for a value and reads it as nil, so
 * tp_val_i64(tp_val_get(rec, "step"), &s) is safe when "step" is absent. */
const struct tp_val *tp_val_get(const struct tp_val *map, const char *key);
/* Like tp_val_get, but "time.forward" also looks inside nested maps (a key
 * that itself contains the dots is preferred). */
const struct tp_val *tp_val_path(const struct tp_val *map, const char *path);
/* Getters return 0, or -1 when the type does not fit (nothing printed). */
int tp_val_f64(const struct tp_val *v, double *out);  /* int or float */
int tp_val_i64(const struct tp_val *v, int64_t *out); /* int, or integral float */
int tp_val_u64(const struct tp_val *v, uint64_t *out);
int tp_val_bool(const struct tp_val *v, int *out);
int tp_val_is_f32(const struct tp_val *v); /* a float stored as float32 */
int tp_val_is_neg(const struct tp_val *v); /* a negative int (else use u64) */
/* String bytes (not NUL-terminated) or NULL when not a string. */
const char *tp_val_str(const struct tp_val *v, size_t *len);
/* 1 when v is the string s. */
int tp_val_streq(const struct tp_val *v, const char *s);
/* Malloc'd NUL-terminated copy of a string value, or NULL when not one. */
char *tp_val_strdup(const struct tp_val *v);
const void *tp_val_bin(const struct tp_val *v, size_t *len);
/* Ext payload and its type (-128..127), or NULL when not an ext. */
const void *tp_val_ext(const struct tp_val *v, int *type, size_t *len);
/* Element count of an array or map, 0 for others. */
size_t tp_val_len(const struct tp_val *v);
const struct tp_val *tp_val_at(const struct tp_val *arr, size_t i);
const struct tp_val *tp_map_key(const struct tp_val *map, size_t i);
const struct tp_val *tp_map_val(const struct tp_val *map, size_t i);
/*
 * 1 when v equals the command-line text: a string byte for byte; a number
 * numerically (ints exactly, float32 at float32 precision); "true",
 * "false", "null" for bool and nil.  Containers never match.
 */
int tp_val_match(const struct tp_val *v, const char *text);

/* ---- reader ---- */

struct tp_rd;

/* Open a stream (path, or "-"/NULL for stdin), zstd or plain.  NULL on
 * failure (printed). */
struct tp_rd *tp_rd_open(const char *path) TP_WUR;
/* Read from memory (for tests and embedded records); buf is borrowed until
 * tp_rd_close.  zstd or gzip memory is decompressed, plain parsed in place. */
struct tp_rd *tp_rd_mem(const void *buf, size_t len, const char *name) TP_WUR;
/* Read from an open tp_zin, which the reader then owns (closes). */
struct tp_rd *tp_rd_zin(struct tp_zin *z) TP_WUR;
/* Point a reader at other plain memory (e.g. one record at a time), keeping
 * its allocations; the name stays. */
void tp_rd_mem_reset(struct tp_rd *rd, const void *buf, size_t len);
/* Next record: 1 and *rec set, 0 at a clean end, -1 on error (printed; the
 * reader then stays failed).  Records above 1 GiB are refused. */
int tp_rd_next(struct tp_rd *rd, const struct tp_val **rec) TP_WUR;
/* The last record's msgpack bytes, valid as long as *rec. */
const void *tp_rd_raw(const struct tp_rd *rd, size_t *len);
/* Byte offset of the last record in the (decompressed) stream. */
uint64_t tp_rd_offset(const struct tp_rd *rd);
const char *tp_rd_name(const struct tp_rd *rd);
/* "prog: NAME: byte OFFSET: <message>" about the last record. */
void tp_rd_errorf(const struct tp_rd *rd, const char *fmt, ...) TP_PRINTF(2, 3);
void tp_rd_close(struct tp_rd *rd);

/*
 * Required fields of a record, with the error printed through tp_rd_errorf
 * ("missing key \"step\"", "key \"step\": expected int, found str").
 * Return 0 or -1.
 */
int tp_rec_need_f64(const struct tp_rd *rd, const struct tp_val *rec,
                    const char *key, double *out) TP_WUR;
int tp_rec_need_i64(const struct tp_rd *rd, const struct tp_val *rec,
                    const char *key, int64_t *out) TP_WUR;
/* The record's "type" (NUL-terminated copy in buf, truncated to size);
 * -1 when there is none (printed). */
int tp_rec_type(const struct tp_rd *rd, const struct tp_val *rec, char *buf,
                size_t size) TP_WUR;

/* ---- builder ---- */

/*
 * A record under construction.  Inside a map every value takes a key; inside
 * an array key must be NULL.  Containers close with _end in LIFO order;
 * tp_rb_finish closes the top-level map.  Misuse (an unbalanced _end, a key
 * inside an array, more than 32 levels) is a bug: message and abort().
 * Encodings are msgpack's smallest.  Storage is owned by the builder,
 * reused across records (tp_rb_begin resets it), freed by tp_rb_release.
 */
struct tp_rb {
	unsigned char *buf;
	size_t len, cap;
	struct tp_rb_frame {
		size_t start; /* offset of the container's content */
		uint32_t count;
		int is_map;
	} stack[32]; /* nesting as deep as the reader accepts */
	int depth;
	char *key; /* tp_rb_keyn's pending key */
	size_t key_len, key_cap;
	int key_pending;
};

void tp_rb_init(struct tp_rb *b);
void tp_rb_release(struct tp_rb *b);
/* Make dst (uninitialized or released) an independent copy of src, open
 * containers and all, so that both can be finished differently. */
void tp_rb_copy(struct tp_rb *dst, const struct tp_rb *src);
/* Start a record: a map whose first entry is "type": type; with type NULL
 * a map without one (dataset examples, converted JSON). */
void tp_rb_begin(struct tp_rb *b, const char *type);
/* The key of the next value, for keys that are not C strings (embedded
 * NULs); that value's call then takes key NULL. */
void tp_rb_keyn(struct tp_rb *b, const char *k, size_t n);
void tp_rb_nil(struct tp_rb *b, const char *key);
void tp_rb_bool(struct tp_rb *b, const char *key, int v);
void tp_rb_i64(struct tp_rb *b, const char *key, int64_t v);
void tp_rb_u64(struct tp_rb *b, const char *key, uint64_t v);
void tp_rb_f64(struct tp_rb *b, const char *key, double v);
void tp_rb_f32(struct tp_rb *b, const char *key, float v);
void tp_rb_str(struct tp_rb *b, const char *key, const char *s);
void tp_rb_strn(struct tp_rb *b, const char *key, const char *s, size_t n);
void tp_rb_bin(struct tp_rb *b, const char *key, const void *p, size_t n);
void tp_rb_ext(struct tp_rb *b, const char *key, int type, const void *p,
               size_t n);
/* A copy of a decoded value (any type, deep). */
void tp_rb_val(struct tp_rb *b, const char *key, const struct tp_val *v);
void tp_rb_map_begin(struct tp_rb *b, const char *key);
void tp_rb_map_end(struct tp_rb *b);
void tp_rb_arr_begin(struct tp_rb *b, const char *key);
void tp_rb_arr_end(struct tp_rb *b);
/* Close the record; returns its bytes (valid until the next begin). */
const void *tp_rb_finish(struct tp_rb *b, size_t *len);

/* ---- writer ---- */

struct tp_wr;

enum {
	TP_WR_FLUSH = 1 << 8, /* flush after every record: live streams, tail -f */
};

/* Open for writing: flags are TP_ZOUT_* (compression, atomic) | TP_WR_FLUSH. */
struct tp_wr *tp_wr_open(const char *path, int flags) TP_WUR;
/* The same with a zstd level (0: default). */
struct tp_wr *tp_wr_open_level(const char *path, int flags, int level) TP_WUR;
/* Write one encoded record (tp_rb_finish or tp_rd_raw output). */
int tp_wr_put(struct tp_wr *w, const void *rec, size_t len) TP_WUR;
/* Finish the builder's record and write it. */
int tp_wr_rb(struct tp_wr *w, struct tp_rb *b) TP_WUR;
int tp_wr_flush(struct tp_wr *w) TP_WUR;
/* Close; frees w whatever happens; 0 or -1 (printed). */
int tp_wr_close(struct tp_wr *w) TP_WUR;
void tp_wr_abort(struct tp_wr *w);
const char *tp_wr_name(const struct tp_wr *w);

#endif
