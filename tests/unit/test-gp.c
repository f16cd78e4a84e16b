/* test-gp: the Gaussian-process optimizer piece by piece (likelihood
 * gradient against finite differences, interpolation, the constant liar's
 * factor update, log-EI against the direct formula and where the direct one
 * underflows), then tp_bo_propose as a whole: every error path with its
 * message, determinism, distinct in-range proposals, exhaustion of a finite
 * space, and "BO beats random search at equal budget" on Branin, Hartmann-6
 * and a noisy learning-rate valley. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gp-problems.h"
#include "tp/gp.h"
#include "tp/linalg.h"
#include "tp/rng.h"

#define SQRT_2PI 2.50662827463100050242

/* ---- stderr capture for the error-path checks ---- */

static char captured[4096];
static int shown_len; /* the message without its final newline */
static int saved_fd = -1;
static char cap_path[] = "/tmp/test-gp.XXXXXX";

static void
capture_begin(void)
{
	int fd = mkstemp(cap_path);

	fflush(stderr);
	saved_fd = dup(2);
	dup2(fd, 2);
	close(fd);
}

static const char *
capture_end(void)
{
	FILE *f;
	size_t got = 0;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	f = fopen(cap_path, "r");
	if (f) {
		got = fread(captured, 1, sizeof captured - 1, f);
		fclose(f);
	}
	captured[got] = 0;
	unlink(cap_path);
	if (got > 0 && captured[got - 1] == '\n' && !strchr(captured, '\n')[1])
		shown_len = (int)got - 1;
	else
		shown_len = (int)got;
	strcpy(cap_path, "/tmp/test-gp.XXXXXX");
	return captured;
}

/* One line, program name first, containing `want`. */
static int
one_line_with(const char *msg, const char *want)
{
	const char *nl = strchr(msg, '\n');

	return strncmp(msg, "test-gp: ", 9) == 0 && nl && nl[1] == 0 &&
	       strstr(msg, want) != NULL;
}

/* tp_bo_propose refused the call (-1) with one line containing want; the
 * line stays in refused_msg for the check's description. */
static const char *refused_msg;

static int
refused(int d, const struct tp_gp_dim *dims, int n, const double *X,
        const double *y, const int *feasible, int q, uint64_t seed,
        double *out, const char *want)
{
	int rc;

	capture_begin();
	rc = tp_bo_propose(d, dims, n, X, y, feasible, q, seed, out);
	refused_msg = capture_end();
	return rc == -1 && one_line_with(refused_msg, want);
}

/* ---- test functions (minimized; inputs coded in [0,1]) ---- */


struct problem {
	const char *name;
	int d;
	double (*f)(const double *);
	double noise;
	const struct tp_gp_dim *dims; /* NULL: all continuous */
	int seeds; /* hard problems need more to average out luck */
};

/*
 * Regret after `budget` evaluations, `init` of them random (bo = 0: pure
 * random search with the same seed): the noiseless value of the trial a
 * user would pick, the one with the best observed (noisy) objective.  A
 * NaN objective is a diverged trial, passed as infeasible.
 */
static double
run_search(const struct problem *pb, int bo, int budget, int init, int q,
           uint64_t seed, int *failed)
{
	struct tp_gp_dim cont[6] = {{0}, {0}, {0}, {0}, {0}, {0}};
	const struct tp_gp_dim *dims = pb->dims ? pb->dims : cont;
	double X[64 * 6], y[64], f[64], best = INFINITY, regret = INFINITY;
	struct tp_rng r, noise;
	int n = 0, feas[64];

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
			k = q < budget - n ? q : budget - n;
			if (tp_bo_propose(pb->d, dims, n, X, y, feas, k, seed + n,
			                  X + n * pb->d) != 0) {
				*failed = 1;
				return INFINITY;
			}
		}
		for (int i = n; i < n + k; i++) {
			f[i] = pb->f(X + i * pb->d);
			y[i] = f[i] + pb->noise * tp_rng_normal(&noise);
			feas[i] = !isnan(f[i]);
			if (feas[i] && y[i] < best) {
				best = y[i];
				regret = f[i];
			}
		}
		n += k;
	}
	return regret;
}

/* ---- checks ---- */

static void
test_lml_gradient(void)
{
	struct tp_gp_dim dims[3] = {{0}, {3}, {0}};
	enum { N = 14, D = 3 };
	double X[N * D], y[N], th[D + 3], g[D + 3], gp2[D + 3];
	struct tp_rng r;
	struct tp_gp *gp;
	int okg = 1, okp = 1;

	tp_rng_seed(&r, 7);
	for (int i = 0; i < N; i++) {
		X[i * D] = tp_rng_uniform(&r);
		X[i * D + 1] = (double)tp_rng_below(&r, 3);
		X[i * D + 2] = tp_rng_uniform(&r);
		y[i] = sin(6 * X[i * D]) + X[i * D + 1] * 0.3 + tp_rng_normal(&r) * 0.1;
	}
	gp = tp_gp_new(D, dims, N, X, y);
	th[0] = log(0.3), th[1] = log(0.8), th[2] = log(2.0);
	th[3] = log(1.3), th[4] = log(0.02), th[5] = 0.1;
	CHECK(isfinite(tp_gp_lml(gp, th, g)), "lml is finite");
	tp_gp_log_posterior(gp, th, gp2);
	for (int k = 0; k < D + 3; k++) {
		double h = 1e-5, t[D + 3], fp, fm, fd;
		memcpy(t, th, sizeof t);
		t[k] = th[k] + h;
		fp = tp_gp_lml(gp, t, NULL);
		t[k] = th[k] - h;
		fm = tp_gp_lml(gp, t, NULL);
		fd = (fp - fm) / (2 * h);
		if (fabs(fd - g[k]) > 1e-6 + 1e-5 * fabs(fd)) {
			printf("# lml grad[%d] = %.10g, finite difference %.10g\n", k,
			       g[k], fd);
			okg = 0;
		}
		t[k] = th[k] + h;
		fp = tp_gp_log_posterior(gp, t, NULL);
		t[k] = th[k] - h;
		fm = tp_gp_log_posterior(gp, t, NULL);
		fd = (fp - fm) / (2 * h);
		if (fabs(fd - gp2[k]) > 1e-6 + 1e-5 * fabs(fd)) {
			printf("# posterior grad[%d] = %.10g, finite difference %.10g\n",
			       k, gp2[k], fd);
			okp = 0;
		}
	}
	CHECK(okg, "lml gradient matches finite differences (mixed dims)");
	CHECK(okp, "log-posterior gradient matches finite differences");
	/* The fit must not end below where it started. */
	{
		double before = tp_gp_log_posterior(gp, th, NULL), after[D + 3];
		CHECK(tp_gp_fit(gp, 1) == 0, "fit succeeds");
		tp_gp_theta(gp, after);
		CHECK(tp_gp_log_posterior(gp, after, NULL) >= before,
		      "fit improves the log posterior (%g >= %g)",
		      tp_gp_log_posterior(gp, after, NULL), before);
	}
	tp_gp_free(gp);
}

/* Values from bench/gp/numpy-gp-ref.py (an independent numpy/mpmath
 * implementation); rerun it and paste if the data below change. */
static const double ref_lml = -8.1404322984394231;
static const double ref_mean0 = 0.48118246637128936,
                    ref_var0 = 0.19543845247380998;
static const double ref_mean1 = -0.32883149621417646,
                    ref_var1 = 1.1243004022901242;
static const double ref_z[9] = {3, 0.5, -0.5, -2, -8, -19.5, -25, -40, -1000};
static const double ref_logh[9] = {
	1.0987396653277078, -0.35982768374506382, -1.6205162643873199,
	-4.7687835239171142, -37.122364261692633, -196.99258561722833,
	-319.86146358149595, -808.29856835661996, -500014.73445209116};

static void
test_reference(void)
{
	struct tp_gp_dim dims[3] = {{0}, {3}, {0}};
	static const double X[6 * 3] = {0.10, 0, 0.90, 0.35, 2, 0.20,
	                                0.60, 1, 0.55, 0.85, 0, 0.05,
	                                0.20, 1, 0.40, 0.95, 2, 0.75};
	static const double y[6] = {0.3, -1.2, 0.8, 1.5, -0.4, 0.1};
	static const double t0[3] = {0.5, 1, 0.5}, t1[3] = {0.0, 2, 1.0};
	double th[6] = {log(0.3), log(0.7), log(1.5), log(1.4), log(0.05), 0.2};
	double m, v;
	struct tp_gp *gp = tp_gp_new(3, dims, 6, X, y);
	int ok = 1;

	CHECK_CLOSE(tp_gp_lml(gp, th, NULL), ref_lml, 1e-10, 0,
	            "lml matches the numpy reference (%.15g)",
	            tp_gp_lml(gp, th, NULL));
	CHECK(tp_gp_set_theta(gp, th) == 0, "factor the reference GP");
	tp_gp_predict(gp, t0, &m, &v);
	CHECK(fabs(m - ref_mean0) < 1e-10 && fabs(v - ref_var0) < 1e-10,
	      "posterior at a mid point matches the reference (%.15g, %.15g)", m,
	      v);
	tp_gp_predict(gp, t1, &m, &v);
	CHECK(fabs(m - ref_mean1) < 1e-10 && fabs(v - ref_var1) < 1e-10,
	      "posterior at a corner matches the reference (%.15g, %.15g)", m, v);
	tp_gp_free(gp);
	for (int i = 0; i < 9; i++) {
		double got = tp_gp_logh(ref_z[i], NULL);
		if (!(fabs(got - ref_logh[i]) <= 1e-10 * fabs(ref_logh[i]))) {
			printf("# logh(%g) = %.17g, mpmath %.17g\n", ref_z[i], got,
			       ref_logh[i]);
			ok = 0;
		}
	}
	CHECK(ok, "log h matches mpmath to 1e-10 relative, z in [-1000, 3]");
}

static void
test_interpolation(void)
{
	struct tp_gp_dim dims[2] = {{0}, {0}};
	enum { N = 20 };
	double X[N * 2], y[N], th[5], maxerr = 0, maxvar = 0, m, v;
	struct tp_rng r;
	struct tp_gp *gp, *gp1;

	tp_rng_seed(&r, 3);
	for (int i = 0; i < N; i++) {
		X[2 * i] = tp_rng_uniform(&r);
		X[2 * i + 1] = tp_rng_uniform(&r);
		y[i] = sin(5 * X[2 * i]) * cos(3 * X[2 * i + 1]);
	}
	gp = tp_gp_new(2, dims, N, X, y);
	th[0] = log(0.4), th[1] = log(0.4), th[2] = 0, th[3] = log(1e-6);
	th[4] = 0;
	CHECK(tp_gp_set_theta(gp, th) == 0, "set_theta factors K");
	for (int i = 0; i < N; i++) {
		tp_gp_predict(gp, X + 2 * i, &m, &v);
		maxerr = fmax(maxerr, fabs(m - y[i]));
		maxvar = fmax(maxvar, v);
	}
	CHECK(maxerr < 1e-4, "noiseless posterior mean interpolates (max err %g)",
	      maxerr);
	CHECK(maxvar < 1e-4, "posterior variance vanishes at data (max %g)",
	      maxvar);
	{
		double far[2] = {0.5, 0.5};
		tp_gp_predict(gp, far, &m, &v);
		CHECK(v > 0 && v <= 1 + 1e-12, "variance between points in (0, s2]");
	}
	/* tp_gp_add == refactoring from scratch with the same theta. */
	gp1 = tp_gp_new(2, dims, N - 1, X, y);
	CHECK(tp_gp_set_theta(gp1, th) == 0, "factor of n-1 points");
	tp_gp_add(gp1, X + 2 * (N - 1), y[N - 1]);
	{
		double p[2] = {0.31, 0.77}, m1, v1;
		tp_gp_predict(gp, p, &m, &v);
		tp_gp_predict(gp1, p, &m1, &v1);
		CHECK(fabs(m - m1) < 1e-8 && fabs(v - v1) < 1e-8,
		      "rank-one add matches a full refactor (%g vs %g)", m1, m);
	}
	tp_gp_free(gp1);
	/* A fitted model on the same smooth data stays close at the data. */
	CHECK(tp_gp_fit(gp, 5) == 0, "fit on smooth data");
	maxerr = 0;
	for (int i = 0; i < N; i++) {
		tp_gp_predict(gp, X + 2 * i, &m, &v);
		maxerr = fmax(maxerr, fabs(m - y[i]));
	}
	CHECK(maxerr < 0.05, "fitted GP reproduces smooth data (max err %g)",
	      maxerr);
	tp_gp_free(gp);
	tp_gp_free(NULL);
}

static double
log_h_direct(double z)
{
	double phi = exp(-0.5 * z * z) / SQRT_2PI;
	double Phi = 0.5 * erfc(-z / sqrt(2.0));

	return log(phi + z * Phi);
}

static void
test_log_ei(void)
{
	int ok = 1, mono = 1, dok = 1;
	double prev = -INFINITY, mu = 0.3, sigma = 0.7, best = 0.1;

	for (double z = -5; z <= 5; z += 0.125) {
		double a = tp_gp_logh(z, NULL), b = log_h_direct(z);
		if (fabs(a - b) > 1e-9 * (1 + fabs(b))) {
			printf("# logh(%g) = %.15g, direct %.15g\n", z, a, b);
			ok = 0;
		}
	}
	CHECK(ok, "log h matches the direct formula on [-5, 5]");
	/* log EI against (best - mu) Phi(z) + sigma phi(z). */
	{
		double z = (best - mu) / sigma;
		double ei = (best - mu) * 0.5 * erfc(-z / sqrt(2.0)) +
		            sigma * exp(-0.5 * z * z) / SQRT_2PI;
		CHECK_CLOSE(tp_gp_log_ei(mu, sigma, best), log(ei), 1e-12, 1e-12,
		            "log EI matches the direct EI");
		CHECK(tp_gp_log_ei(1, 0, 0) == -INFINITY &&
		      fabs(tp_gp_log_ei(0, 0, 1)) < 1e-15,
		      "log EI with sigma = 0 is log(max(best - mu, 0))");
	}
	/* Far below the incumbent the direct formula is exactly 0 (log = -inf);
	 * log h must stay finite and follow -z^2/2 - log(sqrt(2pi) z^2). */
	CHECK(isinf(log_h_direct(-40)), "direct EI underflows at z = -40");
	{
		double z = -40, a = tp_gp_logh(z, NULL);
		double asym = -0.5 * z * z - log(SQRT_2PI) - 2 * log(-z) +
		              log(1 - 3 / (z * z));
		CHECK(isfinite(a) && fabs(a - asym) < 1e-5,
		      "log h(-40) = %.12g, asymptotic %.12g", a, asym);
		a = tp_gp_logh(-1e5, NULL);
		CHECK(isfinite(a) && fabs(a - (-5e9 - log(SQRT_2PI) - 2 * log(1e5))) <
		                         1e-3,
		      "log h(-1e5) finite (%.6g)", a);
	}
	/* Monotone in z and continuous at the branch points -1 and -20. */
	for (double z = -60; z <= 8; z += 0.01) {
		double v = tp_gp_logh(z, NULL);
		mono &= v > prev;
		prev = v;
	}
	CHECK(mono, "log h is increasing on [-60, 8]");
	for (int b = 0; b < 2; b++) {
		double z = b ? -20 : -1, e = 1e-9;
		double lo = tp_gp_logh(z - e, NULL), hi = tp_gp_logh(z + e, NULL);
		CHECK(fabs(hi - lo) < 1e-8 * (1 + fabs(lo)),
		      "log h continuous at z = %g (%.15g vs %.15g)", z, lo, hi);
	}
	for (double z = -30; z <= 6; z += 0.37) {
		double d, h = 1e-6, fd;
		tp_gp_logh(z, &d);
		fd = (tp_gp_logh(z + h, NULL) - tp_gp_logh(z - h, NULL)) / (2 * h);
		if (fabs(d - fd) > 1e-5 * (1 + fabs(fd))) {
			printf("# dlogh(%g) = %.10g, finite difference %.10g\n", z, d,
			       fd);
			dok = 0;
		}
	}
	CHECK(dok, "d log h / dz matches finite differences on [-30, 6]");
}

/* No two of the q rows of P within 1e-6 in every coordinate, and none
 * within 1e-6 of the n rows of X. */
static int
distinct(int d, int q, const double *P, int n, const double *X)
{
	for (int a = 0; a < q; a++) {
		for (int b = 0; b < q + n; b++) {
			const double *o = b < q ? P + b * d : X + (b - q) * d;
			int same = 1;
			if (b == a)
				continue;
			for (int j = 0; j < d; j++)
				same &= fabs(P[a * d + j] - o[j]) < 1e-6;
			if (same)
				return 0;
		}
	}
	return 1;
}

/* Smallest distance (max over coordinates) between two of the q rows. */
static double
min_spread(int d, int q, const double *P)
{
	double m = INFINITY;

	for (int a = 0; a < q; a++)
		for (int b = 0; b < a; b++) {
			double dab = 0;
			for (int j = 0; j < d; j++)
				dab = fmax(dab, fabs(P[a * d + j] - P[b * d + j]));
			m = fmin(m, dab);
		}
	return m;
}

static int
in_range(int d, const struct tp_gp_dim *dims, int q, const double *P)
{
	for (int i = 0; i < q; i++) {
		for (int j = 0; j < d; j++) {
			double v = P[i * d + j];
			int k = dims[j].levels;
			if (k ? !(v >= 0 && v <= k - 1 && v == floor(v))
			      : !(v >= 0 && v <= 1))
				return 0;
		}
	}
	return 1;
}

static void
test_propose(void)
{
	struct tp_gp_dim dims[3] = {{0}, {3}, {0}};
	enum { N = 12, D = 3, Q = 6 };
	double X[N * D], y[N], P[Q * D], P2[Q * D];
	int feas[N];
	struct tp_rng r;

	tp_rng_seed(&r, 11);
	for (int i = 0; i < N; i++) {
		X[i * D] = tp_rng_uniform(&r);
		X[i * D + 1] = (double)tp_rng_below(&r, 3);
		X[i * D + 2] = tp_rng_uniform(&r);
		y[i] = (X[i * D] - 0.3) * (X[i * D] - 0.3) + 0.1 * X[i * D + 1] +
		       X[i * D + 2];
		feas[i] = i % 5 != 4;
	}
	y[4] = NAN; /* infeasible trials may carry garbage */
	CHECK(tp_bo_propose(D, dims, N, X, y, feas, Q, 42, P) == 0,
	      "mixed space, infeasible points: proposes");
	CHECK(in_range(D, dims, Q, P), "proposals in range, levels integral");
	CHECK(distinct(D, Q, P, N, X), "proposals distinct from each other and data");
	CHECK(tp_bo_propose(D, dims, N, X, y, feas, Q, 42, P2) == 0 &&
	      memcmp(P, P2, sizeof P) == 0, "same seed, same bytes");
	/* The constant liar spreads a batch out: without the fake points
	 * every proposal would crowd the same acquisition peak. */
	CHECK(min_spread(D, Q, P) > 0.03, "batch spread out (min distance %g)",
	      min_spread(D, Q, P));
	CHECK(tp_bo_propose(D, dims, N, X, y, feas, Q, 43, P2) == 0 &&
	      memcmp(P, P2, sizeof P) != 0, "another seed, other proposals");
	{
		int before = tp_blas_threads();
		tp_blas_set_threads(2);
		CHECK(tp_bo_propose(D, dims, N, X, y, feas, Q, 42, P2) == 0 &&
		      memcmp(P, P2, sizeof P) == 0,
		      "same bytes with 2 BLAS threads configured");
		CHECK(tp_blas_threads() == 2, "the caller's BLAS thread count is "
		                              "restored (%d)", tp_blas_threads());
		tp_blas_set_threads(before);
	}
	/* A proposal already observed must not come back: observe the
	 * first proposal and ask again. */
	{
		double X2[(N + 1) * D], y2[N + 1];
		memcpy(X2, X, sizeof X);
		memcpy(y2, y, sizeof y);
		memcpy(X2 + N * D, P, sizeof *P * D);
		y2[N] = -1;
		CHECK(tp_bo_propose(D, dims, N + 1, X2, y2, NULL, Q, 42, P2) == 0 &&
		      distinct(D, Q, P2, N + 1, X2) && in_range(D, dims, Q, P2),
		      "a NaN y with feasible NULL counts as infeasible; still distinct");
	}

	/* A flat objective: nothing to learn but the variance. */
	{
		double flat[N];
		for (int i = 0; i < N; i++)
			flat[i] = 2.5;
		CHECK(tp_bo_propose(D, dims, N, X, flat, NULL, Q, 3, P2) == 0 &&
		      distinct(D, Q, P2, N, X) && in_range(D, dims, Q, P2),
		      "flat objective: distinct proposals in range");
	}
	/* A categorical dimension too large to sweep, and huge raw values. */
	{
		struct tp_gp_dim wide[2] = {{0}, {200}};
		double Xw[N * 2], yw[N], Pw[4 * 2];
		for (int i = 0; i < N; i++) {
			Xw[2 * i] = X[i * D];
			Xw[2 * i + 1] = (double)((i * 37) % 200);
			yw[i] = 1e300 * (X[i * D] - 0.3) * (X[i * D] - 0.3);
		}
		CHECK(tp_bo_propose(2, wide, N, Xw, yw, NULL, 4, 3, Pw) == 0 &&
		      distinct(2, 4, Pw, N, Xw) && in_range(2, wide, 4, Pw),
		      "200 levels and |y| ~ 1e300: distinct proposals in range");
		/* The scale survived: the minimum at x[0] = 0.3 is seen. */
		CHECK(fabs(Pw[0] - 0.3) < 0.1,
		      "|y| ~ 1e300: first proposal near the minimum (%g)", Pw[0]);
	}

	/* The batch starts where a single proposal would. */
	{
		double P1[D];
		CHECK(tp_bo_propose(D, dims, N, X, y, feas, 1, 42, P1) == 0 &&
		      memcmp(P1, P, sizeof P1) == 0,
		      "q = 1 gives the first point of the q = 6 batch");
		CHECK(tp_bo_propose(D, dims, N, X, y, feas, Q, 42, P) == 0,
		      "batch again");
	}
	{
		enum { BIG = 40 };
		double *Pb = malloc(sizeof *Pb * BIG * D);
		CHECK(tp_bo_propose(D, dims, N, X, y, feas, BIG, 9, Pb) == 0 &&
		      distinct(D, BIG, Pb, N, X) && in_range(D, dims, BIG, Pb),
		      "a batch of %d: distinct and in range", BIG);
		free(Pb);
	}

	/* Too little data: space-filling. */
	CHECK(tp_bo_propose(D, dims, 0, NULL, NULL, NULL, Q, 1, P) == 0 &&
	      in_range(D, dims, Q, P) && distinct(D, Q, P, 0, NULL),
	      "n = 0: space-filling proposals, distinct and in range");
	CHECK(tp_bo_propose(D, dims, 1, X, y, NULL, Q, 1, P) == 0 &&
	      distinct(D, Q, P, 1, X), "one feasible point: space-filling");
	{
		enum { BIG = 300 };
		double *Pb = malloc(sizeof *Pb * BIG * D);
		CHECK(tp_bo_propose(D, dims, 0, NULL, NULL, NULL, BIG, 2, Pb) == 0 &&
		      distinct(D, BIG, Pb, 0, NULL) && in_range(D, dims, BIG, Pb),
		      "space-filling batch of %d: distinct and in range", BIG);
		free(Pb);
	}
	{
		int none[N] = {0};
		CHECK(tp_bo_propose(D, dims, N, X, y, none, Q, 1, P) == 0 &&
		      distinct(D, Q, P, N, X) && in_range(D, dims, Q, P),
		      "all infeasible: space-filling away from them");
	}

	/* A finite space: 2 x 2 levels, 3 observed. */
	{
		struct tp_gp_dim cat[2] = {{2}, {2}};
		double Xc[6] = {0, 0, 0, 1, 1, 0}, yc[3] = {1, 2, 3}, Pc[8];

		CHECK(tp_bo_propose(2, cat, 3, Xc, yc, NULL, 1, 5, Pc) == 0 &&
		      Pc[0] == 1 && Pc[1] == 1, "finite space: proposes the last point");
		CHECK(refused(2, cat, 3, Xc, yc, NULL, 2, 5, Pc,
		              "only 1 untried point left in the search space, 2 requested"),
		      "finite space exhausted: -1 and one line (%.*s)", shown_len,
		      refused_msg);
		CHECK(refused(2, cat, 1, Xc, yc, NULL, 4, 5, Pc, "only 3 untried points left"),
		      "exhausted while space-filling: -1 and one line (%.*s)",
		      shown_len, refused_msg);
	}
	/* Too big to enumerate (50 x 50 levels) but every point observed,
	 * all diverged: random candidates find nothing new. */
	{
		struct tp_gp_dim cat[2] = {{50}, {50}};
		double *Xc = malloc(sizeof *Xc * 2 * 2500), yc[2500], Pc[2];
		int feasc[2500] = {0};

		for (int i = 0; i < 2500; i++) {
			Xc[2 * i] = i % 50;
			Xc[2 * i + 1] = i / 50;
			yc[i] = NAN;
		}
		CHECK(refused(2, cat, 2500, Xc, yc, feasc, 1, 5, Pc,
		              "only 0 new points among 1000 random candidates, 1 requested"),
		      "large finite space exhausted: -1 and one line (%.*s)",
		      shown_len, refused_msg);
		free(Xc);
	}
}

static void
test_errors(void)
{
	struct tp_gp_dim bad[2] = {{0}, {1}}, good[2] = {{0}, {3}};
	double X[4] = {0.5, 1, 0.2, 2}, y[2] = {1, 2}, P[2];

	CHECK(refused(2, bad, 2, X, y, NULL, 1, 0, P, "dimension 1: 1 levels"),
	      "a 1-level dimension is refused (%.*s)", shown_len, refused_msg);
	CHECK(refused(0, good, 0, NULL, NULL, NULL, 1, 0, P, "0 dimensions"),
	      "d = 0 is refused (%.*s)", shown_len, refused_msg);
	CHECK(refused(2, good, 2, X, y, NULL, 0, 0, P, "0 proposals (at most 1000)"),
	      "q = 0 is refused (%.*s)", shown_len, refused_msg);
	CHECK(refused(2, good, 2, X, y, NULL, 1001, 0, P,
	              "1001 proposals (at most 1000)"),
	      "q = 1001 is refused (%.*s)", shown_len, refused_msg);
	CHECK(refused(2, good, -1, X, y, NULL, 1, 0, P, "-1 observations"),
	      "n < 0 is refused (%.*s)", shown_len, refused_msg);
	X[2] = 1.5;
	CHECK(refused(2, good, 2, X, y, NULL, 1, 0, P,
	              "observation 1, dimension 0: 1.5 is outside [0, 1]"),
	      "continuous coordinate out of range (%.*s)", shown_len, refused_msg);
	X[2] = NAN;
	CHECK(refused(2, good, 2, X, y, NULL, 1, 0, P, "nan is outside [0, 1]"),
	      "NaN coordinate (%.*s)", shown_len, refused_msg);
	X[2] = 0.2;
	X[3] = 1.5;
	CHECK(refused(2, good, 2, X, y, NULL, 1, 0, P,
	              "1.5 is not a level index in 0..2"),
	      "fractional level (%.*s)", shown_len, refused_msg);
	X[3] = 3;
	CHECK(refused(2, good, 2, X, y, NULL, 1, 0, P,
	              "3 is not a level index in 0..2"),
	      "level past the last (%.*s)", shown_len, refused_msg);
	X[3] = 2;
	CHECK(refused(2, good, 2, X, NULL, NULL, 1, 0, P, "no objective values"),
	      "missing y (%.*s)", shown_len, refused_msg);
}

static void
test_beats_random(void)
{
	static const struct problem pbs[] = {
		{"Branin", 2, branin, 0, NULL, 5},
		{"Hartmann-6", 6, hartmann6, 0, NULL, 5},
		{"lr valley (noisy)", 2, lr_valley, 0.1, NULL, 10},
		{"Branin beside a 1e4 cliff", 2, branin_cliff, 0, NULL, 5},
		{"Branin with a diverging region", 2, branin_diverge, 0, NULL, 5},
		{"Branin on a plateau beside a cliff", 2, branin_plateau_cliff, 0,
		 NULL, 10},
		{"mixed: optimizer x log lr x nuisance", 3, mixed, 0, mixed_dims, 5},
	};
	enum { BUDGET = 30, INIT = 8 };

	for (size_t p = 0; p < sizeof pbs / sizeof *pbs; p++) {
		double rb = 0, rr = 0;
		int failed = 0;
		for (int s = 0; s < pbs[p].seeds; s++) {
			rb += run_search(&pbs[p], 1, BUDGET, INIT, 1, 1000 + s, &failed);
			rr += run_search(&pbs[p], 0, BUDGET, INIT, 1, 1000 + s, &failed);
		}
		CHECK(!failed && rb < rr,
		      "%s: BO mean regret %.4g < random %.4g (%d seeds, %d evals)",
		      pbs[p].name, rb / pbs[p].seeds, rr / pbs[p].seeds,
		      pbs[p].seeds, BUDGET);
	}
}

int
main(void)
{
	test_lml_gradient();
	test_reference();
	test_interpolation();
	test_log_ei();
	test_propose();
	test_errors();
	test_beats_random();
	return check_done();
}
