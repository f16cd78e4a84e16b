/*
 * evalrun.h: tp-eval, offline and periodic evaluation of checkpoints.
 *
 * One dataset, many checkpoints (full-state checkpoints, model artifacts, or
 * run directories standing for their checkpoints).  Each checkpoint gives an
 * "eval" record like tp-train's (doc/tp-records.5) plus the checkpoint path,
 * its step and the dataset, so tp-ckpt-select and tp-track read them as they
 * read a training stream.  Metrics come from tp_evaluate: exact per-example
 * averages whatever the batch size.
 *
 * Sampled evaluation (playbook: "Choosing a sample for periodic
 * evaluation"): a seeded random sample of the dataset, or a sample file, is
 * evaluated next to the full set and a "skew" record says whether the
 * sample's metrics agree with the full set's within two standard errors.
 *
 * The ledger makes tp-eval safe to run from cron: it is an append-only
 * record stream of "claim", "done" and "release" records keyed by
 * (checkpoint path, checkpoint SHA-256, dataset SHA-256).  Claims and
 * results are appended under flock(2) on LEDGER.lock, held only while
 * reading and appending, never while evaluating; a claim whose process is
 * gone (same host, pid not alive) or older than the claim timeout is stale
 * and may be taken again.  So overlapping invocations never evaluate a
 * checkpoint twice, and a crashed one leaves work for the next.
 */
#ifndef TP_EVALRUN_H
#define TP_EVALRUN_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

struct tp_evalrun_opts {
	const char *data;        /* the dataset (required) */
	const char *split;       /* "split" of the records (default "test") */
	const char *output;      /* record stream; "-" or NULL: stdout */
	size_t batch;            /* examples per evaluation batch (4096) */
	int topk;                /* > 1: also top-k accuracy */
	int confusion;           /* also the confusion matrix */
	const char *predictions; /* per-example prediction stream, or NULL */
	int64_t sample;          /* > 0: a seeded sample of this many examples */
	uint64_t sample_seed;
	int stratify;            /* the sample keeps the class proportions */
	const char *sample_path; /* or an existing sample dataset, or NULL */
	const char *ledger;      /* NULL: evaluate every checkpoint given */
	double claim_timeout;    /* seconds after which any claim is stale (3600) */
	int threads;             /* OpenBLAS threads, <= 0: its default */
	int verbose;             /* a note per skipped checkpoint */
	int progress;            /* progress line on stderr */
};

/* Defaults as documented above. */
void tp_evalrun_opts_init(struct tp_evalrun_opts *o);

/*
 * The checkpoint files that operands stand for, in order: a file is
 * itself; a directory (a tp-train run) stands for DIR/ckpt/step-*.tpc in
 * step order, or DIR/model.tpm when it has no checkpoint (so the final
 * model is not evaluated twice); hidden files (a write in progress) are
 * never taken.  *paths (malloc'd strings in a malloc'd array, freed by
 * tp_evalrun_paths_free) may be empty.  0, or -1 after printing when an
 * operand does not exist or cannot be listed.
 */
int tp_evalrun_expand(const char *const *ops, size_t nops, char ***paths,
                      size_t *npaths) TP_WUR;
void tp_evalrun_paths_free(char **paths, size_t n);

/*
 * Evaluate the checkpoints that ops stand for on o->data, writing eval (and
 * skew, prediction) records.  Returns TP_EXIT_OK when something was
 * evaluated and nothing failed, TP_EXIT_NOTHING when the ledger says every
 * checkpoint was already evaluated (or is being evaluated, or was skipped as
 * not yet complete), TP_EXIT_USAGE for inconsistent options, and
 * TP_EXIT_RUNTIME when a checkpoint or the data could not be read or do not
 * fit (after evaluating the others).
 */
int tp_evalrun(const struct tp_evalrun_opts *o, const char *const *ops,
               size_t nops) TP_WUR;

/*
 * Standard error of the mean of a simple random sample of n examples from
 * a population whose per-example values are x[N] with weights w[N] (NULL:
 * all 1): sigma / sqrt(n), sigma^2 the population's (weighted) variance;
 * for 0/1 values (accuracy) this is sqrt(p(1-p)/n).  With fpc, times the
 * finite population correction sqrt((N - n) / (N - 1)) of sampling
 * without replacement (0 when n >= N).  NaN when N or n is 0.
 */
double tp_sample_se(const double *x, const float *w, size_t N, size_t n,
                    int fpc);

/* Indices of a seeded simple random sample of n of N (n <= N), ascending,
 * into idx[n]: the same seed gives the same sample on every machine. */
void tp_sample_indices(uint64_t seed, size_t N, size_t n, uint32_t *idx);

/*
 * A seeded stratified sample: n_k of the N_k examples of each class k
 * (y[N] in [0, K)), n_k proportional to N_k with the remainder going to
 * the largest fractional parts (ties to the lower class), so the n_k sum
 * to n; within a class a simple random sample.  idx[n] ascending; counts,
 * when not NULL, receives n_k [K].
 */
void tp_sample_indices_stratified(uint64_t seed, const int32_t *y, size_t N,
                                  int K, size_t n, uint32_t *idx,
                                  size_t *counts);

/*
 * Standard error of the plain mean of such a stratified sample:
 * sqrt(sum_k (n_k/n)^2 sigma_k^2 / n_k (N_k - n_k)/(N_k - 1)), sigma_k^2
 * the population variance of x within class k (weights are not used).
 */
double tp_stratified_se(const double *x, const int32_t *y, size_t N, int K,
                        const size_t *counts, size_t n);

#endif
