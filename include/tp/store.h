/*
 * store.h: the tracking store of tp-track, a directory of immutable record
 * files named by the SHA-256 of their contents, indexed on read.
 *
 * Layout (doc/tp-track.1, FILES):
 *   DIR/TRACK              marker, "tp-track store 1"
 *   DIR/objects/<hex>.tpr  one per ingest: the input's records, plain msgpack
 *   DIR/index.tpr          cache of per-object summaries (rebuilt when stale)
 *
 * Writers never lock: an ingest writes a temporary file, fsyncs it and
 * renames it to its content hash, so concurrent writers cannot tear, lose or
 * interleave records and ingesting the same bytes twice is a no-op.  What
 * this needs of the filesystem: rename(2) atomic within a directory and
 * O_EXCL creation of the temporary file (true of local filesystems and of
 * NFSv3+).  Readers list objects/, reuse the index for the objects it
 * covers, parse the rest and replace the index atomically.
 *
 * Trials are keyed by (study, trial id).  Everything about one trial, from
 * any number of objects (tp-sample's trial record, tp-train's metrics stream,
 * tp-eval results, a resumed run), merges into one struct tp_trial.
 *
 * Ownership: a loaded struct tp_store owns every string and array it
 * points to; pointers returned by the lookups below stay valid until
 * tp_store_release.  A struct tp_series owns its curves until
 * tp_series_release.  Tables are initialised by the report functions and
 * released by the caller (tp_table_release).
 */
#ifndef TP_STORE_H
#define TP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

/* ---- what the store knows ---- */

struct tp_study {
	char *name, *config, *config_sha256, *notes, *command, *goal;
	int64_t created; /* seconds since the epoch */
};

enum tp_tptype { TP_TV_NUM, TP_TV_STR, TP_TV_BOOL };

struct tp_tparam {
	char *key;
	enum tp_tptype type;
	double num; /* TP_TV_NUM and TP_TV_BOOL (0/1) */
	char *str;  /* TP_TV_STR */
	int scientific;
};

/* One metric of one split summarised over the steps of a trial.  The split
 * of tp-train's per-step "train" records is called "step". */
struct tp_msum {
	char *split, *name;
	int64_t n;
	double min, max, last; /* finite values only; n counts them */
	int64_t min_step, max_step, last_step;
};

struct tp_trial_ckpt {
	int64_t step;
	char *path;
};

struct tp_trial {
	char *study;
	int64_t id;
	int has_seed;
	int64_t seed;
	char *run_dir, *command; /* NULL when unknown */
	char *train;             /* training set path from the config, or NULL */
	int64_t train_count;     /* its examples (config "train_examples"), or -1 */
	struct tp_tparam *params;
	size_t nparams;
	int diverged;
	int64_t diverged_step;
	char *diverged_reason;
	int64_t steps; /* last step seen; -1 when none */
	struct tp_msum *sums;
	size_t nsums;
	struct tp_trial_ckpt *ckpts; /* sorted by step, unique steps */
	size_t nckpts;
	char **objects; /* hex names of the objects that mention it */
	size_t nobjects;
};

struct tp_store {
	char *dir;
	struct tp_study *studies; /* sorted by name */
	size_t nstudies;
	struct tp_trial *trials; /* sorted by (study, id) */
	size_t ntrials;
	size_t nobjects; /* objects listed */
	size_t parsed;   /* of those, parsed (not found in the index) */
};

/* The store directory: the flag if given, else $TP_TRACK, else "tp-track". */
const char *tp_store_default_dir(const char *flag);

/* Create the store (and its parents' last level) if needed; 0 or -1. */
int tp_store_create(const char *dir) TP_WUR;

/*
 * Open and load a store: every study and trial, from the index and from the
 * objects it does not cover yet.  Fails (printed) when dir is not a store or
 * an object is corrupt.  Release with tp_store_release.
 */
int tp_store_load(struct tp_store *s, const char *dir) TP_WUR;
void tp_store_release(struct tp_store *s);

/*
 * Ingest one record stream (file, plain or zstd, or "-"/NULL for stdin) into
 * the store at dir.  study/trial, when not NULL/-1, name the trial for
 * streams whose records do not.  *added is 1 when a new object was written,
 * 0 when the same contents were already there.  0 or -1 (printed).
 */
int tp_store_ingest(const char *dir, const char *path, const char *study,
                    int64_t trial, int *added) TP_WUR;
/* Ingest a run directory: every *.tpr and *.tpr.zst file in it (sorted by
 * name, not recursive); *added counts new objects.  0 or -1. */
int tp_store_ingest_dir(const char *dir, const char *run_dir,
                        const char *study, int64_t trial, int *added) TP_WUR;

/* A directory is a run directory, anything else ("-" too) a stream. */
int tp_store_ingest_path(const char *dir, const char *path, const char *study,
                         int64_t trial, int *added) TP_WUR;

/* Register or update a study (the newest registration wins); config, when
 * not NULL, is checksummed now.  0 or -1. */
int tp_store_add_study(const char *dir, const struct tp_study *st) TP_WUR;

/* Lookups: NULL when absent. */
const struct tp_study *tp_store_study(const struct tp_store *s,
                                      const char *name);
/* The trials of one study: a pointer into s->trials and their count. */
const struct tp_trial *tp_store_trials(const struct tp_store *s,
                                       const char *study, size_t *n);
const struct tp_tparam *tp_trial_param(const struct tp_trial *t,
                                      const char *key);
/* The trial's scientific values as "k=v" joined by sep ("" when none),
 * truncated to fit buf[n]: for grouping, labels and column names. */
void tp_trial_sci_text(const struct tp_trial *t, const char *sep, char *buf,
                       size_t n);
const struct tp_msum *tp_trial_sum(const struct tp_trial *t, const char *split,
                                   const char *name);
/* Checkpoint path saved at step, or NULL. */
const char *tp_trial_ckpt(const struct tp_trial *t, int64_t step);

/* ---- objectives ---- */

struct tp_objective {
	const char *split, *metric; /* NULL: decided by tp_objective_default */
	int maximize;               /* 1 max, 0 min, -1 decided from the name */
	int final; /* the value at the last evaluated step, not the best */
};

/* The objective for one study's trials t[0..n): a copy of o with the
 * blanks filled in: split "valid"; metric the first of "error", "mse",
 * "loss" that the trials report; maximize for names such as "accuracy",
 * "auc", "f1", "r2". */
struct tp_objective tp_objective_for(const struct tp_objective *o,
                                     const struct tp_trial *t, size_t n);

/* The trial's objective: 1 and *value, *step set; 0 when the trial has no
 * finite value of that metric (or diverged and final is asked). */
int tp_trial_objective(const struct tp_trial *t, const struct tp_objective *o,
                       double *value, int64_t *step);

/* ---- full curves, read from the objects of one trial ---- */

struct tp_curve {
	char *split, *name; /* as in tp_msum */
	size_t n;
	int64_t *step; /* ascending, unique (a later object wins a tie) */
	double *val;   /* may hold NaN/Inf as recorded */
};

struct tp_series {
	struct tp_curve *curves;
	size_t ncurves;
};

/* Read every point of the trial from its objects; 0 or -1 (printed). */
int tp_store_series(const struct tp_store *s, const struct tp_trial *t,
                    struct tp_series *out) TP_WUR;
void tp_series_release(struct tp_series *se);
const struct tp_curve *tp_series_get(const struct tp_series *se,
                                     const char *split, const char *name);

/* ---- search-space bounds (tp-track check) ---- */

/* A search-space bound for one parameter. */
struct tp_bound {
	const char *name;
	double lo, hi;
	int log; /* 0 linear, 1 log, 2 reverse-log (1 - x on a log scale) */
};

/* The bounds of the numeric nuisance parameters of a search space file
 * (doc/tp-space.5, text or record form).  *b and its names are malloc'd:
 * free with tp_store_bounds_free.  0 or -1 (printed). */
int tp_store_space_bounds(const char *path, struct tp_bound **b,
                          size_t *n) TP_WUR;
void tp_store_bounds_free(struct tp_bound *b, size_t n);

/* ---- reports (tp-track table, compare, export) ---- */

struct tp_table;
struct tp_wr;

/* One row per study: trials run and diverged, the best objective with the
 * trial, step and checkpoint that reached it, config, notes, command. */
void tp_store_study_table(const struct tp_store *s,
                          const struct tp_objective *o, struct tp_table *out);

/* One row per trial of a study, best first (trials without a value last,
 * by id); at most limit rows (0: all).  out is initialised here. */
void tp_store_trial_table(const struct tp_store *s, const char *study,
                          const struct tp_objective *o, size_t limit,
                          struct tp_table *out);

/* Best trial of every (study, scientific values) group among the named
 * studies (all when nstudies is 0), side by side: one column per group,
 * one row per field and parameter. */
void tp_store_compare_table(const struct tp_store *s,
                            const char *const *studies, size_t nstudies,
                            const struct tp_objective *o, struct tp_table *out);

/* Trial indexes (into the study's trials) best first; *n in: the study's
 * trial count, out: how many have a value.  Caller frees. */
size_t *tp_store_rank(const struct tp_trial *t, size_t n,
                      const struct tp_objective *o, size_t *nranked);

/* Write one result record per trial of a study (all studies when NULL) for
 * tp-sample --history; 0 or -1 (printed). */
int tp_store_export(const struct tp_store *s, const char *study,
                    const struct tp_objective *o, struct tp_wr *w) TP_WUR;

#endif
