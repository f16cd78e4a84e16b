/*
 * train.c: the training loop.  It wires the dataset loader, the model, the
 * optimizer and the schedule together, turns what happens into records, and
 * saves and restores the whole training state as checkpoints.
 *
 * Seeds: hp.seed drives initialization and dropout through derived streams;
 * the data order has its own seed (hp.data_seed, derived from hp.seed when
 * -1), so multi-host runs can share the first and vary the second (playbook:
 * "Considerations for multi-host pipelines").
 *
 * Wall-clock fields (examples_per_s, input_wait, time) are the only parts of
 * the stream that differ between identical runs; with timing off the stream
 * is byte-identical across runs of the same configuration and thread count,
 * and across an interruption and resume.
 *
 * Exact resume: a checkpoint holds parameters, batch-norm statistics, the
 * optimizer state and update count, the dropout generator, the loader's
 * position, the open train-record window and the length of metrics.tpr at
 * that step.  Resuming truncates metrics.tpr to that length and continues,
 * so the stream holds every record once.
 *
 * Data parallel (tp/dist.h, doc/tp-distributed.7): every rank draws the
 * same global batch from the same loader (in memory, one data seed) and
 * computes the gradient of its contiguous block of rows (with stream, each
 * rank's own loader over its own shard yields just its block, and rank 0
 * gathers the loaders' positions into checkpoints); per-rank weighted
 * sums are added in rank order (identical bits on every rank), so the loss
 * is sum w l / sum w over the global batch as with one rank.  Decisions
 * that end the loop (divergence, an error, a stop signal) are taken from
 * summed values, so every rank takes them at the same step.  Batch-norm
 * statistics are per rank during training (its own ghost batches) and
 * averaged across ranks before every evaluation and checkpoint.  Rank 0
 * alone writes records and files.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tp/artifact.h"
#include "tp/atomic.h"
#include "tp/ckpt.h"
#include "tp/dataset.h"
#include "tp/dist.h"
#include "tp/evaluate.h"
#include "tp/hpconfig.h"
#include "tp/linalg.h"
#include "tp/model.h"
#include "tp/optim.h"
#include "tp/pool.h"
#include "tp/record.h"
#include "tp/rng.h"
#include "tp/schedule.h"
#include "tp/train.h"
#include "tp/zio.h"

/* How long an idle pool thread spins before it sleeps: longer than the
 * gaps between a step's products, short next to anything else. */
#define TRAIN_SPIN_USEC 200

/* Streams derived from hp.seed. */
enum { SEED_INIT = 1, SEED_DROPOUT = 2, SEED_DATA = 3, SEED_SUBSET = 4 };

/* PH_REDUCE (the sums across ranks) is written only by P-rank runs. */
enum phase { PH_DATA, PH_FORWARD, PH_BACKWARD, PH_UPDATE, PH_EVAL, PH_CKPT,
             PH_REDUCE, PH_N };
static const char *const phase_names[PH_N] = {
	"data", "forward", "backward", "update", "eval", "checkpoint", "reduce",
};

/* A record copied out of its reader, kept alive with its own reader. */
struct kept {
	void *raw;
	struct tp_rd *rd;
	const struct tp_val *rec;
};

struct saved_ckpt {
	int64_t step;
	char *path;
	int has_metric;
	double metric;
};

struct trainer {
	const struct tp_train_opts *o;
	struct tp_hparams hp;
	const char *const *train_paths;
	size_t ntrain;
	const char *valid_path;
	const char *study;
	int64_t trial;
	const struct tp_val *scientific;
	const char *command;
	const char *init_from;
	struct tp_pool *pool;  /* the matrix products and the update; NULL: 1 */
	struct kept cfg;       /* the run's config.tpr, on resume */
	char **cfg_train;      /* train paths from it */
	char *cfg_strs[4];     /* valid, study, init_from, command from it */

	/* With stream, train holds the headers and counts only: the loader
	 * reads the examples (tp_dataset_load_headers). */
	struct tp_dataset train, valid, subset;
	int have_valid, have_subset;
	int stream;            /* read the training files as the run goes */
	size_t shuffle_buffer; /* the streaming loader's (0: its default) */
	int reshard;           /* stream, resumed on another number of ranks */
	struct tp_model *model;
	struct tp_optim *opt;
	struct tp_schedule sched;
	struct tp_loader *loader;
	struct tp_rng drop_rng;
	uint64_t data_seed;
	size_t eval_batch;
	struct tp_rb rb, mrb;

	/* outputs */
	struct tp_wr *w[2];
	int nw;
	struct tp_wr *runw;     /* the run directory's metrics.tpr, or NULL */
	uint64_t run_bytes;     /* bytes in metrics.tpr */

	/* position */
	int64_t step, examples;
	int64_t win_examples, win_steps;
	double win_loss;

	/* checkpoints */
	struct saved_ckpt *ck;
	size_t nck;
	double valid_metrics[3];
	int have_valid_metrics;
	int64_t valid_metrics_step; /* the step they were measured at */

	/* ranks */
	struct tp_dist *dist;
	int rank, nranks;
	int stop_agreed;    /* every rank saw the stop request (P > 1) */
	uint64_t drop_seed; /* per-step dropout streams of P-rank runs */
	unsigned char *loaders; /* rank 0, stream: every rank's loader state */

	/* This step writes a record or a checkpoint: measure the gradient norm
	 * and check the parameters (other steps rely on the next loss). */
	int full_check;

	/* timing */
	double t_start, phase[PH_N], win_start, win_wait, last_progress;
	double first_wait; /* for this process's first batch: the pipeline filling */
	int stepped;       /* this process has taken a step */
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

/* ---- records kept from files ---- */

static void
kept_release(struct kept *k)
{
	tp_rd_close(k->rd);
	free(k->raw);
	memset(k, 0, sizeof *k);
}

/* The index-th record of `type` in path, copied so it outlives the file. */
static int
kept_load(struct kept *k, const char *path, const char *type, int64_t index)
{
	struct tp_rd *rd = tp_rd_open(path);
	const struct tp_val *rec;
	int64_t seen = 0;
	char origin[512];
	const void *raw;
	size_t len;
	int got;

	memset(k, 0, sizeof *k);
	if (!rd)
		return -1;
	while ((got = tp_rd_next(rd, &rec)) == 1)
		if (tp_val_streq(tp_val_get(rec, "type"), type) && seen++ == index)
			break;
	if (got != 1) {
		if (got == 0)
			tp_errorf("%s: no %s record number %lld (found %lld)",
			          tp_rd_name(rd), type, (long long)index, (long long)seen);
		tp_rd_close(rd);
		return -1;
	}
	raw = tp_rd_raw(rd, &len);
	k->raw = tp_xmalloc(len);
	memcpy(k->raw, raw, len);
	snprintf(origin, sizeof origin, "%s: %s record %lld", tp_rd_name(rd), type,
	         (long long)index);
	tp_rd_close(rd);
	k->rd = tp_rd_mem(k->raw, len, origin);
	if (!k->rd || tp_rd_next(k->rd, &k->rec) != 1) {
		kept_release(k);
		return -1;
	}
	return 0;
}

struct tp_train_trial {
	struct kept k;
	char *study;
};

void
tp_train_trial_free(struct tp_train_trial *t)
{
	if (!t)
		return;
	kept_release(&t->k);
	free(t->study);
	free(t);
}

int
tp_train_read_trial(struct tp_train_opts *o, const char *path, int64_t index,
                    struct tp_train_trial **keep)
{
	struct tp_train_trial *t = tp_xcalloc(1, sizeof *t);
	const struct tp_val *rec, *params;
	const char *origin;
	int64_t v;

	if (kept_load(&t->k, path, "trial", index) != 0) {
		free(t);
		return -1;
	}
	rec = t->k.rec;
	origin = tp_rd_name(t->k.rd);
	params = tp_val_get(rec, "params");
	if (!params) {
		tp_errorf("%s: missing key \"params\"", origin);
		goto fail;
	}
	if (tp_hp_set_map(&o->hp, params, origin) != 0)
		goto fail;
	if (tp_val_get(rec, "seed")) {
		if (tp_val_i64(tp_val_get(rec, "seed"), &v) != 0 || v < 0) {
			tp_errorf("%s: \"seed\" must be a non-negative integer", origin);
			goto fail;
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
fail:
	tp_train_trial_free(t);
	return -1;
}

/* ---- output ---- */

static int
emit(struct trainer *tr)
{
	size_t len;
	const void *p = tp_rb_finish(&tr->rb, &len);

	for (int i = 0; i < tr->nw; i++)
		if (tp_wr_put(tr->w[i], p, len) != 0)
			return -1;
	if (tr->runw)
		tr->run_bytes += len;
	return 0;
}

static void
put_ids(struct trainer *tr, struct tp_rb *b)
{
	if (tr->study)
		tp_rb_str(b, "study", tr->study);
	if (tr->trial >= 0)
		tp_rb_i64(b, "trial", tr->trial);
}

static void
put_times(struct trainer *tr)
{
	tp_rb_map_begin(&tr->rb, "time");
	for (int i = 0; i < (tr->nranks > 1 ? PH_N : PH_REDUCE); i++)
		tp_rb_f64(&tr->rb, phase_names[i], tr->phase[i]);
	tp_rb_map_end(&tr->rb);
}

/* The keys of the config record (after "type"), into b. */
static void
config_keys(struct trainer *tr, struct tp_rb *b)
{
	size_t n;

	tp_rb_str(b, "version", TP_VERSION);
	put_ids(tr, b);
	if (tr->scientific)
		tp_rb_val(b, "scientific", tr->scientific);
	tp_hp_write(&tr->hp, b, "params");
	tp_rb_i64(b, "seed", tr->hp.seed);
	tp_rb_u64(b, "data_seed", tr->data_seed);
	tp_rb_arr_begin(b, "train");
	for (size_t i = 0; i < tr->ntrain; i++)
		tp_rb_str(b, NULL, tr->train_paths[i]);
	tp_rb_arr_end(b);
	if (tr->valid_path)
		tp_rb_str(b, "valid", tr->valid_path);
	if (tr->o->run_dir)
		tp_rb_str(b, "run_dir", tr->o->run_dir);
	if (tr->init_from)
		tp_rb_str(b, "init_from", tr->init_from);
	if (tr->stream) {
		tp_rb_bool(b, "stream", 1);
		tp_rb_u64(b, "shuffle_buffer", tr->shuffle_buffer ? tr->shuffle_buffer
		                                                  : TP_LOADER_SHUFFLE_BUFFER);
		if (tr->nranks > 1)
			tp_rb_str(b, "sharding", tr->ntrain >= (size_t)tr->nranks ? "files"
			                                                          : "examples");
	}
	tp_rb_i64(b, "train_examples", (int64_t)tr->train.n);
	tp_rb_i64(b, "features", (int64_t)tr->train.d);
	tp_rb_i64(b, "classes", tr->train.h.classes);
	tp_model_params(tr->model, &n);
	tp_rb_u64(b, "parameters", n);
	tp_rb_i64(b, "threads", tp_pool_threads(tr->pool));
	if (tr->nranks > 1)
		tp_rb_i64(b, "ranks", tr->nranks);
	if (tr->command)
		tp_rb_str(b, "command", tr->command);
}

static char *
run_path(const struct trainer *tr, const char *name)
{
	size_t n = strlen(tr->o->run_dir) + strlen(name) + 2;
	char *p = tp_xmalloc(n);

	snprintf(p, n, "%s/%s", tr->o->run_dir, name);
	return p;
}

/* RUN_DIR/config.tpr: the resolved configuration alone, atomically. */
static int
write_config_file(struct trainer *tr)
{
	char *path = run_path(tr, "config.tpr");
	struct tp_wr *w = tp_wr_open(path, TP_ZOUT_PLAIN | TP_ZOUT_ATOMIC);
	int rc = -1;

	free(path);
	if (!w)
		return -1;
	tp_rb_begin(&tr->rb, "config");
	config_keys(tr, &tr->rb);
	if (tp_wr_rb(w, &tr->rb) != 0)
		tp_wr_abort(w);
	else
		rc = tp_wr_close(w);
	return rc;
}

static int
open_outputs(struct trainer *tr)
{
	const struct tp_train_opts *o = tr->o;

	if (tr->rank != 0)
		return 0;
	if (o->run_dir) {
		char *path = run_path(tr, "metrics.tpr");
		int flags = TP_ZOUT_PLAIN | TP_WR_FLUSH;
		if (o->resume) {
			/* Drop what was written after the checkpoint: it will be
			 * written again, identically. */
			struct stat st;
			if (stat(path, &st) == 0 && (uint64_t)st.st_size < tr->run_bytes) {
				tp_errorf("%s: %lld bytes, shorter than the %llu its checkpoint recorded",
				          path, (long long)st.st_size,
				          (unsigned long long)tr->run_bytes);
				free(path);
				return -1;
			}
			if (truncate(path, (off_t)tr->run_bytes) != 0 && errno != ENOENT) {
				tp_syserrorf("%s: cannot truncate", path);
				free(path);
				return -1;
			}
			flags |= TP_ZOUT_APPEND;
		}
		tr->runw = tp_wr_open(path, flags);
		free(path);
		if (!tr->runw)
			return -1;
		tr->w[tr->nw++] = tr->runw;
	}
	if (o->metrics_path || !o->run_dir) {
		const char *p = o->metrics_path ? o->metrics_path : "-";
		tr->w[tr->nw] = tp_wr_open(p, TP_ZOUT_AUTO | TP_WR_FLUSH);
		if (!tr->w[tr->nw])
			return -1;
		tr->nw++;
	}
	return 0;
}

static int
close_outputs(struct trainer *tr)
{
	int rc = 0;

	for (int i = 0; i < tr->nw; i++)
		if (tp_wr_close(tr->w[i]) != 0)
			rc = -1;
	tr->nw = 0;
	tr->runw = NULL;
	return rc;
}

/* ---- configuration ---- */

static int
keep_mode_max(const struct tp_hparams *hp)
{
	if (strcmp(hp->keep_mode, "auto") == 0)
		return strcmp(hp->keep_metric, "accuracy") == 0;
	return strcmp(hp->keep_mode, "max") == 0;
}

/* Everything about checkpoints that can be refused before any work. */
static int
check_run_options(const struct trainer *tr)
{
	const struct tp_hparams *hp = &tr->hp;

	if ((hp->checkpoints || hp->checkpoint_every) && !tr->o->run_dir) {
		tp_errorf("checkpoints need a run directory (-d DIR)");
		return -1;
	}
	if (tr->o->resume && !tr->o->run_dir) {
		tp_errorf("--resume needs a run directory (-d DIR)");
		return -1;
	}
	return 0;
}

/* ---- resume: the run's own configuration ---- */

static int
load_run_config(struct trainer *tr)
{
	char *path = run_path(tr, "config.tpr");
	const struct tp_val *c, *train;
	const char *origin;
	int64_t v;
	int rc = kept_load(&tr->cfg, path, "config", 0);

	free(path);
	if (rc != 0)
		return -1;
	c = tr->cfg.rec;
	origin = tp_rd_name(tr->cfg.rd);
	tp_hp_defaults(&tr->hp);
	if (!tp_val_get(c, "params") ||
	    tp_hp_set_map(&tr->hp, tp_val_get(c, "params"), origin) != 0) {
		if (!tp_val_get(c, "params"))
			tp_errorf("%s: missing key \"params\"", origin);
		return -1;
	}
	train = tp_val_get(c, "train");
	if (tp_val_type(train) != TP_V_ARRAY || tp_val_len(train) == 0) {
		tp_errorf("%s: \"train\" must be a non-empty array of paths", origin);
		return -1;
	}
	tr->ntrain = tp_val_len(train);
	tr->cfg_train = tp_xcalloc(tr->ntrain, sizeof *tr->cfg_train);
	for (size_t i = 0; i < tr->ntrain; i++) {
		tr->cfg_train[i] = tp_val_strdup(tp_val_at(train, i));
		if (!tr->cfg_train[i]) {
			tp_errorf("%s: \"train\" must hold strings", origin);
			return -1;
		}
	}
	tr->train_paths = (const char *const *)tr->cfg_train;
	tr->valid_path = tr->cfg_strs[0] = tp_val_strdup(tp_val_get(c, "valid"));
	tr->study = tr->cfg_strs[1] = tp_val_strdup(tp_val_get(c, "study"));
	tr->init_from = tr->cfg_strs[2] = tp_val_strdup(tp_val_get(c, "init_from"));
	/* The run's own command, not the --resume one: the stream describes
	 * how the run was made. */
	tr->command = tr->cfg_strs[3] = tp_val_strdup(tp_val_get(c, "command"));
	tr->trial = tp_val_i64(tp_val_get(c, "trial"), &v) == 0 ? v : -1;
	tr->scientific = tp_val_get(c, "scientific");
	if (tp_val_get(c, "stream")) {
		uint64_t sb;
		tr->stream = 1;
		if (tp_val_u64(tp_val_get(c, "shuffle_buffer"), &sb) != 0 || sb == 0) {
			tp_errorf("%s: \"shuffle_buffer\" must be a positive integer", origin);
			return -1;
		}
		tr->shuffle_buffer = (size_t)sb;
	}
	return 0;
}

/* ---- set-up ---- */

/* A fixed, seeded subset of the training set for train-split evaluation. */
static void
make_subset(struct trainer *tr)
{
	size_t n = tr->train.n, k = (size_t)tr->hp.train_eval_size, d = tr->train.d;
	uint32_t *idx = tp_xmallocarray(n, sizeof *idx);
	struct tp_rng r;

	if (k > n)
		k = n;
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	tp_rng_seed(&r, tp_seed_derive((uint64_t)tr->hp.seed, SEED_SUBSET));
	tp_rng_shuffle_u32(&r, idx, n);
	tp_dataset_alloc(&tr->subset, &tr->train.h, k);
	for (size_t i = 0; i < k; i++) {
		size_t j = idx[i];
		memcpy(tr->subset.x + i * d, tr->train.x + j * d, sizeof(float) * d);
		if (tr->train.y)
			tr->subset.y[i] = tr->train.y[j];
		if (tr->train.t)
			tr->subset.t[i] = tr->train.t[j];
		tr->subset.w[i] = tr->train.w[j];
	}
	free(idx);
	tr->have_subset = 1;
}

/* Configuration, data, model and optimizer; the loader comes later (it
 * depends on a resumed position).  Returns TP_EXIT_*. */
static int
setup(struct trainer *tr)
{
	const struct tp_hparams *hp = &tr->hp;
	struct tp_model_config mc;
	struct tp_optim_config oc;
	const struct tp_model_view *views;
	size_t nviews, nparams;

	if (tp_hp_check(hp) != 0 || check_run_options(tr) != 0)
		return TP_EXIT_USAGE;
	if (tp_hp_optim_config(hp, &oc) != 0 ||
	    tp_hp_schedule_config(hp, (uint64_t)hp->steps, &tr->sched) != 0)
		return TP_EXIT_USAGE;
	if (tr->stream && hp->train_eval_size > 0) {
		tp_errorf("train_eval_size needs the training set in memory, not --stream");
		return TP_EXIT_USAGE;
	}
	if ((tr->stream ? tp_dataset_load_headers : tp_dataset_load)(
	            &tr->train, tr->train_paths, tr->ntrain) != 0)
		return TP_EXIT_RUNTIME;
	if (tr->train.n == 0) {
		tp_errorf("%s: the training set is empty", tr->train_paths[0]);
		return TP_EXIT_RUNTIME;
	}
	if (tr->valid_path) {
		if (tp_dataset_load(&tr->valid, &tr->valid_path, 1) != 0)
			return TP_EXIT_RUNTIME;
		tr->have_valid = 1;
		if (tr->valid.d != tr->train.d || tr->valid.h.classes != tr->train.h.classes) {
			tp_errorf("%s: %zu features and %lld classes, but the training set has %zu and %lld",
			          tr->valid_path, tr->valid.d, (long long)tr->valid.h.classes,
			          tr->train.d, (long long)tr->train.h.classes);
			return TP_EXIT_RUNTIME;
		}
	}
	if (tp_hp_model_config(hp, (int64_t)tr->train.d, tr->train.h.classes, &mc) != 0)
		return TP_EXIT_USAGE;
	if (mc.norm == TP_NORM_BATCH && hp->batch_size < 2) {
		tp_errorf("batch norm needs batch_size >= 2");
		return TP_EXIT_USAGE;
	}
	if (hp->batch_size < tr->nranks) {
		tp_errorf("batch_size %lld is smaller than the %d ranks: each rank "
		          "needs a share of every batch", (long long)hp->batch_size,
		          tr->nranks);
		return TP_EXIT_USAGE;
	}
	if (mc.norm == TP_NORM_BATCH && hp->batch_size / tr->nranks < 2) {
		tp_errorf("batch norm needs batch_size >= 2 per rank (%d ranks)",
		          tr->nranks);
		return TP_EXIT_USAGE;
	}
	/* Each rank holds activations for its share of the batch only. */
	tr->model = tp_model_new(&mc, (int)((hp->batch_size + tr->nranks - 1) /
	                                    tr->nranks));
	if (!tr->model)
		return TP_EXIT_USAGE;
	tp_model_init(tr->model, tp_seed_derive((uint64_t)hp->seed, SEED_INIT));
	tp_model_params(tr->model, &nparams);
	tr->opt = tp_optim_new(&oc, nparams);
	if (!tr->opt)
		return TP_EXIT_USAGE;
	tp_model_set_pool(tr->model, tr->pool);
	tp_optim_set_pool(tr->opt, tr->pool);
	/* Biases, norm gains and rezero scales are not decayed: decay is meant
	 * to shrink weights, and shrinking a gain toward 0 only hurts. */
	views = tp_model_param_views(tr->model, &nviews);
	for (size_t i = 0; i < nviews; i++)
		if (!views[i].decay &&
		    tp_optim_no_decay(tr->opt, views[i].offset, views[i].count) != 0)
			return TP_EXIT_RUNTIME;
	tr->drop_seed = tp_seed_derive((uint64_t)hp->seed, SEED_DROPOUT);
	tp_rng_seed(&tr->drop_rng, tr->drop_seed);
	tr->data_seed = hp->data_seed >= 0 ? (uint64_t)hp->data_seed
	                                   : tp_seed_derive((uint64_t)hp->seed, SEED_DATA);
	tr->eval_batch = hp->eval_batch_size > 0 ? (size_t)hp->eval_batch_size
	               : (size_t)(hp->batch_size > 1024 ? hp->batch_size : 1024);
	if (hp->train_eval_size > 0)
		make_subset(tr);
	return TP_EXIT_OK;
}

/* The first row of rank r's block of a global batch (r = P: the batch). */
static size_t
rank_rows(const struct trainer *tr, int r)
{
	return (size_t)tr->hp.batch_size * (size_t)r / (size_t)tr->nranks;
}

static int
open_loader(struct trainer *tr, const struct tp_loader_state *resume)
{
	struct tp_loader_opts lo = {0};

	lo.mode = TP_LOAD_TRAIN;
	lo.batch = (size_t)tr->hp.batch_size;
	lo.seed = tr->data_seed;
	lo.shards = 1;
	if (!tr->stream) {
		tr->loader = tp_loader_new(&tr->train, &lo, resume);
		return tr->loader ? 0 : -1;
	}
	/* Each rank streams its own shard (whole files when there are enough,
	 * else every P-th example) in batches of its block of the global
	 * batch; the loader derives its order from (seed, shard, epoch). */
	lo.shard = (uint32_t)tr->rank;
	lo.shards = (uint32_t)tr->nranks;
	lo.batch = rank_rows(tr, tr->rank + 1) - rank_rows(tr, tr->rank);
	lo.shuffle_buffer = tr->shuffle_buffer;
	if (resume)
		lo.seed = resume->seed;
	else if (tr->reshard)
		lo.seed = tp_seed_derive(tr->data_seed, (uint64_t)tr->step);
	tr->loader = tp_loader_open(tr->train_paths, tr->ntrain, &lo, resume);
	return tr->loader ? 0 : -1;
}

/* ---- checkpoints ---- */

static void
put_views(struct tp_rb *b, const char *key, const struct tp_model_view *v,
          size_t n)
{
	tp_rb_arr_begin(b, key);
	for (size_t i = 0; i < n; i++) {
		tp_rb_map_begin(b, NULL);
		tp_rb_str(b, "name", v[i].name);
		tp_rb_arr_begin(b, "shape");
		for (int j = 0; j < v[i].ndim; j++)
			tp_rb_i64(b, NULL, v[i].shape[j]);
		tp_rb_arr_end(b);
		tp_rb_u64(b, "offset", v[i].offset);
		tp_rb_u64(b, "count", v[i].count);
		tp_rb_map_end(b);
	}
	tp_rb_arr_end(b);
}

/* Manifest keys common to full checkpoints and model artifacts. */
static void
model_manifest(struct trainer *tr, struct tp_rb *b, const char *kind)
{
	const struct tp_model_view *v;
	size_t n;

	tp_rb_begin(b, "checkpoint");
	tp_rb_str(b, "kind", kind);
	tp_rb_i64(b, "step", tr->step);
	tp_rb_i64(b, "examples", tr->examples);
	put_ids(tr, b);
	tp_rb_map_begin(b, "config");
	tp_rb_str(b, "type", "config");
	config_keys(tr, b);
	tp_rb_map_end(b);
	v = tp_model_param_views(tr->model, &n);
	put_views(b, "param_views", v, n);
	v = tp_model_buffer_views(tr->model, &n);
	put_views(b, "buffer_views", v, n);
	if (tr->have_valid_metrics && tr->valid_metrics_step == tr->step) {
		static const char *const cls[] = {"loss", "error", "accuracy"};
		static const char *const reg[] = {"loss", "mse", "mae"};
		const char *const *names = tr->train.h.classes > 0 ? cls : reg;
		tp_rb_map_begin(b, "metrics");
		tp_rb_map_begin(b, "valid");
		for (int i = 0; i < 3; i++)
			tp_rb_f64(b, names[i], tr->valid_metrics[i]);
		tp_rb_map_end(b);
		tp_rb_map_end(b);
	}
}

static size_t
model_blobs(struct trainer *tr, struct tp_ckpt_blob *blobs)
{
	size_t np, nb, n = 0;
	float *p = tp_model_params(tr->model, &np);
	float *bu = tp_model_buffers(tr->model, &nb);

	blobs[n++] = (struct tp_ckpt_blob){"params.f32", p, np * sizeof *p};
	if (nb)
		blobs[n++] = (struct tp_ckpt_blob){"buffers.f32", bu, nb * sizeof *bu};
	return n;
}

static char *
ckpt_path(const struct trainer *tr, int64_t step)
{
	char name[64];

	snprintf(name, sizeof name, "ckpt/step-%09lld.tpc", (long long)step);
	return run_path(tr, name);
}

static int
write_full_ckpt(struct trainer *tr, const char *path)
{
	struct tp_rb *b = &tr->mrb;
	struct tp_ckpt_blob blobs[3];
	struct tp_loader_state ls;
	unsigned char lsb[TP_LOADER_STATE_BYTES];
	size_t n, nstate;
	float *state;

	model_manifest(tr, b, "full");
	tp_rb_u64(b, "seed", (uint64_t)tr->hp.seed);
	tp_rb_u64(b, "data_seed", tr->data_seed);
	tp_rb_map_begin(b, "rng");
	tp_rb_arr_begin(b, "dropout");
	for (int i = 0; i < 4; i++)
		tp_rb_u64(b, NULL, tr->drop_rng.s[i]);
	tp_rb_arr_end(b);
	tp_rb_map_end(b);
	tp_loader_state(tr->loader, &ls);
	tp_loader_state_encode(&ls, lsb);
	tp_rb_bin(b, "loader", lsb, sizeof lsb);
	if (tr->stream && tr->nranks > 1) {
		tp_rb_arr_begin(b, "loaders");
		for (int r = 0; r < tr->nranks; r++)
			tp_rb_bin(b, NULL, tr->loaders + (size_t)r * sizeof lsb, sizeof lsb);
		tp_rb_arr_end(b);
	}
	tp_rb_str(b, "optimizer", tr->hp.optimizer);
	tp_rb_u64(b, "optim_steps", tp_optim_steps(tr->opt));
	tp_rb_i64(b, "schedule_step", tr->step);
	tp_rb_u64(b, "metrics_offset", tr->run_bytes);
	tp_rb_map_begin(b, "train_window");
	tp_rb_f64(b, "loss", tr->win_loss);
	tp_rb_i64(b, "steps", tr->win_steps);
	tp_rb_i64(b, "examples", tr->win_examples);
	tp_rb_map_end(b);
	n = model_blobs(tr, blobs);
	state = tp_optim_state(tr->opt, &nstate);
	if (nstate)
		blobs[n++] = (struct tp_ckpt_blob){"optim.f32", state, nstate * sizeof *state};
	return tp_ckpt_write(path, b, blobs, n, tr->o->ckpt_level);
}

static int
cmp_step_desc(const void *a, const void *b)
{
	const struct saved_ckpt *x = a, *y = b;

	return x->step < y->step ? 1 : x->step > y->step ? -1 : 0;
}

/* Keep the latest keep_latest and the best keep_best; delete the others.
 * Called only after a newer checkpoint is safely on disk. */
static void
apply_keep_policy(struct trainer *tr)
{
	size_t n = tr->nck, nkeep_best = (size_t)tr->hp.keep_best;
	int want_max = keep_mode_max(&tr->hp);
	char *keep = tp_xcalloc(n ? n : 1, 1);
	size_t w = 0;
	int deleted = 0;

	if (n > 1)
		qsort(tr->ck, n, sizeof *tr->ck, cmp_step_desc);
	for (size_t i = 0; i < n && i < (size_t)tr->hp.keep_latest; i++)
		keep[i] = 1;
	/* Best by metric, ties to the earlier step: repeated selection. */
	for (size_t k = 0; k < nkeep_best; k++) {
		ssize_t best = -1;
		for (size_t i = 0; i < n; i++) {
			if (keep[i] == 2 || !tr->ck[i].has_metric)
				continue;
			if (best < 0)
				best = (ssize_t)i;
			else {
				double a = tr->ck[i].metric, c = tr->ck[best].metric;
				int better = want_max ? a > c : a < c;
				if (better || (a == c && tr->ck[i].step < tr->ck[best].step))
					best = (ssize_t)i;
			}
		}
		if (best < 0)
			break;
		keep[best] = 2;
	}
	for (size_t i = 0; i < n; i++) {
		if (keep[i]) {
			tr->ck[w++] = tr->ck[i];
			continue;
		}
		if (unlink(tr->ck[i].path) != 0 && errno != ENOENT)
			tp_warnf("%s: cannot delete: %s", tr->ck[i].path, strerror(errno));
		else
			deleted = 1;
		free(tr->ck[i].path);
	}
	tr->nck = w;
	free(keep);
	if (deleted && tr->nck && tp_fsync_dir_of(tr->ck[0].path) != 0)
		tp_warnf("checkpoint directory not synced");
}

static void
remember_ckpt(struct trainer *tr, int64_t step, char *path, int has_metric,
              double metric)
{
	tr->ck = tp_xrealloc(tr->ck, (tr->nck + 1) * sizeof *tr->ck);
	tr->ck[tr->nck++] = (struct saved_ckpt){step, path, has_metric, metric};
}

static int
save_checkpoint(struct trainer *tr, char *path)
{
	double t = now();
	int has_metric = 0;
	double metric = 0;

	if (tr->stream && tr->nranks > 1) {
		/* Streaming ranks each have their own position: rank 0 stores all. */
		struct tp_loader_state ls;
		unsigned char lsb[TP_LOADER_STATE_BYTES];

		tp_loader_state(tr->loader, &ls);
		tp_loader_state_encode(&ls, lsb);
		if (!tr->loaders && tr->rank == 0)
			tr->loaders = tp_xmallocarray((size_t)tr->nranks, sizeof lsb);
		if (tp_dist_gather(tr->dist, lsb, sizeof lsb, tr->loaders, 0) != 0) {
			free(path);
			return TP_EXIT_RUNTIME;
		}
	}
	if (tr->rank != 0) {
		free(path);
		return TP_EXIT_OK;
	}
	if (write_full_ckpt(tr, path) != 0) {
		tp_errorf("stopping at step %lld: no safe checkpoint (previous ones are intact)",
		          (long long)tr->step);
		free(path);
		return TP_EXIT_CKPT;
	}
	/* A preemption checkpoint has no evaluation of its own: no metric. */
	if (tr->have_valid_metrics && tr->valid_metrics_step == tr->step) {
		static const char *const cls[] = {"loss", "error", "accuracy"};
		static const char *const reg[] = {"loss", "mse", "mae"};
		const char *const *names = tr->train.h.classes > 0 ? cls : reg;
		for (int i = 0; i < 3; i++)
			if (strcmp(names[i], tr->hp.keep_metric) == 0) {
				has_metric = 1;
				metric = tr->valid_metrics[i];
			}
	}
	remember_ckpt(tr, tr->step, path, has_metric, metric);
	apply_keep_policy(tr);
	tr->phase[PH_CKPT] += now() - t;
	return TP_EXIT_OK;
}

static int
ckpt_due(const struct tp_hparams *hp, int64_t s)
{
	if (hp->checkpoints > 0)
		/* Virtual epochs: the k-th at the first step >= k * steps / N. */
		return (s * hp->checkpoints) / hp->steps !=
		       ((s - 1) * hp->checkpoints) / hp->steps;
	if (hp->checkpoint_every > 0)
		return s % hp->checkpoint_every == 0 || s == hp->steps;
	return 0;
}

static int
warm_start(struct trainer *tr)
{
	struct tp_ckpt *c = tp_ckpt_open(tr->init_from);
	int rc;

	if (!c)
		return -1;
	rc = tp_artifact_restore(tr->model, c);
	tp_ckpt_close(c);
	return rc;
}

static int
get_u64(const struct tp_ckpt *c, const struct tp_val *m, const char *key,
        uint64_t *out)
{
	if (tp_val_u64(tp_val_get(m, key), out) != 0) {
		tp_errorf("%s: manifest: missing or bad \"%s\"", tp_ckpt_path(c), key);
		return -1;
	}
	return 0;
}

/* Everything a full checkpoint holds back into the trainer. */
static int
restore_full(struct trainer *tr, const struct tp_ckpt *c,
             struct tp_loader_state *ls)
{
	const struct tp_val *m = tp_ckpt_manifest(c), *rng, *win, *met;
	uint64_t step, examples, osteps, off;
	size_t nstate, len;
	float *state = tp_optim_state(tr->opt, &nstate);
	const void *lsb;

	if (!tp_val_streq(tp_val_get(m, "kind"), "full")) {
		tp_errorf("%s: not a full-state checkpoint", tp_ckpt_path(c));
		return -1;
	}
	if (tp_artifact_restore(tr->model, c) != 0 || tp_artifact_floats(c, "optim.f32", state, nstate) != 0)
		return -1;
	if (get_u64(c, m, "step", &step) || get_u64(c, m, "examples", &examples) ||
	    get_u64(c, m, "optim_steps", &osteps) || get_u64(c, m, "metrics_offset", &off))
		return -1;
	rng = tp_val_get(tp_val_get(m, "rng"), "dropout");
	lsb = tp_val_bin(tp_val_get(m, "loader"), &len);
	if (tr->stream) {
		/* Every rank's own position ("loader" alone: one rank); on
		 * another number of ranks the shards change, so each rank
		 * starts a fresh pass over its new shard (doc/tp-distributed.7). */
		const struct tp_val *all = tp_val_get(m, "loaders");
		size_t nl = all ? tp_val_len(all) : 1;

		tr->reshard = nl != (size_t)tr->nranks;
		if (all && !tr->reshard)
			lsb = tp_val_bin(tp_val_at(all, (size_t)tr->rank), &len);
	}
	win = tp_val_get(m, "train_window");
	if (tp_val_len(rng) != 4 || !lsb || tp_loader_state_decode(ls, lsb, len) != 0 ||
	    tp_val_f64(tp_val_get(win, "loss"), &tr->win_loss) != 0 ||
	    tp_val_i64(tp_val_get(win, "steps"), &tr->win_steps) != 0 ||
	    tp_val_i64(tp_val_get(win, "examples"), &tr->win_examples) != 0) {
		tp_errorf("%s: manifest: bad rng, loader or train_window", tp_ckpt_path(c));
		return -1;
	}
	for (int i = 0; i < 4; i++)
		if (tp_val_u64(tp_val_at(rng, (size_t)i), &tr->drop_rng.s[i]) != 0) {
			tp_errorf("%s: manifest: bad rng state", tp_ckpt_path(c));
			return -1;
		}
	if (step > (uint64_t)tr->hp.steps) {
		tp_errorf("%s: step %llu is past the run's %lld steps", tp_ckpt_path(c),
		          (unsigned long long)step, (long long)tr->hp.steps);
		return -1;
	}
	tp_optim_set_steps(tr->opt, osteps);
	tr->step = (int64_t)step;
	tr->examples = (int64_t)examples;
	tr->run_bytes = off;
	met = tp_val_get(tp_val_get(m, "metrics"), "valid");
	if (met) {
		const char *k3[2][3] = {{"loss", "error", "accuracy"}, {"loss", "mse", "mae"}};
		int r = tr->train.h.classes > 0 ? 0 : 1;
		tr->have_valid_metrics = 1;
		tr->valid_metrics_step = tr->step;
		for (int i = 0; i < 3; i++)
			if (tp_val_f64(tp_val_get(met, k3[r][i]), &tr->valid_metrics[i]) != 0)
				tr->have_valid_metrics = 0;
	}
	return 0;
}

static int
parse_step_name(const char *name, int64_t *step)
{
	char *end;
	long long v;

	if (strncmp(name, "step-", 5) != 0)
		return -1;
	v = strtoll(name + 5, &end, 10);
	if (end == name + 5 || strcmp(end, ".tpc") != 0 || v < 0)
		return -1;
	*step = v;
	return 0;
}

/*
 * Resume from the newest checkpoint that verifies; skip damaged ones with a
 * warning, remove temporary files of interrupted writes, and remember the
 * valid older ones for the keep policy.  1 resumed, 0 nothing to resume
 * from, -1 error.
 */
static int
resume_state(struct trainer *tr, struct tp_loader_state *ls)
{
	char *dir = run_path(tr, "ckpt");
	DIR *d = opendir(dir);
	struct dirent *e;
	struct saved_ckpt *all = NULL;
	size_t n = 0;
	int found = 0, rc = 0;

	if (!d) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc)
			tp_syserrorf("%s", dir);
		free(dir);
		return rc;
	}
	while ((e = readdir(d))) {
		int64_t step;
		if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp.")) {
			char *p = run_path(tr, "ckpt/");
			p = tp_xrealloc(p, strlen(p) + strlen(e->d_name) + 1);
			strcat(p, e->d_name);
			unlink(p);
			free(p);
			continue;
		}
		if (parse_step_name(e->d_name, &step) != 0)
			continue;
		all = tp_xrealloc(all, (n + 1) * sizeof *all);
		all[n] = (struct saved_ckpt){step, ckpt_path(tr, step), 0, 0};
		n++;
	}
	closedir(d);
	free(dir);
	if (n > 1)
		qsort(all, n, sizeof *all, cmp_step_desc);
	for (size_t i = 0; i < n; i++) {
		struct tp_ckpt *c = tp_ckpt_open(all[i].path);
		if (!c) {
			tp_warnf("%s: skipped, it does not verify", all[i].path);
			unlink(all[i].path);
			free(all[i].path);
			continue;
		}
		if (!found) {
			if (restore_full(tr, c, ls) != 0) {
				tp_ckpt_close(c);
				rc = -1;
				for (size_t j = i; j < n; j++)
					free(all[j].path);
				break;
			}
			found = 1;
		}
		{
			const struct tp_val *met =
			    tp_val_get(tp_val_get(tp_ckpt_manifest(c), "metrics"), "valid");
			double v;
			int has = tp_val_f64(tp_val_get(met, tr->hp.keep_metric), &v) == 0;
			remember_ckpt(tr, all[i].step, all[i].path, has, has ? v : 0);
		}
		tp_ckpt_close(c);
	}
	free(all);
	return rc < 0 ? -1 : found;
}

/*
 * Average the batch-norm running statistics over the ranks, before an
 * evaluation or a checkpoint (playbook: multi-host pipelines).  Each rank
 * updated them from its own ghost batches; the update is linear, so with
 * equal shares the average equals one rank's statistics over all the ghost
 * batches (up to rounding), whenever it is taken.
 */
static int
sync_buffers(struct trainer *tr)
{
	size_t nb;
	float *bu = tp_model_buffers(tr->model, &nb);
	double t = now();

	if (tr->nranks < 2 || nb == 0)
		return 0;
	if (tp_dist_sum_f32(tr->dist, bu, nb) != 0)
		return -1;
	for (size_t i = 0; i < nb; i++)
		bu[i] /= (float)tr->nranks;
	tr->phase[PH_REDUCE] += now() - t;
	return 0;
}

/*
 * Ranks other than 0 restore the checkpoint rank 0 chose (it alone scans,
 * cleans and deletes in ckpt/); the step travels by broadcast.  1 resumed,
 * 0 nothing to resume from, -1 error.
 */
static int
resume_ranks(struct trainer *tr, int resumed, struct tp_loader_state *ls)
{
	int64_t step = resumed < 0 ? -2 : resumed ? tr->step : -1;
	struct tp_ckpt *c;
	char *path;
	int rc;

	if (tp_dist_bcast(tr->dist, &step, sizeof step, 0) != 0 || step == -2)
		return -1;
	if (tr->rank == 0 || step < 0)
		return step >= 0;
	path = ckpt_path(tr, step);
	c = tp_ckpt_open(path);
	free(path);
	if (!c)
		return -1;
	rc = restore_full(tr, c, ls);
	tp_ckpt_close(c);
	return rc == 0 ? 1 : -1;
}

/* The final model artifact, RUN_DIR/model.tpm. */
static int
write_model_artifact(struct trainer *tr)
{
	char *path;
	struct tp_ckpt_blob blobs[2];
	size_t n;
	int rc;

	if (tr->rank != 0)
		return 0;
	path = run_path(tr, "model.tpm");
	model_manifest(tr, &tr->mrb, "model");
	n = model_blobs(tr, blobs);
	rc = tp_ckpt_write(path, &tr->mrb, blobs, n, tr->o->ckpt_level);
	free(path);
	return rc;
}

/* ---- the loop ---- */

static int
evaluate_split(struct trainer *tr, const struct tp_dataset *ds,
               const char *split, const char *path, const char *ckpt)
{
	struct tp_metrics m;
	int valid = strcmp(split, "valid") == 0, rc;

	tp_metrics_init(&m, (int)ds->h.classes,
	                tp_model_get_config(tr->model)->outputs, 0, 0);
	if (tr->nranks > 1) {
		/* Each rank its shard; the sums and a failure flag added up, so
		 * every rank leaves with the same metrics or the same error. */
		size_t ns = tp_metrics_nsums(&m);
		double *sums = tp_xmallocarray(ns + 1, sizeof *sums);
		rc = tp_evaluate_shard(tr->model, ds, tr->eval_batch, (uint32_t)tr->rank,
		                       (uint32_t)tr->nranks, &m);
		tp_metrics_pack(&m, sums);
		sums[ns] = rc != 0;
		if (tp_dist_sum_f64(tr->dist, sums, ns + 1) != 0 || sums[ns] > 0)
			rc = -1;
		else
			tp_metrics_unpack(&m, sums);
		free(sums);
	} else {
		rc = tp_evaluate(tr->model, ds, tr->eval_batch, &m, NULL);
	}
	if (rc == 0) {
		tp_rb_begin(&tr->rb, "eval");
		tp_rb_i64(&tr->rb, "step", tr->step);
		tp_rb_str(&tr->rb, "split", split);
		tp_metrics_write(&m, &tr->rb);
		tp_rb_i64(&tr->rb, "examples", tr->examples);
		tp_rb_f64(&tr->rb, "epoch", (double)tr->examples / (double)tr->train.n);
		if (path)
			tp_rb_str(&tr->rb, "dataset", path);
		if (ckpt && valid)
			tp_rb_str(&tr->rb, "checkpoint", ckpt);
		put_ids(tr, &tr->rb);
		rc = emit(tr);
	}
	if (rc == 0 && valid) {
		const char *k3[2][3] = {{"loss", "error", "accuracy"}, {"loss", "mse", "mae"}};
		int r = ds->h.classes > 0 ? 0 : 1;
		for (int i = 0; i < 3; i++)
			tp_metrics_get(&m, k3[r][i], &tr->valid_metrics[i]);
		tr->have_valid_metrics = 1;
		tr->valid_metrics_step = tr->step;
		snprintf(tr->last_eval, sizeof tr->last_eval, "valid %s %.4g", k3[r][1],
		         tr->valid_metrics[1]);
	}
	tp_metrics_release(&m);
	return rc;
}

static int
write_train(struct trainer *tr, double lr, double gnorm, double t)
{
	double wall = t - tr->win_start;

	tp_rb_begin(&tr->rb, "train");
	tp_rb_i64(&tr->rb, "step", tr->step);
	tp_rb_f64(&tr->rb, "loss", tr->win_loss / (double)tr->win_steps);
	tp_rb_f64(&tr->rb, "lr", lr);
	tp_rb_f64(&tr->rb, "grad_norm", gnorm);
	if (tr->o->timing) {
		tp_rb_f64(&tr->rb, "examples_per_s",
		          wall > 0 ? (double)tr->win_examples / wall : 0.0);
		tp_rb_f64(&tr->rb, "input_wait", wall > 0 ? tr->win_wait / wall : 0.0);
		put_times(tr);
	}
	put_ids(tr, &tr->rb);
	tr->win_start = t;
	tr->win_wait = 0;
	tr->win_examples = tr->win_steps = 0;
	tr->win_loss = 0;
	return emit(tr);
}

static void
progress(struct trainer *tr, double loss, int final)
{
	double t = now(), el = t - tr->t_start;
	int64_t total = tr->hp.steps, s = tr->step;

	if (!final && t - tr->last_progress < 0.2)
		return;
	tr->last_progress = t;
	fprintf(stderr, "\r\033[K%s: step %lld/%lld  %.0f steps/s  ETA %.0fs  loss %.4g  %s",
	        program_invocation_short_name, (long long)s, (long long)total,
	        el > 0 ? s / el : 0.0, s > 0 ? el / s * (double)(total - s) : 0.0,
	        loss, tr->last_eval);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static int
diverged(struct trainer *tr, const char *reason)
{
	tp_rb_begin(&tr->rb, "diverged");
	tp_rb_i64(&tr->rb, "step", tr->step + 1);
	tp_rb_str(&tr->rb, "reason", reason);
	put_ids(tr, &tr->rb);
	if (emit(tr) != 0)
		return TP_EXIT_RUNTIME;
	if (tr->rank == 0)
		tp_errorf("diverged at step %lld: %s", (long long)tr->step + 1, reason);
	return TP_EXIT_DIVERGED;
}

static int
write_summary(struct trainer *tr, int status)
{
	tp_rb_begin(&tr->rb, "summary");
	tp_rb_i64(&tr->rb, "steps", tr->step);
	tp_rb_str(&tr->rb, "status", status == TP_EXIT_OK ? "done"
	          : status == TP_EXIT_DIVERGED ? "diverged" : "stopped");
	if (tr->o->timing) {
		double total = now() - tr->t_start;
		tp_rb_f64(&tr->rb, "seconds", total);
		put_times(tr);
		tp_rb_f64(&tr->rb, "input_wait", total > 0 ? tr->phase[PH_DATA] / total : 0.0);
	}
	put_ids(tr, &tr->rb);
	return emit(tr);
}

/* Clip, schedule, update and check: the part of a step that is the same
 * on one rank and on many.  TP_EXIT_OK or TP_EXIT_DIVERGED (recorded). */
static int
apply_update(struct trainer *tr, float *params, float *grads, size_t n,
             double *lr, double *gnorm)
{
	const char *bad = NULL;

	/* The norm is reported only in train records and needed every step
	 * only to clip; a NaN or Inf gradient on another step turns the
	 * parameters non-finite and the next loss with them, which stops the
	 * run one step later.  Skipping two passes over every parameter is
	 * worth ~3% of a large model's step. */
	if (tr->hp.clip_norm > 0 || tr->full_check) {
		*gnorm = tp_optim_clip_grad_norm(grads, n, tr->hp.clip_norm);
		if (!isfinite(*gnorm))
			return diverged(tr, "gradient norm is not finite");
	}
	*lr = tp_schedule_lr(&tr->sched, (uint64_t)tr->step);
	tp_optim_step(tr->opt, params, grads, *lr);
	if (tr->full_check && !tp_model_finite(tr->model, &bad)) {
		char why[128];
		snprintf(why, sizeof why, "%s is not finite", bad ? bad : "a parameter");
		return diverged(tr, why);
	}
	return TP_EXIT_OK;
}

struct layer_update {
	struct trainer *tr;
	float *params;
	float *grads;
	pthread_t caller;
	double secs; /* spent updating, on the caller's thread */
};

/* Nothing reads a gradient after its update, so the update clears it and
 * the next backward pass need not. */
static int
update_layer(void *arg, size_t off, size_t len)
{
	struct layer_update *u = arg;
	double t = now();

	tp_optim_apply_clear(u->tr->opt, u->params, u->grads, off, len);
	/* Updates on the pool's other threads overlap this thread's. */
	if (pthread_equal(pthread_self(), u->caller))
		u->secs += now() - t;
	return 1;
}

/* A step done: position and the open train-record window. */
static void
count_step(struct trainer *tr, size_t valid, double waited, double loss)
{
	tr->win_wait += waited;
	if (!tr->stepped)
		tr->first_wait = waited;
	tr->stepped = 1;
	tr->step++;
	tr->examples += (int64_t)valid;
	tr->win_examples += (int64_t)valid;
	tr->win_steps++;
	tr->win_loss += loss;
}

/* One update; TP_EXIT_OK or the reason to stop. */
static int
train_step(struct trainer *tr, double *loss, double *lr, double *gnorm)
{
	size_t np, ng;
	float *params = tp_model_params(tr->model, &np);
	float *grads = tp_model_grads(tr->model, &ng);
	const struct tp_ds_batch *db;
	double t0 = now(), t1, t2, t3, t4;
	int rc;

	if (tp_loader_next(tr->loader, &db) != 1)
		return TP_EXIT_RUNTIME;
	t1 = now();
	struct tp_batch b = {.x = db->x, .label = db->y, .target = db->t,
	                     .w = db->w, .n = (int)db->n};
	if (tp_model_forward(tr->model, &b, &tr->drop_rng, loss) != 0)
		return TP_EXIT_RUNTIME;
	t2 = now();
	if (!isfinite(*loss))
		return diverged(tr, isnan(*loss) ? "loss is NaN" : "loss is infinite");
	if (tr->hp.clip_norm <= 0 && !tr->full_check) {
		/* Nothing needs every gradient before the update (no clipping,
		 * no norm to report), so each layer is updated as soon as its
		 * gradient is final, while it is still in cache: the same
		 * values, less memory traffic. */
		struct layer_update u = {tr, params, grads, pthread_self(), 0};

		*lr = tp_schedule_lr(&tr->sched, (uint64_t)tr->step);
		tp_optim_begin(tr->opt, *lr);
		tp_model_backward_each(tr->model, update_layer, &u);
		t3 = t4 = now();
		t3 -= u.secs;
	} else {
		tp_model_backward(tr->model);
		t3 = now();
		if ((rc = apply_update(tr, params, grads, ng, lr, gnorm)) != TP_EXIT_OK)
			return rc;
		t4 = now();
	}
	tr->phase[PH_DATA] += t1 - t0;
	tr->phase[PH_FORWARD] += t2 - t1;
	tr->phase[PH_BACKWARD] += t3 - t2;
	tr->phase[PH_UPDATE] += t4 - t3;
	count_step(tr, db->valid, t1 - t0, *loss);
	return TP_EXIT_OK;
}

/*
 * One update of a P-rank run; TP_EXIT_OK or the reason to stop, the same on
 * every rank.  Rank r computes rows [r*B/P, (r+1)*B/P) of the global batch:
 * a contiguous block, so when ghost_batch divides B/P the ghost batches are
 * those of a 1-rank run.  Its gradient is of its own weighted mean; scaled
 * by W_r/W (W_r its weight, W the batch's) and summed over ranks it is the
 * gradient of sum w l / sum w over the whole batch.  A streaming rank's
 * loader yields its block alone, from its own shard.
 */
static int
train_step_ranks(struct trainer *tr, double *loss, double *lr, double *gnorm)
{
	size_t np, ng, lo, hi;
	float *params = tp_model_params(tr->model, &np);
	float *grads = tp_model_grads(tr->model, &ng);
	const struct tp_ds_batch *db;
	double t0 = now(), t1, t2, t3, t4, t5, wr = 0, lossr = 0, red[4];
	int any = 0, failed = 0, rc;
	float scale;

	if (tp_loader_next(tr->loader, &db) != 1)
		return TP_EXIT_RUNTIME;
	t1 = now();
	lo = tr->stream ? 0 : rank_rows(tr, tr->rank);
	hi = tr->stream ? db->n : rank_rows(tr, tr->rank + 1);
	for (size_t i = lo; i < hi; i++) {
		wr += db->w[i];
		any |= db->w[i] != 0;
	}
	/* Dropout masks from (seed, step, rank): no generator state per rank
	 * to save, so a checkpoint resumes exactly on the same P. */
	tp_rng_seed(&tr->drop_rng, tp_seed_derive(tp_seed_derive(tr->drop_seed,
	            (uint64_t)tr->step), (uint64_t)tr->rank));
	t2 = t1;
	if (any) {
		struct tp_batch b = {.x = db->x + lo * db->d,
		                     .label = db->y ? db->y + lo : NULL,
		                     .target = db->t ? db->t + lo : NULL,
		                     .w = db->w + lo, .n = (int)(hi - lo)};
		failed = tp_model_forward(tr->model, &b, &tr->drop_rng, &lossr) != 0;
		t2 = now();
		if (!failed)
			tp_model_backward(tr->model);
	}
	if (!any || failed) {
		/* Nothing to add, but the rank still takes part in the sums. */
		memset(grads, 0, ng * sizeof *grads);
		wr = lossr = 0;
	}
	t3 = now();
	red[0] = wr * lossr;
	red[1] = wr;
	red[2] = failed;
	red[3] = tr->o->stop && *tr->o->stop;
	if (tp_dist_sum_f64(tr->dist, red, 4) != 0)
		return TP_EXIT_RUNTIME;
	tr->stop_agreed = red[3] > 0;
	if (red[2] > 0)
		return TP_EXIT_RUNTIME; /* the failing rank said why */
	if (!(red[1] > 0)) {
		if (tr->rank == 0)
			tp_errorf("step %lld: the batch has a total weight of 0",
			          (long long)tr->step + 1);
		return TP_EXIT_RUNTIME;
	}
	*loss = red[0] / red[1];
	if (!isfinite(*loss))
		return diverged(tr, isnan(*loss) ? "loss is NaN" : "loss is infinite");
	scale = (float)(wr / red[1]);
	for (size_t i = 0; i < ng; i++)
		grads[i] *= scale;
	if (tp_dist_sum_f32(tr->dist, grads, ng) != 0)
		return TP_EXIT_RUNTIME;
	t4 = now();
	if ((rc = apply_update(tr, params, grads, ng, lr, gnorm)) != TP_EXIT_OK)
		return rc;
	t5 = now();
	tr->phase[PH_DATA] += t1 - t0;
	tr->phase[PH_FORWARD] += t2 - t1;
	tr->phase[PH_BACKWARD] += t3 - t2;
	tr->phase[PH_REDUCE] += t4 - t3;
	tr->phase[PH_UPDATE] += t5 - t4;
	/* Train batches are full: the global batch's examples. */
	count_step(tr, (size_t)tr->hp.batch_size, t1 - t0, *loss);
	return TP_EXIT_OK;
}

static int
stop_requested(const struct trainer *tr)
{
	/* With several ranks, the request as summed at the last step: every
	 * rank stops at the same step. */
	if (tr->nranks > 1)
		return tr->stop_agreed;
	return tr->o->stop && *tr->o->stop;
}

static int
run(struct trainer *tr, int resumed)
{
	const struct tp_hparams *hp = &tr->hp;
	double loss = 0, gnorm = 0, lr = 0;
	int status = TP_EXIT_OK, ckpt_on = hp->checkpoints || hp->checkpoint_every;

	tr->t_start = tr->win_start = tr->last_progress = now();
	if (!resumed) {
		tp_rb_begin(&tr->rb, "config");
		config_keys(tr, &tr->rb);
		if (emit(tr) != 0)
			return TP_EXIT_RUNTIME;
	}
	while (tr->step < hp->steps) {
		int ck, rc;

		if (stop_requested(tr)) {
			status = TP_EXIT_INTERRUPTED;
			if (tr->rank == 0)
				tp_errorf("interrupted at step %lld%s", (long long)tr->step,
				          ckpt_on ? ", saving a checkpoint" : "");
			/* A preemption checkpoint: no record, so the resumed stream
			 * is the one an uninterrupted run writes. */
			if (ckpt_on && tr->step > 0) {
				if (sync_buffers(tr) != 0)
					return TP_EXIT_RUNTIME;
				rc = save_checkpoint(tr, ckpt_path(tr, tr->step));
				if (rc != TP_EXIT_OK)
					return rc;
			}
			/* After the checkpoint: its metrics length leaves the summary
			 * out, so a resumed stream is still the uninterrupted one. */
			return write_summary(tr, status) == 0 ? status : TP_EXIT_RUNTIME;
		}
		{
			int64_t next = tr->step + 1;
			tr->full_check = next % hp->log_every == 0 || next == hp->steps ||
			                 (hp->eval_every > 0 && next % hp->eval_every == 0) ||
			                 (ckpt_on && ckpt_due(hp, next));
		}
		rc = tr->nranks > 1 ? train_step_ranks(tr, &loss, &lr, &gnorm)
		                    : train_step(tr, &loss, &lr, &gnorm);
		if (rc == TP_EXIT_DIVERGED)
			return write_summary(tr, rc) == 0 ? rc : TP_EXIT_RUNTIME;
		if (rc != TP_EXIT_OK)
			return rc;
		if (tr->step % hp->log_every == 0 || tr->step == hp->steps)
			if (write_train(tr, lr, gnorm, now()) != 0)
				return TP_EXIT_RUNTIME;
		ck = ckpt_on && ckpt_due(hp, tr->step);
		if ((hp->eval_every > 0 && tr->step % hp->eval_every == 0) ||
		    tr->step == hp->steps || ck) {
			double te = now();
			char *cpath;

			if (sync_buffers(tr) != 0)
				return TP_EXIT_RUNTIME;
			cpath = ck ? ckpt_path(tr, tr->step) : NULL;
			if ((tr->have_valid &&
			     evaluate_split(tr, &tr->valid, "valid", tr->valid_path, cpath) != 0) ||
			    (tr->have_subset &&
			     evaluate_split(tr, &tr->subset, "train", tr->train_paths[0], NULL) != 0)) {
				free(cpath);
				return TP_EXIT_RUNTIME;
			}
			tr->phase[PH_EVAL] += now() - te;
			if (ck && (rc = save_checkpoint(tr, cpath)) != TP_EXIT_OK)
				return rc;
		}
		if (tr->o->progress && tr->rank == 0)
			progress(tr, loss, tr->step == hp->steps);
	}
	if (tr->o->timing && tr->stepped && tr->rank == 0) {
		/* Steady state: the wait for the first batch is start-up. */
		double f = (tr->phase[PH_DATA] - tr->first_wait) /
		           (now() - tr->t_start - tr->first_wait);
		if (f > tr->o->input_bound)
			tp_warnf("input-bound: %.0f%% of the time was spent waiting for data",
			         100 * f);
	}
	if (write_summary(tr, status) != 0)
		return TP_EXIT_RUNTIME;
	if (tr->o->run_dir && write_model_artifact(tr) != 0)
		return TP_EXIT_RUNTIME;
	return status;
}

static int
start(struct trainer *tr)
{
	struct tp_loader_state ls;
	int status, resumed = 0;
	char *dir;

	if (tr->o->resume && load_run_config(tr) != 0)
		return TP_EXIT_RUNTIME;
	status = setup(tr);
	if (status != TP_EXIT_OK)
		return status;
	if (tr->init_from && warm_start(tr) != 0)
		return TP_EXIT_RUNTIME;
	if (tr->o->run_dir && tr->rank == 0) {
		if (tp_mkdir_p(tr->o->run_dir) != 0)
			return TP_EXIT_RUNTIME;
		dir = run_path(tr, "ckpt");
		if ((tr->hp.checkpoints || tr->hp.checkpoint_every) &&
		    mkdir(dir, 0777) != 0 && errno != EEXIST) {
			tp_syserrorf("%s: cannot create checkpoint directory", dir);
			free(dir);
			return TP_EXIT_RUNTIME;
		}
		free(dir);
	}
	if (tr->o->resume) {
		if (tr->rank == 0)
			resumed = resume_state(tr, &ls);
		if (tr->nranks > 1)
			resumed = resume_ranks(tr, resumed, &ls);
		if (resumed < 0)
			return TP_EXIT_RUNTIME;
	} else if (tr->o->run_dir && tr->rank == 0 && write_config_file(tr) != 0) {
		return TP_EXIT_RUNTIME;
	}
	if (open_loader(tr, resumed && !tr->reshard ? &ls : NULL) != 0)
		return TP_EXIT_RUNTIME;
	if (open_outputs(tr) != 0)
		return TP_EXIT_RUNTIME;
	return run(tr, resumed);
}

int
tp_train(const struct tp_train_opts *o)
{
	struct trainer tr;
	int status, threads, blas_threads = tp_blas_threads();

	memset(&tr, 0, sizeof tr);
	tr.o = o;
	tr.hp = o->hp;
	tr.train_paths = o->train_paths;
	tr.ntrain = o->ntrain;
	tr.valid_path = o->valid_path;
	tr.study = o->study;
	tr.trial = o->trial;
	tr.scientific = o->scientific;
	tr.command = o->command;
	tr.init_from = o->init_from;
	tr.stream = o->stream;
	tr.shuffle_buffer = o->shuffle_buffer;
	tp_dataset_init(&tr.train);
	tp_dataset_init(&tr.valid);
	tp_dataset_init(&tr.subset);
	tp_rb_init(&tr.rb);
	tp_rb_init(&tr.mrb);
	tr.dist = o->dist;
	tr.rank = tp_dist_rank(o->dist);
	tr.nranks = tp_dist_size(o->dist);
	/* Ranks share the cores: one thread each unless told. */
	if (tr.nranks > 1 && o->threads <= 0 && !getenv("OPENBLAS_NUM_THREADS"))
		threads = 1;
	else
		threads = o->threads > 0 ? o->threads : blas_threads;
	/*
	 * tp's own threads cut every matrix product into blocks, one
	 * single-threaded OpenBLAS call each, and run the update: one set of
	 * threads that spin briefly between the many short products of a
	 * step, instead of OpenBLAS's threads and the update's taking turns
	 * on the same cores.  The same thread count gives the same bits.
	 */
	tp_blas_set_threads(1);
	if (threads > 1) {
		tr.pool = tp_pool_new(threads);
		tp_pool_set_spin(tr.pool, TRAIN_SPIN_USEC);
	}
	status = start(&tr);
	if (close_outputs(&tr) != 0 && status == TP_EXIT_OK)
		status = TP_EXIT_RUNTIME;
	tp_loader_close(tr.loader);
	tp_optim_free(tr.opt);
	tp_model_free(tr.model);
	tp_pool_free(tr.pool);
	tp_blas_set_threads(blas_threads);
	tp_dataset_release(&tr.train);
	tp_dataset_release(&tr.valid);
	tp_dataset_release(&tr.subset);
	tp_rb_release(&tr.rb);
	tp_rb_release(&tr.mrb);
	for (size_t i = 0; i < tr.nck; i++)
		free(tr.ck[i].path);
	free(tr.ck);
	free(tr.loaders);
	for (size_t i = 0; tr.cfg_train && i < tr.ntrain; i++)
		free(tr.cfg_train[i]);
	free(tr.cfg_train);
	for (int i = 0; i < 4; i++)
		free(tr.cfg_strs[i]);
	kept_release(&tr.cfg);
	return status;
}
