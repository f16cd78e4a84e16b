/*
 * test-model: the MLP's gradients against finite differences for every
 * layer type, activation, norm, residual/rezero, dropout, loss and weighting;
 * the documented semantics (padding, ghost batch norm groups, exact
 * averages, eval chunks); two-run determinism; every error path; and
 * forward/backward values against PyTorch (fixtures written by
 * tests/torch/gen_model_fixtures.py, read here without Python).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tp/linalg.h"
#include "tp/model.h"
#include "tp/pool.h"
#include "tp/rng.h"

/* ---- helpers ---- */

struct data {
	float *x, *target, *w;
	int32_t *label;
	int n;
};

static void
data_make(struct data *d, const struct tp_model_config *c, int n, uint64_t seed,
          int weighted)
{
	struct tp_rng r;

	tp_rng_seed(&r, seed);
	d->n = n;
	d->x = calloc((size_t)n * c->inputs, sizeof(float));
	d->target = calloc((size_t)n * c->outputs, sizeof(float));
	d->w = calloc((size_t)n, sizeof(float));
	d->label = calloc((size_t)n, sizeof(int32_t));
	for (int i = 0; i < n * c->inputs; i++)
		d->x[i] = (float)tp_rng_normal(&r);
	for (int i = 0; i < n * c->outputs; i++)
		d->target[i] = (float)tp_rng_normal(&r);
	for (int i = 0; i < n; i++) {
		d->label[i] = (int32_t)tp_rng_below(&r, (uint64_t)c->outputs);
		d->w[i] = weighted ? (float)(0.25 + 2 * tp_rng_uniform(&r)) : 1.0f;
	}
	if (weighted && n > 3)
		d->w[1] = 0; /* a padding row in the middle */
}

static void
data_free(struct data *d)
{
	free(d->x);
	free(d->target);
	free(d->w);
	free(d->label);
}

static struct tp_batch
batch_of(const struct data *d, int lo, int n, const struct tp_model_config *c)
{
	struct tp_batch b = {
		d->x + (size_t)lo * c->inputs, d->label + lo,
		d->target + (size_t)lo * c->outputs, d->w + lo, n,
	};
	return b;
}

static struct tp_model_config
cfg(int inputs, int outputs, int depth, int width)
{
	struct tp_model_config c;

	tp_model_config_default(&c);
	c.inputs = inputs;
	c.outputs = outputs;
	c.depth = depth;
	c.width = width;
	return c;
}

static double
loss_at(struct tp_model *m, const struct tp_batch *b, const struct tp_rng *rng0)
{
	struct tp_rng r = rng0 ? *rng0 : (struct tp_rng){{0}};
	double l = NAN;

	if (tp_model_forward(m, b, rng0 ? &r : NULL, &l) < 0)
		return NAN;
	return l;
}

/*
 * Directional finite differences, one random direction per parameter view:
 * (L(p + h v) - L(p - h v)) / 2h (extrapolated) against g . v.  Summing over a whole view
 * keeps float rounding small against the signal while still catching a
 * wrong gradient in any one view.  Returns the worst relative error.
 */
static double
fd_check(struct tp_model *m, const struct tp_batch *b, const struct tp_rng *rng0,
         double h, const char **worst)
{
	size_t np, nv;
	float *p = tp_model_params(m, &np);
	float *g = tp_model_grads(m, &np);
	const struct tp_model_view *v = tp_model_param_views(m, &nv);
	float *g0 = malloc(np * sizeof *g0), *p0 = malloc(np * sizeof *p0);
	double *dir = malloc(np * sizeof *dir), maxerr = 0, l;
	struct tp_rng r;

	tp_rng_seed(&r, 99);
	memcpy(p0, p, np * sizeof *p);
	{
		struct tp_rng rr = rng0 ? *rng0 : (struct tp_rng){{0}};
		if (tp_model_train_step(m, b, rng0 ? &rr : NULL, &l) < 0)
			return INFINITY;
	}
	memcpy(g0, g, np * sizeof *g);
	for (size_t i = 0; i < nv; i++) {
		double an = 0, norm = 0, fd, err;

		for (size_t k = 0; k < v[i].count; k++) {
			dir[k] = tp_rng_normal(&r);
			norm += dir[k] * dir[k];
		}
		norm = sqrt(norm);
		for (size_t k = 0; k < v[i].count; k++) {
			dir[k] /= norm;
			an += dir[k] * g0[v[i].offset + k];
		}
		fd = 0;
		for (int half = 0; half < 2; half++) {
			double hh = half ? h / 2 : h, lp, lm;

			for (size_t k = 0; k < v[i].count; k++)
				p[v[i].offset + k] = (float)(p0[v[i].offset + k] + hh * dir[k]);
			lp = loss_at(m, b, rng0);
			for (size_t k = 0; k < v[i].count; k++)
				p[v[i].offset + k] = (float)(p0[v[i].offset + k] - hh * dir[k]);
			lm = loss_at(m, b, rng0);
			/* Richardson: (4 D(h/2) - D(h)) / 3 cancels the h^2 term,
			 * which batch norm over small groups makes large. */
			fd += (half ? 4.0 / 3 : -1.0 / 3) * (lp - lm) / (2 * hh);
		}
		memcpy(p + v[i].offset, p0 + v[i].offset, v[i].count * sizeof *p);
		err = fabs(fd - an) / fmax(fmax(fabs(fd), fabs(an)), 1e-2);
		if (getenv("TP_TEST_VERBOSE"))
			printf("# %s: fd %.6g an %.6g err %.2g\n", v[i].name, fd, an, err);
		if (!(err <= maxerr)) {
			maxerr = err;
			*worst = v[i].name;
		}
	}
	free(g0);
	free(p0);
	free(dir);
	return maxerr;
}

/* Build, init, check FD; the model is nudged off its init so that rezero
 * alphas, zero biases and unit gains do not hide terms of the gradient. */
static void
fd_case(const char *what, struct tp_model_config c, int n, int weighted,
        double tol)
{
	struct tp_model *m = tp_model_new(&c, n);
	struct data d;
	struct tp_rng r, drop;
	const char *worst = "?";
	size_t np;
	float *p;
	double err;

	if (!CHECK(m != NULL, "%s: model built", what))
		return;
	tp_model_init(m, 7);
	p = tp_model_params(m, &np);
	tp_rng_seed(&r, 5);
	for (size_t i = 0; i < np; i++)
		p[i] += (float)(0.1 * tp_rng_normal(&r));
	data_make(&d, &c, n, 11, weighted);
	struct tp_batch b = batch_of(&d, 0, n, &c);
	tp_rng_seed(&drop, 3);
	err = fd_check(m, &b, c.dropout > 0 ? &drop : NULL, 2e-2, &worst);
	CHECK(err < tol, "%s: gradient matches finite differences (worst %s, "
	      "rel err %.2g)", what, worst, err);
	data_free(&d);
	tp_model_free(m);
}

/* Capture stderr around a call to check the one-line message. */
static int saved_fd = -1;
static char errpath[] = "/tmp/tp-test-model-XXXXXX";

static void
err_begin(void)
{
	int fd = mkstemp(errpath);

	fflush(stderr);
	saved_fd = dup(2);
	dup2(fd, 2);
	close(fd);
}

static int
err_end(const char *want)
{
	char buf[512] = "";
	FILE *f;
	size_t len;
	int ok;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	f = fopen(errpath, "r");
	len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[len] = 0;
	if (f)
		fclose(f);
	unlink(errpath);
	strcpy(errpath, "/tmp/tp-test-model-XXXXXX");
	/* One line that contains want. */
	ok = strstr(buf, want) != NULL && strchr(buf, '\n') == buf + len - 1;
	if (!ok)
		printf("# stderr was: %s", buf);
	return ok;
}

/* cond, evaluated with stderr captured, and one line containing want
 * there; stderr is restored whatever cond is. */
static int
refused_then(int cond, const char *want)
{
	int ok = err_end(want);

	return cond && ok;
}
#define REFUSED(cond, want) (err_begin(), refused_then((cond), (want)))

/* ---- tests ---- */

static void
test_config(void)
{
	struct tp_model_config c = cfg(4, 3, 2, 8);
	enum tp_act a;
	enum tp_init in;
	int uni;

	CHECK(tp_model_config_check(&c) == 0, "default config is valid");
	c = cfg(4, 3, 1, 8);
	c.residual = 1;
	CHECK(REFUSED(tp_model_config_check(&c) < 0,
	              "model: residual needs depth >= 2"),
	      "residual with depth 1 refused");
	c = cfg(4, 3, 2, 8);
	c.rezero = 1;
	CHECK(REFUSED(tp_model_config_check(&c) < 0,
	              "model: rezero needs residual"),
	      "rezero without residual refused");
	c = cfg(4, 1, 2, 8);
	c.loss = TP_LOSS_MSE;
	c.label_smoothing = 0.1f;
	CHECK(REFUSED(tp_model_config_check(&c) < 0,
	              "label smoothing needs the xent loss"),
	      "smoothing with mse refused");
	c = cfg(4, 1, 2, 8);
	CHECK(REFUSED(tp_model_config_check(&c) < 0,
	              "outputs must be >= 2 for xent, not 1"),
	      "xent with 1 output refused");
	c = cfg(4, 3, 2, 8);
	c.norm = TP_NORM_BATCH;
	c.ghost_batch = 2;
	CHECK(REFUSED(tp_model_config_check(&c) < 0,
	              "ghost_batch must be >= 3"),
	      "ghost batch 2 refused");
	c = cfg(4, 3, 2, 8);
	c.dropout = 1;
	CHECK(REFUSED(tp_model_config_check(&c) < 0,
	              "dropout must be in [0, 1), not 1"),
	      "dropout 1 refused");
	c = cfg(0, 3, 2, 8);
	CHECK(REFUSED(tp_model_new(&c, 4) == NULL, "inputs must be >= 1, not 0"),
	      "tp_model_new refuses a bad config");
	c = cfg(4, 3, 2, 0);
	CHECK(REFUSED(tp_model_config_check(&c) < 0, "width must be >= 1"),
	      "width 0 refused");
	c = cfg(4, 3, 2, 8);
	CHECK(REFUSED(tp_model_new(&c, 0) == NULL, "max batch must be >= 1, not 0"),
	      "max batch 0 refused");

	CHECK(tp_model_act_parse("gelu", "--activation", &a) == 0 && a == TP_ACT_GELU,
	      "parse gelu");
	CHECK(REFUSED(tp_model_act_parse("sigmoid", "--activation", &a) < 0,
	              "--activation: unknown activation 'sigmoid' (expected relu, gelu, tanh)"),
	      "unknown activation refused with the list");
	CHECK(tp_model_init_parse("glorot_uniform", "init", &in, &uni) == 0 &&
	      in == TP_INIT_GLOROT && uni == 1, "parse glorot_uniform");
	CHECK(tp_model_init_parse("lecun", "init", &in, &uni) == 0 &&
	      in == TP_INIT_LECUN && uni == 0, "parse lecun (normal)");
	CHECK(strcmp(tp_model_init_name(TP_INIT_HE, 1), "he_uniform") == 0 &&
	      strcmp(tp_model_norm_name(TP_NORM_BATCH), "batch") == 0 &&
	      strcmp(tp_model_loss_name(TP_LOSS_MSE), "mse") == 0 &&
	      strcmp(tp_model_act_name((enum tp_act)9), "?") == 0, "names");
}

static void
test_views(void)
{
	struct tp_model_config c = cfg(5, 3, 3, 8);
	struct tp_model *m;
	const struct tp_model_view *v;
	size_t nv, np, nb, at = 0;
	int contiguous = 1;

	c.norm = TP_NORM_BATCH;
	c.residual = 1;
	c.rezero = 1;
	m = tp_model_new(&c, 16);
	v = tp_model_param_views(m, &nv);
	tp_model_params(m, &np);
	for (size_t i = 0; i < nv; i++) {
		contiguous &= v[i].offset == at;
		at += v[i].count;
	}
	CHECK(contiguous && at == np, "parameter views tile the array (%zu floats)", np);
	CHECK((uintptr_t)tp_model_params(m, &np) % 64 == 0 &&
	      (uintptr_t)tp_model_grads(m, &np) % 64 == 0,
	      "parameters and gradients start on a cache line");
	CHECK(np == (size_t)(8 * 5 + 8 + 16) + 2 * (64 + 8 + 16 + 1) + 3 * 8 + 3,
	      "parameter count");
	CHECK(nv == 4 + 2 * 5 + 2, "parameter view count %zu", nv);
	CHECK(strcmp(v[0].name, "layer1.weight") == 0 && v[0].ndim == 2 &&
	      v[0].shape[0] == 8 && v[0].shape[1] == 5 && v[0].decay == 1,
	      "layer1.weight is [8, 5] with decay");
	CHECK(strcmp(v[1].name, "layer1.bias") == 0 && v[1].ndim == 1 && !v[1].decay,
	      "layer1.bias is a vector without decay");
	CHECK(strcmp(v[8].name, "layer2.alpha") == 0 && v[8].count == 1,
	      "layer2.alpha after layer2's norm");
	CHECK(strcmp(v[nv - 2].name, "out.weight") == 0 && v[nv - 2].shape[0] == 3 &&
	      v[nv - 2].shape[1] == 8, "out.weight is [3, 8]");
	v = tp_model_buffer_views(m, &nv);
	tp_model_buffers(m, &nb);
	CHECK(nv == 6 && nb == 48 && strcmp(v[5].name, "layer3.norm.running_var") == 0 &&
	      v[5].offset == 40, "buffer views");
	tp_model_free(m);

	c = cfg(5, 3, 0, 0);
	m = tp_model_new(&c, 4);
	v = tp_model_param_views(m, &nv);
	CHECK(m && nv == 2 && strcmp(v[0].name, "out.weight") == 0 &&
	      v[0].shape[1] == 5 && tp_model_buffers(m, &nb) == NULL && nb == 0,
	      "depth 0 is a linear model without buffers");
	tp_model_free(m);
	tp_model_free(NULL);
}

static void
test_init(void)
{
	struct tp_model_config c = cfg(400, 10, 1, 300);
	struct tp_model *m = tp_model_new(&c, 4), *m2;
	const struct tp_model_view *v;
	size_t nv, np;
	float *p, *gp;
	double s2 = 0, mx = 0;
	int bias0 = 1;

	tp_model_init(m, 1);
	p = tp_model_params(m, &np);
	v = tp_model_param_views(m, &nv);
	for (size_t k = 0; k < v[0].count; k++)
		s2 += (double)p[k] * p[k];
	s2 /= (double)v[0].count;
	CHECK_CLOSE(s2, 2.0 / 400, 0.02, 0, "he normal variance %.5f ~ 2/fan_in", s2);
	for (size_t k = 0; k < v[1].count; k++)
		bias0 &= p[v[1].offset + k] == 0;
	CHECK(bias0, "biases start at zero");
	m2 = tp_model_new(&c, 4);
	tp_model_init(m2, 1);
	gp = tp_model_params(m2, &np);
	CHECK(memcmp(p, gp, np * sizeof *p) == 0, "same seed, same parameters");
	tp_model_init(m2, 2);
	CHECK(memcmp(p, gp, np * sizeof *p) != 0, "another seed, other parameters");
	tp_model_free(m2);
	tp_model_free(m);

	c.init = TP_INIT_GLOROT;
	c.init_uniform = 1;
	m = tp_model_new(&c, 4);
	tp_model_init(m, 1);
	p = tp_model_params(m, &np);
	s2 = 0;
	for (size_t k = 0; k < 120000; k++) {
		s2 += (double)p[k] * p[k];
		mx = fmax(mx, fabs(p[k]));
	}
	s2 /= 120000;
	CHECK_CLOSE(s2, 2.0 / 700, 0.02, 0, "glorot uniform variance %.6f ~ 2/(in+out)", s2);
	CHECK(mx <= sqrt(6.0 / 700) && mx > 0.99 * sqrt(6.0 / 700),
	      "glorot uniform bound sqrt(6/(in+out))");
	tp_model_free(m);

	c = cfg(50, 3, 2, 40);
	c.init = TP_INIT_LECUN;
	c.norm = TP_NORM_BATCH;
	c.residual = 1;
	c.rezero = 1;
	m = tp_model_new(&c, 4);
	tp_model_init(m, 3);
	p = tp_model_params(m, &np);
	v = tp_model_param_views(m, &nv);
	{
		size_t nb;
		float *bf = tp_model_buffers(m, &nb);
		CHECK(p[v[2].offset] == 1 && p[v[3].offset] == 0 && bf[0] == 0 &&
		      bf[40] == 1, "norm gain 1, bias 0, running mean 0, var 1");
		CHECK(strcmp(v[8].name, "layer2.alpha") == 0 && p[v[8].offset] == 0,
		      "rezero alpha starts at 0");
	}
	tp_model_free(m);
}

static void
test_gradients(void)
{
	struct tp_model_config c;
	const enum tp_act acts[] = {TP_ACT_RELU, TP_ACT_GELU, TP_ACT_TANH};
	char what[128];

	for (int i = 0; i < 3; i++) {
		c = cfg(5, 4, 2, 7);
		c.act = acts[i];
		snprintf(what, sizeof what, "plain %s xent", tp_model_act_name(acts[i]));
		fd_case(what, c, 9, 0, 2e-3);
	}
	c = cfg(6, 3, 0, 0);
	fd_case("linear model xent, weighted with padding", c, 8, 1, 2e-3);
	for (int norm = 1; norm <= 2; norm++) {
		for (int res = 0; res <= 1; res++) {
			c = cfg(5, 4, 3, 6);
			c.act = TP_ACT_GELU;
			c.norm = (enum tp_norm)norm;
			c.residual = res;
			c.ghost_batch = 4;
			snprintf(what, sizeof what, "%s norm %s, weighted with padding",
			         tp_model_norm_name(c.norm), res ? "residual" : "plain");
			fd_case(what, c, 12, 1, 2e-3);
		}
	}
	c = cfg(5, 4, 3, 6);
	c.act = TP_ACT_TANH;
	c.norm = TP_NORM_BATCH;
	c.ghost_batch = 4;
	fd_case("ghost batch norm, 3 x ghost", c, 12, 0, 2e-3);
	fd_case("ghost batch norm, 10 = 3+3+4", c, 10, 0, 2e-3);
	c.residual = 1;
	c.rezero = 1;
	fd_case("batch norm residual rezero", c, 10, 1, 2e-3);
	c = cfg(5, 4, 3, 6);
	c.residual = 1;
	c.rezero = 1;
	c.act = TP_ACT_TANH;
	fd_case("residual rezero without norm", c, 9, 0, 2e-3);
	c = cfg(5, 4, 3, 6);
	c.act = TP_ACT_GELU;
	c.dropout = 0.3f;
	fd_case("plain dropout (fixed mask)", c, 9, 0, 2e-3);
	c.residual = 1;
	c.norm = TP_NORM_LAYER;
	fd_case("residual layer norm dropout (fixed mask)", c, 9, 1, 2e-3);
	c = cfg(5, 4, 2, 7);
	c.act = TP_ACT_TANH;
	c.label_smoothing = 0.2f;
	fd_case("label smoothing 0.2, weighted", c, 9, 1, 2e-3);
	c = cfg(5, 3, 2, 7);
	c.act = TP_ACT_GELU;
	c.loss = TP_LOSS_MSE;
	fd_case("mse, weighted with padding", c, 9, 1, 2e-3);
	c.norm = TP_NORM_BATCH;
	c.ghost_batch = 3;
	fd_case("mse batch norm ghost 3", c, 9, 0, 2e-3);
}

/* Copy parameters and buffers of a into b (same configuration). */
static void
copy_model(struct tp_model *dst, struct tp_model *src)
{
	size_t n, n2;
	float *a = tp_model_params(src, &n), *b = tp_model_params(dst, &n2);

	memcpy(b, a, n * sizeof *a);
	a = tp_model_buffers(src, &n);
	b = tp_model_buffers(dst, &n2);
	if (n)
		memcpy(b, a, n * sizeof *a);
}

static double
max_rel_diff(const float *a, const float *b, size_t n)
{
	double mx = 0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]) / fmax(fabs((double)b[i]), 1e-2);
		if (!(d <= mx)) {
			mx = d;
			if (getenv("TP_TEST_VERBOSE"))
				printf("# [%zu] %g vs %g\n", i, (double)a[i], (double)b[i]);
		}
	}
	return mx;
}

static double max_abs(const float *a, size_t n);

static void
test_determinism(void)
{
	struct tp_model_config c = cfg(6, 4, 3, 16);
	struct tp_model *m[2];
	struct data d;
	float *p[2], *g[2], *bf[2];
	size_t np, nb;
	int same = 1;

	c.act = TP_ACT_GELU;
	c.norm = TP_NORM_BATCH;
	c.residual = 1;
	c.dropout = 0.2f;
	c.ghost_batch = 8;
	data_make(&d, &c, 32, 4, 1);
	for (int k = 0; k < 2; k++) {
		struct tp_rng r;
		double l;

		m[k] = tp_model_new(&c, 32);
		tp_model_init(m[k], 42);
		tp_rng_seed(&r, 43);
		p[k] = tp_model_params(m[k], &np);
		g[k] = tp_model_grads(m[k], &np);
		bf[k] = tp_model_buffers(m[k], &nb);
		for (int step = 0; step < 3; step++) {
			struct tp_batch b = batch_of(&d, 0, 32, &c);
			same &= tp_model_train_step(m[k], &b, &r, &l) == 0;
			for (size_t i = 0; i < np; i++)
				p[k][i] -= 0.1f * g[k][i];
		}
	}
	CHECK(same && memcmp(p[0], p[1], np * sizeof(float)) == 0 &&
	      memcmp(g[0], g[1], np * sizeof(float)) == 0 &&
	      memcmp(bf[0], bf[1], nb * sizeof(float)) == 0,
	      "two runs give identical parameters, gradients and buffers");
	tp_model_free(m[0]);
	tp_model_free(m[1]);
	data_free(&d);

	/* Gradients are overwritten, not accumulated; with rezero at its
	 * initial alpha = 0 only the alphas and what precedes the blocks
	 * learn at first. */
	c = cfg(6, 4, 3, 16);
	c.residual = 1;
	c.rezero = 1;
	c.act = TP_ACT_TANH;
	data_make(&d, &c, 8, 4, 0);
	m[0] = tp_model_new(&c, 8);
	tp_model_init(m[0], 1);
	{
		struct tp_batch b = batch_of(&d, 0, 8, &c);
		const struct tp_model_view *v;
		size_t nv;
		double l;
		float *g1, *g2;
		int zero = 1, ok;

		g1 = tp_model_grads(m[0], &np);
		ok = tp_model_train_step(m[0], &b, NULL, &l) == 0;
		g2 = malloc(np * sizeof *g2);
		memcpy(g2, g1, np * sizeof *g2);
		ok &= tp_model_train_step(m[0], &b, NULL, &l) == 0;
		CHECK(ok && memcmp(g1, g2, np * sizeof *g2) == 0,
		      "a second step overwrites the gradients with the same values");
		v = tp_model_param_views(m[0], &nv);
		for (size_t i = 0; i < nv; i++) {
			int is_block = strncmp(v[i].name, "layer2.", 7) == 0 ||
			               strncmp(v[i].name, "layer3.", 7) == 0;
			int is_alpha = strstr(v[i].name, "alpha") != NULL;
			double s = max_abs(g1 + v[i].offset, v[i].count);
			if (is_block && !is_alpha)
				zero &= s == 0;
			else
				zero &= s > 0;
		}
		CHECK(zero, "rezero at init: block weights get no gradient, alphas do");
		free(g2);
	}
	tp_model_free(m[0]);
	data_free(&d);
}

/* Rows of weight 0 must change nothing: not the loss, not a gradient, not a
 * batch norm statistic; their labels are not even read. */
static void
test_padding(void)
{
	struct tp_model_config c = cfg(5, 4, 3, 8);
	struct tp_model *m, *m2;
	struct data d, e;
	double l1 = NAN, l2 = NAN;
	size_t np, nb;
	int k = 0, ok;

	c.norm = TP_NORM_BATCH;
	c.ghost_batch = 3;
	c.residual = 1;
	c.act = TP_ACT_TANH;
	data_make(&d, &c, 12, 8, 1);
	data_make(&e, &c, 12, 8, 1);
	d.w[4] = d.w[11] = 0;
	d.label[4] = 999;
	d.label[1] = -5;
	for (int i = 0; i < 12; i++) {
		if (d.w[i] == 0)
			continue;
		memcpy(e.x + (size_t)k * 5, d.x + (size_t)i * 5, 5 * sizeof(float));
		e.label[k] = d.label[i];
		e.w[k++] = d.w[i];
	}
	m = tp_model_new(&c, 12);
	m2 = tp_model_new(&c, 12);
	tp_model_init(m, 1);
	copy_model(m2, m);
	struct tp_batch b = batch_of(&d, 0, 12, &c), b2 = batch_of(&e, 0, k, &c);
	ok = tp_model_train_step(m, &b, NULL, &l1) == 0 &&
	     tp_model_train_step(m2, &b2, NULL, &l2) == 0;
	CHECK(ok && k == 9, "padded and compact batches train");
	CHECK_CLOSE(l1, l2, 1e-6, 0, "padding leaves the loss alone (%.7f %.7f)", l1, l2);
	{
		float *g1 = tp_model_grads(m, &np), *g2 = tp_model_grads(m2, &np);
		float *b1 = tp_model_buffers(m, &nb), *bb2 = tp_model_buffers(m2, &nb);
		double dg = max_rel_diff(g1, g2, np), db = max_rel_diff(b1, bb2, nb);
		CHECK(dg < 1e-4, "padding leaves the gradients alone (%.2g)", dg);
		CHECK(db < 1e-5, "padding stays out of batch norm statistics (%.2g)", db);
	}
	tp_model_free(m);
	tp_model_free(m2);
	data_free(&d);
	data_free(&e);
}

/*
 * Ghost batch norm: groups are normalized independently, so a batch cut into
 * groups g of n_g rows behaves as the size-weighted mean of those groups run
 * alone: loss, gradients and the running statistics' update.
 */
static void
ghost_case(int n, const int *bounds, int ngroups)
{
	struct tp_model_config c = cfg(4, 3, 2, 6);
	struct tp_model *m, *part;
	struct data d;
	size_t np, nb;
	double l, lsum = 0;
	float *gs, *bs;

	c.norm = TP_NORM_BATCH;
	c.ghost_batch = 4;
	c.act = TP_ACT_GELU;
	data_make(&d, &c, n, 21, 0);
	m = tp_model_new(&c, n);
	part = tp_model_new(&c, n);
	tp_model_init(m, 5);
	tp_model_params(m, &np);
	tp_model_buffers(m, &nb);
	gs = calloc(np, sizeof *gs);
	bs = calloc(nb, sizeof *bs);
	for (int g = 0; g < ngroups; g++) {
		int lo = bounds[g], cnt = bounds[g + 1] - lo;
		struct tp_batch b = batch_of(&d, lo, cnt, &c);
		double w = (double)cnt / n;
		float *pg, *pb;

		copy_model(part, m);
		if (tp_model_train_step(part, &b, NULL, &l) < 0)
			return;
		lsum += w * l;
		pg = tp_model_grads(part, &np);
		pb = tp_model_buffers(part, &nb);
		for (size_t i = 0; i < np; i++)
			gs[i] += (float)(w * pg[i]);
		for (size_t i = 0; i < nb; i++)
			bs[i] += (float)(w * pb[i]);
	}
	struct tp_batch b = batch_of(&d, 0, n, &c);
	CHECK(tp_model_train_step(m, &b, NULL, &l) == 0, "ghost batch of %d trains", n);
	CHECK_CLOSE(l, lsum, 1e-5, 0, "batch %d, ghost 4: loss is the groups' mean", n);
	CHECK(max_rel_diff(tp_model_grads(m, &np), gs, np) < 1e-4,
	      "batch %d, ghost 4: gradients are the groups' mean", n);
	CHECK(max_rel_diff(tp_model_buffers(m, &nb), bs, nb) < 1e-5,
	      "batch %d, ghost 4: running statistics updated once with the groups' "
	      "mean statistics", n);
	free(gs);
	free(bs);
	tp_model_free(m);
	tp_model_free(part);
	data_free(&d);
}

static void
test_ghost(void)
{
	const int three[] = {0, 4, 8, 12}, ten[] = {0, 3, 6, 10}, five[] = {0, 2, 5};

	ghost_case(12, three, 3);
	ghost_case(10, ten, 3); /* ceil(10/4) = 3 groups of 3, 3, 4 */
	ghost_case(5, five, 2);  /* not 4 + 1: ceil(5/4) = 2 groups of 2, 3 */
}

/* Train loss = sum w l / sum w with l from eval (no dropout, no batch
 * norm: train and eval modes agree); eval in chunks equals one pass;
 * batch norm eval is per example. */
static void
test_eval(void)
{
	struct tp_model_config c = cfg(5, 4, 2, 8);
	struct tp_model *m, *big;
	struct data d;
	float per[11], out[44], per2[11], out2[44];
	double l, s = 0, sw = 0;

	c.label_smoothing = 0.1f;
	c.norm = TP_NORM_LAYER;
	c.residual = 1;
	data_make(&d, &c, 11, 3, 1);
	d.label[1] = 77; /* padding: not read */
	m = tp_model_new(&c, 4);
	big = tp_model_new(&c, 11);
	tp_model_init(m, 9);
	copy_model(big, m);
	struct tp_batch b = batch_of(&d, 0, 11, &c), b4 = batch_of(&d, 0, 4, &c);
	CHECK(tp_model_eval(m, &b, per, out) == 0, "eval of 11 examples with max batch 4");
	CHECK(tp_model_eval(big, &b, per2, out2) == 0 &&
	      max_rel_diff(out, out2, 44) < 1e-5 && max_rel_diff(per, per2, 11) < 1e-5,
	      "eval in chunks equals eval in one pass");
	CHECK(per[1] == 0, "padding row has loss 0");
	CHECK(tp_model_train_step(m, &b4, NULL, &l) == 0, "train step");
	for (int i = 0; i < 4; i++) {
		s += (double)d.w[i] * per[i];
		sw += d.w[i];
	}
	CHECK_CLOSE(l, s / sw, 1e-6, 0, "train loss %.6f = sum w l / sum w %.6f", l, s / sw);
	tp_model_free(m);
	tp_model_free(big);

	c.norm = TP_NORM_BATCH;
	c.label_smoothing = 0;
	m = tp_model_new(&c, 11);
	tp_model_init(m, 9);
	CHECK(tp_model_train_step(m, &b, NULL, &l) == 0, "batch norm step");
	CHECK(tp_model_eval(m, &b, per, out) == 0, "batch norm eval");
	struct tp_batch one = batch_of(&d, 6, 1, &c);
	CHECK(tp_model_eval(m, &one, per2, out2) == 0 &&
	      max_rel_diff(out2, out + 24, 4) < 1e-6,
	      "batch norm eval uses running statistics: an example alone gets the "
	      "same logits");
	tp_model_free(m);
	data_free(&d);
}

static void
test_dropout(void)
{
	struct tp_model_config c = cfg(1, 1, 1, 4000);
	struct tp_model *m;
	const struct tp_model_view *v;
	size_t nv, np;
	float *p, x = 1, t = 0, pred;
	struct tp_rng r;
	double l, l2;

	c.loss = TP_LOSS_MSE;
	c.dropout = 0.3f;
	m = tp_model_new(&c, 1);
	p = tp_model_params(m, &np);
	v = tp_model_param_views(m, &nv);
	/* hidden units all 1, output their mean: the output is the mean of
	 * mask / (1 - p) over 4000 units. */
	for (size_t i = 0; i < v[0].count; i++)
		p[v[0].offset + i] = 1;
	for (size_t i = 0; i < v[2].count; i++)
		p[v[2].offset + i] = 1.0f / 4000;
	struct tp_batch b = {&x, NULL, &t, NULL, 1};
	tp_rng_seed(&r, 1);
	CHECK(tp_model_forward(m, &b, &r, &l) == 0, "dropout forward");
	CHECK(fabs(sqrt(l) * 0.7 - 0.7) < 0.025, "dropout keeps %.3f of the units (0.7)",
	      sqrt(l) * 0.7);
	tp_rng_seed(&r, 2);
	CHECK(tp_model_forward(m, &b, &r, &l2) == 0 && l2 != l,
	      "another generator state, another mask");
	pred = NAN;
	r.s[0] = (uint64_t)tp_model_eval(m, &b, NULL, &pred);
	CHECK(r.s[0] == 0 && fabsf(pred - 1) < 1e-5, "no dropout in eval (%.6f)",
	      (double)pred);
	tp_model_free(m);
}

static void
test_errors(void)
{
	struct tp_model_config c = cfg(3, 4, 1, 5);
	struct tp_model *m;
	struct data d;
	double l;
	float per[4];
	const char *name = NULL;
	size_t np, nb;

	data_make(&d, &c, 4, 1, 0);
	m = tp_model_new(&c, 3);
	tp_model_init(m, 1);
	struct tp_batch b = batch_of(&d, 0, 3, &c);
	tp_model_backward(m); /* no pending forward: nothing happens */
	d.label[2] = 4;
	CHECK(REFUSED(tp_model_train_step(m, &b, NULL, &l) < 0,
	              "example 3: label 4 is not in [0, 4)"),
	      "label out of range");
	CHECK(REFUSED(tp_model_eval(m, &b, per, NULL) < 0,
	              "example 3: label 4 is not in [0, 4)"),
	      "eval: label out of range");
	d.label[2] = 0;
	d.w[1] = -1;
	CHECK(REFUSED(tp_model_train_step(m, &b, NULL, &l) < 0,
	              "example 2: weight -1 is not a finite number >= 0"),
	      "negative weight");
	d.w[1] = NAN;
	CHECK(REFUSED(tp_model_eval(m, &b, per, NULL) < 0,
	              "example 2: weight nan is not a finite number >= 0"),
	      "NaN weight");
	d.w[0] = d.w[1] = d.w[2] = 0;
	CHECK(REFUSED(tp_model_train_step(m, &b, NULL, &l) < 0,
	              "batch of 3 examples has total weight 0"),
	      "total weight 0");
	b.n = 4;
	CHECK(REFUSED(tp_model_train_step(m, &b, NULL, &l) < 0,
	              "model: batch of 4 examples is not in [1, 3]"),
	      "batch above max");
	tp_model_free(m);

	c.norm = TP_NORM_BATCH;
	m = tp_model_new(&c, 3);
	tp_model_init(m, 1);
	d.w[0] = 1;
	b.n = 3;
	CHECK(REFUSED(tp_model_train_step(m, &b, NULL, &l) < 0,
	              "batch norm needs at least 2 examples of weight > 0 in a "
	              "training batch, found 1"), "batch norm with one example");
	CHECK(tp_model_finite(m, &name), "fresh model is finite");
	tp_model_buffers(m, &nb)[7] = INFINITY;
	name = "";
	int fin = tp_model_finite(m, &name);
	CHECK(!fin && strcmp(name, "layer1.norm.running_var") == 0,
	      "Inf in a buffer found in %s", name);
	tp_model_free(m);

	c.norm = TP_NORM_NONE;
	c.dropout = 0.5f;
	m = tp_model_new(&c, 3);
	tp_model_init(m, 1);
	tp_model_params(m, &np)[np - 1] = NAN;
	name = "";
	fin = tp_model_finite(m, &name);
	CHECK(!fin && strcmp(name, "out.bias") == 0,
	      "NaN in a parameter found in %s", name);
	CHECK(REFUSED(tp_model_train_step(m, &b, NULL, &l) < 0,
	              "model: dropout needs a random generator"),
	      "dropout without generator");
	tp_model_free(m);
	data_free(&d);
}

/* ---- PyTorch fixtures ---- */

struct fixture {
	struct tp_model_config c;
	struct tp_model *m;
	int n, nparam, ngrad;
	float *x, *target, *w, *gwant, *bwant, *eout, *eloss;
	int32_t *label;
	double loss;
	int bad;
};

/* Read count floats from the line into a new array (NULL on a short line). */
static float *
read_floats(char **save, int count)
{
	float *v = calloc((size_t)count + 1, sizeof *v);
	char *tok;

	for (int i = 0; i < count; i++) {
		if (!(tok = strtok_r(NULL, " \n", save))) {
			free(v);
			return NULL;
		}
		v[i] = strtof(tok, NULL);
	}
	return v;
}

static int
view_find(const struct tp_model_view *v, size_t nv, const char *name)
{
	for (size_t i = 0; i < nv; i++)
		if (strcmp(v[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
fixture_config(struct fixture *fx, char **save)
{
	char *k, *v;

	tp_model_config_default(&fx->c);
	while ((k = strtok_r(NULL, " \n", save)) && (v = strtok_r(NULL, " \n", save))) {
		int u, bad = 0;
		if (!strcmp(k, "inputs")) fx->c.inputs = atoi(v);
		else if (!strcmp(k, "outputs")) fx->c.outputs = atoi(v);
		else if (!strcmp(k, "depth")) fx->c.depth = atoi(v);
		else if (!strcmp(k, "width")) fx->c.width = atoi(v);
		else if (!strcmp(k, "residual")) fx->c.residual = atoi(v);
		else if (!strcmp(k, "rezero")) fx->c.rezero = atoi(v);
		else if (!strcmp(k, "ghost_batch")) fx->c.ghost_batch = atoi(v);
		else if (!strcmp(k, "label_smoothing")) fx->c.label_smoothing = strtof(v, NULL);
		else if (!strcmp(k, "act")) bad = tp_model_act_parse(v, k, &fx->c.act);
		else if (!strcmp(k, "norm")) bad = tp_model_norm_parse(v, k, &fx->c.norm);
		else if (!strcmp(k, "loss")) bad = tp_model_loss_parse(v, k, &fx->c.loss);
		else if (!strcmp(k, "init")) bad = tp_model_init_parse(v, k, &fx->c.init, &u);
		else bad = -1;
		if (bad)
			return -1;
	}
	fx->m = tp_model_new(&fx->c, 64);
	return fx->m ? 0 : -1;
}

static int
fixture_read(struct fixture *fx, FILE *f)
{
	char *line = NULL, *save, *kw;
	size_t cap = 0;
	int done = 0;

	while (!done && getline(&line, &cap, f) > 0) {
		const struct tp_model_view *v = NULL;
		size_t nv = 0, np;
		float *vals = NULL, *dst = NULL;
		int count, iv = -1;

		if (!(kw = strtok_r(line, " \n", &save)) || kw[0] == '#')
			continue;
		if (!strcmp(kw, "end")) {
			done = 1;
			break;
		}
		if (!strcmp(kw, "config")) {
			if (fixture_config(fx, &save) < 0)
				break;
			tp_model_params(fx->m, &np);
			fx->gwant = calloc(np, sizeof(float));
			continue;
		}
		if (!fx->m)
			break;
		if (!strcmp(kw, "n")) {
			fx->n = atoi(strtok_r(NULL, " \n", &save));
			continue;
		}
		if (!strcmp(kw, "loss")) {
			fx->loss = strtod(strtok_r(NULL, " \n", &save), NULL);
			continue;
		}
		if (!strcmp(kw, "param") || !strcmp(kw, "grad"))
			v = tp_model_param_views(fx->m, &nv);
		else if (!strcmp(kw, "buffer") || !strcmp(kw, "buffer_after"))
			v = tp_model_buffer_views(fx->m, &nv);
		if (v && (iv = view_find(v, nv, strtok_r(NULL, " \n", &save))) < 0)
			break;
		count = atoi(strtok_r(NULL, " \n", &save));
		if (v && (size_t)count != v[iv].count)
			break;
		if (!(vals = read_floats(&save, count)))
			break;
		if (!strcmp(kw, "x")) fx->x = vals;
		else if (!strcmp(kw, "target")) fx->target = vals;
		else if (!strcmp(kw, "w")) fx->w = vals;
		else if (!strcmp(kw, "eval_out")) fx->eout = vals;
		else if (!strcmp(kw, "eval_loss")) fx->eloss = vals;
		else if (!strcmp(kw, "label")) {
			fx->label = calloc((size_t)count, sizeof(int32_t));
			for (int i = 0; i < count; i++)
				fx->label[i] = (int32_t)vals[i];
			free(vals);
		} else {
			if (!strcmp(kw, "param")) {
				dst = tp_model_params(fx->m, &np);
				fx->nparam++;
			} else if (!strcmp(kw, "grad")) {
				dst = fx->gwant;
				fx->ngrad++;
			} else if (!strcmp(kw, "buffer")) {
				dst = tp_model_buffers(fx->m, &np);
			} else if (!strcmp(kw, "buffer_after")) {
				if (!fx->bwant) {
					tp_model_buffers(fx->m, &np);
					fx->bwant = calloc(np, sizeof(float));
				}
				dst = fx->bwant;
			}
			if (dst)
				memcpy(dst + v[iv].offset, vals, (size_t)count * sizeof(float));
			free(vals);
			if (!dst)
				break;
		}
	}
	free(line);
	return done ? 0 : -1;
}

/* Worst of |got - want| / (|want| + atol * scale), scale by default the
 * largest |want|: small entries are judged against the array's magnitude. */
static double
max_abs(const float *a, size_t n)
{
	double mx = 0;

	for (size_t i = 0; i < n; i++)
		mx = fmax(mx, fabs((double)a[i]));
	return mx;
}

static double
close_err_scaled(const float *got, const float *want, size_t n, double atol,
                 double scale)
{
	double mx = 0;

	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)got[i] - want[i]) /
		           (fabs((double)want[i]) + atol * scale + 1e-30);
		if (!(e <= mx))
			mx = e;
	}
	return mx;
}

static double
close_err(const float *got, const float *want, size_t n, double atol)
{
	return close_err_scaled(got, want, n, atol, max_abs(want, n));
}

static void
fixture_case(const char *name)
{
	char path[1024];
	const char *top = getenv("TP_TOP");
	struct fixture fx;
	FILE *f;
	double loss = NAN, worst = 0;
	const char *wname = "?";

	memset(&fx, 0, sizeof fx);
	snprintf(path, sizeof path, "%s/tests/fixtures/model-%s.txt", top ? top : ".", name);
	f = fopen(path, "r");
	if (!CHECK(f != NULL, "torch %s: fixture opens", name))
		return;
	{
		int r = fixture_read(&fx, f);
		size_t nv;
		fclose(f);
		if (fx.m)
			tp_model_param_views(fx.m, &nv);
		if (!CHECK(r == 0 && fx.m && fx.x && fx.label && fx.target && fx.w &&
		           fx.eout && fx.eloss && fx.nparam == (int)nv &&
		           fx.ngrad == (int)nv, "torch %s: fixture parses", name))
			goto out;
	}
	struct tp_batch b = {fx.x, fx.label, fx.target, fx.w, fx.n};
	size_t np, nv, nb;
	int K = fx.c.outputs;
	float *eout = calloc((size_t)fx.n * K, sizeof(float));
	float *eloss = calloc((size_t)fx.n, sizeof(float));

	int r = tp_model_train_step(fx.m, &b, NULL, &loss);
	CHECK(r == 0 && fabs(loss - fx.loss) <= 2e-6 * fabs(fx.loss),
	      "torch %s: loss %.7f (torch %.7f)", name, loss, fx.loss);
	const struct tp_model_view *v = tp_model_param_views(fx.m, &nv);
	float *g = tp_model_grads(fx.m, &np);
	/* Against the largest gradient of the model: a bias before batch
	 * norm has a true gradient of 0, which float rounding cannot hit. */
	double gscale = max_abs(fx.gwant, np);
	for (size_t i = 0; i < nv; i++) {
		double e = close_err_scaled(g + v[i].offset, fx.gwant + v[i].offset,
		                            v[i].count, 1e-3, gscale);
		if (!(e <= worst)) {
			worst = e;
			wname = v[i].name;
		}
	}
	CHECK(worst < 1e-3, "torch %s: gradients (worst %s, %.2g)", name, wname, worst);
	if (fx.bwant) {
		float *bf = tp_model_buffers(fx.m, &nb);
		double e = close_err(bf, fx.bwant, nb, 1e-4);
		CHECK(e < 1e-5, "torch %s: running statistics after the step (%.2g)", name, e);
	}
	CHECK(tp_model_eval(fx.m, &b, eloss, eout) == 0, "torch %s: eval", name);
	worst = close_err(eout, fx.eout, (size_t)fx.n * K, 1e-4);
	CHECK(worst < 1e-4, "torch %s: eval outputs (%.2g)", name, worst);
	worst = close_err(eloss, fx.eloss, (size_t)fx.n, 1e-4);
	CHECK(worst < 1e-4, "torch %s: eval per-example losses (%.2g)", name, worst);
	free(eout);
	free(eloss);
out:
	tp_model_free(fx.m);
	free(fx.x);
	free(fx.target);
	free(fx.w);
	free(fx.label);
	free(fx.gwant);
	free(fx.bwant);
	free(fx.eout);
	free(fx.eloss);
}

static void
test_torch(void)
{
	static const char *const cases[] = {
		"relu-plain", "gelu-layer-residual-smooth",
		"tanh-batch-residual-rezero", "relu-batch-ghost3",
		"gelu-batch-ghost-pad", "mse-gelu-layer", "mse-tanh-batch",
		"linear-xent",
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		fixture_case(cases[i]);
}

/* tp_model_backward_each: ranges from the output down that cover every
 * parameter once; poisoning each range as soon as it is reported changes no
 * gradient (the pass never reads those parameters again). */
struct ranges {
	float *p;
	size_t off[16], len[16];
	int n;
};

static int
poison(void *arg, size_t off, size_t len)
{
	struct ranges *r = arg;

	if (r->n < 16) {
		r->off[r->n] = off;
		r->len[r->n] = len;
	}
	r->n++;
	for (size_t i = off; i < off + len; i++)
		r->p[i] = NAN;
	return 0;
}

/* A done callback that keeps the gradients. */
static int
keep_grads(void *arg, size_t off, size_t len)
{
	(void)arg;
	(void)off;
	(void)len;
	return 0;
}

/* A model with layer norm and rezero residual branches, parameters moved
 * off their initial values, a batch of n, the gradients of one step (g0),
 * a copy of the parameters (p0), and the gradient array zeroed. */
struct bw {
	struct tp_model *m;
	struct data d;
	struct tp_batch b;
	float *p, *g, *p0, *g0;
	size_t np;
};

static int
bw_setup(struct bw *w, struct tp_model_config c, int n, struct tp_pool *pool)
{
	struct tp_rng rng;
	double l;
	int ok;

	c.norm = TP_NORM_LAYER;
	c.residual = 1;
	c.rezero = 1;
	w->m = tp_model_new(&c, n);
	tp_model_set_pool(w->m, pool);
	tp_model_init(w->m, 3);
	w->p = tp_model_params(w->m, &w->np);
	w->g = tp_model_grads(w->m, &w->np);
	tp_rng_seed(&rng, 9);
	for (size_t i = 0; i < w->np; i++)
		w->p[i] += (float)(0.1 * tp_rng_normal(&rng));
	w->p0 = malloc(w->np * sizeof *w->p0);
	w->g0 = malloc(w->np * sizeof *w->g0);
	memcpy(w->p0, w->p, w->np * sizeof *w->p);
	data_make(&w->d, &c, n, 4, 1);
	w->b = batch_of(&w->d, 0, n, &c);
	ok = tp_model_train_step(w->m, &w->b, NULL, &l) == 0;
	memcpy(w->g0, w->g, w->np * sizeof *w->g);
	memset(w->g, 0, w->np * sizeof *w->g);
	return ok;
}

static void
bw_free(struct bw *w)
{
	free(w->p0);
	free(w->g0);
	data_free(&w->d);
	tp_model_free(w->m);
}

static void
test_backward_each(void)
{
	struct bw w;
	struct ranges r = {0};
	size_t next;
	double l;
	int ok = bw_setup(&w, cfg(6, 4, 3, 16), 8, NULL);

	r.p = w.p;
	ok &= tp_model_forward(w.m, &w.b, NULL, &l) == 0;
	tp_model_backward_each(w.m, poison, &r);
	CHECK(ok && r.n == 4, "one range per layer (%d)", r.n);
	next = w.np;
	for (int i = 0; i < r.n && i < 16; i++) {
		ok &= r.off[i] + r.len[i] == next;
		next = r.off[i];
	}
	CHECK(ok && next == 0, "ranges from the output down, covering every parameter once");
	CHECK(memcmp(w.g, w.g0, w.np * sizeof *w.g) == 0,
	      "parameters poisoned as reported: the same gradients");
	bw_free(&w);
}

/* A done callback that consumes the gradients: clears them, says so. */
static int
clear_range(void *arg, size_t off, size_t len)
{
	float *g = arg;

	memset(g + off, 0, len * sizeof *g);
	return 1;
}

/* After a pass whose callback cleared the gradients, the next pass adds
 * the weight gradients to those zeros: the bits of a pass that overwrites,
 * through either entry point, on every layer kind. */
static void
test_backward_cleared(void)
{
	struct tp_model_config c = cfg(6, 4, 3, 16);
	struct tp_model *m;
	struct data d;
	float *g, *g0;
	size_t np;
	double l;
	int ok = 1;

	c.norm = TP_NORM_BATCH;
	c.residual = 1;
	m = tp_model_new(&c, 8);
	tp_model_init(m, 5);
	g = tp_model_grads(m, &np);
	g0 = malloc(np * sizeof *g0);
	data_make(&d, &c, 8, 4, 1);
	struct tp_batch b = batch_of(&d, 0, 8, &c);
	ok &= tp_model_train_step(m, &b, NULL, &l) == 0;
	memcpy(g0, g, np * sizeof *g);
	ok &= tp_model_forward(m, &b, NULL, &l) == 0;
	tp_model_backward_each(m, clear_range, g);
	for (size_t i = 0; i < np; i++)
		ok &= g[i] == 0;
	ok &= tp_model_train_step(m, &b, NULL, &l) == 0;
	CHECK(ok && memcmp(g, g0, np * sizeof *g) == 0,
	      "backward after a pass that cleared the gradients: the same bits");
	ok &= tp_model_forward(m, &b, NULL, &l) == 0;
	tp_model_backward_each(m, clear_range, g);
	ok &= tp_model_forward(m, &b, NULL, &l) == 0;
	tp_model_backward_each(m, keep_grads, NULL);
	CHECK(ok && memcmp(g, g0, np * sizeof *g) == 0,
	      "... and through tp_model_backward_each");
	ok &= tp_model_train_step(m, &b, NULL, &l) == 0;
	CHECK(ok && memcmp(g, g0, np * sizeof *g) == 0,
	      "... and a pass after one that kept them overwrites them");
	free(g0);
	data_free(&d);
	tp_model_free(m);
}

/* With a pool: a layer's weight comes to done in blocks of rows from the
 * pool's threads, concurrently; the ranges still cover every parameter
 * once, poisoning each as reported changes no gradient, the gradients are
 * those of tp_model_backward on the same pool, and clearing in done lets
 * the next pass add onto the zeros. */
struct mt_ranges {
	float *p, *g;
	unsigned char *seen;
	size_t np;
	int calls, bad;
	pthread_mutex_t mu;
};

static int
mt_poison(void *arg, size_t off, size_t len)
{
	struct mt_ranges *r = arg;

	pthread_mutex_lock(&r->mu);
	r->calls++;
	if (off + len > r->np)
		r->bad = 1;
	for (size_t i = off; i < off + len && i < r->np; i++)
		r->seen[i]++;
	pthread_mutex_unlock(&r->mu);
	for (size_t i = off; i < off + len && i < r->np; i++)
		r->p[i] = NAN;
	return 0;
}

static int
mt_clear(void *arg, size_t off, size_t len)
{
	struct mt_ranges *r = arg;

	memset(r->g + off, 0, len * sizeof *r->g);
	return 1;
}

static void
test_backward_pool(void)
{
	struct tp_pool *pool = tp_pool_new(2);
	struct bw w;
	struct mt_ranges r = {0};
	double l;
	int ok, once = 1;

	tp_blas_set_threads(1);
	tp_pool_set_spin(pool, 50);
	ok = bw_setup(&w, cfg(64, 5, 3, 96), 64, pool);
	r = (struct mt_ranges){w.p, w.g, calloc(w.np, 1), w.np, 0, 0,
	                       PTHREAD_MUTEX_INITIALIZER};
	ok &= tp_model_forward(w.m, &w.b, NULL, &l) == 0;
	tp_model_backward_each(w.m, mt_poison, &r);
	for (size_t i = 0; i < w.np; i++)
		once &= r.seen[i] == 1;
	CHECK(ok && !r.bad && once && r.calls > 4,
	      "2 threads: %d ranges, covering every parameter once", r.calls);
	CHECK(memcmp(w.g, w.g0, w.np * sizeof *w.g) == 0,
	      "2 threads: parameters poisoned as reported: the gradients of "
	      "tp_model_backward");
	memcpy(w.p, w.p0, w.np * sizeof *w.p);
	ok &= tp_model_forward(w.m, &w.b, NULL, &l) == 0;
	tp_model_backward_each(w.m, mt_clear, &r);
	for (size_t i = 0; i < w.np; i++)
		ok &= w.g[i] == 0;
	ok &= tp_model_train_step(w.m, &w.b, NULL, &l) == 0;
	CHECK(ok && memcmp(w.g, w.g0, w.np * sizeof *w.g) == 0,
	      "2 threads: after a pass that cleared in blocks, the same bits");
	free(r.seen);
	bw_free(&w);
	tp_pool_free(pool);
}

int
main(void)
{
	test_config();
	test_backward_each();
	test_backward_cleared();
	test_backward_pool();
	test_views();
	test_init();
	test_gradients();
	test_determinism();
	test_padding();
	test_ghost();
	test_eval();
	test_dropout();
	test_errors();
	test_torch();
	return check_done();
}
