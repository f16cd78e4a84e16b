/*
 * hparams.c: the hyperparameter table.  One row per name: where it lives in
 * struct tp_hparams, its type, range or choices, default and help.  Every
 * source of values (flags, trial records, resolved configs read back on
 * resume) goes through hp_assign, so a value is checked the same way
 * whatever its origin.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/cli.h"
#include "tp/hparams.h"
#include "tp/record.h"

enum hp_type { HP_INT, HP_FLOAT, HP_CHOICE };

struct hp_row {
	const char *name;
	enum hp_type type;
	size_t off;
	double lo, hi;       /* HP_INT, HP_FLOAT */
	const char *choices; /* HP_CHOICE: space-separated */
	double defnum;
	const char *defstr;
	const char *help;
};

#define F(field) offsetof(struct tp_hparams, field)
#define I(n, f, lo, hi, d, h) {n, HP_INT, F(f), lo, hi, NULL, d, NULL, h}
#define R(n, f, lo, hi, d, h) {n, HP_FLOAT, F(f), lo, hi, NULL, d, NULL, h}
#define C(n, f, ch, d, h) {n, HP_CHOICE, F(f), 0, 0, ch, 0, d, h}

static const struct hp_row rows[] = {
	I("depth", depth, 0, 64, 2, "hidden layers"),
	I("width", width, 1, 65536, 256, "units per hidden layer"),
	C("activation", activation, "relu gelu tanh", "relu", "hidden activation"),
	C("norm", norm, "none layer batch", "none", "normalization in hidden layers"),
	I("residual", residual, 0, 1, 0, "residual blocks x + Norm(f(x))"),
	I("rezero", rezero, 0, 1, 0, "residual branches initialized to zero"),
	R("dropout", dropout, 0, 0.99, 0, "dropout probability after hidden layers"),
	C("init", init, "he glorot lecun", "he", "weight initialization"),
	I("ghost_batch", ghost_batch, 3, 1 << 24, 64, "BatchNorm virtual batch size"),
	R("label_smoothing", label_smoothing, 0, 0.99, 0, "cross-entropy label smoothing"),
	C("optimizer", optimizer, "sgd momentum nesterov adam adamw", "adam", "optimizer"),
	R("lr", lr, 0, 1e6, 1e-3, "base learning rate"),
	R("momentum", momentum, 0, 0.999999, 0.9, "momentum (momentum, nesterov)"),
	R("beta1", beta1, 0, 0.999999, 0.9, "Adam beta1"),
	R("beta2", beta2, 0, 0.99999999, 0.999, "Adam beta2"),
	R("epsilon", epsilon, 0, 1, 1e-8, "Adam epsilon"),
	R("weight_decay", weight_decay, 0, 1e3, 0, "L2 (decoupled for adamw) weight decay"),
	R("clip_norm", clip_norm, 0, 1e12, 0, "clip gradients to this global norm, 0 off"),
	C("schedule", schedule, "constant linear cosine", "cosine", "learning-rate schedule"),
	I("warmup_steps", warmup_steps, 0, INT64_MAX / 2, 0, "linear warmup steps"),
	R("final_fraction", final_fraction, 0, 1, 0, "final lr as a fraction of lr (linear, cosine)"),
	I("steps", steps, 1, INT64_MAX / 2, 1000, "max_train_steps: training steps"),
	I("batch_size", batch_size, 1, 1 << 24, 128, "training batch size"),
	I("eval_every", eval_every, 0, INT64_MAX / 2, 100, "evaluate every N steps, 0 only at the end"),
	I("eval_batch_size", eval_batch_size, 0, 1 << 24, 0, "evaluation batch size, 0 max(1024, batch_size)"),
	I("train_eval_size", train_eval_size, 0, INT64_MAX / 2, 0, "also evaluate on this many training examples"),
	I("log_every", log_every, 1, INT64_MAX / 2, 10, "train record every N steps"),
	I("checkpoints", checkpoints, 0, 1 << 20, 0, "checkpoints spread evenly over steps"),
	I("checkpoint_every", checkpoint_every, 0, INT64_MAX / 2, 0, "checkpoint every N steps"),
	I("keep_best", keep_best, 0, 1 << 20, 3, "checkpoints kept by keep_metric"),
	I("keep_latest", keep_latest, 1, 1 << 20, 1, "latest checkpoints kept"),
	C("keep_metric", keep_metric, "error loss accuracy mse mae", "error", "metric of keep_best (valid split)"),
	C("keep_mode", keep_mode, "min max auto", "auto", "better is min or max; auto by metric"),
	I("seed", seed, 0, INT64_MAX, 1, "initialization and dropout seed"),
	I("data_seed", data_seed, -1, INT64_MAX, -1, "data-order seed, -1 derived from seed"),
};

#define NROWS (int)(sizeof rows / sizeof rows[0])

static const struct hp_row *
find(const char *name)
{
	char norm[64];
	size_t n = strlen(name);

	if (n >= sizeof norm)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		norm[i] = name[i] == '-' ? '_' : name[i];
	for (int i = 0; i < NROWS; i++)
		if (strcmp(rows[i].name, norm) == 0)
			return &rows[i];
	return NULL;
}

int
tp_hp_known(const char *name)
{
	return find(name) != NULL;
}

static int
choice_ok(const char *choices, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = choices; *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && strncmp(p, s, n) == 0)
			return 1;
		p += l + (e != NULL);
	}
	return 0;
}

static int
assign_num(struct tp_hparams *hp, const struct hp_row *r, double v,
           const char *origin)
{
	char *base = (char *)hp;

	if (r->type == HP_INT) {
		if (!(v >= r->lo && v <= r->hi) || v != floor(v)) {
			tp_errorf("%s: %s must be an integer in [%.0f, %.0f], not %.17g",
			          origin, r->name, r->lo, r->hi, v);
			return -1;
		}
		*(int64_t *)(base + r->off) = (int64_t)v;
		return 0;
	}
	if (!isfinite(v) || v < r->lo || v > r->hi) {
		tp_errorf("%s: %s must be in [%g, %g], not %.17g", origin, r->name,
		          r->lo, r->hi, v);
		return -1;
	}
	*(double *)(base + r->off) = v;
	return 0;
}

static int
assign_str(struct tp_hparams *hp, const struct hp_row *r, const char *s,
           const char *origin)
{
	if (!choice_ok(r->choices, s)) {
		tp_errorf("%s: %s must be one of: %s (not '%s')", origin, r->name,
		          r->choices, s);
		return -1;
	}
	/* Choices are shorter than the field by construction (16+ bytes). */
	snprintf((char *)hp + r->off, 16, "%s", s);
	return 0;
}

int
tp_hp_set(struct tp_hparams *hp, const char *name, const char *text,
          const char *origin)
{
	const struct hp_row *r = find(name);
	double v;
	char *end;

	if (!r) {
		tp_errorf("%s: unknown hyperparameter '%s'", origin, name);
		return -1;
	}
	if (r->type == HP_CHOICE)
		return assign_str(hp, r, text, origin);
	v = strtod(text, &end);
	if (!*text || *end) {
		tp_errorf("%s: %s: '%s' is not a number", origin, r->name, text);
		return -1;
	}
	return assign_num(hp, r, v, origin);
}

int
tp_hp_set_val(struct tp_hparams *hp, const char *name, const struct tp_val *v,
              const char *origin)
{
	const struct hp_row *r = find(name);
	double d;
	int b;

	if (!r) {
		tp_errorf("%s: unknown hyperparameter '%s'", origin, name);
		return -1;
	}
	if (r->type == HP_CHOICE) {
		char *s = tp_val_strdup(v);
		int rc;
		if (!s) {
			tp_errorf("%s: %s must be a string, not %s", origin, r->name,
			          tp_vtype_name(tp_val_type(v)));
			return -1;
		}
		rc = assign_str(hp, r, s, origin);
		free(s);
		return rc;
	}
	if (tp_val_bool(v, &b) == 0)
		d = b;
	else if (tp_val_f64(v, &d) != 0) {
		tp_errorf("%s: %s must be a number, not %s", origin, r->name,
		          tp_vtype_name(tp_val_type(v)));
		return -1;
	}
	return assign_num(hp, r, d, origin);
}

int
tp_hp_set_map(struct tp_hparams *hp, const struct tp_val *params,
              const char *origin)
{
	if (tp_val_type(params) != TP_V_MAP) {
		tp_errorf("%s: \"params\" must be a map", origin);
		return -1;
	}
	for (size_t i = 0; i < tp_val_len(params); i++) {
		char *k = tp_val_strdup(tp_map_key(params, i));
		int rc = tp_hp_set_val(hp, k, tp_map_val(params, i), origin);
		free(k);
		if (rc)
			return -1;
	}
	return 0;
}

void
tp_hp_defaults(struct tp_hparams *hp)
{
	memset(hp, 0, sizeof *hp);
	for (int i = 0; i < NROWS; i++) {
		const struct hp_row *r = &rows[i];
		char *p = (char *)hp + r->off;
		if (r->type == HP_INT)
			*(int64_t *)p = (int64_t)r->defnum;
		else if (r->type == HP_FLOAT)
			*(double *)p = r->defnum;
		else
			snprintf(p, 16, "%s", r->defstr);
	}
}

int
tp_hp_check(const struct tp_hparams *hp)
{
	if (strcmp(hp->norm, "batch") == 0 && hp->ghost_batch > hp->batch_size) {
		tp_errorf("ghost_batch %" PRId64 " is larger than batch_size %" PRId64,
		          hp->ghost_batch, hp->batch_size);
		return -1;
	}
	if (hp->warmup_steps > hp->steps) {
		tp_errorf("warmup_steps %" PRId64 " exceeds steps %" PRId64,
		          hp->warmup_steps, hp->steps);
		return -1;
	}
	if (hp->rezero && !hp->residual) {
		tp_errorf("rezero needs residual=1");
		return -1;
	}
	if (hp->residual && hp->depth < 2) {
		/* The first hidden layer changes the width: no residual there. */
		tp_errorf("residual blocks need depth >= 2");
		return -1;
	}
	if (hp->checkpoints && hp->checkpoint_every) {
		tp_errorf("give checkpoints or checkpoint_every, not both");
		return -1;
	}
	if (hp->checkpoints > hp->steps) {
		tp_errorf("checkpoints %" PRId64 " exceeds steps %" PRId64,
		          hp->checkpoints, hp->steps);
		return -1;
	}
	if (hp->eval_batch_size && hp->eval_batch_size < hp->batch_size) {
		/* The playbook: evaluation batches at least the training batch. */
		tp_errorf("eval_batch_size %" PRId64 " is smaller than batch_size %" PRId64,
		          hp->eval_batch_size, hp->batch_size);
		return -1;
	}
	return 0;
}

void
tp_hp_write(const struct tp_hparams *hp, struct tp_rb *b, const char *key)
{
	tp_rb_map_begin(b, key);
	for (int i = 0; i < NROWS; i++) {
		const struct hp_row *r = &rows[i];
		const char *p = (const char *)hp + r->off;
		if (r->type == HP_INT)
			tp_rb_i64(b, r->name, *(const int64_t *)p);
		else if (r->type == HP_FLOAT)
			tp_rb_f64(b, r->name, *(const double *)p);
		else
			tp_rb_str(b, r->name, p);
	}
	tp_rb_map_end(b);
}

const char *
tp_hp_name(int i)
{
	return i >= 0 && i < NROWS ? rows[i].name : NULL;
}

const char *
tp_hp_help(int i)
{
	return i >= 0 && i < NROWS ? rows[i].help : NULL;
}

void
tp_hp_default_text(int i, char *buf, int size)
{
	const struct hp_row *r;

	if (i < 0 || i >= NROWS || size <= 0)
		return;
	r = &rows[i];
	if (r->type == HP_INT)
		snprintf(buf, (size_t)size, "%.0f", r->defnum);
	else if (r->type == HP_FLOAT)
		snprintf(buf, (size_t)size, "%g", r->defnum);
	else
		snprintf(buf, (size_t)size, "%s (%s)", r->defstr, r->choices);
}

int
tp_hp_take_flag(int c, int base, const char *arg, struct tp_hp_flag *flags,
                int *n)
{
	if (c < base || !tp_hp_name(c - base))
		return 0;
	flags[*n].name = tp_hp_name(c - base);
	flags[*n].value = arg;
	(*n)++;
	return 1;
}

int
tp_hp_apply_flags(struct tp_hparams *hp, const struct tp_hp_flag *flags, int n)
{
	for (int i = 0; i < n; i++) {
		char origin[64];
		snprintf(origin, sizeof origin, "--%s", flags[i].name);
		if (tp_hp_set(hp, flags[i].name, flags[i].value, origin) != 0)
			return -1;
	}
	return 0;
}

struct option *
tp_hp_options(const struct option *fixed, size_t nfixed, int base)
{
	struct option *o = tp_xcalloc(nfixed + 2 * (size_t)NROWS + 1, sizeof *o);

	memcpy(o, fixed, nfixed * sizeof *o);
	for (int i = 0; i < NROWS; i++) {
		char *dash = tp_xstrdup(rows[i].name);
		for (char *q = dash; *q; q++)
			if (*q == '_')
				*q = '-';
		o[nfixed + 2 * (size_t)i] = (struct option){dash, required_argument, NULL, base + i};
		o[nfixed + 2 * (size_t)i + 1] =
		    (struct option){rows[i].name, required_argument, NULL, base + i};
	}
	return o;
}

void
tp_hp_options_free(struct option *opts, int base)
{
	if (!opts)
		return;
	for (struct option *o = opts; o->name; o++)
		if (o->val >= base && o->val < base + NROWS && o->name != rows[o->val - base].name)
			free((char *)o->name);
	free(opts);
}

void
tp_hp_usage(FILE *f)
{
	for (int i = 0; i < NROWS; i++) {
		char opt[40], def[96];
		size_t j;
		for (j = 0; rows[i].name[j] && j < sizeof opt - 1; j++)
			opt[j] = rows[i].name[j] == '_' ? '-' : rows[i].name[j];
		opt[j] = '\0';
		tp_hp_default_text(i, def, sizeof def);
		fprintf(f, "      --%-18s %s [%s]\n", opt, rows[i].help, def);
	}
}
