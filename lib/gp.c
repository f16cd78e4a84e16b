/*
 * gp.c: Gaussian-process Bayesian optimization for the exploitation phase of
 * tuning (playbook: "Bayesian optimization tools should be used to
 * automatically find the best hyperparameter configuration" once the search
 * space is settled).
 *
 * The surrogate is a GP with a Matern 5/2 ARD kernel, constant mean, signal
 * and noise variance.  Hyperparameters live on a log scale and are fitted by
 * maximizing the log marginal likelihood plus weak priors (MAP), with
 * analytic gradients and a small multi-start box-projected L-BFGS; the
 * priors keep the fit sane with a handful of points.  Categorical
 * dimensions enter the distance as a mismatch indicator with their own
 * lengthscale (the same as one-hot coding with a shared per-dimension
 * lengthscale, up to a factor), so no one-hot expansion is needed.
 *
 * The acquisition is log expected improvement, computed so that it stays
 * finite and accurate far from the incumbent (Ament et al. 2023, "Unexpected
 * improvements to expected improvement"): plain EI underflows to zero there
 * and gives the optimizer a flat landscape.  It is maximized over random
 * candidates (plus perturbations of the best observed points) followed by
 * L-BFGS on the continuous coordinates and a level sweep on the
 * categorical ones.  Batches come from the constant liar.
 *
 * All linear algebra goes through tp/linalg.h and all randomness through
 * tp/rng.h, so a seed fixes every byte of the output.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/gp.h"
#include "tp/linalg.h"
#include "tp/rng.h"

#define SQRT5 2.23606797749978969641
#define LOG_SQRT_2PI 0.91893853320467274178
#define INV_SQRT_2PI 0.39894228040143267794
#define SQRT_PI_2 1.25331413731550025121

/*
 * Work limits: candidates scored per batch and how many of the best are
 * refined (and their L-BFGS iterations); hyperparameter starts screened by
 * value and how many of the best are optimized; candidates per
 * space-filling proposal.  Chosen so that 100 trials in 6 dimensions take
 * well under 100 ms (bench/gp.md).
 */
enum { NCAND = 2000, NREFINE = 5, ACQ_ITERS = 30, NSCREEN = 8, NSTART = 2,
       FIT_ITERS = 80, NFILL = 1000 };

/* The batch's candidate posterior is [n + q, max(NCAND, 4q)] doubles:
 * 35 MB at this limit. */
enum { MAX_Q = 1000 };

/* Categorical dimensions with more levels than this are not swept level by
 * level in the refinement (the random candidates still cover them). */
enum { SWEEP_MAX = 64 };

/* Two proposals (or a proposal and an observation) closer than this in
 * every coordinate count as the same point. */
#define DISTINCT 1e-6

/*
 * Weak priors on theta (inputs are in [0,1], outputs standardized):
 * log l_j ~ N(log(0.5 sqrt(d)), sd sqrt3): lengthscales grow like sqrt(d),
 * as distances in the unit cube do (Hvarfner et al. 2024, "Vanilla
 * Bayesian optimization performs great in high dimensions"); their centre,
 * sqrt2 + log(d)/2, was too smooth for 30-trial budgets (bench/gp.md:
 * Hartmann-6 regret 1.6 against 0.5);  log s2 ~ N(0, sd 1.5);  log noise
 * ~ N(-6, sd 2) (a mostly deterministic objective, but noise can be
 * learnt);  mean ~ N(0, sd 2).
 */
#define PRIOR_LEN_SD 1.7320508075688772
#define PRIOR_SF_SD 1.5
#define PRIOR_SN_MU (-6.0)
#define PRIOR_SN_SD 2.0
#define PRIOR_C_SD 2.0

struct tp_gp {
	int d, n;
	int *levels;   /* [d] */
	double *X;     /* [n, d] */
	double *y;     /* [n] */
	double *theta; /* [d + 3] */
	double *L;     /* [n, n] Cholesky factor of K + jitter, when factored */
	double *alpha; /* [n] K^-1 (y - mean) */
	double *inv_l2; /* [d] 1 / l_j^2 for the current theta */
	double jitter; /* added to the diagonal of K for the current factor */
	int factored;
};

/* ------------------------------------------------------------------ */
/* Kernel */

static double
prior_len_mu(int d)
{
	return log(0.5) + 0.5 * log((double)d);
}

static void
theta_bounds(int d, double *lo, double *hi)
{
	for (int j = 0; j < d; j++) {
		lo[j] = log(1e-2);
		hi[j] = log(1e3);
	}
	lo[d] = log(1e-2), hi[d] = log(1e2);     /* signal variance */
	lo[d + 1] = log(1e-6), hi[d + 1] = log(10); /* noise variance */
	lo[d + 2] = -10, hi[d + 2] = 10;           /* constant mean */
}

/* Squared scaled distance between a and b [d]; inv_l2[j] = 1 / l_j^2. */
static double
dist2(int d, const int *levels, const double *inv_l2, const double *a,
      const double *b)
{
	double r2 = 0;

	for (int j = 0; j < d; j++) {
		if (levels[j])
			r2 += a[j] != b[j] ? inv_l2[j] : 0;
		else
			r2 += (a[j] - b[j]) * (a[j] - b[j]) * inv_l2[j];
	}
	return r2;
}

/* k(r) for r^2 and signal variance s2; *dk = dk/d(r^2) when dk != NULL
 * (finite at r = 0, unlike dk/dr). */
static double
matern52(double r2, double s2, double *dk)
{
	double a = SQRT5 * sqrt(r2);
	double e = exp(-a);

	if (dk)
		*dk = -s2 * (5.0 / 6.0) * (1 + a) * e;
	return s2 * (1 + a + a * a / 3) * e;
}

static void
inv_l2_of(int d, const double *theta, double *inv_l2)
{
	for (int j = 0; j < d; j++)
		inv_l2[j] = exp(-2 * theta[j]);
}

/*
 * Factor K = Kf + (noise + jitter) I into L [n, n], retrying with growing
 * jitter when K is numerically singular.  K [n, n] receives K (without
 * jitter) in its lower triangle and dk/d(r^2) in its strict upper triangle,
 * for the gradient (tp_dpotrf reads only the lower triangle).  Returns the
 * jitter used, or -1 when even the largest jitter fails.
 */
static double
factor_k(const struct tp_gp *gp, const double *theta, double *K, double *L)
{
	int n = gp->n, d = gp->d;
	double s2 = exp(theta[d]), sn2 = exp(theta[d + 1]);
	double *inv_l2 = tp_xmallocarray((size_t)d, sizeof *inv_l2);

	inv_l2_of(d, theta, inv_l2);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < i; j++) {
			double r2 = dist2(d, gp->levels, inv_l2, gp->X + (size_t)i * d,
			                  gp->X + (size_t)j * d);
			K[(size_t)i * n + j] = matern52(r2, s2, &K[(size_t)j * n + i]);
		}
		K[(size_t)i * n + i] = s2 + sn2;
	}
	for (double jit = 0; jit <= 1e-2 * s2; jit = jit ? jit * 10 : 1e-10 * s2) {
		memcpy(L, K, sizeof *L * (size_t)n * n);
		for (int i = 0; i < n; i++)
			L[(size_t)i * n + i] += jit;
		if (tp_dpotrf(n, L) == 0) {
			free(inv_l2);
			return jit;
		}
	}
	free(inv_l2);
	return -1;
}

/* ------------------------------------------------------------------ */
/* The GP object */

struct tp_gp *
tp_gp_new(int d, const struct tp_gp_dim *dims, int n, const double *X,
          const double *y)
{
	struct tp_gp *gp = tp_xcalloc(1, sizeof *gp);

	gp->d = d;
	gp->n = n;
	gp->levels = tp_xmallocarray((size_t)d, sizeof *gp->levels);
	for (int j = 0; j < d; j++)
		gp->levels[j] = dims[j].levels;
	gp->X = tp_xmallocarray((size_t)(n > 0 ? n : 1) * d, sizeof *gp->X);
	gp->y = tp_xmallocarray((size_t)(n > 0 ? n : 1), sizeof *gp->y);
	if (n > 0) {
		memcpy(gp->X, X, sizeof *X * (size_t)n * d);
		memcpy(gp->y, y, sizeof *y * (size_t)n);
	}
	gp->theta = tp_xmallocarray((size_t)tp_gp_ntheta(d), sizeof *gp->theta);
	gp->inv_l2 = tp_xmallocarray((size_t)d, sizeof *gp->inv_l2);
	for (int j = 0; j < d; j++)
		gp->theta[j] = prior_len_mu(d);
	gp->theta[d] = 0;
	gp->theta[d + 1] = PRIOR_SN_MU;
	gp->theta[d + 2] = 0;
	inv_l2_of(d, gp->theta, gp->inv_l2);
	return gp;
}

void
tp_gp_free(struct tp_gp *gp)
{
	if (!gp)
		return;
	free(gp->levels);
	free(gp->X);
	free(gp->y);
	free(gp->theta);
	free(gp->inv_l2);
	free(gp->L);
	free(gp->alpha);
	free(gp);
}

void
tp_gp_theta(const struct tp_gp *gp, double *theta)
{
	memcpy(theta, gp->theta, sizeof *theta * (size_t)tp_gp_ntheta(gp->d));
}

double
tp_gp_lml(const struct tp_gp *gp, const double *theta, double *grad)
{
	int n = gp->n, d = gp->d, p = tp_gp_ntheta(d);
	double s2 = exp(theta[d]), sn2 = exp(theta[d + 1]), c = theta[d + 2];
	double *K, *L, *alpha, *Kinv, jit, lml = 0;

	if (grad)
		memset(grad, 0, sizeof *grad * (size_t)p);
	if (n == 0)
		return 0;
	K = tp_xmallocarray((size_t)n * n, sizeof *K);
	L = tp_xmallocarray((size_t)n * n, sizeof *L);
	alpha = tp_xmallocarray((size_t)n, sizeof *alpha);
	jit = factor_k(gp, theta, K, L);
	if (jit < 0) {
		free(K), free(L), free(alpha);
		return -INFINITY;
	}
	for (int i = 0; i < n; i++)
		alpha[i] = gp->y[i] - c;
	tp_dpotrs(n, 1, L, alpha);
	for (int i = 0; i < n; i++)
		lml -= 0.5 * (gp->y[i] - c) * alpha[i] + log(L[(size_t)i * n + i]);
	lml -= n * LOG_SQRT_2PI;
	if (!grad)
		goto out;

	/* d lml / d theta_k = 1/2 tr(W dK/dtheta_k), W = alpha alpha^T - K^-1. */
	Kinv = tp_xcalloc((size_t)n * n, sizeof *Kinv);
	for (int i = 0; i < n; i++)
		Kinv[(size_t)i * n + i] = 1;
	tp_dpotrs(n, n, L, Kinv);
	{
		double *inv_l2 = tp_xmallocarray((size_t)d, sizeof *inv_l2);
		double gsf = 0, gsn = 0, gc = 0;

		inv_l2_of(d, theta, inv_l2);
		for (int i = 0; i < n; i++) {
			const double *xi = gp->X + (size_t)i * d;
			double wii = alpha[i] * alpha[i] - Kinv[(size_t)i * n + i];

			gc += alpha[i];
			gsn += wii;
			gsf += 0.5 * wii * s2;
			for (int j = 0; j < i; j++) {
				const double *xj = gp->X + (size_t)j * d;
				double w = alpha[i] * alpha[j] - Kinv[(size_t)i * n + j];
				double k = K[(size_t)i * n + j], dk = K[(size_t)j * n + i];

				/* Off-diagonal pairs count twice, halving the 1/2. */
				gsf += w * k;
				/* dK/dlog l_m = dk/dr2 * (-2 delta_m^2 / l_m^2) */
				for (int m = 0; m < d; m++) {
					double dm = gp->levels[m]
						? (xi[m] != xj[m])
						: (xi[m] - xj[m]) * (xi[m] - xj[m]);
					grad[m] -= 2 * w * dk * dm * inv_l2[m];
				}
			}
		}
		grad[d] = gsf;
		grad[d + 1] = 0.5 * gsn * sn2;
		grad[d + 2] = gc;
		free(inv_l2);
	}
	free(Kinv);
out:
	free(K), free(L), free(alpha);
	return lml;
}

double
tp_gp_log_posterior(const struct tp_gp *gp, const double *theta, double *grad)
{
	int d = gp->d;
	double lp = tp_gp_lml(gp, theta, grad), mu = prior_len_mu(d), z;

	if (!isfinite(lp))
		return lp;
	for (int j = 0; j < d; j++) {
		z = (theta[j] - mu) / PRIOR_LEN_SD;
		lp -= 0.5 * z * z;
		if (grad)
			grad[j] -= z / PRIOR_LEN_SD;
	}
	z = theta[d] / PRIOR_SF_SD;
	lp -= 0.5 * z * z;
	if (grad)
		grad[d] -= z / PRIOR_SF_SD;
	z = (theta[d + 1] - PRIOR_SN_MU) / PRIOR_SN_SD;
	lp -= 0.5 * z * z;
	if (grad)
		grad[d + 1] -= z / PRIOR_SN_SD;
	z = theta[d + 2] / PRIOR_C_SD;
	lp -= 0.5 * z * z;
	if (grad)
		grad[d + 2] -= z / PRIOR_C_SD;
	return lp;
}

/* alpha = K^-1 (y - c) from the current factor. */
static void
update_alpha(struct tp_gp *gp)
{
	double c = gp->theta[gp->d + 2];

	for (int i = 0; i < gp->n; i++)
		gp->alpha[i] = gp->y[i] - c;
	if (gp->n > 0)
		tp_dpotrs(gp->n, 1, gp->L, gp->alpha);
}

int
tp_gp_set_theta(struct tp_gp *gp, const double *theta)
{
	int d = gp->d, p = tp_gp_ntheta(d), n = gp->n;
	double *lo = tp_xmallocarray((size_t)p * 2, sizeof *lo), *hi = lo + p;
	double *K, jit;

	theta_bounds(d, lo, hi);
	for (int k = 0; k < p; k++)
		gp->theta[k] = fmin(fmax(theta[k], lo[k]), hi[k]);
	free(lo);
	inv_l2_of(d, gp->theta, gp->inv_l2);
	free(gp->L);
	free(gp->alpha);
	gp->L = tp_xmallocarray((size_t)(n > 0 ? n : 1) * (n > 0 ? n : 1),
	                        sizeof *gp->L);
	gp->alpha = tp_xmallocarray((size_t)(n > 0 ? n : 1), sizeof *gp->alpha);
	gp->factored = 0;
	K = tp_xmallocarray((size_t)(n > 0 ? n : 1) * (n > 0 ? n : 1), sizeof *K);
	jit = n > 0 ? factor_k(gp, gp->theta, K, gp->L) : 0;
	free(K);
	if (jit < 0) {
		tp_errorf("bayesian optimization: the %d x %d covariance matrix "
		          "is not positive definite even with jitter", n, n);
		return -1;
	}
	gp->jitter = jit;
	update_alpha(gp);
	gp->factored = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Box-projected L-BFGS (minimization) */

typedef double (*objective_fn)(void *ctx, const double *x, double *g);

enum { LBFGS_M = 6 };

/*
 * Minimize f over the box [lo, hi] from x (updated in place); returns the
 * final f.  Coordinates at a bound with the gradient pushing outward are
 * frozen for the step; the line search backtracks along the projected
 * path.  lo[i] == hi[i] fixes coordinate i.
 */
static double
lbfgs_box(objective_fn f, void *ctx, int n, double *x, const double *lo,
          const double *hi, int maxit)
{
	double *g = tp_xmallocarray((size_t)n * (5 + 2 * LBFGS_M), sizeof *g);
	double *gn = g + n, *xn = gn + n, *dir = xn + n, *gm = dir + n;
	double *S = gm + n, *Y = S + (size_t)LBFGS_M * n;
	double rho[LBFGS_M], al[LBFGS_M], fx, fn;
	int head = 0, count = 0, stall = 0;

	for (int i = 0; i < n; i++)
		x[i] = fmin(fmax(x[i], lo[i]), hi[i]);
	fx = f(ctx, x, g);
	for (int it = 0; it < maxit && isfinite(fx); it++) {
		double gmax = 0, dg = 0, t;
		int ok = 0;

		for (int i = 0; i < n; i++) {
			int frozen = lo[i] == hi[i] || (x[i] <= lo[i] && g[i] > 0) ||
			             (x[i] >= hi[i] && g[i] < 0);
			gm[i] = frozen ? 0 : g[i];
			gmax = fmax(gmax, fabs(gm[i]));
		}
		if (gmax < 1e-5)
			break;
		/* Two-loop recursion: dir = -H gm. */
		for (int i = 0; i < n; i++)
			dir[i] = -gm[i];
		for (int k = 0; k < count; k++) {
			int s = (head - 1 - k + 2 * LBFGS_M) % LBFGS_M;
			double a = 0;
			for (int i = 0; i < n; i++)
				a += S[(size_t)s * n + i] * dir[i];
			al[s] = a * rho[s];
			for (int i = 0; i < n; i++)
				dir[i] -= al[s] * Y[(size_t)s * n + i];
		}
		if (count > 0) {
			int s = (head - 1 + LBFGS_M) % LBFGS_M;
			double yy = 0, sy = 1 / rho[s];
			for (int i = 0; i < n; i++)
				yy += Y[(size_t)s * n + i] * Y[(size_t)s * n + i];
			for (int i = 0; i < n; i++)
				dir[i] *= sy / yy;
		}
		for (int k = count - 1; k >= 0; k--) {
			int s = (head - 1 - k + 2 * LBFGS_M) % LBFGS_M;
			double b = 0;
			for (int i = 0; i < n; i++)
				b += Y[(size_t)s * n + i] * dir[i];
			b *= rho[s];
			for (int i = 0; i < n; i++)
				dir[i] += (al[s] - b) * S[(size_t)s * n + i];
		}
		for (int i = 0; i < n; i++) {
			if (gm[i] == 0)
				dir[i] = 0;
			dg += dir[i] * g[i];
		}
		if (!(dg < 0)) {
			/* Not a descent direction: restart from steepest descent. */
			count = 0;
			dg = 0;
			for (int i = 0; i < n; i++) {
				dir[i] = -gm[i];
				dg += dir[i] * g[i];
			}
		}
		/* Without curvature pairs, start with a step of at most 0.5 in the
		 * largest coordinate (log-parameters and [0,1] inputs alike). */
		t = count > 0 ? 1 : fmin(1, 0.5 / gmax);
		for (int ls = 0; ls < 30; ls++, t *= 0.5) {
			double dec = 0;
			for (int i = 0; i < n; i++) {
				xn[i] = fmin(fmax(x[i] + t * dir[i], lo[i]), hi[i]);
				dec += g[i] * (xn[i] - x[i]);
			}
			fn = f(ctx, xn, gn);
			if (isfinite(fn) && fn <= fx + 1e-4 * dec) {
				ok = 1;
				break;
			}
		}
		if (!ok)
			break;
		{
			double *s = S + (size_t)head * n, *yv = Y + (size_t)head * n;
			double sy = 0, ss = 0, yy = 0;
			for (int i = 0; i < n; i++) {
				s[i] = xn[i] - x[i];
				yv[i] = gn[i] - g[i];
				sy += s[i] * yv[i];
				ss += s[i] * s[i];
				yy += yv[i] * yv[i];
			}
			if (sy > 1e-10 * sqrt(ss * yy)) {
				rho[head] = 1 / sy;
				head = (head + 1) % LBFGS_M;
				if (count < LBFGS_M)
					count++;
			}
		}
		stall = fx - fn < 1e-8 * (1 + fabs(fx)) ? stall + 1 : 0;
		memcpy(x, xn, sizeof *x * (size_t)n);
		memcpy(g, gn, sizeof *g * (size_t)n);
		fx = fn;
		if (stall >= 2)
			break;
	}
	free(g);
	return fx;
}

/* ------------------------------------------------------------------ */
/* Hyperparameter fit */

static double
neg_log_post(void *ctx, const double *theta, double *g)
{
	const struct tp_gp *gp = ctx;
	int p = tp_gp_ntheta(gp->d);
	double scale = 1.0 / (gp->n > 0 ? gp->n : 1);
	double lp = tp_gp_log_posterior(gp, theta, g);

	/* Per-point scale keeps the optimizer's tolerances meaningful for
	 * any n. */
	for (int k = 0; k < p; k++)
		g[k] *= -scale;
	return isfinite(lp) ? -lp * scale : INFINITY;
}

int
tp_gp_fit(struct tp_gp *gp, uint64_t seed)
{
	int d = gp->d, p = tp_gp_ntheta(d), order[NSCREEN];
	double *lo = tp_xmallocarray((size_t)p * (3 + NSCREEN), sizeof *lo);
	double *hi = lo + p, *best = hi + p, *th = best + p;
	double fs[NSCREEN], fbest = INFINITY;
	struct tp_rng rng;
	int ret;

	/*
	 * Starts: the prior's centre and draws around it, screened by value
	 * alone (a fraction of a gradient evaluation each); L-BFGS from the
	 * NSTART best.  In bench/gp.md all starts mostly agree, so screening
	 * buys robustness for less than a third of the cost of full restarts.
	 */
	theta_bounds(d, lo, hi);
	tp_rng_seed(&rng, seed);
	for (int s = 0; s < NSCREEN; s++) {
		double *t = th + (size_t)s * p;
		for (int j = 0; j < d; j++)
			t[j] = prior_len_mu(d) +
			       (s ? PRIOR_LEN_SD * 0.5 * tp_rng_normal(&rng) : 0);
		t[d] = s ? PRIOR_SF_SD * 0.5 * tp_rng_normal(&rng) : 0;
		t[d + 1] = PRIOR_SN_MU + (s ? PRIOR_SN_SD * tp_rng_normal(&rng) : 0);
		t[d + 2] = 0;
		for (int k = 0; k < p; k++)
			t[k] = fmin(fmax(t[k], lo[k]), hi[k]);
		fs[s] = -tp_gp_log_posterior(gp, t, NULL);
		if (isnan(fs[s]))
			fs[s] = INFINITY;
		order[s] = s;
	}
	/* Stable insertion sort by value: ties keep the draw order. */
	for (int s = 1; s < NSCREEN; s++)
		for (int k = s; k > 0 && fs[order[k]] < fs[order[k - 1]]; k--) {
			int tmp = order[k];
			order[k] = order[k - 1];
			order[k - 1] = tmp;
		}
	for (int s = 0; s < NSTART; s++) {
		double *t = th + (size_t)order[s] * p, fv;

		fv = lbfgs_box(neg_log_post, gp, p, t, lo, hi, FIT_ITERS);
		if (fv < fbest) {
			fbest = fv;
			memcpy(best, t, sizeof *best * (size_t)p);
		}
	}
	if (!isfinite(fbest)) {
		tp_errorf("bayesian optimization: cannot fit the Gaussian process "
		          "to %d points (covariance not positive definite)",
		          gp->n);
		free(lo);
		return -1;
	}
	ret = tp_gp_set_theta(gp, best);
	free(lo);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Prediction */

/* Calling these before a factor exists is a bug in the caller. */
static void
need_factor(const struct tp_gp *gp, const char *fn)
{
	if (!gp->factored) {
		tp_errorf("internal error: %s before tp_gp_fit or "
		          "tp_gp_set_theta succeeded", fn);
		abort();
	}
}

void
tp_gp_predict(const struct tp_gp *gp, const double *x, double *mean,
              double *var)
{
	int n = gp->n, d = gp->d;
	double s2 = exp(gp->theta[d]), m = gp->theta[d + 2], v = s2;
	double *k;

	need_factor(gp, "tp_gp_predict");
	if (n == 0) {
		*mean = m;
		*var = s2;
		return;
	}
	k = tp_xmallocarray((size_t)n, sizeof *k);
	for (int i = 0; i < n; i++) {
		k[i] = matern52(dist2(d, gp->levels, gp->inv_l2, x,
		                      gp->X + (size_t)i * d), s2, NULL);
		m += k[i] * gp->alpha[i];
	}
	tp_dtrsv_lower(n, 1, gp->L, k);
	for (int i = 0; i < n; i++)
		v -= k[i] * k[i];
	free(k);
	*mean = m;
	*var = v > 0 ? v : 0;
}

void
tp_gp_add(struct tp_gp *gp, const double *x, double y)
{
	int n = gp->n, d = gp->d, n1 = n + 1;
	double s2 = exp(gp->theta[d]), sn2 = exp(gp->theta[d + 1]);
	double *L, dd;

	need_factor(gp, "tp_gp_add");
	gp->X = tp_xrealloc(gp->X, sizeof *gp->X * (size_t)n1 * d);
	gp->y = tp_xrealloc(gp->y, sizeof *gp->y * (size_t)n1);
	memcpy(gp->X + (size_t)n * d, x, sizeof *x * (size_t)d);
	gp->y[n] = y;
	/* New factor row: l = L^-1 k, diagonal sqrt(k(x,x) + noise - l.l). */
	L = tp_xcalloc((size_t)n1 * n1, sizeof *L);
	for (int i = 0; i < n; i++)
		memcpy(L + (size_t)i * n1, gp->L + (size_t)i * n,
		       sizeof *L * (size_t)(i + 1));
	for (int i = 0; i < n; i++)
		L[(size_t)n * n1 + i] = matern52(
			dist2(d, gp->levels, gp->inv_l2, x, gp->X + (size_t)i * d), s2,
			NULL);
	if (n > 0)
		tp_dtrsv_lower(n, 1, gp->L, L + (size_t)n * n1);
	dd = s2 + sn2 + gp->jitter;
	for (int i = 0; i < n; i++)
		dd -= L[(size_t)n * n1 + i] * L[(size_t)n * n1 + i];
	/* A point on top of an old one with no noise: keep the factor
	 * definite, as the jitter retry would. */
	L[(size_t)n * n1 + n] = sqrt(fmax(dd, 1e-10 * s2));
	free(gp->L);
	gp->L = L;
	gp->n = n1;
	gp->alpha = tp_xrealloc(gp->alpha, sizeof *gp->alpha * (size_t)n1);
	update_alpha(gp);
}

/* ------------------------------------------------------------------ */
/* Expected improvement */

double
tp_gp_logh(double z, double *dz)
{
	double x, q, R;

	if (z > -1) {
		double Phi = 0.5 * erfc(-z * M_SQRT1_2);
		double h = INV_SQRT_2PI * exp(-0.5 * z * z) + z * Phi;
		if (dz)
			*dz = Phi / h;
		return log(h);
	}
	/*
	 * With x = -z >= 1: h = phi(x) (1 - x R(x)), R = Phi(-x) / phi(x) the
	 * Mills ratio.  phi(x) is taken in log space; 1 - x R loses only
	 * log10(x^2) digits to cancellation, and past x = 20 its asymptotic
	 * series (error < 1e-10 relative) replaces erfc, which underflows.
	 */
	x = -z;
	if (x < 20) {
		R = SQRT_PI_2 * exp(0.5 * x * x) * erfc(x * M_SQRT1_2);
		q = 1 - x * R;
	} else {
		double t = 1 / (x * x);
		q = t * (1 + t * (-3 + t * (15 + t * (-105 + t * (945 - 10395 * t)))));
		R = (1 + t * (-1 + t * (3 + t * (-15 + t * (105 - 945 * t))))) / x;
	}
	if (dz)
		*dz = R / q;
	return -0.5 * x * x - LOG_SQRT_2PI + log(q);
}

double
tp_gp_log_ei(double mu, double sigma, double best)
{
	if (!(sigma > 0))
		return best > mu ? log(best - mu) : -INFINITY;
	return log(sigma) + tp_gp_logh((best - mu) / sigma, NULL);
}

/* ------------------------------------------------------------------ */
/* Acquisition */

struct acq {
	const struct tp_gp *gp;
	double best;     /* incumbent, standardized units */
	double *k, *w, *dk; /* [n] scratch */
};

/* Posterior variance floor relative to the signal variance: below it the
 * acquisition would chase rounding noise. */
#define VAR_FLOOR 1e-12

/* -log EI at x [d] and its gradient g [d] (categorical entries zero). */
static double
acq_neg(void *ctx, const double *x, double *g)
{
	struct acq *a = ctx;
	const struct tp_gp *gp = a->gp;
	int n = gp->n, d = gp->d;
	double s2 = exp(gp->theta[d]), mu = gp->theta[d + 2], var = s2;
	double sigma, z, dlh, lei, dmu, dsig;

	for (int i = 0; i < n; i++) {
		double r2 = dist2(d, gp->levels, gp->inv_l2, x, gp->X + (size_t)i * d);
		a->k[i] = a->w[i] = matern52(r2, s2, &a->dk[i]);
		mu += a->k[i] * gp->alpha[i];
	}
	tp_dpotrs(n, 1, gp->L, a->w);
	for (int i = 0; i < n; i++)
		var -= a->k[i] * a->w[i];
	var = fmax(var, VAR_FLOOR * s2);
	sigma = sqrt(var);
	z = (a->best - mu) / sigma;
	lei = log(sigma) + tp_gp_logh(z, &dlh);
	if (!g)
		return -lei;
	/* d logEI/d mu and d logEI/d sigma, then the chain through k(x). */
	dmu = -dlh / sigma;
	dsig = 1 / sigma - dlh * z / sigma;
	for (int j = 0; j < d; j++) {
		double gm = 0, gv = 0;
		if (gp->levels[j]) {
			g[j] = 0;
			continue;
		}
		for (int i = 0; i < n; i++) {
			double dkx = a->dk[i] * 2 * (x[j] - gp->X[(size_t)i * d + j]) *
			             gp->inv_l2[j];
			gm += gp->alpha[i] * dkx;
			gv -= 2 * a->w[i] * dkx;
		}
		g[j] = -(dmu * gm + dsig * gv / (2 * sigma));
	}
	return -lei;
}

/*
 * The posterior at a fixed set of C candidates, kept current across the
 * constant liar's fake observations by rank-one updates: O(n C) per fake
 * point instead of the O(n^2 C) of scoring afresh.
 */
struct cands {
	int C, rows;          /* candidates; rows of V in use (= gp->n) */
	double *x;            /* [C, d] */
	double *V;            /* [rows, C]: column c is L^-1 k(X, x_c) */
	double *mean, *var;   /* [C] posterior of the latent function */
};

/* Score cs->x [C, d] from scratch; V has room for `cap` rows. */
static void
cands_score(struct cands *cs, const struct tp_gp *gp, int cap)
{
	int n = gp->n, d = gp->d, C = cs->C;
	double s2 = exp(gp->theta[d]), c0 = gp->theta[d + 2];

	cs->V = tp_xmallocarray((size_t)cap * C, sizeof *cs->V);
	cs->mean = tp_xmallocarray((size_t)C * 2, sizeof *cs->mean);
	cs->var = cs->mean + C;
	cs->rows = n;
	for (int i = 0; i < n; i++)
		for (int c = 0; c < C; c++)
			cs->V[(size_t)i * C + c] = matern52(
				dist2(d, gp->levels, gp->inv_l2, cs->x + (size_t)c * d,
				      gp->X + (size_t)i * d), s2, NULL);
	for (int c = 0; c < C; c++) {
		cs->mean[c] = c0;
		cs->var[c] = s2;
	}
	tp_dgemm(1, 0, 1, C, n, 1.0, gp->alpha, 1, cs->V, C, 1.0, cs->mean, C);
	tp_dtrsv_lower(n, C, gp->L, cs->V);
	for (int i = 0; i < n; i++)
		for (int c = 0; c < C; c++)
			cs->var[c] -= cs->V[(size_t)i * C + c] * cs->V[(size_t)i * C + c];
}

/*
 * After tp_gp_add(gp, z, lie): the last row of gp->L is [l_z, d_z], so the
 * new row of V is u_c = (k(z, x_c) - l_z . V[:, c]) / d_z, the variance
 * drops by u_c^2 and the mean moves by u_c (lie - mean_old(z)) / d_z.
 */
static void
cands_update(struct cands *cs, const struct tp_gp *gp, double zmean_old)
{
	int n = gp->n, d = gp->d, C = cs->C, r = cs->rows;
	const double *z = gp->X + (size_t)r * d, *lz = gp->L + (size_t)r * n;
	double s2 = exp(gp->theta[d]), dz = lz[r];
	double step = (gp->y[r] - zmean_old) / dz, *u = cs->V + (size_t)r * C;

	for (int c = 0; c < C; c++)
		u[c] = 0;
	if (r > 0)
		tp_dgemm(0, 0, 1, C, r, 1.0, lz, r, cs->V, C, 0.0, u, C);
	for (int c = 0; c < C; c++) {
		double k = matern52(dist2(d, gp->levels, gp->inv_l2,
		                          cs->x + (size_t)c * d, z), s2, NULL);
		u[c] = (k - u[c]) / dz;
		cs->var[c] -= u[c] * u[c];
		cs->mean[c] += u[c] * step;
	}
	cs->rows = r + 1;
}

/* ------------------------------------------------------------------ */
/* Proposals */

/* True when p [d] is within DISTINCT of one of the m points in P [m, d]. */
static int
near_any(int d, const double *p, int m, const double *P)
{
	for (int i = 0; i < m; i++) {
		int same = 1;
		for (int j = 0; j < d && same; j++)
			same = fabs(p[j] - P[(size_t)i * d + j]) < DISTINCT;
		if (same)
			return 1;
	}
	return 0;
}

static void
random_point(struct tp_rng *r, int d, const int *levels, double *x)
{
	for (int j = 0; j < d; j++)
		x[j] = levels[j] ? (double)tp_rng_below(r, (uint64_t)levels[j])
		                 : tp_rng_uniform(r);
}

/*
 * Candidate set [*C, d]: every point of a purely categorical space when it
 * has at most NCAND points (*all = 1: exhaustion is then detected
 * exactly), else `want` random points, a quarter of them perturbations of
 * the best observed points (top holds nt row indices into X).
 */
static double *
make_candidates(struct tp_rng *r, int d, const int *levels, const double *X,
                const int *top, int nt, int want, int *C, int *all)
{
	double total = 1, *cand;
	int allcat = 1;

	for (int j = 0; j < d; j++) {
		allcat &= levels[j] > 0;
		total *= levels[j] > 0 ? levels[j] : 1;
	}
	*all = allcat && total <= NCAND;
	if (*all) {
		*C = (int)total;
		cand = tp_xmallocarray((size_t)*C * d, sizeof *cand);
		for (int c = 0; c < *C; c++) {
			int rest = c;
			for (int j = 0; j < d; j++) {
				cand[(size_t)c * d + j] = rest % levels[j];
				rest /= levels[j];
			}
		}
		return cand;
	}
	*C = want;
	cand = tp_xmallocarray((size_t)want * d, sizeof *cand);
	for (int c = 0; c < want; c++) {
		double *x = cand + (size_t)c * d;
		if (nt == 0 || c < want / 4 * 3) {
			random_point(r, d, levels, x);
			continue;
		}
		memcpy(x, X + (size_t)top[c % nt] * d, sizeof *x * (size_t)d);
		for (int j = 0; j < d; j++) {
			if (levels[j]) {
				if (tp_rng_uniform(r) < 0.2)
					x[j] = (double)tp_rng_below(r, (uint64_t)levels[j]);
			} else {
				x[j] = fmin(fmax(x[j] + 0.1 * tp_rng_normal(r), 0), 1);
			}
		}
	}
	return cand;
}

/* No new candidate left: say why, exactly when the space was enumerated. */
static void
exhausted(int d, const double *cand, int C, int all, int n, const double *X,
          int q)
{
	int avail = 0;

	for (int c = 0; c < C; c++)
		avail += !near_any(d, cand + (size_t)c * d, n, X);
	if (all)
		tp_errorf("bayesian optimization: only %d untried point%s left in "
		          "the search space, %d requested", avail,
		          avail == 1 ? "" : "s", q);
	else
		tp_errorf("bayesian optimization: only %d new points among %d "
		          "random candidates, %d requested", avail, C, q);
}

/*
 * Space-filling proposals when the GP has too little to go on: each one
 * is the candidate farthest (scaled distance, mismatch = 1 on categorical
 * coordinates) from the observed points and the proposals so far.
 */
static int
space_fill(int d, const int *levels, int n, const double *X, int q,
           uint64_t seed, double *out)
{
	struct tp_rng r;
	int C, all, ok = 0, *taken;
	double *cand, *mind, *ones = tp_xmallocarray((size_t)d, sizeof *ones);

	for (int j = 0; j < d; j++)
		ones[j] = 1;
	tp_rng_seed(&r, seed);
	cand = make_candidates(&r, d, levels, NULL, NULL, 0,
	                       NFILL > 4 * q ? NFILL : 4 * q, &C, &all);
	/* mind[c]: squared distance from candidate c to the nearest point
	 * so far, kept current as proposals are added. */
	mind = tp_xmallocarray((size_t)C, sizeof *mind);
	taken = tp_xmallocarray((size_t)C, sizeof *taken);
	for (int c = 0; c < C; c++) {
		const double *x = cand + (size_t)c * d;
		mind[c] = INFINITY;
		taken[c] = near_any(d, x, n, X);
		for (int i = 0; i < n; i++)
			mind[c] = fmin(mind[c], dist2(d, levels, ones, x,
			                              X + (size_t)i * d));
	}
	for (int k = 0; k < q; k++) {
		const double *pk;
		int bi = -1;
		for (int c = 0; c < C; c++)
			if (!taken[c] && (bi < 0 || mind[c] > mind[bi]))
				bi = c;
		if (bi < 0) {
			exhausted(d, cand, C, all, n, X, q);
			goto out;
		}
		pk = cand + (size_t)bi * d;
		memcpy(out + (size_t)k * d, pk, sizeof *out * (size_t)d);
		for (int c = 0; c < C; c++) {
			const double *x = cand + (size_t)c * d;
			taken[c] |= near_any(d, x, 1, pk);
			mind[c] = fmin(mind[c], dist2(d, levels, ones, x, pk));
		}
	}
	ok = 1;
out:
	free(taken);
	free(mind);
	free(ones);
	free(cand);
	return ok ? 0 : -1;
}

static int
check_input(int d, const struct tp_gp_dim *dims, int n, const double *X,
            int q)
{
	if (d < 1 || !dims) {
		tp_errorf("bayesian optimization: %d dimensions (need at least 1)", d);
		return -1;
	}
	if (n < 0 || q < 1 || q > MAX_Q) {
		tp_errorf("bayesian optimization: bad counts: %d observations, "
		          "%d proposals (at most %d)", n, q, MAX_Q);
		return -1;
	}
	if (n > 0 && !X) {
		tp_errorf("bayesian optimization: %d observations but no points", n);
		return -1;
	}
	for (int j = 0; j < d; j++) {
		if (dims[j].levels < 0 || dims[j].levels == 1) {
			tp_errorf("bayesian optimization: dimension %d: %d levels "
			          "(0 = continuous, or at least 2)", j, dims[j].levels);
			return -1;
		}
	}
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < d; j++) {
			double v = X[(size_t)i * d + j];
			int k = dims[j].levels;
			if (!k && !(v >= 0 && v <= 1)) {
				tp_errorf("bayesian optimization: observation %d, "
				          "dimension %d: %g is outside [0, 1]", i, j, v);
				return -1;
			}
			if (k && !(v >= 0 && v <= k - 1 && v == floor(v))) {
				tp_errorf("bayesian optimization: observation %d, "
				          "dimension %d: %g is not a level index in "
				          "0..%d", i, j, v, k - 1);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Polish candidate x [d] in place: L-BFGS on the continuous coordinates
 * (categorical ones held by lo == hi), then one sweep over the levels of
 * each categorical coordinate, then L-BFGS again if a level changed.
 * Returns log EI at the result.
 */
static double
refine(struct acq *a, double *x)
{
	const struct tp_gp *gp = a->gp;
	int d = gp->d, ncont = 0, changed = 0;
	double *lo = tp_xmallocarray((size_t)d * 2, sizeof *lo), *hi = lo + d;
	double f, t;

	for (int j = 0; j < d; j++) {
		ncont += !gp->levels[j];
		lo[j] = gp->levels[j] ? x[j] : 0;
		hi[j] = gp->levels[j] ? x[j] : 1;
	}
	f = ncont ? lbfgs_box(acq_neg, a, d, x, lo, hi, ACQ_ITERS)
	          : acq_neg(a, x, NULL);
	for (int j = 0; j < d; j++) {
		double keep = x[j], bestv = keep;
		if (!gp->levels[j] || gp->levels[j] > SWEEP_MAX)
			continue;
		for (int l = 0; l < gp->levels[j]; l++) {
			if (l == keep)
				continue;
			x[j] = l;
			t = acq_neg(a, x, NULL);
			if (t < f) {
				f = t;
				bestv = l;
			}
		}
		x[j] = bestv;
		if (bestv != keep) {
			changed = 1;
			lo[j] = hi[j] = bestv;
		}
	}
	if (changed && ncont)
		f = lbfgs_box(acq_neg, a, d, x, lo, hi, ACQ_ITERS);
	free(lo);
	return -f;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* 5 keeps BO working next to a 1e4 cliff in bench/gp.md; 10 does not. */
#define OUTLIER_MADS 5.0

/*
 * The GP's targets ys[n] from the raw objective y[n] (ok[i] = feasible).
 * Feasible values are standardized, after two guards: dividing by the
 * largest magnitude first (no overflow whatever the units), and capping
 * values more than OUTLIER_MADS robust deviations (1.4826 MAD) above the
 * median, so that one nearly diverged run (loss 1e3 among losses near 0.3)
 * cannot squash every other difference to nothing; capped points still
 * rank worst.  An infeasible trial becomes the worst feasible value plus
 * one standard deviation: the model learns to avoid its region without its
 * raw loss (huge or NaN) setting the scale.
 */
static void
standardize(int n, const double *y, const int *ok, double *ys)
{
	double scale = 0, med, mad, dev, cap, mean = 0, ss = 0, sd;
	double zmax = -INFINITY;
	double *t = tp_xmallocarray((size_t)n, sizeof *t);
	int m = 0;

	for (int i = 0; i < n; i++)
		if (ok[i])
			scale = fmax(scale, fabs(y[i]));
	if (!(scale > 0))
		scale = 1;
	for (int i = 0; i < n; i++)
		if (ok[i])
			t[m++] = y[i] / scale;
	qsort(t, (size_t)m, sizeof *t, cmp_double);
	med = m % 2 ? t[m / 2] : 0.5 * (t[m / 2 - 1] + t[m / 2]);
	for (int i = 0; i < m; i++)
		t[i] = fabs(t[i] - med);
	qsort(t, (size_t)m, sizeof *t, cmp_double);
	mad = m % 2 ? t[m / 2] : 0.5 * (t[m / 2 - 1] + t[m / 2]);
	/* Over half the trials at one value (say, chance-level loss) make the
	 * MAD 0: take the median of the nonzero deviations instead, which
	 * the outliers themselves cannot inflate much. */
	if (!(mad > 0)) {
		int z = 0;
		while (z < m && t[z] == 0)
			z++;
		if (z < m)
			mad = t[z + (m - z) / 2];
	}
	dev = 1.4826 * mad;
	cap = dev > 0 ? med + OUTLIER_MADS * dev : INFINITY;
	for (int i = 0; i < n; i++) {
		ys[i] = ok[i] ? fmin(y[i] / scale, cap) : 0;
		mean += ys[i];
	}
	mean /= m;
	for (int i = 0; i < n; i++)
		if (ok[i])
			ss += (ys[i] - mean) * (ys[i] - mean);
	sd = sqrt(ss / m);
	/* A flat objective: keep the units; the GP then explores by variance. */
	if (!(sd > 1e-12 * (1 + fabs(mean))))
		sd = 1;
	for (int i = 0; i < n; i++) {
		if (ok[i]) {
			ys[i] = (ys[i] - mean) / sd;
			zmax = fmax(zmax, ys[i]);
		}
	}
	for (int i = 0; i < n; i++)
		if (!ok[i])
			ys[i] = zmax + 1;
	free(t);
}

static int
propose(int d, const struct tp_gp_dim *dims, int n, const double *X,
        const double *y, const int *feasible, int q, uint64_t seed,
        double *out)
{
	int nf = 0, ret = -1, *ok, *levels, nt = 0, top[NREFINE], *taken = NULL;
	int all;
	double best = INFINITY, *ys, *P = NULL, *x = NULL;
	double *score = NULL;
	struct tp_gp *gp = NULL;
	struct tp_rng rng;
	struct acq a = {0};
	struct cands cs = {0};

	if (check_input(d, dims, n, X, q) < 0)
		return -1;
	if (n > 0 && !y) {
		tp_errorf("bayesian optimization: %d observations but no "
		          "objective values", n);
		return -1;
	}
	levels = tp_xmallocarray((size_t)d, sizeof *levels);
	for (int j = 0; j < d; j++)
		levels[j] = dims[j].levels;
	ok = tp_xmallocarray((size_t)(n > 0 ? n : 1), sizeof *ok);
	for (int i = 0; i < n; i++) {
		ok[i] = (!feasible || feasible[i]) && isfinite(y[i]);
		nf += ok[i];
	}
	if (nf < 2) {
		ret = space_fill(d, levels, n, X, q, tp_seed_derive(seed, 3), out);
		free(ok);
		free(levels);
		return ret;
	}

	ys = tp_xmallocarray((size_t)n, sizeof *ys);
	standardize(n, y, ok, ys);
	gp = tp_gp_new(d, dims, n, X, ys);
	if (tp_gp_fit(gp, tp_seed_derive(seed, 1)) < 0)
		goto out;

	/* Incumbent: the lowest posterior mean at a feasible observed point
	 * (robust to noise, unlike the lowest raw y); the best few observed
	 * points seed the local candidates. */
	for (int i = 0; i < n; i++) {
		double m, v;
		if (!ok[i])
			continue;
		tp_gp_predict(gp, X + (size_t)i * d, &m, &v);
		best = fmin(best, m);
	}
	for (nt = 0; nt < NREFINE && nt < nf; nt++) {
		int bi = -1;
		for (int i = 0; i < n; i++) {
			int used = 0;
			for (int k = 0; k < nt; k++)
				used |= top[k] == i;
			if (ok[i] && !used && (bi < 0 || ys[i] < ys[bi]))
				bi = i;
		}
		top[nt] = bi;
	}

	a.gp = gp;
	a.best = best;
	x = tp_xmallocarray((size_t)d, sizeof *x);
	a.k = tp_xmallocarray((size_t)(n + q) * 3, sizeof *a.k);
	a.w = a.k + n + q;
	a.dk = a.w + n + q;
	P = tp_xmallocarray((size_t)(n + q) * d, sizeof *P);
	memcpy(P, X, sizeof *P * (size_t)n * d);
	tp_rng_seed(&rng, tp_seed_derive(seed, 2));
	cs.x = make_candidates(&rng, d, levels, X, top, nt,
	                       NCAND > 4 * q ? NCAND : 4 * q, &cs.C, &all);
	cands_score(&cs, gp, n + q);
	score = tp_xmallocarray((size_t)cs.C, sizeof *score);
	taken = tp_xmallocarray((size_t)cs.C, sizeof *taken);
	for (int c = 0; c < cs.C; c++)
		taken[c] = near_any(d, cs.x + (size_t)c * d, n, X);
	for (int k = 0; k < q; k++) {
		int sel[NREFINE], ns, m = n + k;
		double bestv = -INFINITY, zmean, zvar, s2 = exp(gp->theta[d]);
		double *xk = P + (size_t)m * d;

		for (int c = 0; c < cs.C; c++)
			score[c] = taken[c] ? NAN
			                    : tp_gp_log_ei(cs.mean[c],
			                                   sqrt(fmax(cs.var[c],
			                                             VAR_FLOOR * s2)),
			                                   best);
		/* Refine the NREFINE best new candidates; keep the best result
		 * that is still a new point (a candidate itself always is). */
		for (ns = 0; ns < NREFINE; ns++) {
			int bi = -1;
			for (int c = 0; c < cs.C; c++)
				if (!isnan(score[c]) && (bi < 0 || score[c] > score[bi]))
					bi = c;
			if (bi < 0)
				break;
			sel[ns] = bi;
			if (score[bi] > bestv) {
				bestv = score[bi];
				memcpy(xk, cs.x + (size_t)bi * d, sizeof *x * (size_t)d);
			}
			score[bi] = NAN;
		}
		if (ns == 0) {
			exhausted(d, cs.x, cs.C, all, n, X, q);
			goto out;
		}
		for (int s = 0; s < ns; s++) {
			double v;
			memcpy(x, cs.x + (size_t)sel[s] * d, sizeof *x * (size_t)d);
			v = refine(&a, x);
			if (v > bestv && !near_any(d, x, m, P)) {
				bestv = v;
				memcpy(xk, x, sizeof *x * (size_t)d);
			}
		}
		for (int c = 0; c < cs.C; c++)
			taken[c] |= near_any(d, cs.x + (size_t)c * d, 1, xk);
		if (k + 1 == q)
			break;
		/* Constant liar: pretend the proposal came back at the
		 * incumbent's value, so the next one looks elsewhere. */
		tp_gp_predict(gp, xk, &zmean, &zvar);
		tp_gp_add(gp, xk, best);
		cands_update(&cs, gp, zmean);
	}
	memcpy(out, P + (size_t)n * d, sizeof *out * (size_t)q * d);
	ret = 0;
out:
	free(taken);
	free(score);
	free(cs.x);
	free(cs.V);
	free(cs.mean);
	free(x);
	free(a.k);
	free(P);
	tp_gp_free(gp);
	free(ys);
	free(ok);
	free(levels);
	return ret;
}

/*
 * One BLAS thread for the whole call: the matrices are n x n with n in
 * the hundreds, where OpenBLAS's threads cost 3 to 4 times the work on two
 * cores (bench/gp.md), and a fixed count makes the output independent of
 * OPENBLAS_NUM_THREADS.  The caller's setting is restored.
 */
int
tp_bo_propose(int d, const struct tp_gp_dim *dims, int n, const double *X,
              const double *y, const int *feasible, int q, uint64_t seed,
              double *out)
{
	int threads = tp_blas_threads(), ret;

	if (threads != 1)
		tp_blas_set_threads(1);
	ret = propose(d, dims, n, X, y, feasible, q, seed, out);
	if (threads != 1)
		tp_blas_set_threads(threads);
	return ret;
}
