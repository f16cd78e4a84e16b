/*
 * gp-problems.h: the test functions that the Bayesian optimizer is judged
 * on, on the unit cube, shifted so that their minimum is 0 (Branin,
 * Hartmann-6) or known (the learning-rate valley), and the variants that
 * test the hard cases: cliffs, plateaus, divergence, a categorical choice.  Shared by
 * tests/unit/test-gp.c and bench/gp/bench-gp.c so that the test and the
 * benchmark measure the same problems.
 */
#ifndef TP_TEST_GP_PROBLEMS_H
#define TP_TEST_GP_PROBLEMS_H

#include <math.h>

#include "tp/gp.h"

static double
branin(const double *u)
{
	double x1 = -5 + 15 * u[0], x2 = 15 * u[1];
	double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, t = 1 / (8 * M_PI);
	double a = x2 - b * x1 * x1 + c * x1 - 6;

	return a * a + 10 * (1 - t) * cos(x1) + 10 - 0.397887357729738;
}

static double
hartmann6(const double *x)
{
	static const double al[4] = {1.0, 1.2, 3.0, 3.2};
	static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
	                               {0.05, 10, 17, 0.1, 8, 14},
	                               {3, 3.5, 1.7, 10, 17, 8},
	                               {17, 8, 0.05, 10, 0.1, 14}};
	static const double P[4][6] = {
		{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
		{0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
		{0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
		{0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
	double f = 0;

	for (int i = 0; i < 4; i++) {
		double s = 0;
		for (int j = 0; j < 6; j++)
			s += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
		f -= al[i] * exp(-s);
	}
	return f + 3.32236801141551;
}

/* Learning rate in [1e-5, 1] on a log scale, optimum at 10^-2.7; u[1] is
 * a nuisance with a small effect. */
static double
lr_valley(const double *u)
{
	double l = -5 + 5 * u[0];

	return (l + 2.7) * (l + 2.7) + 0.05 * (u[1] - 0.3) * (u[1] - 0.3);
}

/* Branin next to a cliff: a region of finite but huge losses (a nearly
 * diverged run) must not flatten the rest of the model. */
static double
branin_cliff(const double *u)
{
	return u[0] > 0.85 ? 1e4 : branin(u);
}

/* Branin clipped at 15 (over half the space is one plateau, so the
 * median absolute deviation is 0) beside the 1e4 cliff: the outlier cap
 * must still find a scale. */
static double
branin_plateau_cliff(const double *u)
{
	double b = branin(u);

	return u[0] > 0.85 ? 1e4 : b > 15 ? 15 : b;
}

/* Branin where u[0] > 0.85 diverges: NaN, marked infeasible. */
static double
branin_diverge(const double *u)
{
	return u[0] > 0.85 ? NAN : branin(u);
}

/* A mixed space: u[1] picks one of 3 optimizers (categorical), each with
 * its own best learning rate (u[0], log scale) and floor; u[2] is a
 * nuisance.  Optimum 0 at level 1, log10 lr = -2, u[2] = 0.3. */
static double
mixed(const double *u)
{
	static const double lstar[3] = {-3.5, -2, -1}, floor_[3] = {0.3, 0, 0.5};
	int c = (int)u[1];
	double l = -5 + 5 * u[0];

	return (l - lstar[c]) * (l - lstar[c]) + floor_[c] +
	       0.05 * (u[2] - 0.3) * (u[2] - 0.3);
}

static const struct tp_gp_dim mixed_dims[3] = {{0}, {3}, {0}};

#endif
