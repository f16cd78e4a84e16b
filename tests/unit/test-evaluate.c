/*
 * test-evaluate: evaluation split into shards (what each rank of a
 * data-parallel run does) adds up to the whole: counts exactly, sums of
 * losses to rounding, through tp_metrics_pack/unpack, with a last batch
 * padded with weight-0 rows and weighted examples.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tp/dataset.h"
#include "tp/evaluate.h"
#include "tp/model.h"
#include "tp/rng.h"

enum { N = 103, D = 5, K = 3 };

static void
fill(struct tp_dataset *ds)
{
	struct tp_ds_header h;
	struct tp_rng r;

	tp_ds_header_init(&h);
	h.version = 1;
	h.features = D;
	h.classes = K;
	tp_dataset_alloc(ds, &h, N);
	tp_ds_header_release(&h);
	tp_rng_seed(&r, 7);
	for (size_t i = 0; i < N; i++) {
		for (size_t j = 0; j < D; j++)
			ds->x[i * D + j] = (float)tp_rng_normal(&r);
		ds->y[i] = (int32_t)tp_rng_below(&r, K);
		ds->w[i] = i % 10 == 3 ? 2.5f : 1.0f;
	}
	ds->has_weights = 1;
}

static void
check_split(struct tp_model *m, const struct tp_dataset *ds, int confusion,
            uint32_t shards, size_t batch)
{
	struct tp_metrics whole, part, sum;
	size_t ns;
	double *acc, *one;
	int ok = 1;

	tp_metrics_init(&whole, K, K, confusion, 2);
	tp_metrics_init(&sum, K, K, confusion, 2);
	CHECK(tp_evaluate(m, ds, batch, &whole, NULL) == 0, "whole evaluation");
	ns = tp_metrics_nsums(&whole);
	CHECK(ns == 7 + 2 * K + (confusion ? K * K : 0), "%zu sums", ns);
	acc = calloc(ns, sizeof *acc);
	one = calloc(ns, sizeof *one);
	for (uint32_t s = 0; s < shards; s++) {
		tp_metrics_init(&part, K, K, confusion, 2);
		ok &= tp_evaluate_shard(m, ds, batch, s, shards, &part) == 0;
		tp_metrics_pack(&part, one);
		for (size_t i = 0; i < ns; i++)
			acc[i] += one[i];
		tp_metrics_release(&part);
	}
	CHECK(ok, "%u shards evaluate", shards);
	tp_metrics_unpack(&sum, acc);
	CHECK(sum.count == whole.count && sum.count == N, "%u shards: count %lld",
	      shards, (long long)sum.count);
	CHECK(sum.weight == whole.weight && sum.correct == whole.correct &&
	      sum.topk_correct == whole.topk_correct,
	      "%u shards: weight, correct and top-2 exact", shards);
	CHECK_CLOSE(sum.loss_sum, whole.loss_sum, 1e-12, 0, "%u shards: loss sum", shards);
	CHECK(memcmp(sum.class_count, whole.class_count, K * sizeof *sum.class_count) == 0 &&
	      memcmp(sum.class_correct, whole.class_correct, K * sizeof *sum.class_correct) == 0,
	      "%u shards: per-class counts exact", shards);
	if (confusion)
		CHECK(memcmp(sum.confusion, whole.confusion, K * K * sizeof *sum.confusion) == 0,
		      "%u shards: confusion matrix exact", shards);
	free(acc);
	free(one);
	tp_metrics_release(&whole);
	tp_metrics_release(&sum);
}

int
main(void)
{
	struct tp_dataset ds;
	struct tp_model_config c;
	struct tp_model *m;

	tp_dataset_init(&ds);
	fill(&ds);
	tp_model_config_default(&c);
	c.inputs = D;
	c.outputs = K;
	c.depth = 1;
	c.width = 8;
	m = tp_model_new(&c, 16);
	if (!CHECK(m != NULL, "model"))
		return check_done();
	tp_model_init(m, 3);
	check_split(m, &ds, 0, 1, 16);
	check_split(m, &ds, 1, 2, 16);
	check_split(m, &ds, 1, 3, 7);
	/* More shards than some batches hold, and than examples in a batch. */
	check_split(m, &ds, 0, 5, 64);
	tp_model_free(m);
	tp_dataset_release(&ds);
	return check_done();
}
