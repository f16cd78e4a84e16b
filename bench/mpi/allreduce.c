/*
 * allreduce.c: time the sum of n floats across the ranks, tp's rank-order
 * sum (tp_dist_sum_f32: alltoallv + allgatherv) against MPI_Allreduce.
 * Built against an MPI build of libtp by bench/mpi/run; prints one line
 * per size from rank 0: "floats=N tp_ms=.. allreduce_ms=.. GB/s=..".
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tp/dist.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Median-free and simple: the best of reps, after a warm-up. */
static double
best_ms(struct tp_dist *d, float *buf, size_t n, int reps, int ours)
{
	double best = 1e30;

	for (int r = -2; r < reps; r++) {
		double t;
		int rc;

		if (tp_dist_barrier(d) != 0)
			exit(3);
		t = now();
		rc = ours ? tp_dist_sum_f32(d, buf, n) : tp_dist_allreduce_f32(d, buf, n);
		t = now() - t;
		if (rc != 0)
			exit(3);
		if (r >= 0 && t < best)
			best = t;
	}
	return best * 1e3;
}

int
main(int argc, char **argv)
{
	struct tp_dist *d = tp_dist_open();
	size_t sizes[] = {1024, 16384, 262144, 1048576, 4194304, 16777216};
	int reps = argc > 1 ? atoi(argv[1]) : 20;

	if (!d)
		return 3;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k];
		float *buf = calloc(n, sizeof *buf);
		double a, b;

		if (!buf)
			return 3;
		a = best_ms(d, buf, n, reps, 1);
		b = best_ms(d, buf, n, reps, 0);
		if (tp_dist_rank(d) == 0)
			printf("ranks=%d floats=%zu tp_sum_ms=%.4f mpi_allreduce_ms=%.4f "
			       "algbw_GB/s=%.2f\n", tp_dist_size(d), n, a, b,
			       (double)n * 4 / (a * 1e-3) / 1e9);
		free(buf);
	}
	tp_dist_close(d);
	return 0;
}
