/*
 * evalrun.c: tp-eval's work: expand operands into checkpoints, rebuild each
 * model, evaluate it exactly on the dataset (and a sample, with a skew
 * report), write the records, and keep the cron ledger consistent between
 * overlapping invocations.  The protocol is in include/tp/evalrun.h and
 * doc/tp-eval.1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tp/artifact.h"
#include "tp/atomic.h"
#include "tp/ckpt.h"
#include "tp/dataset.h"
#include "tp/evalrun.h"
#include "tp/evaluate.h"
#include "tp/hparams.h"
#include "tp/hpconfig.h"
#include "tp/linalg.h"
#include "tp/model.h"
#include "tp/record.h"
#include "tp/rng.h"
#include "tp/sha256.h"
#include "tp/zio.h"

void
tp_evalrun_opts_init(struct tp_evalrun_opts *o)
{
	memset(o, 0, sizeof *o);
	o->split = "test";
	o->batch = 4096;
	o->claim_timeout = 3600;
}

/* ---- operands ---- */

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = tp_xmalloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

struct stepname {
	long long step;
	char *name;
};

static int
cmp_stepname(const void *a, const void *b)
{
	const struct stepname *x = a, *y = b;

	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
push(char ***paths, size_t *n, char *p)
{
	*paths = tp_xrealloc(*paths, (*n + 1) * sizeof **paths);
	(*paths)[(*n)++] = p;
}

/* A run directory's checkpoints, in step order, or its model.tpm. */
static int
expand_dir(const char *dir, char ***paths, size_t *npaths)
{
	char *cdir = join(dir, "ckpt"), *model;
	struct stepname *sn = NULL;
	size_t n = 0;
	struct stat st;
	DIR *d = opendir(cdir);
	struct dirent *e;

	if (!d && errno != ENOENT) {
		tp_syserrorf("%s", cdir);
		free(cdir);
		return -1;
	}
	while (d && (e = readdir(d))) {
		char *end;
		long long v;
		/* Hidden names are temporary files of writes in progress. */
		if (e->d_name[0] == '.' || strncmp(e->d_name, "step-", 5) != 0)
			continue;
		v = strtoll(e->d_name + 5, &end, 10);
		if (end == e->d_name + 5 || strcmp(end, ".tpc") != 0 || v < 0)
			continue;
		sn = tp_xrealloc(sn, (n + 1) * sizeof *sn);
		sn[n].step = v;
		sn[n++].name = join(cdir, e->d_name);
	}
	if (d)
		closedir(d);
	free(cdir);
	if (n > 0) {
		qsort(sn, n, sizeof *sn, cmp_stepname);
		for (size_t i = 0; i < n; i++)
			push(paths, npaths, sn[i].name);
		free(sn);
		return 0;
	}
	free(sn);
	model = join(dir, "model.tpm");
	if (stat(model, &st) == 0)
		push(paths, npaths, model);
	else
		free(model);
	return 0;
}

int
tp_evalrun_expand(const char *const *ops, size_t nops, char ***paths,
                  size_t *npaths)
{
	*paths = NULL;
	*npaths = 0;
	for (size_t i = 0; i < nops; i++) {
		struct stat st;
		if (stat(ops[i], &st) != 0) {
			tp_syserrorf("%s", ops[i]);
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			if (expand_dir(ops[i], paths, npaths) != 0)
				goto fail;
		} else {
			push(paths, npaths, tp_xstrdup(ops[i]));
		}
	}
	return 0;
fail:
	tp_evalrun_paths_free(*paths, *npaths);
	*paths = NULL;
	*npaths = 0;
	return -1;
}

void
tp_evalrun_paths_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* ---- statistics ---- */

double
tp_sample_se(const double *x, const float *w, size_t N, size_t n, int fpc)
{
	double W = 0, mean = 0, ss = 0, se;

	if (N == 0 || n == 0)
		return NAN;
	for (size_t i = 0; i < N; i++) {
		double wi = w ? w[i] : 1.0;
		W += wi;
		mean += wi * x[i];
	}
	if (!(W > 0))
		return NAN;
	mean /= W;
	for (size_t i = 0; i < N; i++) {
		double wi = w ? w[i] : 1.0, d = x[i] - mean;
		ss += wi * d * d;
	}
	se = sqrt(ss / W / (double)n);
	if (fpc)
		se *= n >= N ? 0.0 : sqrt((double)(N - n) / (double)(N - 1));
	return se;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
tp_sample_indices(uint64_t seed, size_t N, size_t n, uint32_t *idx)
{
	uint32_t *all = tp_xmallocarray(N ? N : 1, sizeof *all);
	struct tp_rng r;

	for (size_t i = 0; i < N; i++)
		all[i] = (uint32_t)i;
	tp_rng_seed(&r, seed);
	/* A partial Fisher-Yates: the first n of a uniform permutation. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i + (size_t)tp_rng_below(&r, N - i);
		uint32_t t = all[i];
		all[i] = all[j];
		all[j] = t;
	}
	memcpy(idx, all, n * sizeof *idx);
	free(all);
	/* File order, so a sample of everything sums exactly like the full set. */
	qsort(idx, n, sizeof *idx, cmp_u32);
}

void
tp_sample_indices_stratified(uint64_t seed, const int32_t *y, size_t N, int K,
                             size_t n, uint32_t *idx, size_t *counts)
{
	size_t *Nk = tp_xcalloc((size_t)K, sizeof *Nk), *nk = tp_xcalloc((size_t)K, sizeof *nk);
	size_t *start = tp_xcalloc((size_t)K + 1, sizeof *start), given = 0, out = 0;
	uint32_t *byclass = tp_xmallocarray(N ? N : 1, sizeof *byclass);
	double *frac = tp_xcalloc((size_t)K, sizeof *frac);
	struct tp_rng r;

	for (size_t i = 0; i < N; i++)
		Nk[y[i]]++;
	for (int k = 0; k < K; k++) {
		/* Exact in integers (n < 2^31, N_k < 2^32): floor(n N_k / N) and
		 * its remainder. */
		nk[k] = (size_t)((uint64_t)n * Nk[k] / N);
		frac[k] = (double)((uint64_t)n * Nk[k] % N) / (double)N;
		given += nk[k];
		start[k + 1] = start[k] + Nk[k];
	}
	while (given < n) {
		int best = -1;
		for (int k = 0; k < K; k++)
			if (nk[k] < Nk[k] && frac[k] > 0 && (best < 0 || frac[k] > frac[best]))
				best = k;
		if (best < 0)
			break; /* cannot happen: n <= N */
		nk[best]++;
		frac[best] = 0;
		given++;
	}
	/* Class members in file order, then a partial Fisher-Yates per class,
	 * classes in order, from one generator. */
	{
		size_t *fill = tp_xmallocarray((size_t)K, sizeof *fill);
		memcpy(fill, start, (size_t)K * sizeof *fill);
		for (size_t i = 0; i < N; i++)
			byclass[fill[y[i]]++] = (uint32_t)i;
		free(fill);
	}
	tp_rng_seed(&r, seed);
	for (int k = 0; k < K; k++) {
		uint32_t *a = byclass + start[k];
		for (size_t i = 0; i < nk[k]; i++) {
			size_t j = i + (size_t)tp_rng_below(&r, Nk[k] - i);
			uint32_t t = a[i];
			a[i] = a[j];
			a[j] = t;
			idx[out++] = a[i];
		}
	}
	qsort(idx, out, sizeof *idx, cmp_u32);
	if (counts)
		memcpy(counts, nk, (size_t)K * sizeof *counts);
	free(Nk);
	free(nk);
	free(start);
	free(byclass);
	free(frac);
}

double
tp_stratified_se(const double *x, const int32_t *y, size_t N, int K,
                 const size_t *counts, size_t n)
{
	double *sum = tp_xcalloc((size_t)K, sizeof *sum), *ss = tp_xcalloc((size_t)K, sizeof *ss);
	size_t *Nk = tp_xcalloc((size_t)K, sizeof *Nk);
	double var = 0;

	if (n == 0) {
		var = NAN;
		goto out;
	}
	for (size_t i = 0; i < N; i++) {
		sum[y[i]] += x[i];
		Nk[y[i]]++;
	}
	for (size_t i = 0; i < N; i++) {
		double d = x[i] - sum[y[i]] / (double)Nk[y[i]];
		ss[y[i]] += d * d;
	}
	for (int k = 0; k < K; k++) {
		double wk = (double)counts[k] / (double)n;
		if (counts[k] == 0 || counts[k] >= Nk[k])
			continue; /* nothing sampled, or the whole class: no variance */
		var += wk * wk * (ss[k] / (double)Nk[k]) / (double)counts[k] *
		       (double)(Nk[k] - counts[k]) / (double)(Nk[k] - 1);
	}
out:
	free(sum);
	free(ss);
	free(Nk);
	return sqrt(var);
}

/* ---- the ledger ---- */

enum { L_FREE, L_DONE, L_BUSY };

struct ledger {
	const char *path;
	char *lock_path;
	int lockfd;
	char host[256];
	double timeout;
	const char *data;
	char data_sha[65];
	struct tp_rb rb;
};

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
ledger_open(struct ledger *l, const char *path, const char *data,
            double timeout)
{
	memset(l, 0, sizeof *l);
	l->path = path;
	l->data = data;
	l->timeout = timeout;
	l->lockfd = -1;
	tp_rb_init(&l->rb);
	if (gethostname(l->host, sizeof l->host - 1) != 0)
		snprintf(l->host, sizeof l->host, "localhost");
	l->lock_path = tp_xmalloc(strlen(path) + 6);
	sprintf(l->lock_path, "%s.lock", path);
	l->lockfd = open(l->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (l->lockfd < 0) {
		tp_syserrorf("%s", l->lock_path);
		return -1;
	}
	return tp_sha256_file(data, l->data_sha);
}

static void
ledger_close(struct ledger *l)
{
	if (l->lockfd >= 0)
		close(l->lockfd);
	free(l->lock_path);
	tp_rb_release(&l->rb);
}

static int
ledger_lock(struct ledger *l, int op)
{
	while (flock(l->lockfd, op) != 0) {
		if (errno != EINTR) {
			tp_syserrorf("%s: cannot %s", l->lock_path,
			             op == LOCK_UN ? "unlock" : "lock");
			return -1;
		}
	}
	return 0;
}

/* Whether a claim still holds: its process may still be evaluating. */
static int
claim_live(const struct ledger *l, const struct tp_val *rec, double now)
{
	int64_t pid = 0;
	double t = 0;

	if (tp_val_f64(tp_val_get(rec, "time"), &t) != 0 || now - t > l->timeout)
		return 0;
	if (tp_val_streq(tp_val_get(rec, "host"), l->host) &&
	    tp_val_i64(tp_val_get(rec, "pid"), &pid) == 0) {
		if (pid <= 0 || pid == (int64_t)getpid())
			return 0;
		return kill((pid_t)pid, 0) == 0 || errno == EPERM;
	}
	return 1;
}

/* The state of key (path, sha) in the ledger, read under the lock. */
static int
ledger_state(struct ledger *l, const char *path, const char *sha, int *state)
{
	struct tp_rd *rd;
	const struct tp_val *rec;
	double now = wall_now();
	struct stat st;
	int got;

	*state = L_FREE;
	if (stat(l->path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		tp_syserrorf("%s", l->path);
		return -1;
	}
	rd = tp_rd_open(l->path);
	if (!rd)
		return -1;
	while ((got = tp_rd_next(rd, &rec)) == 1) {
		const struct tp_val *type = tp_val_get(rec, "type");
		if (!tp_val_streq(tp_val_get(rec, "checkpoint"), path) ||
		    !tp_val_streq(tp_val_get(rec, "sha256"), sha) ||
		    !tp_val_streq(tp_val_get(rec, "dataset_sha256"), l->data_sha))
			continue;
		if (tp_val_streq(type, "done"))
			*state = L_DONE;
		else if (*state != L_DONE && tp_val_streq(type, "claim"))
			*state = claim_live(l, rec, now) ? L_BUSY : L_FREE;
		else if (*state != L_DONE && tp_val_streq(type, "release"))
			*state = L_FREE;
	}
	tp_rd_close(rd);
	return got < 0 ? -1 : 0;
}

/* One record, one write(2), under the lock: never interleaved or torn by
 * another tp-eval; fsync so a claim survives a crash of this host. */
static int
ledger_append(struct ledger *l, const char *type, const char *path,
              const char *sha, int64_t step)
{
	const void *p;
	size_t len;
	struct stat st;
	int created = stat(l->path, &st) != 0, fd, rc = 0;

	tp_rb_begin(&l->rb, type);
	tp_rb_str(&l->rb, "checkpoint", path);
	tp_rb_str(&l->rb, "sha256", sha);
	tp_rb_str(&l->rb, "dataset", l->data);
	tp_rb_str(&l->rb, "dataset_sha256", l->data_sha);
	if (step >= 0)
		tp_rb_i64(&l->rb, "step", step);
	tp_rb_i64(&l->rb, "pid", (int64_t)getpid());
	tp_rb_str(&l->rb, "host", l->host);
	tp_rb_f64(&l->rb, "time", wall_now());
	p = tp_rb_finish(&l->rb, &len);
	fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		tp_syserrorf("%s", l->path);
		return -1;
	}
	if (tp_write_all(fd, p, len) != 0 || fsync(fd) != 0) {
		tp_syserrorf("%s: cannot append", l->path);
		rc = -1;
	}
	if (close(fd) != 0 && rc == 0) {
		tp_syserrorf("%s: cannot close", l->path);
		rc = -1;
	}
	if (rc == 0 && created && tp_fsync_dir_of(l->path) != 0)
		rc = -1;
	return rc;
}

/* Claim key atomically: *state L_FREE means it is now ours. */
static int
ledger_claim(struct ledger *l, const char *path, const char *sha, int *state)
{
	int rc;

	if (ledger_lock(l, LOCK_EX) != 0)
		return -1;
	rc = ledger_state(l, path, sha, state);
	if (rc == 0 && *state == L_FREE)
		rc = ledger_append(l, "claim", path, sha, -1);
	if (ledger_lock(l, LOCK_UN) != 0)
		rc = -1;
	return rc;
}

static int
ledger_finish(struct ledger *l, const char *type, const char *path,
              const char *sha, int64_t step)
{
	int rc;

	if (ledger_lock(l, LOCK_EX) != 0)
		return -1;
	rc = ledger_append(l, type, path, sha, step);
	if (ledger_lock(l, LOCK_UN) != 0)
		rc = -1;
	return rc;
}

/* ---- one checkpoint ---- */

struct loaded {
	struct tp_model *model;
	int64_t step, features, classes, trial;
	int64_t examples, train_examples; /* -1 when the manifest lacks them */
	char *study;
};

/* Release ld, keeping its model in *spare (freeing the one there) for the
 * next checkpoint: checkpoints of one run share the model's shape, and a
 * model for large batches is tens of MB to allocate and fault in again. */
static void
loaded_release(struct loaded *ld, struct tp_model **spare)
{
	if (ld->model) {
		tp_model_free(*spare);
		*spare = ld->model;
	}
	free(ld->study);
	memset(ld, 0, sizeof *ld);
}

/*
 * Open and verify path and rebuild its model for batches of `batch`, in
 * *spare when that has the same configuration (restoring overwrites every
 * parameter and buffer).  When err is not NULL a failure to open or verify
 * goes there (the caller may skip the file); other failures are printed.
 * 0, -1 error, -2 the file does not verify (with err).
 */
static int
load_ckpt(const char *path, size_t batch, struct loaded *ld, char *err,
          size_t errsz, struct tp_model **spare)
{
	struct tp_ckpt *c = err ? tp_ckpt_open_err(path, err, errsz) : tp_ckpt_open(path);
	const struct tp_val *man, *cfg, *params;
	struct tp_hparams hp;
	struct tp_model_config mc;
	int rc = -1;

	memset(ld, 0, sizeof *ld);
	ld->trial = -1;
	if (!c)
		return err ? -2 : -1;
	man = tp_ckpt_manifest(c);
	cfg = tp_val_get(man, "config");
	params = tp_val_get(cfg, "params");
	tp_hp_defaults(&hp);
	if (!params || tp_val_i64(tp_val_get(cfg, "features"), &ld->features) != 0 ||
	    tp_val_i64(tp_val_get(cfg, "classes"), &ld->classes) != 0 ||
	    tp_val_i64(tp_val_get(man, "step"), &ld->step) != 0) {
		tp_errorf("%s: manifest: no config with params, features and classes, or no step",
		          path);
		goto out;
	}
	if (tp_hp_set_map(&hp, params, path) != 0 ||
	    tp_hp_model_config(&hp, ld->features, ld->classes, &mc) != 0)
		goto out;
	ld->study = tp_val_strdup(tp_val_get(cfg, "study"));
	if (tp_val_i64(tp_val_get(cfg, "trial"), &ld->trial) != 0)
		ld->trial = -1;
	if (tp_val_i64(tp_val_get(man, "examples"), &ld->examples) != 0)
		ld->examples = -1;
	if (tp_val_i64(tp_val_get(cfg, "train_examples"), &ld->train_examples) != 0)
		ld->train_examples = -1;
	if (batch > (size_t)INT32_MAX)
		batch = INT32_MAX;
	if (*spare && tp_model_max_batch(*spare) == (int)batch &&
	    tp_model_config_equal(tp_model_get_config(*spare), &mc)) {
		ld->model = *spare;
		*spare = NULL;
	} else {
		ld->model = tp_model_new(&mc, (int)batch);
	}
	if (ld->model && tp_artifact_restore(ld->model, c) == 0)
		rc = 0;
out:
	tp_ckpt_close(c);
	if (rc != 0)
		loaded_release(ld, spare);
	return rc;
}

struct evaluator {
	const struct tp_evalrun_opts *o;
	struct tp_dataset data, sample;
	int have_sample;
	/* The batch, at most the larger set: a batch beyond the data would
	 * only compute padding (and allocate for it). */
	size_t batch;
	size_t *strata; /* [K] examples per class of a stratified sample */
	struct tp_wr *out, *pred;
	struct tp_rb rb;
	struct tp_model *spare; /* the last checkpoint's model, for the next */
};

static void
put_ids(struct tp_rb *b, const struct loaded *ld, const char *path,
        const char *dataset)
{
	tp_rb_str(b, "checkpoint", path);
	tp_rb_str(b, "dataset", dataset);
	if (ld->study)
		tp_rb_str(b, "study", ld->study);
	if (ld->trial >= 0)
		tp_rb_i64(b, "trial", ld->trial);
}

static int
write_eval(struct evaluator *ev, const struct loaded *ld, const char *path,
           const char *split, const char *dataset, const struct tp_metrics *m)
{
	tp_rb_begin(&ev->rb, "eval");
	tp_rb_i64(&ev->rb, "step", ld->step);
	tp_rb_str(&ev->rb, "split", split);
	tp_metrics_write(m, &ev->rb);
	/* Training progress as tp-train's eval records give it. */
	if (ld->examples >= 0) {
		tp_rb_i64(&ev->rb, "examples", ld->examples);
		if (ld->train_examples > 0)
			tp_rb_f64(&ev->rb, "epoch",
			          (double)ld->examples / (double)ld->train_examples);
	}
	put_ids(&ev->rb, ld, path, dataset);
	return tp_wr_rb(ev->out, &ev->rb);
}

static int
argmax(const float *z, int k)
{
	int best = 0;

	for (int j = 1; j < k; j++)
		if (z[j] > z[best])
			best = j;
	return best;
}

static int
write_predictions(struct evaluator *ev, const struct loaded *ld,
                  const char *path, const float *z, const float *loss)
{
	const struct tp_dataset *ds = &ev->data;
	int k = tp_model_get_config(ld->model)->outputs;

	for (size_t i = 0; i < ds->n; i++) {
		const float *zi = z + i * (size_t)k;
		tp_rb_begin(&ev->rb, "prediction");
		tp_rb_i64(&ev->rb, "index", (int64_t)i);
		if (ds->y) {
			int best = argmax(zi, k);
			double mx = zi[best], s = 0;
			tp_rb_i64(&ev->rb, "label", ds->y[i]);
			tp_rb_i64(&ev->rb, "predicted", best);
			for (int j = 0; j < k; j++)
				s += exp((double)zi[j] - mx);
			tp_rb_arr_begin(&ev->rb, "probs");
			for (int j = 0; j < k; j++)
				tp_rb_f32(&ev->rb, NULL, (float)(exp((double)zi[j] - mx) / s));
			tp_rb_arr_end(&ev->rb);
		} else {
			tp_rb_f32(&ev->rb, "label", ds->t[i]);
			tp_rb_f32(&ev->rb, "value", zi[0]);
		}
		tp_rb_f32(&ev->rb, "loss", loss[i]);
		if (ds->w[i] != 1.0f)
			tp_rb_f32(&ev->rb, "w", ds->w[i]);
		tp_rb_i64(&ev->rb, "step", ld->step);
		tp_rb_str(&ev->rb, "checkpoint", path);
		if (tp_wr_rb(ev->pred, &ev->rb) != 0)
			return -1;
	}
	return 0;
}

/* One metric of the skew record; returns whether it is within 2 SE. */
static int
skew_metric(struct tp_rb *b, const char *name, double sample, double full,
            double se)
{
	char key[64];
	double diff = sample - full;
	/* The 1e-12 absorbs summation-order rounding when SE is 0. */
	int ok = fabs(diff) <= 2 * se + 1e-12 * (1 + fabs(full));

	snprintf(key, sizeof key, "%s_sample", name);
	tp_rb_f64(b, key, sample);
	snprintf(key, sizeof key, "%s_full", name);
	tp_rb_f64(b, key, full);
	snprintf(key, sizeof key, "%s_diff", name);
	tp_rb_f64(b, key, diff);
	snprintf(key, sizeof key, "%s_se", name);
	tp_rb_f64(b, key, se);
	return ok;
}

/* Per-example values of a metric on the full set, into x[N]. */
static void
per_example(const struct tp_dataset *ds, const char *metric, int k,
            const float *z, const float *loss, double *x)
{
	for (size_t i = 0; i < ds->n; i++) {
		const float *zi = z + i * (size_t)k;
		if (strcmp(metric, "loss") == 0) {
			x[i] = loss[i];
		} else if (strcmp(metric, "accuracy") == 0) {
			x[i] = argmax(zi, k) == ds->y[i];
		} else { /* mae */
			double a = 0;
			for (int j = 0; j < k; j++)
				a += fabs((double)zi[j] - ds->t[i * (size_t)k + (size_t)j]);
			x[i] = a / k;
		}
	}
}

/*
 * Evaluate the sample, write its eval record and the skew record.  z and
 * loss are the full set's per-example outputs and losses: the standard
 * error of a sample mean is the population's spread over sqrt(n), and the
 * full set is the population the sample should represent.  (The sample's
 * own spread underestimates it when the loss is heavy-tailed and the
 * sample missed the tail, which is the skew we are looking for.)
 */
static int
eval_sample(struct evaluator *ev, const struct loaded *ld, const char *path,
            const struct tp_metrics *full, const float *z, const float *loss)
{
	static const char *const cls[] = {"loss", "accuracy"}, *const reg[] = {"loss", "mae"};
	const struct tp_evalrun_opts *o = ev->o;
	const struct tp_dataset *s = &ev->sample, *ds = &ev->data;
	const char *const *names = ds->y ? cls : reg;
	int k = tp_model_get_config(ld->model)->outputs, ok = 1, rc = -1;
	double *x = tp_xmallocarray(ds->n, sizeof *x);
	char split[256];
	struct tp_metrics m;

	snprintf(split, sizeof split, "%s-sample", o->split);
	tp_metrics_init(&m, (int)s->h.classes, k, o->confusion, o->topk);
	if (tp_evaluate(ld->model, s, ev->batch < s->n ? ev->batch : s->n, &m, NULL) != 0)
		goto out;
	if (write_eval(ev, ld, path, split,
	               o->sample_path ? o->sample_path : o->data, &m) != 0)
		goto out;
	tp_rb_begin(&ev->rb, "skew");
	tp_rb_i64(&ev->rb, "step", ld->step);
	tp_rb_str(&ev->rb, "split", o->split);
	tp_rb_i64(&ev->rb, "count", full->count);
	tp_rb_i64(&ev->rb, "sample_count", m.count);
	if (o->sample_path)
		tp_rb_str(&ev->rb, "sample", o->sample_path);
	else
		tp_rb_u64(&ev->rb, "sample_seed", o->sample_seed);
	if (ev->strata)
		tp_rb_bool(&ev->rb, "stratified", 1);
	for (int i = 0; i < 2; i++) {
		double vs = NAN, vf = NAN;
		per_example(ds, names[i], k, z, loss, x);
		tp_metrics_get(&m, names[i], &vs);
		tp_metrics_get(full, names[i], &vf);
		/* The finite population correction only for a sample drawn from
		 * this very set. */
		ok &= skew_metric(&ev->rb, names[i], vs, vf,
		                  ev->strata ? tp_stratified_se(x, ds->y, ds->n, (int)ds->h.classes,
		                                                ev->strata, s->n)
		                             : tp_sample_se(x, ds->w, ds->n, s->n, !o->sample_path));
	}
	tp_rb_str(&ev->rb, "verdict", ok ? "representative" : "skewed");
	put_ids(&ev->rb, ld, path, o->data);
	rc = tp_wr_rb(ev->out, &ev->rb);
out:
	tp_metrics_release(&m);
	free(x);
	return rc;
}

/* Evaluate a loaded checkpoint: eval record, predictions, sample. */
static int
eval_one(struct evaluator *ev, const struct loaded *ld, const char *path)
{
	const struct tp_evalrun_opts *o = ev->o;
	const struct tp_dataset *ds = &ev->data;
	int k = tp_model_get_config(ld->model)->outputs, rc = -1;
	float *z = NULL, *loss = NULL;
	struct tp_metrics m;

	if (ld->features != (int64_t)ds->d || ld->classes != ds->h.classes) {
		tp_errorf("%s: the model takes %lld features and %lld classes, but %s has %zu and %lld",
		          path, (long long)ld->features, (long long)ld->classes, o->data,
		          ds->d, (long long)ds->h.classes);
		return -1;
	}
	if (ev->pred || ev->have_sample) {
		z = tp_xmallocarray(ds->n * (size_t)k + 1, sizeof *z);
		loss = tp_xmallocarray(ds->n + 1, sizeof *loss);
	}
	tp_metrics_init(&m, (int)ds->h.classes, k, o->confusion, o->topk);
	if (tp_evaluate_rows(ld->model, ds, ev->batch < ds->n ? ev->batch : ds->n, &m, z,
	                     loss) != 0 ||
	    write_eval(ev, ld, path, o->split, o->data, &m) != 0)
		goto out;
	if (ev->pred && write_predictions(ev, ld, path, z, loss) != 0)
		goto out;
	if (ev->have_sample && eval_sample(ev, ld, path, &m, z, loss) != 0)
		goto out;
	/* Records of one checkpoint reach the file together: a reader that
	 * follows the stream sees whole results. */
	if (tp_wr_flush(ev->out) != 0 || (ev->pred && tp_wr_flush(ev->pred) != 0))
		goto out;
	rc = 0;
out:
	tp_metrics_release(&m);
	free(z);
	free(loss);
	return rc;
}

/* ---- set-up ---- */

static int
load_sample(struct evaluator *ev)
{
	const struct tp_evalrun_opts *o = ev->o;
	const struct tp_dataset *ds = &ev->data;

	if (o->sample_path) {
		if (tp_dataset_load(&ev->sample, &o->sample_path, 1) != 0)
			return TP_EXIT_RUNTIME;
		if (ev->sample.d != ds->d || ev->sample.h.classes != ds->h.classes) {
			tp_errorf("%s: %zu features and %lld classes, but %s has %zu and %lld",
			          o->sample_path, ev->sample.d, (long long)ev->sample.h.classes,
			          o->data, ds->d, (long long)ds->h.classes);
			return TP_EXIT_RUNTIME;
		}
	} else {
		size_t n = (size_t)o->sample, d = ds->d;
		uint32_t *idx;
		if (n > ds->n) {
			tp_errorf("--sample %zu: %s has only %zu examples", n, o->data, ds->n);
			return TP_EXIT_USAGE;
		}
		idx = tp_xmallocarray(n ? n : 1, sizeof *idx);
		if (o->stratify) {
			ev->strata = tp_xcalloc((size_t)ds->h.classes, sizeof *ev->strata);
			tp_sample_indices_stratified(o->sample_seed, ds->y, ds->n,
			                             (int)ds->h.classes, n, idx, ev->strata);
		} else {
			tp_sample_indices(o->sample_seed, ds->n, n, idx);
		}
		tp_dataset_alloc(&ev->sample, &ds->h, n);
		for (size_t i = 0; i < n; i++) {
			size_t j = idx[i];
			memcpy(ev->sample.x + i * d, ds->x + j * d, sizeof(float) * d);
			if (ds->y)
				ev->sample.y[i] = ds->y[j];
			if (ds->t)
				ev->sample.t[i] = ds->t[j];
			ev->sample.w[i] = ds->w[j];
		}
		ev->sample.has_weights = ds->has_weights;
		free(idx);
	}
	if (ev->sample.n == 0) {
		tp_errorf("%s: the sample is empty",
		          o->sample_path ? o->sample_path : "--sample");
		return TP_EXIT_USAGE;
	}
	ev->have_sample = 1;
	return TP_EXIT_OK;
}

static int
setup(struct evaluator *ev)
{
	const struct tp_evalrun_opts *o = ev->o;
	int rc;

	if (!o->data) {
		tp_errorf("no dataset given (--data FILE)");
		return TP_EXIT_USAGE;
	}
	if (o->sample > 0 && o->sample_path) {
		tp_errorf("--sample and --sample-file exclude each other");
		return TP_EXIT_USAGE;
	}
	if (o->stratify && o->sample <= 0) {
		tp_errorf("--stratify needs --sample N");
		return TP_EXIT_USAGE;
	}
	if (o->batch < 1 || o->batch > (size_t)INT32_MAX) {
		tp_errorf("--batch-size must be in [1, %d]", INT32_MAX);
		return TP_EXIT_USAGE;
	}
	if (tp_dataset_load(&ev->data, &o->data, 1) != 0)
		return TP_EXIT_RUNTIME;
	if (ev->data.n == 0) {
		tp_errorf("%s: the dataset is empty", o->data);
		return TP_EXIT_RUNTIME;
	}
	if (o->stratify && !ev->data.y) {
		tp_errorf("--stratify: %s has no classes (a regression dataset)", o->data);
		return TP_EXIT_USAGE;
	}
	if ((o->sample > 0 || o->sample_path) && (rc = load_sample(ev)) != TP_EXIT_OK)
		return rc;
	ev->batch = o->batch;
	if (ev->batch > ev->data.n && ev->batch > ev->sample.n)
		ev->batch = ev->data.n > ev->sample.n ? ev->data.n : ev->sample.n;
	ev->out = tp_wr_open(o->output ? o->output : "-", TP_ZOUT_AUTO);
	if (!ev->out)
		return TP_EXIT_RUNTIME;
	if (o->predictions) {
		ev->pred = tp_wr_open(o->predictions, TP_ZOUT_AUTO);
		if (!ev->pred)
			return TP_EXIT_RUNTIME;
	}
	return TP_EXIT_OK;
}

static void
progress(const struct tp_evalrun_opts *o, size_t i, size_t n, const char *path)
{
	if (!o->progress)
		return;
	fprintf(stderr, "\r\033[K%s: [%zu/%zu] %s", program_invocation_short_name,
	        i + 1, n, path);
	if (i + 1 == n)
		fputc('\n', stderr);
	fflush(stderr);
}

/* One checkpoint under the ledger: claim, evaluate, record.  Returns
 * 1 evaluated, 0 skipped, -1 error. */
static int
run_ledgered(struct evaluator *ev, struct ledger *l, const char *path)
{
	char sha[65], err[512];
	struct loaded ld;
	int state, rc;

	/* tp-train's keep policy deletes old checkpoints while we run: one
	 * that is gone is nothing to do, not an error. */
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		if (ev->o->verbose)
			tp_errorf("%s: skipped, it was deleted", path);
		return 0;
	}
	if (tp_sha256_file(path, sha) != 0)
		return -1;
	if (ledger_claim(l, path, sha, &state) != 0)
		return -1;
	if (state != L_FREE) {
		if (ev->o->verbose)
			tp_errorf("%s: skipped, %s", path,
			         state == L_DONE ? "already evaluated on this dataset"
			                         : "being evaluated by another tp-eval");
		return 0;
	}
	rc = load_ckpt(path, ev->batch, &ld, err, sizeof err, &ev->spare);
	if (rc == -2) {
		/* Not recorded as done: the next run tries it again. */
		tp_warnf("%s: skipped for now, it does not verify: %s", path, err);
		return ledger_finish(l, "release", path, sha, -1) == 0 ? 0 : -1;
	}
	if (rc == 0)
		rc = eval_one(ev, &ld, path);
	if (rc == 0)
		rc = ledger_finish(l, "done", path, sha, ld.step) == 0 ? 1 : -1;
	else if (ledger_finish(l, "release", path, sha, -1) != 0)
		rc = -1;
	loaded_release(&ld, &ev->spare);
	return rc;
}

int
tp_evalrun(const struct tp_evalrun_opts *o, const char *const *ops, size_t nops)
{
	struct evaluator ev;
	struct ledger led;
	char **paths = NULL;
	size_t npaths = 0, evaluated = 0;
	int status, failed = 0, have_ledger = 0;

	memset(&ev, 0, sizeof ev);
	ev.o = o;
	tp_dataset_init(&ev.data);
	tp_dataset_init(&ev.sample);
	tp_rb_init(&ev.rb);
	tp_blas_set_threads(o->threads);
	status = setup(&ev);
	if (status != TP_EXIT_OK)
		goto out;
	for (size_t i = 0; i < nops; i++) {
		char **p;
		size_t n;
		if (tp_evalrun_expand(&ops[i], 1, &p, &n) != 0) {
			failed = 1;
			continue;
		}
		/* A run that has not written a checkpoint yet is "nothing new"
		 * for cron, but a mistake on the command line. */
		if (n == 0 && !o->ledger) {
			tp_errorf("%s: no checkpoint (ckpt/step-*.tpc or model.tpm)", ops[i]);
			failed = 1;
		} else if (n == 0 && o->verbose) {
			tp_errorf("%s: no checkpoint yet", ops[i]);
		}
		if (n > 0) {
			paths = tp_xrealloc(paths, (npaths + n) * sizeof *paths);
			memcpy(paths + npaths, p, n * sizeof *p);
			npaths += n;
		}
		free(p);
	}
	if (o->ledger) {
		if (ledger_open(&led, o->ledger, o->data, o->claim_timeout) != 0) {
			ledger_close(&led);
			status = TP_EXIT_RUNTIME;
			goto out;
		}
		have_ledger = 1;
	}
	for (size_t i = 0; i < npaths; i++) {
		int rc;
		progress(o, i, npaths, paths[i]);
		if (have_ledger) {
			rc = run_ledgered(&ev, &led, paths[i]);
		} else {
			struct loaded ld;
			rc = load_ckpt(paths[i], ev.batch, &ld, NULL, 0, &ev.spare);
			if (rc == 0)
				rc = eval_one(&ev, &ld, paths[i]) == 0 ? 1 : -1;
			loaded_release(&ld, &ev.spare);
		}
		if (rc < 0)
			failed = 1;
		else
			evaluated += (size_t)rc;
	}
	status = failed ? TP_EXIT_RUNTIME : evaluated ? TP_EXIT_OK : TP_EXIT_NOTHING;
out:
	if (ev.out && tp_wr_close(ev.out) != 0)
		status = TP_EXIT_RUNTIME;
	if (ev.pred && tp_wr_close(ev.pred) != 0)
		status = TP_EXIT_RUNTIME;
	if (have_ledger)
		ledger_close(&led);
	tp_evalrun_paths_free(paths, npaths);
	tp_dataset_release(&ev.data);
	tp_dataset_release(&ev.sample);
	free(ev.strata);
	tp_rb_release(&ev.rb);
	tp_model_free(ev.spare);
	return status;
}
