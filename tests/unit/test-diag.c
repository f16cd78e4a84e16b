/*
 * test-diag.c: every playbook check fires on a constructed case that shows
 * its problem and stays silent on a clean one.  Trials and curves are built
 * in memory (static storage: nothing to free), datasets for the leakage
 * check are written with the record writer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tp/diag.h"
#include "tp/record.h"
#include "tp/zio.h"

#define MAXT 64

static struct tp_trial trials[MAXT];
static struct tp_tparam params[MAXT][4];
static struct tp_msum sums[MAXT];
static char k_lr[] = "lr", k_wd[] = "wd", k_opt[] = "optimizer";
static char s_valid[] = "valid", s_error[] = "error", s_study[] = "st";
static char s_adam[] = "adam";

/* Trial i: lr, wd (nuisance), optimizer=adam (scientific), objective v. */
static void
mk(size_t i, double lr, double wd, double v)
{
	struct tp_trial *t = &trials[i];

	memset(t, 0, sizeof *t);
	t->study = s_study;
	t->id = (int64_t)i;
	t->steps = 1000;
	params[i][0] = (struct tp_tparam){k_lr, TP_TV_NUM, lr, NULL, 0};
	params[i][1] = (struct tp_tparam){k_wd, TP_TV_NUM, wd, NULL, 0};
	params[i][2] = (struct tp_tparam){k_opt, TP_TV_STR, 0, s_adam, 1};
	t->params = params[i];
	t->nparams = 3;
	sums[i] = (struct tp_msum){s_valid, s_error, 10, v, 500, v, 500, v, 1000};
	t->sums = &sums[i];
	t->nsums = 1;
}

static size_t
count(const struct tp_findings *f, const char *check)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++)
		k += !f->v[i].note && strcmp(f->v[i].check, check) == 0;
	return k;
}

static const char *
text(const struct tp_findings *f, const char *check)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].check, check) == 0)
			return f->v[i].text;
	return "";
}

static const struct tp_objective obj = {"valid", "error", 0, 0};

static void
test_boundary(void)
{
	struct tp_findings f;
	struct tp_bound b = {"lr", 1e-5, 1, 1};
	static const double lrs[] = {1e-4, 1e-3, 1e-2, 3e-2, 1e-1};
	static const double wds[] = {0.1, 0.3, 0.2, 0.1, 0.2};

	for (size_t i = 0; i < 5; i++)
		mk(i, lrs[i], wds[i], 0.5 - 0.01 * (double)i);
	tp_findings_init(&f);
	tp_diag_boundary(&f, trials, 5, &obj, NULL, 0, 0.1);
	CHECK(count(&f, "boundary") == 1, "boundary: best at the largest lr fires");
	CHECK(strstr(text(&f, "boundary"), "lr=0.1") &&
	      strstr(text(&f, "boundary"), "above 0.1") &&
	      strstr(text(&f, "boundary"), "observed") &&
	      strstr(text(&f, "boundary"), "log scale"),
	      "boundary: names lr, the direction, the source, log scale: %s",
	      text(&f, "boundary"));
	tp_findings_release(&f);

	tp_findings_init(&f);
	tp_diag_boundary(&f, trials, 5, &obj, &b, 1, 0.1);
	CHECK(count(&f, "boundary") == 0,
	      "boundary: silent inside the given space [1e-5, 1]");
	tp_findings_release(&f);

	sums[4].min = sums[4].max = sums[4].last = 0.9; /* best now lr=3e-2 */
	sums[2].min = sums[2].max = sums[2].last = 0.1; /* best now lr=1e-2 */
	tp_findings_init(&f);
	tp_diag_boundary(&f, trials, 5, &obj, NULL, 0, 0.1);
	CHECK(count(&f, "boundary") == 0, "boundary: best inside: silent (%s)",
	      text(&f, "boundary"));
	tp_findings_release(&f);
}

static void
test_budget(void)
{
	struct tp_findings f;

	for (size_t i = 0; i < 5; i++)
		mk(i, 0.001 * (double)(i + 1), 0.01 * (double)(i % 2 + 1), 0.5);
	tp_findings_init(&f);
	tp_diag_budget(&f, trials, 5, &obj, 10);
	CHECK(count(&f, "budget") == 1 && strstr(text(&f, "budget"), "= 20"),
	      "budget: 5 trials for 2 nuisance parameters fires: %s",
	      text(&f, "budget"));
	tp_findings_release(&f);
	for (size_t i = 0; i < 25; i++)
		mk(i, 0.001 * (double)(i + 1), 0.01 * (double)(i % 2 + 1), 0.5);
	tp_findings_init(&f);
	tp_diag_budget(&f, trials, 25, &obj, 10);
	CHECK(count(&f, "budget") == 0, "budget: 25 trials are enough");
	tp_findings_release(&f);
}

static void
test_seeds(void)
{
	struct tp_findings f;

	/* trials 0-2: same params, seeds differ; trial 3 another config */
	for (size_t i = 0; i < 4; i++) {
		mk(i, i < 3 ? 0.01 : 0.02, 0.1, i < 3 ? 0.10 + 0.01 * (double)i : 0.105);
		trials[i].has_seed = 1;
		trials[i].seed = (int64_t)i;
	}
	tp_findings_init(&f);
	tp_diag_seeds(&f, trials, 4, &obj);
	CHECK(count(&f, "seeds") == 1 && strstr(text(&f, "seeds"), "3 trials (0, 1, 2)"),
	      "seeds: spread larger than the gap to the runner-up fires: %s",
	      text(&f, "seeds"));
	tp_findings_release(&f);
	sums[3].min = sums[3].max = sums[3].last = 0.5;
	tp_findings_init(&f);
	tp_diag_seeds(&f, trials, 4, &obj);
	CHECK(count(&f, "seeds") == 0 && f.n == 1 && f.v[0].note,
	      "seeds: a small spread is a note only");
	tp_findings_release(&f);
	for (size_t i = 0; i < 4; i++)
		trials[i].seed = 7;
	tp_findings_init(&f);
	tp_diag_seeds(&f, trials, 4, &obj);
	CHECK(f.n == 0, "seeds: same seed is not a repeat study");
	tp_findings_release(&f);
}

/* Curves: valid error at steps 100..2000 every 100, train loss likewise. */
static int64_t steps[20];
static double vy[20], ty[20];
static char s_step[] = "step", s_loss[] = "loss";
static struct tp_curve curves[2];
static struct tp_series series = {curves, 2};

static void
mkcurve(double (*fv)(double), double (*ft)(double))
{
	for (int i = 0; i < 20; i++) {
		steps[i] = 100 * (i + 1);
		vy[i] = fv((double)steps[i]);
		ty[i] = ft((double)steps[i]);
	}
	curves[0] = (struct tp_curve){s_valid, s_error, 20, steps, vy};
	curves[1] = (struct tp_curve){s_step, s_loss, 20, steps, ty};
	mk(0, 0.01, 0.1, 0.1);
}

static double decreasing(double s) { return 0.1 + 1.0 / (1 + s / 100); }
static double vshape(double s) { return 0.1 + fabs(s - 600) / 2000; }
static double saturating(double s) { return s < 400 ? 0.5 - s / 1000 : 0.1; }
static double noisy(double s) { return 0.2 + ((long)(s / 100) % 2 ? 0.04 : -0.04); }
static double smooth_sat(double s) { return 0.1 + 0.4 * exp(-s / 150); }

static size_t
curve_checks(struct tp_findings *f)
{
	tp_findings_init(f);
	tp_diag_curve(f, &trials[0], &series, &obj);
	return f->n;
}

static void
test_curve(void)
{
	struct tp_findings f;

	mkcurve(vshape, decreasing);
	curve_checks(&f);
	CHECK(count(&f, "overfit") == 1 && strstr(text(&f, "overfit"), "step 600"),
	      "overfit: valid worsens after step 600 while train improves: %s",
	      text(&f, "overfit"));
	CHECK(count(&f, "shorter") == 0, "overfit is not also 'shorter'");
	tp_findings_release(&f);
	mkcurve(vshape, vshape);
	curve_checks(&f);
	CHECK(count(&f, "overfit") == 0, "overfit: silent when training worsens too");
	tp_findings_release(&f);

	mkcurve(decreasing, decreasing);
	curve_checks(&f);
	CHECK(count(&f, "longer") == 1 && count(&f, "overfit") == 0 &&
	      count(&f, "shorter") == 0 && count(&f, "noise") == 0,
	      "longer: still improving at the end fires alone (%zu findings)", f.n);
	tp_findings_release(&f);

	mkcurve(saturating, decreasing);
	curve_checks(&f);
	CHECK(count(&f, "shorter") == 1 && strstr(text(&f, "shorter"), "step 400 of 2000"),
	      "shorter: flat from step 400 of 2000 fires: %s", text(&f, "shorter"));
	CHECK(count(&f, "longer") == 0, "saturated is not 'longer'");
	tp_findings_release(&f);

	mkcurve(noisy, decreasing);
	curve_checks(&f);
	CHECK(count(&f, "noise") == 1, "noise: +-20%% late oscillation fires: %s",
	      text(&f, "noise"));
	tp_findings_release(&f);

	mkcurve(smooth_sat, decreasing);
	curve_checks(&f);
	CHECK(count(&f, "noise") == 0 && count(&f, "overfit") == 0 &&
	      count(&f, "longer") == 0,
	      "a smooth saturating curve raises no noise/overfit/longer");
	tp_findings_release(&f);
}

static void
test_stability(void)
{
	struct tp_findings f;
	static int64_t st[40];
	static double loss[40], gn[40];
	static char s_gn[] = "grad_norm", reason[] = "loss is NaN";
	struct tp_curve c[2] = {{s_step, s_loss, 40, st, loss},
	                        {s_step, s_gn, 40, st, gn}};
	struct tp_series se = {c, 2};

	for (int i = 0; i < 40; i++)
		st[i] = 25 * i, loss[i] = 1.0 / (1 + i), gn[i] = 1 + 0.01 * i;
	mk(0, 0.01, 0.1, 0.1);
	tp_findings_init(&f);
	tp_diag_stability(&f, &trials[0], &se, 1000);
	CHECK(f.n == 0, "stability: a smooth loss is silent");
	tp_findings_release(&f);

	loss[30] = 10 * loss[29]; /* step 750 of 1000 */
	tp_findings_init(&f);
	tp_diag_stability(&f, &trials[0], &se, 1000);
	CHECK(count(&f, "unstable") == 1 && strstr(text(&f, "unstable"), "step 750") &&
	      strstr(text(&f, "unstable"), "gradient clipping") &&
	      strstr(text(&f, "unstable"), "clip_norm near"),
	      "stability: a mid-training spike suggests clipping: %s",
	      text(&f, "unstable"));
	tp_findings_release(&f);

	/* Late in training a loss near 0 wobbles by large factors: 2.5x of
	 * 0.033 is a tenth of the starting loss's scale at most: silent. */
	loss[30] = 2.5 * loss[29];
	tp_findings_init(&f);
	tp_diag_stability(&f, &trials[0], &se, 1000);
	CHECK(count(&f, "unstable") == 0,
	      "stability: a small wobble of a small loss is silent: %s", text(&f, "unstable"));
	tp_findings_release(&f);

	loss[30] = loss[29];
	trials[0].diverged = 1;
	trials[0].diverged_step = 40;
	trials[0].diverged_reason = reason;
	tp_findings_init(&f);
	tp_diag_stability(&f, &trials[0], &se, 1000);
	CHECK(count(&f, "unstable") == 1 && strstr(text(&f, "unstable"), "warmup") &&
	      strstr(text(&f, "unstable"), "step 40 of 1000"),
	      "stability: early divergence suggests warmup: %s", text(&f, "unstable"));
	tp_findings_release(&f);
}

static void
test_periodic(void)
{
	struct tp_findings f;
	static int64_t st[60];
	static double y[60];
	struct tp_curve c = {s_valid, s_error, 60, st, y};
	struct tp_series se = {&c, 1};

	mk(0, 0.01, 0.1, 0.1);
	for (int i = 0; i < 60; i++) /* eval every 10 steps, epoch 50 steps */
		st[i] = 10 * (i + 1),
		y[i] = 0.2 + 0.5 / (1 + i) + 0.02 * sin(2 * M_PI * (double)st[i] / 50);
	tp_findings_init(&f);
	tp_diag_periodic(&f, &trials[0], &se, &obj, 50);
	CHECK(count(&f, "periodic") == 1 && strstr(text(&f, "periodic"), "50 steps"),
	      "periodic: a 50-step cycle with 50-step epochs fires: %s",
	      text(&f, "periodic"));
	tp_findings_release(&f);
	tp_findings_init(&f);
	tp_diag_periodic(&f, &trials[0], &se, &obj, 70);
	CHECK(count(&f, "periodic") == 0, "periodic: silent at another epoch length");
	tp_findings_release(&f);
	for (int i = 0; i < 60; i++)
		y[i] = 0.2 + 0.5 / (1 + i);
	tp_findings_init(&f);
	tp_diag_periodic(&f, &trials[0], &se, &obj, 50);
	CHECK(count(&f, "periodic") == 0, "periodic: silent on a smooth curve");
	tp_findings_release(&f);
}

static void
write_ds(const char *path, int n, int offset)
{
	struct tp_wr *w = tp_wr_open(path, TP_ZOUT_AUTO);
	struct tp_rb b;

	tp_rb_init(&b);
	tp_rb_begin(&b, "dataset");
	tp_rb_i64(&b, "version", 1);
	tp_rb_i64(&b, "features", 3);
	tp_rb_i64(&b, "classes", 2);
	tp_rb_i64(&b, "count", n);
	if (tp_wr_rb(w, &b) != 0)
		abort();
	for (int i = 0; i < n; i++) {
		float x[3] = {(float)(i + offset), 1.5f, -2.0f};
		tp_rb_begin(&b, NULL); /* examples carry no "type" */
		tp_rb_bin(&b, "x", x, sizeof x);
		tp_rb_i64(&b, "y", i % 2);
		if (tp_wr_rb(w, &b) != 0)
			abort();
	}
	tp_rb_release(&b);
	if (tp_wr_close(w) != 0)
		abort();
}

static void
test_leak(void)
{
	struct tp_findings f;
	const char *va[1] = {"valid.tpr"}, *vb[1] = {"clean.tpr"};

	write_ds("train.tpr", 20, 0);
	write_ds("valid.tpr", 10, 15);  /* examples 15..19 are in train */
	write_ds("clean.tpr", 10, 100);
	tp_findings_init(&f);
	CHECK(tp_diag_leak(&f, "train.tpr", va, 1) == 0, "leak: reads");
	CHECK(count(&f, "leak") == 1 && strstr(text(&f, "leak"), "5 of 10"),
	      "leak: 5 of 10 shared examples found: %s", text(&f, "leak"));
	tp_findings_release(&f);
	tp_findings_init(&f);
	CHECK(tp_diag_leak(&f, "train.tpr", vb, 1) == 0 && count(&f, "leak") == 0,
	      "leak: silent on disjoint sets");
	tp_findings_release(&f);
	tp_findings_init(&f);
	CHECK(tp_diag_leak(&f, "missing.tpr", vb, 1) != 0, "leak: missing file fails");
	tp_findings_release(&f);
	unlink("train.tpr");
	unlink("valid.tpr");
	unlink("clean.tpr");
}

int
main(void)
{
	test_boundary();
	test_budget();
	test_seeds();
	test_curve();
	test_stability();
	test_periodic();
	test_leak();
	return check_done();
}
