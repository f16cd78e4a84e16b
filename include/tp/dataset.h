/*
 * dataset.h: tp datasets (doc/tp-dataset.5): a record stream whose first
 * record is a "dataset" header and whose other records are examples
 * {"x": bin of D float32 little-endian, "y": class index or target,
 * "w": optional weight}.  Example records carry no "type" key, to keep the
 * per-example overhead to a few bytes; a map without "type" after a dataset
 * header is an example (a "type":"example" key is accepted too).
 *
 * Four layers, each built on the one before:
 *   - the header (struct tp_ds_header) and its record form;
 *   - a sequential reader (tp_dsr) and writer (tp_dsw) of one file, which
 *     validate every example against the header;
 *   - the whole dataset in memory (struct tp_dataset), from one or several
 *     shard files read as one;
 *   - the batch loader (tp_loader) that trainers and evaluators use: a
 *     background thread decodes, shuffles and assembles batches into a
 *     bounded prefetch queue, in an order that depends only on the data
 *     seed, the shard (i of n) and the batch size; its position is a small
 *     struct that restores exactly.
 */
#ifndef TP_DATASET_H
#define TP_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"
#include "tp/rng.h"

struct tp_rb;
struct tp_rd;
struct tp_val;

/* ---- header ---- */

enum tp_scale {
	TP_SCALE_NONE = 0,
	TP_SCALE_MINMAX,      /* a = min, b = 1 / (max - min): x' in [0, 1] */
	TP_SCALE_STANDARDIZE, /* a = mean, b = 1 / stddev: x' has mean 0, sd 1 */
};

/*
 * The dataset header.  Scaling, when present, was already applied to the
 * examples as x' = (x - a[j]) * b[j]; it is recorded so that the same
 * transform can be applied to other splits (tp-data pack --scale-from).
 * All pointers are owned (released by tp_ds_header_release); optional ones
 * are NULL when absent.
 */
struct tp_ds_header {
	int64_t version;
	int64_t features; /* D >= 1 */
	int64_t classes;  /* K >= 2 for classification, 0 for regression */
	int64_t count;    /* N >= 0 */
	char *name;
	char **feature_names; /* D strings or NULL */
	char **label_names;   /* K strings or NULL */
	enum tp_scale scaling;
	float *scale_a, *scale_b; /* D each, or NULL without scaling */
};

void tp_ds_header_init(struct tp_ds_header *h);
void tp_ds_header_release(struct tp_ds_header *h);
/* Deep copy of src into the initialized-or-released dst. */
void tp_ds_header_copy(struct tp_ds_header *dst, const struct tp_ds_header *src);
/* Parse a "dataset" record; errors are printed through tp_rd_errorf. */
int tp_ds_header_parse(struct tp_ds_header *h, const struct tp_rd *rd,
                       const struct tp_val *rec) TP_WUR;
/* Begin b as the header record and fill it (the caller finishes it). */
void tp_ds_header_build(const struct tp_ds_header *h, struct tp_rb *b);
/* "minmax", "standardize" or "none"; and back (-1 for an unknown name). */
const char *tp_scale_name(enum tp_scale s);
int tp_scale_parse(const char *s);

/* ---- sequential reader and writer of one file ---- */

struct tp_dsr;

/* Open path ("-" or NULL: stdin) and read its header; NULL on error. */
struct tp_dsr *tp_dsr_open(const char *path) TP_WUR;
const struct tp_ds_header *tp_dsr_header(const struct tp_dsr *r);
const char *tp_dsr_name(const struct tp_dsr *r);
/*
 * Next example: x[D] filled, *y the class index (as a double) or target,
 * *w the weight (1 when absent).  Returns 1, 0 at the end (after checking
 * that the header's count was met), -1 on error (printed: bad example,
 * class out of range, truncation "FILE: truncated: header says N examples,
 * found M").  Trailing records after the N-th example are refused.
 */
int tp_dsr_next(struct tp_dsr *r, float *x, double *y, float *w) TP_WUR;
/* Examples returned so far. */
int64_t tp_dsr_index(const struct tp_dsr *r);
void tp_dsr_close(struct tp_dsr *r);

struct tp_dsw;

/*
 * Open for writing (flags as tp_wr_open: TP_ZOUT_COMPRESS, TP_ZOUT_ATOMIC
 * ...) and write the header; h->count examples must follow.  NULL on error.
 * TP_ZOUT_ATOMIC is ignored when path exists and is not a regular file
 * (/dev/null, a FIFO): renaming over it would replace the device.
 */
struct tp_dsw *tp_dsw_open(const char *path, int flags,
                           const struct tp_ds_header *h) TP_WUR;
/* One example; w < 0 means "no weight key" (weight 1). */
int tp_dsw_put(struct tp_dsw *w, const float *x, double y, float weight) TP_WUR;
/* Close; fails (and discards an atomic file) when fewer or more examples
 * than the header's count were written.  Frees w. */
int tp_dsw_close(struct tp_dsw *w) TP_WUR;
void tp_dsw_abort(struct tp_dsw *w);

/* ---- whole dataset in memory ---- */

/*
 * x is [n, d] row-major; y[n] holds the class index (classification) and
 * t[n] the target (regression): exactly one of them is non-NULL.  w[n] is
 * always present (1 where the file had no weight); has_weights says whether
 * any example carried one.  h.count == n.
 */
struct tp_dataset {
	struct tp_ds_header h;
	size_t n, d;
	float *x;
	int32_t *y;
	float *t;
	float *w;
	int has_weights;
	/* Rows of file f are [file_start[f], file_start[f + 1]); loaded
	 * shards keep their boundaries so that hosts can take whole files. */
	size_t nfiles;
	size_t *file_start; /* nfiles + 1 entries */
};

void tp_dataset_init(struct tp_dataset *ds);
/* Allocate for n examples under header h (copied; its count set to n). */
void tp_dataset_alloc(struct tp_dataset *ds, const struct tp_ds_header *h,
                      size_t n);
void tp_dataset_release(struct tp_dataset *ds);
/*
 * Load the concatenation of npaths files (shards of one dataset: same
 * features, classes and scaling; count is the sum).  0 or -1 (printed).
 */
int tp_dataset_load(struct tp_dataset *ds, const char *const *paths,
                    size_t npaths) TP_WUR;
/*
 * The same without the examples: the checked headers, n and file_start
 * from the headers' counts, x, y, t and w NULL (for streaming trainers,
 * which read the examples through tp_loader_open).  0 or -1 (printed).
 */
int tp_dataset_load_headers(struct tp_dataset *ds, const char *const *paths,
                            size_t npaths) TP_WUR;
/*
 * Write examples idx[0..n) of ds (all, in order, when idx is NULL) as a
 * dataset file; flags as tp_dsw_open.
 */
int tp_dataset_write(const struct tp_dataset *ds, const uint32_t *idx,
                     size_t n, const char *path, int flags) TP_WUR;

/* ---- batch loader ---- */

enum tp_loader_mode {
	/* Shuffled, endless: epoch after epoch, every batch full (a batch may
	 * straddle two epochs); each epoch sees every example once. */
	TP_LOAD_TRAIN,
	/* File order, one pass: the last batch is padded with zero rows of
	 * weight 0 and says how many rows are real. */
	TP_LOAD_EVAL,
};

#define TP_LOADER_SHUFFLE_BUFFER 8192

struct tp_loader_opts {
	enum tp_loader_mode mode;
	size_t batch;          /* B >= 1 */
	uint64_t seed;         /* data-order seed (train mode) */
	uint32_t shard, shards; /* this is shard `shard` of `shards` (>= 1) */
	size_t prefetch;       /* batches queued ahead (0: 8) */
	/* Streaming only: examples held for shuffling (0:
	 * TP_LOADER_SHUFFLE_BUFFER).  Larger is
	 * closer to a true permutation; see tp-dataset(5). */
	size_t shuffle_buffer;
};

/*
 * One batch: rows [0, n) with n == B always; rows [valid, n) are padding
 * (x = 0, y = 0, t = 0, w = 0) and only occur in the last eval batch.
 * y (class, classification) or t (target, regression) is NULL as in
 * struct tp_dataset.  (Named tp_ds_batch: struct tp_batch is the model's
 * input, tp/model.h.)
 */
struct tp_ds_batch {
	size_t n, valid, d;
	float *x; /* [n, d] */
	int32_t *y;
	float *t;
	float *w;
};

/*
 * The consumer's position: restoring it and reading gives the same batches
 * as never stopping.  epoch and offset (examples of that epoch already
 * delivered) fix the position; the shuffle RNG of each epoch is derived from
 * (seed, shard, epoch), so it needs no saving.  seed, examples, shard,
 * shards and streaming identify the stream and are checked on restore;
 * batch is informational: the example order does not depend on the batch
 * size (batches are consecutive runs of one example stream).
 */
struct tp_loader_state {
	uint64_t epoch;
	uint64_t offset;
	uint64_t seed;
	uint64_t examples; /* examples in this shard */
	uint32_t shard, shards;
	uint32_t batch;
	uint32_t streaming;
};

#define TP_LOADER_STATE_BYTES 48
/* Fixed little-endian encoding, for checkpoints. */
void tp_loader_state_encode(const struct tp_loader_state *s,
                            unsigned char out[TP_LOADER_STATE_BYTES]);
int tp_loader_state_decode(struct tp_loader_state *s,
                           const unsigned char *in, size_t len) TP_WUR;

struct tp_loader;

/*
 * A loader over an in-memory dataset (borrowed: it must outlive the
 * loader).  Train mode shuffles with a whole-epoch permutation.  Shard i
 * of n takes whole files as tp_loader_open does (ds->file_start), else
 * every n-th example.  resume
 * (or NULL) restores a saved position.  NULL on error (printed).
 */
struct tp_loader *tp_loader_new(const struct tp_dataset *ds,
                                const struct tp_loader_opts *o,
                                const struct tp_loader_state *resume) TP_WUR;
/*
 * A streaming loader over npaths files (for data larger than memory):
 * the thread decompresses and decodes; train mode shuffles the file order
 * and the examples through a shuffle buffer.  Shard i of n takes whole
 * files (file j when j % n == i) when there are at least n files, else
 * every n-th example.  NULL on error (printed).
 */
struct tp_loader *tp_loader_open(const char *const *paths, size_t npaths,
                                 const struct tp_loader_opts *o,
                                 const struct tp_loader_state *resume) TP_WUR;
/* The dataset's header (count is the whole dataset's, not the shard's). */
const struct tp_ds_header *tp_loader_header(const struct tp_loader *l);
/* Examples in this shard (one epoch). */
uint64_t tp_loader_examples(const struct tp_loader *l);
/*
 * Next batch: 1 and *b set (valid until the next call or close), 0 at the
 * end of an eval pass, -1 on error (printed by the thread).
 */
int tp_loader_next(struct tp_loader *l, const struct tp_ds_batch **b) TP_WUR;
/* Position after the last batch returned. */
void tp_loader_state(const struct tp_loader *l, struct tp_loader_state *s);
/* Seconds tp_loader_next spent waiting for the thread, in total. */
double tp_loader_wait_seconds(const struct tp_loader *l);
/* Stop the thread and free (accepts NULL). */
void tp_loader_close(struct tp_loader *l);

#endif
