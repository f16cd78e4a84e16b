/*
 * gp.h: Gaussian-process Bayesian optimization, the exploitation phase of
 * `tp-sample --method bayes` (the playbook's "quasi-random search while
 * exploring, Bayesian optimization once the search space is settled").
 *
 * tp_bo_propose() is the whole interface a sampler needs.  The lower-level
 * tp_gp_* calls expose the surrogate (Matern 5/2 ARD kernel, constant mean,
 * signal and noise variance) and the acquisition (log expected improvement)
 * so that tests and benchmarks can check them piece by piece.
 *
 * Coding of a point: d doubles.  A continuous coordinate is in [0, 1] (the
 * caller maps log/linear ranges onto it); a categorical coordinate with k
 * levels holds the level index 0..k-1 as a double.
 */
#ifndef TP_GP_H
#define TP_GP_H

#include <stdint.h>

#include "tp/err.h"

/* levels: 0 = continuous coordinate in [0,1]; k >= 2 = categorical with k
 * levels (coordinate = level index 0..k-1). */
struct tp_gp_dim {
	int levels;
};

/*
 * Propose q new points to evaluate.  X is [n, d] row-major, y[n] the
 * objective to MINIMIZE, feasible[i] = 0 for diverged/infeasible trials
 * (feasible may be NULL = all feasible; a non-finite y counts as
 * infeasible).  With n == 0, X, y and feasible may be NULL.  Writes q
 * distinct proposals into out [q, d], same coding: no proposal lies within
 * 1e-6 (in every coordinate) of another or of an observed point.
 *
 * With fewer than 2 feasible points the proposals are space-filling
 * (best-candidate sampling: each maximizes the distance to the observed
 * points and the earlier proposals among max(1000, 4q) random candidates).
 * Otherwise the feasible y are standardized (values more than 5 robust
 * deviations above the median are capped first), an infeasible trial
 * counts as the worst feasible value plus one standard deviation, the GP
 * is fitted (MAP over log hyperparameters, L-BFGS from the best 2 of 8
 * screened starts), and log EI below the incumbent (the lowest posterior
 * mean at a feasible point) is maximized over max(2000, 4q) random
 * candidates (every point of a purely categorical space of at most 2000)
 * plus local refinement.  A batch comes from the constant liar: each
 * proposal is added as a fake observation at the incumbent's value,
 * hyperparameters kept.  For q <= 500 the first point of a batch is the
 * q = 1 proposal.  Deterministic for a seed: the call runs OpenBLAS on one
 * thread (faster at these sizes) and restores the caller's thread count
 * after.  Cost: O(n^3) per likelihood evaluation; about 30 ms of CPU for
 * n = 100, d = 6 and 0.8 s for n = 400 (bench/gp.md).  q is at most 1000.
 *
 * Returns 0, or -1 after printing one line (bad dimension spec or counts,
 * a coordinate out of range, or a finite space with fewer than q untried
 * points left); out is then unspecified.
 */
int tp_bo_propose(int d, const struct tp_gp_dim *dims, int n, const double *X,
                  const double *y, const int *feasible, int q, uint64_t seed,
                  double *out) TP_WUR;

/*
 * The surrogate.  Hyperparameters are a vector theta of tp_gp_ntheta(d) =
 * d + 3 doubles: [log l_1 .. log l_d, log signal variance, log noise
 * variance, constant mean].  A categorical dimension contributes
 * [x_j != x'_j] / l_j^2 to the squared distance r^2, a continuous one
 * (x_j - x'_j)^2 / l_j^2; k(r) = s2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r).
 */
struct tp_gp;

static inline int
tp_gp_ntheta(int d)
{
	return d + 3;
}

/* A GP over copies of X [n, d] and y[n] (y used as given: no
 * standardization at this level); theta starts at the prior's centre and
 * nothing is factored until tp_gp_fit or tp_gp_set_theta succeeds
 * (tp_gp_predict and tp_gp_add abort before that: a caller bug).  The
 * caller frees it with tp_gp_free (NULL is fine).  Does not check the
 * coding: tp_bo_propose does. */
struct tp_gp *tp_gp_new(int d, const struct tp_gp_dim *dims, int n,
                        const double *X, const double *y);
void tp_gp_free(struct tp_gp *gp);

/* Log marginal likelihood log p(y | X, theta) and, when grad is not NULL,
 * its gradient [ntheta].  Returns -INFINITY if K cannot be factored even
 * with jitter. */
double tp_gp_lml(const struct tp_gp *gp, const double *theta, double *grad);

/* The fitting objective: tp_gp_lml plus the log density of the weak
 * log-normal hyperparameter priors (documented in gp.c), with gradient. */
double tp_gp_log_posterior(const struct tp_gp *gp, const double *theta,
                           double *grad);

/* Maximize tp_gp_log_posterior within the bounds (multi-start L-BFGS,
 * starts drawn from `seed`), then factor.  Returns 0 or -1 after printing. */
int tp_gp_fit(struct tp_gp *gp, uint64_t seed) TP_WUR;

/* Use theta as given (clamped to the bounds) and factor K.  Returns 0 or -1
 * after printing. */
int tp_gp_set_theta(struct tp_gp *gp, const double *theta) TP_WUR;
/* Copy the current theta [ntheta] out. */
void tp_gp_theta(const struct tp_gp *gp, double *theta);

/* Posterior of the latent function at x [d]: mean and variance (noise
 * excluded).  Needs a factored GP (after fit or set_theta). */
void tp_gp_predict(const struct tp_gp *gp, const double *x, double *mean,
                   double *var);

/* Append the observation (x [d], y) and update the factor without touching
 * theta (O(n^2): the constant liar's fake observations). */
void tp_gp_add(struct tp_gp *gp, const double *x, double y);

/*
 * log h(z) with h(z) = phi(z) + z Phi(z), so that for minimization
 * log EI(mu, sigma; best) = log sigma + log h((best - mu) / sigma).
 * Accurate for every finite z (asymptotic series where h underflows).
 * When dz is not NULL it receives d log h / dz = Phi(z) / h(z).
 */
double tp_gp_logh(double z, double *dz);
/* log EI for minimization; with sigma <= 0, log(best - mu) or -INFINITY. */
double tp_gp_log_ei(double mu, double sigma, double best);

#endif
