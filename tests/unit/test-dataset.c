/* test-dataset: the dataset format round trip, loader order (permutation
 * per epoch, determinism, shards partition the data), exact save/restore of
 * the loader position in memory and streaming, eval padding, and the
 * stratification of split and sample.  Runs in its scratch directory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tp/dataops.h"
#include "tp/dataset.h"
#include "tp/record.h"
#include "tp/zio.h"

enum { N = 103, D = 3, K = 4 };

/* Example i has x = (i, i/2, -i), class i % K (a skewed last class is
 * avoided by N not dividing evenly, which stratification must handle). */
static void
make(struct tp_dataset *ds, size_t n, int regression)
{
	struct tp_ds_header h;
	static char *fn[D] = {"a", "b", "c"};

	tp_ds_header_init(&h);
	h.features = D;
	h.classes = regression ? 0 : K;
	h.name = "toy";
	h.feature_names = fn;
	tp_dataset_alloc(ds, &h, n);
	for (size_t i = 0; i < n; i++) {
		ds->x[i * D] = (float)i;
		ds->x[i * D + 1] = (float)i / 2;
		ds->x[i * D + 2] = -(float)i;
		if (regression)
			ds->t[i] = (float)i * 0.25f;
		else
			ds->y[i] = (int32_t)(i % K);
	}
}

static int
same_data(const struct tp_dataset *a, const struct tp_dataset *b)
{
	if (a->n != b->n || a->d != b->d)
		return 0;
	if (memcmp(a->x, b->x, a->n * a->d * sizeof(float)) ||
	    memcmp(a->w, b->w, a->n * sizeof(float)))
		return 0;
	if (a->y && (!b->y || memcmp(a->y, b->y, a->n * sizeof *a->y)))
		return 0;
	if (a->t && (!b->t || memcmp(a->t, b->t, a->n * sizeof *a->t)))
		return 0;
	return 1;
}

/* Read `count` examples through l; ids[k] = x[0] of the k-th. */
static int
read_ids(struct tp_loader *l, size_t batches, uint32_t *ids, size_t *got)
{
	const struct tp_ds_batch *b;

	*got = 0;
	for (size_t k = 0; k < batches; k++) {
		int rc = tp_loader_next(l, &b);
		if (rc <= 0)
			return rc;
		for (size_t r = 0; r < b->valid; r++)
			ids[(*got)++] = (uint32_t)b->x[r * b->d];
	}
	return 1;
}

static int
is_perm(const uint32_t *ids, size_t n, size_t of)
{
	char *seen = calloc(of, 1);
	int ok = 1;

	for (size_t i = 0; i < n; i++) {
		if (ids[i] >= of || seen[ids[i]])
			ok = 0;
		else
			seen[ids[i]] = 1;
	}
	free(seen);
	return ok && n == of;
}

static void
test_roundtrip(void)
{
	struct tp_dataset a, b, c;
	const char *p = "rt.zst", *q = "rt.plain";

	make(&a, N, 0);
	a.w[5] = 0.5f;
	a.has_weights = 1;
	CHECK(tp_dataset_write(&a, NULL, 0, p, TP_ZOUT_COMPRESS) == 0, "write zstd");
	CHECK(tp_dataset_load(&b, &p, 1) == 0, "load zstd");
	CHECK(same_data(&a, &b), "round trip keeps x, y, w");
	CHECK(b.has_weights && b.h.classes == K && b.h.count == N &&
	      !strcmp(b.h.name, "toy") && !strcmp(b.h.feature_names[2], "c"),
	      "round trip keeps the header");
	tp_dataset_release(&b);
	CHECK(tp_dataset_write(&a, NULL, 0, q, TP_ZOUT_PLAIN) == 0 &&
	      tp_dataset_load(&b, &q, 1) == 0 && same_data(&a, &b),
	      "plain round trip");
	tp_dataset_release(&b);
	tp_dataset_release(&a);

	make(&a, 10, 1);
	CHECK(tp_dataset_write(&a, NULL, 0, p, TP_ZOUT_COMPRESS) == 0 &&
	      tp_dataset_load(&b, &p, 1) == 0 && same_data(&a, &b) && b.t && !b.y,
	      "regression round trip");
	tp_dataset_release(&b);

	/* Scaling parameters travel in the header. */
	a.h.scaling = TP_SCALE_STANDARDIZE;
	a.h.scale_a = calloc(D, sizeof(float));
	a.h.scale_b = calloc(D, sizeof(float));
	a.h.scale_b[1] = 2.5f;
	CHECK(tp_dataset_write(&a, NULL, 0, p, TP_ZOUT_COMPRESS) == 0 &&
	      tp_dataset_load(&c, &p, 1) == 0 &&
	      c.h.scaling == TP_SCALE_STANDARDIZE && c.h.scale_b[1] == 2.5f,
	      "scaling survives the round trip");
	tp_dataset_release(&c);
	tp_dataset_release(&a);
}

/* path opened with a dataset header of D features, K classes and count
 * examples written (NULL on failure). */
static struct tp_wr *
open_with_header(const char *path, int flags, struct tp_rb *rb, int count)
{
	struct tp_wr *w = tp_wr_open(path, flags);

	tp_rb_begin(rb, "dataset");
	tp_rb_i64(rb, "version", 1);
	tp_rb_i64(rb, "features", D);
	tp_rb_i64(rb, "classes", K);
	tp_rb_i64(rb, "count", count);
	if (w && tp_wr_rb(w, rb) != 0) {
		tp_wr_abort(w);
		return NULL;
	}
	return w;
}

/* Begin rb as the example {"x": [0, 1, ...], "y": 1}, x as numbers. */
static void
array_example(struct tp_rb *rb)
{
	tp_rb_begin(rb, NULL);
	tp_rb_arr_begin(rb, "x");
	for (int j = 0; j < D; j++)
		tp_rb_f64(rb, NULL, j);
	tp_rb_arr_end(rb);
	tp_rb_i64(rb, "y", 1);
}

static void
test_bad_files(void)
{
	struct tp_rb rb;
	struct tp_wr *w;
	struct tp_dataset ds;
	const char *p = "short.zst";
	float x[D] = {1, 2, 3};

	/* A header that promises more than the file holds. */
	tp_rb_init(&rb);
	w = open_with_header(p, TP_ZOUT_COMPRESS, &rb, 5);
	CHECK(w != NULL, "write a short file");
	for (int i = 0; i < 3; i++) {
		tp_rb_begin(&rb, NULL);
		tp_rb_bin(&rb, "x", x, sizeof x);
		tp_rb_i64(&rb, "y", i);
		if (tp_wr_rb(w, &rb) < 0)
			CHECK(0, "write example");
	}
	/* An example given as an array of numbers is accepted. */
	array_example(&rb);
	CHECK(tp_wr_rb(w, &rb) == 0 && tp_wr_close(w) == 0, "close the short file");
	CHECK(tp_dataset_load(&ds, &p, 1) < 0, "4 of 5 examples: refused");

	w = open_with_header(p, TP_ZOUT_PLAIN, &rb, 2);
	CHECK(w != NULL, "header");
	array_example(&rb);
	CHECK(tp_wr_rb(w, &rb) == 0, "array example");
	tp_rb_begin(&rb, NULL);
	tp_rb_bin(&rb, "x", x, sizeof x);
	tp_rb_i64(&rb, "y", K);
	CHECK(tp_wr_rb(w, &rb) == 0 && tp_wr_close(w) == 0, "class K example");
	CHECK(tp_dataset_load(&ds, &p, 1) < 0, "class out of range: refused");

	/* "x" as an array of numbers, and "type":"example", are accepted. */
	w = open_with_header(p, TP_ZOUT_PLAIN, &rb, 1);
	CHECK(w != NULL, "header");
	tp_rb_begin(&rb, "example");
	tp_rb_arr_begin(&rb, "x");
	tp_rb_f64(&rb, NULL, 1.5);
	tp_rb_i64(&rb, NULL, -2);
	tp_rb_f32(&rb, NULL, 3.25f);
	tp_rb_arr_end(&rb);
	tp_rb_i64(&rb, "y", 3);
	tp_rb_f64(&rb, "w", 0.25);
	CHECK(tp_wr_rb(w, &rb) == 0 && tp_wr_close(w) == 0, "array example");
	CHECK(tp_dataset_load(&ds, &p, 1) == 0 && ds.n == 1 && ds.x[0] == 1.5f &&
	      ds.x[1] == -2 && ds.x[2] == 3.25f && ds.y[0] == 3 && ds.w[0] == 0.25f &&
	      ds.has_weights, "array x, typed example and weight decode");
	tp_dataset_release(&ds);
	tp_rb_release(&rb);
}

static void
test_loader_memory(void)
{
	struct tp_dataset ds;
	struct tp_loader_opts o = {.mode = TP_LOAD_TRAIN, .batch = 10, .seed = 7};
	struct tp_loader *l, *l2;
	struct tp_loader_state st, st2;
	unsigned char bytes[TP_LOADER_STATE_BYTES];
	uint32_t *ids = malloc(6 * N * sizeof *ids), *ids2 = malloc(6 * N * sizeof *ids);
	size_t got, got2;
	int perm = 1;

	make(&ds, N, 0);
	/* 41 batches of 10 = 410 examples: epochs 0..2 whole, and a part. */
	l = tp_loader_new(&ds, &o, NULL);
	CHECK(l && read_ids(l, 41, ids, &got) == 1 && got == 410, "41 full batches");
	for (int e = 0; e < 3; e++)
		perm &= is_perm(ids + e * N, N, N);
	CHECK(perm, "every epoch is a permutation");
	CHECK(memcmp(ids, ids + N, N * sizeof *ids) != 0, "epochs differ in order");
	tp_loader_close(l);

	l = tp_loader_new(&ds, &o, NULL);
	CHECK(read_ids(l, 41, ids2, &got2) == 1 &&
	      !memcmp(ids, ids2, got * sizeof *ids), "same seed, same batches");
	tp_loader_close(l);
	o.seed = 8;
	l = tp_loader_new(&ds, &o, NULL);
	CHECK(read_ids(l, 41, ids2, &got2) == 1 &&
	      memcmp(ids, ids2, got * sizeof *ids) != 0, "other seed, other order");
	tp_loader_close(l);

	/* Stop after 13 batches (mid-epoch 1), restore, and compare. */
	o.seed = 7;
	l = tp_loader_new(&ds, &o, NULL);
	CHECK(read_ids(l, 13, ids2, &got2) == 1, "13 batches");
	tp_loader_state(l, &st);
	CHECK(st.epoch == 1 && st.offset == 130 - N, "state is epoch 1 offset 27");
	tp_loader_state_encode(&st, bytes);
	CHECK(tp_loader_state_decode(&st2, bytes, sizeof bytes) == 0 &&
	      !memcmp(&st, &st2, sizeof st), "state bytes round trip");
	l2 = tp_loader_new(&ds, &o, &st2);
	CHECK(l2 && read_ids(l2, 28, ids2, &got2) == 1 &&
	      !memcmp(ids + 130, ids2, got2 * sizeof *ids),
	      "restored loader continues exactly");
	tp_loader_close(l2);
	CHECK(tp_loader_wait_seconds(l) >= 0, "wait time is reported");
	tp_loader_close(l);
	o.seed = 9;
	CHECK(!tp_loader_new(&ds, &o, &st), "a state of another seed is refused");

	/* Tiny queue and batch 1: the thread and consumer alternate. */
	o = (struct tp_loader_opts){.mode = TP_LOAD_TRAIN, .batch = 1, .seed = 7,
	                            .prefetch = 1};
	l = tp_loader_new(&ds, &o, NULL);
	CHECK(read_ids(l, N, ids2, &got2) == 1 && is_perm(ids2, got2, N),
	      "prefetch 1, batch 1: one epoch is a permutation");
	tp_loader_close(l);

	/* Shards partition the examples. */
	{
		char *seen = calloc(N, 1);
		int ok = 1;
		size_t total = 0;

		for (uint32_t s = 0; s < 3; s++) {
			o = (struct tp_loader_opts){.mode = TP_LOAD_EVAL, .batch = 8,
			                            .shard = s, .shards = 3};
			l = tp_loader_new(&ds, &o, NULL);
			while (read_ids(l, 1, ids2, &got2) == 1)
				for (size_t i = 0; i < got2; i++) {
					ok &= !seen[ids2[i]];
					seen[ids2[i]] = 1;
					total++;
				}
			tp_loader_close(l);
		}
		CHECK(ok && total == N, "3 shards: disjoint, union is the whole");
		free(seen);
	}

	/* Eval: file order, last batch padded with weight 0. */
	o = (struct tp_loader_opts){.mode = TP_LOAD_EVAL, .batch = 10};
	l = tp_loader_new(&ds, &o, NULL);
	{
		const struct tp_ds_batch *b = NULL;
		int n = 0, order = 1, rc;
		size_t seen = 0;

		while ((rc = tp_loader_next(l, &b)) == 1) {
			n++;
			for (size_t r = 0; r < b->valid; r++)
				order &= b->x[r * D] == (float)seen++;
			if (b->valid < b->n) {
				int pad = 1;
				for (size_t r = b->valid; r < b->n; r++)
					pad &= b->w[r] == 0 && b->x[r * D] == 0 && b->y[r] == 0;
				CHECK(b->valid == 3 && pad, "last batch: 3 real rows, padding weight 0");
			}
		}
		CHECK(rc == 0 && n == 11 && order && seen == N, "eval: 11 batches in file order");
		CHECK(tp_loader_next(l, &b) == 0, "eval: end stays the end");
	}
	tp_loader_close(l);
	free(ids);
	free(ids2);
	tp_dataset_release(&ds);
}

static void
test_loader_stream(void)
{
	struct tp_dataset ds;
	struct tp_loader_opts o = {.mode = TP_LOAD_TRAIN, .batch = 7, .seed = 3,
	                           .shuffle_buffer = 16, .prefetch = 2};
	struct tp_loader *l, *l2;
	struct tp_loader_state st;
	uint32_t *ids = malloc(6 * N * sizeof *ids), *ids2 = malloc(6 * N * sizeof *ids);
	const char *one = "s.zst", *three[3] = {"s0.zst", "s1.zst", "s2.zst"};
	size_t got, got2;
	int perm = 1;

	make(&ds, N, 0);
	CHECK(tp_dataset_write(&ds, NULL, 0, one, TP_ZOUT_COMPRESS) == 0 &&
	      tp_data_shard(&ds, 3, "s", TP_ZOUT_COMPRESS) == 0, "write files");
	{
		/* tp_data_shard names them s-0000j-of-00003.zst. */
		for (int j = 0; j < 3; j++) {
			char *nm = tp_data_shard_name("s", (size_t)j, 3);
			CHECK(rename(nm, three[j]) == 0, "rename shard %d", j);
			free(nm);
		}
	}
	{
		struct tp_dataset u;
		CHECK(tp_dataset_load(&u, three, 3) == 0 && same_data(&ds, &u),
		      "the shards read as one are the whole, in order");
		CHECK(u.nfiles == 3 && u.file_start[1] == N / 3 && u.file_start[3] == N,
		      "file boundaries are kept");
		/* In memory, 3 files and 3 hosts: host 1 takes file 1 whole. */
		{
			struct tp_loader_opts e = {.mode = TP_LOAD_EVAL, .batch = 64,
			                           .shard = 1, .shards = 3};
			int ok;

			l = tp_loader_new(&u, &e, NULL);
			ok = l && read_ids(l, 1, ids, &got) == 1 && got == u.file_start[2] - u.file_start[1];
			for (size_t i = 0; ok && i < got; i++)
				ok &= ids[i] == u.file_start[1] + i;
			CHECK(ok, "in memory, shard 1 of 3 is file 1");
			tp_loader_close(l);
		}
		tp_dataset_release(&u);
	}

	l = tp_loader_open(&one, 1, &o, NULL);
	/* 60 batches of 7 = 420 examples: 4 epochs and 8. */
	CHECK(l && read_ids(l, 60, ids, &got) == 1 && got == 420, "streaming: 60 batches");
	for (int e = 0; e < 4; e++)
		perm &= is_perm(ids + e * N, N, N);
	CHECK(perm, "streaming: every epoch is a permutation");
	CHECK(memcmp(ids, ids + N, N * sizeof *ids) != 0, "streaming: epochs differ");
	{
		/* The shuffle buffer must actually move examples. */
		int moved = 0;
		for (size_t i = 0; i < N; i++)
			moved += ids[i] != i;
		CHECK(moved > N / 2, "streaming: order is shuffled (%d moved)", moved);
	}
	tp_loader_close(l);

	l = tp_loader_open(&one, 1, &o, NULL);
	CHECK(read_ids(l, 23, ids2, &got2) == 1 &&
	      !memcmp(ids, ids2, got2 * sizeof *ids), "streaming: deterministic");
	tp_loader_state(l, &st);
	CHECK(st.streaming && st.epoch == 1 && st.offset == 161 - N,
	      "streaming state: epoch 1 offset 58");
	l2 = tp_loader_open(&one, 1, &o, &st);
	CHECK(l2 && read_ids(l2, 37, ids2, &got2) == 1 &&
	      !memcmp(ids + 161, ids2, got2 * sizeof *ids),
	      "streaming: restored loader continues exactly");
	tp_loader_close(l2);
	tp_loader_close(l);
	CHECK(!tp_loader_new(&ds, &o, &st), "a streaming state does not fit memory");

	/* Shards: whole files (3 files, 3 shards) and strided (1 file). */
	for (int mode = 0; mode < 2; mode++) {
		char *seen = calloc(N, 1);
		int ok = 1;
		size_t total = 0;

		for (uint32_t s = 0; s < 3; s++) {
			struct tp_loader_opts e = {.mode = TP_LOAD_EVAL, .batch = 5,
			                           .shard = s, .shards = 3};
			l = mode ? tp_loader_open(&one, 1, &e, NULL)
			         : tp_loader_open(three, 3, &e, NULL);
			ok &= l != NULL;
			while (l && read_ids(l, 1, ids2, &got2) == 1)
				for (size_t i = 0; i < got2; i++) {
					ok &= !seen[ids2[i]];
					seen[ids2[i]] = 1;
					total++;
				}
			tp_loader_close(l);
		}
		CHECK(ok && total == N, "streaming %s shards: disjoint, union is the whole",
		      mode ? "strided" : "whole-file");
		free(seen);
	}
	{
		struct tp_loader_opts e = {.mode = TP_LOAD_EVAL, .batch = 50};
		size_t seen = 0;
		int order = 1;

		l = tp_loader_open(three, 3, &e, NULL);
		while (read_ids(l, 1, ids2, &got2) == 1)
			for (size_t i = 0; i < got2; i++)
				order &= ids2[i] == seen++;
		CHECK(order && seen == N, "streaming eval: file order over 3 files");
		tp_loader_close(l);
	}
	{
		/* Training over 3 shard files: each epoch still a permutation. */
		l = tp_loader_open(three, 3, &o, NULL);
		CHECK(read_ids(l, 30, ids2, &got2) == 1 && is_perm(ids2, N, N) &&
		      is_perm(ids2 + N, N, N), "streaming 3 files: epochs are permutations");
		tp_loader_close(l);
	}
	{
		/* A file cut short: the thread's error reaches the consumer. */
		const char *cut = "cut.plain";
		struct tp_loader_opts e = {.mode = TP_LOAD_EVAL, .batch = 10};
		const struct tp_ds_batch *b;
		int rc, n = 0;

		CHECK(tp_dataset_write(&ds, NULL, 0, cut, TP_ZOUT_PLAIN) == 0 &&
		      truncate(cut, 1000) == 0, "write a truncated file");
		l = tp_loader_open(&cut, 1, &e, NULL);
		while (l && (rc = tp_loader_next(l, &b)) == 1)
			n++;
		CHECK(l && rc == -1 && tp_loader_next(l, &b) == -1,
		      "streaming: truncation is an error after %d batches", n);
		tp_loader_close(l);
	}
	free(ids);
	free(ids2);
	tp_dataset_release(&ds);
}

static void
test_split_sample(void)
{
	struct tp_dataset ds;
	double f[3] = {0.6, 0.2, 0.2};
	uint32_t *parts[3], *parts2[3], *idx;
	size_t counts[3], counts2[3], total = 0;
	char *seen;
	int strat = 1, ok = 1;

	make(&ds, N, 0);
	CHECK(tp_data_split(&ds, f, 3, 1, parts, counts) == 0, "split 0.6/0.2/0.2");
	seen = calloc(N, 1);
	for (int j = 0; j < 3; j++) {
		size_t cc[K] = {0};

		for (size_t i = 0; i < counts[j]; i++) {
			ok &= !seen[parts[j][i]];
			seen[parts[j][i]] = 1;
			cc[ds.y[parts[j][i]]]++;
		}
		total += counts[j];
		for (int c = 0; c < K; c++) {
			double want = f[j] * (double)(N / K + (c < N % K));
			strat &= fabs((double)cc[c] - want) < 1;
		}
	}
	CHECK(ok && total == N, "split parts are disjoint and cover the data");
	CHECK(strat, "every class within one example of its share in every part");
	CHECK(tp_data_split(&ds, f, 3, 1, parts2, counts2) == 0 &&
	      counts2[0] == counts[0] &&
	      !memcmp(parts[0], parts2[0], counts[0] * sizeof **parts),
	      "same seed, same split");
	for (int j = 0; j < 3; j++) {
		free(parts[j]);
		free(parts2[j]);
	}
	f[2] = 0.3;
	CHECK(tp_data_split(&ds, f, 3, 1, parts, counts) < 0, "fractions summing to 1.1 refused");

	CHECK(tp_data_sample(&ds, 40, 5, 1, &idx) == 0, "stratified sample of 40");
	{
		size_t cc[K] = {0};
		for (size_t i = 0; i < 40; i++)
			cc[ds.y[idx[i]]]++;
		ok = 1;
		for (int c = 0; c < K; c++)
			ok &= fabs((double)cc[c] - 40.0 * (double)(N / K + (c < N % K)) / N) < 1;
		CHECK(ok, "sample keeps class shares within one");
	}
	free(idx);
	CHECK(tp_data_sample(&ds, N + 1, 5, 0, &idx) < 0, "sampling more than N refused");
	free(seen);
	tp_dataset_release(&ds);
}

int
main(void)
{
	test_roundtrip();
	test_bad_files();
	test_loader_memory();
	test_loader_stream();
	test_split_sample();
	return check_done();
}
