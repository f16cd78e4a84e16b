/*
 * gemm_bound: the time of one training step's matrix products alone, for
 * an MLP of the given sizes and batch (forward: one GEMM per layer;
 * backward: the weight gradient of every layer and the input gradient of
 * every layer but the first).  This is the floor under tp-train's step
 * time: everything else (activations, loss, optimizer) comes on top.
 * It prints two rates: the best single step of REPEATS (every operand hot
 * in cache: the strict bound) and the REPEATS steps back to back as a
 * whole (a sustained rate, measured the way tp-train's own rate is).
 * Operands start on cache lines, as tp-train's do (the best case).
 * usage: gemm_bound SIZES BATCH REPEATS THREADS   (SIZES like 784-1024-1024-10)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tp/err.h"
#include "tp/linalg.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	int sz[16], L = 0, B, reps, threads;
	float *x[16], *w[16], *g[16], *dx[16];
	char *s;

	if (argc != 5)
		return 2;
	for (s = strtok(argv[1], "-"); s && L < 16; s = strtok(NULL, "-"))
		sz[L++] = atoi(s);
	B = atoi(argv[2]);
	reps = atoi(argv[3]);
	threads = atoi(argv[4]);
	tp_blas_set_threads(threads);
	for (int l = 0; l < L; l++) {
		x[l] = tp_xcalloc_lines((size_t)B * sz[l], sizeof(float));
		dx[l] = tp_xcalloc_lines((size_t)B * sz[l], sizeof(float));
		if (l + 1 < L) {
			w[l] = tp_xcalloc_lines((size_t)sz[l] * sz[l + 1], sizeof(float));
			g[l] = tp_xcalloc_lines((size_t)sz[l] * sz[l + 1], sizeof(float));
		}
	}
	double best = 1e30, start = now();
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		for (int l = 0; l + 1 < L; l++) /* y = x W^T, W [out, in] */
			tp_sgemm(0, 1, B, sz[l + 1], sz[l], 1, x[l], sz[l], w[l], sz[l], 0,
			         x[l + 1], sz[l + 1]);
		for (int l = L - 2; l >= 0; l--) {
			/* dW = dy^T x: [out, in] */
			tp_sgemm(1, 0, sz[l + 1], sz[l], B, 1, dx[l + 1], sz[l + 1], x[l], sz[l],
			         0, g[l], sz[l]);
			if (l > 0) /* dx = dy W */
				tp_sgemm(0, 0, B, sz[l], sz[l + 1], 1, dx[l + 1], sz[l + 1], w[l],
				         sz[l], 0, dx[l], sz[l]);
		}
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	printf("gemm_steps_per_s=%.2f sustained_steps_per_s=%.2f\n", 1.0 / best,
	       reps / (now() - start));
	return 0;
}
