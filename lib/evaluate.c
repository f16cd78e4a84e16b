/*
 * evaluate.c: exact, batch-size-independent metrics.  The model gives one
 * loss and one output row per example; everything else is sums in double,
 * in example order, over examples of weight > 0.  Padding rows from the
 * loader have weight 0 and are skipped before they touch a sum.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dataset.h"
#include "tp/evaluate.h"
#include "tp/model.h"
#include "tp/record.h"

void
tp_metrics_init(struct tp_metrics *m, int classes, int outputs, int confusion,
                int topk)
{
	memset(m, 0, sizeof *m);
	m->classes = classes;
	m->outputs = outputs;
	m->topk = topk > 1 && topk < outputs ? topk : 0;
	if (classes > 0) {
		m->class_count = tp_xcalloc((size_t)classes, sizeof *m->class_count);
		m->class_correct = tp_xcalloc((size_t)classes, sizeof *m->class_correct);
		if (confusion)
			m->confusion = tp_xcalloc((size_t)classes * (size_t)classes,
			                          sizeof *m->confusion);
	}
}

void
tp_metrics_release(struct tp_metrics *m)
{
	free(m->class_count);
	free(m->class_correct);
	free(m->confusion);
	m->class_count = m->class_correct = m->confusion = NULL;
}

/* Rank of the true class: how many outputs beat it (ties go to the lower
 * index, as argmax does). */
static int
rank_of(const float *z, int k, int y)
{
	int r = 0;

	for (int j = 0; j < k; j++)
		r += z[j] > z[y] || (z[j] == z[y] && j < y);
	return r;
}

static void
add_row(struct tp_metrics *m, const float *z, int32_t y, const float *t,
        float w, float loss)
{
	m->count++;
	m->weight += w;
	m->loss_sum += (double)w * loss;
	if (m->classes > 0) {
		int r = rank_of(z, m->outputs, y), best = 0;
		for (int j = 1; j < m->outputs; j++)
			if (z[j] > z[best])
				best = j;
		m->class_count[y]++;
		if (r == 0) {
			m->correct += w;
			m->class_correct[y]++;
		}
		if (m->topk && r < m->topk)
			m->topk_correct += w;
		if (m->confusion)
			m->confusion[(size_t)y * (size_t)m->classes + (size_t)best]++;
	} else {
		double se = 0, ae = 0;
		for (int j = 0; j < m->outputs; j++) {
			double e = (double)z[j] - t[j];
			se += e * e;
			ae += fabs(e);
		}
		m->se_sum += w * se / m->outputs;
		m->ae_sum += w * ae / m->outputs;
	}
}

int
tp_evaluate(struct tp_model *model, const struct tp_dataset *ds, size_t batch,
            struct tp_metrics *out, float *pred_out)
{
	return tp_evaluate_rows(model, ds, batch, out, pred_out, NULL);
}

/*
 * The rows of a batch of n (valid of them real, then padding) to compute.
 * The model computes in pieces of mb rows, and OpenBLAS's kernels for
 * small matrices round differently in the last bit; a row's outputs are
 * the same bits in any piece of 128 rows or more (t-eval compares batch
 * sizes).  So the padding is skipped, except what keeps the last piece at
 * 128 rows, or at mb when pieces are smaller: the bits of the padded batch
 * for less work (a set of 10000 at batch 4096 computed 12288 rows).
 */
static size_t
eval_rows(size_t valid, size_t n, size_t mb)
{
	size_t least = mb < 128 ? mb : 128, last = valid % mb, rows = valid;

	if (last != 0 && last < least)
		rows += least - last;
	return rows < n ? rows : n;
}

/* Shard `shard` of `shards` of ds, as the loader cuts it. */
static int
eval_shard(struct tp_model *model, const struct tp_dataset *ds, size_t batch,
           uint32_t shard, uint32_t shards, struct tp_metrics *out,
           float *pred_out, float *loss_out)
{
	struct tp_loader_opts o = {.mode = TP_LOAD_EVAL, .batch = batch,
	                           .shard = shard, .shards = shards};
	const struct tp_model_config *c = tp_model_get_config(model);
	size_t k = (size_t)c->outputs, done = 0;
	struct tp_loader *l;
	const struct tp_ds_batch *db;
	float *loss = tp_xmallocarray(batch, sizeof *loss);
	float *z = tp_xmallocarray(batch * k, sizeof *z);
	int rc = 0, got;

	l = tp_loader_new(ds, &o, NULL);
	if (!l) {
		free(loss);
		free(z);
		return -1;
	}
	while ((got = tp_loader_next(l, &db)) == 1) {
		size_t rows = eval_rows(db->valid, db->n,
		                        (size_t)tp_model_max_batch(model));
		struct tp_batch b = {.x = db->x, .label = db->y, .target = db->t,
		                     .w = db->w, .n = (int)rows};
		if (tp_model_eval(model, &b, loss, z) != 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < rows; i++) {
			if (db->w[i] > 0)
				add_row(out, z + i * k, db->y ? db->y[i] : 0,
				        db->t ? db->t + i * k : NULL, db->w[i], loss[i]);
		}
		if (pred_out)
			memcpy(pred_out + done * k, z, sizeof *z * db->valid * k);
		if (loss_out)
			memcpy(loss_out + done, loss, sizeof *loss * db->valid);
		done += db->valid;
	}
	if (got < 0)
		rc = -1;
	tp_loader_close(l);
	free(loss);
	free(z);
	return rc;
}

int
tp_evaluate_rows(struct tp_model *model, const struct tp_dataset *ds,
                 size_t batch, struct tp_metrics *out, float *pred_out,
                 float *loss_out)
{
	return eval_shard(model, ds, batch, 0, 1, out, pred_out, loss_out);
}

int
tp_evaluate_shard(struct tp_model *model, const struct tp_dataset *ds,
                  size_t batch, uint32_t shard, uint32_t shards,
                  struct tp_metrics *out)
{
	return eval_shard(model, ds, batch, shard, shards, out, NULL, NULL);
}

/* The sums in a fixed order: the scalars, then the per-class arrays. */
size_t
tp_metrics_nsums(const struct tp_metrics *m)
{
	size_t k = m->classes > 0 ? (size_t)m->classes : 0;

	return 7 + 2 * k + (m->confusion ? k * k : 0);
}

void
tp_metrics_pack(const struct tp_metrics *m, double *sums)
{
	size_t k = m->classes > 0 ? (size_t)m->classes : 0, j = 0;

	sums[j++] = (double)m->count;
	sums[j++] = m->weight;
	sums[j++] = m->loss_sum;
	sums[j++] = m->correct;
	sums[j++] = m->topk_correct;
	sums[j++] = m->se_sum;
	sums[j++] = m->ae_sum;
	for (size_t i = 0; i < k; i++)
		sums[j++] = (double)m->class_count[i];
	for (size_t i = 0; i < k; i++)
		sums[j++] = (double)m->class_correct[i];
	for (size_t i = 0; m->confusion && i < k * k; i++)
		sums[j++] = (double)m->confusion[i];
}

void
tp_metrics_unpack(struct tp_metrics *m, const double *sums)
{
	size_t k = m->classes > 0 ? (size_t)m->classes : 0, j = 0;

	/* Counts travel as doubles: exact below 2^53 examples. */
	m->count = (int64_t)sums[j++];
	m->weight = sums[j++];
	m->loss_sum = sums[j++];
	m->correct = sums[j++];
	m->topk_correct = sums[j++];
	m->se_sum = sums[j++];
	m->ae_sum = sums[j++];
	for (size_t i = 0; i < k; i++)
		m->class_count[i] = (int64_t)sums[j++];
	for (size_t i = 0; i < k; i++)
		m->class_correct[i] = (int64_t)sums[j++];
	for (size_t i = 0; m->confusion && i < k * k; i++)
		m->confusion[i] = (int64_t)sums[j++];
}

int
tp_metrics_get(const struct tp_metrics *m, const char *name, double *out)
{
	double W = m->weight > 0 ? m->weight : NAN;

	if (strcmp(name, "loss") == 0)
		*out = m->loss_sum / W;
	else if (m->classes > 0 && strcmp(name, "accuracy") == 0)
		*out = m->correct / W;
	else if (m->classes > 0 && strcmp(name, "error") == 0)
		*out = 1.0 - m->correct / W;
	else if (m->classes == 0 && strcmp(name, "mse") == 0)
		*out = m->se_sum / W;
	else if (m->classes == 0 && strcmp(name, "mae") == 0)
		*out = m->ae_sum / W;
	else
		return -1;
	return 0;
}

static void
write_counts(struct tp_rb *b, const char *key, const int64_t *a, size_t n)
{
	tp_rb_arr_begin(b, key);
	for (size_t i = 0; i < n; i++)
		tp_rb_i64(b, NULL, a[i]);
	tp_rb_arr_end(b);
}

void
tp_metrics_write(const struct tp_metrics *m, struct tp_rb *b)
{
	static const char *const cls[] = {"loss", "error", "accuracy"};
	static const char *const reg[] = {"loss", "mse", "mae"};
	const char *const *names = m->classes > 0 ? cls : reg;
	double v;

	for (int i = 0; i < 3; i++)
		if (tp_metrics_get(m, names[i], &v) == 0)
			tp_rb_f64(b, names[i], v);
	tp_rb_i64(b, "count", m->count);
	if (m->classes > 0) {
		if (m->topk) {
			char key[32];
			snprintf(key, sizeof key, "top%d_accuracy", m->topk);
			tp_rb_f64(b, key, m->weight > 0 ? m->topk_correct / m->weight : NAN);
		}
		write_counts(b, "class_count", m->class_count, (size_t)m->classes);
		write_counts(b, "class_correct", m->class_correct, (size_t)m->classes);
		if (m->confusion) {
			tp_rb_arr_begin(b, "confusion");
			for (int i = 0; i < m->classes; i++)
				write_counts(b, NULL, m->confusion + (size_t)i * (size_t)m->classes,
				             (size_t)m->classes);
			tp_rb_arr_end(b);
		}
	}
}
