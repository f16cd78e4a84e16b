/*
 * train.h: the training loop of tp-train (and of tp-overfit-batch).
 *
 * A run trains for a fixed number of steps (playbook: fixed step budgets,
 * retrospective checkpoint selection), drawing shuffled batches epoch after
 * epoch, evaluating every eval_every steps at step intervals, never time,
 * and streaming records (doc/tp-records.5): config first, then train, eval,
 * checkpoint and diverged records, and a summary last.  Every record is
 * flushed when written, so `tail -f` and pipes see the run live.
 *
 * With a run directory, full-state checkpoints (doc/tp-checkpoint.5) are
 * written at virtual-epoch intervals and a run can resume from the latest
 * valid one, bit for bit: parameters, optimizer state, every RNG, the data
 * loader's position and the metrics stream's length are all in it.
 *
 * Data parallel (doc/tp-distributed.7): with a tp_dist of P > 1 ranks, every
 * rank loads the whole training set and draws the same global batches (same
 * data seed), or with stream reads only its own shard in its own order;
 * rank r computes the gradient of rows [r*B/P, (r+1)*B/P) of
 * each, the weighted gradients and losses are summed across ranks in rank
 * order before clipping and the update, so every rank holds the same
 * parameters.  Only rank 0 writes records, files and checkpoints.
 */
#ifndef TP_TRAIN_H
#define TP_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"
#include "tp/hparams.h"

struct tp_dist;
struct tp_val;

struct tp_train_opts {
	struct tp_hparams hp;
	const char *const *train_paths; /* shards of the training set */
	size_t ntrain;
	/* Read the training files as the run goes instead of loading them
	 * (data larger than memory); with P ranks each rank reads only its
	 * shard: whole files when there are at least P, else every P-th
	 * example.  shuffle_buffer: examples held for shuffling (0: the
	 * loader's default). */
	int stream;
	size_t shuffle_buffer;
	const char *valid_path;   /* NULL: no validation set */
	const char *run_dir;      /* NULL: none; else config.tpr, metrics.tpr */
	const char *metrics_path; /* NULL: stdout without run_dir, none with */
	const char *init_from;    /* warm start from this checkpoint, or NULL */
	int resume;               /* continue run_dir from its latest checkpoint */
	int ckpt_level;           /* zstd level of checkpoints, 0 plain tar */
	int threads;              /* OpenBLAS threads, <= 0: its default */
	int progress;             /* progress line on stderr */
	int timing;               /* wall-clock fields in records (not byte-stable) */
	double input_bound;       /* warn when waiting for data exceeds this fraction */
	const char *study;        /* from the trial record, or NULL */
	int64_t trial;            /* -1 when not from a trial */
	const struct tp_val *scientific; /* the trial's scientific values, or NULL */
	const char *command;      /* the command line, for reproduction */
	volatile sig_atomic_t *stop; /* set by a signal handler: stop cleanly */
	struct tp_dist *dist;     /* the ranks of a data-parallel run, or NULL */
};

/* Defaults: hyperparameter defaults, timing on, input_bound 0.25, trial -1. */
void tp_train_opts_init(struct tp_train_opts *o);

/*
 * Train as o says.  Returns an exit code of tp/err.h: TP_EXIT_OK,
 * TP_EXIT_USAGE (inconsistent configuration, found before any work),
 * TP_EXIT_RUNTIME (I/O or data), TP_EXIT_DIVERGED (a "diverged" record was
 * written), TP_EXIT_CKPT, TP_EXIT_INTERRUPTED.  With several ranks,
 * TP_EXIT_OK, TP_EXIT_DIVERGED and TP_EXIT_INTERRUPTED are reached by every
 * rank at the same step; any other status may be one rank's alone while the
 * others wait in a collective, so the caller ends the job with
 * tp_dist_abort.
 */
int tp_train(const struct tp_train_opts *o) TP_WUR;

/*
 * Read the trial record number `index` (0-based position among the "trial"
 * records of path, "-" for stdin) into o: its params (refusing unknown
 * names), seed, study, trial number and scientific values.  The record
 * stays owned by *keep (free with tp_train_trial_free).  0 or -1 (printed).
 */
struct tp_train_trial;
int tp_train_read_trial(struct tp_train_opts *o, const char *path,
                        int64_t index, struct tp_train_trial **keep) TP_WUR;
void tp_train_trial_free(struct tp_train_trial *t);

#endif
