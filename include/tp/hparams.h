/*
 * hparams.h: every hyperparameter of tp-train, in one table.
 *
 * The table gives each name its type, default, range and allowed values, so
 * flags (--lr 1e-3), trial records ({"params":{"lr":0.001}}) and the
 * resolved-configuration record all go through one parser and one check.
 * Names use underscores; on the command line a dash works too
 * (--batch-size = --batch_size).  Unknown names, bad values and
 * inconsistent combinations are refused with one line, before any work.
 */
#ifndef TP_HPARAMS_H
#define TP_HPARAMS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tp/err.h"

struct option;
struct tp_val;
struct tp_rb;

struct tp_hparams {
	/* model */
	int64_t depth;        /* hidden layers */
	int64_t width;        /* units per hidden layer */
	char activation[16];  /* relu gelu tanh */
	char norm[16];        /* none layer batch */
	int64_t residual;     /* 0/1: x + Norm(f(x)) blocks */
	int64_t rezero;       /* 0/1: residual branches start at zero */
	double dropout;
	char init[16];        /* he glorot lecun */
	int64_t ghost_batch;  /* BatchNorm virtual batch */
	double label_smoothing;
	/* optimizer */
	char optimizer[16];   /* sgd momentum nesterov adam adamw */
	double lr, momentum, beta1, beta2, epsilon, weight_decay, clip_norm;
	/* schedule and length */
	char schedule[16];    /* constant linear cosine */
	int64_t warmup_steps;
	double final_fraction;
	int64_t steps;        /* max_train_steps */
	int64_t batch_size;
	/* evaluation and logging */
	int64_t eval_every;
	int64_t eval_batch_size; /* 0: max(1024, batch_size) */
	int64_t train_eval_size; /* examples of the fixed training subset, 0 none */
	int64_t log_every;
	/* checkpoints */
	int64_t checkpoints;      /* spread over steps (virtual epochs) */
	int64_t checkpoint_every; /* alternative to checkpoints */
	int64_t keep_best, keep_latest;
	char keep_metric[32];
	char keep_mode[8];        /* min max */
	/* seeds */
	int64_t seed;      /* initialization and dropout */
	int64_t data_seed; /* data order; -1: derived from seed */
};

/* Set every field to its documented default. */
void tp_hp_defaults(struct tp_hparams *hp);

/* Set one by name from text (a flag); origin names the source in messages
 * ("--lr", "trial.msgpack: trial 3").  0, or -1 after printing. */
int tp_hp_set(struct tp_hparams *hp, const char *name, const char *text,
              const char *origin) TP_WUR;
/* Set one by name from a decoded record value. */
int tp_hp_set_val(struct tp_hparams *hp, const char *name,
                  const struct tp_val *v, const char *origin) TP_WUR;
/* Set every entry of a "params" map; unknown names are refused. */
int tp_hp_set_map(struct tp_hparams *hp, const struct tp_val *params,
                  const char *origin) TP_WUR;
/* Whether name (dash or underscore form) is a hyperparameter. */
int tp_hp_known(const char *name);

/* Cross-field consistency (ghost batch vs batch, warmup vs steps, ...). */
int tp_hp_check(const struct tp_hparams *hp) TP_WUR;

/* Write every hyperparameter as a map under key (resolved configuration). */
void tp_hp_write(const struct tp_hparams *hp, struct tp_rb *b, const char *key);

/* The table, for --help and getopt: name i (NULL past the end), its
 * one-line description and default as text. */
const char *tp_hp_name(int i);
const char *tp_hp_help(int i);
void tp_hp_default_text(int i, char *buf, int size);

/*
 * A getopt_long table for a tool that takes hyperparameters as flags:
 * fixed[0..nfixed), then every hyperparameter as --dash-name and
 * --underscore_name, both with val = base + its row, then a zero entry.
 * Free with tp_hp_options_free(opts, base).
 */
struct option *tp_hp_options(const struct option *fixed, size_t nfixed,
                             int base);
void tp_hp_options_free(struct option *opts, int base);
/* Hyperparameters given as flags, kept in order and applied after a trial
 * record so that flags win: one (name, value) per flag, borrowed strings. */
struct tp_hp_flag {
	const char *name, *value;
};
/* getopt_long returned c from a tp_hp_options table made with base: when
 * it names a hyperparameter, append (name, arg) to flags[*n] and return 1;
 * else 0 (not one of them: the tool's own option or an error). */
int tp_hp_take_flag(int c, int base, const char *arg, struct tp_hp_flag *flags,
                    int *n);
/* Apply flags[0..n) with tp_hp_set, origin "--name".  0 or -1 (printed). */
int tp_hp_apply_flags(struct tp_hparams *hp, const struct tp_hp_flag *flags,
                      int n) TP_WUR;

/* The hyperparameter lines of --help: "--name  help [default]". */
void tp_hp_usage(FILE *f);

#endif
