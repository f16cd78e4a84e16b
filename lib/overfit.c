/*
 * overfit.c: train on one fixed batch until its loss is about zero, with a
 * check of the loss at initialization first and a diagnosis when the batch
 * cannot be overfit.  The model, optimizer and schedule are built from the
 * hyperparameters exactly as tp-train builds them, with the same seed
 * streams, so a pass here speaks for the configuration of a real run.
 *
 * Regularization (dropout, weight decay, label smoothing) is off unless
 * asked for: it fights the very memorization this check wants to see, and
 * label smoothing puts a floor under the loss.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/artifact.h"
#include "tp/dataset.h"
#include "tp/evalrun.h"
#include "tp/hpconfig.h"
#include "tp/linalg.h"
#include "tp/model.h"
#include "tp/optim.h"
#include "tp/overfit.h"
#include "tp/record.h"
#include "tp/rng.h"
#include "tp/schedule.h"

/* tp-train's seed streams (lib/train.c): the same seed gives the same
 * initialization and the same data order as a training run. */
enum { SEED_INIT = 1, SEED_DROPOUT = 2, SEED_DATA = 3, SEED_LABELS = 5 };

void
tp_overfit_opts_init(struct tp_overfit_opts *o)
{
	memset(o, 0, sizeof *o);
	tp_hp_defaults(&o->hp);
	o->max_steps = 1000;
	o->threshold = -1;
}

const char *
tp_overfit_verdict_name(enum tp_overfit_verdict v)
{
	switch (v) {
	case TP_OVERFIT_YES: return "overfit";
	case TP_OVERFIT_STUCK: return "stuck";
	case TP_OVERFIT_DIVERGED: return "diverged";
	case TP_OVERFIT_SLOW: return "slow";
	}
	return "?";
}

/* The batch: examples idx[0..n) of ds, copied. */
struct fixed_batch {
	float *x, *t, *w;
	int32_t *y;
	struct tp_batch b;
};

static void
batch_make(struct fixed_batch *fb, const struct tp_dataset *ds,
           const uint32_t *idx, size_t n, size_t k)
{
	size_t d = ds->d;

	memset(fb, 0, sizeof *fb);
	fb->x = tp_xmallocarray(n * d, sizeof *fb->x);
	fb->w = tp_xmallocarray(n, sizeof *fb->w);
	if (ds->y)
		fb->y = tp_xmallocarray(n, sizeof *fb->y);
	else
		fb->t = tp_xmallocarray(n * k, sizeof *fb->t);
	for (size_t i = 0; i < n; i++) {
		size_t j = idx[i];
		memcpy(fb->x + i * d, ds->x + j * d, d * sizeof *fb->x);
		fb->w[i] = ds->w[j];
		if (ds->y)
			fb->y[i] = ds->y[j];
		else
			memcpy(fb->t + i * k, ds->t + j * k, k * sizeof *fb->t);
	}
	fb->b = (struct tp_batch){.x = fb->x, .label = fb->y, .target = fb->t,
	                          .w = fb->w, .n = (int)n};
}

static void
batch_release(struct fixed_batch *fb)
{
	free(fb->x);
	free(fb->t);
	free(fb->w);
	free(fb->y);
}

/* Random labels for the control experiment: a permutation keeps the class
 * balance but breaks every link between inputs and labels. */
static void
shuffle_labels(struct fixed_batch *fb, size_t n, size_t k, uint64_t seed)
{
	uint32_t *perm = tp_xmallocarray(n, sizeof *perm);
	struct tp_rng r;

	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	tp_rng_seed(&r, seed);
	tp_rng_shuffle_u32(&r, perm, n);
	if (fb->y) {
		int32_t *y = tp_xmallocarray(n, sizeof *y);
		for (size_t i = 0; i < n; i++)
			y[i] = fb->y[perm[i]];
		free(fb->y);
		fb->y = y;
	} else {
		float *t = tp_xmallocarray(n * k, sizeof *t);
		for (size_t i = 0; i < n; i++)
			memcpy(t + i * k, fb->t + perm[i] * k, k * sizeof *t);
		free(fb->t);
		fb->t = t;
	}
	fb->b.label = fb->y;
	fb->b.target = fb->t;
	free(perm);
}

/*
 * The loss at initialization against what it should be.  Randomly
 * initialized outputs know nothing of the labels, so the expected loss is
 * the average over a uniformly random label: per example
 * logsumexp(z) - mean_k z_k, which is ln K when the logits are equal and
 * more when they are spread (He initialization spreads them a little).
 * The actual loss must agree within sampling noise (4 standard errors of
 * the label draw); and the expected value itself must stay near ln K, or
 * the outputs at initialization are too large.  Regression: the loss is
 * compared with the mean squared target (the loss of predicting 0).
 */
static void
check_init(struct tp_model *m, const struct fixed_batch *fb, size_t n,
           struct tp_overfit_result *r)
{
	int K = tp_model_get_config(m)->outputs;
	float *loss = tp_xmallocarray(n, sizeof *loss);
	float *z = tp_xmallocarray(n * (size_t)K, sizeof *z);
	double W = 0, L = 0, E = 0, V = 0, W2 = 0;

	r->init_ok = 1;
	if (tp_model_eval(m, &fb->b, loss, z) != 0) {
		r->init_ok = 0;
		snprintf(r->init_note, sizeof r->init_note, "the model could not be evaluated");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const float *zi = z + i * (size_t)K;
		double w = fb->w[i], e = 0, v = 0, mx = zi[0], lse = 0, mean = 0;
		if (w <= 0)
			continue;
		W += w;
		W2 += w * w;
		L += w * loss[i];
		if (r->classes > 0) {
			for (int k = 1; k < K; k++)
				mx = zi[k] > mx ? zi[k] : mx;
			for (int k = 0; k < K; k++) {
				lse += exp((double)zi[k] - mx);
				mean += zi[k];
			}
			lse = mx + log(lse);
			mean /= K;
			e = lse - mean;
			/* Variance of -log p_y over a uniform label y. */
			for (int k = 0; k < K; k++)
				v += ((lse - zi[k]) - e) * ((lse - zi[k]) - e);
			v /= K;
		} else {
			for (int k = 0; k < K; k++)
				e += (double)fb->t[i * (size_t)K + (size_t)k] *
				     fb->t[i * (size_t)K + (size_t)k];
			e /= K;
		}
		E += w * e;
		V += w * w * v;
	}
	r->init_loss = L / W;
	r->expected_loss = E / W;
	r->expected_se = sqrt(V) / W;
	if (!isfinite(r->init_loss)) {
		r->init_ok = 0;
		snprintf(r->init_note, sizeof r->init_note,
		         "the loss at initialization is not finite");
	} else if (r->classes > 0) {
		double tol = 4 * r->expected_se + 1e-3 * r->expected_loss;
		if (fabs(r->init_loss - r->expected_loss) > tol) {
			r->init_ok = 0;
			snprintf(r->init_note, sizeof r->init_note,
			         "the initial loss %.4g is %s the %.4g that outputs independent of the "
			         "labels give: are the labels or the loss wrong?",
			         r->init_loss, r->init_loss < r->expected_loss ? "below" : "above",
			         r->expected_loss);
		} else if (r->expected_loss > r->ln_k + 0.5 + 0.25 * r->ln_k) {
			r->init_ok = 0;
			snprintf(r->init_note, sizeof r->init_note,
			         "the initial loss %.4g is far above ln %lld = %.4g: the outputs at "
			         "initialization are large (initialization scale, or unscaled inputs?)",
			         r->init_loss, (long long)r->classes, r->ln_k);
		}
	} else if (r->init_loss > 4 * r->expected_loss + 1e-12) {
		r->init_ok = 0;
		snprintf(r->init_note, sizeof r->init_note,
		         "the initial loss %.4g is more than 4 times the mean squared target %.4g: "
		         "the outputs at initialization are large (initialization scale, or "
		         "unscaled inputs?)",
		         r->init_loss, r->expected_loss);
	}
out:
	free(loss);
	free(z);
}

/* Hidden ReLU units whose weights got no gradient: inactive on every
 * example of the batch. */
static void
count_dead(struct tp_model *m, struct tp_overfit_result *r)
{
	const struct tp_model_config *c = tp_model_get_config(m);
	const struct tp_model_view *v;
	size_t nv, ng;
	const float *g = tp_model_grads(m, &ng);

	r->dead_units = r->hidden_units = 0;
	if (c->act != TP_ACT_RELU)
		return;
	v = tp_model_param_views(m, &nv);
	for (size_t i = 0; i < nv; i++) {
		const char *dot = strchr(v[i].name, '.');
		if (strncmp(v[i].name, "layer", 5) != 0 || !dot || strcmp(dot, ".weight") != 0)
			continue;
		for (int row = 0; row < v[i].shape[0]; row++) {
			const float *gr = g + v[i].offset + (size_t)row * (size_t)v[i].shape[1];
			int zero = 1;
			for (int j = 0; j < v[i].shape[1] && zero; j++)
				zero = gr[j] == 0.0f;
			r->hidden_units++;
			r->dead_units += zero;
		}
	}
}

static double
default_threshold(const struct fixed_batch *fb, size_t n, size_t k, int64_t classes)
{
	double mean = 0, var = 0, cnt = (double)(n * k);

	if (classes > 0)
		return 0.01;
	for (size_t i = 0; i < n * k; i++)
		mean += fb->t[i];
	mean /= cnt;
	for (size_t i = 0; i < n * k; i++)
		var += (fb->t[i] - mean) * (fb->t[i] - mean);
	var /= cnt;
	return var > 0 ? 0.01 * var : 1e-6;
}

static void
diagnose(struct tp_overfit_result *r, double first_loss)
{
	char why[200] = "";
	int dead;

	if (r->verdict == TP_OVERFIT_YES) {
		snprintf(r->reason, sizeof r->reason,
		         "the loss fell below %.4g in %lld steps", r->threshold,
		         (long long)r->steps);
		return;
	}
	if (r->verdict == TP_OVERFIT_DIVERGED)
		return; /* set where it happened */
	/* Dead units explain a stuck or a slow loss alike: only the output
	 * bias can still learn, which moves the loss a little (to the label
	 * entropy of the batch) and no further. */
	dead = r->hidden_units && r->dead_units * 2 > r->hidden_units;
	if (dead)
		snprintf(why, sizeof why,
		         ": %lld of %lld ReLU units are inactive on the whole batch (dead units: "
		         "check the inputs and the initialization)",
		         (long long)r->dead_units, (long long)r->hidden_units);
	if (r->best_loss > first_loss * (1 - 0.01)) {
		if (!dead)
			snprintf(why, sizeof why, "%s",
			         r->lr == 0 ? ": the learning rate is 0"
			         : r->init_grad_norm == 0 ? ": the gradient is zero"
			         : ": the learning rate may be far too small");
		r->verdict = TP_OVERFIT_STUCK;
		snprintf(r->reason, sizeof r->reason,
		         "the loss did not move (%.4g at the start, best %.4g after %lld steps)%s",
		         first_loss, r->best_loss, (long long)r->steps, why);
		return;
	}
	if (!dead)
		snprintf(why, sizeof why, ": the model may be too small for the batch, or need "
		         "more steps or another learning rate");
	r->verdict = TP_OVERFIT_SLOW;
	snprintf(r->reason, sizeof r->reason,
	         "the loss fell from %.4g to %.4g (best %.4g) but not below %.4g in %lld steps%s",
	         first_loss, r->final_loss, r->best_loss, r->threshold, (long long)r->steps, why);
}

/* Everything after the set-up: the initial check and the training loop. */
static int
train_batch(const struct tp_overfit_opts *o, const struct tp_hparams *hp,
            struct tp_model *m, const struct fixed_batch *fb, size_t n,
            struct tp_overfit_result *r)
{
	struct tp_optim_config oc;
	struct tp_schedule sched;
	struct tp_optim *opt;
	struct tp_rng drop;
	const struct tp_model_view *v;
	size_t nv, np, ng;
	float *p = tp_model_params(m, &np), *g = tp_model_grads(m, &ng);
	double first_loss = NAN, loss;
	const char *bad = NULL;

	if (tp_hp_optim_config(hp, &oc) != 0)
		return TP_EXIT_USAGE;
	/* lr 0 is allowed here, unlike in tp-train: it is a broken set-up this
	 * check must recognize, not refuse. */
	if (hp->lr > 0 && tp_hp_schedule_config(hp, (uint64_t)o->max_steps, &sched) != 0)
		return TP_EXIT_USAGE;
	opt = tp_optim_new(&oc, np);
	if (!opt)
		return TP_EXIT_USAGE;
	v = tp_model_param_views(m, &nv);
	for (size_t i = 0; i < nv; i++)
		if (!v[i].decay && tp_optim_no_decay(opt, v[i].offset, v[i].count) != 0) {
			tp_optim_free(opt);
			return TP_EXIT_RUNTIME;
		}
	tp_rng_seed(&drop, tp_seed_derive((uint64_t)hp->seed, SEED_DROPOUT));
	check_init(m, fb, n, r);
	r->best_loss = INFINITY;
	r->verdict = TP_OVERFIT_SLOW;
	for (int64_t s = 0;; s++) {
		double gn, lr;
		if (tp_model_forward(m, &fb->b, &drop, &loss) != 0) {
			tp_optim_free(opt);
			return TP_EXIT_RUNTIME;
		}
		r->steps = s;
		r->final_loss = loss;
		if (s == 0)
			first_loss = loss;
		if (!isfinite(loss)) {
			r->verdict = TP_OVERFIT_DIVERGED;
			snprintf(r->reason, sizeof r->reason, "diverged at step %lld: the loss is %s",
			         (long long)s, isnan(loss) ? "NaN" : "infinite");
			break;
		}
		if (loss < r->best_loss)
			r->best_loss = loss;
		if (loss < r->threshold) {
			r->verdict = TP_OVERFIT_YES;
			break;
		}
		if (s == o->max_steps)
			break;
		tp_model_backward(m);
		gn = tp_optim_clip_grad_norm(g, ng, hp->clip_norm);
		if (s == 0) {
			r->init_grad_norm = gn;
			count_dead(m, r);
		}
		if (!isfinite(gn)) {
			r->verdict = TP_OVERFIT_DIVERGED;
			snprintf(r->reason, sizeof r->reason,
			         "diverged at step %lld: the gradient norm is not finite", (long long)s);
			break;
		}
		lr = hp->lr > 0 ? tp_schedule_lr(&sched, (uint64_t)s) : 0.0;
		tp_optim_step(opt, p, g, lr);
		if (!tp_model_finite(m, &bad)) {
			r->verdict = TP_OVERFIT_DIVERGED;
			snprintf(r->reason, sizeof r->reason, "diverged at step %lld: %s is not finite",
			         (long long)s + 1, bad ? bad : "a parameter");
			r->steps = s + 1;
			break;
		}
	}
	diagnose(r, first_loss);
	tp_optim_free(opt);
	return TP_EXIT_OK;
}

int
tp_overfit(const struct tp_overfit_opts *o, struct tp_overfit_result *r)
{
	struct tp_hparams hp = o->hp;
	struct tp_dataset ds;
	struct tp_model_config mc;
	struct tp_model *m = NULL;
	struct fixed_batch fb;
	uint32_t *idx = NULL;
	uint64_t dseed;
	size_t n, k;
	int status;

	memset(r, 0, sizeof *r);
	memset(&fb, 0, sizeof fb);
	tp_dataset_init(&ds);
	if (!o->keep_regularization) {
		hp.dropout = 0;
		hp.weight_decay = 0;
		hp.label_smoothing = 0;
	}
	if (o->examples > 0)
		hp.batch_size = o->examples;
	hp.steps = o->max_steps > 0 ? o->max_steps : 1;
	if (hp.warmup_steps > hp.steps)
		hp.warmup_steps = hp.steps;
	if (tp_hp_check(&hp) != 0)
		return TP_EXIT_USAGE;
	tp_blas_set_threads(o->threads);
	if (tp_dataset_load(&ds, o->paths, o->npaths) != 0)
		return TP_EXIT_RUNTIME;
	status = TP_EXIT_RUNTIME;
	if (ds.n == 0) {
		tp_errorf("%s: the training set is empty", o->paths[0]);
		goto out;
	}
	status = TP_EXIT_USAGE;
	if (tp_hp_model_config(&hp, (int64_t)ds.d, ds.h.classes, &mc) != 0)
		goto out;
	/* A batch larger than the data is the whole data. */
	n = (size_t)hp.batch_size < ds.n ? (size_t)hp.batch_size : ds.n;
	if (mc.norm == TP_NORM_BATCH && n < 2) {
		tp_errorf("batch norm needs a batch of at least 2 examples");
		goto out;
	}
	m = tp_model_new(&mc, (int)n);
	if (!m)
		goto out;
	tp_model_init(m, tp_seed_derive((uint64_t)hp.seed, SEED_INIT));
	k = (size_t)mc.outputs;
	r->examples = (int64_t)n;
	r->features = (int64_t)ds.d;
	r->classes = ds.h.classes;
	r->ln_k = ds.h.classes > 0 ? log((double)ds.h.classes) : 0;
	r->lr = hp.lr;
	dseed = hp.data_seed >= 0 ? (uint64_t)hp.data_seed
	                          : tp_seed_derive((uint64_t)hp.seed, SEED_DATA);
	idx = tp_xmallocarray(n, sizeof *idx);
	tp_sample_indices(dseed, ds.n, n, idx);
	batch_make(&fb, &ds, idx, n, k);
	if (o->shuffle_labels)
		shuffle_labels(&fb, n, k, tp_seed_derive(dseed, SEED_LABELS));
	r->threshold = o->threshold >= 0 ? o->threshold
	                                 : default_threshold(&fb, n, k, ds.h.classes);
	status = train_batch(o, &hp, m, &fb, n, r);
out:
	free(idx);
	batch_release(&fb);
	tp_model_free(m);
	tp_dataset_release(&ds);
	return status;
}

void
tp_overfit_print(const struct tp_overfit_result *r, FILE *f)
{
	if (r->classes > 0)
		fprintf(f, "batch: %lld examples, %lld features, %lld classes\n",
		        (long long)r->examples, (long long)r->features, (long long)r->classes);
	else
		fprintf(f, "batch: %lld examples, %lld features, regression\n",
		        (long long)r->examples, (long long)r->features);
	if (r->classes > 0)
		fprintf(f, "initial loss: %.4f, expected %.4f +- %.4f for outputs that know "
		        "nothing of the labels (ln %lld = %.4f): %s\n",
		        r->init_loss, r->expected_loss, r->expected_se, (long long)r->classes,
		        r->ln_k, r->init_ok ? "ok" : "FAR OFF");
	else
		fprintf(f, "initial loss: %.4g, mean squared target %.4g: %s\n", r->init_loss,
		        r->expected_loss, r->init_ok ? "ok" : "FAR OFF");
	if (!r->init_ok)
		fprintf(f, "  %s\n", r->init_note);
	fprintf(f, "initial gradient norm: %.4g", r->init_grad_norm);
	if (r->hidden_units)
		fprintf(f, "; ReLU units inactive on the batch: %lld of %lld",
		        (long long)r->dead_units, (long long)r->hidden_units);
	fputc('\n', f);
	fprintf(f, "steps: %lld, final loss %.4g, best %.4g, threshold %.4g\n",
	        (long long)r->steps, r->final_loss, r->best_loss, r->threshold);
	fprintf(f, "verdict: %s: %s\n",
	        r->verdict == TP_OVERFIT_YES ? "overfit" : "NOT overfit", r->reason);
}

void
tp_overfit_record(const struct tp_overfit_result *r, struct tp_rb *b)
{
	tp_rb_begin(b, "overfit");
	tp_rb_i64(b, "examples", r->examples);
	tp_rb_i64(b, "features", r->features);
	tp_rb_i64(b, "classes", r->classes);
	tp_rb_f64(b, "lr", r->lr);
	tp_rb_f64(b, "init_loss", r->init_loss);
	tp_rb_f64(b, "expected_init_loss", r->expected_loss);
	tp_rb_f64(b, "expected_init_se", r->expected_se);
	if (r->classes > 0)
		tp_rb_f64(b, "ln_k", r->ln_k);
	tp_rb_bool(b, "init_ok", r->init_ok);
	if (!r->init_ok)
		tp_rb_str(b, "init_note", r->init_note);
	tp_rb_f64(b, "init_grad_norm", r->init_grad_norm);
	tp_rb_i64(b, "dead_units", r->dead_units);
	tp_rb_i64(b, "hidden_units", r->hidden_units);
	tp_rb_f64(b, "threshold", r->threshold);
	tp_rb_i64(b, "steps", r->steps);
	tp_rb_f64(b, "final_loss", r->final_loss);
	tp_rb_f64(b, "best_loss", r->best_loss);
	tp_rb_bool(b, "overfit", r->verdict == TP_OVERFIT_YES);
	tp_rb_str(b, "verdict", tp_overfit_verdict_name(r->verdict));
	tp_rb_str(b, "reason", r->reason);
}
