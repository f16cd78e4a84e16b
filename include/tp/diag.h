/*
 * diag.h: the tuning playbook's questions, answered from a study's data.
 * Each check appends findings (a problem, with its evidence: numbers and
 * steps, and what the playbook suggests) or notes (information that asks
 * for no action) to a list.  The thresholds are stated in the messages and
 * in tp-track(1), so a reader can judge a finding instead of trusting it.
 */
#ifndef TP_DIAG_H
#define TP_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"
#include "tp/store.h"

struct tp_finding {
	char *check; /* "boundary", "budget", "overfit", ... */
	char *study;
	int64_t trial; /* -1 for the whole study */
	int note;      /* 1: information only */
	char *text;
};

struct tp_findings {
	struct tp_finding *v;
	size_t n, cap;
};

/* The list owns its findings' strings; release frees them all. */
void tp_findings_init(struct tp_findings *f);
void tp_findings_release(struct tp_findings *f);
void tp_finding_add(struct tp_findings *f, int note, const char *check,
                    const char *study, int64_t trial, const char *fmt, ...)
	TP_PRINTF(6, 7);
/* Findings that are not notes. */
size_t tp_findings_count(const struct tp_findings *f);

/* Index of the best trial by objective (ties: the lower id), -1 if none. */
long tp_diag_best(const struct tp_trial *t, size_t n,
                  const struct tp_objective *o);

/* Search-space bounds: struct tp_bound and tp_store_space_bounds in store.h. */

/*
 * Is the best trial within `near` (a fraction of the range, 0.1 by
 * default; in log10 units for log-scale parameters) of a bound of a numeric
 * nuisance parameter?  Bounds come from b[] when listed there, else from the
 * observed range of the trials (the message says which); an observed range
 * of fewer than three distinct values is not judged.
 */
void tp_diag_boundary(struct tp_findings *f, const struct tp_trial *t,
                      size_t n, const struct tp_objective *o,
                      const struct tp_bound *b, size_t nb, double near);

/* Enough trials for the nuisance parameters?  Rule: at least per_param
 * completed trials per nuisance parameter, for each combination of the
 * scientific parameters. */
void tp_diag_budget(struct tp_findings *f, const struct tp_trial *t, size_t n,
                    const struct tp_objective *o, int per_param);

/* Trials with identical parameters but different seeds: the spread of
 * their objective (a note), and a finding when it is at least the gap
 * between the best configuration and the runner-up. */
void tp_diag_seeds(struct tp_findings *f, const struct tp_trial *t, size_t n,
                   const struct tp_objective *o);

/* The curves of one trial (normally the best): overfitting, late noise,
 * still improving at the end, saturated early. */
void tp_diag_curve(struct tp_findings *f, const struct tp_trial *t,
                   const struct tp_series *se, const struct tp_objective *o);

/* Divergence and loss spikes of one trial, early (first 10% of the steps,
 * or during warmup) or in mid training.  planned is the planned number of
 * steps (0: unknown, the last step seen is used). */
void tp_diag_stability(struct tp_findings *f, const struct tp_trial *t,
                       const struct tp_series *se, int64_t planned);

/* Periodicity of the validation curve (and of the training loss) at the
 * epoch length, in steps. */
void tp_diag_periodic(struct tp_findings *f, const struct tp_trial *t,
                      const struct tp_series *se, const struct tp_objective *o,
                      int64_t epoch_steps);

/*
 * Examples of each of others[] whose features are byte-identical (SHA-256
 * of the float32 vector) to an example of train.  Datasets as in
 * doc/tp-dataset.5, read with the dataset module's validating reader.
 * 0, or -1 on a read error (printed).
 */
int tp_diag_leak(struct tp_findings *f, const char *train,
                 const char *const *others, size_t nothers) TP_WUR;

/* Read the "count" of a dataset's header; 0 or -1 (printed). */
int tp_diag_dataset_count(const char *path, int64_t *count) TP_WUR;

/* ---- all of the above over one study of a store ---- */

struct tp_diag_opts {
	struct tp_objective obj;
	const struct tp_bound *bounds;
	size_t nbounds;
	double near;         /* boundary fraction, 0.1 */
	int per_param;       /* budget rule, 10 */
	int64_t epoch_steps; /* 0: training set count / batch_size from the
	                      * best trial's config, when readable */
};

/* Run every check on the study; 0, or -1 when a trial's objects cannot be
 * read (printed). */
int tp_diag_study(struct tp_findings *f, const struct tp_store *s,
                  const char *study, const struct tp_diag_opts *o) TP_WUR;

#endif
