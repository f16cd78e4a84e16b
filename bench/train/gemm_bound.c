/*
 * gemm_bound: the time of one training step's matrix products alone, for
 * an MLP of the given sizes and batch (forward: one GEMM per layer;
 * backward: the weight gradient of every layer and the input gradient of
 * every layer but the first).  This is the floor under tp-train's step
 * time: everything else (activations, loss, optimizer) comes on top.
 * It prints two rates: the best single step of REPEATS (every operand hot
 * in cache: the strict bound) and the REPEATS steps back to back as a
 * whole (a sustained rate, measured the way tp-train's own rate is).
 * Operands start on cache lines, as tp-train's do (the best case).  With
 * more than one thread the products are timed both ways, threaded by
 * OpenBLAS and cut over tp's pool as tp-train cuts them, and each rate is
 * the better of the two.
 * usage: gemm_bound SIZES BATCH REPEATS THREADS   (SIZES like 784-1024-1024-10)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tp/err.h"
#include "tp/linalg.h"
#include "tp/pool.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int sz[16], L, B;
static float *x[16], *w[16], *g[16], *dx[16];

/* REPS steps of products: the best step's and the whole run's rates. */
static void
bound(struct tp_pool *p, int reps, double *best_rate, double *sustained)
{
	double best = 1e30, start = now();

	for (int r = 0; r < reps; r++) {
		double t0 = now();
		for (int l = 0; l + 1 < L; l++) /* y = x W^T, W [out, in] */
			tp_sgemm_pool(p, 0, 1, B, sz[l + 1], sz[l], 1, x[l], sz[l], w[l],
			              sz[l], 0, x[l + 1], sz[l + 1]);
		for (int l = L - 2; l >= 0; l--) {
			if (l > 0) /* dx = dy W */
				tp_sgemm_pool(p, 0, 0, B, sz[l], sz[l + 1], 1, dx[l + 1],
				              sz[l + 1], w[l], sz[l], 0, dx[l], sz[l]);
			/* dW = dy^T x: [out, in] */
			tp_sgemm_pool_rows(p, 1, 0, sz[l + 1], sz[l], B, 1, dx[l + 1],
			                   sz[l + 1], x[l], sz[l], 0, g[l], sz[l], NULL,
			                   NULL);
		}
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	*best_rate = 1.0 / best;
	*sustained = reps / (now() - start);
}

int
main(int argc, char **argv)
{
	int reps, threads;
	double b1, s1, b2 = 0, s2 = 0;
	char *s;

	if (argc != 5)
		return 2;
	for (s = strtok(argv[1], "-"); s && L < 16; s = strtok(NULL, "-"))
		sz[L++] = atoi(s);
	B = atoi(argv[2]);
	reps = atoi(argv[3]);
	threads = atoi(argv[4]);
	for (int l = 0; l < L; l++) {
		x[l] = tp_xcalloc_lines((size_t)B * sz[l], sizeof(float));
		dx[l] = tp_xcalloc_lines((size_t)B * sz[l], sizeof(float));
		if (l + 1 < L) {
			w[l] = tp_xcalloc_lines((size_t)sz[l] * sz[l + 1], sizeof(float));
			g[l] = tp_xcalloc_lines((size_t)sz[l] * sz[l + 1], sizeof(float));
		}
	}
	tp_blas_set_threads(threads);
	bound(NULL, reps, &b1, &s1);
	if (threads > 1) {
		struct tp_pool *p = tp_pool_new(threads);

		tp_pool_set_spin(p, 200);
		tp_blas_set_threads(1);
		bound(p, reps, &b2, &s2);
		tp_pool_free(p);
	}
	printf("gemm_steps_per_s=%.2f sustained_steps_per_s=%.2f "
	       "openblas=%.2f/%.2f pool=%.2f/%.2f\n",
	       b1 > b2 ? b1 : b2, s1 > s2 ? s1 : s2, b1, s1, b2, s2);
	return 0;
}
