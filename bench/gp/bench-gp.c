/*
 * bench-gp: speed and search quality of tp_bo_propose (lib/gp.c).
 *
 *   time   one proposal after 100 completed trials in 6 dimensions
 *          (Hartmann-6 values), q = 1 and q = 4, median and max over seeds;
 *   regret mean best-found regret of BO vs random search at equal budget
 *          on Branin (2-D), Hartmann-6 and a noisy learning-rate valley,
 *          8 random initial points, then proposals of q points.
 *
 * usage: bench-gp [seeds]   (bench/gp/run builds and runs it)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tp/gp.h"
#include "tp/rng.h"
#include "../../tests/unit/gp-problems.h"

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double
now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of this process: on a shared machine, wall time also counts
 * the other processes' turns. */
static double
cpu_now(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}


struct problem {
	const char *name;
	int d;
	double (*f)(const double *);
	double noise;
	const struct tp_gp_dim *dims; /* NULL: all continuous */
};

static double
run_search(const struct problem *pb, int bo, int budget, int init, int q,
           uint64_t seed, double *secs)
{
	struct tp_gp_dim cont[6] = {{0}, {0}, {0}, {0}, {0}, {0}};
	const struct tp_gp_dim *dims = pb->dims ? pb->dims : cont;
	double *X = malloc(sizeof *X * (size_t)budget * 6);
	double *y = malloc(sizeof *y * (size_t)budget), best = INFINITY;
	double regret = INFINITY;
	int *feas = malloc(sizeof *feas * (size_t)budget);
	struct tp_rng r, noise;
	int n = 0;

	tp_rng_seed(&r, seed);
	tp_rng_seed(&noise, tp_seed_derive(seed, 99));
	while (n < budget) {
		int k = 1;
		if (!bo || n < init) {
			for (int j = 0; j < pb->d; j++)
				X[n * pb->d + j] =
					dims[j].levels ? (double)tp_rng_below(
						&r, (uint64_t)dims[j].levels)
					               : tp_rng_uniform(&r);
		} else {
			double t0 = now();
			k = q < budget - n ? q : budget - n;
			if (tp_bo_propose(pb->d, dims, n, X, y, feas, k, seed + n,
			                  X + n * pb->d) != 0)
				exit(3);
			*secs += now() - t0;
		}
		for (int i = n; i < n + k; i++) {
			double f = pb->f(X + i * pb->d);
			y[i] = f + pb->noise * tp_rng_normal(&noise);
			feas[i] = !isnan(f);
			if (feas[i] && y[i] < best) {
				best = y[i];
				regret = f;
			}
		}
		n += k;
	}
	free(X);
	free(y);
	free(feas);
	return regret;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
bench_time(int seeds)
{
	struct tp_gp_dim dims[6] = {{0}, {0}, {0}, {0}, {0}, {0}};
	enum { N = 100, D = 6 };
	static double X[N * D], y[N], out[4 * D];
	double t[64], c[64];
	int qs[2] = {1, 4}, ns = seeds < 64 ? seeds : 64;

	for (int qi = 0; qi < 2; qi++) {
		for (int s = 0; s < seeds && s < 64; s++) {
			struct tp_rng r;
			double t0, c0;
			tp_rng_seed(&r, (uint64_t)s);
			for (int i = 0; i < N; i++) {
				for (int j = 0; j < D; j++)
					X[i * D + j] = tp_rng_uniform(&r);
				y[i] = hartmann6(X + i * D);
			}
			t0 = now();
			c0 = cpu_now();
			if (tp_bo_propose(D, dims, N, X, y, NULL, qs[qi], (uint64_t)s,
			                  out) != 0)
				exit(3);
			t[s] = now() - t0;
			c[s] = cpu_now() - c0;
		}
		qsort(t, (size_t)ns, sizeof *t, cmp_double);
		qsort(c, (size_t)ns, sizeof *c, cmp_double);
		printf("time n=%d d=%d q=%d: wall median %.1f ms, max %.1f ms; "
		       "cpu median %.1f ms, max %.1f ms (%d seeds)\n", N, D, qs[qi],
		       1e3 * t[ns / 2], 1e3 * t[ns - 1], 1e3 * c[ns / 2],
		       1e3 * c[ns - 1], ns);
	}
}

/* How the cost grows with the number of trials (one proposal, 6-D). */
static void
bench_scaling(void)
{
	struct tp_gp_dim dims[6] = {{0}, {0}, {0}, {0}, {0}, {0}};
	int sizes[3] = {50, 200, 400};

	for (int k = 0; k < 3; k++) {
		int n = sizes[k];
		double *X = malloc(sizeof *X * (size_t)n * 6);
		double *y = malloc(sizeof *y * (size_t)n), out[6], t0, c0;
		struct tp_rng r;

		tp_rng_seed(&r, 7);
		for (int i = 0; i < n; i++) {
			for (int j = 0; j < 6; j++)
				X[i * 6 + j] = tp_rng_uniform(&r);
			y[i] = hartmann6(X + i * 6);
		}
		t0 = now();
		c0 = cpu_now();
		if (tp_bo_propose(6, dims, n, X, y, NULL, 1, 7, out) != 0)
			exit(3);
		printf("time n=%d d=6 q=1: wall %.1f ms, cpu %.1f ms\n", n,
		       1e3 * (now() - t0), 1e3 * (cpu_now() - c0));
		free(X);
		free(y);
	}
}

int
main(int argc, char **argv)
{
	static const struct problem pbs[] = {
		{"Branin", 2, branin, 0, NULL},
		{"Hartmann-6", 6, hartmann6, 0, NULL},
		{"lr-valley+noise", 2, lr_valley, 0.1, NULL},
		{"branin-cliff", 2, branin_cliff, 0, NULL},
		{"branin-diverge", 2, branin_diverge, 0, NULL},
		{"plateau-cliff", 2, branin_plateau_cliff, 0, NULL},
		{"mixed-cat", 3, mixed, 0, mixed_dims},
	};
	int seeds = argc > 1 ? atoi(argv[1]) : 20;
	int budgets[2] = {30, 60}, qs[2] = {1, 4};

	if (seeds < 1)
		seeds = 1;
	bench_time(seeds < 15 ? seeds : 15);
	bench_scaling();
	printf("%-16s %6s %2s %12s %12s %8s %10s\n", "problem", "budget", "q",
	       "BO regret", "random", "BO wins", "ms/propose");
	for (size_t p = 0; p < sizeof pbs / sizeof *pbs; p++) {
		for (int b = 0; b < 2; b++) {
			for (int qi = 0; qi < 2; qi++) {
				double rb = 0, rr = 0, secs = 0, dummy = 0;
				int wins = 0, calls;
				for (int s = 0; s < seeds; s++) {
					double a = run_search(&pbs[p], 1, budgets[b], 8, qs[qi],
					                      1000 + (uint64_t)s, &secs);
					double c = run_search(&pbs[p], 0, budgets[b], 8, qs[qi],
					                      1000 + (uint64_t)s, &dummy);
					rb += a;
					rr += c;
					wins += a < c;
				}
				calls = seeds * ((budgets[b] - 8 + qs[qi] - 1) / qs[qi]);
				printf("%-16s %6d %2d %12.4g %12.4g %5d/%-2d %10.1f\n",
				       pbs[p].name, budgets[b], qs[qi], rb / seeds, rr / seeds,
				       wins, seeds, 1e3 * secs / calls);
				fflush(stdout);
			}
		}
	}
	return 0;
}
