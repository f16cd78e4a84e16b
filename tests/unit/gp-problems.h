/*
 * gp-problems.h: the test functions that the Bayesian optimizer is judged
 * on, on the unit cube, shifted so that their minimum is 0 (Branin,
 * Hartmann-6) or known (the learning-rate valley).  Shared by
 * tests/unit/test-gp.c and bench/gp/bench-gp.c so that the test and the
 * benchmark measure the same problems.
 */
#ifndef TP_TEST_GP_PROBLEMS_H
#define TP_TEST_GP_PROBLEMS_H

#include <math.h>

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

static double
lr_valley(const double *u)
{
	double l = -5 + 5 * u[0];

	return (l + 2.7) * (l + 2.7) + 0.05 * (u[1] - 0.3) * (u[1] - 0.3);
}

#endif
