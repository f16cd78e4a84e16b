/*
 * select.h: retrospective checkpoint selection (the playbook's "Saving
 * checkpoints and retrospectively selecting the best checkpoint"), the logic
 * of tp-ckpt-select(1).
 *
 * Inputs are record streams: tp-train metrics streams, tp-eval output, or
 * any trainer's stream that follows the minimal schema: "eval" records with
 * "step", numeric metrics, optionally "split" (missing means "valid") and
 * "checkpoint" (the file saved at that step); "checkpoint" records with
 * "step" and "path" name files too.  Each input (a stream, or a run
 * directory read through its metrics.tpr) is one run, except that records
 * naming a "study" and "trial" other than the input's own (its config
 * record's) form a run of their own, "INPUT:STUDY/TRIAL": tp-eval output
 * covering many trials splits into its trials.
 *
 * Ranking is by one metric of one split, smaller or larger is better; ties
 * go to the earlier step, then to the earlier run (input order), then to
 * the earlier record: the same inputs always give the same answer.  A
 * candidate is only picked after its file is checked: a tp checkpoint must
 * pass tp_ckpt_open, any other file must be a readable regular file.
 * Candidates that fail are skipped with one line each on stderr ("prog:
 * skipping PATH: why") unless quiet.
 */
#ifndef TP_SELECT_H
#define TP_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

struct tp_select_opts {
	const char *metric; /* NULL: "error" */
	const char *split;  /* NULL: "valid" */
	int maximize;       /* 1 larger is better, 0 smaller, -1 from the name */
	int final;          /* rank each run by its value at its last evaluated
	                     * step (of split and metric), not its best */
	int per_run;        /* pick within each run, not across them */
	size_t keep;        /* how many to pick (per run with per_run); 0 = 1 */
	int quiet;          /* no "skipping" lines */
};

/* 1 when larger values of metric are better: names containing "acc", and
 * "auc", "f1", "r2", "precision", "recall"; 0 otherwise (loss, error, mse,
 * mae, anything else). */
int tp_select_maximize(const char *metric);

struct tp_select;

/* A selection over some runs; o is copied.  Free with tp_select_free. */
struct tp_select *tp_select_new(const struct tp_select_opts *o);
void tp_select_free(struct tp_select *s);

/*
 * Read one run: a record stream (plain or zstd; "-" is stdin) or a
 * directory holding metrics.tpr (or metrics.tpr.zst).  Checkpoint paths are
 * resolved as written (relative to the current directory), else relative to
 * the stream's directory, else, when the run's config record names a
 * "run_dir" that prefixes the path, with that prefix replaced by the
 * stream's directory.  0, or -1 on unreadable or bad input (printed).
 */
int tp_select_read(struct tp_select *s, const char *path) TP_WUR;

struct tp_pick {
	const char *path; /* resolved checkpoint path */
	const char *run;  /* the run: its input as given, or INPUT:STUDY/TRIAL */
	int64_t step;
	double value;     /* the metric there (with final: at the last step) */
	size_t rank;      /* 1-based, within the run with per_run */
};

/*
 * Rank, check files lazily in rank order, and pick.  *picks (owned by s,
 * valid until tp_select_free) are in output order: best first, or with
 * per_run run by run.  Returns the number picked (0: nothing qualifies).
 */
size_t tp_select_choose(struct tp_select *s, const struct tp_pick **picks);

/*
 * After tp_select_choose: the checkpoint files the runs name that exist and
 * were not picked, in run then step order, each once (for --prune).  Owned
 * by s.
 */
size_t tp_select_others(struct tp_select *s, const char *const **paths);

#endif
