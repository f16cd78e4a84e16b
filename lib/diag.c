/*
 * diag.c: the playbook's checks over a study (diag.h).  Every rule is a
 * few lines of arithmetic on curves that tp-track already has; what makes
 * them useful is that each finding carries its evidence (which trial, which
 * steps, which values) and the playbook's suggested fix, so a person can
 * check the claim in the curves plot before acting on it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp/dataset.h"
#include "tp/diag.h"
#include "tp/record.h"
#include "tp/sha256.h"

/* qsort with a NULL base is undefined even for zero elements. */
static void
xsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}


void
tp_findings_init(struct tp_findings *f)
{
	memset(f, 0, sizeof *f);
}

void
tp_findings_release(struct tp_findings *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].check), free(f->v[i].study), free(f->v[i].text);
	free(f->v);
	memset(f, 0, sizeof *f);
}

void
tp_finding_add(struct tp_findings *f, int note, const char *check,
               const char *study, int64_t trial, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->v = tp_xrealloc(f->v, f->cap * sizeof *f->v);
	}
	f->v[f->n].check = tp_xstrdup(check);
	f->v[f->n].study = tp_xstrdup(study ? study : "");
	f->v[f->n].trial = trial;
	f->v[f->n].note = note;
	f->v[f->n].text = tp_xstrdup(buf);
	f->n++;
}

size_t
tp_findings_count(const struct tp_findings *f)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++)
		k += !f->v[i].note;
	return k;
}

/* a better than b under the objective's direction */
static int
better(const struct tp_objective *o, double a, double b)
{
	return o->maximize ? a > b : a < b;
}

long
tp_diag_best(const struct tp_trial *t, size_t n, const struct tp_objective *o)
{
	long best = -1;
	double bv = 0, v;
	int64_t step;

	for (size_t i = 0; i < n; i++) {
		if (!tp_trial_objective(&t[i], o, &v, &step))
			continue;
		if (best < 0 || better(o, v, bv) ||
		    (v == bv && t[i].id < t[best].id))
			best = (long)i, bv = v;
	}
	return best;
}

static const char *
objname(const struct tp_objective *o, char *buf, size_t n)
{
	snprintf(buf, n, "%s %s", o->split, o->metric);
	return buf;
}

/* Seeds are not hyperparameters: repeats differ only in them. */
static int
is_seed_key(const char *k)
{
	return strcmp(k, "seed") == 0 || strcmp(k, "data_seed") == 0;
}

/* A numeric parameter that varies across the trials and is not scientific. */
static int
is_nuisance(const struct tp_trial *t, size_t n, const char *key)
{
	double first = NAN;
	int varies = 0;

	if (is_seed_key(key))
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct tp_tparam *p = tp_trial_param(&t[i], key);
		if (!p)
			continue;
		if (p->scientific)
			return 0;
		if (p->type == TP_TV_STR)
			return 0;
		if (isnan(first))
			first = p->num;
		else if (p->num != first)
			varies = 1;
	}
	return varies;
}

/* Distinct nuisance parameter names, in first-seen order. */
static size_t
nuisance_keys(const struct tp_trial *t, size_t n, const char ***out)
{
	const char **k = NULL;
	size_t nk = 0;

	const char **seen = NULL;
	size_t ns = 0;

	/* Each name is judged once (is_nuisance is a pass over the trials). */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < t[i].nparams; j++) {
			const char *key = t[i].params[j].key;
			size_t q;
			for (q = 0; q < ns && strcmp(seen[q], key) != 0; q++)
				;
			if (q < ns)
				continue;
			seen = tp_xrealloc(seen, (ns + 1) * sizeof *seen);
			seen[ns++] = key;
			if (!is_nuisance(t, n, key))
				continue;
			k = tp_xrealloc(k, (nk + 1) * sizeof *k);
			k[nk++] = key;
		}
	free(seen);
	*out = k;
	return nk;
}

void
tp_diag_boundary(struct tp_findings *f, const struct tp_trial *t, size_t n,
                 const struct tp_objective *o, const struct tp_bound *b,
                 size_t nb, double near)
{
	long bi = tp_diag_best(t, n, o);
	const char **keys;
	size_t nk;
	double bv;
	int64_t bstep;
	char on[96];

	if (bi < 0 || n < 3)
		return;
	(void)tp_trial_objective(&t[bi], o, &bv, &bstep);
	nk = nuisance_keys(t, n, &keys);
	for (size_t q = 0; q < nk; q++) {
		const struct tp_tparam *bp = tp_trial_param(&t[bi], keys[q]);
		double lo = INFINITY, hi = -INFINITY, x, u;
		int logs = 0, given = 0, allpos = 1;
		const char *src = "observed range of the trials";

		if (!bp)
			continue;
		double vals[3];
		size_t distinct = 0;
		for (size_t i = 0; i < n; i++) {
			const struct tp_tparam *p = tp_trial_param(&t[i], keys[q]);
			size_t j = 0;
			if (!p)
				continue;
			while (j < distinct && vals[j] != p->num)
				j++;
			if (j == distinct && distinct < 3)
				vals[distinct++] = p->num;
			lo = fmin(lo, p->num), hi = fmax(hi, p->num);
			allpos &= p->num > 0;
		}
		logs = allpos && hi / lo >= 50;
		for (size_t i = 0; i < nb; i++)
			if (strcmp(b[i].name, keys[q]) == 0) {
				lo = b[i].lo, hi = b[i].hi, logs = b[i].log, given = 1;
				src = "search space";
			}
		/* Two values are a comparison, not a search: no boundary. */
		if ((!given && distinct < 3) || !(hi > lo) || (logs == 1 && lo <= 0) ||
		    (logs == 2 && hi >= 1))
			continue;
		x = bp->num;
		if (logs == 1)
			u = (log10(x) - log10(lo)) / (log10(hi) - log10(lo));
		else if (logs == 2) /* momentum-like: resolution near 1 */
			u = (log10(1 - lo) - log10(1 - x)) / (log10(1 - lo) - log10(1 - hi));
		else
			u = (x - lo) / (hi - lo);
		if (u > near && u < 1 - near)
			continue;
		tp_finding_add(f, 0, "boundary", t[bi].study, t[bi].id,
		               "best trial %lld (%s %.6g at step %lld) has %s=%.6g "
		               "in the %s %.0f%% of [%.6g, %.6g] (%s, %s scale): "
		               "extend the search %s %.6g",
		               (long long)t[bi].id, objname(o, on, sizeof on), bv,
		               (long long)bstep, keys[q], x,
		               u <= near ? "lowest" : "highest", near * 100, lo, hi,
		               src, logs == 1 ? "log" : logs == 2 ? "reverse-log" : "linear",
		               u <= near ? "below" : "above", u <= near ? lo : hi);
	}
	free(keys);
}

void
tp_diag_budget(struct tp_findings *f, const struct tp_trial *t, size_t n,
               const struct tp_objective *o, int per_param)
{
	const char **keys;
	size_t nk = nuisance_keys(t, n, &keys);
	char names[512] = "", k1[512], k2[512];
	size_t len = 0;
	unsigned char *done = tp_xcalloc(n + 1, 1);

	for (size_t q = 0; q < nk && len < sizeof names; q++)
		len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
		                        q ? ", " : "", keys[q]);
	for (size_t i = 0; i < n && nk > 0; i++) {
		size_t ok = 0, all = 0;
		double v;
		int64_t st;
		if (done[i])
			continue;
		tp_trial_sci_text(&t[i], ",", k1, sizeof k1);
		for (size_t j = i; j < n; j++) {
			tp_trial_sci_text(&t[j], ",", k2, sizeof k2);
			if (strcmp(k1, k2) != 0)
				continue;
			done[j] = 1;
			all++;
			ok += !t[j].diverged && tp_trial_objective(&t[j], o, &v, &st);
		}
		if (ok >= (size_t)per_param * nk)
			continue;
		tp_finding_add(f, 0, "budget", t[i].study, -1,
		               "%s%s%s%zu completed trials (%zu run) for %zu nuisance "
		               "parameters (%s); the rule used is at least %d per "
		               "nuisance parameter = %zu: run more trials before "
		               "trusting the comparison",
		               *k1 ? "scientific " : "", k1, *k1 ? ": " : "", ok, all,
		               nk, names, per_param, (size_t)per_param * nk);
	}
	free(done);
	free(keys);
}

/* Every parameter but the seeds, sorted by name, as one string: trials
 * with equal keys are repeats.  Malloc'd; "" when there are none. */
static char *
params_key(const struct tp_trial *t)
{
	const struct tp_tparam **p = tp_xcalloc(t->nparams + 1, sizeof *p);
	size_t np = 0, len = 1, o = 0;
	char *s;

	for (size_t i = 0; i < t->nparams; i++) {
		size_t j = np;
		if (is_seed_key(t->params[i].key))
			continue;
		while (j > 0 && strcmp(p[j - 1]->key, t->params[i].key) > 0)
			p[j] = p[j - 1], j--;
		p[j] = &t->params[i];
		np++;
		len += strlen(t->params[i].key) + 32 +
		       (t->params[i].str ? strlen(t->params[i].str) : 0);
	}
	s = tp_xmalloc(len);
	s[0] = 0;
	for (size_t i = 0; i < np; i++) {
		/* \x1f and \x1e cannot occur in names from a sane config. */
		if (p[i]->type == TP_TV_STR)
			o += (size_t)snprintf(s + o, len - o, "%s\x1fs%s\x1e", p[i]->key,
			                      p[i]->str);
		else
			o += (size_t)snprintf(s + o, len - o, "%s\x1fn%.17g\x1e",
			                      p[i]->key, p[i]->num);
	}
	free(p);
	return s;
}

struct keyed {
	char *key;
	size_t i;
};

static int
cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int64_t
seed_of(const struct tp_trial *t)
{
	const struct tp_tparam *p = tp_trial_param(t, "seed");

	if (t->has_seed)
		return t->seed;
	return p ? (int64_t)p->num : INT64_MIN;
}

void
tp_diag_seeds(struct tp_findings *f, const struct tp_trial *t, size_t n,
              const struct tp_objective *o)
{
	struct keyed *kx = tp_xcalloc(n + 1, sizeof *kx);
	double *vals = tp_xcalloc(n + 1, sizeof *vals);
	size_t *grp = tp_xcalloc(n + 1, sizeof *grp);
	double gap = INFINITY, best = NAN, second = NAN;
	char on[96];

	/* Sorting by the key makes repeats contiguous: O(n log n), not a
	 * comparison of every pair of trials. */
	for (size_t i = 0; i < n; i++)
		kx[i].key = params_key(&t[i]), kx[i].i = i;
	xsort(kx, n, sizeof *kx, cmp_keyed);
	/* The gap between the best configuration and the runner-up, each
	 * configuration at its mean over repeats. */
	for (size_t a = 0, b; a < n; a = b) {
		double v, s = 0;
		int64_t st;
		size_t k = 0;
		for (b = a; b < n && (b == a || (*kx[a].key &&
		                                  strcmp(kx[a].key, kx[b].key) == 0)); b++)
			if (tp_trial_objective(&t[kx[b].i], o, &v, &st))
				s += v, k++;
		if (!k)
			continue;
		s /= (double)k;
		if (isnan(best) || better(o, s, best))
			second = best, best = s;
		else if (isnan(second) || better(o, s, second))
			second = s;
	}
	if (!isnan(second))
		gap = fabs(best - second);
	for (size_t a = 0, b; a < n; a = b) {
		size_t k = 0, seeds = 1;
		double mean = 0, var = 0, lo = INFINITY, hi = -INFINITY, v;
		int64_t st;
		char ids[256];
		size_t len = 0;
		for (b = a; b < n && (b == a || (*kx[a].key &&
		                                  strcmp(kx[a].key, kx[b].key) == 0)); b++) {
			size_t j = kx[b].i;
			if (!tp_trial_objective(&t[j], o, &v, &st))
				continue;
			if (k > 0 && seed_of(&t[j]) != seed_of(&t[grp[0]]))
				seeds++;
			grp[k] = j;
			vals[k++] = v;
		}
		if (k < 2 || seeds < 2)
			continue;
		for (size_t j = 0; j < k; j++)
			mean += vals[j], lo = fmin(lo, vals[j]), hi = fmax(hi, vals[j]);
		mean /= (double)k;
		for (size_t j = 0; j < k; j++)
			var += (vals[j] - mean) * (vals[j] - mean);
		var /= (double)(k - 1);
		for (size_t j = 0; j < k && len < sizeof ids; j++)
			len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%lld",
			                        j ? ", " : "", (long long)t[grp[j]].id);
		tp_finding_add(f, 0, "seeds", t[grp[0]].study, -1,
		               "%zu trials (%s) differ only in their seeds: %s "
		               "%.6g +- %.3g (sd), range [%.6g, %.6g]; differences "
		               "between trials below about %.3g (2 sd) are noise",
		               k, ids, objname(o, on, sizeof on), mean, sqrt(var), lo,
		               hi, 2 * sqrt(var));
		/* Information unless the noise can reorder the top two. */
		f->v[f->n - 1].note = !(isfinite(gap) && 2 * sqrt(var) >= gap);
		if (!f->v[f->n - 1].note) {
			char *s = f->v[f->n - 1].text;
			size_t l = strlen(s);
			char buf[128];
			snprintf(buf, sizeof buf, "; the best two configurations are "
			         "only %.3g apart: rerun them with more seeds", gap);
			s = tp_xrealloc(s, l + strlen(buf) + 1);
			memcpy(s + l, buf, strlen(buf) + 1);
			f->v[f->n - 1].text = s;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(kx[i].key);
	free(kx);
	free(vals);
	free(grp);
}

/* The objective's curve, oriented so that lower is better (a copy). */
static double *
oriented(const struct tp_curve *c, int maximize)
{
	double *y = tp_xmallocarray(c->n + 1, sizeof *y);

	for (size_t i = 0; i < c->n; i++)
		y[i] = maximize ? -c->val[i] : c->val[i];
	return y;
}

static double
mean_range(const double *y, size_t a, size_t b)
{
	double s = 0;
	size_t k = 0;

	for (size_t i = a; i < b; i++)
		if (isfinite(y[i]))
			s += y[i], k++;
	return k ? s / (double)k : NAN;
}

/* The training curve that goes with the objective: the same metric on the
 * training split if evaluated, else the per-step training loss. */
static const struct tp_curve *
train_curve(const struct tp_series *se, const struct tp_objective *o, int *same)
{
	const struct tp_curve *c = tp_series_get(se, "train", o->metric);

	*same = c != NULL;
	if (!c)
		c = tp_series_get(se, "step", "loss");
	if (!c)
		c = tp_series_get(se, "train", "loss");
	return c;
}

/* Value of curve c at the last point with step <= s (NaN if none). */
static double
at_step(const struct tp_curve *c, int64_t s)
{
	double v = NAN;

	for (size_t i = 0; i < c->n && c->step[i] <= s; i++)
		v = c->val[i];
	return v;
}

void
tp_diag_curve(struct tp_findings *f, const struct tp_trial *t,
              const struct tp_series *se, const struct tp_objective *o)
{
	const struct tp_curve *c = tp_series_get(se, o->split, o->metric);
	const struct tp_curve *tc;
	double *y, best = INFINITY, tail, lvl, scale;
	size_t n, bi = 0, q;
	int same, overfit = 0;
	char on[96];

	if (!c || c->n < 5)
		return;
	n = c->n;
	y = oriented(c, o->maximize);
	for (size_t i = 0; i < n; i++)
		if (isfinite(y[i]) && y[i] < best)
			best = y[i], bi = i;
	if (!isfinite(best)) {
		free(y);
		return;
	}
	objname(o, on, sizeof on);
	q = n / 4 > 2 ? n / 4 : 2; /* the last quarter, at least 2 points */
	tail = mean_range(y, n - (q < 3 ? q : 3), n);
	scale = fabs(best) > 1e-12 ? fabs(best) : 1e-12;
#define SHOW(v) (o->maximize ? -(v) : (v))

	/* Overfitting: the held-out metric got worse by > 5% of its best after
	 * the best step, while training kept improving. */
	tc = train_curve(se, o, &same);
	/* Decided on a 3-point moving average, so that one lucky low point of
	 * a noisy curve does not read as overfitting (noise has its own
	 * check); the evidence quoted is the raw best. */
	double sbest = INFINITY;
	for (size_t i = 0; i < n; i++) {
		double m = mean_range(y, i ? i - 1 : 0, i + 2 < n ? i + 2 : n);
		if (isfinite(m) && m < sbest)
			sbest = m;
	}
	if (tail - sbest > 0.05 * scale && bi + 2 < n && tc && tc->n >= 2) {
		double t0 = at_step(tc, c->step[bi]), t1 = tc->val[tc->n - 1];
		if (same && o->maximize)
			t0 = -t0, t1 = -t1;
		if (isfinite(t0) && isfinite(t1) && t1 < t0) {
			overfit = 1;
			tp_finding_add(f, 0, "overfit", t->study, t->id,
			               "%s was best at step %lld (%.6g) and worsened to "
			               "%.6g by step %lld (+%.0f%%) while training %s "
			               "improved from %.6g to %.6g: overfitting; add "
			               "regularization or keep the checkpoint at step %lld",
			               on, (long long)c->step[bi], SHOW(best), SHOW(tail),
			               (long long)c->step[n - 1],
			               100 * (tail - best) / scale, same ? o->metric : "loss",
			               same && o->maximize ? -t0 : t0,
			               same && o->maximize ? -t1 : t1,
			               (long long)c->step[bi]);
		}
	}

	/* Late noise over the last quarter (at least 6 points, so curves of
	 * fewer than 8 evaluations are not judged).  Second differences
	 * r = y[i] - (y[i-1] + y[i+1]) / 2 cancel any locally straight trend;
	 * for white noise of sd s their sd is s * sqrt(3/2).  Above 5% of the
	 * metric's level a comparison of two trials at one step is mostly
	 * noise (playbook: high variance late in training). */
	size_t qn = q >= 6 ? q : 6;
	lvl = fabs(mean_range(y, n - (qn < n ? qn : n), n));
	if (n >= 8 && lvl > 1e-12) {
		double s = 0;
		size_t k = 0;
		for (size_t i = n - qn + 1; i + 1 < n; i++) {
			double r = y[i] - 0.5 * (y[i - 1] + y[i + 1]);
			if (isfinite(r))
				s += r * r, k++;
		}
		s = k ? sqrt(s / (double)k / 1.5) : 0;
		if (s / lvl > 0.05)
			tp_finding_add(f, 0, "noise", t->study, t->id,
			               "%s scatters by %.1f%% of its level (noise sd "
			               "from second differences) over steps %lld-%lld: high "
			               "variance late in training; decay the learning rate, "
			               "evaluate on more examples or use a larger batch",
			               on, 100 * s / lvl, (long long)c->step[n - qn],
			               (long long)c->step[n - 1]);
	}

	/* Still improving: the best is at the end and the last quarter gained
	 * more than 1%. */
	{
		double first = mean_range(y, n - q, n - q + 1);
		if (bi + 1 >= n - (q < 2 ? q : 2) + 1 && isfinite(first) &&
		    first - best > 0.01 * scale)
			tp_finding_add(f, 0, "longer", t->study, t->id,
			               "%s still improving at the last step %lld: %.6g at "
			               "step %lld, %.6g at step %lld (%.1f%% better): "
			               "train longer",
			               on, (long long)c->step[n - 1], SHOW(first),
			               (long long)c->step[n - q], SHOW(best),
			               (long long)c->step[bi], 100 * (first - best) / scale);
	}

	/* Saturated: within 1% of the best by half of training and flat
	 * since (not overfitting, which has its own finding). */
	if (!overfit) {
		size_t k = 0;
		while (k < n && !(isfinite(y[k]) && y[k] - best <= 0.01 * scale))
			k++;
		if (k < n && c->step[k] * 2 <= c->step[n - 1] &&
		    tail - best <= 0.05 * scale)
			tp_finding_add(f, 0, "shorter", t->study, t->id,
			               "%s came within 1%% of its best (%.6g) at step %lld "
			               "of %lld and did not improve after: training could "
			               "be about %.1fx shorter",
			               on, SHOW(best), (long long)c->step[k],
			               (long long)c->step[n - 1],
			               (double)c->step[n - 1] /
			                   (double)(c->step[k] > 0 ? c->step[k] : 1));
	}
#undef SHOW
	free(y);
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
tp_diag_stability(struct tp_findings *f, const struct tp_trial *t,
                  const struct tp_series *se, int64_t planned)
{
	const struct tp_curve *c = tp_series_get(se, "step", "loss");
	const struct tp_curve *g = tp_series_get(se, "step", "grad_norm");
	const struct tp_tparam *wp = tp_trial_param(t, "warmup_steps");
	const struct tp_tparam *ps = tp_trial_param(t, "steps");
	int64_t total = planned > 0 ? planned : ps && ps->num > 0 ? (int64_t)ps->num
	                                         : t->steps;
	int64_t warm = wp ? (int64_t)wp->num : 0, at = -1, early_end;
	double ratio = 0, med = 0;
	char clip[160] = "";
	const char *what = NULL;

	if (total <= 0)
		total = 1;
	early_end = total / 10 > warm ? total / 10 : warm;
	if (t->diverged) {
		at = t->diverged_step;
		what = t->diverged_reason ? t->diverged_reason : "diverged";
	} else if (c && c->n >= 12) {
		/* A spike: loss above 2x the median of the previous 10 points, and
		 * by at least a tenth of the loss the run started from, so that
		 * late wobbles of a loss near 0 (0.004 to 0.009) are not taken
		 * for instabilities. */
		double win[10], scale = 0;
		for (size_t i = 0; i < 10; i++)
			if (isfinite(c->val[i]) && c->val[i] > scale)
				scale = c->val[i];
		for (size_t i = 10; i < c->n && at < 0; i++) {
			memcpy(win, c->val + i - 10, sizeof win);
			xsort(win, 10, sizeof *win, cmp_dbl);
			med = 0.5 * (win[4] + win[5]);
			if (!isfinite(c->val[i]) ||
			    (med > 0 && c->val[i] > 2 * med && c->val[i] - med > 0.1 * scale)) {
				at = c->step[i];
				ratio = isfinite(c->val[i]) ? c->val[i] / med : INFINITY;
			}
		}
	}
	if (at < 0)
		return;
	if (g && g->n >= 10) {
		/* The playbook picks the clipping threshold from the distribution of
		 * gradient norms; the 90th percentile is a start. */
		double *v = tp_xmallocarray(g->n, sizeof *v);
		size_t k = 0;
		for (size_t i = 0; i < g->n; i++)
			if (isfinite(g->val[i]))
				v[k++] = g->val[i];
		if (k >= 10) {
			xsort(v, k, sizeof *v, cmp_dbl);
			snprintf(clip, sizeof clip, " (clip_norm near %.3g, the 90th "
			         "percentile of grad_norm)", v[k * 9 / 10]);
		}
		free(v);
	}
	if (what)
		tp_finding_add(f, 0, "unstable", t->study, t->id,
		               "diverged at step %lld of %lld (%s), %s training: %s",
		               (long long)at, (long long)total, what,
		               at <= early_end ? "early in" : "in mid",
		               at <= early_end ? "add or lengthen learning-rate warmup "
		                                 "first, then gradient clipping"
		                               : "apply gradient clipping");
	else
		tp_finding_add(f, 0, "unstable", t->study, t->id,
		               "training loss spiked to %.1fx its recent median "
		               "(%.4g) at step %lld of %lld, %s training: %s%s",
		               ratio, med, (long long)at, (long long)total,
		               at <= early_end ? "early in" : "in mid",
		               at <= early_end ? "add or lengthen learning-rate warmup "
		                                 "first, then gradient clipping"
		                               : "apply gradient clipping",
		               at <= early_end ? "" : clip);
}

/* Autocorrelation at lag p of y minus its moving average of width p, which
 * removes trends but keeps a p-periodic component whole. */
static double
periodic_score(const double *y, size_t n, size_t p)
{
	double *r, num = 0, den = 0;
	size_t m;

	if (p < 2 || n < 3 * p)
		return 0;
	m = n - p + 1;
	r = tp_xmallocarray(m, sizeof *r);
	for (size_t i = 0; i < m; i++) {
		double s = 0;
		for (size_t j = 0; j < p; j++)
			s += y[i + j];
		r[i] = y[i + p / 2] - s / (double)p;
	}
	for (size_t i = 0; i < m; i++)
		den += r[i] * r[i];
	for (size_t i = 0; i + p < m; i++)
		num += r[i] * r[i + p];
	free(r);
	return den > 0 ? num / den * (double)m / (double)(m - p) : 0;
}

static void
periodic_one(struct tp_findings *f, const struct tp_trial *t,
             const struct tp_curve *c, const char *what, int64_t epoch)
{
	int64_t d;
	double p, score;
	size_t n = c ? c->n : 0, k = 0;

	if (n < 8)
		return;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(c->val[i]))
			return;
	d = c->step[1] - c->step[0];
	for (size_t i = 2; i < n; i++)
		if (c->step[i] - c->step[i - 1] != d)
			return; /* the lag needs evenly spaced points */
	if (d <= 0)
		return;
	p = (double)epoch / (double)d;
	if (fabs(p - round(p)) > 0.1 || p < 2)
		return;
	k = (size_t)round(p);
	score = periodic_score(c->val, n, k);
	if (score >= 0.5)
		tp_finding_add(f, 0, "periodic", t->study, t->id,
		               "%s repeats with the epoch length (%lld steps): "
		               "autocorrelation %.2f at that lag over steps %lld-%lld; "
		               "the playbook's sign of unshuffled training data or of "
		               "training examples in the validation set (run "
		               "'tp-track leak')",
		               what, (long long)epoch, score, (long long)c->step[0],
		               (long long)c->step[n - 1]);
}

void
tp_diag_periodic(struct tp_findings *f, const struct tp_trial *t,
                 const struct tp_series *se, const struct tp_objective *o,
                 int64_t epoch_steps)
{
	char on[96];

	if (epoch_steps <= 0)
		return;
	periodic_one(f, t, tp_series_get(se, o->split, o->metric),
	             objname(o, on, sizeof on), epoch_steps);
	periodic_one(f, t, tp_series_get(se, "step", "loss"), "training loss",
	             epoch_steps);
}

/* ---- leakage ---- */

struct hashes {
	unsigned char (*h)[16];
	size_t n, cap;
};

static int
cmp_h(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Every example's features as little-endian float32, hashed (the dataset
 * reader has validated them against the header).  0 or -1 (printed). */
static int
read_examples(const char *path, struct hashes *hs, int64_t *count)
{
	struct tp_dsr *r = tp_dsr_open(path);
	size_t d;
	float *x;
	unsigned char *le;
	double y;
	float w;
	int k;

	*count = 0;
	if (!r)
		return -1;
	d = (size_t)tp_dsr_header(r)->features;
	x = tp_xmallocarray(d, sizeof *x);
	le = tp_xmallocarray(d, 4);
	while ((k = tp_dsr_next(r, x, &y, &w)) == 1) {
		struct tp_sha256 s;
		char hex[65];
		for (size_t j = 0; j < d; j++) {
			uint32_t u;
			memcpy(&u, &x[j], 4);
			le[4 * j] = (unsigned char)u, le[4 * j + 1] = (unsigned char)(u >> 8);
			le[4 * j + 2] = (unsigned char)(u >> 16);
			le[4 * j + 3] = (unsigned char)(u >> 24);
		}
		tp_sha256_init(&s);
		tp_sha256_update(&s, le, 4 * d);
		tp_sha256_hex(&s, hex);
		if (hs->n == hs->cap) {
			hs->cap = hs->cap ? 2 * hs->cap : 1024;
			hs->h = tp_xrealloc(hs->h, hs->cap * sizeof *hs->h);
		}
		/* 128 bits of the digest: collisions are out of reach. */
		for (int i = 0; i < 16; i++) {
			int hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
			int lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0'
			                               : hex[2 * i + 1] - 'a' + 10;
			hs->h[hs->n][i] = (unsigned char)(hi << 4 | lo);
		}
		hs->n++;
		(*count)++;
	}
	free(x);
	free(le);
	tp_dsr_close(r);
	return k < 0 ? -1 : 0;
}

int
tp_diag_leak(struct tp_findings *f, const char *train,
             const char *const *others, size_t nothers)
{
	struct hashes tr = {0};
	int64_t ntr;
	int rc = 0;

	if (read_examples(train, &tr, &ntr) != 0) {
		free(tr.h);
		return -1;
	}
	xsort(tr.h, tr.n, sizeof *tr.h, cmp_h);
	for (size_t k = 0; k < nothers && rc == 0; k++) {
		struct hashes o = {0};
		int64_t no, shared = 0, firstidx = -1;
		if (read_examples(others[k], &o, &no) != 0) {
			rc = -1;
		} else {
			for (size_t i = 0; i < o.n; i++)
				if (tr.n && bsearch(o.h[i], tr.h, tr.n, sizeof *tr.h, cmp_h)) {
					if (firstidx < 0)
						firstidx = (int64_t)i;
					shared++;
				}
			if (shared > 0)
				tp_finding_add(f, 0, "leak", "", -1,
				               "%s: %lld of %lld examples (%.1f%%) have the "
				               "same features as an example of %s (first: "
				               "example %lld); remove them or deduplicate "
				               "before splitting",
				               others[k], (long long)shared, (long long)no,
				               100.0 * (double)shared / (double)(no ? no : 1),
				               train, (long long)firstidx);
			else
				tp_finding_add(f, 1, "leak", "", -1,
				               "%s: none of %lld examples appears in %s "
				               "(%lld examples)", others[k], (long long)no,
				               train, (long long)ntr);
		}
		free(o.h);
	}
	free(tr.h);
	return rc;
}

int
tp_diag_dataset_count(const char *path, int64_t *count)
{
	struct tp_dsr *r = tp_dsr_open(path);

	if (!r)
		return -1;
	*count = tp_dsr_header(r)->count;
	tp_dsr_close(r);
	return 0;
}

/* Steps per epoch from the trial's config: training set size / batch. */
static int64_t
epoch_of(struct tp_findings *f, const struct tp_trial *t)
{
	const struct tp_tparam *bs = tp_trial_param(t, "batch_size");
	int64_t count;

	if (bs && bs->num >= 1 && t->train_count > 0)
		return t->train_count / (int64_t)bs->num > 0
		       ? t->train_count / (int64_t)bs->num : 1;
	if (!t->train || !bs || bs->num < 1) {
		tp_finding_add(f, 1, "periodic", t->study, t->id,
		               "epoch length unknown (no training set or batch_size "
		               "in the config; give --epoch-steps): periodicity not "
		               "checked");
		return 0;
	}
	if (access(t->train, R_OK) != 0) {
		tp_finding_add(f, 1, "periodic", t->study, t->id,
		               "%s: not readable here, epoch length unknown (give "
		               "--epoch-steps): periodicity not checked", t->train);
		return 0;
	}
	if (tp_diag_dataset_count(t->train, &count) != 0)
		return -1;
	return count / (int64_t)bs->num > 0 ? count / (int64_t)bs->num : 1;
}

int
tp_diag_study(struct tp_findings *f, const struct tp_store *s,
              const char *study, const struct tp_diag_opts *opt)
{
	size_t n;
	const struct tp_trial *t = tp_store_trials(s, study, &n);
	struct tp_objective o = tp_objective_for(&opt->obj, t, n);
	long bi;
	int rc = 0;
	int64_t planned = 0;

	if (!t)
		return 0;
	/* A diverged run stops early: the study's longest run says how long
	 * training was meant to be. */
	for (size_t i = 0; i < n; i++)
		if (t[i].steps > planned)
			planned = t[i].steps;
	tp_diag_boundary(f, t, n, &o, opt->bounds, opt->nbounds, opt->near);
	tp_diag_budget(f, t, n, &o, opt->per_param);
	tp_diag_seeds(f, t, n, &o);
	bi = tp_diag_best(t, n, &o);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct tp_series se;
		if (tp_store_series(s, &t[i], &se) != 0) {
			rc = -1;
			break;
		}
		tp_diag_stability(f, &t[i], &se, planned);
		if ((long)i == bi) {
			int64_t ep = opt->epoch_steps > 0 ? opt->epoch_steps
			                                  : epoch_of(f, &t[i]);
			tp_diag_curve(f, &t[i], &se, &o);
			if (ep < 0)
				rc = -1;
			else
				tp_diag_periodic(f, &t[i], &se, &o, ep);
		}
		tp_series_release(&se);
	}
	return rc;
}
