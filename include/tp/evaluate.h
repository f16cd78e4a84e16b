/*
 * evaluate.h: exact evaluation of a model on a dataset, shared by tp-train's
 * periodic evaluation and tp-eval.
 *
 * Batches come from the loader in eval mode: file order, the last batch
 * padded with rows of weight 0 (playbook: "ensure that the padded examples
 * are correctly weighed ... a weight of zero").  Sums are accumulated per
 * example, in example order, in double, so every metric is the exact
 * per-example (weighted) average and does not depend on the batch size.
 */
#ifndef TP_EVALUATE_H
#define TP_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

struct tp_model;
struct tp_dataset;
struct tp_rb;

struct tp_metrics {
	int classes;      /* K; 0 for regression */
	int outputs;      /* model outputs */
	int64_t count;    /* examples of weight > 0 */
	double weight;    /* sum of weights */
	double loss_sum;  /* sum w_i l_i */
	double correct;   /* sum w_i [argmax z_i = y_i] */
	int topk;         /* 0: off; else top-k accuracy too */
	double topk_correct;
	int64_t *class_count;   /* [K] examples per true class */
	int64_t *class_correct; /* [K] of those predicted right */
	int64_t *confusion;     /* [K*K] row = true class, or NULL */
	double se_sum, ae_sum;  /* regression: sum w_i mean_k (z-t)^2, |z-t| */
};

/* Zeroed sums for a model with `outputs` outputs on data with `classes`
 * classes; confusion and topk on request.  Release frees the arrays. */
void tp_metrics_init(struct tp_metrics *m, int classes, int outputs,
                     int confusion, int topk);
void tp_metrics_release(struct tp_metrics *m);

/*
 * Evaluate m on ds with batches of `batch` examples, adding to *out
 * (initialized by the caller).  When pred_out is not NULL it receives, per
 * example in order, the model's outputs [n, outputs] (logits or
 * predictions).  0 or -1 (printed).
 */
int tp_evaluate(struct tp_model *m, const struct tp_dataset *ds, size_t batch,
                struct tp_metrics *out, float *pred_out) TP_WUR;

/* tp_evaluate, and when loss_out is not NULL it also receives the
 * per-example unweighted losses [n] in example order (for standard errors
 * and prediction records). */
int tp_evaluate_rows(struct tp_model *m, const struct tp_dataset *ds,
                     size_t batch, struct tp_metrics *out, float *pred_out,
                     float *loss_out) TP_WUR;

/*
 * tp_evaluate on shard `shard` of `shards` of ds only (every shards-th
 * example, or whole files when ds has at least `shards` of them, as the
 * loader cuts shards): a data-parallel evaluation where each rank adds its
 * shard and the sums are then added across ranks (tp_metrics_pack).
 * 0 or -1 (printed).
 */
int tp_evaluate_shard(struct tp_model *m, const struct tp_dataset *ds,
                      size_t batch, uint32_t shard, uint32_t shards,
                      struct tp_metrics *out) TP_WUR;

/* The sums of m as tp_metrics_nsums(m) doubles (counts included, exact
 * below 2^53), and back: to add metrics of several processes elementwise.
 * unpack overwrites every sum of m (initialized with the same classes,
 * outputs, confusion and topk as the packed one). */
size_t tp_metrics_nsums(const struct tp_metrics *m);
void tp_metrics_pack(const struct tp_metrics *m, double *sums);
void tp_metrics_unpack(struct tp_metrics *m, const double *sums);

/* The metrics as keys of the record under construction: loss, error,
 * accuracy (or mse, mae), count, class_count, class_correct, top_k
 * accuracy, confusion. */
void tp_metrics_write(const struct tp_metrics *m, struct tp_rb *b);

/* The value of a named metric ("loss", "error", "accuracy", "mse", "mae");
 * -1 when the name is not one of them. */
int tp_metrics_get(const struct tp_metrics *m, const char *name, double *out);

#endif
