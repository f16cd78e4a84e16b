/*
 * overfit.h: tp-overfit-batch, the sanity check before a long study.
 *
 * A model that cannot drive the training loss of one small batch to about
 * zero has a bug or is far too small (playbook seed 002, "Useful
 * overfitting": overfit one batch first, it costs nothing).  The check
 * builds the model and optimizer tp-train would build from the same
 * hyperparameters, takes one seeded batch of the training data, compares
 * the loss at initialization with the value uninformative outputs give,
 * then trains on that batch alone until the loss falls below a threshold
 * or the step budget runs out, and says why when it can tell.
 */
#ifndef TP_OVERFIT_H
#define TP_OVERFIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tp/err.h"
#include "tp/hparams.h"

struct tp_rb;

struct tp_overfit_opts {
	struct tp_hparams hp;      /* model, optimizer, schedule, seeds */
	const char *const *paths;  /* shards of the training set */
	size_t npaths;
	int64_t examples;          /* batch size; 0: hp.batch_size */
	int64_t max_steps;         /* step budget (default 1000) */
	double threshold;          /* < 0: 0.01 (classification), 1% of the
	                            * targets' variance (regression) */
	int shuffle_labels;        /* permute the batch's labels (a control:
	                            * a small model must fail) */
	int keep_regularization;   /* else dropout, weight decay and label
	                            * smoothing are set to 0 */
	int threads;               /* OpenBLAS threads, <= 0: its default */
};

enum tp_overfit_verdict {
	TP_OVERFIT_YES,      /* the loss fell below the threshold */
	TP_OVERFIT_STUCK,    /* the loss did not move */
	TP_OVERFIT_DIVERGED, /* the loss or a parameter became NaN/Inf */
	TP_OVERFIT_SLOW,     /* it moved, but not below the threshold in time */
};

struct tp_overfit_result {
	int64_t examples, features, classes;
	double lr;                 /* base learning rate used */
	double init_loss;          /* evaluation-mode loss at initialization */
	double expected_loss;      /* what uninformative outputs would give */
	double expected_se;        /* its standard error over the batch */
	double ln_k;               /* ln K; 0 for regression */
	int init_ok;               /* 0: far from the expected value */
	char init_note[256];       /* why, when not ok */
	double init_grad_norm;
	int64_t dead_units, hidden_units; /* ReLU units inactive on the batch */
	double threshold;
	int64_t steps;             /* updates made */
	double final_loss, best_loss;
	enum tp_overfit_verdict verdict;
	char reason[512];          /* one sentence, for people */
};

/* Defaults: hyperparameter defaults, max_steps 1000, threshold -1. */
void tp_overfit_opts_init(struct tp_overfit_opts *o);

/*
 * Run the check.  Returns TP_EXIT_OK when it ran (the verdict is in *r),
 * TP_EXIT_USAGE for inconsistent options (printed before any work) and
 * TP_EXIT_RUNTIME when the data cannot be read.
 */
int tp_overfit(const struct tp_overfit_opts *o, struct tp_overfit_result *r) TP_WUR;

/* The result as lines for people. */
void tp_overfit_print(const struct tp_overfit_result *r, FILE *f);
/* The result as an "overfit" record (begun and filled; the caller
 * finishes it). */
void tp_overfit_record(const struct tp_overfit_result *r, struct tp_rb *b);
/* "overfit", "stuck", "diverged", "slow". */
const char *tp_overfit_verdict_name(enum tp_overfit_verdict v);

#endif
