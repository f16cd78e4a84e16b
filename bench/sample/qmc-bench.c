/*
 * qmc-bench.c: time tp's point generation, 2^20 points in 10 dimensions,
 * scrambled Sobol and scrambled Halton (tp_qmc_fill into one array, as
 * scipy.stats.qmc's random() does), best of 5 runs.  Built and run by
 * bench/sample/run.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tp/qmc.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int
main(void)
{
	enum { N = 1 << 20, D = 10 };
	const enum tp_qmc_kind kinds[3] = {TP_QMC_SOBOL, TP_QMC_HALTON, TP_QMC_RANDOM};
	double *x = malloc(sizeof *x * (size_t)N * D);

	if (!x)
		return 1;
	for (int k = 0; k < 3; k++) {
		double best = 1e9, sum = 0;

		for (int rep = 0; rep < 5; rep++) {
			double t0 = now();
			struct tp_qmc *q = tp_qmc_new(kinds[k], D, NULL, (uint64_t)rep, 0);

			if (!q)
				return 1;
			tp_qmc_fill(q, 0, N, x);
			tp_qmc_free(q);
			t0 = now() - t0;
			if (t0 < best)
				best = t0;
			sum += x[N * D - 1];
		}
		printf("tp %-6s 2^20 x 10: %.1f ms (checksum %.3f)\n",
		       tp_qmc_kind_name(kinds[k]), best * 1e3, sum);
	}
	free(x);
	return 0;
}
