/*
 * test-evalrun.c: the pieces of tp-eval that are arithmetic or file
 * listing: the standard error of the skew report, the seeded sample, and
 * the expansion of run directories into checkpoints.  The ledger and the
 * records are tested end to end in tests/sh/t-eval.sh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tp/evalrun.h"

static void
test_se(void)
{
	/* 0/1 values with p = 0.25 over N = 8: sqrt(p(1-p)/n). */
	double acc[8] = {1, 0, 0, 0, 1, 0, 0, 0};
	double x[4] = {1, 2, 3, 4};
	float w[4] = {1, 1, 1, 1}, w2[4] = {2, 2, 2, 2};
	double se;

	se = tp_sample_se(acc, NULL, 8, 4, 0);
	CHECK_CLOSE(se, sqrt(0.25 * 0.75 / 4), 1e-15, 0, "accuracy SE sqrt(p(1-p)/n)");
	se = tp_sample_se(acc, NULL, 8, 4, 1);
	CHECK_CLOSE(se, sqrt(0.25 * 0.75 / 4) * sqrt(4.0 / 7.0), 1e-15, 0,
	            "finite population correction sqrt((N-n)/(N-1))");
	CHECK(tp_sample_se(acc, NULL, 8, 8, 1) == 0, "a sample of everything has SE 0");
	/* Population variance of 1..4 is 1.25. */
	CHECK_CLOSE(tp_sample_se(x, NULL, 4, 5, 0), sqrt(1.25 / 5), 1e-15, 0,
	            "SE of a mean: sigma / sqrt(n)");
	CHECK(tp_sample_se(x, w, 4, 5, 0) == tp_sample_se(x, NULL, 4, 5, 0),
	      "unit weights are no weights");
	CHECK_CLOSE(tp_sample_se(x, w2, 4, 5, 0), sqrt(1.25 / 5), 1e-15, 0,
	            "uniform weights do not change the SE");
	CHECK(isnan(tp_sample_se(x, NULL, 0, 1, 0)), "empty population: NaN");
	CHECK(isnan(tp_sample_se(x, NULL, 4, 0, 0)), "empty sample: NaN");
}

static void
test_sample(void)
{
	uint32_t a[50], b[50], c[50], all[10];
	int sorted = 1, inrange = 1;

	tp_sample_indices(7, 1000, 50, a);
	tp_sample_indices(7, 1000, 50, b);
	tp_sample_indices(8, 1000, 50, c);
	CHECK(memcmp(a, b, sizeof a) == 0, "same seed, same sample");
	CHECK(memcmp(a, c, sizeof a) != 0, "another seed, another sample");
	for (int i = 0; i < 50; i++) {
		inrange &= a[i] < 1000;
		if (i)
			sorted &= a[i - 1] < a[i];
	}
	CHECK(sorted, "indices ascending and distinct");
	CHECK(inrange, "indices in range");
	tp_sample_indices(3, 10, 10, all);
	sorted = 1;
	for (uint32_t i = 0; i < 10; i++)
		sorted &= all[i] == i;
	CHECK(sorted, "a sample of everything is everything, in order");
	/* Golden values: the sample must not change between versions, or
	 * periodic evaluations would silently switch examples. */
	tp_sample_indices(1, 100, 5, a);
	CHECK(a[0] == 24 && a[1] == 48 && a[2] == 57 && a[3] == 74 && a[4] == 87,
	      "golden sample(seed 1, 100, 5) = 24 48 57 74 87");
}

static void
test_stratified(void)
{
	/* 10 examples: 6 of class 0, 3 of class 1, 1 of class 2. */
	int32_t y[10] = {0, 1, 0, 0, 2, 1, 0, 0, 1, 0};
	uint32_t idx[10], idx2[10];
	size_t counts[3];
	double x[10] = {1, 0, 1, 0, 5, 0, 1, 0, 0, 1};
	int ok = 1;
	double se, want;

	tp_sample_indices_stratified(4, y, 10, 3, 5, idx, counts);
	/* 5 * (6, 3, 1) / 10 = (3, 1.5, 0.5): floors (3, 1, 0), remainder 1
	 * to the largest fraction, a tie of 0.5 going to class 1. */
	CHECK(counts[0] == 3 && counts[1] == 2 && counts[2] == 0,
	      "proportional allocation with largest remainders: 3 2 0");
	for (int i = 0; i < 5; i++) {
		ok &= idx[i] < 10 && (i == 0 || idx[i - 1] < idx[i]);
		counts[y[idx[i]]] -= counts[y[idx[i]]] > 0;
	}
	CHECK(ok && counts[0] == 0 && counts[1] == 0, "indices ascending, classes as allocated");
	tp_sample_indices_stratified(4, y, 10, 3, 5, idx2, NULL);
	CHECK(memcmp(idx, idx2, 5 * sizeof *idx) == 0, "same seed, same stratified sample");
	tp_sample_indices_stratified(4, y, 10, 3, 10, idx, counts);
	CHECK(counts[0] == 6 && counts[1] == 3 && counts[2] == 1, "a sample of everything");
	/* SE: class 0 values {1,1,0,0,1,... } -> 6 values 1,1,0,1,0,1: p = 4/6;
	 * class 1 all 0 (no variance); class 2 not sampled. */
	counts[0] = 3;
	counts[1] = 2;
	counts[2] = 0;
	se = tp_stratified_se(x, y, 10, 3, counts, 5);
	want = sqrt(0.6 * 0.6 * (4.0 / 6 * 2.0 / 6) / 3 * 3.0 / 5);
	CHECK_CLOSE(se, want, 1e-12, 0, "stratified SE sum (n_k/n)^2 s_k^2/n_k fpc_k");
}

static void
touch(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f)
		fclose(f);
}

static void
test_expand(void)
{
	char dir[] = "/tmp/test-evalrun.XXXXXX", p[256];
	char **paths;
	size_t n;
	const char *ops[2];

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(p, sizeof p, "%s/run", dir);
	mkdir(p, 0777);
	ops[0] = p;
	CHECK(tp_evalrun_expand(ops, 1, &paths, &n) == 0 && n == 0,
	      "an empty run directory stands for nothing");
	tp_evalrun_paths_free(paths, n);
	snprintf(p, sizeof p, "%s/run/model.tpm", dir);
	touch(p);
	snprintf(p, sizeof p, "%s/run", dir);
	CHECK(tp_evalrun_expand(ops, 1, &paths, &n) == 0 && n == 1 &&
	          strstr(paths[0], "/run/model.tpm"),
	      "without checkpoints, model.tpm");
	tp_evalrun_paths_free(paths, n);
	snprintf(p, sizeof p, "%s/run/ckpt", dir);
	mkdir(p, 0777);
	snprintf(p, sizeof p, "%s/run/ckpt/step-000000200.tpc", dir);
	touch(p);
	snprintf(p, sizeof p, "%s/run/ckpt/step-1000.tpc", dir);
	touch(p);
	snprintf(p, sizeof p, "%s/run/ckpt/step-000000030.tpc", dir);
	touch(p);
	snprintf(p, sizeof p, "%s/run/ckpt/.step-000000300.tpc.tmp.1.0", dir);
	touch(p);
	snprintf(p, sizeof p, "%s/run/ckpt/notes.txt", dir);
	touch(p);
	snprintf(p, sizeof p, "%s/run", dir);
	CHECK(tp_evalrun_expand(ops, 1, &paths, &n) == 0 && n == 3,
	      "checkpoints only: no hidden temporary, no other file, no model.tpm");
	CHECK(n == 3 && strstr(paths[0], "step-000000030.tpc") &&
	          strstr(paths[1], "step-000000200.tpc") && strstr(paths[2], "step-1000.tpc"),
	      "in step order, not name order");
	tp_evalrun_paths_free(paths, n);
	ops[1] = "/nonexistent/ckpt.tpc";
	printf("# the next line on stderr is expected\n");
	CHECK(tp_evalrun_expand(ops, 2, &paths, &n) == -1 && n == 0 && !paths,
	      "a missing operand fails");
	snprintf(p, sizeof p, "rm -rf '%s'", dir);
	CHECK(system(p) == 0, "clean up");
}

int
main(void)
{
	test_se();
	test_sample();
	test_stratified();
	test_expand();
	return check_done();
}
