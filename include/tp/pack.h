/*
 * pack.h: turning other people's files into tp datasets (tp-data pack):
 * delimited text (CSV, TSV, whitespace) and IDX (the MNIST format), plain,
 * zstd or gzip, plus the feature scaling recorded in the dataset header.
 * Every input is read through tp/zio.h, so .gz and .zst need no flag.
 */
#ifndef TP_PACK_H
#define TP_PACK_H

#include <stdint.h>

#include "tp/dataset.h"
#include "tp/err.h"

struct tp_pack_opts {
	/* Field separator: ',', '\t', ';', ' ' (runs of blanks), or 0 to
	 * detect from the first line: tab, else comma, else semicolon, else
	 * blanks. */
	int delimiter;
	/* First line holds column names: 1 yes, 0 no, -1 detect (yes when a
	 * feature field of the first line is not a number). */
	int header;
	/* Label column: a column name (with a header line) or a 1-based
	 * column number; NULL means the last column. */
	const char *label;
	/* Weight column (name or number, as label), or NULL: no weights.
	 * Weights are finite and >= 0. */
	const char *weight;
	/* Number of classes K; 0 means largest label + 1 (or the number of
	 * distinct label names).  Ignored for regression. */
	int64_t classes;
	int regression; /* the label is a real-valued target (K = 0) */
	const char *name; /* dataset name for the header, or NULL */
};

void tp_pack_opts_init(struct tp_pack_opts *o);

/*
 * Read delimited text from path ("-"/NULL: stdin) into ds (initialized by
 * the call).  Labels are class indices 0..K-1 or, when the first label is
 * not a number, names: the distinct names sorted bytewise become classes
 * 0..K-1 and the header's label_names.  Errors name the file and line:
 * "FILE: line 17: expected 65 fields, found 64".  0 or -1.
 */
int tp_pack_csv(struct tp_dataset *ds, const char *path,
                const struct tp_pack_opts *o) TP_WUR;

/*
 * Read an IDX pair (images: N x dims..., labels: N) into ds.  Any IDX
 * element type (u8, i8, i16, i32, f32, f64, big-endian) is accepted for the
 * images; labels must be integers.  0 or -1.
 */
int tp_pack_idx(struct tp_dataset *ds, const char *images, const char *labels,
                const struct tp_pack_opts *o) TP_WUR;

/*
 * Fit scaling parameters on ds and apply them: x' = (x - a) * b in
 * float32, with minmax a = min, b = 1 / (max - min) and standardize
 * a = mean, b = 1 / population stddev (b = 1 for a constant feature).  The
 * method, a and b go into ds->h.  A dataset that is already scaled is
 * refused (-1).
 */
int tp_scale_fit(struct tp_dataset *ds, enum tp_scale method) TP_WUR;

/* Apply the scaling recorded in from (another split's header; from_name
 * for messages) to the unscaled ds.  0 or -1. */
int tp_scale_apply(struct tp_dataset *ds, const struct tp_ds_header *from,
                   const char *from_name) TP_WUR;

#endif
