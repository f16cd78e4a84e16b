/*
 * test-bo-vs-qmc.c: the playbook's ordering of methods, checked at equal
 * budget: once exploration is over, Bayesian optimization (tp/gp.h) should
 * find better points than quasi-random search (tp/qmc.h).  Three problems,
 * several seeds each: Branin (2-D), Hartmann-6 and a noisy learning-rate
 * valley in log space (the shape of a real tuning problem: a narrow optimum
 * in log(lr), a weak second parameter, divergence above a threshold).
 * The assertion is modest: the mean best value of BO is below that of Sobol.
 * The numbers go to bench/sample.md.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "tp/gp.h"
#include "tp/qmc.h"
#include "tp/rng.h"

struct problem {
	const char *name;
	int d, init, batch, budget;
	/* f(x in [0,1)^d) to minimize; *feasible = 0 when the run "diverged" */
	double (*f)(const double *x, struct tp_rng *noise, int *feasible);
};

static double
branin(const double *u, struct tp_rng *noise, int *feasible)
{
	double x = -5 + 15 * u[0], y = 15 * u[1];
	double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, t = 1 / (8 * M_PI);

	*feasible = 1;
	return pow(y - b * x * x + c * x - 6, 2) + 10 * (1 - t) * cos(x) + 10;
}

static double
hartmann6(const double *x, struct tp_rng *noise, int *feasible)
{
	static const double a[4] = {1.0, 1.2, 3.0, 3.2};
	static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
	                               {0.05, 10, 17, 0.1, 8, 14},
	                               {3, 3.5, 1.7, 10, 17, 8},
	                               {17, 8, 0.05, 10, 0.1, 14}};
	static const double P[4][6] = {{.1312, .1696, .5569, .0124, .8283, .5886},
	                               {.2329, .4135, .8307, .3736, .1004, .9991},
	                               {.2348, .1451, .3522, .2883, .3047, .6650},
	                               {.4047, .8828, .8732, .5743, .1091, .0381}};
	double s = 0;

	*feasible = 1;
	for (int i = 0; i < 4; i++) {
		double e = 0;

		for (int j = 0; j < 6; j++)
			e += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
		s += a[i] * exp(-e);
	}
	return -s;
}

/* lr in [1e-5, 1] log, weight decay in [1e-6, 1e-1] log: validation error
 * of a valley around lr = 10^-2.5, wd = 10^-4, plus noise; lr > 0.3 diverges. */
static double
lr_valley(const double *u, struct tp_rng *noise, int *feasible)
{
	double llr = -5 + 5 * u[0], lwd = -6 + 5 * u[1];
	double e = 0.05 + 0.04 * pow(llr + 2.5, 2) + 0.01 * pow(lwd + 4, 2);

	*feasible = llr < log10(0.3);
	return e + 0.005 * tp_rng_normal(noise);
}

/* The noiseless value, for scoring the best feasible point found. */
static double
truth(const struct problem *p, const double *x)
{
	struct tp_rng r;
	int ok;
	double v;

	tp_rng_seed(&r, 0);
	if (p->f == lr_valley) {
		double llr = -5 + 5 * x[0], lwd = -6 + 5 * x[1];

		v = 0.05 + 0.04 * pow(llr + 2.5, 2) + 0.01 * pow(lwd + 4, 2);
		return llr < log10(0.3) ? v : INFINITY;
	}
	return p->f(x, &r, &ok);
}

static double
run_qmc(const struct problem *p, uint64_t seed)
{
	struct tp_qmc *q = tp_qmc_new(TP_QMC_SOBOL, p->d, NULL, seed, 0);
	double x[8], best = INFINITY;

	for (int i = 0; i < p->budget; i++) {
		tp_qmc_point(q, (uint64_t)i, x);
		double v = truth(p, x);

		if (v < best)
			best = v;
	}
	tp_qmc_free(q);
	return best;
}

/* Quasi-random start (the exploration round), then batches of proposals. */
static double
run_bo(const struct problem *p, uint64_t seed, int *err)
{
	struct tp_qmc *q = tp_qmc_new(TP_QMC_SOBOL, p->d, NULL, seed, 0);
	struct tp_gp_dim dims[8] = {{0}};
	double *X = malloc(sizeof *X * (size_t)p->budget * (size_t)p->d);
	double *y = malloc(sizeof *y * (size_t)p->budget), best = INFINITY;
	int *feas = malloc(sizeof *feas * (size_t)p->budget), n = 0;
	struct tp_rng noise;

	tp_rng_seed(&noise, seed ^ 0xabcdef);
	for (; n < p->init; n++) {
		tp_qmc_point(q, (uint64_t)n, X + n * p->d);
		y[n] = p->f(X + n * p->d, &noise, &feas[n]);
	}
	while (n < p->budget) {
		int b = p->budget - n < p->batch ? p->budget - n : p->batch;

		if (tp_bo_propose(p->d, dims, n, X, y, feas, b,
		                  tp_seed_derive(seed, (uint64_t)n), X + n * p->d)) {
			(*err)++;
			break;
		}
		for (int k = 0; k < b; k++, n++)
			y[n] = p->f(X + n * p->d, &noise, &feas[n]);
	}
	for (int i = 0; i < n; i++) {
		double v = truth(p, X + i * p->d);

		if (v < best)
			best = v;
	}
	tp_qmc_free(q);
	free(X);
	free(y);
	free(feas);
	return best;
}

int
main(void)
{
	static const struct problem probs[3] = {
		{"branin", 2, 6, 3, 24, branin},
		{"hartmann6", 6, 12, 4, 48, hartmann6},
		{"lr-valley", 2, 6, 3, 24, lr_valley},
	};
	enum { SEEDS = 5 };

	for (int k = 0; k < 3; k++) {
		const struct problem *p = &probs[k];
		double mq = 0, mb = 0;
		int err = 0, wins = 0;

		for (uint64_t s = 1; s <= SEEDS; s++) {
			double a = run_qmc(p, s), b = run_bo(p, s, &err);

			mq += a / SEEDS;
			mb += b / SEEDS;
			wins += b < a;
		}
		printf("# %s: d=%d budget %d (BO: %d quasi-random + batches of %d): "
		       "mean best, %d seeds: sobol %.6g, bayes %.6g; bayes better in %d\n",
		       p->name, p->d, p->budget, p->init, p->batch, SEEDS, mq, mb, wins);
		CHECK(err == 0, "%s: tp_bo_propose succeeds", p->name);
		CHECK(mb < mq, "%s: Bayesian search beats Sobol at equal budget "
		      "(mean best %.4g < %.4g)", p->name, mb, mq);
	}
	return check_done();
}
