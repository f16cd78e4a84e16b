/*
 * artifact.h: models from their configuration and from checkpoints.
 *
 * tp-train, tp-eval and tp-overfit-batch build the same network from the
 * same hyperparameters; a checkpoint (full state or model artifact, see
 * tp-checkpoint(5)) carries the resolved configuration, the parameter
 * layout and the values, so any tool can rebuild its model exactly.
 */
#ifndef TP_ARTIFACT_H
#define TP_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"
#include "tp/hparams.h"

struct tp_model;
struct tp_model_config;
struct tp_ckpt;

/* Copy the parameters and batch-norm statistics of checkpoint c into m,
 * after checking that the layouts match view by view.  0 or -1 (printed). */
int tp_artifact_restore(struct tp_model *m, const struct tp_ckpt *c) TP_WUR;

/* Copy member (n float32 values, little-endian) of c into dst; the size
 * must match exactly.  0 or -1 (printed). */
int tp_artifact_floats(const struct tp_ckpt *c, const char *member, float *dst,
                       size_t n) TP_WUR;

/*
 * Open, verify and rebuild the model of a checkpoint (full or model
 * artifact) for evaluation batches of up to max_batch.  *hp receives the
 * run's hyperparameters, *features and *classes its data shape, *step the
 * checkpoint's step.  NULL after printing why.
 */
struct tp_model *tp_artifact_load(const char *path, int max_batch,
                                  struct tp_hparams *hp, int64_t *features,
                                  int64_t *classes, int64_t *step) TP_WUR;

#endif
