/*
 * dataops.h: whole-dataset operations behind tp-data: seeded stratified
 * split and sample, sharding, the info summary and synthetic datasets.
 * Index lists refer to rows of a struct tp_dataset; writing them out is
 * tp_dataset_write().  Every random choice comes from tp/rng.h seeded by
 * the caller's seed, so the same seed gives the same bytes.
 */
#ifndef TP_DATAOPS_H
#define TP_DATAOPS_H

#include <stdint.h>
#include <stdio.h>

#include "tp/dataset.h"
#include "tp/err.h"

/*
 * Split ds into k parts of fractions f[0..k) (each in (0, 1), sum 1 within
 * 1e-9).  For classification each class is split on its own (stratified):
 * part j receives floor(n_c f_j) of class c plus at most one more, so every
 * part's class proportions are within one example of the whole's.  Rows
 * are chosen and ordered at random (seeded); parts[j] (malloc'd, caller
 * frees) holds counts[j] row indices.  0 or -1 (printed: bad fractions).
 */
int tp_data_split(const struct tp_dataset *ds, const double *f, size_t k,
                  uint64_t seed, uint32_t **parts, size_t *counts) TP_WUR;

/* Check split fractions (the rule above); 0 or -1 (printed). */
int tp_data_check_fractions(const double *f, size_t k) TP_WUR;

/*
 * A random subset of n rows (n <= ds->n), in random order; stratified
 * keeps each class's share (largest remainder: exactly n rows, each class
 * within one example of its proportional share).  *idx malloc'd.
 */
int tp_data_sample(const struct tp_dataset *ds, size_t n, uint64_t seed,
                   int stratify, uint32_t **idx) TP_WUR;

/*
 * Write ds as k contiguous shards "PREFIX-00000-of-0000k.zst" (shard j
 * holds rows [j n / k, (j + 1) n / k), so reading the shards in order gives
 * ds back).  flags as tp_dsw_open.  0 or -1.
 */
int tp_data_shard(const struct tp_dataset *ds, size_t k, const char *prefix,
                  int flags) TP_WUR;
/* The name of shard j of k (malloc'd). */
char *tp_data_shard_name(const char *prefix, size_t j, size_t k);

/* What tp-data info reports, gathered by streaming the file(s). */
struct tp_data_info {
	struct tp_ds_header h;   /* of the first file; count is the total */
	int64_t *class_count;    /* [classes] */
	double weight_sum;
	int64_t weighted;        /* examples with a weight other than 1 */
	double xmin, xmax;       /* over all features */
	double ymin, ymax, ymean; /* regression targets */
};

/* Read and validate every example of the files (shards read as one). */
int tp_data_info(struct tp_data_info *info, const char *const *paths,
                 size_t npaths) TP_WUR;
void tp_data_info_release(struct tp_data_info *info);
/* Text table, or one JSON object on one line. */
void tp_data_info_print(FILE *f, const struct tp_data_info *info,
                        const char *file, int json);

enum tp_synth_kind {
	TP_SYNTH_BLOBS,   /* K Gaussian clusters in D dimensions */
	TP_SYNTH_SPIRALS, /* K interleaved spiral arms in 2 dimensions */
	TP_SYNTH_MNIST,   /* MNIST-sized (784 features, 10 classes) images */
	TP_SYNTH_LINEAR,  /* regression: y = w.x + noise */
};

struct tp_synth_opts {
	enum tp_synth_kind kind;
	int64_t count;    /* N */
	int64_t features; /* D; 0: the kind's default */
	int64_t classes;  /* K; 0: the kind's default */
	double noise;     /* < 0: the kind's default */
	uint64_t seed;
	const char *name;
};

/* "blobs", "spirals", "mnist", "linear" (-1 when unknown). */
int tp_synth_kind_parse(const char *s);
/* Generate and write a synthetic dataset, one example at a time (constant
 * memory).  0 or -1. */
int tp_synth_write(const struct tp_synth_opts *o, const char *path,
                   int flags) TP_WUR;

#endif
