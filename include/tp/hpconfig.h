/*
 * hpconfig.h: the optimizer and learning-rate schedule a set of
 * hyperparameters stands for.  tp-train and tp-overfit-batch build them the
 * same way from the same table (tp/hparams.h), so a configuration that
 * passes tp-overfit-batch is the one tp-train runs, and tp-eval rebuilds
 * the model a checkpoint's configuration describes.
 */
#ifndef TP_HPCONFIG_H
#define TP_HPCONFIG_H

#include <stdint.h>

#include "tp/err.h"
#include "tp/hparams.h"

struct tp_model_config;
struct tp_optim_config;
struct tp_schedule;

/* The optimizer of hp: kind, momentum, betas, epsilon, weight decay.
 * 0, or -1 after printing what is wrong. */
int tp_hp_optim_config(const struct tp_hparams *hp,
                       struct tp_optim_config *c) TP_WUR;

/* The schedule of hp over max_steps updates (tp-train: hp->steps):
 * kind, base lr (must be > 0), warmup, final fraction.  0, or -1 after
 * printing what is wrong. */
int tp_hp_schedule_config(const struct tp_hparams *hp, uint64_t max_steps,
                          struct tp_schedule *s) TP_WUR;

/*
 * The model configuration of hp for data with `features` inputs and
 * `classes` classes (0: regression, one output and mean squared error).
 * 0, or -1 after printing what is inconsistent.
 */
int tp_hp_model_config(const struct tp_hparams *hp, int64_t features,
                       int64_t classes, struct tp_model_config *c) TP_WUR;

#endif
