/*
 * train.c: the training loop.  It wires the dataset loader, the model, the
 * optimizer and the schedule together, and turns what happens into records.
 *
 * Seeds: hp.seed drives initialization and dropout through derived streams;
 * the data order has its own seed (hp.data_seed, derived from hp.seed when
 * -1), so multi-host runs can share the first and vary the second (playbook:
 * "Considerations for multi-host pipelines").
 *
 * Wall-clock fields (examples_per_s, input_wait, time) are the only parts of
 * the stream that differ between identical runs; with timing off the stream
 * is byte-identical across runs of the same configuration and thread count.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tp/atomic.h"
#include "tp/dataset.h"
#include "tp/evaluate.h"
#include "tp/linalg.h"
#include "tp/model.h"
#include "tp/optim.h"
#include "tp/record.h"
#include "tp/rng.h"
#include "tp/schedule.h"
#include "tp/train.h"
#include "tp/zio.h"

/* Streams derived from hp.seed. */
enum { SEED_INIT = 1, SEED_DROPOUT = 2, SEED_DATA = 3, SEED_SUBSET = 4 };

enum phase { PH_DATA, PH_FORWARD, PH_BACKWARD, PH_UPDATE, PH_EVAL, PH_NPHASES };
static const char *const phase_names[PH_NPHASES] = {
	"data", "forward", "backward", "update", "eval",
};

struct sink {
	struct tp_wr *w[2];
	int n;
};

struct trainer {
	const struct tp_train_opts *o;
	const struct tp_hparams *hp;
	struct tp_dataset train, valid, subset;
	int have_valid, have_subset;
	struct tp_model *model;
	struct tp_optim *opt;
	struct tp_schedule sched;
	struct tp_loader *loader;
	struct tp_rng drop_rng;
	uint64_t data_seed;
	size_t eval_batch;
	struct sink out;
	struct tp_rb rb;
	/* timing */
	double t_start, phase[PH_NPHASES];
	double win_start, win_wait;
	int64_t win_examples, win_steps;
	double win_loss;
	double last_progress;
	char last_eval[64];
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
tp_train_opts_init(struct tp_train_opts *o)
{
	memset(o, 0, sizeof *o);
	tp_hp_defaults(&o->hp);
	o->timing = 1;
	o->input_bound = 0.25;
	o->trial = -1;
}

/* ---- the trial record ---- */

struct tp_train_trial {
	void *raw;
	struct tp_rd *rd;
	const struct tp_val *rec;
	char *study;
};

void
tp_train_trial_free(struct tp_train_trial *t)
{
	if (!t)
		return;
	tp_rd_close(t->rd);
	free(t->raw);
	free(t->study);
	free(t);
}

int
tp_train_read_trial(struct tp_train_opts *o, const char *path, int64_t index,
                    struct tp_train_trial **keep)
{
	struct tp_rd *rd = tp_rd_open(path);
	const struct tp_val *rec;
	struct tp_train_trial *t;
	int64_t seen = 0, v;
	char origin[512];
	size_t len;
	int got;

	if (!rd)
		return -1;
	while ((got = tp_rd_next(rd, &rec)) == 1) {
		if (tp_val_streq(tp_val_get(rec, "type"), "trial") && seen++ == index)
			break;
	}
	if (got != 1) {
		if (got == 0)
			tp_errorf("%s: no trial record number %lld (found %lld)",
			          tp_rd_name(rd), (long long)index, (long long)seen);
		tp_rd_close(rd);
		return -1;
	}
	/* Keep a private copy: the reader's record dies with the reader. */
	t = tp_xcalloc(1, sizeof *t);
	{
		const void *raw = tp_rd_raw(rd, &len);
		t->raw = tp_xmalloc(len);
		memcpy(t->raw, raw, len);
	}
	snprintf(origin, sizeof origin, "%s: trial record %lld", tp_rd_name(rd),
	         (long long)index);
	tp_rd_close(rd);
	t->rd = tp_rd_mem(t->raw, len, origin);
	if (!t->rd || tp_rd_next(t->rd, &t->rec) != 1) {
		tp_train_trial_free(t);
		return -1;
	}
	rec = t->rec;
	if (!tp_val_get(rec, "params")) {
		tp_errorf("%s: missing key \"params\"", origin);
		tp_train_trial_free(t);
		return -1;
	}
	if (tp_hp_set_map(&o->hp, tp_val_get(rec, "params"), origin) != 0) {
		tp_train_trial_free(t);
		return -1;
	}
	if (tp_val_get(rec, "seed")) {
		if (tp_val_i64(tp_val_get(rec, "seed"), &v) != 0 || v < 0) {
			tp_errorf("%s: \"seed\" must be a non-negative integer", origin);
			tp_train_trial_free(t);
			return -1;
		}
		o->hp.seed = v;
	}
	if (tp_val_i64(tp_val_get(rec, "trial"), &v) == 0)
		o->trial = v;
	t->study = tp_val_strdup(tp_val_get(rec, "study"));
	o->study = t->study;
	o->scientific = tp_val_get(rec, "scientific");
	*keep = t;
	return 0;
}

/* ---- output ---- */

static int
sink_put(struct trainer *tr)
{
	size_t len;
	const void *p = tp_rb_finish(&tr->rb, &len);

	for (int i = 0; i < tr->out.n; i++)
		if (tp_wr_put(tr->out.w[i], p, len) != 0)
			return -1;
	return 0;
}

static void
put_ids(struct trainer *tr)
{
	if (tr->o->study)
		tp_rb_str(&tr->rb, "study", tr->o->study);
	if (tr->o->trial >= 0)
		tp_rb_i64(&tr->rb, "trial", tr->o->trial);
}

static void
put_times(struct trainer *tr)
{
	tp_rb_map_begin(&tr->rb, "time");
	for (int i = 0; i < PH_NPHASES; i++)
		tp_rb_f64(&tr->rb, phase_names[i], tr->phase[i]);
	tp_rb_map_end(&tr->rb);
}

static void
build_config(struct trainer *tr)
{
	const struct tp_train_opts *o = tr->o;

	tp_rb_begin(&tr->rb, "config");
	tp_rb_str(&tr->rb, "version", TP_VERSION);
	put_ids(tr);
	if (o->scientific)
		tp_rb_val(&tr->rb, "scientific", o->scientific);
	tp_hp_write(tr->hp, &tr->rb, "params");
	tp_rb_i64(&tr->rb, "seed", tr->hp->seed);
	tp_rb_u64(&tr->rb, "data_seed", tr->data_seed);
	tp_rb_arr_begin(&tr->rb, "train");
	for (size_t i = 0; i < o->ntrain; i++)
		tp_rb_str(&tr->rb, NULL, o->train_paths[i]);
	tp_rb_arr_end(&tr->rb);
	if (o->valid_path)
		tp_rb_str(&tr->rb, "valid", o->valid_path);
	if (o->run_dir)
		tp_rb_str(&tr->rb, "run_dir", o->run_dir);
	tp_rb_i64(&tr->rb, "train_examples", (int64_t)tr->train.n);
	tp_rb_i64(&tr->rb, "features", (int64_t)tr->train.d);
	tp_rb_i64(&tr->rb, "classes", tr->train.h.classes);
	{
		size_t n;
		tp_model_params(tr->model, &n);
		tp_rb_u64(&tr->rb, "parameters", n);
	}
	tp_rb_i64(&tr->rb, "threads", tp_blas_threads());
	if (o->command)
		tp_rb_str(&tr->rb, "command", o->command);
}

/* The resolved configuration, alone in RUN_DIR/config.tpr (atomic). */
static int
write_config_file(struct trainer *tr)
{
	char path[4096];
	struct tp_wr *w;
	size_t len;
	const void *p;

	snprintf(path, sizeof path, "%s/config.tpr", tr->o->run_dir);
	w = tp_wr_open(path, TP_ZOUT_PLAIN | TP_ZOUT_ATOMIC);
	if (!w)
		return -1;
	build_config(tr);
	p = tp_rb_finish(&tr->rb, &len);
	if (tp_wr_put(w, p, len) != 0) {
		tp_wr_abort(w);
		return -1;
	}
	return tp_wr_close(w);
}

static int
open_outputs(struct trainer *tr)
{
	const struct tp_train_opts *o = tr->o;
	char path[4096];

	if (o->run_dir) {
		if (mkdir(o->run_dir, 0777) != 0 && errno != EEXIST) {
			tp_syserrorf("%s: cannot create run directory", o->run_dir);
			return -1;
		}
		if (write_config_file(tr) != 0)
			return -1;
		snprintf(path, sizeof path, "%s/metrics.tpr", o->run_dir);
		tr->out.w[tr->out.n] = tp_wr_open(path, TP_ZOUT_PLAIN | TP_WR_FLUSH);
		if (!tr->out.w[tr->out.n])
			return -1;
		tr->out.n++;
	}
	if (o->metrics_path || !o->run_dir) {
		const char *p = o->metrics_path ? o->metrics_path : "-";
		tr->out.w[tr->out.n] = tp_wr_open(p, TP_ZOUT_AUTO | TP_WR_FLUSH);
		if (!tr->out.w[tr->out.n])
			return -1;
		tr->out.n++;
	}
	return 0;
}

static int
close_outputs(struct trainer *tr)
{
	int rc = 0;

	for (int i = 0; i < tr->out.n; i++)
		if (tp_wr_close(tr->out.w[i]) != 0)
			rc = -1;
	tr->out.n = 0;
	return rc;
}

/* ---- set-up ---- */

static int
model_config(const struct tp_hparams *hp, const struct tp_dataset *ds,
             struct tp_model_config *c)
{
	tp_model_config_default(c);
	c->inputs = (int)ds->d;
	c->outputs = ds->h.classes > 0 ? (int)ds->h.classes : 1;
	c->loss = ds->h.classes > 0 ? TP_LOSS_XENT : TP_LOSS_MSE;
	c->depth = (int)hp->depth;
	c->width = (int)hp->width;
	c->residual = (int)hp->residual;
	c->rezero = (int)hp->rezero;
	c->dropout = (float)hp->dropout;
	c->ghost_batch = (int)hp->ghost_batch;
	c->label_smoothing = (float)hp->label_smoothing;
	if (tp_model_act_parse(hp->activation, "activation", &c->act) != 0 ||
	    tp_model_norm_parse(hp->norm, "norm", &c->norm) != 0 ||
	    tp_model_init_parse(hp->init, "init", &c->init, &c->init_uniform) != 0)
		return -1;
	if (c->loss == TP_LOSS_MSE && hp->label_smoothing > 0) {
		tp_errorf("label_smoothing needs a classification dataset");
		return -1;
	}
	return tp_model_config_check(c);
}

static int
optimizer_config(const struct tp_hparams *hp, struct tp_optim_config *c)
{
	enum tp_optim_kind k;

	if (tp_optim_kind_parse(hp->optimizer, "optimizer", &k) != 0)
		return -1;
	tp_optim_config_default(c, k);
	c->momentum = hp->momentum;
	c->beta1 = hp->beta1;
	c->beta2 = hp->beta2;
	c->epsilon = hp->epsilon;
	c->weight_decay = hp->weight_decay;
	return tp_optim_config_check(c);
}

static int
schedule_config(const struct tp_hparams *hp, struct tp_schedule *s)
{
	enum tp_sched_kind k;

	if (tp_sched_kind_parse(hp->schedule, "schedule", &k) != 0)
		return -1;
	tp_schedule_init(s, k, hp->lr, (uint64_t)hp->steps);
	s->warmup_steps = (uint64_t)hp->warmup_steps;
	s->final_fraction = hp->final_fraction;
	if (hp->lr <= 0) {
		tp_errorf("lr must be positive");
		return -1;
	}
	return tp_schedule_check(s);
}

/* A fixed, seeded subset of the training set for train-split evaluation. */
static void
make_subset(struct trainer *tr)
{
	size_t n = tr->train.n, k = (size_t)tr->hp->train_eval_size;
	uint32_t *idx = tp_xmallocarray(n, sizeof *idx);
	struct tp_rng r;

	if (k > n)
		k = n;
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	tp_rng_seed(&r, tp_seed_derive((uint64_t)tr->hp->seed, SEED_SUBSET));
	tp_rng_shuffle_u32(&r, idx, n);
	tp_dataset_alloc(&tr->subset, &tr->train.h, k);
	for (size_t i = 0; i < k; i++) {
		size_t j = idx[i];
		memcpy(tr->subset.x + i * tr->train.d, tr->train.x + j * tr->train.d,
		       sizeof(float) * tr->train.d);
		if (tr->train.y)
			tr->subset.y[i] = tr->train.y[j];
		if (tr->train.t)
			tr->subset.t[i] = tr->train.t[j];
		tr->subset.w[i] = tr->train.w[j];
	}
	free(idx);
	tr->have_subset = 1;
}

/* Load data and build every object; TP_EXIT_* */
static int
setup(struct trainer *tr)
{
	const struct tp_hparams *hp = tr->hp;
	struct tp_model_config mc;
	struct tp_optim_config oc;
	struct tp_loader_opts lo = {0};
	const struct tp_model_view *views;
	size_t nviews, nparams;

	if (tp_hp_check(hp) != 0)
		return TP_EXIT_USAGE;
	if (optimizer_config(hp, &oc) != 0 || schedule_config(hp, &tr->sched) != 0)
		return TP_EXIT_USAGE;
	if (tp_dataset_load(&tr->train, tr->o->train_paths, tr->o->ntrain) != 0)
		return TP_EXIT_RUNTIME;
	if (tr->train.n == 0) {
		tp_errorf("%s: the training set is empty", tr->o->train_paths[0]);
		return TP_EXIT_RUNTIME;
	}
	if (tr->o->valid_path) {
		if (tp_dataset_load(&tr->valid, &tr->o->valid_path, 1) != 0)
			return TP_EXIT_RUNTIME;
		tr->have_valid = 1;
		if (tr->valid.d != tr->train.d || tr->valid.h.classes != tr->train.h.classes) {
			tp_errorf("%s: %zu features and %lld classes, but the training set has %zu and %lld",
			          tr->o->valid_path, tr->valid.d, (long long)tr->valid.h.classes,
			          tr->train.d, (long long)tr->train.h.classes);
			return TP_EXIT_RUNTIME;
		}
	}
	if (model_config(hp, &tr->train, &mc) != 0)
		return TP_EXIT_USAGE;
	if (mc.norm == TP_NORM_BATCH && hp->batch_size < 2) {
		tp_errorf("batch norm needs batch_size >= 2");
		return TP_EXIT_USAGE;
	}
	tr->model = tp_model_new(&mc, (int)hp->batch_size);
	if (!tr->model)
		return TP_EXIT_USAGE;
	tp_model_init(tr->model, tp_seed_derive((uint64_t)hp->seed, SEED_INIT));
	tp_model_params(tr->model, &nparams);
	tr->opt = tp_optim_new(&oc, nparams);
	if (!tr->opt)
		return TP_EXIT_USAGE;
	/* Biases, norm gains and rezero scales are not decayed: decay is meant
	 * to shrink weights, and shrinking a gain toward 0 only hurts. */
	views = tp_model_param_views(tr->model, &nviews);
	for (size_t i = 0; i < nviews; i++)
		if (!views[i].decay &&
		    tp_optim_no_decay(tr->opt, views[i].offset, views[i].count) != 0)
			return TP_EXIT_RUNTIME;
	tp_rng_seed(&tr->drop_rng, tp_seed_derive((uint64_t)hp->seed, SEED_DROPOUT));
	tr->data_seed = hp->data_seed >= 0 ? (uint64_t)hp->data_seed
	                                   : tp_seed_derive((uint64_t)hp->seed, SEED_DATA);
	lo.mode = TP_LOAD_TRAIN;
	lo.batch = (size_t)hp->batch_size;
	lo.seed = tr->data_seed;
	lo.shards = 1;
	tr->loader = tp_loader_new(&tr->train, &lo, NULL);
	if (!tr->loader)
		return TP_EXIT_RUNTIME;
	tr->eval_batch = hp->eval_batch_size > 0 ? (size_t)hp->eval_batch_size
	               : (size_t)(hp->batch_size > 1024 ? hp->batch_size : 1024);
	if (hp->train_eval_size > 0)
		make_subset(tr);
	return TP_EXIT_OK;
}

/* ---- the loop ---- */

static int
evaluate_split(struct trainer *tr, const struct tp_dataset *ds,
               const char *split, const char *path, int64_t step,
               int64_t examples)
{
	struct tp_metrics m;
	int rc;

	tp_metrics_init(&m, (int)ds->h.classes,
	                tp_model_get_config(tr->model)->outputs, 0, 0);
	rc = tp_evaluate(tr->model, ds, tr->eval_batch, &m, NULL);
	if (rc == 0) {
		double v;
		tp_rb_begin(&tr->rb, "eval");
		tp_rb_i64(&tr->rb, "step", step);
		tp_rb_str(&tr->rb, "split", split);
		tp_metrics_write(&m, &tr->rb);
		tp_rb_i64(&tr->rb, "examples", examples);
		tp_rb_f64(&tr->rb, "epoch", (double)examples / (double)tr->train.n);
		if (path)
			tp_rb_str(&tr->rb, "dataset", path);
		put_ids(tr);
		rc = sink_put(tr);
		if (strcmp(split, "valid") == 0) {
			const char *key = ds->h.classes > 0 ? "error" : "mse";
			if (tp_metrics_get(&m, key, &v) == 0)
				snprintf(tr->last_eval, sizeof tr->last_eval, "valid %s %.4g", key, v);
		}
	}
	tp_metrics_release(&m);
	return rc;
}

static int
write_train(struct trainer *tr, int64_t step, double lr, double gnorm, double t)
{
	double wall = t - tr->win_start;

	tp_rb_begin(&tr->rb, "train");
	tp_rb_i64(&tr->rb, "step", step);
	tp_rb_f64(&tr->rb, "loss", tr->win_loss / (double)tr->win_steps);
	tp_rb_f64(&tr->rb, "lr", lr);
	tp_rb_f64(&tr->rb, "grad_norm", gnorm);
	if (tr->o->timing) {
		tp_rb_f64(&tr->rb, "examples_per_s",
		          wall > 0 ? (double)tr->win_examples / wall : 0.0);
		tp_rb_f64(&tr->rb, "input_wait", wall > 0 ? tr->win_wait / wall : 0.0);
		put_times(tr);
	}
	put_ids(tr);
	tr->win_start = t;
	tr->win_wait = 0;
	tr->win_examples = tr->win_steps = 0;
	tr->win_loss = 0;
	return sink_put(tr);
}

static void
progress(struct trainer *tr, int64_t step, double loss, int final)
{
	double t = now(), el = t - tr->t_start;
	int64_t total = tr->hp->steps;

	if (!final && t - tr->last_progress < 0.2)
		return;
	tr->last_progress = t;
	fprintf(stderr, "\r\033[K%s: step %lld/%lld  %.0f steps/s  ETA %.0fs  loss %.4g  %s",
	        program_invocation_short_name, (long long)step, (long long)total,
	        el > 0 ? step / el : 0.0,
	        step > 0 ? el / step * (double)(total - step) : 0.0, loss, tr->last_eval);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static int
diverged(struct trainer *tr, int64_t step, const char *reason)
{
	tp_rb_begin(&tr->rb, "diverged");
	tp_rb_i64(&tr->rb, "step", step);
	tp_rb_str(&tr->rb, "reason", reason);
	put_ids(tr);
	if (sink_put(tr) != 0)
		return TP_EXIT_RUNTIME;
	tp_errorf("diverged at step %lld: %s", (long long)step, reason);
	return TP_EXIT_DIVERGED;
}

static int
write_summary(struct trainer *tr, int64_t steps, int status)
{
	tp_rb_begin(&tr->rb, "summary");
	tp_rb_i64(&tr->rb, "steps", steps);
	tp_rb_str(&tr->rb, "status", status == TP_EXIT_OK ? "done"
	          : status == TP_EXIT_DIVERGED ? "diverged" : "stopped");
	if (tr->o->timing) {
		double total = now() - tr->t_start;
		tp_rb_f64(&tr->rb, "seconds", total);
		put_times(tr);
		tp_rb_f64(&tr->rb, "input_wait", total > 0 ? tr->phase[PH_DATA] / total : 0.0);
	}
	put_ids(tr);
	return sink_put(tr);
}

static int
run(struct trainer *tr)
{
	const struct tp_hparams *hp = tr->hp;
	size_t np, ng;
	float *params = tp_model_params(tr->model, &np);
	float *grads = tp_model_grads(tr->model, &ng);
	int64_t step = 0, examples = 0;
	double loss = 0, gnorm = 0, lr = 0;
	int status = TP_EXIT_OK;

	tr->t_start = tr->win_start = tr->last_progress = now();
	build_config(tr);
	if (sink_put(tr) != 0)
		return TP_EXIT_RUNTIME;
	while (step < hp->steps) {
		const struct tp_ds_batch *db;
		double t0 = now(), t1, t2, t3, t4;
		const char *bad = NULL;

		if (tr->o->stop && *tr->o->stop) {
			status = TP_EXIT_INTERRUPTED;
			tp_errorf("interrupted at step %lld", (long long)step);
			break;
		}
		if (tp_loader_next(tr->loader, &db) != 1)
			return TP_EXIT_RUNTIME;
		t1 = now();
		struct tp_batch b = {.x = db->x, .label = db->y, .target = db->t,
		                     .w = db->w, .n = (int)db->n};
		if (tp_model_forward(tr->model, &b, &tr->drop_rng, &loss) != 0)
			return TP_EXIT_RUNTIME;
		t2 = now();
		if (!isfinite(loss))
			return diverged(tr, step + 1, isnan(loss) ? "loss is NaN" : "loss is infinite");
		tp_model_backward(tr->model);
		t3 = now();
		gnorm = tp_optim_clip_grad_norm(grads, ng, hp->clip_norm);
		if (!isfinite(gnorm))
			return diverged(tr, step + 1, "gradient norm is not finite");
		lr = tp_schedule_lr(&tr->sched, (uint64_t)step);
		tp_optim_step(tr->opt, params, grads, lr);
		if (!tp_model_finite(tr->model, &bad)) {
			char why[128];
			snprintf(why, sizeof why, "%s is not finite", bad ? bad : "a parameter");
			return diverged(tr, step + 1, why);
		}
		t4 = now();
		tr->phase[PH_DATA] += t1 - t0;
		tr->phase[PH_FORWARD] += t2 - t1;
		tr->phase[PH_BACKWARD] += t3 - t2;
		tr->phase[PH_UPDATE] += t4 - t3;
		tr->win_wait += t1 - t0;
		step++;
		examples += (int64_t)db->valid;
		tr->win_examples += (int64_t)db->valid;
		tr->win_steps++;
		tr->win_loss += loss;
		if (step % hp->log_every == 0 || step == hp->steps)
			if (write_train(tr, step, lr, gnorm, t4) != 0)
				return TP_EXIT_RUNTIME;
		if ((hp->eval_every > 0 && step % hp->eval_every == 0) || step == hp->steps) {
			double te = now();
			if (tr->have_valid &&
			    evaluate_split(tr, &tr->valid, "valid", tr->o->valid_path, step, examples) != 0)
				return TP_EXIT_RUNTIME;
			if (tr->have_subset &&
			    evaluate_split(tr, &tr->subset, "train", tr->o->train_paths[0], step, examples) != 0)
				return TP_EXIT_RUNTIME;
			tr->phase[PH_EVAL] += now() - te;
		}
		if (tr->o->progress)
			progress(tr, step, loss, step == hp->steps);
	}
	if (tr->o->timing && step > 0) {
		double total = now() - tr->t_start, f = tr->phase[PH_DATA] / total;
		if (f > tr->o->input_bound)
			tp_warnf("input-bound: %.0f%% of the time was spent waiting for data",
			         100 * f);
	}
	if (write_summary(tr, step, status) != 0)
		return TP_EXIT_RUNTIME;
	return status;
}

int
tp_train(const struct tp_train_opts *o)
{
	struct trainer tr;
	int status;

	memset(&tr, 0, sizeof tr);
	tr.o = o;
	tr.hp = &o->hp;
	tp_dataset_init(&tr.train);
	tp_dataset_init(&tr.valid);
	tp_dataset_init(&tr.subset);
	tp_rb_init(&tr.rb);
	tp_blas_set_threads(o->threads);
	status = setup(&tr);
	if (status == TP_EXIT_OK)
		status = open_outputs(&tr) == 0 ? run(&tr) : TP_EXIT_RUNTIME;
	if (close_outputs(&tr) != 0 && status == TP_EXIT_OK)
		status = TP_EXIT_RUNTIME;
	tp_loader_close(tr.loader);
	tp_optim_free(tr.opt);
	tp_model_free(tr.model);
	tp_dataset_release(&tr.train);
	tp_dataset_release(&tr.valid);
	tp_dataset_release(&tr.subset);
	tp_rb_release(&tr.rb);
	return status;
}
